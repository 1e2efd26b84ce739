"""DICOM -> 8-bit grayscale: the pixel path of ChestX-ray8 §2.3, shared by ingest, predict, serve.

The paper extracts each radiograph from its DICOM file and rescales its intensities "using the
default window settings stored in the DICOM header". Here that is, in order:

1. the stored values, decoded by pydicom (native, RLE, JPEG, JPEG-LS, JPEG 2000 through the
   installed pixel handlers: pylibjpeg, pylibjpeg-libjpeg, pylibjpeg-rle, Pillow);
2. the Modality LUT (``RescaleSlope``/``RescaleIntercept`` or a Modality LUT Sequence) with
   pydicom's :func:`~pydicom.pixels.apply_modality_lut`;
3. the VOI LUT with pydicom's :func:`~pydicom.pixels.apply_voi_lut`: the VOI LUT Sequence when
   present, else the first ``WindowCenter``/``WindowWidth`` pair (with ``VOILUTFunction``);
   its output range (``2**bits - 1``, the bits the LUT entries really use when the descriptor
   declares more, as dcmtk does) is mapped to ``[0, 1]``. Without either, the image is
   min-max stretched;
4. ``MONOCHROME1`` (white = low values) is inverted so that bone is always bright;
5. rounded to ``uint8``. Nothing is resized here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_modality_lut, apply_voi_lut, get_decoder

from chestx.errors import ChestxError

#: Header fields (DICOM keywords) that :func:`read_dicom` returns as stripped strings.
HEADER_KEYWORDS: tuple[str, ...] = (
    "PatientID", "PatientAge", "PatientBirthDate", "PatientSex",
    "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "AccessionNumber",
    "StudyDate", "StudyTime", "SeriesDate", "AcquisitionDate", "ContentDate",
    "SeriesNumber", "InstanceNumber", "Modality", "BodyPartExamined", "ViewPosition",
    "SeriesDescription", "ProtocolName", "StudyDescription", "ImageComments",
    "AcquisitionDeviceProcessingDescription", "PhotometricInterpretation",
)


@dataclass
class DicomImage:
    """One DICOM image as ingest needs it.

    Attributes:
        pixels: ``uint8`` array of shape ``(H, W)`` after the pixel path above, or ``None``
            when read with ``pixels=False``.
        rows, columns: the stored image size (``H``, ``W``) in pixels.
        pixel_spacing: ``(x, y)`` in mm (column spacing, row spacing) from ``PixelSpacing``,
            else ``ImagerPixelSpacing``; ``None`` when the header has neither.
        frames: ``NumberOfFrames`` (1 for a plain radiograph).
        transfer_syntax: the Transfer Syntax UID the pixel data is encoded in.
        voi: how intensities were mapped: ``"lut"``, ``"window"`` or ``"minmax"``.
        header: :data:`HEADER_KEYWORDS` -> stripped string (``""`` when absent), plus
            ``"ViewCodeMeaning"`` (the first ``ViewCodeSequence`` item's ``CodeMeaning``).
    """

    pixels: np.ndarray | None
    rows: int
    columns: int
    pixel_spacing: tuple[float, float] | None
    frames: int = 1
    transfer_syntax: str = ""
    voi: str = ""
    header: dict[str, str] = field(default_factory=dict)


def read_dataset(path: str | os.PathLike, pixels: bool = True) -> Dataset:
    """Read a DICOM file with pydicom; ``pixels=False`` stops before the pixel data (fast).

    Files without the 128-byte preamble and ``DICM`` magic are accepted when they parse as a
    dataset with image attributes. Raises :class:`ChestxError` ("not a DICOM file",
    "truncated or corrupt DICOM") naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise ChestxError(f"{path}: file not found")
    try:
        return pydicom.dcmread(path, stop_before_pixels=not pixels)
    except InvalidDicomError:
        pass  # no DICM magic: maybe a bare dataset, tried below
    except Exception as exc:  # pydicom raises many types on broken files
        raise ChestxError(f"{path}: truncated or corrupt DICOM ({_one_line(exc)})") from exc
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=not pixels, force=True)
        if "SOPClassUID" in ds and "Rows" in ds:
            return ds
    except Exception:  # anything unparsable is simply not DICOM
        pass
    raise ChestxError(f"{path}: not a DICOM file")


def header_fields(ds: Dataset) -> dict[str, str]:
    """:data:`HEADER_KEYWORDS` of ``ds`` as stripped strings (``""`` when absent)."""
    fields = {}
    for keyword in HEADER_KEYWORDS:
        value = ds.get(keyword, "")
        fields[keyword] = "" if value is None else str(value).strip()
    fields["ViewCodeMeaning"] = ""
    codes = ds.get("ViewCodeSequence")
    if codes:
        fields["ViewCodeMeaning"] = str(codes[0].get("CodeMeaning", "")).strip()
    return fields


def pixel_spacing(ds: Dataset) -> tuple[float, float] | None:
    """``(x, y)`` spacing in mm: DICOM stores ``PixelSpacing`` as (row, column) = (y, x)."""
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        value = ds.get(keyword)
        try:
            if value is not None and len(value) == 2 and float(value[0]) > 0:
                return float(value[1]), float(value[0])
        except (TypeError, ValueError):
            continue
    return None


def check_decodable(ds: Dataset, path: str | os.PathLike) -> None:
    """Raise :class:`ChestxError` when ``ds`` has no pixel data or no installed decoder."""
    if "PixelData" not in ds:
        kind = "float pixel data" if ("FloatPixelData" in ds or "DoubleFloatPixelData" in ds) \
            else "no pixel data"
        raise ChestxError(f"{path}: {kind}")
    syntax = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
    if syntax is None:
        return  # bare dataset: pydicom guesses the syntax itself
    try:
        decoder = get_decoder(syntax)
    except NotImplementedError as exc:
        raise ChestxError(f"{path}: unsupported transfer syntax {syntax.name} ({syntax})") \
            from exc
    if not decoder.is_available:
        raise ChestxError(f"{path}: unsupported transfer syntax {syntax.name}: no decoder "
                          f"installed ({', '.join(decoder.missing_dependencies)})")


def display_values(values: np.ndarray, ds: Dataset) -> tuple[np.ndarray, str]:
    """Apply the VOI LUT step to Modality-LUT output ``values`` (H, W).

    Returns ``(display, voi)``: float64 array (H, W) in ``[0, 1]`` (0 = the window's low end)
    and which mapping was used (``"lut"``, ``"window"``, ``"minmax"``).
    """
    kind = "lut" if _has_voi_lut(ds) else ("window" if _has_window(ds) else "")
    if kind:
        try:
            with np.errstate(over="ignore"):
                if kind == "lut":  # entries index integers; output range 0 .. 2**bits - 1
                    out = apply_voi_lut(np.rint(values).astype(np.int64), ds, index=0)
                    low, high = 0.0, float(2 ** voi_lut_bits(ds.VOILUTSequence[0]) - 1)
                else:
                    out = apply_voi_lut(values.astype(np.float64), ds, index=0)
                    # pydicom maps the window onto a range that depends on BitsStored, the sign
                    # and the rescale: read it back by windowing two values far below and above
                    probe = np.array([-(2.0**40), 2.0**40])
                    low, high = apply_voi_lut(probe, ds, index=0)
            out = np.asarray(out, dtype=np.float64)
        except (ValueError, NotImplementedError, IndexError, TypeError, KeyError):
            low = high = 0.0  # invalid window/LUT (e.g. width 0): fall back to min-max
        if high != low:
            return np.clip((out - low) / (high - low), 0.0, 1.0), kind
    values = values.astype(np.float64)
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        return np.zeros_like(values), "minmax"
    return (values - lo) / (hi - lo), "minmax"


def to_gray8(ds: Dataset, path: str | os.PathLike = "<dataset>") -> tuple[np.ndarray, str]:
    """The pixel path on a dataset read with pixels: ``(uint8 array (H, W), voi kind)``.

    Raises :class:`ChestxError` for missing, undecodable or multi-frame pixel data.
    """
    check_decodable(ds, path)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if frames > 1:
        raise ChestxError(f"{path}: multi-frame image ({frames} frames), not a radiograph")
    _check_length(ds, path)
    try:
        stored = ds.pixel_array
    except Exception as exc:  # decoders raise anything from ValueError to RuntimeError
        raise ChestxError(f"{path}: cannot decode pixel data ({_one_line(exc)})") from exc
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    if stored.ndim == 3 and stored.shape[-1] == 3:
        return _color_to_gray(stored), "color"
    if stored.ndim != 2 or stored.size == 0:
        raise ChestxError(f"{path}: not a 2-D grayscale image (shape {stored.shape})")
    if photometric not in ("MONOCHROME1", "MONOCHROME2"):
        raise ChestxError(f"{path}: unsupported PhotometricInterpretation {photometric}")
    try:
        values = apply_modality_lut(stored, ds)
    except Exception as exc:
        raise ChestxError(f"{path}: bad Modality LUT ({_one_line(exc)})") from exc
    display, voi = display_values(values, ds)
    if photometric == "MONOCHROME1":
        display = 1.0 - display
    return np.rint(display * 255.0).astype(np.uint8), voi


def read_dicom(path: str | os.PathLike, pixels: bool = True) -> DicomImage:
    """Read a DICOM file: pixels through the pixel path (when ``pixels``) and its header.

    Raises :class:`ChestxError` naming the file for anything that is not a decodable image.
    """
    return dicom_image(read_dataset(path, pixels=pixels), path, pixels=pixels)


def dicom_image(ds: Dataset, path: str | os.PathLike = "<dataset>",
                pixels: bool = True) -> DicomImage:
    """:class:`DicomImage` of a dataset already read (pixels through the pixel path when
    ``pixels``). Raises :class:`ChestxError` naming ``path``."""
    gray, voi = to_gray8(ds, path) if pixels else (None, "")
    syntax = ds.file_meta.get("TransferSyntaxUID", "") if hasattr(ds, "file_meta") else ""
    try:
        rows, columns = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
    except (TypeError, ValueError) as exc:
        raise ChestxError(f"{path}: bad Rows/Columns ({_one_line(exc)})") from exc
    return DicomImage(pixels=gray, rows=rows, columns=columns, pixel_spacing=pixel_spacing(ds),
                      frames=frames, transfer_syntax=str(syntax), voi=voi,
                      header=header_fields(ds))


def read_dicom_gray(path: str | os.PathLike) -> np.ndarray:
    """Read a DICOM radiograph as displayed: ``uint8`` array of shape ``(H, W)``, not resized.

    Modality LUT, then VOI LUT (LUT sequence, first window, or min-max), ``MONOCHROME1``
    inverted; see the module docstring. Raises :class:`ChestxError` naming the file.
    """
    ds = read_dataset(path, pixels=True)
    return to_gray8(ds, path)[0]


def _check_length(ds: Dataset, path: str | os.PathLike) -> None:
    """Name a short native (uncompressed) pixel data element for what it is: truncation."""
    syntax = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
    if syntax is None or syntax.is_compressed:
        return
    try:
        expected = (int(ds.Rows) * int(ds.Columns) * int(ds.get("SamplesPerPixel", 1) or 1)
                    * int(ds.get("NumberOfFrames", 1) or 1) * int(ds.BitsAllocated)) // 8
    except (AttributeError, TypeError, ValueError):
        return  # let the decoder report what is wrong
    actual = len(ds.PixelData)
    if actual < expected:
        raise ChestxError(f"{path}: truncated pixel data ({actual} of {expected} bytes)")


def voi_lut_bits(item: Dataset) -> int:
    """Bits of a VOI LUT's output: the descriptor's, or fewer when the entries use fewer.

    Writers often declare 16 bits for a LUT whose entries stop at 4095 (12 bits); scaled by
    2**16 - 1 such an image would be near-black. Like dcmtk (DiLookupTable), a descriptor of
    more than 8 bits gives way to the bits the largest entry needs (at least 8); an 8-bit
    descriptor (or an invalid one, 0) is what the entries need at most, and is kept.
    """
    declared = int(item.LUTDescriptor[2])
    data = item.LUTData
    entries = [int(data)] if isinstance(data, int | float) else [int(v) for v in data]
    used = max(1, max(entries, default=1).bit_length())
    if declared <= 0:
        return used
    return max(8, min(declared, used)) if declared > 8 else declared


def _has_voi_lut(ds: Dataset) -> bool:
    seq = ds.get("VOILUTSequence")
    return bool(seq) and "LUTDescriptor" in seq[0] and "LUTData" in seq[0]


def _has_window(ds: Dataset) -> bool:
    return ds.get("WindowCenter") is not None and ds.get("WindowWidth") is not None


def _color_to_gray(rgb: np.ndarray) -> np.ndarray:
    """RGB (H, W, 3) -> ``uint8`` (H, W) luma (ITU-R 601, as PIL's ``convert("L")``)."""
    luma = rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114
    top = 255.0 if rgb.dtype == np.uint8 else float(max(luma.max(), 1))
    return np.rint(np.clip(luma / top, 0, 1) * 255.0).astype(np.uint8)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]
