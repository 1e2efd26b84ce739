"""Which ground-truth boxes fit the box extent and which score it (never the same ones).

In order of preference (:func:`calibration_and_scoring`):

1. boxes of a file given by the user (``--calibrate-boxes``), on images not scored;
2. the boxes of the validation images, when the dataset has any;
3. otherwise (NIH and ``chestx synth``: only test images have boxes) a patient-wise half of
   the scored split's boxed images fits, and the other half is scored
   (:func:`split_by_patient`, balanced per finding, seeded).

Every table says which (:class:`BoxSets` ``describe``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class BoxSets:
    """Ground-truth frames (``BBOX_COLUMNS``) that fit (``calibrate``) and score
    (``score``), and one line saying where each comes from."""

    calibrate: pd.DataFrame
    score: pd.DataFrame
    calibrated_on: str
    scored_on: str

    def describe(self) -> str:
        return (f"boxes scored on {self.scored_on}; box extent fitted on "
                f"{self.calibrated_on}")


def split_by_patient(gt: pd.DataFrame, patient_of: Mapping[str, str],
                     seed: int = 0) -> tuple[list[str], list[str]]:
    """Images of ``gt`` in two halves with no patient in both: ``(calibrate, score)``.

    Patients are taken in a seeded random order; each goes to the half that has fewer boxes
    of that patient's findings so far (ties: the half with fewer boxes), so that every
    finding is split about evenly. An image without a known patient is its own patient.
    """
    images = list(dict.fromkeys(gt["Image Index"]))
    patient = {name: str(patient_of.get(name, name)) for name in images}
    patients = sorted(set(patient.values()))
    order = np.random.default_rng(seed).permutation(len(patients))
    counts = [pd.Series(dtype=float), pd.Series(dtype=float)]
    halves: list[list[str]] = [[], []]
    by_patient = gt.assign(patient=gt["Image Index"].map(patient)).groupby("patient")
    for index in order:
        rows = by_patient.get_group(patients[index])
        found = rows["Finding Label"].value_counts()
        load = [float(counts[h].reindex(found.index, fill_value=0).sum()) for h in (0, 1)]
        side = 0 if (load[0], counts[0].sum()) <= (load[1], counts[1].sum()) else 1
        counts[side] = counts[side].add(found, fill_value=0)
        halves[side].extend(dict.fromkeys(rows["Image Index"]))
    return halves[0], halves[1]


def _images(gt: pd.DataFrame) -> int:
    return gt["Image Index"].nunique()


def calibration_and_scoring(scored: pd.DataFrame, validation: pd.DataFrame | None = None,
                            given: pd.DataFrame | None = None, given_name: str = "",
                            patient_of: Mapping[str, str] | None = None,
                            split: str = "test", seed: int = 0) -> BoxSets:
    """The calibration and scoring boxes (module docstring).

    Parameters
    ----------
    scored : boxes of the evaluated split's images.
    validation : boxes of the validation images (``None`` or empty: none).
    given : boxes of a user's file (``--calibrate-boxes``); its images are left out of
        ``scored``.
    patient_of : image -> patient id, for the half split.
    """
    if given is not None and not given.empty:
        kept = scored[~scored["Image Index"].isin(set(given["Image Index"]))]
        return BoxSets(given, kept, f"{given_name} ({_images(given)} images, {len(given)} "
                       "boxes)", f"the {split} images ({_images(kept)} images)")
    if validation is not None and not validation.empty and split != "val":
        return BoxSets(validation, scored, f"the validation images ({_images(validation)} "
                       f"images, {len(validation)} boxes)",
                       f"the {split} images ({_images(scored)} images)")
    first, second = split_by_patient(scored, patient_of or {}, seed)
    calibrate = scored[scored["Image Index"].isin(set(first))]
    score = scored[scored["Image Index"].isin(set(second))]
    return BoxSets(calibrate, score,
                   f"the other patient-wise half of the {split} images with boxes "
                   f"({_images(calibrate)} images, {len(calibrate)} boxes)",
                   f"a patient-wise half of the {split} images with boxes "
                   f"({_images(score)} images, {len(score)} boxes)")


def image_patients(entry: pd.DataFrame, images: Sequence[str] | None = None) -> dict[str, str]:
    """``{Image Index: Patient ID}`` of a Data_Entry frame (for ``images`` when given)."""
    frame = entry if images is None else entry[entry["Image Index"].isin(set(images))]
    return dict(zip(frame["Image Index"], frame["Patient ID"].astype(str), strict=True))
