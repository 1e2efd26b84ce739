"""read_gray / to_tensor: every PNG mode to one uint8 channel, errors by name, resizing."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
import torch
from PIL import Image

from chestx.data.images import integer_to_uint8, read_gray
from chestx.data.tensors import to_tensor
from chestx.errors import ChestxError


def test_mode_l_is_returned_unchanged(tmp_path, gray_pattern):
    gray = gray_pattern(16)
    Image.fromarray(gray, mode="L").save(tmp_path / "a.png")
    out = read_gray(tmp_path / "a.png")
    assert out.dtype == np.uint8 and out.shape == (16, 16)
    np.testing.assert_array_equal(out, gray)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "LA", "P"])
def test_colour_and_alpha_modes_give_the_gray_values(tmp_path, mode, gray_pattern):
    gray = gray_pattern(16)
    Image.fromarray(gray, mode="L").convert(mode).save(tmp_path / "a.png")
    with Image.open(tmp_path / "a.png") as check:
        assert check.mode == mode  # really stored in that mode
    # R = G = B = gray, so the luminance is the gray value; alpha is dropped
    np.testing.assert_array_equal(read_gray(tmp_path / "a.png"), gray)


def test_rgb_luminance_weights(tmp_path):
    rgb = np.zeros((4, 4, 3), dtype=np.uint8)
    rgb[..., 0] = 200  # pure red 200 -> ITU-R 601-2 luma 200 * 299/1000 = 59.8 -> 60
    Image.fromarray(rgb, mode="RGB").save(tmp_path / "red.png")
    assert set(np.unique(read_gray(tmp_path / "red.png"))) == {60}


def test_16_bit_png_full_range_divides_by_257(tmp_path, gray_pattern):
    gray = gray_pattern(16)
    wide = gray.astype(np.uint16) * 257  # 0..65535 range
    wide[0, 0] = 65535
    Image.fromarray(wide).save(tmp_path / "wide.png")
    with Image.open(tmp_path / "wide.png") as check:
        assert check.mode.startswith("I")
    out = read_gray(tmp_path / "wide.png")
    expected = gray.copy()
    expected[0, 0] = 255
    np.testing.assert_array_equal(out, expected)


def test_12_bit_values_scale_by_4095():
    values = np.array([[0, 4095], [2048, 1000]], dtype=np.uint16)
    # 12 bits hold 4095: 2048 * 255 / 4095 = 127.53 -> 128, 1000 * 255 / 4095 = 62.27 -> 62
    np.testing.assert_array_equal(integer_to_uint8(values), [[0, 255], [128, 62]])


def test_8_bit_values_in_16_bit_file_stay(tmp_path, gray_pattern):
    gray = gray_pattern(16)
    Image.fromarray(gray.astype(np.uint16)).save(tmp_path / "i16.png")
    np.testing.assert_array_equal(read_gray(tmp_path / "i16.png"), gray)


def test_mode_i_signed_is_shifted_to_zero(tmp_path):
    values = np.array([[-100, 155], [0, 55]], dtype=np.int32)
    Image.fromarray(values, mode="I").save(tmp_path / "i.tif")
    np.testing.assert_array_equal(read_gray(tmp_path / "i.tif"), [[0, 255], [100, 155]])


def test_jpeg(tmp_path):
    flat = np.full((16, 16), 120, dtype=np.uint8)
    Image.fromarray(flat).save(tmp_path / "a.jpg", quality=95)
    out = read_gray(tmp_path / "a.jpg")
    assert out.shape == (16, 16) and np.abs(out.astype(int) - 120).max() <= 2


def test_missing_image_is_named(tmp_path):
    with pytest.raises(ChestxError, match="nope.png: image not found"):
        read_gray(tmp_path / "nope.png")


def test_corrupt_and_truncated_images_are_named(tmp_path, gray_pattern):
    (tmp_path / "junk.png").write_bytes(b"this is not a png")
    with pytest.raises(ChestxError, match="junk.png: cannot read image"):
        read_gray(tmp_path / "junk.png")
    Image.fromarray(gray_pattern(64)).save(tmp_path / "full.png")
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ChestxError, match="cut.png: cannot read image"):
        read_gray(tmp_path / "cut.png")


def _fake_dicom_module(monkeypatch):
    calls = []
    module = types.ModuleType("chestx.data.dicom")

    def read_dicom_gray(path):
        calls.append(path)
        return np.full((3, 5), 7, dtype=np.uint8)

    module.read_dicom_gray = read_dicom_gray
    monkeypatch.setitem(sys.modules, "chestx.data.dicom", module)
    return calls


def test_dicom_is_delegated_by_suffix_and_by_magic(tmp_path, monkeypatch):
    calls = _fake_dicom_module(monkeypatch)
    (tmp_path / "a.dcm").write_bytes(b"\0" * 10)
    (tmp_path / "noext").write_bytes(b"\0" * 128 + b"DICM" + b"\0" * 8)
    assert read_gray(tmp_path / "a.dcm").shape == (3, 5)
    assert read_gray(tmp_path / "noext").shape == (3, 5)
    assert [p.name for p in calls] == ["a.dcm", "noext"]


def test_to_tensor_keeps_size_and_scales_to_unit_range():
    gray = np.array([[0, 255], [51, 102]], dtype=np.uint8)
    tensor = to_tensor(gray, None)
    assert tensor.shape == (1, 2, 2) and tensor.dtype == torch.float32
    np.testing.assert_allclose(tensor[0].numpy(), [[0.0, 1.0], [0.2, 0.4]], atol=1e-6)


def test_to_tensor_resizes_with_antialiasing():
    stripes = np.zeros((64, 64), dtype=np.uint8)
    stripes[:, ::4] = 255  # every 4th column white
    out = to_tensor(stripes, 16)
    assert out.shape == (1, 16, 16)
    # antialiased 4x downsampling averages the stripes to 1/4 (plain bilinear would sample
    # between columns 4k+1 and 4k+2 and see only black); edges see the border, skip them
    np.testing.assert_allclose(out[:, 1:-1, 1:-1].numpy(), 0.25, atol=0.03)
    flat = to_tensor(np.full((30, 50), 77, dtype=np.uint8), 8)  # non-square is stretched
    assert flat.shape == (1, 8, 8)
    np.testing.assert_allclose(flat.numpy(), 77 / 255, atol=1e-5)


def test_to_tensor_rejects_non_uint8():
    with pytest.raises(ValueError):
        to_tensor(np.zeros((4, 4), dtype=np.float32), None)
    with pytest.raises(ValueError):
        to_tensor(np.zeros((4, 4, 3), dtype=np.uint8), None)
