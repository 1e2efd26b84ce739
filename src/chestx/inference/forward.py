"""Batch localization: a model and images -> probabilities, class heatmaps and boxes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from chestx.localize.boxes import Box
from chestx.localize.generators import DEFAULT_METHOD, build_generator
from chestx.localize.heatmaps import normalize_heatmap, upsample_heatmap


@dataclass
class Localization:
    """What the model says about one image.

    Attributes
    ----------
    image_size : ``(H, W)`` of the image as given (boxes are in these pixels).
    classes : finding names, in the model's class order.
    probabilities : float32 ``(C,)``, sigmoid of the logits.
    heatmaps : float32 ``(C, S, S)``, the raw class activation maps (transition activations x
        prediction weights). :meth:`heatmap` upsamples one of them on demand, so that an image
        costs one upsampling per class actually looked at, not ``C`` full-size maps.
    boxes : the boxes of the classes that were boxed (``Box.finding`` names the class).
    """

    image_size: tuple[int, int]
    classes: tuple[str, ...]
    probabilities: np.ndarray
    heatmaps: np.ndarray
    boxes: list[Box] = field(default_factory=list)

    def index(self, finding: str) -> int:
        return self.classes.index(finding)

    def probability(self, finding: str) -> float:
        return float(self.probabilities[self.index(finding)])

    def heatmap(self, finding: str, size: tuple[int, int] | None = None) -> np.ndarray:
        """The class heatmap upsampled to ``size`` (default: the image), scaled to [0, 1].

        Returns float32 ``(H, W)``.
        """
        up = upsample_heatmap(self.heatmaps[self.index(finding)], size or self.image_size)
        return normalize_heatmap(up, top=1.0)


def box_findings(loc: Localization, findings: Sequence[str], generator) -> list[Box]:
    """Boxes of ``findings`` (those among the model's classes) from ``loc``'s heatmaps."""
    boxes: list[Box] = []
    for name in findings:
        if name in loc.classes:
            boxes.extend(generator(loc.heatmaps[loc.index(name)], loc.image_size, name))
    return boxes


def _findings_per_image(findings, n_images: int) -> list[Sequence[str] | None]:
    """``None`` | names for all images | one list of names per image -> one entry per image."""
    if findings is None or len(findings) == 0 or isinstance(findings[0], str):
        return [findings] * n_images
    if len(findings) != n_images:
        raise ValueError(f"got {len(findings)} finding lists for {n_images} images")
    return list(findings)


def _forward(model: torch.nn.Module, images: Sequence[np.ndarray],
             size: int | None) -> tuple[np.ndarray, np.ndarray]:
    """``images`` (uint8 (H, W) each) -> ``(probabilities (N, C), heatmaps (N, C, S, S))``."""
    from chestx.data.images import to_tensor

    device = next(model.parameters()).device
    batch = torch.stack([to_tensor(gray, size) for gray in images]).to(device)
    with torch.inference_mode():
        logits, heatmaps = model.forward_heatmaps(batch)
    return torch.sigmoid(logits).float().cpu().numpy(), heatmaps.float().cpu().numpy()


def localize_images(model: torch.nn.Module, images: Sequence[np.ndarray], findings=None,
                    threshold: float = 0.5, method: str = DEFAULT_METHOD, batch_size: int = 8,
                    **params) -> list[Localization]:
    """Classify and localize grayscale images with a ChestXNet.

    Parameters
    ----------
    model : a ChestXNet (``forward_heatmaps``, ``config["classes"]``, ``config["image_size"]``).
    images : uint8 arrays ``(H, W)``, any size; each is resized to the model's input size and
        its boxes are returned in its own pixels.
    findings : which classes to box. ``None``: those with probability >= ``threshold``; a list
        of names: those for every image; a list of lists: per image (e.g. the ground-truth
        classes when evaluating).
    method, params : the box generator (see :func:`chestx.localize.build_generator`).

    Returns one :class:`Localization` per image, in order.
    """
    config = getattr(model, "config", {}) or {}
    classes = tuple(config.get("classes") or ())
    size = config.get("image_size")
    generator = build_generator(method, **params)
    wanted = _findings_per_image(findings, len(images))
    results = []
    for start in range(0, len(images), batch_size if size else 1):
        chunk = images[start:start + (batch_size if size else 1)]
        probs, heatmaps = _forward(model, chunk, size)
        if not classes:
            classes = tuple(f"class_{i}" for i in range(probs.shape[1]))
        for offset, gray in enumerate(chunk):
            loc = Localization(tuple(gray.shape), classes, probs[offset], heatmaps[offset])
            names = wanted[start + offset]
            if names is None:
                names = [c for c, p in zip(classes, probs[offset], strict=True) if p >= threshold]
            loc.boxes = box_findings(loc, names, generator)
            results.append(loc)
    return results
