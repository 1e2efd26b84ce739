"""Registration of class heatmaps to the image: where each cell of an ``S x S`` map lies.

Cell ``i`` of a heatmap is centred where the network looks for it: the centre of its
receptive field on the input, ``stride * i + offset`` (pixel indices of the network's input,
``0`` = the first pixel). A plain image resize (``align_corners=False``) instead puts it at
``stride * i + (stride - 1) / 2``, the middle of the ``i``-th tile: right for a network whose
strided layers all pool 2 x 2 tiles (VGG), half a cell off for one whose strided layers are
zero-padded, centred kernels (ResNet: cell ``i`` at ``stride * i``, so a plain resize draws
every map 15.5 px down and to the right at stride 32).

The offset is *measured* per backbone and output stride, not assumed, by
:mod:`chestx.models.receptive_field` (the gradient of a cell of the backbone made linear);
``chestx.inference.forward.registration_of`` makes the :class:`Registration` of a model.
Measured: ResNets 0 px at strides 32 / 16 / 8; DenseNet-121 14 px (its 2 x 2 average
poolings at strides 4, 8, 16 each move the centre by half their input stride); VGG-16 15.5
px. The transition layer (a 3 x 3 convolution padded by its dilation) does not move it.

:func:`upsample_registered` then resamples the map with each output pixel looking up its
position in cell coordinates (bilinear between cell centres, edge cells held beyond them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


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
