"""Write a small folder of synthetic chest DICOM files (and a reports CSV) to try ``chestx ingest``.

Independent of chestx: needs only numpy, pydicom and Pillow. The folder mimics a PACS export:
frontal PA/AP views of a few patients over several studies, MONOCHROME1 and MONOCHROME2,
12- and 16-bit, signed and unsigned, rescale slope/intercept, windows or none, RLE and
JPEG 2000 compression, files with and without ``.dcm`` in nested folders, plus the files a
real export also holds: a lateral view, a truncated file, a file without pixel data and a
non-DICOM file. Usage::

    chestx synth-dicom SAMPLE_DIR [--patients 4] [--size 256] [--seed 0] [--sr]
    chestx ingest SAMPLE_DIR/dicom --out DATA --reports SAMPLE_DIR/reports.csv --size 256

:func:`write_dicom` is also what chestx's tests and benchmark use to build their files.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    RLELossless,
    generate_uid,
)

DX_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image Storage - For Presentation
SYNTAXES = ("explicit", "rle", "jpeg2000", "jpeg")


def write_dicom(path: str | Path, stored: np.ndarray, *, photometric: str = "MONOCHROME2",
                bits_stored: int | None = None, slope: float | None = None,
                intercept: float | None = None,
                window: tuple[float, float] | Sequence[tuple[float, float]] | None = None,
                voi_function: str | None = None,
                voi_lut: tuple[int, int, Sequence[int]] | None = None,
                view: str | None = "PA", patient_id: str = "P0001", patient_age: str = "058Y",
                birth_date: str = "", sex: str = "M", study_uid: str | None = None,
                sop_uid: str | None = None, accession: str = "",
                study_date: str = "20200101", study_time: str = "120000",
                spacing: tuple[float, float] | None = (0.143, 0.143),
                syntax: str = "explicit", modality: str = "DX",
                extra: dict | None = None) -> Path:
    """Write ``stored`` (H, W) as a DICOM file and return its path.

    ``stored`` holds the stored values: ``uint8``, ``uint16`` (PixelRepresentation 0) or
    ``int16`` (1); ``bits_stored`` defaults to the dtype's width. ``window`` is one
    ``(center, width)`` pair or several; ``voi_lut`` is ``(first_mapped, bits, entries)``;
    ``spacing`` is ``(row, column)`` mm as DICOM stores ``PixelSpacing``. ``syntax``: one of
    :data:`SYNTAXES` (``jpeg`` needs 8-bit data and is lossy). ``extra``: more keywords.
    """
    stored = np.ascontiguousarray(stored)
    signed = stored.dtype.kind == "i"
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = DX_IMAGE_STORAGE
    ds.SOPClassUID = DX_IMAGE_STORAGE
    ds.SOPInstanceUID = sop_uid or generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.PatientID, ds.PatientSex = patient_id, sex
    if patient_age:
        ds.PatientAge = patient_age
    if birth_date:
        ds.PatientBirthDate = birth_date
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.AccessionNumber, ds.StudyDate, ds.StudyTime = accession, study_date, study_time
    ds.Modality, ds.BodyPartExamined, ds.SeriesNumber, ds.InstanceNumber = modality, "CHEST", 1, 1
    if view is not None:
        ds.ViewPosition = view
    ds.Rows, ds.Columns = stored.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, photometric
    ds.BitsAllocated = stored.dtype.itemsize * 8
    ds.BitsStored = bits_stored or ds.BitsAllocated
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = int(signed)
    if spacing is not None:
        ds.PixelSpacing = [f"{spacing[0]:g}", f"{spacing[1]:g}"]
    if slope is not None or intercept is not None:
        ds.RescaleSlope = f"{1.0 if slope is None else slope:g}"
        ds.RescaleIntercept = f"{0.0 if intercept is None else intercept:g}"
        ds.RescaleType = "US"
    if window is not None:
        pairs = [window] if np.isscalar(window[0]) else list(window)
        ds.WindowCenter = [f"{c:g}" for c, _ in pairs] if len(pairs) > 1 else f"{pairs[0][0]:g}"
        ds.WindowWidth = [f"{w:g}" for _, w in pairs] if len(pairs) > 1 else f"{pairs[0][1]:g}"
    if voi_function:
        ds.VOILUTFunction = voi_function
    if voi_lut is not None:
        first, bits, entries = voi_lut
        item = Dataset()
        item.add_new(0x00283002, "US", [len(entries), first, bits])  # LUTDescriptor
        item.add_new(0x00283006, "US", [int(v) for v in entries])  # LUTData
        ds.VOILUTSequence = [item]
    for keyword, value in (extra or {}).items():
        setattr(ds, keyword, value)
    _set_pixels(ds, stored, syntax)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


SR_CLASSES = {"basic": "1.2.840.10008.5.1.4.1.1.88.11", "enhanced": "1.2.840.10008.5.1.4.1.1.88.22",
              "comprehensive": "1.2.840.10008.5.1.4.1.1.88.33"}
ENCAPSULATED_PDF_STORAGE = "1.2.840.10008.5.1.4.1.1.104.1"


def _code(meaning: str, value: str = "121070", scheme: str = "DCM") -> Dataset:
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = value, scheme, meaning
    return code


def _document(sop_class: str, modality: str, patient_id: str, study_uid: str, accession: str,
              study_date: str, patient_name: str, birth_date: str) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.PatientID, ds.PatientName, ds.PatientSex = patient_id, patient_name, "M"
    if birth_date:
        ds.PatientBirthDate = birth_date
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, generate_uid()
    ds.AccessionNumber, ds.StudyDate, ds.StudyTime = accession, study_date, "130000"
    ds.ContentDate, ds.ContentTime = study_date, "130000"
    ds.Modality, ds.SeriesNumber, ds.InstanceNumber = modality, 99, 1
    return ds


def write_sr(path: str | Path, sections: dict[str, str], *, patient_id: str = "P0001",
             study_uid: str, accession: str = "", study_date: str = "20200101",
             patient_name: str = "DOE^JOHN", birth_date: str = "", kind: str = "basic",
             nested: bool = True) -> Path:
    """Write a radiology report as a DICOM SR (``kind``: basic, enhanced, comprehensive).

    ``sections`` maps a section name ("Findings") to its text; ``nested`` puts each text in
    a CONTAINER named by the section, else writes TEXT items named by the section.
    """
    ds = _document(SR_CLASSES[kind], "SR", patient_id, study_uid, accession, study_date,
                   patient_name, birth_date)
    ds.ValueType, ds.ContinuityOfContent = "CONTAINER", "SEPARATE"
    ds.ConceptNameCodeSequence = [_code("Chest X-ray Report", "18748-4", "LN")]
    ds.CompletionFlag, ds.VerificationFlag = "COMPLETE", "UNVERIFIED"
    items = []
    for name, text in sections.items():
        leaf = Dataset()
        leaf.RelationshipType, leaf.ValueType, leaf.TextValue = "CONTAINS", "TEXT", text
        leaf.ConceptNameCodeSequence = [_code(name if not nested else "Finding")]
        if nested:
            container = Dataset()
            container.RelationshipType, container.ValueType = "CONTAINS", "CONTAINER"
            container.ContinuityOfContent = "SEPARATE"
            container.ConceptNameCodeSequence = [_code(name)]
            container.ContentSequence = [leaf]
            items.append(container)
        else:
            items.append(leaf)
    ds.ContentSequence = items
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def write_pdf_report(path: str | Path, *, patient_id: str = "P0001", study_uid: str,
                     accession: str = "", study_date: str = "20200101") -> Path:
    """Write an Encapsulated PDF report (a tiny, valid-looking PDF)."""
    ds = _document(ENCAPSULATED_PDF_STORAGE, "DOC", patient_id, study_uid, accession,
                   study_date, "DOE^JOHN", "")
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocument = b"%PDF-1.4\n%%EOF\n"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def _set_pixels(ds: Dataset, stored: np.ndarray, syntax: str) -> None:
    if syntax == "explicit":
        ds.PixelData = stored.tobytes()
    elif syntax == "rle":
        ds.PixelData = stored.tobytes()
        ds.compress(RLELossless, stored)
    elif syntax in ("jpeg2000", "jpeg"):
        if syntax == "jpeg2000" and stored.dtype.kind == "i":
            raise ValueError("this writer encodes JPEG 2000 for unsigned data only")
        if syntax == "jpeg" and stored.dtype != np.uint8:
            raise ValueError("JPEG baseline holds 8-bit data only")
        buffer = io.BytesIO()
        image = Image.fromarray(stored)
        if syntax == "jpeg":
            image.save(buffer, format="JPEG", quality=95)
        else:
            image.save(buffer, format="JPEG2000", irreversible=False, no_jp2=True)
        ds.PixelData = encapsulate([buffer.getvalue()])
        ds["PixelData"].VR = "OB"
        ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit if syntax == "jpeg" else JPEG2000Lossless
        ds.LossyImageCompression = "01" if syntax == "jpeg" else "00"
    else:
        raise ValueError(f"syntax must be one of {SYNTAXES}, not {syntax!r}")


def chest_phantom(height: int, width: int, rng: np.random.Generator, bits: int = 12,
                  opacity: bool = False) -> np.ndarray:
    """A crude frontal chest (H, W) uint16 in ``[0, 2**bits - 1]``: bright body and
    mediastinum, two dark lungs, optional round opacity in the right lung."""
    yy, xx = np.mgrid[0:height, 0:width] / np.array([height, width])[:, None, None]
    body = np.exp(-(((xx - 0.5) / 0.45) ** 8 + ((yy - 0.55) / 0.5) ** 8))
    lungs = sum(np.exp(-(((xx - cx) / 0.15) ** 2 + ((yy - 0.5) / 0.28) ** 2) * 3)
                for cx in (0.3, 0.7))
    image = 0.2 + 0.7 * body - 0.45 * lungs
    if opacity:
        image += 0.3 * np.exp(-(((xx - 0.3) / 0.06) ** 2 + ((yy - 0.45) / 0.06) ** 2))
    image += rng.normal(0, 0.02, image.shape)
    top = 2**bits - 1
    return np.clip(image * top, 0, top).astype(np.uint16)


REPORT_TEXT = {
    "normal": "FINDINGS: The heart size is normal. The lungs are clear. No pleural effusion or "
              "pneumothorax.\nIMPRESSION: No acute cardiopulmonary disease.",
    "effusion": "FINDINGS: Large right pleural effusion. Heart size is normal.\nIMPRESSION: "
                "Right pleural effusion.",
    "mass": "FINDINGS: There is a 3 cm mass in the right upper lobe. No pneumothorax.\n"
            "IMPRESSION: Right upper lobe mass.",
    "cardiomegaly": "FINDINGS: The heart is enlarged. Lungs are clear.\nIMPRESSION: "
                    "Cardiomegaly.",
}


def make_sample_folder(out: str | Path, patients: int = 4, size: int = 256,
                       seed: int = 0, sr: bool = False) -> dict[str, list[Path]]:
    """Write ``out/dicom/...`` and ``out/reports.csv`` (with ``sr``, each report also as a
    DICOM SR beside its study's images); return the paths by kind (``frontal``, ``lateral``,
    ``broken``, ``sr``)."""
    out = Path(out)
    rng = np.random.default_rng(seed)
    kinds: dict[str, list[Path]] = {"frontal": [], "lateral": [], "broken": [], "sr": []}
    reports = []
    topics = list(REPORT_TEXT)
    for p in range(patients):
        pid = f"MRN{1000 + p}"
        for s in range(1 + p % 3):
            study_uid, accession = generate_uid(), f"ACC{p:03d}{s:02d}"
            topic = topics[(p + s) % len(topics)]
            stored = chest_phantom(size, size - size // 8, rng, opacity=topic == "mass")
            variant = (p + s) % 4
            kwargs = dict(patient_id=pid, patient_age=f"{40 + p:03d}Y", sex="MF"[p % 2],
                          study_uid=study_uid, accession=accession,
                          study_date=f"2020{1 + s:02d}15", study_time=f"{8 + p:02d}3000")
            folder = out / "dicom" / pid / f"study{s}"
            if variant == 0:  # 12-bit, MONOCHROME2, default window, uncompressed
                path = write_dicom(folder / "IM0001.dcm", stored, bits_stored=12,
                                   window=(2048, 4096), view="PA", **kwargs)
            elif variant == 1:  # MONOCHROME1, RLE, no file suffix, rescale
                path = write_dicom(folder / "IM0001", (4095 - stored), bits_stored=12,
                                   photometric="MONOCHROME1", slope=1.0, intercept=-1024,
                                   window=(1024, 4000), syntax="rle", view="AP", **kwargs)
            elif variant == 2:  # 16-bit JPEG 2000 lossless, no window (min-max)
                path = write_dicom(folder / "IM0001.dcm", (stored.astype(np.uint16) * 16),
                                   syntax="jpeg2000", view=None,
                                   extra={"SeriesDescription": "CHEST PA"}, **kwargs)
            else:  # signed 16-bit with window
                path = write_dicom(folder / "IM0001.dcm", stored.astype(np.int16) - 2048,
                                   window=(0, 4096), view="PA", **kwargs)
            kinds["frontal"].append(path)
            reports.append((accession, study_uid, REPORT_TEXT[topic]))
            if sr:
                findings, impression = REPORT_TEXT[topic].split("\nIMPRESSION: ")
                kinds["sr"].append(write_sr(
                    folder / "SR0001.dcm", {"Findings": findings.removeprefix("FINDINGS: "),
                                            "Impression": impression},
                    patient_id=pid, study_uid=study_uid, accession=accession,
                    study_date=kwargs["study_date"], patient_name=f"PATIENT^{p}"))
            if s == 0:
                lateral = write_dicom(folder / "IM0002.dcm", stored, bits_stored=12, view="LL",
                                      window=(2048, 4096), **kwargs)
                kinds["lateral"].append(lateral)
    broken = out / "dicom" / "broken"
    truncated = write_dicom(broken / "truncated.dcm", chest_phantom(size, size, rng),
                            bits_stored=12, accession="ACC999")
    truncated.write_bytes(truncated.read_bytes()[: truncated.stat().st_size // 2])
    no_pixels = write_dicom(broken / "no_pixels.dcm", chest_phantom(8, 8, rng))
    ds = pydicom.dcmread(no_pixels)
    del ds.PixelData
    ds.save_as(no_pixels)
    (broken / "README.txt").write_text("not a DICOM file\n")
    kinds["broken"] += [truncated, no_pixels, broken / "README.txt"]
    with open(out / "reports.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["accession", "study_uid", "text"])
        writer.writerows(reports)
    return kinds

