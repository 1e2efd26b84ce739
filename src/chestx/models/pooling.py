"""Global pooling over the S x S transition activations: average, max and Log-Sum-Exp.

LSE pooling (paper Eq. 2, from Pinheiro & Collobert) with sharpness ``r``::

    x_p = 1/r * log( 1/S * sum_ij exp(r * x_ij) )

goes from the mean (``r -> 0``) to the max (``r -> inf``). Eq. 2 overflows for large
``r * x``; we compute the equivalent Eq. 3::

    x_p = x* + 1/r * log( 1/S * sum_ij exp(r * (x_ij - x*)) )

with ``x* = max_ij x_ij``. The paper writes ``x* = max |x_ij|``; any ``x*`` is exact in
theory, but the plain maximum is the one that also cannot *underflow* (with very negative
activations ``max |x|`` makes every term ``exp(-large)`` = 0 and the log -inf), so we use it.

Small ``r`` (towards the mean) needs care too: in float32 ``mean(exp(r d))`` is ``1 + r d``
rounded to 7 digits, so at ``r = 1e-6`` the log keeps almost none of ``d = x - x*``. There we
use the same quantity written as ``log1p(mean(expm1(r d))) / r``, which keeps every digit;
where the mean of ``exp`` is below 1/2 (large ``r * d``) the plain form is the exact one and
is kept. ``expm1`` is Kahan's formula from ``exp`` and ``log`` (ONNX has no Expm1), so every
operation here (amax, exp, log, log1p, mean, where) exports to ONNX.
"""

from __future__ import annotations

import torch
from torch import nn

from chestx.registry import Registry


def lse_pool(x: torch.Tensor, r: float = 10.0) -> torch.Tensor:
    """Log-Sum-Exp pooling of ``x`` (N, D, S, S) over the spatial dims -> (N, D).

    Computed in the stable form of the paper's Eq. 3 (see the module docstring); ``r > 0``.
    """
    if r <= 0:
        raise ValueError(f"LSE pooling needs r > 0, got {r}")
    flat = x.flatten(2)
    x_star = flat.amax(dim=2, keepdim=True).detach()  # the shift cancels in the gradient
    scaled = r * (flat - x_star)  # <= 0, with 0 at the maximum
    near_one = expm1(scaled).mean(dim=2)  # mean(exp) - 1, in [-(1 - 1/S), 0]
    plain = torch.exp(scaled).mean(dim=2)  # >= 1/S: its log is finite
    pooled = torch.where(near_one > -0.5, torch.log1p(near_one), torch.log(plain)) / r
    return x_star.squeeze(2) + pooled


def expm1(z: torch.Tensor) -> torch.Tensor:
    """``exp(z) - 1`` to full precision near 0 (Kahan's formula, from ``exp`` and ``log``).

    ``u = exp(z)``; ``expm1 = (u - 1) * z / log(u)``: the rounding errors of ``u - 1`` and
    ``log(u)`` cancel. ``u == 1`` gives ``z``, ``u - 1 == -1`` (underflow) gives ``-1``;
    the unused branches are kept finite so that no NaN reaches the gradient.
    """
    u = torch.exp(z)
    one = u == 1
    underflow = (u - 1) == -1
    safe_u = torch.where(one | underflow, torch.full_like(u, 0.5), u)
    ratio = (safe_u - 1) * z / torch.log(safe_u)
    return torch.where(one, z, torch.where(underflow, -torch.ones_like(u), ratio))


def average_pool(x: torch.Tensor, r: float = 0.0) -> torch.Tensor:
    """Mean of ``x`` (N, D, S, S) over the spatial dims -> (N, D) (``r`` is unused)."""
    return x.mean(dim=(2, 3))


def max_pool(x: torch.Tensor, r: float = 0.0) -> torch.Tensor:
    """Maximum of ``x`` (N, D, S, S) over the spatial dims -> (N, D) (``r`` is unused)."""
    return x.amax(dim=(2, 3))


#: Global pooling functions ``(x (N, D, S, S), r) -> (N, D)`` by name.
POOLINGS: Registry = Registry("pooling", {"avg": average_pool, "max": max_pool,
                                          "lse": lse_pool})


class GlobalPool(nn.Module):
    """``avg | max | lse`` pooling of ``(N, D, S, S)`` activations to ``(N, D)``."""

    def __init__(self, kind: str = "lse", r: float = 10.0) -> None:
        super().__init__()
        self.pool = POOLINGS.get(kind)
        self.kind = kind
        self.r = float(r)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x, self.r)

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}" + (f", r={self.r}" if self.kind == "lse" else "")
