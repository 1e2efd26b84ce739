"""The one batched forward: logits as the model gives them, sigmoid probabilities, the
heatmap source called once per batch with that batch's classes, no grad mode leaking out."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from chestx.models.forward import forward_batches


class Affine(nn.Module):
    """logits = 2 * mean pixel - 1 and mean pixel - 0.5 (two classes)."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor([2.0, 1.0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=(1, 2, 3))[:, None]
        return mean * self.scale - torch.tensor([1.0, 0.5])


def test_logits_and_probabilities_by_hand():
    batches = [torch.full((2, 1, 4, 4), 0.25), torch.full((1, 1, 4, 4), 1.0)]
    outputs = list(forward_batches(Affine(), iter(batches)))
    assert [tuple(out.logits.shape) for out in outputs] == [(2, 2), (1, 2)]
    np.testing.assert_allclose(outputs[0].logits.numpy(), [[-0.5, -0.25]] * 2)
    np.testing.assert_allclose(outputs[1].logits.numpy(), [[1.0, 0.5]])
    expected = 1 / (1 + np.exp(-np.array([1.0, 0.5])))
    np.testing.assert_allclose(outputs[1].probabilities[0], expected, rtol=1e-6)
    assert outputs[0].heatmaps is None
    assert not outputs[0].logits.requires_grad


def test_heatmap_source_gets_each_batch_and_its_classes():
    calls = []

    def source(model, images, classes):
        calls.append((images.shape[0], classes))
        logits = model(images)
        return logits, torch.zeros(images.shape[0], 2, 3, 3)

    batches = [torch.zeros(3, 1, 4, 4), torch.zeros(1, 1, 4, 4)]
    outputs = list(forward_batches(Affine(), batches, source, [[1], None]))
    assert calls == [(3, [1]), (1, None)]
    assert tuple(outputs[0].heatmaps.shape) == (3, 2, 3, 3)


def test_grad_mode_is_not_left_off_between_batches():
    seen = []
    for _ in forward_batches(Affine(), [torch.zeros(1, 1, 2, 2)] * 2):
        seen.append(torch.is_grad_enabled())
    assert seen == [True, True]
