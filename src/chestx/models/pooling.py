"""Global pooling over the S x S transition activations: average, max and Log-Sum-Exp.

LSE pooling (paper Eq. 2, from Pinheiro & Collobert) with sharpness ``r``::

    x_p = 1/r * log( 1/S * sum_ij exp(r * x_ij) )

goes from the mean (``r -> 0``) to the max (``r -> inf``). Eq. 2 overflows for large
``r * x``; we compute the equivalent Eq. 3::

    x_p = x* + 1/r * log( 1/S * sum_ij exp(r * (x_ij - x*)) )

with ``x* = max_ij x_ij``. The paper writes ``x* = max |x_ij|``; any ``x*`` is exact in
theory, but the plain maximum is the one that also cannot *underflow* (with very negative
activations ``max |x|`` makes every term ``exp(-large)`` = 0 and the log -inf), so we use it.
Every operation here (amax, exp, mean, log) exports to ONNX.
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
    pooled = torch.log(torch.exp(r * (flat - x_star)).mean(dim=2)) / r
    return x_star.squeeze(2) + pooled


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
