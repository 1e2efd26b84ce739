"""Inference: a trained model on image files -> probabilities, heatmaps, boxes, tables, overlays.

- :mod:`.forward`: the batched forward (images -> probabilities, class heatmaps, boxes);
- :mod:`.predictor`: :class:`Predictor` (files and folders, batched, resumable) and the
  ``predictions.csv`` / ``boxes.csv`` tables, used by ``chestx predict``, ``chestx localize``
  and ``chestx serve``;
- :mod:`.evaluate`: a checkpoint on a split of a dataset folder (``chestx evaluate``);
- :mod:`.export`: ONNX / TorchScript graphs that return logits and heatmaps.
"""

from chestx.inference.forward import Prediction, localize_images
from chestx.inference.predictor import Predictor, collect_images, predict_paths

__all__ = ["Prediction", "Predictor", "collect_images", "localize_images", "predict_paths"]
