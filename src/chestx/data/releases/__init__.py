"""Public chest X-ray releases read as their publishers ship them, in the NIH schema.

One module per release (:mod:`.chexpert`, :mod:`.mimic`, :mod:`.padchest`, :mod:`.vindr`,
:mod:`.rsna`, and :mod:`.nih_release` for NIH's own layout), registered in
:data:`.registry.RELEASES`; :func:`open_dataset` detects the layout and reads it into a
:class:`.base.Release`. Labels map to the NIH findings through ``label_map.tsv``
(:mod:`.labelmap`). No torch and no image decoding here.
"""

from chestx.data.releases.base import DataOptions, Release, data_options, parse_views
from chestx.data.releases.registry import (
    RELEASES,
    detect_release,
    ground_truth_boxes,
    open_dataset,
)

__all__ = ["RELEASES", "DataOptions", "Release", "data_options", "detect_release",
           "ground_truth_boxes", "open_dataset", "parse_views"]
