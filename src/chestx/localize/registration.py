"""Registration of class heatmaps to the image: where each cell of an ``S x S`` map lies.

Cell ``i`` of a heatmap is centred where the network looks for it: the centre of its
receptive field on the input, ``stride * i + offset`` (pixel indices of the network's input,
``0`` = the first pixel). A plain image resize (``align_corners=False``) instead puts it at
``stride * i + (stride - 1) / 2``, the middle of the ``i``-th tile: right for a network whose
strided layers all pool 2 x 2 tiles (VGG), half a cell off for one whose strided layers are
zero-padded, centred kernels (ResNet: cell ``i`` at ``stride * i``, so a plain resize draws
every map 15.5 px down and to the right at stride 32).

The offset is *measured*, per backbone and output stride, rather than assumed:
:func:`measure_offset` gives the backbone constant positive weights (BatchNorm the identity)
and random positive inputs, so that every path from an input pixel to a cell counts with a
positive weight, and takes the centroid of the gradient of the middle cell with respect to
the input (on an input wide enough that the receptive field's weight does not reach the
edges). Measured: ResNets 0 px at strides 32 / 16 / 8; DenseNet-121 14 px (its 2 x 2 average
poolings at strides 4, 8, 16 each move the centre by half their input stride); VGG-16 15.5
px. The transition layer (a 3 x 3 convolution padded by its dilation) does not move it.

:func:`upsample_registered` then resamples the map with each output pixel looking up its
position in cell coordinates (bilinear between cell centres, edge cells held beyond them).
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from chestx.models.backbones import DensePool, build_backbone, heatmap_plan
from chestx.models.net import ChestXNet

#: The measured offsets, one backbone and stride a line (so that loading a model measures
#: nothing for the backbones listed).
OFFSETS_FILE = Path(__file__).with_name("cell_offsets.tsv")
#: Side the offset is measured at (at least): wider than any backbone's effective receptive
#: field under constant weights, so that its weight is not cut by the input's edges.
MEASURE_SIDE = 512


@dataclass(frozen=True)
class Registration:
    """Cell ``i`` of a heatmap covering an ``input_size`` px input is centred at input pixel
    ``stride * i + offset`` (both in input pixels; the same along rows and columns)."""

    input_size: int
    stride: float
    offset: float

    @classmethod
    def tiles(cls, input_size: int, cells: int) -> Registration:
        """The plain resize's placement: ``cells`` equal tiles, each cell at its tile's middle."""
        stride = input_size / cells
        return cls(int(input_size), stride, (stride - 1.0) / 2.0)

    def cell_coordinates(self, size: int) -> np.ndarray:
        """Positions, in cells, of the ``size`` pixel centres of an image of side ``size``
        (the network's input resized to it): float64 ``(size,)``."""
        pixels = (np.arange(size) + 0.5) * (self.input_size / size) - 0.5
        return (pixels - self.offset) / self.stride

    def to_dict(self) -> dict:
        return {"input_size": self.input_size, "stride": self.stride, "offset": self.offset}


def _interpolation_matrix(coordinates: np.ndarray, cells: int) -> np.ndarray:
    """Linear interpolation weights ``(len(coordinates), cells)``; positions outside
    ``[0, cells - 1]`` take the edge cell's value."""
    matrix = np.zeros((len(coordinates), cells), dtype=np.float32)
    if cells == 1:
        matrix[:, 0] = 1.0
        return matrix
    u = np.clip(coordinates, 0.0, cells - 1.0)
    low = np.minimum(np.floor(u).astype(int), cells - 2)
    frac = (u - low).astype(np.float32)
    rows = np.arange(len(u))
    matrix[rows, low] = 1.0 - frac
    matrix[rows, low + 1] += frac
    return matrix


def upsample_registered(heatmap: np.ndarray | torch.Tensor, size: tuple[int, int],
                        registration: Registration) -> np.ndarray:
    """Bilinear upsampling of ``(S, S)`` (or ``(C, S, S)``) to ``size = (H, W)``, each cell
    drawn at its receptive field's centre. Returns float32 ``(H, W)`` (or ``(C, H, W)``).

    The image of ``size`` is taken to be the network's input resized (stretched) to it.
    """
    maps = np.asarray(heatmap.detach().cpu() if isinstance(heatmap, torch.Tensor) else heatmap,
                      dtype=np.float32)
    height, width = (int(s) for s in size)
    along_y = _interpolation_matrix(registration.cell_coordinates(height), maps.shape[-2])
    along_x = _interpolation_matrix(registration.cell_coordinates(width), maps.shape[-1])
    return np.einsum("hi,...ij,wj->...hw", along_y, maps, along_x).astype(np.float32)


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


def model_registration(backbone: str, image_size: int, heatmap_size: int) -> Registration:
    """Where the cells of a model's ``heatmap_size`` map lie on its ``image_size`` input.

    A backbone run at stride ``s`` with ``side`` cells pooled down to ``S`` (adaptive average
    pooling, ``side / S`` cells a bin) puts bin ``i`` at the mean of its cells' centres.
    """
    plan = heatmap_plan(backbone, image_size, heatmap_size)
    offset = cell_offset(backbone, plan.stride)
    if not plan.pooled:
        return Registration(int(image_size), float(plan.stride), offset)
    per_bin = plan.side / plan.size
    return Registration(int(image_size), plan.stride * per_bin,
                        offset + plan.stride * (per_bin - 1.0) / 2.0)


def registration_of(model: nn.Module) -> Registration | None:
    """:func:`model_registration` of a :class:`~chestx.models.ChestXNet` from its config;
    ``None`` for any other module (its maps are drawn as equal tiles)."""
    if not isinstance(model, ChestXNet):
        return None
    config = model.config
    return model_registration(config.backbone, int(config.image_size),
                              int(config.heatmap_size))
