"""Evaluation: classification AUC/ROC (:mod:`.classification`), localization IoU/IoBB/Acc/AFP
(:mod:`.localization`), and what ``chestx evaluate`` runs (:mod:`.runner`).

Names load on first use, so importing ``chestx.evaluate`` pulls in neither matplotlib nor
the localization code.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "auc_table": "classification",
    "mean_auc": "classification",
    "per_class_auc": "classification",
    "plot_roc": "classification",
    "evaluate_checkpoint": "runner",
    "Evaluation": "runner",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"chestx.evaluate.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'chestx.evaluate' has no attribute {name!r}")
