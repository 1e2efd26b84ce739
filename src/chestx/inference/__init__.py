"""Inference: a trained model on image files -> probabilities, heatmaps, boxes, tables, overlays.

- :mod:`.forward`: the batched forward (images -> probabilities, class heatmaps, boxes);
- :mod:`.predictor`: :class:`Predictor` (files and folders, batched, resumable) and the
  ``predictions.csv`` / ``boxes.csv`` tables, used by ``chestx predict``, ``chestx localize``
  and ``chestx serve``;
- :mod:`.predict_config`: what ``chestx predict`` and ``chestx export`` take;
  :mod:`.predict_job` runs ``chestx predict`` from those settings;
- :mod:`.export`: ONNX / TorchScript graphs that return logits and heatmaps.

Names load on first use, so reading :mod:`.predict_config` does not pull in torch.
"""

from __future__ import annotations

from chestx.exports import lazy_exports

_EXPORTS = {
    "Prediction": "forward",
    "localize_images": "forward",
    "Predictor": "predictor",
    "collect_images": "predictor",
    "predict_paths": "predictor",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
