"""What ``chestx calibrate`` and ``chestx card`` take, and the defaults of the trust record
every command shares (no third-party imports: the CLI reads this module)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chestx.fields import option

#: The operating point stored when none is asked for: Youden's J on the validation images.
DEFAULT_OPERATING_POINT = "youden"
#: Images scoring above this quantile of the validation images' scores are flagged.
OOD_QUANTILE = 0.99


def operating_point_option(default: str | None = None) -> Any:
    """Which per-finding thresholds a command uses (``None``: the checkpoint's)."""
    tail = "" if default else " (default: the checkpoint's)"
    return option(default, "Per-finding thresholds chosen on the validation images: youden, "
                           f"sensitivity=0.95 or specificity=0.95{tail}.")


@dataclass
class CalibrateConfig:
    """Settings of :func:`chestx.training.trust_fit.calibrate_checkpoint` from the command
    line."""

    checkpoint: Path = option(help="A run's best.pt (updated in place).")
    data: Path = option(help="The dataset it was trained on (NIH layout or a release's root).")
    operating_point: str = operating_point_option(DEFAULT_OPERATING_POINT)
    detector: str | None = option(None, "Out-of-distribution detector: mahalanobis-layers "
                                        "(default), mahalanobis (pooled features only) or "
                                        "energy.")
    quantile: float = option(OOD_QUANTILE, "Flag images scoring above this quantile of the "
                                           "validation images.", min=0.5, max=1.0)
    batch_size: int = option(16, "Images per forward pass.", min=1)
    device: str = option("auto", "auto | cpu | cuda")


@dataclass
class CardConfig:
    """Settings of :func:`chestx.trust.card.write_card` from the command line."""

    checkpoint: Path = option(help="A calibrated checkpoint.")
    out: Path | None = option(None, "Write the card here (Markdown) instead of printing it.")
