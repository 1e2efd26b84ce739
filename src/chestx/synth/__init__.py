"""Synthetic data: chest phantoms with planted findings and boxes in the NIH layout
(:mod:`.cohort`, drawn by :mod:`.phantom` over the healthy :mod:`.anatomy`), and sample
hospital DICOM files with SR reports (:mod:`.dicoms`)."""

from __future__ import annotations

from chestx.exports import lazy_exports

_EXPORTS = {
    "BOXED_FINDINGS": "cohort",
    "PLANTED_FINDINGS": "cohort",
    "synthesize": "cohort",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
