"""Fixtures of the data tests: hand-made NIH-style folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

#: The 2017 original form: CRLF, trailing comma on the header only, zero padding, age units.
ORIGINAL_CSV = (
    "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,"
    "View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],\r\n"
    "00000001_000.png,Cardiomegaly,000,00000001,058Y,M,PA,2682,2749,0.143,0.143\r\n"
    "00000001_001.png,Cardiomegaly|Emphysema,001,00000001,058Y,M,PA,2894,2729,0.143,0.143\r\n"
    "00000002_000.png,No Finding,000,00000002,011M,F,AP,2500,2048,0.171,0.171\r\n"
    "00000003_000.png,Hernia|Infiltration,000,00000003,001D,F,PA,2500,2048,0.168,0.168\r\n"
    "00000003_001.png,Effusion|Infiltration|Mass,001,00000003,018M,F,AP,2048,2500,0.168,0.168\r\n"
)

#: The same five images in the v2020 form (LF, plain integers, ages already in years).
V2020_CSV = (
    "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,"
    "View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]\n"
    "00000001_000.png,Cardiomegaly,0,1,58,M,PA,2682,2749,0.143,0.143\n"
    "00000001_001.png,Cardiomegaly|Emphysema,1,1,58,M,PA,2894,2729,0.143,0.143\n"
    "00000002_000.png,No Finding,0,2,0,F,AP,2500,2048,0.171,0.171\n"
    "00000003_000.png,Hernia|Infiltration,0,3,0,F,PA,2500,2048,0.168,0.168\n"
    "00000003_001.png,Effusion|Infiltration|Mass,1,3,1,F,AP,2048,2500,0.168,0.168\n"
)

IMAGE_IDS = ["00000001_000.png", "00000001_001.png", "00000002_000.png", "00000003_000.png",
             "00000003_001.png"]


def _gray_pattern(size: int = 16, offset: int = 0) -> np.ndarray:
    """A uint8 gradient image whose pixel (r, c) is (offset + 8 r + c) % 256."""
    rows, cols = np.mgrid[0:size, 0:size]
    return ((offset + 8 * rows + cols) % 256).astype(np.uint8)


@pytest.fixture
def gray_pattern():
    """``gray_pattern(size=16, offset=0)``: uint8 (size, size), pixel (r, c) = offset + 8r + c."""
    return _gray_pattern


@pytest.fixture
def original_csv() -> str:
    return ORIGINAL_CSV


@pytest.fixture
def v2020_csv() -> str:
    return V2020_CSV


@pytest.fixture
def image_ids() -> list[str]:
    return list(IMAGE_IDS)


@pytest.fixture
def nih_folder(tmp_path: Path) -> Path:
    """A 5-image NIH folder in the 2017 original form, images flat in images/ (16 px)."""
    (tmp_path / "Data_Entry_2017.csv").write_bytes(ORIGINAL_CSV.encode())
    (tmp_path / "images").mkdir()
    for k, name in enumerate(IMAGE_IDS):
        Image.fromarray(_gray_pattern(16, 10 * k)).save(tmp_path / "images" / name)
    (tmp_path / "train_val_list.txt").write_text("00000001_000.png\n00000001_001.png\n"
                                                 "00000003_000.png\n00000003_001.png")
    (tmp_path / "test_list.txt").write_text("00000002_000.png")
    return tmp_path


