"""What ``chestx serve`` and ``chestx annotate`` take (no third-party imports: the CLI reads
this module)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chestx.fields import option
from chestx.inference.predict_config import (
    checkpoint_option,
    heatmap_option,
    heatmap_size_option,
    threshold_option,
)
from chestx.trust.trust_config import operating_point_option

#: Default cap on one upload, in MB: large enough for an uncompressed 16-bit 4k x 4k DICOM.
DEFAULT_MAX_UPLOAD_MB = 50.0

#: Addresses only this machine can reach: a server bound elsewhere is announced with a warning.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def host_option() -> Any:
    return option("127.0.0.1", "Address to listen on (default: this machine only).")


def port_option() -> Any:
    return option(8000, "TCP port.")


@dataclass
class ServeConfig:
    """Settings of :func:`chestx.serve.server.load_app` and the server it runs in."""

    checkpoint: Path = checkpoint_option()
    host: str = host_option()
    port: int = port_option()
    threshold: float | None = threshold_option("every finding is shown as positive")
    operating_point: str | None = operating_point_option()
    max_upload_mb: float = option(DEFAULT_MAX_UPLOAD_MB, "Largest upload accepted.")
    heatmap: str = heatmap_option()
    heatmap_size: int | None = heatmap_size_option()


@dataclass
class AnnotateConfig:
    """Settings of :func:`chestx.serve.annotate.load_annotate_app` and its server."""

    data_dir: Path = option(help="Dataset folder in the NIH layout.", argument=True)
    checkpoint: str | None = option(None, "Trained model (RUN/best.pt): its boxes as proposals.")
    annotator: str | None = option(None, "Name saved with each box (default: the login name).")
    host: str = host_option()
    port: int = port_option()


def exposed(host: str) -> bool:
    """Whether a server on ``host`` can be reached from other machines."""
    return host not in LOOPBACK_HOSTS
