"""Evaluation metrics: classification AUC/ROC (:mod:`.classification`), localization Acc/AFP
over IoU/IoBB (:mod:`.localization`) and the paper's localization protocol
(:mod:`.protocol`). No model runs here: ``chestx evaluate`` runs in
:mod:`chestx.runners.evaluate`.

Names load on first use, so importing ``chestx.metrics`` pulls in neither matplotlib nor
the localization code.
"""

from __future__ import annotations

from chestx.exports import lazy_exports

_EXPORTS = {
    "auc_table": "classification",
    "mean_auc": "classification",
    "per_class_auc": "classification",
    "plot_roc": "classification",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
