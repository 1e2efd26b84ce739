"""The model card (Mitchell et al., FAT* 2019) of a checkpoint, in Markdown, from what the
checkpoint itself records: its config, training settings and per-epoch metrics, and the trust
record (data, per-finding validation and test metrics, calibration, operating points, the
out-of-distribution detector and threshold). Every number on the card is read from the
checkpoint; nothing is recomputed. A model trained on synthetic phantoms says so in the
card's first line.
"""

from __future__ import annotations

import math
import os

from chestx.atomic import atomic_open
from chestx.errors import ChestxError
from chestx.models.state import read_checkpoint
from chestx.trust.state import TRUST_KEY

#: Columns of the per-finding table: (header, split, key, format).
CARD_COLUMNS = (
    ("val AUC", "validation", "auc", "{:.3f}"),
    ("test AUC", "test", "auc", "{:.3f}"),
    ("test ECE before", "test", "ece_before", "{:.3f}"),
    ("test ECE after", "test", "ece_after", "{:.3f}"),
    ("test Brier", "test", "brier", "{:.3f}"),
    ("temperature", "validation", "temperature", "{:.3f}"),
    ("threshold", "validation", "threshold", "{:.3f}"),
    ("test sensitivity", "test", "sensitivity", "{:.3f}"),
    ("test specificity", "test", "specificity", "{:.3f}"),
    ("test n+", "test", "n_pos", "{:d}"),
)


def _cell(value, fmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return fmt.format(value)


def metrics_table(record: dict) -> list[str]:
    """The per-finding table (Markdown lines) of a trust record."""
    metrics = record.get("metrics", {})
    lines = ["| finding | " + " | ".join(c[0] for c in CARD_COLUMNS) + " |",
             "|---|" + "---:|" * len(CARD_COLUMNS)]
    for name in record["classes"]:
        cells = [_cell(metrics.get(split, {}).get("findings", {}).get(name, {}).get(key), fmt)
                 for _, split, key, fmt in CARD_COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def model_card(state: dict, path: str = "checkpoint") -> str:
    """The Markdown card of a checkpoint dict (:class:`ChestxError` without a trust record)."""
    record = state.get(TRUST_KEY)
    if not record:
        raise ChestxError(f"{path}: no trust record (data, metrics, calibration) to write a "
                          f"card from; run `chestx calibrate --checkpoint {path} --data D`")
    config, trained = state.get("config", {}), state.get("train_config") or {}
    data, metrics = record.get("data", {}), record.get("metrics", {})
    synthetic = bool(data.get("synthetic"))
    first = ("# Model card: TRAINED ON SYNTHETIC PHANTOMS, NOT ON RADIOGRAPHS. For testing the "
             "software only; never for reading a patient's image." if synthetic
             else "# Model card: research model, not a diagnostic device.")
    recipe = state.get("recipe") or {}
    lines = [first, "",
             f"Checkpoint `{path}`: {config.get('backbone')} at {config.get('image_size')} px, "
             f"{len(record['classes'])} findings, epoch {state.get('epoch')} (best mean "
             f"validation AUC {_cell(state.get('best_auc'), '{:.4f}')}), chestx "
             f"{state.get('chestx_version', '?')}.", "",
             "## Training data", "",
             f"- dataset: `{data.get('dataset', '?')}`"
             f"{' (synthetic phantoms from `chestx synth`)' if synthetic else ''}",
             f"- split: {data.get('split', '?')} (seed {data.get('seed', '?')})"]
    for part in ("train", "val", "test"):
        lines.append(f"- {part}: {data.get(f'{part}_images', '?')} images, "
                     f"{data.get(f'{part}_patients', '?')} patients")
    lines += [f"- findings: {', '.join(record['classes'])}",
              f"- image size: {config.get('image_size')} px; recipe {recipe.get('name', '?')}: "
              f"{trained.get('optimizer', '?')} lr {trained.get('lr', '?')}, batch "
              f"{trained.get('batch_size', '?')} x {trained.get('iter_size', '?')}, "
              f"{trained.get('epochs', '?')} epochs, loss {trained.get('loss', '?')}, pooling "
              f"{trained.get('pooling', '?')}, augment {trained.get('augment', '?')}",
              "", "## Metrics per finding", "",
              f"Validation: {metrics.get('validation', {}).get('images', '?')} images (the "
              "temperatures and thresholds are chosen on them); test: "
              f"{metrics.get('test', {}).get('images', '?')} images (scored only). "
              "Probabilities are calibrated; sensitivity and specificity at the threshold.", "",
              *metrics_table(record), "",
              "## Calibration", "",
              "Temperature scaling per finding (Guo et al. 2017), fitted by the binary NLL on "
              "the validation images. ECE: per finding, over the test images, 15 equal-width "
              "bins of the predicted probability, sum over bins of (bin share) x |observed "
              "frequency - mean probability|.", "",
              f"Operating point: {record['operating_point']} (per finding, on the validation "
              "images).", "",
              "## Out-of-distribution check", ""]
    lines += _ood_lines(record)
    lines += ["", "## Intended use and limits", "",
              "- Research on weakly-supervised classification and localization of chest "
              "X-rays (Wang et al. 2017); not a diagnostic device, not for clinical use.",
              "- Findings come from report text mining, not from radiologists' reads: the labels "
              "are noisy, and the metrics above measure agreement with them.",
              "- An image flagged out of distribution still gets findings: they mean little.",
              "- The input checks catch blank, colour, noise, text-like and tiny images; the "
              "detector catches images far from the training images' features. Neither proves "
              "an image is a good frontal chest radiograph."]
    if synthetic:
        lines.append("- Trained on synthetic phantoms: its numbers say nothing about real "
                     "radiographs, which it flags as out of distribution.")
    return "\n".join(lines) + "\n"


def _ood_lines(record: dict) -> list[str]:
    metrics = record.get("metrics", {})
    lines = [f"Detector: {record['detector']}; an image is flagged when its score is above "
             f"{record['ood_threshold']:.4g}, the {record['ood_quantile']:g} quantile of the "
             "validation images' scores, or when an input check fails (near-constant, colour, "
             "noise, page of text, under 64 px).",
             f"Flagged: {_cell(metrics.get('validation', {}).get('flagged'), '{:.1%}')} of the "
             f"validation images, {_cell(metrics.get('test', {}).get('flagged'), '{:.1%}')} of "
             "the test images."]
    comparison = metrics.get("detectors") or {}
    if comparison:
        lines += ["", "| detector | threshold | validation flagged |", "|---|---:|---:|"]
        lines += [f"| {name} | {row['threshold']:.4g} | {row['validation']:.1%} |"
                  for name, row in comparison.items()]
    return lines


def write_card(checkpoint: str | os.PathLike, out: str | os.PathLike | None = None) -> str:
    """The model card of ``checkpoint`` (see :func:`model_card`), written atomically to
    ``out`` when given; returns the card."""
    card = model_card(read_checkpoint(checkpoint), str(checkpoint))
    if out is not None:
        with atomic_open(out) as handle:
            handle.write(card)
    return card
