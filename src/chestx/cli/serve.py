"""``chestx serve``, ``chestx annotate`` and ``chestx boxes``: the browser viewer, drawing boxes
by hand, and the box files (BBox_List_2017.csv <-> PASCAL VOC XML)."""

from __future__ import annotations

import typer

from chestx.cli.derive import configured
from chestx.cli.options import check_heatmap
from chestx.cli.output import announce_server
from chestx.data.dataset_config import BoxesExportConfig, VocExportConfig, VocImportConfig
from chestx.serve.serve_config import AnnotateConfig, ServeConfig

boxes_app = typer.Typer(help="Boxes: export a release's boxes as BBox_List_2017.csv; convert "
                        "to and from PASCAL VOC XML files.", no_args_is_help=True)


@configured(ServeConfig)
def serve_command(config: ServeConfig) -> None:
    """Web viewer + JSON API: upload an X-ray, see findings, heatmaps and boxes."""
    from chestx.serve import load_app, run_server

    check_heatmap(config.heatmap)
    app = load_app(config.checkpoint, threshold=config.threshold,
                   max_upload_mb=config.max_upload_mb, heatmap=config.heatmap,
                   heatmap_size=config.heatmap_size, operating_point=config.operating_point)
    typer.echo(app.state.predictor.describe(), err=True)
    announce_server("chestx viewer", config.host, config.port,
                    "upload images and read results")
    run_server(app, host=config.host, port=config.port)


@configured(AnnotateConfig)
def annotate_command(config: AnnotateConfig) -> None:
    """Draw finding boxes in the browser: one VOC XML per box in DATA_DIR/annotations/,
    DATA_DIR/BBox_List_2017.csv regenerated after every save."""
    from chestx.serve import run_server
    from chestx.serve.annotate import load_annotate_app

    app, seeded = load_annotate_app(config.data_dir, checkpoint=config.checkpoint,
                                    annotator=config.annotator)
    if seeded:
        typer.echo(f"wrote the {seeded} boxes of {config.data_dir}/BBox_List_2017.csv as "
                   f"{config.data_dir}/annotations/*.xml", err=True)
    announce_server("chestx annotate", config.host, config.port,
                    "read the images and change the boxes")
    run_server(app, host=config.host, port=config.port)


@boxes_app.command("export-voc")
@configured(VocExportConfig)
def boxes_export_command(config: VocExportConfig) -> None:
    """One PASCAL VOC XML per box: OUT/<image stem>_<finding>_<k>.xml."""
    from chestx.data.voc import export_voc, image_size_reader

    written = export_voc(config.gt, config.out,
                         image_size_reader(config.images, config.image_size))
    typer.echo(f"wrote {len(written)} VOC files to {config.out}")


@boxes_app.command("export")
@configured(BoxesExportConfig)
def boxes_release_export_command(config: BoxesExportConfig) -> None:
    """A release's boxes in the BBox_List_2017.csv layout (Image Index = file name; x, y, w,
    h in stored pixels; a reader column with --readers all)."""
    from chestx.data.releases import data_options
    from chestx.data.releases.export import export_boxes

    path, count = export_boxes(config.data, config.out, data_options(config, views="all"))
    typer.echo(f"wrote {count} boxes to {path}")


@boxes_app.command("import-voc")
@configured(VocImportConfig)
def boxes_import_command(config: VocImportConfig) -> None:
    """BBox_List_2017.csv (NIH format) from a folder of VOC XML files; bad files are listed."""
    from chestx.data.voc import import_voc

    count, bad = import_voc(config.folder, config.out)
    for path, reason in bad:
        typer.echo(f"skipped {path}: {reason}", err=True)
    typer.echo(f"wrote {count} boxes to {config.out}"
               + (f" ({len(bad)} files skipped)" if bad else ""))
