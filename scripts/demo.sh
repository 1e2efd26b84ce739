#!/usr/bin/env bash
# The whole chestx pipeline on built-in data, end to end, in a few minutes on a CPU:
# label example reports, synthesize phantoms in the NIH layout, train, evaluate (AUC and
# localization), draw heatmaps and boxes, predict, export, and build a database from a PACS
# (a local Orthanc, when installed) or a DICOM folder.
#
#   bash scripts/demo.sh [OUT]        (make demo runs it with OUT=demo_out)
#
# Knobs (environment): DEMO_N images (600), DEMO_SIZE px (128), DEMO_EPOCHS (8),
# DEMO_NO_PACS=1 (skip the Orthanc route).
# The shared real data (../shared/data) is used when present, never needed.
set -euo pipefail

OUT=${1:-demo_out}
N=${DEMO_N:-600}
SIZE=${DEMO_SIZE:-128}
EPOCHS=${DEMO_EPOCHS:-8}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="$ROOT/.venv/bin"
CHESTX="$BIN/chestx"
SHARED="$ROOT/../shared/data"

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
START=$SECONDS
step() { printf '\n== [%3ds] %s\n' $((SECONDS - START)) "$*"; }

step "1. label the example reports, score them against their gold labels"
"$CHESTX" label "$ROOT/examples/reports.csv" -o "$OUT/reports/labels.csv" \
    --evidence "$OUT/reports/evidence.jsonl" --quiet
"$CHESTX" label-eval "$ROOT/examples/reports.csv" "$OUT/reports/labels.csv"

step "2. synthesize $N chest phantoms (${SIZE} px) in the NIH ChestX-ray14 layout"
if [ ! -f "$OUT/phantoms/synth.json" ]; then
    "$CHESTX" synth "$OUT/phantoms" --n "$N" --size "$SIZE" --seed 0
fi
"$CHESTX" stats --data "$OUT/phantoms" --plot "$OUT/phantoms/cooccurrence.png"
"$CHESTX" split --data "$OUT/phantoms" --out "$OUT/phantoms/split" --official
"$CHESTX" cache --data "$OUT/phantoms" --size "$SIZE" --quiet

step "3. train a ResNet-18 from scratch (the CPU recipe of docs/training.md, at ${SIZE} px)"
# resumable: a rerun of the demo continues the run instead of starting over
"$CHESTX" train --data "$OUT/phantoms" --out "$OUT/run" --backbone resnet18 \
    --image-size "$SIZE" --no-pretrained --pooling lse --lse-r 5 --loss ce --optimizer adamw \
    --lr 0.001 --batch-size 8 --iter-size 1 --epochs "$EPOCHS" --no-augment --workers 0 \
    --quiet --resume

step "4. evaluate on the test split: ROC AUC per finding, and localization vs the boxes"
"$CHESTX" evaluate --checkpoint "$OUT/run/best.pt" --data "$OUT/phantoms" \
    --out "$OUT/eval" --split test --workers 0 --quiet
"$CHESTX" eval-boxes --pred "$OUT/eval/boxes.csv" --gt "$OUT/phantoms/BBox_List_2017.csv" \
    --out "$OUT/eval/eval-boxes" > /dev/null

step "5. heatmaps and boxes drawn like the paper, on test images with ground-truth boxes"
mapfile -t BOXED < <(tail -n +2 "$OUT/phantoms/BBox_List_2017.csv" | cut -d, -f1 | sort -u \
    | head -n 6 | sed "s|^|$OUT/phantoms/images/|")
"$CHESTX" localize --checkpoint "$OUT/run/best.pt" "${BOXED[@]}" --out "$OUT/localize" \
    --gt "$OUT/phantoms/BBox_List_2017.csv" --threshold 0.25 --save-heatmaps --quiet

step "6. predict: probabilities, boxes and overlays for phantoms (and real NIH images if present)"
mkdir -p "$OUT/predict"
PREDICT=("${BOXED[@]:0:3}")
if [ -d "$SHARED/nih/images" ]; then
    PREDICT+=("$SHARED"/nih/images/*.png)
fi
"$CHESTX" predict --checkpoint "$OUT/run/best.pt" "${PREDICT[@]}" --out "$OUT/predict" \
    --threshold 0.25 \
    --quiet > "$OUT/predict/summary.txt" 2>&1 || { cat "$OUT/predict/summary.txt"; exit 1; }
head -n 20 "$OUT/predict/summary.txt"

step "7. export the model (logits and heatmaps) to ONNX"
"$CHESTX" export --checkpoint "$OUT/run/best.pt" --format onnx --out "$OUT/export/model.onnx"

step "8. database builder: a PACS (local Orthanc when installed) or DICOM files -> NIH layout"
if [ ! -d "$OUT/hospital_src" ]; then
    "$CHESTX" synth-dicom "$OUT/hospital_src" --patients 6 --size "$SIZE" --sr
fi
if [ -z "${DEMO_NO_PACS:-}" ] && "$BIN/python" -c "import sys; from chestx.database.pacs import sandbox as o
sys.exit(o.find_orthanc() is None or o.find_dicomweb_plugin() is None)"
then
    # the paper's route (§2): query the PACS, pull frontal images + SR reports, de-identified
    rm -rf "$OUT/pacs_sandbox"
    "$CHESTX" pacs sandbox "$OUT/pacs_sandbox" "$OUT/hospital_src/dicom" \
        > "$OUT/pacs_sandbox.log" 2>&1 &
    PACS_PID=$!
    trap 'kill $PACS_PID 2>/dev/null || true' EXIT
    for _ in $(seq 200); do grep -q dicom-web "$OUT/pacs_sandbox.log" && break; sleep 0.3; done
    URL=$(grep -o 'http://[^ ]*/dicom-web' "$OUT/pacs_sandbox.log" | head -n 1)
    echo "local Orthanc at $URL"
    mkdir -p "$OUT/pacs-private"
    "$CHESTX" pacs query --dicomweb "$URL" -o "$OUT/pacs-private/studies.csv"
    "$CHESTX" pacs retrieve --dicomweb "$URL" --studies "$OUT/pacs-private/studies.csv" \
        --out "$OUT/pacs" --deidentify --quiet
    kill "$PACS_PID" 2>/dev/null || true
    wait "$PACS_PID" 2>/dev/null || true
    trap - EXIT
    "$CHESTX" ingest "$OUT/pacs" --out "$OUT/hospital" --size "$SIZE" --workers 2
else
    echo "no Orthanc here (Debian: orthanc orthanc-dicomweb): ingesting the DICOM folder"
    "$CHESTX" ingest "$OUT/hospital_src/dicom" --out "$OUT/hospital" \
        --reports "$OUT/hospital_src/reports.csv" --size "$SIZE" --workers 2
fi
"$CHESTX" stats --data "$OUT/hospital"

step "done in $((SECONDS - START)) s. Where to look:"
cat <<EOF
  report labels        $OUT/reports/labels.csv  (evidence: $OUT/reports/evidence.jsonl)
  phantom dataset      $OUT/phantoms  (Data_Entry_2017.csv, BBox_List_2017.csv, images/,
                       co-occurrence plot cooccurrence.png, split/)
  training run         $OUT/run  (best.pt, last.pt, metrics.csv)
  evaluation           $OUT/eval  (auc.csv, roc.png, predictions.csv, boxes.csv,
                       localization.csv; the paper's box generator: *_paper.csv)
  heatmaps + boxes     $OUT/localize/overlays  (blue ground truth, green hit, red false
                       positive; predictions.csv, boxes.csv)
  predictions          $OUT/predict  (overlays, summary.txt)
  exported model       $OUT/export/model.onnx
  hospital database    $OUT/hospital  (images/, Data_Entry_2017.csv, id_map.csv,
                       ingest_errors.csv); from the PACS: $OUT/pacs (de-identified
                       files), key and job state in $OUT/pacs-private
  web viewer           $CHESTX serve --checkpoint $OUT/run/best.pt   -> http://127.0.0.1:8000
EOF
