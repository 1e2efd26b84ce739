"""The one box type: its corners, area and JSON form."""

from __future__ import annotations

import dataclasses

import pytest

from chestx.boxes import Box


def test_box_geometry_and_json_form():
    box = Box(10, 20.5, 30, 4, 0.25, "Mass", "a.png")
    assert box.xywh == (10, 20.5, 30, 4) and box.area == 120
    assert box.to_dict() == {"x": 10.0, "y": 20.5, "w": 30.0, "h": 4.0, "score": 0.25}
    assert Box(1, 2, 3, 4).score == 1.0  # a drawn box


def test_box_is_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Box(1, 2, 3, 4).x = 5
