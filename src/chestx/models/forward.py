"""The one batched forward, shared by validation, evaluation and prediction.

A model and batches of images -> logits, probabilities and, optionally, class heatmaps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import torch

#: ``source(model, images (N, 1, H, W), classes) -> (logits (N, C), heatmaps (N, C, S, S))``
#: on the CPU, float32 (the heatmap sources of :mod:`chestx.localize.sources`).
HeatmapFn = Callable[[torch.nn.Module, torch.Tensor, Sequence[int] | None],
                     tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class BatchOutput:
    """What the model gives for one batch of ``N`` images.

    Attributes
    ----------
    logits : float32 CPU tensor ``(N, C)``.
    heatmaps : float32 CPU tensor ``(N, C, S, S)``, or ``None`` when none was asked for.
    """

    logits: torch.Tensor
    heatmaps: torch.Tensor | None = None

    @property
    def probabilities(self) -> np.ndarray:
        """float32 ``(N, C)``: the sigmoid of the logits (no overflow warning at large
        negative logits, unlike ``1 / (1 + exp(-x))``)."""
        return torch.sigmoid(self.logits).numpy()


def _autocast(device: torch.device, amp: bool):
    if not amp:
        return nullcontext()
    return torch.autocast(device.type, dtype=torch.float16 if device.type == "cuda"
                          else torch.bfloat16)


def forward_batches(model: torch.nn.Module, batches: Iterable[torch.Tensor],
                    heatmaps: HeatmapFn | None = None,
                    classes: Iterable[Sequence[int] | None] | None = None,
                    amp: bool = False) -> Iterator[BatchOutput]:
    """Run ``model`` over ``batches`` lazily, one :class:`BatchOutput` per batch, in order.

    Parameters
    ----------
    model : a :class:`~chestx.models.ChestXNet` (or a module with its ``forward`` /
        ``forward_heatmaps``), already on its device and in the mode wanted.
    batches : images ``(N, 1, H, W)`` in [0, 1]; each is moved to the model's device.
    heatmaps : ``None``: logits only, ``model(images)`` without gradients; otherwise the
        heatmap source that returns the logits and the class heatmaps.
    classes : per batch, the class indices whose heatmaps a gradient source computes
        (``None``: all); unused without ``heatmaps``.
    amp : run under autocast (float16 on CUDA, bfloat16 on the CPU).
    """
    device = next(model.parameters()).device
    wanted = iter(classes) if classes is not None else None
    for images in batches:
        images = images.to(device, non_blocking=True)
        asked = next(wanted) if wanted is not None else None
        # computed before the yield: no grad mode or autocast leaks into the caller's code
        with _autocast(device, amp):
            if heatmaps is None:
                with torch.no_grad():
                    logits, maps = model(images), None
            else:
                logits, maps = heatmaps(model, images, asked)
        yield BatchOutput(logits.float().cpu(), maps)
