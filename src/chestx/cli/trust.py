"""``chestx calibrate`` and ``chestx card``: the trust record of a checkpoint
(out-of-distribution statistics, temperatures, operating points) and its model card."""

from __future__ import annotations

import typer

from chestx.cli.derive import configured
from chestx.cli.options import Threads, set_threads
from chestx.trust.trust_config import CalibrateConfig, CardConfig


@configured(CalibrateConfig, after={"threads": "device"})
def calibrate_command(config: CalibrateConfig, threads: Threads = 0) -> None:
    """Store out-of-distribution statistics, temperatures and operating points in a checkpoint:
    fitted on its training and validation images, scored on its test images."""
    from chestx.training.trust_fit import calibrate_from, calibration_lines

    set_threads(threads)
    for line in calibration_lines(calibrate_from(config)):
        typer.echo(line)


@configured(CardConfig)
def card_command(config: CardConfig) -> None:
    """The model card: training data, per-finding metrics, calibration, out-of-distribution
    threshold, intended use and limits."""
    from chestx.trust.card import write_card

    card = write_card(config.checkpoint, config.out)
    typer.echo(card if config.out is None else f"wrote {config.out}", nl=config.out is not None)
