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

A NaN target means "unknown" (an uncertain label under ``--uncertain ignore``, or a finding
the dataset does not label): every loss leaves that entry out of its sums and counts, so
``|P| + |N|`` counts the known entries only. Without NaN the results are unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from chestx.registry import Registry

#: The paper's names (Table 3) for each loss.
PAPER_NAMES = {"hinge": "HL", "euclidean": "EL", "ce": "CEL", "wce": "W-CEL"}


def known(targets: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """``(targets with NaN -> 0, mask 1 where known)``, both of ``dtype``, shape ``(N, C)``."""
    targets = targets.to(dtype)
    mask = ~torch.isnan(targets)
    return torch.where(mask, targets, torch.zeros_like(targets)), mask.to(dtype)


def _masked_mean(terms: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``terms`` over the known entries (0 when none is known)."""
    return (terms * mask).sum() / mask.sum().clamp(min=1)


def weighted_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """W-CEL (Eq. 1) with betas counted in this batch, divided by ``|P| + |N|``.

    ``logits``, ``targets``: ``(N, C)`` (NaN targets left out); returns a scalar.
    """
    targets, mask = known(targets, logits.dtype)
    positives = (targets * mask).sum()
    negatives = mask.sum() - positives
    # -ln f(x) and -ln(1 - f(x)) from the logits, stable for large |logits|.
    pos_terms = F.softplus(-logits) * targets * mask
    neg_terms = F.softplus(logits) * (1 - targets) * mask
    return pos_terms.sum() / positives.clamp(min=1) + neg_terms.sum() / negatives.clamp(min=1)


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """CEL: binary cross-entropy of ``sigmoid(logits)``, averaged over the known entries."""
    if not torch.isnan(targets).any():
        return F.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype))
    targets, mask = known(targets, logits.dtype)
    terms = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    return _masked_mean(terms, mask)


def hinge(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """HL: ``mean(max(0, 1 - t * logits))`` with ``t = 2y - 1`` in ``{-1, +1}``."""
    targets, mask = known(targets, logits.dtype)
    return _masked_mean(F.relu(1 - (2 * targets - 1) * logits), mask)


def euclidean(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """EL: ``mean((sigmoid(logits) - y)^2) / 2`` (Caffe's EuclideanLoss on probabilities)."""
    targets, mask = known(targets, logits.dtype)
    return 0.5 * _masked_mean((torch.sigmoid(logits) - targets).pow(2), mask)


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
