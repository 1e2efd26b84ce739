"""What every release reader returns: a :class:`Release`, its metadata in the NIH schema.

A reader builds a *raw* frame (one row per image: ``Image Index``, ``Path`` relative to the
root, ``Patient ID``, ``View Position``, ``Split``, optional ``Patient Age`` and ``Patient
Gender``) and a frame of source label values; :func:`finish` maps the labels
(:mod:`chestx.data.releases.labelmap`), keeps the chosen views, drops the rows whose image
is missing (one line each) and fills the NIH ``Data_Entry_2017.csv`` columns.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from chestx.data.bbox_csv import BBOX_COLUMNS
from chestx.data.dataset_config import READER_MODES, UNCERTAIN_POLICIES
from chestx.data.nih import DATA_ENTRY_COLUMNS, UNKNOWN, find_images
from chestx.data.releases.labelmap import (
    MappedLabels,
    apply_map,
    cells,
    label_map,
)
from chestx.data.releases.tables import Problems
from chestx.errors import ChestxError
from chestx.findings import FINDINGS, NO_FINDING, labels_to_vector

#: Views kept unless ``--views`` says otherwise: the frontal projections.
FRONTAL = ("PA", "AP")
#: ``View Position`` of a release that ships frontal images only without saying which
#: projection (RSNA): kept whenever the views asked for include PA or AP.
UNSPECIFIED_FRONTAL = "FRONTAL"
#: Columns a release frame has beyond NIH's.
EXTRA_COLUMNS = ["Path", "Split", "Uncertain Labels"]


@dataclass(frozen=True)
class DataOptions:
    """How a release is read: ``dataset`` forces a reader by name (``None``: detected);
    ``uncertain`` policy; ``views`` kept (``None``: :data:`FRONTAL`; ``("all",)``: every
    view); ``readers``: ``fused`` or ``all``; ``extra_labels`` keeps unmapped source labels
    as columns."""

    dataset: str | None = None
    uncertain: str = "ignore"
    views: tuple[str, ...] | None = None
    readers: str = "fused"
    extra_labels: bool = False

    def __post_init__(self) -> None:
        if self.uncertain not in UNCERTAIN_POLICIES:
            raise ChestxError(f"--uncertain {self.uncertain!r}: choose from "
                              f"{', '.join(UNCERTAIN_POLICIES)}")
        if self.readers not in READER_MODES:
            raise ChestxError(f"--readers {self.readers!r}: choose from "
                              f"{', '.join(READER_MODES)}")


def data_options(settings: object, **fixed: object) -> DataOptions:
    """The :class:`DataOptions` of a settings object (e.g. a ``TrainConfig``, or its dict as a
    checkpoint records it) from its fields ``dataset``, ``uncertain``, ``views`` (text, see
    :func:`parse_views`), ``readers``, ``extra_labels``; a field it lacks keeps the default.
    ``fixed`` overrides fields (e.g. ``views="all"`` where boxes are read)."""
    def get(name: str, default: object = None) -> object:
        if name in fixed:
            return fixed[name]
        if isinstance(settings, dict):
            return settings.get(name, default)
        return getattr(settings, name, default)

    return DataOptions(dataset=get("dataset"), uncertain=get("uncertain") or "ignore",
                       views=parse_views(get("views")), readers=get("readers") or "fused",
                       extra_labels=bool(get("extra_labels", False)))


def parse_views(text: str | None) -> tuple[str, ...] | None:
    """``"PA,AP"`` -> ``("PA", "AP")``; ``"all"`` -> ``("all",)``; ``None``/``""`` -> None."""
    if not text:
        return None
    views = tuple(v.strip().upper() for v in text.split(",") if v.strip())
    return ("all",) if "ALL" in views else views


def keep_view(views: pd.Series, wanted: tuple[str, ...] | None) -> np.ndarray:
    """Bool mask of the rows whose ``View Position`` is among ``wanted`` (see DataOptions)."""
    wanted = FRONTAL if wanted is None else wanted
    if "all" in wanted:
        return np.ones(len(views), dtype=bool)
    upper = views.str.upper().str.strip()
    keep = upper.isin(set(wanted)).to_numpy().copy()
    if set(wanted) & set(FRONTAL):
        keep |= (upper == UNSPECIFIED_FRONTAL).to_numpy()
    return keep


@dataclass
class Release:
    """A release read as shipped, in the NIH schema.

    ``entries``: one row per kept image, :data:`chestx.data.nih.DATA_ENTRY_COLUMNS` then
    ``Path`` (relative to ``root``), ``Split`` (the release's own part: train, val, test or
    ``""``), ``Uncertain Labels`` (findings labelled -1.0, ``A|B``), then extra label
    columns when asked. ``boxes``: :data:`chestx.data.bbox_csv.BBOX_COLUMNS` (+ ``reader`` with
    ``readers="all"``) in stored-image pixels. ``excluded_views``: images left out by view,
    per view. ``dropped``: positives of unmapped source labels among the kept images.
    ``problems``: one line per
    bad input met (each names its file).
    """

    name: str
    root: Path
    entries: pd.DataFrame
    options: DataOptions = field(default_factory=DataOptions)
    label_space: tuple[str, ...] = FINDINGS
    boxes: pd.DataFrame | None = None
    excluded_views: Counter = field(default_factory=Counter)
    dropped: dict[str, int] = field(default_factory=dict)
    problems: Problems = field(default_factory=Problems)
    has_official_split: bool = False
    _paths: dict[str, Path] | None = None

    @property
    def image_ids(self) -> list[str]:
        return self.entries["Image Index"].tolist()

    def image_paths(self) -> dict[str, Path]:
        """``Image Index`` -> file path of every kept image."""
        if self._paths is None:
            if "Path" in self.entries and self.name != "nih":
                self._paths = {name: self.root / rel for name, rel in
                               zip(self.entries["Image Index"], self.entries["Path"],
                                   strict=True)}
            else:
                self._paths = find_images(self.root)
        return self._paths

    def labels(self, classes: tuple[str, ...] = FINDINGS, ids: list[str] | None = None
               ) -> np.ndarray:
        """float32 ``(N, C)``: 1 positive, 0 negative, NaN unknown (an uncertain label under
        the ``ignore`` policy, or a finding outside this release's label space)."""
        entries = self.entries if ids is None else self.entries.set_index(
            "Image Index", drop=False).loc[list(ids)]
        vectors = {c: labels_to_vector(c, classes) for c in entries["Finding Labels"].unique()}
        matrix = (np.stack([vectors[c] for c in entries["Finding Labels"]]) if len(entries)
                  else np.zeros((0, len(classes)), dtype=np.float32))
        unknown = np.array([c not in self.label_space for c in classes])
        matrix[:, unknown] = np.nan
        if self.options.uncertain == "ignore" and "Uncertain Labels" in entries:
            marks = {c: labels_to_vector(c or NO_FINDING, classes) > 0
                     for c in entries["Uncertain Labels"].unique()}
            for row, cell in enumerate(entries["Uncertain Labels"]):
                matrix[row, marks[cell]] = np.nan
        return matrix

    def uncertain_counts(self) -> dict[str, int]:
        """Images with an uncertain (-1.0) label, per finding (whatever the policy)."""
        counts = Counter()
        for cell in self.entries.get("Uncertain Labels", pd.Series(dtype=str)):
            counts.update(p for p in cell.split("|") if p)
        return {name: int(counts[name]) for name in FINDINGS}

    def tally(self) -> str | None:
        """One line: images kept, left out by view, positives of unmapped labels dropped,
        problems met; ``None`` for NIH's own layout read with nothing to report."""
        views = ", ".join(f"{v or 'unknown'} {n}" for v, n in sorted(self.excluded_views.items()))
        if self.name == "nih" and not views and not self.problems:
            return None
        dropped = ", ".join(f"{k} {v}" for k, v in self.dropped.items() if v)
        return (f"{self.name}: {len(self.entries)} images kept; excluded by view: "
                f"{views or 'none'}; positives of labels without an NIH finding dropped: "
                f"{dropped or 'none'}; {len(self.problems)} problems")


def _finding_cells(mapped: MappedLabels, policy: str) -> tuple[list[str], list[str]]:
    positive = mapped.positive | (mapped.uncertain if policy == "ones" else False)
    found = cells(positive)
    return [c or NO_FINDING for c in found], cells(mapped.uncertain)


def finish(name: str, root: Path, raw: pd.DataFrame, values: pd.DataFrame,
           options: DataOptions, problems: Problems, source: str | os.PathLike,
           boxes: pd.DataFrame | None = None, official: bool = False) -> Release:
    """The :class:`Release` of a reader's ``raw`` frame and source label ``values`` (same
    index); ``source`` is the file the labels came from, for problem lines."""
    mapped = apply_map(name, values, options.extra_labels)
    if mapped.unknown:
        problems.add(f"{source}: {len(mapped.unknown)} labels not in the label map dropped "
                     f"({', '.join(repr(u) for u in mapped.unknown[:5])})")
    frame = raw.reset_index(drop=True).copy()
    frame["Finding Labels"], frame["Uncertain Labels"] = _finding_cells(mapped, options.uncertain)
    frame["_row"] = np.arange(len(frame))
    if mapped.extra is not None:
        frame = pd.concat([frame, mapped.extra.reset_index(drop=True)], axis=1)
    twice = frame["Image Index"].duplicated()
    if twice.any():  # one row per image: the first is kept
        problems.add(f"{source}: {int(twice.sum())} images listed twice (e.g. "
                     f"{frame.loc[twice, 'Image Index'].iloc[0]}); kept the first")
        frame = frame[~twice].reset_index(drop=True)
    keep = keep_view(frame["View Position"], options.views)
    excluded = Counter(frame.loc[~keep, "View Position"].replace("", "unknown"))
    frame = frame[keep].reset_index(drop=True)
    frame = _drop_missing(root, frame, problems)
    rows = frame.pop("_row").to_numpy()
    dropped = {c: int((values[c].to_numpy()[rows] == 1).sum()) for c in mapped.dropped}
    entries = _nih_schema(frame)
    space = label_map(name).label_space
    if boxes is not None:
        boxes = boxes[boxes["Image Index"].isin(set(entries["Image Index"]))]
        boxes = boxes.reset_index(drop=True)
    return Release(name, root, entries, options, space, boxes, excluded, dropped, problems,
                   official)


def _drop_missing(root: Path, frame: pd.DataFrame, problems: Problems) -> pd.DataFrame:
    """Drop rows whose image file is missing (one line each), unless no image is present at
    all: then the metadata alone is used (statistics of a release whose images are elsewhere)."""
    base = str(root)
    exists = np.fromiter((os.path.isfile(os.path.join(base, rel)) for rel in frame["Path"]),
                         dtype=bool, count=len(frame))
    if len(frame) and not exists.any():
        problems.add(f"{root}: none of the {len(frame)} images is present; using the "
                     "metadata alone")
        return frame
    for rel in frame.loc[~exists, "Path"]:
        problems.add(f"{root / rel}: image not found; skipped")
    return frame[exists].reset_index(drop=True)


def _nih_schema(frame: pd.DataFrame) -> pd.DataFrame:
    """Fill the NIH columns a release lacks (unknown numbers are -1, spacings NaN)."""
    defaults = {"Follow-up #": 0, "Patient Age": UNKNOWN, "Patient Gender": "",
                "OriginalImage[Width": UNKNOWN, "Height]": UNKNOWN,
                "OriginalImagePixelSpacing[x": np.nan, "y]": np.nan}
    out = pd.DataFrame(index=frame.index)
    for column in DATA_ENTRY_COLUMNS:
        out[column] = frame[column] if column in frame else defaults[column]
    out["Patient ID"] = out["Patient ID"].astype(str)
    for column in ("Follow-up #", "Patient Age", "OriginalImage[Width", "Height]"):
        out[column] = pd.to_numeric(out[column], errors="coerce").fillna(UNKNOWN).astype(
            np.int64)
    rest = [c for c in frame.columns if c not in DATA_ENTRY_COLUMNS]
    return pd.concat([out, frame[rest]], axis=1).reset_index(drop=True)


def empty_boxes(with_reader: bool = False) -> pd.DataFrame:
    """An empty box frame (:data:`BBOX_COLUMNS`, ``reader`` when kept apart)."""
    return pd.DataFrame(columns=BBOX_COLUMNS + (["reader"] if with_reader else []))
