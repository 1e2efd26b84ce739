"""Export a trained ChestXNet to ONNX or TorchScript, with logits AND heatmaps as outputs.

The exported graph is the whole network as chestx runs it: input ``images`` float32
``(N, 1, S, S)`` in ``[0, 1]`` (S = the checkpoint's image size; the model's own
normalization and 1 -> 3 channel step are inside the graph), outputs ``logits (N, C)`` and
``heatmaps (N, C, s, s)``. The batch axis is dynamic. The checkpoint's config (classes, image
size, ...) travels with the file: ONNX ``metadata_props`` / TorchScript extra file
``chestx_config.json``.

>>> export_model("runs/demo/best.pt", "onnx", "model.onnx")
>>> import onnxruntime as ort
>>> logits, heatmaps = ort.InferenceSession("model.onnx").run(None, {"images": batch})
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from chestx.atomic import atomic_path
from chestx.errors import ChestxError
from chestx.models import load_checkpoint

FORMATS = ("onnx", "torchscript")
INPUT_NAME = "images"
OUTPUT_NAMES = ("logits", "heatmaps")
CONFIG_KEY = "chestx_config"
TORCHSCRIPT_CONFIG_FILE = "chestx_config.json"

#: ONNX opset: supported by the onnxruntime chestx pins and by torch's dynamo exporter.
DEFAULT_OPSET = 18


class HeatmapGraph(nn.Module):
    """``images (N, 1, S, S)`` -> ``(logits (N, C), heatmaps (N, C, s, s))``: the exported
    function, i.e. ``model.forward_heatmaps`` as a plain ``forward``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, heatmaps = self.model.forward_heatmaps(images)
        return logits, heatmaps


def config_json(model: nn.Module) -> str:
    """``model.config`` as JSON (values JSON cannot hold are written as strings)."""
    return json.dumps(model.config.to_dict(), default=str, sort_keys=True)


def example_input(model: nn.Module, batch: int = 2) -> torch.Tensor:
    """A deterministic ``(batch, 1, S, S)`` input in [0, 1] at the model's image size."""
    size = int(model.config.image_size)
    generator = torch.Generator().manual_seed(0)
    return torch.rand(batch, 1, size, size, generator=generator)


def export_onnx(model: nn.Module, out: str | os.PathLike, opset: int = DEFAULT_OPSET) -> Path:
    """Write ``model`` to ``out`` as a self-contained ONNX file (atomic); return the path."""
    import onnx

    out = Path(out)
    graph = HeatmapGraph(model.eval()).eval()
    example = example_input(model)
    batch = torch.export.Dim("batch", min=1, max=4096)
    with atomic_path(out) as tmp, warnings.catch_warnings(), _quiet():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            graph, (example,), input_names=[INPUT_NAME], output_names=list(OUTPUT_NAMES),
            opset_version=opset, dynamo=True, dynamic_shapes={"images": {0: batch}},
            external_data=False, verbose=False)
        proto = program.model_proto
        entry = proto.metadata_props.add()
        entry.key, entry.value = CONFIG_KEY, config_json(model)
        onnx.checker.check_model(proto)
        onnx.save_model(proto, str(tmp))
    return out


def export_torchscript(model: nn.Module, out: str | os.PathLike) -> Path:
    """Write ``model`` to ``out`` as a traced TorchScript module (atomic); return the path."""
    out = Path(out)
    graph = HeatmapGraph(model.eval()).eval()
    example = example_input(model)
    with torch.no_grad(), warnings.catch_warnings(), atomic_path(out) as tmp:
        warnings.simplefilter("ignore")  # torch.jit's own deprecation notices
        traced = torch.jit.freeze(torch.jit.trace(graph, (example,), check_trace=False))
        torch.jit.save(traced, str(tmp),
                       _extra_files={TORCHSCRIPT_CONFIG_FILE: config_json(model)})
    return out


def export_model(checkpoint: str | os.PathLike, fmt: str, out: str | os.PathLike,
                 opset: int = DEFAULT_OPSET) -> Path:
    """Load ``checkpoint`` and export it as ``fmt`` (``onnx`` or ``torchscript``) to ``out``."""
    if fmt not in FORMATS:
        raise ChestxError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if not Path(checkpoint).is_file():
        raise ChestxError(f"{checkpoint}: checkpoint not found")
    model = load_checkpoint(checkpoint, map_location="cpu")
    if fmt == "onnx":
        return export_onnx(model, out, opset=opset)
    return export_torchscript(model, out)


def read_onnx_config(path: str | os.PathLike) -> dict:
    """The chestx config stored in an exported ONNX file's metadata."""
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    entries = {entry.key: entry.value for entry in proto.metadata_props}
    return json.loads(entries.get(CONFIG_KEY, "{}"))


def load_torchscript(path: str | os.PathLike) -> tuple[torch.jit.ScriptModule, dict]:
    """An exported TorchScript file -> ``(module, chestx config)``."""
    files = {TORCHSCRIPT_CONFIG_FILE: ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        module = torch.jit.load(str(path), map_location="cpu", _extra_files=files)
    return module, json.loads(files[TORCHSCRIPT_CONFIG_FILE] or "{}")


@contextlib.contextmanager
def _quiet():
    """Silence the exporter's progress chatter on stdout (the CLI prints its own line)."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield
