"""``chestx ingest`` and ``chestx pacs``: the hospital database, from DICOM files or a PACS."""

from __future__ import annotations

import typer

from chestx.cli.derive import configured
from chestx.cli.options import Quiet, QuietAll
from chestx.database.ingest_config import IngestConfig
from chestx.database.pacs.pacs_config import QueryConfig, RetrieveConfig, SandboxConfig
from chestx.errors import ChestxError

pacs_app = typer.Typer(help="Find and pull chest radiographs and their SR reports from a "
                            "PACS (DICOMweb or DIMSE).", no_args_is_help=True)


@configured(IngestConfig)
def ingest_command(config: IngestConfig, quiet: QuietAll = False) -> None:
    """Build an NIH-style dataset (images/, Data_Entry_2017.csv) from DICOM files + reports.

    Reports: --reports CSV, else the DICOM SR reports in the folder (joined by study)."""
    from chestx.database.ingest import ingest

    out, dicom_dir = config.out, config.dicom_dir
    if config.deidentify:
        from chestx.database.pacs.deidentify import default_key_path, deidentify_folder

        key_path = config.key or default_key_path(out)
        done = deidentify_folder(dicom_dir, out / "dicom", key_path, progress=not quiet)
        typer.echo(f"de-identified {done.written} files into {out / 'dicom'} (key: "
                   f"{key_path}); {len(done.flagged)} may hold burned-in text, listed in "
                   f"{done.flag_list}")
        dicom_dir = out / "dicom"
    s = ingest(dicom_dir, out, reports=config.reports, workers=config.workers, size=config.size,
               unknown_views=config.unknown_views, pad_square=config.pad_square,
               progress=not quiet)
    typer.echo(f"{s.out}: {s.added} images added, {s.already} already there, "
               f"{s.total_images} in total; {s.scanned} files read")
    typer.echo(f"{s.errors} files not taken, with reasons: {s.out / 'ingest_errors.csv'}")
    if config.reports is None and s.sr_reports:
        typer.echo(f"{s.relabeled} images labeled from {s.sr_reports} DICOM SR reports; "
                   f"{s.reports_unmatched} reports match no image")
    if config.reports is not None:
        typer.echo(f"{s.relabeled} images labeled from reports; {s.reports_unmatched} reports "
                   "match no image")
    typer.echo(f"{s.unlabeled} images without a report (empty Finding Labels): "
               f"{s.out / 'ingest_unlabeled.csv'}")


@pacs_app.command("query")
@configured(QueryConfig)
def pacs_query_command(config: QueryConfig) -> None:
    """Find studies (QIDO-RS or C-FIND) and list them in a CSV for `chestx pacs retrieve`."""
    from chestx.database.pacs.job import run_query

    found = run_query(config)
    typer.echo(f"{len(found.rows)} studies from {found.where} ({found.queries} queries): "
               f"{config.output}")


@pacs_app.command("retrieve")
@configured(RetrieveConfig)
def pacs_retrieve_command(config: RetrieveConfig, quiet: Quiet = False) -> None:
    """Fetch the frontal CR/DX images and SR reports of the listed studies (resumable)."""
    from chestx.database.pacs.job import run_retrieve

    if bool(config.move_dest) != bool(config.store_port):
        raise ChestxError("C-MOVE needs both --move-dest AET and --store-port N")
    done = run_retrieve(config, progress=not quiet)
    s, out = done.summary, config.out
    typer.echo(f"{s.studies_done} of {s.studies} studies in {out} from {done.where}: "
               f"{s.fetched} instances fetched now ({s.bytes / 1e6:.1f} MB in all), "
               f"{s.instances} wanted")
    typer.echo(f"{s.skipped} series/instances not taken (CT, lateral, ...): "
               f"{s.lists / 'retrieve_skipped.csv'}")
    if s.failed:
        typer.echo(f"{len(s.failed)} studies failed, with reasons: "
                   f"{s.lists / 'retrieve_failed.csv'}", err=True)
        for uid, reason in s.failed[:5]:
            typer.echo(f"  {uid}: {reason}", err=True)
    if done.key_path is not None:
        typer.echo(f"de-identified; key and job state in {done.key_path.parent} (keep it apart "
                   f"from the data); {s.flagged} files flagged for burned-in annotation")


@pacs_app.command("sandbox")
@configured(SandboxConfig)
def pacs_sandbox_command(config: SandboxConfig) -> None:
    """A throwaway Orthanc PACS on loopback ports (for trying the pacs commands): upload the
    DICOM files, print its DICOMweb URL and DIMSE address, serve until Ctrl+C. Needs Debian's
    orthanc (and orthanc-dicomweb for DICOMweb)."""
    from chestx.database.pacs.sandbox import run_sandbox

    run_sandbox(config.folder, config.dicom, config.peer,
                announce=lambda line: typer.echo(line))
