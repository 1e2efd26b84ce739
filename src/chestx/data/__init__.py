"""The NIH ChestX-ray14 layout and what turns its files into tensors: labels, splits,
statistics, boxes, image files (PNG and DICOM pixels), the cache and torch Datasets.

Names are loaded on first use, so ``import chestx.data`` stays light and never pulls in the
DICOM or cache modules before they are needed.
"""

from __future__ import annotations

from chestx.exports import lazy_exports

_EXPORTS = {
    "read_gray": "images",
    "to_tensor": "tensors",
    "DATA_ENTRY_COLUMNS": "nih",
    "NIHDataset": "datasets",
    "find_images": "nih",
    "read_bbox_list": "bbox_csv",
    "read_data_entry": "nih",
    "read_split_list": "nih",
    "load_split": "splits",
    "make_split": "splits",
    "dataset_stats": "stats",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
