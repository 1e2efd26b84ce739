"""Receptive-field centres of a backbone's cells, measured with the gradient of a cell.

:func:`measure_offset` makes the backbone linear with positive weights (:func:`linearized`)
and takes the centroid of the gradient of its middle cell with respect to an input of ones
wide enough that the receptive field's weight is not cut by the edges: cell ``i`` of a
stride-``s`` map is centred at input pixel ``s * i + offset``. The offsets of the usual
backbones are measured once and kept in :data:`OFFSETS_FILE` (a backbone missing there is
measured when first used). :mod:`chestx.localize.registration` draws maps with them.
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

import numpy as np
import torch
from torch import nn

from chestx.models.backbones import DensePool, build_backbone, heatmap_plan

#: The measured offsets, one backbone and stride a line (so that loading a model measures
#: nothing for the backbones listed).
OFFSETS_FILE = Path(__file__).with_name("cell_offsets.tsv")
#: Side the offset is measured at (at least): wider than any backbone's effective receptive
#: field under constant weights, so that its weight is not cut by the input's edges.
MEASURE_SIDE = 512


def linearized(module: nn.Module) -> nn.Module:
    """``module`` made linear with positive weights, in place: every convolution averages its
    inputs (weight ``1 / fan_in``, no bias), BatchNorm is the identity (fresh statistics, eval
    mode) and every max pooling averages the same window instead (the window's centre is
    where its maximum is on average). On positive inputs no ReLU cuts, so the gradient of a
    cell with respect to the input counts every path to it: its receptive field's weight."""
    for name, layer in list(module.named_modules()):
        if isinstance(layer, nn.Conv2d):
            nn.init.constant_(layer.weight, 1.0 / layer.weight[0].numel())
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.modules.batchnorm._BatchNorm):
            layer.reset_parameters()
            layer.reset_running_stats()
        elif isinstance(layer, nn.MaxPool2d):
            parent = module.get_submodule(name.rpartition(".")[0]) if "." in name else module
            setattr(parent, name.rpartition(".")[2], nn.AvgPool2d(
                layer.kernel_size, layer.stride, layer.padding, layer.ceil_mode,
                count_include_pad=False))
        elif isinstance(layer, DensePool):
            layer.mode = "avg"
    return module.eval()


def gradient_centroid(network: nn.Module, side: int) -> tuple[float, float, int]:
    """Centroid ``(row, col)`` of ``|d cell / d input|`` of the middle cell ``(k, k)`` of
    ``network``'s output for a ``(1, 3, side, side)`` input of ones; also ``k``."""
    x = torch.ones(1, 3, side, side, requires_grad=True)
    out = network(x)
    k = out.shape[-1] // 2
    out[:, :, k, k].sum().backward()
    weight = x.grad.abs().sum(dim=(0, 1)).double().numpy()
    total = weight.sum()
    rows = float((weight.sum(axis=1) * np.arange(side)).sum() / total)
    cols = float((weight.sum(axis=0) * np.arange(side)).sum() / total)
    return rows, cols, k


@functools.cache
def measure_offset(backbone: str, output_stride: int = 32) -> float:
    """Receptive-field centre of cell ``i`` minus ``output_stride * i``, in input pixels, of
    backbone ``backbone`` at ``output_stride`` (measured as the module docstring says,
    rounded to 0.5 px; cached per process)."""
    network = linearized(build_backbone(backbone, False, output_stride))
    cells = MEASURE_SIDE // output_stride + 1
    side = output_stride * (cells + 1 - cells % 2)  # an odd number of cells: k in the middle
    rows, cols, k = gradient_centroid(network, side)
    return round(2.0 * ((rows + cols) / 2.0 - output_stride * k)) / 2.0


@functools.lru_cache(maxsize=1)
def read_offsets(path: str | Path = OFFSETS_FILE) -> dict[tuple[str, int], float]:
    """``{(backbone, stride): offset}`` of the offsets file (``#`` lines are comments)."""
    with open(path, newline="", encoding="utf-8") as handle:
        lines = [line for line in handle if line.strip() and not line.startswith("#")]
    return {(row["backbone"], int(row["stride"])): float(row["offset"])
            for row in csv.DictReader(lines, delimiter="\t")}


def cell_offset(backbone: str, output_stride: int) -> float:
    """The offset of :data:`OFFSETS_FILE`, or :func:`measure_offset` for a backbone not there."""
    known = read_offsets().get((backbone, int(output_stride)))
    return known if known is not None else measure_offset(backbone, int(output_stride))


def cell_centres(backbone: str, image_size: int, heatmap_size: int) -> tuple[int, float, float]:
    """Where the cells of a model's ``heatmap_size`` map lie on its ``image_size`` input:
    ``(image_size, stride, offset)``, cell ``i`` centred at input pixel ``stride * i + offset``.

    A backbone run at stride ``s`` with ``side`` cells pooled down to ``S`` (adaptive average
    pooling, ``side / S`` cells a bin) puts bin ``i`` at the mean of its cells' centres.
    """
    plan = heatmap_plan(backbone, image_size, heatmap_size)
    offset = cell_offset(backbone, plan.stride)
    if not plan.pooled:
        return int(image_size), float(plan.stride), offset
    per_bin = plan.side / plan.size
    return int(image_size), plan.stride * per_bin, offset + plan.stride * (per_bin - 1.0) / 2.0
