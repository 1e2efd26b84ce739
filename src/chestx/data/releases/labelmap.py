"""One label space: each release's source labels -> the 14 NIH findings, from ``label_map.tsv``.

The file holds one line per source label (``id, release, source, target, why``); the target
is an NIH finding of :data:`chestx.findings.FINDINGS`, ``No Finding``, or ``none`` (no NIH
counterpart: dropped and counted, or kept as an extra column when asked). Source labels are
matched case-insensitively after stripping (PadChest spells its labels in lower case, with
stray spaces).

Source values follow CheXpert's convention: ``1.0`` positive, ``0.0`` negative, ``-1.0``
uncertain, NaN not mentioned (read as negative). Several source labels may map to one
finding: it is positive when any of them is 1, else uncertain when any is -1.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

from chestx.errors import ChestxError
from chestx.findings import FINDINGS, NO_FINDING

MAP_FILE = "label_map.tsv"
NONE = "none"


def _key(label: str) -> str:
    return " ".join(label.strip().lower().split())


@dataclass(frozen=True)
class LabelMap:
    """The map of one release: ``targets`` (normalized source label -> target) and the
    ``spelling`` of each source label as the release writes it."""

    release: str
    targets: dict[str, str] = field(default_factory=dict)
    spelling: dict[str, str] = field(default_factory=dict)

    @property
    def label_space(self) -> tuple[str, ...]:
        """The NIH findings this release labels, in FINDINGS order."""
        mapped = set(self.targets.values())
        return tuple(f for f in FINDINGS if f in mapped)

    def target(self, source: str) -> str | None:
        """The target of ``source`` (``none`` for no counterpart), ``None`` when unknown."""
        return self.targets.get(_key(source))


@cache
def _rows() -> tuple[tuple[str, str, str, str], ...]:
    text = resources.files(__package__).joinpath(MAP_FILE).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    reader = csv.DictReader(lines, delimiter="\t")
    rows = []
    for row in reader:
        target = row["target"].strip()
        if target not in (*FINDINGS, NO_FINDING, NONE):
            raise ChestxError(f"{MAP_FILE}: {row['id']}: unknown target {target!r}")
        rows.append((row["release"].strip(), row["source"].strip(), target, row["why"].strip()))
    return tuple(rows)


@cache
def label_map(release: str) -> LabelMap:
    """The :class:`LabelMap` of ``release`` (empty for NIH, whose labels are the findings)."""
    result = LabelMap(release)
    for name, source, target, _ in _rows():
        if name == release:
            result.targets[_key(source)] = target
            result.spelling[_key(source)] = source
    return result


def release_label_space(release: str) -> tuple[str, ...]:
    """The NIH findings ``release`` labels: all 14 for NIH, else its map's targets."""
    return FINDINGS if release == "nih" else label_map(release).label_space


def map_table() -> pd.DataFrame:
    """Every line of ``label_map.tsv``: ``release, source, target, why``."""
    return pd.DataFrame(list(_rows()), columns=["release", "source", "target", "why"])


@dataclass
class MappedLabels:
    """Labels of ``N`` images in the NIH space: ``positive`` and ``uncertain`` bool
    ``(N, 14)`` in FINDINGS order (uncertain only where not positive), ``normal`` bool
    ``(N,)`` (the release's own no-finding label), ``dropped`` positives per unmapped source
    label, ``unknown`` source labels absent from the map, and ``extra`` (N x unmapped) the
    unmapped source values, kept when asked."""

    positive: np.ndarray
    uncertain: np.ndarray
    normal: np.ndarray
    dropped: dict[str, int]
    unknown: list[str]
    extra: pd.DataFrame | None = None


def apply_map(release: str, values: pd.DataFrame, keep_extra: bool = False) -> MappedLabels:
    """Map a frame of source label values (columns = source labels, float 1/0/-1/NaN) of
    ``release`` to the NIH findings; see :class:`MappedLabels`."""
    mapping = label_map(release)
    n = len(values)
    positive = np.zeros((n, len(FINDINGS)), dtype=bool)
    uncertain = np.zeros_like(positive)
    normal = np.zeros(n, dtype=bool)
    dropped, unknown, extra = {}, [], {}
    index = {name: i for i, name in enumerate(FINDINGS)}
    for column in values.columns:
        cells = values[column].to_numpy(dtype=np.float64)
        target = mapping.target(column)
        if target is None:
            unknown.append(column)
        if target in index:
            positive[:, index[target]] |= cells == 1
            uncertain[:, index[target]] |= cells == -1
        elif target == NO_FINDING:
            normal |= cells == 1
        else:
            dropped[column] = int((cells == 1).sum())
            extra[column] = cells
    uncertain &= ~positive
    kept = pd.DataFrame(extra, index=values.index) if keep_extra and extra else None
    return MappedLabels(positive, uncertain, normal, dropped, unknown, kept)


def cells(matrix: np.ndarray) -> list[str]:
    """Bool ``(N, 14)`` -> N cells ``"A|B"`` (``""`` where none) in FINDINGS order."""
    if not len(matrix):
        return []
    # one string per distinct row pattern: 14 bits -> an integer key
    keys = matrix.astype(np.int64) @ (1 << np.arange(matrix.shape[1], dtype=np.int64))
    patterns, inverse = np.unique(keys, return_inverse=True)
    names = np.array(FINDINGS[: matrix.shape[1]], dtype=object)
    text = np.array(["|".join(names[(p >> np.arange(len(names))) & 1 == 1]) for p in patterns],
                    dtype=object)
    return text[inverse.ravel()].tolist()
