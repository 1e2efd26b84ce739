"""The shape of the code base: declared layers (import-linter), no module cycles, no
imports of chestx modules inside functions outside the CLI, CSV-only commands without torch.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "chestx"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

#: In-function imports kept for start-up time, not to dodge a cycle (the cycle test below
#: still sees them): module -> the chestx module it imports lazily.
LAZY_FOR_START_UP = {
    ("chestx.data.images", "chestx.data.dicom"),  # pydicom only for DICOM files
    ("chestx.database.report_labels", "chestx.reports"),  # spaCy only when reports are labeled
    # pynetdicom only for DIMSE, so a DICOMweb retrieve starts without it
    ("chestx.database.pacs.retrieve", "chestx.database.pacs.storescp"),
    ("chestx.database.pacs.transports", "chestx.database.pacs.dicomweb"),
    ("chestx.database.pacs.transports", "chestx.database.pacs.dimse"),
}


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    return subprocess.run([str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"),
                           "--no-cache"], cwd=root, env=env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("chestx", cache_dir=None)


def test_layers_are_kept():
    result = _lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module, wrong", [
    ("models/losses.py", "import chestx.inference.forward\n"),  # a lower layer imports up
    ("reports/negex.py", "import chestx.models.pooling\n"),  # independent packages meet
])
def test_a_wrong_import_breaks_the_contracts(tmp_path, module, wrong):
    shutil.copytree(PACKAGE, tmp_path / "src" / "chestx",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    assert _lint_imports(tmp_path).returncode == 0  # the copy itself is clean
    with open(tmp_path / "src" / "chestx" / module, "a", encoding="utf-8") as handle:
        handle.write(wrong)
    result = _lint_imports(tmp_path)
    assert result.returncode != 0 and "BROKEN" in result.stdout
    importer = "chestx." + module.removesuffix(".py").replace("/", ".")
    assert f"{importer} -> {wrong.split()[1]}" in result.stdout


def test_no_module_imports_itself_back(graph):
    # an import a -> b closes a cycle exactly when b reaches a again
    cycles = sorted(
        f"{importer} -> {imported}"
        for importer in graph.modules
        for imported in graph.find_modules_directly_imported_by(importer)
        if graph.chain_exists(imported, importer)
    )
    assert cycles == []


def _function_imports(path: Path) -> list[tuple[int, str]]:
    """``(line, chestx module)`` of every import of a chestx module inside a function."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.ImportFrom) and inner.level == 0 and inner.module:
                names = [inner.module]
            elif isinstance(inner, ast.Import):
                names = [alias.name for alias in inner.names]
            else:
                continue
            found += [(inner.lineno, n) for n in names if n.split(".")[0] == "chestx"]
    return found


def test_no_chestx_imports_inside_functions_outside_the_cli():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if module == "chestx.cli" or module.startswith("chestx.cli."):
            continue  # the CLI imports each command's package when it runs (start-up time)
        offenders += [f"{module}:{line} imports {name}" for line, name in _function_imports(path)
                      if (module, name) not in LAZY_FOR_START_UP]
    assert offenders == []


def test_the_function_import_scan_finds_one(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import os\n\ndef f():\n    from chestx.models import net\n"
                      "    import numpy\n    return net\n")
    assert _function_imports(sample) == [(4, "chestx.models")]


@pytest.mark.parametrize("command", ["stats", "split"])
def test_csv_only_commands_do_not_import_torch(tmp_path, command):
    csv = tmp_path / "Data_Entry_2017.csv"
    csv.write_text(
        "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,"
        "View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]\n"
        "00000001_000.png,Mass,0,1,58,M,PA,1024,1024,0.143,0.143\n"
        "00000002_000.png,No Finding,0,2,40,F,AP,1024,1024,0.143,0.143\n"
        "00000003_000.png,Effusion|Mass,0,3,63,M,PA,1024,1024,0.143,0.143\n")
    args = ["--data", str(csv)] + (["--out", str(tmp_path / "split")] if command == "split"
                                   else [])
    code = ("import sys\nfrom chestx.cli import main\n"
            f"status = main({[command, *args]!r})\n"
            "print(status, 'torch' in sys.modules)\n")
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, check=True)
    assert result.stdout.splitlines()[-1] == "0 False", result.stdout + result.stderr
