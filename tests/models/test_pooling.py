"""LSE pooling (paper Eq. 2/3) and the GlobalPool module."""

import math

import pytest
import torch
from scipy.special import logsumexp

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


def _lse_float64(x: torch.Tensor, r: float) -> torch.Tensor:
    """Eq. 2 in float64 through scipy's logsumexp: an independent reference."""
    flat = x.double().flatten(2).numpy()
    size = flat.shape[2]
    return torch.from_numpy((logsumexp(r * flat, axis=2) - math.log(size)) / r)


@pytest.mark.parametrize("r", [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0])
def test_lse_exact_in_float32_for_small_and_large_r(r):
    torch.manual_seed(4)
    x = torch.randn(2, 6, 7, 7) * 3  # float32
    out = lse_pool(x, r)
    assert out.dtype == torch.float32
    # float32 keeps ~7 digits of values of size ~10: a few ulps of that, at every r
    torch.testing.assert_close(out.double(), _lse_float64(x, r), rtol=0, atol=5e-6)


def test_lse_at_tiny_r_is_the_mean_plus_half_r_variance_in_float32():
    torch.manual_seed(5)
    x = torch.randn(1, 4, 8, 8)
    flat = x.double().flatten(2)
    r = 1e-6  # cumulant expansion: mean + r/2 var + O(r^2)
    expected = flat.mean(dim=2) + r / 2 * flat.var(dim=2, unbiased=False)
    torch.testing.assert_close(lse_pool(x, r).double(), expected, rtol=0, atol=1e-6)


def test_lse_gradient_finite_at_tiny_and_huge_r():
    for r in (1e-6, 1e3):
        x = (torch.randn(1, 2, 4, 4) * 50).requires_grad_(True)
        lse_pool(x, r).sum().backward()
        assert torch.isfinite(x.grad).all()
        torch.testing.assert_close(x.grad.sum(dim=(2, 3)), torch.ones(1, 2))  # softmax weights
