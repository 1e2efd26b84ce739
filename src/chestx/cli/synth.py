"""``chestx synth`` and ``chestx synth-dicom``: synthetic data to try every stage on."""

from __future__ import annotations

import typer

from chestx.cli.derive import configured
from chestx.synth.synth_config import SampleDicomConfig, SynthConfig


@configured(SynthConfig)
def synth_command(config: SynthConfig) -> None:
    """Write synthetic chest phantoms with planted findings in the NIH ChestX-ray14 layout."""
    from chestx.synth.cohort import synthesize

    path = synthesize(config.out, n=config.n, size=config.size, seed=config.seed,
                      workers=config.workers, progress=True)
    typer.echo(f"wrote {config.n} images ({config.size} px) with Data_Entry_2017.csv, "
               f"BBox_List_2017.csv and split lists to {path}")


@configured(SampleDicomConfig)
def synth_dicom_command(config: SampleDicomConfig) -> None:
    """Write sample hospital DICOM files (and reports.csv) to try `chestx ingest` and the PACS
    commands on: several views, encodings and broken files, as a real export holds."""
    from chestx.synth.dicoms import make_sample_folder

    kinds = make_sample_folder(config.out, config.patients, config.size, config.seed, config.sr)
    typer.echo(f"{config.out}: {len(kinds['frontal'])} frontal, {len(kinds['lateral'])} "
               f"lateral, {len(kinds['broken'])} broken files; reports in "
               f"{config.out / 'reports.csv'}")
