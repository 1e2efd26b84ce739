"""Grayscale images -> one :class:`Prediction` each (probabilities, class heatmaps, boxes),
through the batched forward of :mod:`chestx.models.forward`: chestx's one inference result."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from chestx.boxes import Box
from chestx.data.tensors import to_tensor
from chestx.findings import DEFAULT_THRESHOLD
from chestx.localize.generators import DEFAULT_METHOD, box_findings, build_generator
from chestx.localize.heatmaps import normalize_heatmap, upsample_heatmap
from chestx.localize.registration import Registration
from chestx.localize.sources import DEFAULT_SOURCE, heatmap_source
from chestx.models.forward import forward_batches
from chestx.models.net import ChestXNet
from chestx.models.receptive_field import cell_centres


@dataclass(frozen=True)
class Prediction:
    """What the model says about one image.

    Attributes
    ----------
    image_size : ``(H, W)`` of the image as given (boxes are in these pixels, top-left origin).
    classes : finding names, in the model's class order (``C`` of them).
    probabilities : float32 ``(C,)``, sigmoid of the logits.
    heatmaps : float32 ``(C, S, S)``, the raw class activation maps (transition activations x
        prediction weights), covering the whole image; ``None`` once dropped to save memory.
        :meth:`heatmap` upsamples one of them on demand, so that an image costs one
        upsampling per class actually looked at, not ``C`` full-size maps.
    boxes : the boxes of the classes that were boxed (``Box.finding`` names the class).
    image : the image's name (``Image Index``: the file name), ``""`` when not from a file.
    source : where the image was read from (its path), ``""`` when not from a file.
    threshold : probability at or above which a finding is positive.
    registration : where the heatmaps' cells lie on the image
        (:func:`chestx.localize.registration.registration_of` the model).
    """

    image_size: tuple[int, int]
    classes: tuple[str, ...]
    probabilities: np.ndarray
    heatmaps: np.ndarray | None
    boxes: tuple[Box, ...] = ()
    image: str = ""
    source: str = ""
    threshold: float = DEFAULT_THRESHOLD
    registration: Registration | None = None

    def index(self, finding: str) -> int:
        return self.classes.index(finding)

    def probability(self, finding: str) -> float:
        return float(self.probabilities[self.index(finding)])

    def heatmap(self, finding: str, size: tuple[int, int] | None = None) -> np.ndarray:
        """The class heatmap upsampled to ``size`` (default: the image), scaled to [0, 1].

        Returns float32 ``(H, W)``.
        """
        up = upsample_heatmap(self.heatmaps[self.index(finding)], size or self.image_size,
                              self.registration)
        return normalize_heatmap(up, top=1.0)

    @property
    def positives(self) -> list[str]:
        """Findings at or above the threshold, most probable first."""
        order = np.argsort(-self.probabilities, kind="stable")
        return [self.classes[i] for i in order if self.probabilities[i] >= self.threshold]

    def boxes_of(self, finding: str) -> list[Box]:
        return [box for box in self.boxes if box.finding == finding]

    def to_dict(self) -> dict:
        """JSON-ready summary (no heatmaps): findings in class order with their boxes."""
        height, width = self.image_size
        return {
            "image": self.image,
            "source": self.source,
            "width": width,
            "height": height,
            "threshold": self.threshold,
            "positive": self.positives,
            "probabilities": {name: float(v) for name, v in zip(self.classes,
                                                                self.probabilities, strict=True)},
            "findings": [
                {
                    "name": name,
                    "probability": float(self.probabilities[i]),
                    "positive": bool(self.probabilities[i] >= self.threshold),
                    "boxes": [box.to_dict() for box in self.boxes_of(name)],
                }
                for i, name in enumerate(self.classes)
            ],
        }


def registration_of(model: torch.nn.Module) -> Registration | None:
    """Where the cells of a :class:`~chestx.models.ChestXNet`'s maps lie on its input
    (:func:`chestx.models.receptive_field.cell_centres`); ``None`` for any other module (its
    maps are drawn as equal tiles)."""
    if not isinstance(model, ChestXNet):
        return None
    config = model.config
    return Registration(*cell_centres(config.backbone, int(config.image_size),
                                      int(config.heatmap_size)))


def _findings_per_image(findings, n_images: int) -> list[Sequence[str] | None]:
    """``None`` | names for all images | one list of names per image -> one entry per image."""
    if findings is None or len(findings) == 0 or isinstance(findings[0], str):
        return [findings] * n_images
    if len(findings) != n_images:
        raise ValueError(f"got {len(findings)} finding lists for {n_images} images")
    return list(findings)


def _class_indices(classes: Sequence[str], wanted: Sequence) -> list[int] | None:
    """Indices of the classes named in per-image finding lists (``None``: all classes)."""
    if any(names is None for names in wanted):
        return None
    named = {name for names in wanted for name in names}
    return [i for i, name in enumerate(classes) if name in named]


def _heatmap_classes(classes: Sequence[str], heatmap_classes: Sequence[str] | None,
                     wanted: Sequence) -> list[int] | None:
    """The class indices whose heatmaps one batch needs: ``heatmap_classes`` when given, else
    those named in the batch's finding lists (``None``: all)."""
    if heatmap_classes is not None:
        return [classes.index(c) for c in heatmap_classes if c in classes]
    return _class_indices(classes, wanted)


def localize_images(model: torch.nn.Module, images: Sequence[np.ndarray], findings=None,
                    threshold: float = DEFAULT_THRESHOLD, method: str = DEFAULT_METHOD,
                    batch_size: int = 8, names: Sequence[str] | None = None,
                    sources: Sequence[str] | None = None, heatmap: str = DEFAULT_SOURCE,
                    heatmap_classes: Sequence[str] | None = None,
                    map_model: torch.nn.Module | None = None, **params) -> list[Prediction]:
    """Classify and localize grayscale images with a ChestXNet.

    Parameters
    ----------
    model : a ChestXNet, or any module with ``forward_heatmaps`` and a
        :class:`~chestx.models.ModelConfig` as ``config`` (``classes``, ``image_size``).
    images : uint8 arrays ``(H, W)``, any size; each is resized to the model's input size and
        its boxes are returned in its own pixels.
    findings : which classes to box. ``None``: those with probability >= ``threshold``; a list
        of names: those for every image; a list of lists: per image (e.g. the ground-truth
        classes when evaluating).
    threshold : probability at or above which a finding is positive.
    method, params : the box generator (see :func:`chestx.localize.build_generator`).
    batch_size : images per forward pass.
    names, sources : the images' names and paths, stored in the predictions (default ``""``).
    heatmap : the heatmap source, ``cam | gradcam | gradcam++``
        (:mod:`chestx.localize.sources`).
    heatmap_classes : the classes whose heatmaps the gradient sources compute (default: those
        named in ``findings`` lists, all classes otherwise); CAM computes all at once.
    map_model : the same network at another heatmap side (e.g. dilated to localize more
        finely, :func:`chestx.models.checkpoint.at_heatmap_size`): the maps come from it, the
        probabilities from ``model`` (as trained).

    Returns
    -------
    list of Prediction
        One per image, in order.
    """
    classes, size = tuple(model.config.classes), model.config.image_size
    generator = build_generator(method, **params)
    registration = registration_of(map_model or model)
    wanted = _findings_per_image(findings, len(images))
    names = list(names) if names is not None else [""] * len(images)
    sources = list(sources) if sources is not None else names
    starts = range(0, len(images), batch_size)

    def batches() -> Iterator[torch.Tensor]:
        return (torch.stack([to_tensor(gray, size) for gray in images[s:s + batch_size]])
                for s in starts)

    asked = (_heatmap_classes(classes, heatmap_classes, wanted[s:s + batch_size])
             for s in starts)
    results = []
    outputs = forward_batches(map_model or model, batches(), heatmap_source(heatmap), asked)
    # the maps may come from the network at another side; the probabilities always come
    # from the network as trained
    trained = (forward_batches(model, batches())
               if map_model is not None and map_model is not model else None)
    for start, out in zip(starts, outputs, strict=True):
        chunk = images[start:start + batch_size]
        heatmaps = out.heatmaps.numpy()
        probs = next(trained).probabilities if trained is not None else out.probabilities
        for offset, gray in enumerate(chunk):
            n = start + offset
            boxed = wanted[n]
            if boxed is None:
                boxed = [c for c, p in zip(classes, probs[offset], strict=True) if p >= threshold]
            boxes = box_findings(heatmaps[offset], gray.shape, classes, boxed, generator,
                                 probs[offset], registration)
            results.append(Prediction(tuple(gray.shape), classes, probs[offset],
                                      heatmaps[offset], tuple(boxes), names[n], sources[n],
                                      threshold, registration))
    return results
