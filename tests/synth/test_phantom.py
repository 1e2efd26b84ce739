"""Phantom drawing: each planted finding changes the picture where its mask (box) says."""

from __future__ import annotations

import numpy as np
import pytest

from chestx.synth.anatomy import Acquisition, Anatomy, Canvas, sample_anatomy
from chestx.synth.phantom import LOCAL, heart_mask, lose_volume, render

QUIET = Acquisition(noise=0.0)  # no noise: the only difference is the finding


def draw(findings, seed=5, size=96, anatomy=None):
    anatomy = anatomy or sample_anatomy(np.random.default_rng(seed))
    image, masks = render(size, anatomy, findings, np.random.default_rng(seed + 1), QUIET)
    return image.astype(np.int16), masks


@pytest.mark.parametrize("finding", sorted(LOCAL))
@pytest.mark.parametrize("side", [-1, 1])
def test_local_finding_changes_pixels_inside_its_box(finding, side):
    if finding == "Atelectasis":  # compare with the same volume loss (raised diaphragm)
        rng = np.random.default_rng(6)
        anatomy = lose_volume(sample_anatomy(np.random.default_rng(5)), rng, side)
        base = render(96, anatomy, {}, rng, QUIET)[0].astype(np.int16)
    else:
        base, _ = draw({})
    image, masks = draw({finding: side})
    mask = masks[finding]
    assert mask.any()
    rows, cols = np.nonzero(mask)
    box = np.zeros_like(mask)
    box[rows.min():rows.max() + 1, cols.min():cols.max() + 1] = True
    changed = np.abs(image - base) > 8
    assert changed.sum() >= 4
    # nearly all visible change lies in the box (a pixel of blur margin allowed)
    grown = np.zeros_like(box)
    grown[max(rows.min() - 2, 0):rows.max() + 3, max(cols.min() - 2, 0):cols.max() + 3] = True
    assert changed[grown].sum() >= 0.95 * changed.sum()
    # and the box is really changed: mean change inside clearly above zero
    assert np.abs(image - base)[mask].mean() > 8


@pytest.mark.parametrize("finding", ["Mass", "Nodule", "Atelectasis", "Consolidation",
                                     "Infiltration", "Effusion", "Pneumothorax"])
def test_lung_findings_lie_in_the_lungs(finding):
    anatomy = sample_anatomy(np.random.default_rng(9))
    _, masks = draw({finding: 1}, seed=9, anatomy=anatomy)
    canvas = Canvas(96, anatomy, QUIET, np.random.default_rng(0))
    lung = canvas.lungs[1]  # patient's left lung = image right half
    assert (masks[finding] & lung).sum() >= 0.9 * masks[finding].sum()
    cols = np.nonzero(masks[finding])[1]
    assert cols.mean() > 48


def test_cardiomegaly_widens_the_heart():
    anatomy = Anatomy(heart_ratio=0.44)
    canvas = Canvas(128, anatomy, QUIET, np.random.default_rng(0))
    normal_width = np.ptp(np.nonzero(heart_mask(canvas).any(axis=0))[0])
    _, masks = draw({"Cardiomegaly": 1}, size=128, anatomy=anatomy)
    big_width = np.ptp(np.nonzero(masks["Cardiomegaly"].any(axis=0))[0])
    thorax = 2 * anatomy.half_width * 128
    assert normal_width / thorax == pytest.approx(0.44, abs=0.03)
    assert big_width / thorax >= 0.57


def test_emphysema_darkens_and_enlarges_lungs():
    anatomy = Anatomy()
    base, _ = draw({}, anatomy=anatomy)
    image, masks = draw({"Emphysema": 1}, anatomy=anatomy)
    assert "Emphysema" not in masks  # diffuse: no box
    assert image.mean() < base.mean() - 3
    dark = (image < 90).sum(), (base < 90).sum()
    assert dark[0] > dark[1]


def test_render_is_deterministic_and_uint8():
    a = render(64, Anatomy(), {"Mass": -1}, np.random.default_rng(1))
    b = render(64, Anatomy(), {"Mass": -1}, np.random.default_rng(1))
    assert a[0].dtype == np.uint8 and a[0].shape == (64, 64)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1]["Mass"], b[1]["Mass"])
