"""Writers of tiny public-release folders in their publishers' real layouts, for the tests.

Each ``write_<release>(root, ...)`` writes the metadata files under their real names and
encodings (gzip for MIMIC-CXR-JPG, a BOM-less UTF-8 CSV with quoted list cells for
PadChest, 16-bit PNGs, MONOCHROME1 and MONOCHROME2 DICOMs) and returns the *spec*: the rows
it wrote, as plain Python, from which the tests count the expected values by hand. No real
data: every label and image is drawn from a seeded generator.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

CHEXPERT_LABELS = ["No Finding", "Enlarged Cardiomediastinum", "Cardiomegaly", "Lung Opacity",
                   "Lung Lesion", "Edema", "Consolidation", "Pneumonia", "Atelectasis",
                   "Pneumothorax", "Pleural Effusion", "Pleural Other", "Fracture",
                   "Support Devices"]
#: The 7 unambiguous findings and the source label each release names them with.
UNAMBIGUOUS = {"Cardiomegaly": "Cardiomegaly", "Effusion": "Pleural Effusion",
               "Pneumothorax": "Pneumothorax", "Atelectasis": "Atelectasis",
               "Consolidation": "Consolidation", "Edema": "Edema", "Pneumonia": "Pneumonia"}
VINDR_LABELS = ["Aortic enlargement", "Atelectasis", "Calcification", "Cardiomegaly",
                "Clavicle fracture", "Consolidation", "Edema", "Emphysema", "Enlarged PA", "ILD",
                "Infiltration", "Lung Opacity", "Lung cavity", "Lung cyst", "Mediastinal shift",
                "Nodule/Mass", "Pleural effusion", "Pleural thickening", "Pneumothorax",
                "Pulmonary fibrosis", "Rib fracture", "Other lesion", "COPD", "Lung tumor",
                "Pneumonia", "Tuberculosis", "Other diseases", "No finding"]


def pattern(size: int, seed: int, top: int = 255) -> np.ndarray:
    """A smooth image with a bright disc whose place depends on ``seed``: ``(size, size)``
    integers in ``[0, top]``."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:size, 0:size] / max(size - 1, 1)
    cy, cx = rng.uniform(0.3, 0.7, 2)
    disc = np.exp(-((rows - cy) ** 2 + (cols - cx) ** 2) / 0.02)
    return np.round((0.3 * rows + 0.6 * disc + 0.05) / 0.95 * top).astype(np.int64)


def write_jpeg(path: Path, size: int, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pattern(size, seed).astype(np.uint8)).save(path, "JPEG", quality=95)


def write_png16(path: Path, size: int, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pattern(size, seed, 65535).astype(np.uint16)).save(path)


def write_dicom(path: Path, size: int, seed: int, photometric: str) -> np.ndarray:
    """A 12-bit DICOM; MONOCHROME1 stores inverted values. Returns the stored array."""
    values = pattern(size, seed, 4095).astype(np.uint16)
    if photometric == "MONOCHROME1":
        values = (4095 - values).astype(np.uint16)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, generate_uid()
    ds.Modality, ds.PatientID = "DX", f"anon{seed}"
    ds.Rows = ds.Columns = size
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = values.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    assert pydicom.dcmread(path).PhotometricInterpretation == photometric
    return values


def _csv(header: list[str], rows: list[list[str]]) -> str:
    def cell(value: str) -> str:
        return f'"{value}"' if ("," in value or '"' in value) else value
    return "".join(",".join(cell(str(v)) for v in row) + "\n" for row in [header, *rows])


def _label_cell(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _draw_labels(rng: np.random.Generator, uncertain: bool) -> dict[str, float | None]:
    choices = [1.0, 0.0, None] + ([-1.0] if uncertain else [])
    labels = {name: choices[rng.integers(len(choices))] for name in CHEXPERT_LABELS[1:]}
    labels["No Finding"] = 1.0 if not any(v == 1.0 for v in labels.values()) else None
    return labels


def write_chexpert(parent: Path, patients: int = 12, size: int = 24, seed: int = 0,
                   small: bool = True) -> dict:
    """``parent/CheXpert-v1.0-small/`` (or ``CheXpert-v1.0``): train.csv, valid.csv, JPEGs.
    Spec: ``{"root", "rows": [{path, split, patient, view, labels}]}``."""
    name = "CheXpert-v1.0-small" if small else "CheXpert-v1.0"
    root = parent / name
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(patients):
        part = "valid" if p >= patients * 3 // 4 else "train"
        patient = f"patient{p + 1 + (64540 if part == 'valid' else 0):05d}"
        for study in (1, 2)[: 1 + p % 2]:
            views = [("Frontal", "PA" if p % 3 else "AP")] + ([("Lateral", "")] if p % 2 else [])
            for v, (fl, appa) in enumerate(views, start=1):
                kind = "frontal" if fl == "Frontal" else "lateral"
                path = f"{name}/{part}/{patient}/study{study}/view{v}_{kind}.jpg"
                rows.append({"path": path, "split": part, "patient": patient,
                             "view": appa if fl == "Frontal" else "LATERAL", "fl": fl,
                             "appa": appa, "labels": _draw_labels(rng, part == "train")})
    header = ["Path", "Sex", "Age", "Frontal/Lateral", "AP/PA", *CHEXPERT_LABELS]
    for part, file in (("train", "train.csv"), ("valid", "valid.csv")):
        lines = [[r["path"], "Female", "63", r["fl"], r["appa"],
                  *[_label_cell(r["labels"][n]) for n in CHEXPERT_LABELS]]
                 for r in rows if r["split"] == part]
        root.mkdir(parents=True, exist_ok=True)
        (root / file).write_text(_csv(header, lines), encoding="utf-8")
    for i, r in enumerate(rows):
        write_jpeg(parent / r["path"], size, seed * 1000 + i)
    return {"root": root, "rows": rows}


def _gzip_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8", newline="") as handle:
        handle.write(_csv(header, rows))


def write_mimic(root: Path, subjects: int = 12, size: int = 24, seed: int = 1) -> dict:
    """``root/`` with the four gzipped CSVs of MIMIC-CXR-JPG 2.0.0 and ``files/pXX/...``."""
    rng = np.random.default_rng(seed)
    images, studies = [], []
    parts = ["train"] * (subjects - 4) + ["validate"] * 2 + ["test"] * 2
    for s in range(subjects):
        subject = str(10000032 + 1117 * s)
        for k in range(1 + s % 2):
            study = str(50000000 + 7919 * s + k)
            labels = _draw_labels(rng, True)
            studies.append({"subject": subject, "study": study, "labels": labels})
            for view in ["PA" if s % 3 else "AP", *(["LATERAL"] if k == 0 else []),
                         *(["LL"] if s == 5 else [])]:
                dicom = "-".join(f"{rng.integers(16**8):08x}" for _ in range(5))
                images.append({"dicom": dicom, "subject": subject, "study": study,
                               "view": view, "split": parts[s], "labels": labels})
    prefix = "mimic-cxr-2.0.0-"
    label_rows = [[st["subject"], st["study"], *[_label_cell(st["labels"][n]) for n in
                                                 sorted(CHEXPERT_LABELS)]] for st in studies]
    for kind in ("chexpert", "negbio"):
        _gzip_csv(root / f"{prefix}{kind}.csv.gz", ["subject_id", "study_id",
                                                    *sorted(CHEXPERT_LABELS)], label_rows)
    _gzip_csv(root / f"{prefix}metadata.csv.gz",
              ["dicom_id", "subject_id", "study_id", "PerformedProcedureStepDescription",
               "ViewPosition", "Rows", "Columns", "StudyDate", "StudyTime",
               "ProcedureCodeSequence_CodeMeaning", "ViewCodeSequence_CodeMeaning",
               "PatientOrientationCodeSequence_CodeMeaning"],
              [[i["dicom"], i["subject"], i["study"], "CHEST (PA AND LAT)", i["view"], size,
                size, "21800506", "213014.531", "CHEST (PA AND LAT)", "postero-anterior",
                "Erect"] for i in images])
    _gzip_csv(root / f"{prefix}split.csv.gz", ["dicom_id", "study_id", "subject_id", "split"],
              [[i["dicom"], i["study"], i["subject"], i["split"]] for i in images])
    for n, i in enumerate(images):
        write_jpeg(root / "files" / f"p{i['subject'][:2]}" / f"p{i['subject']}" /
                   f"s{i['study']}" / f"{i['dicom']}.jpg", size, seed * 1000 + n)
    return {"root": root, "images": images}


PADCHEST_TERMS = ["normal", "cardiomegaly", "pleural effusion", "pneumothorax",
                  "laminar atelectasis", "consolidation", "pulmonary edema", "pneumonia",
                  "aortic elongation", "scoliosis", "nodule", "hiatal hernia"]


def write_padchest(root: Path, images: int = 16, size: int = 20, seed: int = 2) -> dict:
    """``root/PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv`` and 16-bit PNGs under
    ``root/<ImageDir>/``."""
    rng = np.random.default_rng(seed)
    rows = []
    projections = ["PA", "PA", "L", "AP", "AP_horizontal", "PA", "COSTAL", "PA"]
    for n in range(images):
        terms = sorted({PADCHEST_TERMS[i] for i in rng.integers(1, len(PADCHEST_TERMS),
                                                                rng.integers(0, 3))})
        labels = terms or ["normal"]
        image = f"2168401113669640{n:029d}_0{n % 3}-0{n:02d}-1{n:02d}.png"
        patient = str(8398604886942923316 + n // 2)
        rows.append({"image": image, "dir": str(n % 3), "patient": patient,
                     "projection": projections[n % len(projections)], "labels": labels,
                     "cell": "[" + ", ".join(f"'{t}'" if i == 0 else f"' {t}'"
                                             for i, t in enumerate(labels)) + "]"})
    header = ["ImageID", "ImageDir", "StudyDate_DICOM", "StudyID", "PatientID", "PatientBirth",
              "PatientSex_DICOM", "ViewPosition_DICOM", "Projection", "MethodProjection",
              "Labels", "Localizations"]
    lines = [[r["image"], r["dir"], "20140915", f"study{n}", r["patient"], "1950", "F",
              "POSTEROANTERIOR", r["projection"], "Manual review of DICOM fields", r["cell"],
              "[]"] for n, r in enumerate(rows)]
    root.mkdir(parents=True, exist_ok=True)
    (root / "PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv").write_text(
        _csv(header, lines), encoding="utf-8")
    for n, r in enumerate(rows):
        write_png16(root / r["dir"] / r["image"], size, seed * 1000 + n)
    return {"root": root, "rows": rows}


def write_vindr(root: Path, size: int = 64, seed: int = 3) -> dict:
    """``root/annotations/*.csv``, ``root/train/*.dicom`` (MONOCHROME1 and 2), ``test/``.

    Train image 0: three readers box Cardiomegaly (two agree, IoU > 0.4; the third far
    away) and one reader boxes Pneumothorax. Image 1: all readers say No finding. Test image:
    one consensus Pleural effusion box and a Nodule/Mass box (no NIH counterpart).
    """
    ids = {"train": [f"{h:032x}" for h in (0x9a5094b2563a1ef3, 0x051132a778e61a86)],
           "test": [f"{0x002a34c58c5b758217ed1f584ccbcfe9:032x}"]}
    boxes = [  # image, reader, class, x_min, y_min, x_max, y_max
        (ids["train"][0], "R8", "Cardiomegaly", 20.5, 30.0, 44.25, 40.0),
        (ids["train"][0], "R9", "Cardiomegaly", 21.5, 31.0, 45.25, 41.0),
        (ids["train"][0], "R10", "Cardiomegaly", 2.0, 2.0, 8.0, 8.0),
        (ids["train"][0], "R9", "Pneumothorax", 5.0, 6.0, 15.0, 26.0),
        (ids["test"][0], "R1", "Pleural effusion", 10.0, 40.0, 30.0, 60.0),
        (ids["test"][0], "R1", "Nodule/Mass", 30.0, 10.0, 36.0, 16.0)]
    no_finding = [(ids["train"][0], "R10"), (ids["train"][1], "R8"), (ids["train"][1], "R9"),
                  (ids["train"][1], "R10")]
    header = ["image_id", "rad_id", "class_name", "x_min", "y_min", "x_max", "y_max"]
    ann = root / "annotations"
    ann.mkdir(parents=True, exist_ok=True)
    for part in ("train", "test"):
        rows = [[b[0], b[1], b[2], *b[3:]] for b in boxes if b[0] in ids[part]]
        rows += [[i, r, "No finding", "", "", "", ""] for i, r in no_finding if i in ids[part]]
        (ann / f"annotations_{part}.csv").write_text(_csv(header, rows), encoding="utf-8")
    labels = {(ids["train"][0], "R8"): {"Cardiomegaly"}, (ids["train"][0], "R9"):
              {"Cardiomegaly", "Pneumothorax"}, (ids["train"][0], "R10"): {"Cardiomegaly"},
              (ids["train"][1], "R8"): {"No finding"}, (ids["train"][1], "R9"): {"No finding"},
              (ids["train"][1], "R10"): {"No finding"},
              (ids["test"][0], None): {"Pleural effusion", "Nodule/Mass", "Pneumonia"}}
    for part in ("train", "test"):
        rad = ["rad_ID"] if part == "train" else []
        rows = [[i, *([r] if r else []), *[int(n in found) for n in VINDR_LABELS]]
                for (i, r), found in labels.items() if i in ids[part]]
        (ann / f"image_labels_{part}.csv").write_text(
            _csv(["image_id", *rad, *VINDR_LABELS], rows), encoding="utf-8")
    photometric = ["MONOCHROME1", "MONOCHROME2", "MONOCHROME1"]
    files = [(p, i) for p in ("train", "test") for i in ids[p]]
    for n, (part, image) in enumerate(files):
        write_dicom(root / part / f"{image}.dicom", size, seed * 1000 + n, photometric[n])
    return {"root": root, "ids": ids, "boxes": boxes}


def write_rsna(root: Path, size: int = 32, seed: int = 4) -> dict:
    """``root/stage_2_train_labels.csv``, ``stage_2_detailed_class_info.csv`` and
    ``stage_2_train_images/<patientId>.dcm``: two boxes on one image, one on another, two
    without (one Normal, one Not Normal)."""
    ids = ["0004cfab-14fd-4e49-80ba-63a80b6bddd6", "00313ee0-9eaa-42f4-b0ab-c148ed3241cd",
           "00322d4d-1c29-4943-afc9-b6754be640eb", "003d8fa0-6bf1-40ed-b54c-ac657f8495c5"]
    boxes = [(ids[1], 264.0, 152.0, 213.0, 379.0), (ids[1], 562.0, 152.0, 256.0, 453.0),
             (ids[3], 316.5, 318.0, 170.0, 478.0)]
    rows = [[ids[0], "", "", "", "", "0"], *[[b[0], *b[1:], "1"] for b in boxes],
            [ids[2], "", "", "", "", "0"]]
    root.mkdir(parents=True, exist_ok=True)
    (root / "stage_2_train_labels.csv").write_text(
        _csv(["patientId", "x", "y", "width", "height", "Target"], rows), encoding="utf-8")
    classes = [[ids[0], "No Lung Opacity / Not Normal"], [ids[1], "Lung Opacity"],
               [ids[1], "Lung Opacity"], [ids[2], "Normal"], [ids[3], "Lung Opacity"]]
    (root / "stage_2_detailed_class_info.csv").write_text(
        _csv(["patientId", "class"], classes), encoding="utf-8")
    for n, image in enumerate(ids):
        write_dicom(root / "stage_2_train_images" / f"{image}.dcm", size, seed * 1000 + n,
                    "MONOCHROME2" if n % 2 else "MONOCHROME1")
    return {"root": root, "ids": ids, "boxes": boxes}


def gzip_bytes(text: str) -> bytes:
    """``text`` gzipped (for truncation tests)."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb") as handle:
        handle.write(text.encode())
    return buffer.getvalue()
