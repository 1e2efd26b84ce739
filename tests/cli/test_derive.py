"""Options derived from settings dataclasses: spellings, arguments, placement, values."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from chestx.cli import app
from chestx.cli.derive import configured
from chestx.cli.options import Quiet
from chestx.fields import option


@dataclasses.dataclass
class Sample:
    source: Path = option(help="Input file.", argument=True)
    output: Path = option(help="Output file.", flags=("-o", "--output"))
    level: int = option(3, "Level.", min=1, max=5)
    as_json: bool = option(False, "JSON.", flags=("--json",))
    tags: list[str] = option([], "Tag (repeatable).")
    progress: bool = option(True, cli=False)


def _app(seen: list) -> typer.Typer:
    sample_app = typer.Typer()

    @sample_app.command()
    @configured(Sample, after={"quiet": "level"})
    def run(config: Sample, quiet: Quiet = False) -> None:
        """Run."""
        seen.append((config, quiet))

    return sample_app


def test_fields_become_arguments_and_options_with_their_spellings():
    seen: list = []
    result = CliRunner().invoke(_app(seen), ["in.txt", "-o", "out.csv", "--json", "--tags",
                                             "a", "--tags", "b", "-q"])
    assert result.exit_code == 0, result.output
    config, quiet = seen[0]
    assert config == Sample(Path("in.txt"), Path("out.csv"), 3, True, ["a", "b"], False)
    assert quiet is True  # and the config's progress follows it


def test_defaults_ranges_and_factories():
    seen: list = []
    result = CliRunner().invoke(_app(seen), ["in.txt", "--output", "o"])
    assert result.exit_code == 0 and seen[0][0] == Sample(Path("in.txt"), Path("o"))
    assert seen[0][0].tags == [] and seen[0][0].progress is True
    result = CliRunner().invoke(_app([]), ["in.txt", "-o", "o", "--level", "6"])
    assert result.exit_code == 2  # max=5
    result = CliRunner().invoke(_app([]), ["in.txt", "-o", "o", "--no-json"])
    assert result.exit_code == 2  # a switch spelled by `flags` has no --no- form


def test_own_options_are_placed_after_the_named_field(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    text = CliRunner().invoke(_app([]), ["--help"]).output
    order = [text.index(flag) for flag in ("--output", "--level", "--quiet", "--json", "--tags")]
    assert order == sorted(order)


COMMAND_CONFIGS = [
    (["split"], "chestx.data.dataset_config", "SplitConfig"),
    (["stats"], "chestx.data.dataset_config", "StatsConfig"),
    (["cache"], "chestx.data.dataset_config", "CacheConfig"),
    (["boxes", "export-voc"], "chestx.data.dataset_config", "VocExportConfig"),
    (["boxes", "export"], "chestx.data.dataset_config", "BoxesExportConfig"),
    (["boxes", "import-voc"], "chestx.data.dataset_config", "VocImportConfig"),
    (["synth"], "chestx.synth.synth_config", "SynthConfig"),
    (["synth-dicom"], "chestx.synth.synth_config", "SampleDicomConfig"),
    (["label"], "chestx.reports.label_config", "LabelConfig"),
    (["label-eval"], "chestx.reports.label_config", "LabelEvalConfig"),
    (["evaluate"], "chestx.runners.runner_config", "EvaluateConfig"),
    (["label-audit"], "chestx.metrics.metrics_config", "LabelAuditConfig"),
    (["eval-boxes"], "chestx.metrics.metrics_config", "EvalBoxesConfig"),
    (["calibrate"], "chestx.trust.trust_config", "CalibrateConfig"),
    (["card"], "chestx.trust.trust_config", "CardConfig"),
    (["ingest"], "chestx.database.ingest_config", "IngestConfig"),
    (["pacs", "query"], "chestx.database.pacs.pacs_config", "QueryConfig"),
    (["pacs", "retrieve"], "chestx.database.pacs.pacs_config", "RetrieveConfig"),
    (["pacs", "sandbox"], "chestx.database.pacs.pacs_config", "SandboxConfig"),
    (["predict"], "chestx.inference.predict_config", "PredictConfig"),
    (["localize"], "chestx.inference.predict_config", "PredictConfig"),
    (["export"], "chestx.inference.predict_config", "ExportConfig"),
    (["serve"], "chestx.serve.serve_config", "ServeConfig"),
    (["annotate"], "chestx.serve.serve_config", "AnnotateConfig"),
]


@pytest.mark.parametrize("command, module, name", COMMAND_CONFIGS)
def test_each_command_takes_every_field_of_its_settings(command, module, name, monkeypatch):
    import importlib

    cls = getattr(importlib.import_module(module), name)
    monkeypatch.setenv("COLUMNS", "400")
    text = " ".join(CliRunner().invoke(app, [*command, "--help"]).output.split())
    for item in dataclasses.fields(cls):
        if not item.metadata.get("cli", True):
            continue
        if item.metadata.get("argument"):
            shown = item.metadata.get("metavar") or item.name
        else:
            shown = item.metadata.get("flags", ["--" + item.name.replace("_", "-")])[-1]
        for spelling in shown.split("/"):  # "--official/--random": both listed
            assert spelling in text, (command, item.name)
        assert " ".join(item.metadata["help"].split()[:4]) in text, (command, item.name)


def test_every_command_is_checked_above():
    covered = {" ".join(command) for command, _, _ in COMMAND_CONFIGS} | {"train", "reproduce"}
    names = {c.name for c in app.registered_commands}
    names |= {f"{g.name} {c.name}" for g in app.registered_groups
              for c in g.typer_instance.registered_commands}
    assert names == covered
