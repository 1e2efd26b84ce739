"""The pooled features and logits of every forward pass, caught on the way.

The detectors need the ``D`` globally pooled transition activations (what the prediction
layer reads) and the logits. Rather than a second forward pass, :func:`capture` hooks the
model's ``pool`` and ``prediction`` modules for the length of a ``with`` block: every forward
pass inside it (batched inference, Grad-CAM's forward, a dataset loop) appends its
``(N, D)`` features and ``(N, C)`` logits, in call order.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch


@dataclass
class Captured:
    """What the hooked passes produced, batch by batch."""

    features: list[np.ndarray] = field(default_factory=list)
    logits: list[np.ndarray] = field(default_factory=list)

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

    def on_pool(_module, _inputs, output) -> None:
        caught.features.append(output.detach().float().cpu().numpy())

    def on_prediction(_module, _inputs, output) -> None:
        caught.logits.append(output.detach().float().cpu().numpy())

    handles = [net.pool.register_forward_hook(on_pool),
               net.prediction.register_forward_hook(on_prediction)]
    try:
        yield caught
    finally:
        for handle in handles:
            handle.remove()
