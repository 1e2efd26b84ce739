"""The one list of findings: NIH spelling and order, the paper's first 8, and aliases.

Every label vector in chestx is float32 of length 14 (or 8) in :data:`FINDINGS` order;
``No Finding`` is the all-zero vector.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

#: Probability at or above which a finding is called positive (and gets boxes), unless the
#: user says otherwise: one default for predict, localize, evaluate and serve.
DEFAULT_THRESHOLD = 0.5

FINDINGS: tuple[str, ...] = (
    "Atelectasis",
    "Cardiomegaly",
    "Effusion",
    "Infiltration",
    "Mass",
    "Nodule",
    "Pneumonia",
    "Pneumothorax",
    "Consolidation",
    "Edema",
    "Emphysema",
    "Fibrosis",
    "Pleural_Thickening",
    "Hernia",
)

#: ChestX-ray8: the paper's first eight findings (same order as in FINDINGS).
PAPER_8: tuple[str, ...] = FINDINGS[:8]

NO_FINDING = "No Finding"

#: NIH's spelling of a finding in ``BBox_List_2017.csv`` where it differs from the image label.
BBOX_LIST_SPELLING: dict[str, str] = {"Infiltration": "Infiltrate"}

#: Other spellings met in NIH files and reports -> canonical NIH spelling.
ALIASES: dict[str, str] = {
    **{listed: name for name, listed in BBOX_LIST_SPELLING.items()},
    "Pleural Thickening": "Pleural_Thickening",
    "Pleural_thickening": "Pleural_Thickening",
    "Pleural effusion": "Effusion",
}


def canonical(name: str) -> str:
    """Return the NIH spelling of a finding name (``Infiltrate`` -> ``Infiltration``).

    Raises ``KeyError`` for a name that is neither a finding nor an alias.
    """
    name = name.strip()
    if name in FINDINGS:
        return name
    if name in ALIASES:
        return ALIASES[name]
    lowered = {f.lower(): f for f in FINDINGS} | {a.lower(): c for a, c in ALIASES.items()}
    if name.lower() in lowered:
        return lowered[name.lower()]
    raise KeyError(f"unknown finding {name!r}")


def classes_for(n: int) -> tuple[str, ...]:
    """The class list for ``n`` classes: 14 (ChestX-ray14) or 8 (ChestX-ray8)."""
    if n == 14:
        return FINDINGS
    if n == 8:
        return PAPER_8
    raise ValueError(f"classes must be 14 or 8, not {n}")


def split_labels(finding_labels: str) -> list[str]:
    """Split an NIH ``Finding Labels`` cell (``A|B`` or ``No Finding``) into canonical names."""
    if not isinstance(finding_labels, str):
        return []
    parts = [p.strip() for p in finding_labels.split("|") if p.strip()]
    return [canonical(p) for p in parts if p != NO_FINDING]


def labels_to_vector(finding_labels: str, classes: Sequence[str] = FINDINGS) -> np.ndarray:
    """``"Effusion|Mass"`` -> float32 vector of shape (len(classes),) with ones at those classes.

    Findings outside ``classes`` (e.g. Hernia with the paper's 8) are ignored.
    """
    index = {c: i for i, c in enumerate(classes)}
    vec = np.zeros(len(classes), dtype=np.float32)
    for name in split_labels(finding_labels):
        if name in index:
            vec[index[name]] = 1.0
    return vec


def vector_to_labels(vector: Iterable[float], classes: Sequence[str] = FINDINGS) -> str:
    """Inverse of :func:`labels_to_vector`: positives joined by ``|`` or ``No Finding``."""
    names = [c for c, v in zip(classes, vector, strict=True) if v >= 0.5]
    return "|".join(names) if names else NO_FINDING
