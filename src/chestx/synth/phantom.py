"""Drawing one synthetic PA chest radiograph ("phantom") with planted findings.

:mod:`chestx.synth.anatomy` draws the healthy picture. Each finding drawer here changes that
picture where a radiologist would look for it and returns the boolean mask of the change
(``(H, W)``), from which :mod:`chestx.synth.cohort` writes the true box. See
:data:`chestx.synth.cohort.PLANTED_FINDINGS` and the synth docstring for the list.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from scipy import ndimage

from chestx.synth.anatomy import (
    Acquisition,
    Anatomy,
    Canvas,
    diaphragm,
    draw_anatomy,
    finish,
    lung_mask,
    sample_acquisition,
)

# ---------------------------------------------------------------------------- findings
# Structural findings change the anatomy before it is drawn; local ones draw on the canvas
# and return the bool (S, S) mask of what they changed.


def enlarge_heart(anatomy: Anatomy, rng: np.random.Generator) -> Anatomy:
    """Cardiomegaly: cardiothoracic ratio 0.58-0.68 (normal patients 0.38-0.47)."""
    return replace(anatomy, heart_ratio=rng.uniform(0.58, 0.68),
                   heart_height=anatomy.heart_height * rng.uniform(1.12, 1.25))


def hyperinflate(anatomy: Anatomy, rng: np.random.Generator) -> Anatomy:
    """Emphysema: large, hyperlucent lungs, flat low diaphragm, sparse markings."""
    return replace(anatomy, base=anatomy.base + rng.uniform(0.04, 0.06),
                   apex=anatomy.apex - 0.015, half_width=anatomy.half_width + 0.02,
                   dome=anatomy.dome * 0.3, lung_depth=anatomy.lung_depth + rng.uniform(0.1, 0.14),
                   markings=anatomy.markings * 0.35)


def lose_volume(anatomy: Anatomy, rng: np.random.Generator, side: int) -> Anatomy:
    """Atelectasis volume loss: that hemidiaphragm is pulled up."""
    return replace(anatomy, raised_side=side, raise_amount=rng.uniform(0.04, 0.06))


STRUCTURAL: dict[str, Callable[[Anatomy, np.random.Generator], Anatomy]] = {
    "Cardiomegaly": enlarge_heart,
    "Emphysema": hyperinflate,
}


def heart_mask(canvas: Canvas) -> np.ndarray:
    """Cardiomegaly box source: the heart shadow (ellipse above the diaphragm)."""
    hu, hv, hrx, hry = canvas.anatomy.heart()
    u, v = canvas.U, canvas.V
    inside = ((u - hu) / hrx) ** 2 + ((v - hv) / hry) ** 2 < 1
    dome = np.where(u < canvas.anatomy.cx, diaphragm(canvas.anatomy, u, -1),
                    diaphragm(canvas.anatomy, u, 1))
    return inside & (v < dome)


def _lung_rows(canvas: Canvas, side: int) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.nonzero(canvas.lungs[side])
    return rows, cols


def draw_effusion(canvas: Canvas, side: int) -> np.ndarray:
    """Effusion: dense basal fluid filling the costophrenic angle, its top a meniscus that
    climbs the lateral chest wall."""
    a, rng, lung = canvas.anatomy, canvas.rng, canvas.lungs[side]
    rows, cols = _lung_rows(canvas, side)
    height = rows.max() - rows.min()
    depth = rng.uniform(0.22, 0.38) * height
    medial = cols.min() if side == 1 else cols.max()
    lateral = cols.max() if side == 1 else cols.min()
    t = np.clip((canvas.X - medial) / (lateral - medial), 0.0, 1.0)
    level = rows.max() - depth - rng.uniform(0.3, 0.6) * depth * t**2
    ramp = canvas.px(0.02)
    fluid = np.clip((canvas.Y - level) / ramp, 0.0, 1.0) * lung
    canvas.attenuation += a.lung_depth * 0.9 * fluid
    canvas.markings *= 1.0 - fluid
    return fluid > 0.3


def draw_pneumothorax(canvas: Canvas, side: int) -> np.ndarray:
    """Pneumothorax: the lung retracts towards the hilum, leaving an apical-lateral rim of
    black air without vessel markings, bounded by a thin white visceral pleural line."""
    a, rng = canvas.anatomy, canvas.rng
    hu, hv = a.hilum(side)
    factor = rng.uniform(0.55, 0.72)
    shrunk = lung_mask(a, hu + (canvas.U - hu) / factor, hv + (canvas.V - hv) / factor, side)
    rim = canvas.lungs[side] & ~shrunk & (canvas.V < hv + 0.12 * a.height)
    rim = ndimage.binary_opening(rim, iterations=1)
    if not rim.any():
        return rim
    canvas.markings[rim] = 0.0
    canvas.attenuation -= 0.1 * rim
    pleura = shrunk & ~ndimage.binary_erosion(shrunk, iterations=max(1, canvas.size // 256))
    pleura &= ndimage.binary_dilation(rim, iterations=2)
    canvas.attenuation += 0.16 * pleura
    return rim | pleura


def _place(canvas: Canvas, side: int, radius_px: float, zone: tuple[float, float]
           ) -> tuple[float, float] | None:
    """A random pixel ``(x, y)`` in the lung, at least ``radius_px`` inside it, free of other
    findings, with its row in the ``zone`` fraction of the lung height."""
    lung = canvas.lungs[side] & ~canvas.occupied
    depth = ndimage.distance_transform_edt(lung)
    rows, _ = _lung_rows(canvas, side)
    top, height = rows.min(), rows.max() - rows.min()
    allowed = (depth >= radius_px) & (canvas.Y >= top + zone[0] * height) & \
        (canvas.Y <= top + zone[1] * height)
    candidates = np.flatnonzero(allowed)
    if candidates.size == 0:
        candidates = np.flatnonzero(depth >= max(depth.max() * 0.7, 1))
    if candidates.size == 0:
        return None
    index = int(canvas.rng.choice(candidates))
    return float(index % canvas.size), float(index // canvas.size)


def _round_opacity(canvas: Canvas, centre: tuple[float, float], radius: float,
                   strength: float, edge: float, lobulation: float) -> np.ndarray:
    """A (slightly lobulated) disc of opacity; returns its bool mask."""
    dx, dy = canvas.X - centre[0], canvas.Y - centre[1]
    theta = np.arctan2(dy, dx)
    phase = canvas.rng.uniform(0, 2 * np.pi)
    outline = radius * (1.0 + lobulation * np.sin(3 * theta + phase))
    profile = np.clip((outline - np.hypot(dx, dy)) / edge, 0.0, 1.0)
    canvas.attenuation += strength * profile
    return profile > 0.3


def draw_mass(canvas: Canvas, side: int) -> np.ndarray:
    """Mass: a large round lobulated opacity (3.5-6 cm: radius 0.05-0.08 of the film width)."""
    radius = canvas.px(canvas.rng.uniform(0.05, 0.08))
    centre = _place(canvas, side, 0.8 * radius, (0.15, 0.8))
    if centre is None:
        return np.zeros_like(canvas.occupied)
    return _round_opacity(canvas, centre, radius, canvas.rng.uniform(0.34, 0.42),
                          edge=0.15 * radius, lobulation=0.08)


def draw_nodule(canvas: Canvas, side: int) -> np.ndarray:
    """Nodule: a small, sharp, dense round opacity (2-3 cm: radius 0.028-0.04 of the width,
    the conspicuous end of real nodules, so that a 256-px image still shows it)."""
    radius = max(canvas.px(canvas.rng.uniform(0.028, 0.04)), 1.5)
    centre = _place(canvas, side, 1.5 * radius, (0.1, 0.85))
    if centre is None:
        return np.zeros_like(canvas.occupied)
    return _round_opacity(canvas, centre, radius, canvas.rng.uniform(0.42, 0.5),
                          edge=1.2, lobulation=0.03)


def draw_atelectasis(canvas: Canvas, side: int) -> np.ndarray:
    """Atelectasis: a plate-like band of collapsed lung in the lower zone (the volume loss,
    a raised hemidiaphragm, is applied to the anatomy beforehand)."""
    rng, a = canvas.rng, canvas.anatomy
    rows, cols = _lung_rows(canvas, side)
    width = cols.max() - cols.min()
    thickness = canvas.px(rng.uniform(0.02, 0.03))
    centre = _place(canvas, side, 1.5 * thickness, (0.55, 0.85))
    if centre is None:
        return np.zeros_like(canvas.occupied)
    length = rng.uniform(0.45, 0.7) * width
    angle = math.radians(rng.uniform(-25, 25))
    along = (canvas.X - centre[0]) * math.cos(angle) + (canvas.Y - centre[1]) * math.sin(angle)
    across = -(canvas.X - centre[0]) * math.sin(angle) + (canvas.Y - centre[1]) * math.cos(angle)
    s = np.clip(np.abs(along) / (length / 2), 0.0, 1.0)
    local = thickness * np.sqrt(1.0 - s**2)  # lens shaped: thick middle, tapered ends
    band = np.clip((local - np.abs(across)) / 1.2, 0.0, 1.0) * canvas.lungs[side]
    canvas.attenuation += a.lung_depth * 0.85 * band
    canvas.markings *= 1.0 - band
    return band > 0.3


def draw_consolidation(canvas: Canvas, side: int) -> np.ndarray:
    """Consolidation: a large dense airspace opacity that fills the lung out to the pleura,
    with ill-defined edges and dark air bronchograms inside."""
    rng, a = canvas.rng, canvas.anatomy
    rows, cols = _lung_rows(canvas, side)
    centre = _place(canvas, side, canvas.px(0.03), (0.2, 0.6))
    if centre is None:
        return np.zeros_like(canvas.occupied)
    rx = rng.uniform(0.45, 0.7) * (cols.max() - cols.min())
    ry = rng.uniform(0.12, 0.18) * (rows.max() - rows.min())
    shape = 1 - ((canvas.X - centre[0]) / rx) ** 2 - ((canvas.Y - centre[1]) / ry) ** 2
    shape += 0.25 * canvas.smooth_noise(canvas.px(0.02))
    region = np.clip(shape / 0.3, 0.0, 1.0) * canvas.lungs[side]
    bronchi = np.exp(-((canvas.smooth_noise(canvas.px(0.025)) / 0.12) ** 2))
    canvas.attenuation += a.lung_depth * region * (0.85 - 0.25 * bronchi)
    canvas.markings *= 1.0 - region
    return region > 0.3


def draw_infiltration(canvas: Canvas, side: int) -> np.ndarray:
    """Infiltration: a cluster of patchy, ill-defined, fainter opacities in one lung zone."""
    rng = canvas.rng
    spread = canvas.px(rng.uniform(0.06, 0.09))
    centre = _place(canvas, side, 0.6 * spread, (0.3, 0.85))
    if centre is None:
        return np.zeros_like(canvas.occupied)
    patches = np.zeros_like(canvas.attenuation)
    for _ in range(rng.integers(5, 9)):
        px, py = centre + rng.normal(0, 0.55 * spread, size=2)
        sigma = canvas.px(rng.uniform(0.014, 0.024))
        patches += np.exp(-((canvas.X - px) ** 2 + (canvas.Y - py) ** 2) / (2 * sigma**2))
    patches = np.minimum(patches, 1.0) * canvas.lungs[side]
    patches *= 0.75 + 0.25 * canvas.smooth_noise(canvas.px(0.006))
    canvas.attenuation += 0.3 * patches
    return patches > 0.3


def draw_pleural_thickening(canvas: Canvas, side: int) -> np.ndarray:
    """Pleural thickening: a dense, undulating white rind with a sharp inner contour lining
    the apex and upper lateral wall, whiter than the chest wall around it."""
    a, rng = canvas.anatomy, canvas.rng
    lung = canvas.lungs[side]
    depth = ndimage.distance_transform_edt(lung)
    # thickness varies along the wall (plaque-like), never thinner than about 2 cm
    thickness = canvas.px(rng.uniform(0.03, 0.042)) * (
        1.0 + 0.25 * canvas.smooth_noise(canvas.px(0.04)).clip(-1.5, 1.5))
    hu, hv = a.hilum(side)
    # tapers off towards the hilum level and the medial apex instead of ending in a step
    thickness = thickness * np.clip((hv - canvas.V) / 0.08, 0.0, 1.0) * np.clip(
        (side * (canvas.U - hu) + 0.04) / 0.06, 0.0, 1.0)
    band = np.clip((thickness - depth) / 1.5, 0.0, 1.0) * lung  # sharp inner contour
    # denser than the chest wall outside the lung: a white rind, not merely a smaller lung
    canvas.attenuation += a.lung_depth * 1.3 * band
    canvas.markings *= 1.0 - band
    return band > 0.3


def draw_hernia(canvas: Canvas, side: int) -> np.ndarray:
    """Hiatal hernia: a round retrocardiac opacity above the diaphragm with a dark gas cap
    and a flat air-fluid level, seen through the heart shadow."""
    a, rng = canvas.anatomy, canvas.rng
    hu, hv, hrx, hry = a.heart()
    radius = rng.uniform(0.055, 0.075)
    cu, cv = a.cx + rng.uniform(-0.01, 0.03), hv + 0.35 * hry
    disc = (canvas.U - cu) ** 2 + (canvas.V - cv) ** 2 < radius**2
    gas = disc & (canvas.V < cv - rng.uniform(0.0, 0.3) * radius)
    rim = disc & ~ndimage.binary_erosion(disc, iterations=max(1, canvas.size // 128))
    canvas.attenuation += 0.08 * disc + 0.1 * rim - 0.36 * gas
    return disc


LOCAL: dict[str, Callable[[Canvas, int], np.ndarray]] = {
    "Effusion": draw_effusion,
    "Pneumothorax": draw_pneumothorax,
    "Consolidation": draw_consolidation,
    "Atelectasis": draw_atelectasis,
    "Infiltration": draw_infiltration,
    "Mass": draw_mass,
    "Nodule": draw_nodule,
    "Pleural_Thickening": draw_pleural_thickening,
    "Hernia": draw_hernia,
}


def render(size: int, anatomy: Anatomy, findings: dict[str, int], rng: np.random.Generator,
           acq: Acquisition | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Draw one phantom.

    Args:
        size: output side in pixels.
        anatomy: the patient (from :func:`sample_anatomy`/:func:`follow_up`).
        findings: finding name -> side (-1 patient right, +1 patient left) to plant; names
            must be in :data:`STRUCTURAL` or :data:`LOCAL`.
        rng: the only source of randomness (same state -> same picture).
        acq: placement and processing; drawn from ``rng`` when ``None``.

    Returns ``(image uint8 (size, size), {finding: bool mask (size, size)})``, the masks
    covering what each finding changed (the heart shadow for Cardiomegaly; none for the
    diffuse Emphysema).
    """
    acq = acq or sample_acquisition(rng)
    for name, change in STRUCTURAL.items():
        if name in findings:
            anatomy = change(anatomy, rng)
    if "Atelectasis" in findings:
        anatomy = lose_volume(anatomy, rng, findings["Atelectasis"])
    canvas = Canvas(size, anatomy, acq, rng)
    draw_anatomy(canvas)
    masks: dict[str, np.ndarray] = {}
    if "Cardiomegaly" in findings:
        masks["Cardiomegaly"] = heart_mask(canvas)
    for name, draw in LOCAL.items():
        if name in findings:
            masks[name] = draw(canvas, findings[name])
            canvas.occupied |= ndimage.binary_dilation(masks[name], iterations=2)
    return finish(canvas), masks
