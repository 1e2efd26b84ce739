"""Synthetic chest radiographs in exactly the NIH ChestX-ray14 layout.

``synthesize(out_dir, n=1000, size=256, seed=0)`` writes::

    Data_Entry_2017.csv    v2020 form (11 columns, LF, plain integers)
    BBox_List_2017.csv     NIH's odd header; true boxes of the planted findings, in pixels of
                           the stored images, for the test images that carry one of the
                           paper's 8 findings that are drawn (Infiltration written
                           ``Infiltrate``, as NIH does)
    train_val_list.txt     official-style patient-wise split (~80/20 of images),
    test_list.txt          sorted, no trailing newline
    images/<patient:08d>_<follow-up:03d>.png   8-bit grayscale, size x size
    synth.json             the parameters (lets an interrupted run resume)

Patients have 1-10 follow-ups (geometric, mean ~2.9), sharing their anatomy; chronic
findings (Cardiomegaly, Emphysema, Hernia, Pleural_Thickening) tend to persist between
follow-ups. Ages, sexes (56 % M) and views (60 % PA) vary as in NIH.

Planted findings (:data:`PLANTED_FINDINGS`), each drawn where a radiologist looks for it
(:mod:`chestx.synth.phantom`), with the box written from the mask of the change:

- Cardiomegaly: heart widened to a cardiothoracic ratio of 0.58-0.68 (normals 0.38-0.47);
  box = the heart shadow.
- Effusion: dense basal fluid in one hemithorax, filling the costophrenic angle, its top a
  meniscus rising laterally; box = the fluid.
- Pneumothorax: one lung retracted towards its hilum, leaving an apical-lateral rim of air
  without vessel markings and a thin white pleural line; box = the rim.
- Mass: a round, slightly lobulated opacity of 0.05-0.08 film widths radius (3.5-6 cm).
- Nodule: a small sharp dense round opacity, 0.028-0.04 film widths radius (2-3 cm).
- Atelectasis: a plate-like lens-shaped band in the lower zone plus volume loss (that
  hemidiaphragm raised); box = the band.
- Consolidation: a large dense airspace opacity reaching the pleura, ill-defined edges, air
  bronchograms; Infiltration: a cluster of 5-8 fainter patchy ill-defined opacities.
- Emphysema: large hyperlucent lungs, low flat diaphragm, sparse markings (diffuse: no box).
- Pleural_Thickening: a dense undulating white band lining the apex and upper lateral wall.
- Hernia: a retrocardiac round opacity with a gas cap and air-fluid level.

Pneumonia is not drawn (it is a clinical reading of an opacity); as in NIH reports, a
quarter of the Consolidation/Infiltration images also carry the label. Edema and Fibrosis
do not occur. Frequencies follow NIH's ranking with the rare findings boosted so that each
planted finding has enough positives to learn from in 1000 images: about 40 % No Finding,
each planted finding 5-14 % of images (see :data:`FINDING_RATES`). Each finding is planted
once per image, on one side.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from chestx.atomic import atomic_path, atomic_write_text
from chestx.data.bbox_csv import write_bbox_list
from chestx.data.nih import DATA_ENTRY_COLUMNS, TEST_LIST, TRAIN_VAL_LIST
from chestx.data.splits import TEST_SHARE, assign_patients
from chestx.errors import ChestxError
from chestx.findings import FINDINGS, NO_FINDING, PAPER_8
from chestx.progress import track
from chestx.synth.anatomy import follow_up, sample_anatomy
from chestx.synth.phantom import render

#: Findings drawn into the images (learnable); the others never appear except Pneumonia.
PLANTED_FINDINGS: tuple[str, ...] = (
    "Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Mass", "Nodule",
    "Pneumothorax", "Consolidation", "Emphysema", "Pleural_Thickening", "Hernia",
)
#: Planted findings that get boxes in BBox_List_2017.csv (the paper's 8 minus Pneumonia).
BOXED_FINDINGS: tuple[str, ...] = tuple(f for f in PAPER_8 if f in PLANTED_FINDINGS)
#: Chance of each finding in an image that is not "No Finding" (drawn independently).
FINDING_RATES: dict[str, float] = {
    "Infiltration": 0.2, "Effusion": 0.17, "Atelectasis": 0.15, "Nodule": 0.12,
    "Mass": 0.11, "Pneumothorax": 0.11, "Cardiomegaly": 0.1, "Consolidation": 0.09,
    "Pleural_Thickening": 0.09, "Emphysema": 0.09, "Hernia": 0.07,
}
NO_FINDING_RATE = 0.45
CHRONIC = ("Cardiomegaly", "Emphysema", "Hernia", "Pleural_Thickening")
PNEUMONIA_RATE = 0.25
FIELD_MM = 360.0  # the film covers about 36 cm, as NIH's 0.143 mm x 2500 px
MANIFEST = "synth.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class PlannedImage:
    """One image to draw: its identity, metadata and planted findings (name -> side)."""

    patient: int
    follow_up: int
    age: int
    gender: str
    view: str
    findings: tuple[tuple[str, int], ...]
    pneumonia: bool

    @property
    def image_index(self) -> str:
        return f"{self.patient:08d}_{self.follow_up:03d}.png"

    @property
    def finding_labels(self) -> str:
        names = {name for name, _ in self.findings} | ({"Pneumonia"} if self.pneumonia else set())
        ordered = [f for f in FINDINGS if f in names]
        return "|".join(ordered) if ordered else NO_FINDING


def _draw_findings(rng: np.random.Generator, previous: dict[str, int]) -> dict[str, int]:
    """Findings of one image: none with NO_FINDING_RATE, else at least one; chronic findings
    of the previous follow-up persist half of the time."""
    kept = {f: s for f, s in previous.items() if f in CHRONIC and rng.random() < 0.5}
    if kept and rng.random() < 0.6:
        return kept
    if not kept and rng.random() < NO_FINDING_RATE:
        return {}
    while True:
        drawn = {f: int(rng.choice((-1, 1))) for f, p in FINDING_RATES.items()
                 if rng.random() < p}
        if "Cardiomegaly" in drawn and "Effusion" not in drawn and rng.random() < 0.3:
            drawn["Effusion"] = int(rng.choice((-1, 1)))
        if drawn or kept:
            return drawn | kept


def plan_cohort(n: int, seed: int = 0) -> list[PlannedImage]:
    """The ``n`` images of a synthetic cohort, patient by patient (patient ids from 1)."""
    rng = np.random.default_rng([seed, 1])
    images: list[PlannedImage] = []
    patient = 0
    while len(images) < n:
        patient += 1
        count = min(int(rng.geometric(0.35)), 10, n - len(images))
        age = int(np.clip(rng.normal(48, 17), 1, 94))
        gender = "M" if rng.random() < 0.56 else "F"
        previous: dict[str, int] = {}
        for k in range(count):
            findings = _draw_findings(rng, previous)
            opacity = "Consolidation" in findings or "Infiltration" in findings
            images.append(PlannedImage(
                patient=patient, follow_up=k, age=min(age + k // 3, 95), gender=gender,
                view="PA" if rng.random() < 0.6 else "AP",
                findings=tuple(sorted(findings.items())),
                pneumonia=opacity and rng.random() < PNEUMONIA_RATE))
            previous = findings
    return images


def _render_one(args: tuple[PlannedImage, int, int]) -> tuple[np.ndarray, dict[str, tuple]]:
    """Draw one planned image -> ``(uint8 (size, size), {finding: (x, y, w, h)})``."""
    planned, size, seed = args
    anatomy = sample_anatomy(np.random.default_rng([seed, 2, planned.patient]))
    rng = np.random.default_rng([seed, 3, planned.patient, planned.follow_up])
    if planned.follow_up:
        anatomy = follow_up(anatomy, rng)
    image, masks = render(size, anatomy, dict(planned.findings), rng)
    boxes = {}
    for name, mask in masks.items():
        rows, cols = np.nonzero(mask)
        if rows.size:
            boxes[name] = (float(cols.min()), float(rows.min()),
                           float(cols.max() - cols.min() + 1), float(rows.max() - rows.min() + 1))
    return image, boxes


def _data_entry_csv(images: list[PlannedImage], size: int) -> str:
    spacing = round(FIELD_MM / size, 4)
    lines = [",".join(DATA_ENTRY_COLUMNS)]
    for im in images:
        lines.append(f"{im.image_index},{im.finding_labels},{im.follow_up},{im.patient},"
                     f"{im.age},{im.gender},{im.view},{size},{size},{spacing},{spacing}")
    return "\n".join(lines) + "\n"


def _official_lists(images: list[PlannedImage], seed: int) -> tuple[list[str], list[str]]:
    """Patient-wise train_val/test lists (test ~ TEST_SHARE of images), sorted."""
    counts = pd.Series([im.patient for im in images]).value_counts().sort_index()
    parts = assign_patients(counts, (1 - TEST_SHARE, TEST_SHARE), seed=seed)
    train_val = sorted(im.image_index for im in images if parts[im.patient] == 0)
    test = sorted(im.image_index for im in images if parts[im.patient] == 1)
    return train_val, test


def _check_target(out: Path, params: dict) -> None:
    """Refuse to overwrite a folder holding other data; allow resuming the same synthesis."""
    manifest = out / MANIFEST
    if manifest.is_file():
        try:
            old = json.loads(manifest.read_text())
        except (OSError, ValueError) as exc:
            raise ChestxError(f"{manifest}: unreadable ({exc})") from exc
        if old != params:
            raise ChestxError(f"{out}: holds a synthesis with other parameters ({old}); "
                              "choose another folder")
    elif out.is_dir() and any(out.iterdir()):
        raise ChestxError(f"{out}: folder exists and is not empty (not a chestx synthesis)")


def _render_all(jobs: list[tuple[PlannedImage, int, int]], workers: int
                ) -> Iterator[tuple[np.ndarray, dict[str, tuple]]]:
    if workers <= 1 or len(jobs) < 64:
        yield from map(_render_one, jobs)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(_render_one, jobs, chunksize=16)


def synthesize(out_dir: str | os.PathLike, n: int = 1000, size: int = 256, seed: int = 0,
               workers: int | None = None, progress: bool = False) -> Path:
    """Write a synthetic ChestX-ray14 folder (see the module docstring) and return its path.

    Args:
        out_dir: folder to create (or an interrupted synthesis with the same parameters,
            which is resumed: images already written are kept).
        n: number of images.
        size: image side in pixels (boxes are in these pixels).
        seed: everything is a function of ``(n, size, seed)``: the same call writes the same
            bytes, whatever ``workers`` is.
        workers: processes drawing images (default: up to 2 of the CPUs).
        progress: show a progress bar on stderr.
    """
    if n < 1 or size < 32:
        raise ChestxError(f"synth needs n >= 1 and size >= 32 (got n={n}, size={size})")
    out = Path(out_dir)
    params = {"format": FORMAT_VERSION, "n": n, "size": size, "seed": seed}
    _check_target(out, params)
    (out / "images").mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / MANIFEST, json.dumps(params) + "\n")
    images = plan_cohort(n, seed)
    train_val, test = _official_lists(images, seed)
    test_set = set(test)
    # Images with boxes to write are drawn again on resume (their boxes live in memory only).
    jobs = [(im, size, seed) for im in images
            if not (out / "images" / im.image_index).is_file()
            or (im.image_index in test_set and _boxed(im))]
    workers = min(2, os.cpu_count() or 1) if workers is None else workers
    boxes: list[tuple[str, str, tuple]] = []
    for (planned, _, _), (pixels, found) in track(
            zip(jobs, _render_all(jobs, workers), strict=True), "synth", total=len(jobs),
            enabled=progress):
        target = out / "images" / planned.image_index
        if not target.is_file():
            with atomic_path(target) as tmp:
                Image.fromarray(pixels, mode="L").save(tmp, format="PNG", compress_level=3)
        if planned.image_index in test_set:
            boxes += [(planned.image_index, f, found[f]) for f in BOXED_FINDINGS if f in found]
    _write_tables(out, images, size, train_val, test, boxes)
    return out


def _boxed(planned: PlannedImage) -> bool:
    return any(name in BOXED_FINDINGS for name, _ in planned.findings)


def _write_tables(out: Path, images: list[PlannedImage], size: int, train_val: list[str],
                  test: list[str], boxes: list[tuple[str, str, tuple]]) -> None:
    atomic_write_text(out / "Data_Entry_2017.csv", _data_entry_csv(images, size))
    write_bbox_list(out / "BBox_List_2017.csv",
                    [(index, name, *box) for index, name, box in boxes])
    atomic_write_text(out / TRAIN_VAL_LIST, "\n".join(train_val))
    atomic_write_text(out / TEST_LIST, "\n".join(test))
