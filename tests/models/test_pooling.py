"""LSE pooling (paper Eq. 2/3) and the GlobalPool module."""

import math

import pytest
import torch

from chestx.models import GlobalPool, lse_pool
from chestx.registry import RegistryError


def _eq2(x: torch.Tensor, r: float) -> torch.Tensor:
    """Eq. 2 literally, in float64 (only safe for small r * x)."""
    flat = x.double().flatten(2)
    return torch.log(torch.exp(r * flat).mean(dim=2)) / r


def test_lse_equals_eq2_where_eq2_is_safe():
    x = torch.randn(3, 5, 4, 4)
    for r in (0.1, 1.0, 5.0, 10.0):
        torch.testing.assert_close(lse_pool(x, r).double(), _eq2(x, r), rtol=1e-5, atol=1e-5)


def test_lse_tends_to_max_as_r_grows():
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    gaps = [(lse_pool(x, r) - x.amax(dim=(2, 3))).abs().max().item() for r in (1, 10, 100, 1e4)]
    assert gaps == sorted(gaps, reverse=True)
    # bound: max - log(S)/r <= lse <= max
    assert gaps[-1] <= math.log(64) / 1e4 + 1e-12


def test_lse_tends_to_mean_as_r_goes_to_zero():
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    mean = x.mean(dim=(2, 3))
    gaps = [(lse_pool(x, r) - mean).abs().max().item() for r in (1.0, 0.1, 1e-3, 1e-6)]
    assert gaps == sorted(gaps, reverse=True)
    assert gaps[-1] < 1e-5


def test_lse_no_overflow_at_r12_with_large_activations():
    x = torch.full((1, 2, 4, 4), 1e4)
    x[0, 0, 0, 0] = 2e4
    x[0, 1] = -5e4  # very negative too: the shift by max(x) keeps it finite
    out = lse_pool(x, 12.0)
    assert torch.isfinite(out).all()
    assert torch.exp(12.0 * x).isinf().any()  # Eq. 2 itself would overflow here
    # channel 0: one value 2e4 among fifteen 1e4 -> 2e4 + log(1/16)/12 (others vanish)
    assert out[0, 0].item() == pytest.approx(2e4 - math.log(16) / 12, rel=1e-6)
    assert out[0, 1].item() == pytest.approx(-5e4, rel=1e-6)
    x.requires_grad_(True)
    lse_pool(x, 12.0).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_lse_gradient_is_softmax_weights():
    x = torch.randn(1, 1, 3, 3, dtype=torch.float64, requires_grad=True)
    lse_pool(x, 2.0).sum().backward()
    expected = torch.softmax(2.0 * x.detach().flatten(), 0).view_as(x)
    torch.testing.assert_close(x.grad, expected)


def test_global_pool_kinds():
    x = torch.randn(2, 4, 5, 5)
    torch.testing.assert_close(GlobalPool("avg")(x), x.mean(dim=(2, 3)))
    torch.testing.assert_close(GlobalPool("max")(x), x.amax(dim=(2, 3)))
    torch.testing.assert_close(GlobalPool("lse", r=3.0)(x), lse_pool(x, 3.0))
    with pytest.raises(RegistryError):
        GlobalPool("median")
    with pytest.raises(ValueError):
        lse_pool(x, 0.0)
