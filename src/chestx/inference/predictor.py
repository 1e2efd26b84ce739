"""Prediction on image files: probabilities per finding, boxes per finding, overlays.

One :class:`Predictor` wraps a trained :class:`~chestx.models.ChestXNet` and is shared by
``chestx predict`` / ``chestx localize`` (files and folders, batched, with ground truth when
given) and ``chestx serve`` (one upload at a time, many threads). The model is used
read-only: every call builds its own tensors and runs behind a lock, so concurrent callers
never see each other's results.

Pixels go through the same path as training and ingest: :func:`chestx.data.images.read_gray`
(PNG, JPEG, DICOM) then :func:`chestx.data.tensors.to_tensor` at the model's image size.
Probabilities, heatmaps and boxes come from :func:`chestx.inference.forward.localize_images`;
boxes are in pixels of the image as stored.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from chestx.boxes import Box
from chestx.data.images import IMAGE_SUFFIXES, read_gray
from chestx.errors import ChestxError
from chestx.findings import DEFAULT_THRESHOLD
from chestx.inference.forward import Prediction, localize_images
from chestx.inference.overlays import write_heatmaps, write_overlays
from chestx.inference.tables import PredictionTables
from chestx.inference.trusted import TrustedPrediction, trusted_predictions
from chestx.localize.extent import BoxExtent, extent_of
from chestx.localize.generators import DEFAULT_METHOD, build_generator
from chestx.localize.heatmap_files import HEATMAP_DIR
from chestx.localize.sources import DEFAULT_SOURCE, heatmap_source
from chestx.metrics.localization import LOCALIZATION_HEATMAP_SIZE
from chestx.models.checkpoint import at_heatmap_size, finest_heatmap_size, model_from_state
from chestx.models.state import read_checkpoint
from chestx.progress import track
from chestx.trust.state import TrustState, trust_of

#: What :class:`Predictor` boxes: the positive findings (``chestx predict``) or all (viewer).
BOXES_FOR = ("positive", "all")


@dataclass(frozen=True)
class FileResult:
    """One input file: its prediction and pixels, or the reason it was skipped."""

    path: Path
    prediction: Prediction | None = None
    gray: np.ndarray | None = None
    error: str | None = None


class Predictor:
    """Run a ChestXNet on grayscale images and turn its heatmaps into boxes.

    Parameters
    ----------
    model : ChestXNet in eval mode with ``model.config`` (``classes``, ``image_size``).
    threshold : probability at or above which every finding is positive; ``None``: each
        finding's threshold of the operating point in ``trust`` (0.5 without ``trust``).
    boxes_for : ``"positive"`` (boxes only for findings at or above ``threshold``, as
        ``chestx predict`` writes them) or ``"all"`` (every finding, for the viewer).
    box_method : box generator of :func:`chestx.localize.build_generator` (default: the
        localization stage's default).
    batch_size : images per forward pass.
    heatmap : heatmap source, ``cam | gradcam | gradcam++`` (:mod:`chestx.localize.sources`).
    extent : the box extent fitted on held-out boxes (:mod:`chestx.localize.extent`; ``None``:
        the default level for every finding).
    map_model : the same network at the heatmap side boxes are cut at (``None``: ``model``);
        the probabilities always come from ``model``.
    trust : the checkpoint's :class:`~chestx.trust.state.TrustState` (calibration, operating
        points, out-of-distribution statistics); ``None``: raw probabilities, input checks only.
    operating_point : ``youden``, ``sensitivity=0.95``, ... (default: the one in ``trust``).
    """

    def __init__(self, model: torch.nn.Module, threshold: float | None = None,
                 boxes_for: str = "positive", box_method: str | None = None,
                 batch_size: int = 8, heatmap: str = DEFAULT_SOURCE,
                 extent: BoxExtent | None = None,
                 map_model: torch.nn.Module | None = None,
                 trust: TrustState | None = None, operating_point: str | None = None) -> None:
        if boxes_for not in BOXES_FOR:
            raise ValueError(f"boxes_for must be 'positive' or 'all', not {boxes_for!r}")
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ChestxError(f"threshold must be in [0, 1], got {threshold}")
        self.model = model.eval()
        self.classes: tuple[str, ...] = tuple(model.config.classes)
        self.image_size: int = int(model.config.image_size)
        self.threshold = None if threshold is None else float(threshold)
        self.trust = trust
        self.operating_point = operating_point
        if trust is not None:  # a bad --operating-point fails here, before any image
            trust.choose_thresholds(self.threshold, operating_point)
        self.boxes_for = boxes_for
        self.box_method = box_method or DEFAULT_METHOD
        build_generator(self.box_method)  # unknown names: a RegistryError naming the choices
        self.batch_size = max(1, int(batch_size))
        heatmap_source(heatmap)  # unknown names: a ValueError naming the choices
        self.heatmap = heatmap
        self.map_model = None if map_model is None else map_model.eval()
        self.extent = extent or BoxExtent()
        self.box_params = self.extent.generator_params(self.box_method)
        self._lock = threading.Lock()

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike, heatmap_size: int | None = None,
                        **kwargs) -> Predictor:
        """Load ``RUN/best.pt`` with the box extent it stores; its maps at heatmap side
        ``heatmap_size`` (``None``: the side the extent was fitted at, else the finest up to
        :data:`~chestx.metrics.localization.LOCALIZATION_HEATMAP_SIZE`, what ``chestx
        evaluate`` localizes at; see :func:`chestx.models.checkpoint.finest_heatmap_size`),
        its probabilities as trained and its trust record."""
        state = read_checkpoint(path)
        extent = extent_of(state)
        model = model_from_state(state, path)
        size = heatmap_size or extent.heatmap_size or finest_heatmap_size(
            model, LOCALIZATION_HEATMAP_SIZE)
        return cls(model, extent=extent, map_model=at_heatmap_size(model, size),
                   trust=trust_of(state, path), **kwargs)

    def predict_grays(self, grays: Sequence[np.ndarray], names: Sequence[str],
                      sources: Sequence[str] | None = None,
                      colours: Sequence[float] | None = None) -> list[TrustedPrediction]:
        """Predict ``uint8 (H, W)`` images (sizes may differ); one :class:`Prediction` each.

        The lock keeps one forward pass at a time: the model is shared read-only, every call
        has its own tensors, and one pass at a time uses the CPU cores better than several
        fighting over them.
        """
        if not grays:
            return []
        findings = list(self.classes) if self.boxes_for == "all" else None
        sources = list(sources) if sources is not None else list(names)

        def run(floor: float) -> list[Prediction]:
            return localize_images(self.model, list(grays), findings=findings, threshold=floor,
                                   method=self.box_method, batch_size=self.batch_size,
                                   names=names, sources=sources, heatmap=self.heatmap,
                                   map_model=self.map_model, **self.box_params)

        with self._lock:
            return trusted_predictions(run, self.model, self.trust, list(grays), sources,
                                       self.threshold, self.operating_point,
                                       boxed_all=findings is not None, colours=colours)

    def describe(self) -> str:
        """Where the probabilities and thresholds come from, in one line."""
        if self.trust is None:
            given = DEFAULT_THRESHOLD if self.threshold is None else self.threshold
            return (f"probabilities uncalibrated; threshold {given:g} for every finding; "
                    "out of distribution: input checks only")
        _, source = self.trust.choose_thresholds(self.threshold, self.operating_point)
        return (f"probabilities calibrated (temperature per finding); thresholds: {source}; "
                f"out of distribution: {self.trust.detector} score above "
                f"{self.trust.ood_threshold:.4g} or a failed input check")

    # ---------------------------------------------------------------- files
    def iter_files(self, paths: Sequence[Path], progress: bool = False) -> Iterator[FileResult]:
        """Predict files in batches of ``batch_size``, yielding one result per path in order.

        A file that cannot be read yields a :class:`FileResult` with ``error`` set; the others
        are still predicted.
        """
        pending: list[FileResult] = []
        for path in track(paths, "predicting", total=len(paths), enabled=progress):
            try:
                pending.append(FileResult(Path(path), gray=read_gray(path)))
            except ChestxError as exc:
                pending.append(FileResult(Path(path), error=str(exc)))
            if sum(item.error is None for item in pending) >= self.batch_size:
                yield from self._flush(pending)
                pending = []
        yield from self._flush(pending)

    def _flush(self, pending: list[FileResult]) -> list[FileResult]:
        good = [item for item in pending if item.error is None]
        predictions = iter(self.predict_grays(
            [item.gray for item in good], [item.path.name for item in good],
            [str(item.path) for item in good]))
        return [item if item.error else
                FileResult(item.path, prediction=next(predictions), gray=item.gray)
                for item in pending]


def collect_images(inputs: Iterable[str | os.PathLike]) -> list[Path]:
    """Expand folders (recursively, files with :data:`IMAGE_SUFFIXES`, sorted) and keep files.

    Paths that do not exist are kept, so that they are reported as skipped with a reason.
    """
    paths: list[Path] = []
    for item in inputs:
        item = Path(item)
        if item.is_dir():
            paths.extend(sorted(p for p in item.rglob("*")
                                if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES))
        else:
            paths.append(item)
    return paths


@dataclass
class PredictRun:
    """Outcome of :func:`predict_paths`: this run's predictions in input order, the skipped
    files as ``(path, reason)``, and how many images an earlier run had done (``resumed``)."""

    predictions: list[Prediction]
    skipped: list[tuple[str, str]]
    resumed: int = 0
    written: list[Path] = field(default_factory=list)
    source: str = ""  # where the probabilities and thresholds come from (Predictor.describe)

    @property
    def out_of_distribution(self) -> int:
        """How many of this run's images were flagged out of distribution."""
        return sum(bool(getattr(p, "out_of_distribution", False)) for p in self.predictions)


def predict_paths(predictor: Predictor, inputs: Sequence[str | os.PathLike],
                  out_dir: str | os.PathLike | None = None, progress: bool = True,
                  resume: bool = False, keep_heatmaps: bool = False,
                  save_every: int = 500,
                  truth: Mapping[str, Sequence[Box]] | None = None,
                  save_heatmaps: bool = False) -> PredictRun:
    """Predict every image in ``inputs`` (files or folders); with ``out_dir`` write outputs.

    Outputs (all atomic): ``predictions.csv`` and ``boxes.csv`` (see
    :class:`~chestx.inference.tables.PredictionTables`; rewritten every ``save_every`` images
    so that a stopped run can ``resume``) and ``overlays/<stem>__<Finding>.png`` per
    :func:`~chestx.inference.overlays.overlay_findings` finding, judged against ``truth``
    (ground-truth boxes by image name, as :func:`chestx.data.bbox_csv.boxes_by_image` reads
    them) when given; with ``save_heatmaps`` also ``heatmaps/<stem>__<Finding>.png`` (see
    :func:`~chestx.inference.overlays.write_heatmaps`). Heatmaps are dropped from the
    returned predictions unless ``keep_heatmaps`` (a big folder's would not fit in memory).
    Unreadable files are skipped and listed; raises :class:`ChestxError` when no image is
    found or when every one fails.
    """
    paths = collect_images(inputs)
    if not paths:
        raise ChestxError(f"no images found in {', '.join(map(str, inputs))} "
                          f"(looked for {', '.join(IMAGE_SUFFIXES)})")
    out = Path(out_dir) if out_dir is not None else None
    tables = None
    if out is not None:
        tables = (PredictionTables.resume(out, predictor.classes) if resume
                  else PredictionTables(out, predictor.classes))
    done = tables.done() if tables is not None else set()
    todo = [path for path in paths if str(path) not in done]
    run = PredictRun(predictions=[], skipped=[], resumed=len(paths) - len(todo),
                     source=predictor.describe())
    stems = Counter(Path(row[0]).stem for row in tables.rows) if tables else Counter()
    try:
        for item in predictor.iter_files(todo, progress=progress and len(todo) > 1):
            if item.error is not None:
                run.skipped.append((str(item.path), item.error))
                continue
            prediction = item.prediction
            if tables is not None:
                stem = Path(prediction.image).stem
                stems[stem] += 1
                stem = stem if stems[stem] == 1 else f"{stem}_{stems[stem]}"
                gt = None if truth is None else truth.get(prediction.image, [])
                run.written += write_overlays(prediction, item.gray, out / "overlays", stem, gt)
                if save_heatmaps:
                    run.written += write_heatmaps(prediction, out / HEATMAP_DIR, stem, gt)
                tables.add(prediction)
                if len(run.predictions) % save_every == save_every - 1:
                    tables.write()
            run.predictions.append(prediction if keep_heatmaps
                                   else dataclasses.replace(prediction, heatmaps=None))
    finally:  # also on Ctrl+C: what is done stays done, for --resume
        if tables is not None and run.predictions:
            tables.write()
    if not run.predictions and not run.resumed:
        reasons = "; ".join(reason for _, reason in run.skipped[:3])
        raise ChestxError(f"none of the {len(paths)} inputs could be read ({reasons})")
    if tables is not None:
        run.written += tables.paths
    return run


def predictions_json(run: PredictRun) -> str:
    """``{"predictions": [...], "skipped": [{"path", "error"}]}`` as indented JSON."""
    return json.dumps({
        "predictions": [p.to_dict() for p in run.predictions],
        "skipped": [{"path": path, "error": error} for path, error in run.skipped],
    }, indent=2)


def summary_line(prediction: Prediction) -> str:
    """``name: Finding 0.83 (2 boxes), ...`` or ``name: nothing positive (top: Finding 0.31)``,
    after ``OUT-OF-DISTRIBUTION (reasons):`` for a flagged image."""
    positives = prediction.positives
    flag = ""
    if getattr(prediction, "out_of_distribution", False):
        flag = f" OUT-OF-DISTRIBUTION ({'; '.join(prediction.ood_reasons)}):"
    if not positives:
        top = int(np.argmax(prediction.probabilities))
        return (f"{prediction.image}:{flag} nothing positive "
                f"(top: {prediction.classes[top]} {prediction.probabilities[top]:.2f})")
    parts = []
    for finding in positives:
        count = len(prediction.boxes_of(finding))
        probability = prediction.probabilities[prediction.classes.index(finding)]
        parts.append(f"{finding} {probability:.2f} ({count} box{'es' if count != 1 else ''})")
    return f"{prediction.image}:{flag} " + ", ".join(parts)
