"""One DICOM file -> a candidate image: header scan, frontal selection, staged PNG.

The per-file work of :mod:`chestx.database.ingest`, run in worker processes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from chestx.atomic import atomic_path
from chestx.data.dicom import dicom_image, header_fields, read_dataset, to_gray8
from chestx.database.sr import report_kind, report_text
from chestx.database.views import CHEST_BODY_PARTS, RADIOGRAPH_MODALITIES, view_of
from chestx.errors import ChestxError

PNG_COMPRESS_LEVEL = 1


@dataclass
class Candidate:
    """A frontal DICOM file that may become an image; ``key`` is its SOPInstanceUID (or
    ``sha1:<hex>`` of the file when it has none)."""

    path: str
    key: str
    view: str
    rows: int
    columns: int
    spacing: tuple[float, float] | None
    header: dict[str, str]


def scan_file(path: str) -> dict:
    """Read one file's header (no pixels). Returns ``{"path", "error"}``, for a DICOM SR
    report ``{"path", "header", "report"}`` (its text, :func:`chestx.database.sr.report_text`),
    else ``{"path", "header", "rows", "columns", "spacing", "frames"}``.
    Runs in worker processes: takes and returns plain, picklable values."""
    try:
        ds = read_dataset(path, pixels=False)
        kind = report_kind(ds)
        if kind == "sr":
            return {"path": path, "header": header_fields(ds), "report": report_text(ds)}
        if kind == "pdf":
            return {"path": path, "error": "encapsulated PDF report, not read (only DICOM SR "
                                           "text and --reports CSV are read)"}
        image = dicom_image(ds, path, pixels=False)
    except ChestxError as exc:
        return {"path": path, "error": _reason(exc, path)}
    except Exception as exc:  # a bug or an exotic file must not stop the whole run
        return {"path": path, "error": f"cannot read ({type(exc).__name__}: {exc})"}
    return {"path": path, "header": image.header, "rows": image.rows, "columns": image.columns,
            "spacing": image.pixel_spacing, "frames": image.frames}


def select_candidate(scan: dict, unknown_views: str) -> Candidate | str:
    """A scanned file -> :class:`Candidate`, or the reason it is not taken (a string)."""
    if "error" in scan:
        return scan["error"]
    header, path = scan["header"], scan["path"]
    modality = header.get("Modality", "").upper()
    if modality not in RADIOGRAPH_MODALITIES:
        return f"modality {modality} is not a radiograph"
    body_part = header.get("BodyPartExamined", "")
    if body_part and not CHEST_BODY_PARTS.search(body_part):
        return f"body part {body_part!r} is not a chest"
    if scan["frames"] > 1:
        return f"multi-frame image ({scan['frames']} frames), not a radiograph"
    if scan["rows"] < 1 or scan["columns"] < 1:
        return "no image (Rows/Columns missing)"
    view, source = view_of(header)
    if view in ("LATERAL", "OTHER"):
        return f"not a frontal view ({source})"
    if not view:
        if unknown_views == "skip":
            return (f"view unknown ({source}, no PA/AP/lateral keyword in the header; "
                    "--unknown-views keep takes it)")
        view = ""
    key = header.get("SOPInstanceUID", "")
    if not key:
        key = "sha1:" + hashlib.sha1(Path(path).read_bytes()).hexdigest()
    return Candidate(path=path, key=key, view=view, rows=scan["rows"], columns=scan["columns"],
                     spacing=scan["spacing"], header=header)


def stage_image(job: tuple[str, str, int, bool]) -> str:
    """Decode ``path``, resize to ``size`` square and write the PNG ``staged`` (atomically);
    skipped when ``staged`` exists (resume). A non-square image is stretched (as NIH did),
    or with ``pad_square`` centred on a black square first, keeping its aspect ratio.
    Returns ``""`` or the reason it failed."""
    path, staged, size, pad_square = job
    if Path(staged).is_file():
        return ""
    try:
        gray, _ = to_gray8(read_dataset(path, pixels=True), path)
        image = Image.fromarray(pad_to_square(gray) if pad_square else gray, mode="L")
        if image.size != (size, size):
            image = image.resize((size, size), Image.Resampling.BILINEAR)  # antialiased
        with atomic_path(staged) as tmp:
            # zlib level 1: ~5x faster than PIL's default 6 on radiographs, ~10% bigger files
            image.save(tmp, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    except ChestxError as exc:
        return _reason(exc, path)
    except Exception as exc:  # a bug or an exotic file must not stop the whole run
        return f"cannot convert ({type(exc).__name__}: {exc})"
    return ""


def pad_to_square(gray: np.ndarray) -> np.ndarray:
    """``(H, W)`` -> ``(S, S)`` with ``S = max(H, W)``: the image centred on black (0)."""
    height, width = gray.shape
    side = max(height, width)
    square = np.zeros((side, side), dtype=gray.dtype)
    top, left = (side - height) // 2, (side - width) // 2
    square[top:top + height, left:left + width] = gray
    return square


def _reason(exc: ChestxError, path: str) -> str:
    """The error message without the leading ``path:`` (the CSV has its own path column)."""
    text = str(exc)
    return text[len(path) + 2:] if text.startswith(f"{path}: ") else text
