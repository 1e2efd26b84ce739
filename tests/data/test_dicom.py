"""The DICOM pixel path against hand-computed windowing (DICOM PS3.3 C.11.2.1.2).

Files are written with pydicom by :mod:`chestx.synth.dicoms` (``write_dicom``), in
tmp_path; every expected value below is computed here, independently of chestx.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image

from chestx.data.dicom import pixel_spacing, read_dicom, read_dicom_gray
from chestx.errors import ChestxError
from chestx.synth.dicoms import write_dicom


def linear_window(x: np.ndarray, center: float, width: float) -> np.ndarray:
    """PS3.3 C.11.2.1.2.1 with y in [0, 255], rounded to the nearest integer."""
    x = np.asarray(x, dtype=np.float64)
    c, w = center - 0.5, width - 1.0
    y = ((x - c) / w + 0.5) * 255.0
    y = np.where(x <= c - w / 2, 0.0, np.where(x > c + w / 2, 255.0, y))
    return np.rint(y).astype(np.uint8)


def ramp(height: int, width: int, low: int, high: int, dtype) -> np.ndarray:
    """(H, W) values spread evenly from ``low`` to ``high`` in row-major order."""
    return np.linspace(low, high, height * width).round().astype(dtype).reshape(height, width)


def test_window_12bit_monochrome2_at_known_pixels(tmp_path):
    stored = ramp(48, 64, 0, 4095, np.uint16)  # non-square: 48 rows, 64 columns
    stored[0, :9] = [0, 1535, 1536, 1537, 2048, 2300, 2559, 2560, 4095]
    path = write_dicom(tmp_path / "a.dcm", stored, bits_stored=12, window=(2048, 1024))
    gray = read_dicom_gray(path)
    assert gray.dtype == np.uint8 and gray.shape == (48, 64)
    # c' = 2047.5, w' = 1023: x <= 1536 -> 0; x > 2559 -> 255; else ((x-c')/w'+.5)*255
    # 1537 -> 0.249 -> 0; 2048 -> 127.62 -> 128; 2300 -> 190.44 -> 190; 2559 -> 255
    assert gray[0, :9].tolist() == [0, 0, 0, 0, 128, 190, 255, 255, 255]
    np.testing.assert_array_equal(gray, linear_window(stored, 2048, 1024))


def test_monochrome1_is_inverted(tmp_path):
    stored = ramp(32, 40, 0, 4095, np.uint16)
    stored[0, :3] = [1000, 2300, 3000]
    path = write_dicom(tmp_path / "m1.dcm", stored, bits_stored=12, window=(2048, 1024),
                       photometric="MONOCHROME1")
    gray = read_dicom_gray(path)
    assert gray[0, :3].tolist() == [255, 255 - 190, 0]
    np.testing.assert_array_equal(gray, 255 - linear_window(stored, 2048, 1024))


def test_signed_16bit_with_rescale_slope_and_intercept(tmp_path):
    stored = ramp(40, 40, -1000, 1000, np.int16)
    stored[0, :4] = [-1000, 0, 100, 1000]
    path = write_dicom(tmp_path / "s.dcm", stored, slope=2.0, intercept=-100.0, window=(0, 400))
    gray = read_dicom_gray(path)
    values = 2.0 * stored.astype(np.float64) - 100.0  # the Modality LUT by hand
    # modality values -2100, -100, 100, 1900; window c'=-0.5 w'=399:
    # -100 -> ((-99.5/399)+.5)*255 = 63.91 -> 64; 100 -> ((100.5/399)+.5)*255 = 191.73 -> 192
    assert gray[0, :4].tolist() == [0, 64, 192, 255]
    np.testing.assert_array_equal(gray, linear_window(values, 0, 400))


def test_signed_12bit_in_16_bits(tmp_path):
    stored = ramp(32, 32, -2048, 2047, np.int16)
    stored[0, :3] = [-2048, 0, 2047]
    path = write_dicom(tmp_path / "s12.dcm", stored, bits_stored=12, window=(0, 4096))
    gray = read_dicom_gray(path)
    # c' = -0.5, w' = 4095: 0 -> (0.5/4095 + .5)*255 = 127.53 -> 128
    assert gray[0, :3].tolist() == [0, 128, 255]
    np.testing.assert_array_equal(gray, linear_window(stored, 0, 4096))


def test_no_window_is_min_max_of_modality_values(tmp_path):
    stored = ramp(30, 50, 1000, 3000, np.uint16)
    stored[0, :3] = [1000, 1500, 3000]
    path = write_dicom(tmp_path / "n.dcm", stored, slope=0.5, intercept=10.0)
    gray = read_dicom_gray(path)
    values = 0.5 * stored + 10.0  # 510 .. 1510
    expected = np.rint((values - 510.0) / 1000.0 * 255.0).astype(np.uint8)
    assert gray[0, :3].tolist() == [0, 64, 255]  # 1500 -> 760 -> 0.25*255 = 63.75 -> 64
    np.testing.assert_array_equal(gray, expected)


def test_first_of_several_windows_is_used(tmp_path):
    stored = ramp(16, 16, 0, 4095, np.uint16)
    path = write_dicom(tmp_path / "w.dcm", stored, bits_stored=12,
                       window=[(1000, 500), (3000, 2000)])
    np.testing.assert_array_equal(read_dicom_gray(path), linear_window(stored, 1000, 500))


def test_sigmoid_voi_function(tmp_path):
    stored = ramp(16, 16, 0, 4095, np.uint16)
    path = write_dicom(tmp_path / "sig.dcm", stored, bits_stored=12, window=(2000, 800),
                       voi_function="SIGMOID")
    expected = 255.0 / (1.0 + np.exp(-4.0 * (stored - 2000.0) / 800.0))  # PS3.3 C.11.2.1.3.1
    got = read_dicom_gray(path).astype(int)
    assert np.abs(got - np.rint(expected)).max() <= 1


def test_voi_lut_sequence_takes_precedence_over_window(tmp_path):
    stored = ramp(16, 16, 0, 300, np.uint16)
    stored[0, :4] = [0, 100, 105, 300]
    entries = [250 - 10 * i for i in range(26)]  # decreasing 8-bit LUT for 100..125
    path = write_dicom(tmp_path / "lut.dcm", stored, voi_lut=(100, 8, entries),
                       window=(150, 100))
    gray = read_dicom_gray(path)
    # below the first mapped value -> first entry; above the last -> last entry;
    # LUT output range 0..2**8-1 maps to 0..255 unchanged
    assert gray[0, :4].tolist() == [250, 250, 200, 0]
    lut = np.array(entries)
    expected = lut[np.clip(stored.astype(int) - 100, 0, len(lut) - 1)]
    np.testing.assert_array_equal(gray, expected)


@pytest.mark.parametrize("syntax", ["rle", "jpeg2000"])
def test_lossless_compressed_files_decode_to_the_same_pixels(tmp_path, syntax):
    stored = ramp(48, 64, 0, 4095, np.uint16)
    path = write_dicom(tmp_path / f"{syntax}.dcm", stored, bits_stored=12, window=(2048, 1024),
                       syntax=syntax)
    syntax_uid = pydicom.dcmread(path).file_meta.TransferSyntaxUID
    assert syntax_uid.is_compressed
    np.testing.assert_array_equal(read_dicom_gray(path), linear_window(stored, 2048, 1024))


def test_rle_signed_monochrome1(tmp_path):
    stored = ramp(20, 30, -500, 500, np.int16)
    path = write_dicom(tmp_path / "rle_s.dcm", stored, window=(0, 600), syntax="rle",
                       photometric="MONOCHROME1")
    np.testing.assert_array_equal(read_dicom_gray(path), 255 - linear_window(stored, 0, 600))


def test_jpeg_baseline_matches_an_independent_decoder(tmp_path):
    stored = (ramp(48, 64, 0, 255, np.uint8) // 8 * 8).astype(np.uint8)
    path = write_dicom(tmp_path / "j.dcm", stored, window=(128, 256), syntax="jpeg")
    # with c=128, w=256 the 8-bit window is the identity: output = the decoded JPEG
    frame = pydicom.encaps.generate_frames(pydicom.dcmread(path).PixelData)
    reference = np.asarray(Image.open(io.BytesIO(next(frame))), dtype=int)
    got = read_dicom_gray(path).astype(int)
    assert got.shape == (48, 64)
    assert np.abs(got - reference).max() <= 2  # two JPEG decoders may differ by rounding
    assert np.abs(got - stored.astype(int)).mean() < 3


def test_pixel_spacing_is_x_then_y_and_metadata(tmp_path):
    path = write_dicom(tmp_path / "sp.dcm", np.zeros((8, 12), np.uint16), spacing=(0.2, 0.1),
                       view="AP", patient_id="X1", accession="A9")
    image = read_dicom(path)
    assert image.pixel_spacing == (0.1, 0.2)  # DICOM stores (row, column) = (y, x)
    assert (image.rows, image.columns) == (8, 12)
    assert image.header["ViewPosition"] == "AP" and image.header["AccessionNumber"] == "A9"
    assert image.pixels.shape == (8, 12) and not image.pixels.any()  # flat image -> zeros
    ds = pydicom.dcmread(path)
    del ds.PixelSpacing
    ds.ImagerPixelSpacing = [0.3, 0.4]
    assert pixel_spacing(ds) == (0.4, 0.3)
    del ds.ImagerPixelSpacing
    assert pixel_spacing(ds) is None


def test_file_without_preamble_is_read(tmp_path):
    stored = ramp(16, 16, 0, 4095, np.uint16)
    path = write_dicom(tmp_path / "p.dcm", stored, bits_stored=12, window=(2048, 1024))
    ds = pydicom.dcmread(path)
    bare = tmp_path / "bare"
    ds.save_as(bare, enforce_file_format=False)
    raw = bare.read_bytes()
    if raw[128:132] == b"DICM":  # pydicom kept the preamble: strip it by hand
        bare.write_bytes(raw[132:])
    np.testing.assert_array_equal(read_dicom_gray(bare), linear_window(stored, 2048, 1024))


def test_read_gray_delegates_dicom_files_without_suffix(tmp_path):
    images = pytest.importorskip("chestx.data.images")
    stored = ramp(16, 20, 0, 4095, np.uint16)
    path = write_dicom(tmp_path / "IM0001", stored, bits_stored=12, window=(2048, 1024))
    np.testing.assert_array_equal(images.read_gray(path), linear_window(stored, 2048, 1024))


def test_truncated_file_is_a_one_line_error(tmp_path):
    path = write_dicom(tmp_path / "t.dcm", ramp(64, 64, 0, 4095, np.uint16), bits_stored=12)
    path.write_bytes(path.read_bytes()[:-3000])
    with pytest.raises(ChestxError, match=r"t\.dcm: truncated pixel data \(5192 of 8192"):
        read_dicom_gray(path)


def test_not_dicom_missing_and_no_pixels(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello\n" * 100)
    with pytest.raises(ChestxError, match=r"notes\.txt: not a DICOM file"):
        read_dicom_gray(text)
    with pytest.raises(ChestxError, match="file not found"):
        read_dicom_gray(tmp_path / "missing.dcm")
    path = write_dicom(tmp_path / "np.dcm", np.zeros((4, 4), np.uint16))
    ds = pydicom.dcmread(path)
    del ds.PixelData
    ds.save_as(path)
    with pytest.raises(ChestxError, match=r"np\.dcm: no pixel data"):
        read_dicom_gray(path)


def test_unsupported_transfer_syntax(tmp_path):
    path = write_dicom(tmp_path / "mpeg.dcm", ramp(8, 8, 0, 255, np.uint8), syntax="jpeg")
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"  # MPEG2 Main Profile
    ds.save_as(path)
    with pytest.raises(ChestxError, match="unsupported transfer syntax"):
        read_dicom_gray(path)


def test_multi_frame_is_refused(tmp_path):
    path = write_dicom(tmp_path / "mf.dcm", np.zeros((8, 8), np.uint16))
    ds = pydicom.dcmread(path)
    ds.NumberOfFrames = 2
    ds.Rows = 4  # 2 frames of 4x8 in the same bytes
    ds.save_as(path)
    with pytest.raises(ChestxError, match="multi-frame"):
        read_dicom_gray(path)


def _pydicom_file(name: str) -> Path:
    """A test file bundled with pydicom (no download); skips when this pydicom lacks it."""
    from pydicom.data import get_testdata_file

    try:
        path = get_testdata_file(name, download=False)
    except Exception:  # any failure to locate it means: not bundled here
        path = None
    if path is None:
        pytest.skip(f"{name} is not bundled with this pydicom")
    return Path(path)


@pytest.mark.parametrize("name", ["MR_small_RLE.dcm", "MR_small_jp2klossless.dcm",
                                  "MR_small_jpeg_ls_lossless.dcm", "MR_small_bigendian.dcm",
                                  "MR_small_implicit.dcm"])
def test_pydicom_lossless_variants_match_the_uncompressed_file(name):
    reference = read_dicom_gray(_pydicom_file("MR_small.dcm"))
    assert reference.shape == (64, 64) and reference.std() > 10
    np.testing.assert_array_equal(read_dicom_gray(_pydicom_file(name)), reference)


def test_pydicom_12bit_jpeg_extended_decodes():
    gray = read_dicom_gray(_pydicom_file("JPGExtended.dcm"))
    ds = pydicom.dcmread(_pydicom_file("JPGExtended.dcm"))
    assert gray.shape == (ds.Rows, ds.Columns) and gray.dtype == np.uint8 and gray.std() > 10


def test_rgb_secondary_capture_becomes_luma():
    path = _pydicom_file("SC_rgb_small_odd.dcm")
    rgb = pydicom.dcmread(path).pixel_array.astype(np.float64)
    luma = np.rint(rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114)
    np.testing.assert_array_equal(read_dicom_gray(path), luma.astype(np.uint8))


def test_voi_lut_declared_16_bits_with_12_bit_entries_uses_the_real_range(tmp_path):
    # dcmtk scales by the bits the entries use: 16 declared, entries 0..4095 -> 12 bits
    stored = ramp(16, 16, 0, 4095, np.uint16)
    entries = list(range(0, 4096, 16)) + [4095]  # 257 entries, identity-like over 0..4096
    path = write_dicom(tmp_path / "lut16.dcm", stored, bits_stored=12,
                       voi_lut=(0, 16, entries))
    gray = read_dicom_gray(path).astype(int)
    lut = np.array(entries, dtype=float)
    expected = np.rint(lut[np.clip(stored.astype(int), 0, len(lut) - 1)] / 4095.0 * 255.0)
    np.testing.assert_array_equal(gray, expected)
    assert gray.max() == 255  # not the near-black 4095 / 65535 * 255 = 16


def test_voi_lut_entries_that_truly_use_16_bits_keep_16(tmp_path):
    stored = ramp(8, 8, 0, 3, np.uint16)
    entries = [0, 20000, 40000, 65535]
    path = write_dicom(tmp_path / "lut16b.dcm", stored, voi_lut=(0, 16, entries))
    gray = read_dicom_gray(path).astype(int)
    expected = np.rint(np.array(entries, dtype=float)[stored.astype(int)] / 65535.0 * 255.0)
    np.testing.assert_array_equal(gray, expected)
