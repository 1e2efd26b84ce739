"""Losses of §3.1: W-CEL (Eq. 1) by hand, and the standard ones."""

import math

import pytest
import torch

from chestx.models import LOSSES, get_loss
from chestx.models.losses import cross_entropy, euclidean, hinge, weighted_cross_entropy
from chestx.registry import RegistryError


def _sig(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


LOGITS = [[0.5, -1.0, 2.0], [-0.3, 1.5, -2.0]]
TARGETS = [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]


def test_wcel_matches_hand_computation_on_2x3_batch():
    # |P| = 2, |N| = 4 -> beta_P = 6/2 = 3, beta_N = 6/4 = 1.5 (Eq. 1).
    pos = -math.log(_sig(0.5)) - math.log(_sig(-2.0))
    neg = (-math.log(1 - _sig(-1.0)) - math.log(1 - _sig(2.0))
           - math.log(1 - _sig(-0.3)) - math.log(1 - _sig(1.5)))
    eq1 = 3.0 * pos + 1.5 * neg
    loss = weighted_cross_entropy(torch.tensor(LOGITS), torch.tensor(TARGETS))
    assert loss.item() == pytest.approx(eq1 / 6, rel=1e-6)  # divided by |P| + |N| = 6


def test_wcel_guards_batch_without_positives():
    logits = torch.tensor(LOGITS, requires_grad=True)
    targets = torch.zeros(2, 3)
    loss = weighted_cross_entropy(logits, targets)
    expected = sum(-math.log(1 - _sig(z)) for row in LOGITS for z in row) / 6
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    loss.backward()
    assert torch.isfinite(logits.grad).all()
    # and without negatives
    all_pos = weighted_cross_entropy(torch.tensor(LOGITS), torch.ones(2, 3))
    assert all_pos.item() == pytest.approx(
        sum(-math.log(_sig(z)) for row in LOGITS for z in row) / 6, rel=1e-6)


def test_wcel_weights_rare_positives_more_than_cel():
    logits = torch.zeros(4, 5, requires_grad=True)
    targets = torch.zeros(4, 5)
    targets[0, 0] = 1.0
    weighted_cross_entropy(logits, targets).backward()
    grad = logits.grad.clone()
    # one positive among 20 gets the same total pull as all 19 negatives together
    assert grad[0, 0].abs().item() == pytest.approx(grad[targets == 0].abs().sum().item())


def test_wcel_is_stable_for_huge_logits():
    loss = weighted_cross_entropy(torch.tensor([[200.0, -200.0]]), torch.tensor([[0.0, 1.0]]))
    assert loss.item() == pytest.approx(400.0)


def test_standard_losses_by_hand():
    z, y = torch.tensor(LOGITS), torch.tensor(TARGETS)
    flat = [(a, b) for ra, rb in zip(LOGITS, TARGETS, strict=True)
            for a, b in zip(ra, rb, strict=True)]
    ce = sum(-(b * math.log(_sig(a)) + (1 - b) * math.log(1 - _sig(a))) for a, b in flat) / 6
    hl = sum(max(0.0, 1 - (2 * b - 1) * a) for a, b in flat) / 6
    el = sum((_sig(a) - b) ** 2 for a, b in flat) / 12
    assert cross_entropy(z, y).item() == pytest.approx(ce, rel=1e-6)
    assert hinge(z, y).item() == pytest.approx(hl, rel=1e-6)
    assert euclidean(z, y).item() == pytest.approx(el, rel=1e-6)


def test_registry():
    assert set(LOSSES) == {"hinge", "euclidean", "ce", "wce"}
    assert get_loss("wce") is weighted_cross_entropy
    with pytest.raises(RegistryError):
        get_loss("focal")


@pytest.mark.parametrize("name", ["hinge", "euclidean", "ce", "wce"])
def test_nan_targets_are_left_out(name):
    """A NaN target (unknown) contributes nothing: the loss equals the loss of the known
    entries alone (by hand for W-CEL's betas, which count known entries only)."""
    z = torch.tensor([[0.3, -1.2, 2.0], [1.5, 0.2, -0.7]], requires_grad=True)
    y = torch.tensor([[1.0, float("nan"), 0.0], [float("nan"), 1.0, 0.0]])
    known = ~torch.isnan(y)
    loss = get_loss(name)(z, y)
    flat = get_loss(name)(z[known][None], y[known][None])
    assert loss.item() == pytest.approx(flat.item(), rel=1e-6)
    loss.backward()
    assert (z.grad[~known] == 0).all() and torch.isfinite(z.grad).all()


def test_all_targets_unknown_gives_zero_loss():
    y = torch.full((2, 3), float("nan"))
    for name in LOSSES:
        assert get_loss(name)(torch.ones(2, 3), y).item() == 0.0
