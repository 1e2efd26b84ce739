"""Multi-label losses on logits ``(N, C)`` against 0/1 targets ``(N, C)``.

The paper (§3.1) compares Hinge (HL), Euclidean (EL) and Cross-Entropy (CEL) losses and
introduces the weighted CEL (Eq. 1) that balances the rare positives::

    L = beta_P * sum_{y=1} -ln f(x)  +  beta_N * sum_{y=0} -ln(1 - f(x))
    beta_P = (|P| + |N|) / |P|,  beta_N = (|P| + |N|) / |N|

``|P|`` and ``|N|`` are the numbers of 1s and 0s in the batch's label matrix and ``f`` is the
sigmoid. All losses here are divided by the number of label entries ``|P| + |N|`` so that the
learning rate does not depend on the batch size; for W-CEL that gives
``mean_{y=1} -ln f + mean_{y=0} -ln(1 - f)``. A batch without positives (or without
negatives) has an empty sum there; its beta is never formed, so nothing divides by zero.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from chestx.registry import Registry

#: The paper's names (Table 3) for each loss.
PAPER_NAMES = {"hinge": "HL", "euclidean": "EL", "ce": "CEL", "wce": "W-CEL"}


def weighted_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """W-CEL (Eq. 1) with betas counted in this batch, divided by ``|P| + |N|``.

    ``logits``, ``targets``: ``(N, C)``; returns a scalar.
    """
    targets = targets.to(logits.dtype)
    positives = targets.sum()
    negatives = targets.numel() - positives
    # -ln f(x) and -ln(1 - f(x)) from the logits, stable for large |logits|.
    pos_terms = F.softplus(-logits) * targets
    neg_terms = F.softplus(logits) * (1 - targets)
    return pos_terms.sum() / positives.clamp(min=1) + neg_terms.sum() / negatives.clamp(min=1)


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """CEL: binary cross-entropy of ``sigmoid(logits)``, averaged over all ``N x C`` entries."""
    return F.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype))


def hinge(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """HL: ``mean(max(0, 1 - t * logits))`` with ``t = 2y - 1`` in ``{-1, +1}``."""
    signs = 2 * targets.to(logits.dtype) - 1
    return F.relu(1 - signs * logits).mean()


def euclidean(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """EL: ``mean((sigmoid(logits) - y)^2) / 2`` (Caffe's EuclideanLoss on probabilities)."""
    return 0.5 * (torch.sigmoid(logits) - targets.to(logits.dtype)).pow(2).mean()


#: Losses ``(logits (N, C), targets (N, C)) -> scalar`` by name.
LOSSES: Registry[Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = Registry("loss", {
    "hinge": hinge,
    "euclidean": euclidean,
    "ce": cross_entropy,
    "wce": weighted_cross_entropy,
})
LOSS_NAMES = LOSSES.names()


def get_loss(name: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The loss function called ``name`` (``hinge | euclidean | ce | wce``)."""
    return LOSSES.get(name)
