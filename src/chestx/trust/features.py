"""The features and logits of every forward pass, caught on the way.

The detectors need features of the image at several depths: the channel means of the
backbone's middle stages (the last of its modules at output strides 4, 8 and 16: a ResNet's
layer1, layer2, layer3) and the ``D`` globally pooled transition activations (what the
prediction layer reads), and the logits. Rather than a second forward pass, :func:`capture`
hooks those modules for the length of a ``with`` block: every forward pass inside it
(batched inference, Grad-CAM's forward, a dataset loop) appends its ``(N, F)`` features (the
blocks side by side, their widths in ``layout``, the pooled features last) and ``(N, C)``
logits, in call order.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch

#: Output strides of the backbone stages whose channel means are kept.
STAGE_STRIDES = (4, 8, 16)


@dataclass
class Captured:
    """What the hooked passes produced, batch by batch."""

    features: list[np.ndarray] = field(default_factory=list)
    logits: list[np.ndarray] = field(default_factory=list)
    layout: tuple[int, ...] = ()
    pending: list[tuple[int, np.ndarray]] = field(default_factory=list)
    side: int = 0

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``(features (N, D), logits (N, C))`` of all passes so far, float64."""
        if not self.features:
            return np.zeros((0, 0)), np.zeros((0, 0))
        return (np.concatenate(self.features).astype(np.float64),
                np.concatenate(self.logits).astype(np.float64))

    def clear(self) -> None:
        self.features.clear()
        self.logits.clear()


@contextmanager
def capture(model: torch.nn.Module) -> Iterator[Captured]:
    """Collect the pooled features and logits of every forward pass of ``model`` (a
    ChestXNet, possibly wrapped in ``.module``) inside the block."""
    net = getattr(model, "module", model)
    caught = Captured()

    def on_input(_module, inputs) -> None:
        caught.side = int(inputs[0].shape[-1])
        caught.pending.clear()

    def on_stage(_module, _inputs, output) -> None:
        if isinstance(output, torch.Tensor) and output.dim() == 4:
            stride = round(caught.side / max(int(output.shape[-1]), 1))
            caught.pending.append((stride, output.detach().float().mean(dim=(2, 3)).cpu().numpy()))

    def on_pool(_module, _inputs, output) -> None:
        last = {stride: means for stride, means in caught.pending}  # the last at each stride
        blocks = [last[s] for s in STAGE_STRIDES if s in last]
        blocks.append(output.detach().float().cpu().numpy())
        caught.pending.clear()
        caught.layout = tuple(b.shape[1] for b in blocks)
        caught.features.append(np.concatenate(blocks, axis=1))

    def on_prediction(_module, _inputs, output) -> None:
        caught.logits.append(output.detach().float().cpu().numpy())

    handles = [net.pool.register_forward_hook(on_pool),
               net.prediction.register_forward_hook(on_prediction)]
    handles += [stage.register_forward_hook(on_stage) for stage in net.backbone.children()]
    handles.append(net.backbone.register_forward_pre_hook(on_input))
    try:
        yield caught
    finally:
        for handle in handles:
            handle.remove()
