"""Drawing one synthetic PA chest radiograph ("phantom") with planted findings.

The picture is built in an *anatomy frame* ``(U, V)`` (``U`` left to right, ``V`` top to
bottom, the thorax spanning about ``[0.14, 0.86] x [0.1, 0.8]``) that is mapped onto the pixel
grid by a random shift, zoom and small rotation, so that position and scale vary between
images. Brightness is composed as *attenuation*: soft tissue everywhere, darker air-filled
lungs (with vessel markings fanning out from the hila), a bright mediastinum, heart, spine,
diaphragm domes, ribs and clavicles; then random windowing, gamma, blur and noise.

Each finding drawer changes that picture where a radiologist would look for it and returns
the boolean mask of the change (``(H, W)``), from which :mod:`chestx.synth.cohort` writes the
true box. See :data:`chestx.synth.cohort.PLANTED_FINDINGS` and the synth docstring for the list.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

#: Patient sides: -1 = patient's right lung (image left), +1 = patient's left (image right).
SIDES = (-1, 1)


@dataclass(frozen=True)
class Anatomy:
    """Shape parameters of one patient, in anatomy-frame units (image width = 1)."""

    cx: float = 0.5  # midline
    apex: float = 0.12  # top of the lungs
    base: float = 0.74  # lowest point of the lungs (costophrenic angles)
    half_width: float = 0.36  # midline to the lateral lung edge
    dome: float = 0.06  # height of the diaphragm domes above ``base``
    right_raise: float = 0.02  # the right hemidiaphragm sits higher
    mediastinum: float = 0.065  # half width of the upper mediastinum
    heart_ratio: float = 0.44  # cardiothoracic ratio (heart width / thorax width)
    heart_height: float = 0.13  # vertical half axis of the heart
    lung_depth: float = 0.34  # how much darker air-filled lung is than soft tissue
    markings: float = 0.07  # contrast of the vessel markings
    rib_spacing: float = 0.062
    rib_phase: float = 0.0
    body_margin: float = 0.1  # soft tissue outside the ribs
    raised_side: int = 0  # hemidiaphragm raised by volume loss (Atelectasis), 0 = none
    raise_amount: float = 0.0

    @property
    def height(self) -> float:
        return self.base - self.apex

    def lung_centre(self, side: int) -> float:
        return self.cx + side * (self.mediastinum + self.half_width) / 2

    def lung_half_width(self) -> float:
        return (self.half_width - self.mediastinum) / 2

    def hilum(self, side: int) -> tuple[float, float]:
        return self.cx + side * (self.mediastinum + 0.035), self.apex + 0.5 * self.height

    def heart(self) -> tuple[float, float, float, float]:
        """Heart ellipse ``(centre u, centre v, half width, half height)``."""
        rx = self.heart_ratio * self.half_width
        return self.cx + 0.3 * rx, self.base - 0.6 * self.heart_height - 0.01, rx, \
            self.heart_height


def sample_anatomy(rng: np.random.Generator) -> Anatomy:
    """A normal patient: every shape parameter drawn around its typical value."""
    return Anatomy(
        cx=0.5 + rng.uniform(-0.015, 0.015),
        apex=rng.uniform(0.09, 0.15),
        base=rng.uniform(0.70, 0.78),
        half_width=rng.uniform(0.33, 0.39),
        dome=rng.uniform(0.045, 0.075),
        right_raise=rng.uniform(0.0, 0.03),
        mediastinum=rng.uniform(0.055, 0.075),
        heart_ratio=rng.uniform(0.38, 0.47),
        heart_height=rng.uniform(0.11, 0.14),
        lung_depth=rng.uniform(0.34, 0.42),
        markings=rng.uniform(0.08, 0.12),
        rib_spacing=rng.uniform(0.056, 0.068),
        rib_phase=rng.uniform(0.0, 1.0),
        body_margin=rng.uniform(0.06, 0.16),
    )


def follow_up(anatomy: Anatomy, rng: np.random.Generator) -> Anatomy:
    """The same patient on another day: small changes of inspiration and posture."""
    return replace(anatomy, base=anatomy.base + rng.uniform(-0.015, 0.015),
                   dome=anatomy.dome * rng.uniform(0.9, 1.1),
                   lung_depth=anatomy.lung_depth + rng.uniform(-0.02, 0.02))


@dataclass(frozen=True)
class Acquisition:
    """How the film was taken and processed: placement, window, gamma, blur, noise."""

    shift: tuple[float, float] = (0.0, 0.0)
    zoom: float = 1.0
    angle: float = 0.0  # degrees
    low: float = 0.0  # attenuation shown black
    high: float = 1.0  # attenuation shown white
    gamma: float = 1.0
    blur: float = 0.6  # pixels at 256 px
    noise: float = 0.02


def sample_acquisition(rng: np.random.Generator) -> Acquisition:
    return Acquisition(
        shift=(rng.uniform(-0.04, 0.04), rng.uniform(-0.04, 0.04)),
        zoom=rng.uniform(0.9, 1.08),
        angle=rng.uniform(-3.0, 3.0),
        low=rng.uniform(-0.06, 0.1),
        high=rng.uniform(0.82, 1.05),
        gamma=rng.uniform(0.8, 1.25),
        blur=rng.uniform(0.4, 0.9),
        noise=rng.uniform(0.01, 0.03),
    )


class Canvas:
    """The arrays one phantom is drawn on (all ``(S, S)`` float32 unless said otherwise).

    ``U, V``: anatomy-frame coordinates of each pixel; ``X, Y``: pixel column and row;
    ``attenuation``: the picture without vessel markings; ``markings``: the vessel markings
    (kept apart so a pneumothorax can remove them); ``lungs[side]``: bool lung masks;
    ``occupied``: bool, pixels already changed by a finding (so findings do not pile up).
    """

    def __init__(self, size: int, anatomy: Anatomy, acq: Acquisition,
                 rng: np.random.Generator) -> None:
        self.size, self.anatomy, self.acq, self.rng = size, anatomy, acq, rng
        grid = ((np.arange(size) + 0.5) / size).astype(np.float32)  # float32: 2x faster
        x, y = np.meshgrid(grid - np.float32(0.5 + acq.shift[0]),
                           grid - np.float32(0.5 + acq.shift[1]))
        cos, sin = math.cos(math.radians(acq.angle)), math.sin(math.radians(acq.angle))
        self.U = 0.5 + (cos * x + sin * y) / acq.zoom
        self.V = 0.5 + (-sin * x + cos * y) / acq.zoom
        self.Y, self.X = np.mgrid[0:size, 0:size].astype(np.float32)
        self.pixel = 1.0 / (size * acq.zoom)  # one pixel in anatomy units
        self.lungs = {side: lung_mask(anatomy, self.U, self.V, side) for side in SIDES}
        self.occupied = np.zeros((size, size), dtype=bool)
        self.attenuation = np.zeros((size, size), dtype=np.float32)
        self.markings = np.zeros((size, size), dtype=np.float32)

    def px(self, length: float) -> float:
        """An anatomy-frame length in pixels."""
        return length / self.pixel

    def smooth_noise(self, sigma_px: float) -> np.ndarray:
        """Gaussian-smoothed white noise scaled to unit standard deviation."""
        noise = self.rng.standard_normal((self.size, self.size), dtype=np.float32)
        field = ndimage.gaussian_filter(noise, max(sigma_px, 0.5))
        return field / (field.std() + 1e-12)


def diaphragm(anatomy: Anatomy, u: np.ndarray, side: int) -> np.ndarray:
    """Row ``v`` of the dome of one hemidiaphragm at columns ``u`` (higher dome = smaller v)."""
    centre, half = anatomy.lung_centre(side), anatomy.lung_half_width() * 1.15
    t = np.clip((u - centre) / half, -1.0, 1.0)
    lift = anatomy.right_raise if side == -1 else 0.0
    if anatomy.raised_side == side:
        lift += anatomy.raise_amount
    return anatomy.base - lift - anatomy.dome * (1.0 - t * t) - 0.4 * lift * t * t


def lung_mask(anatomy: Anatomy, u: np.ndarray, v: np.ndarray, side: int) -> np.ndarray:
    """Bool mask of one lung: a half ellipse (apex, lateral wall) above its diaphragm dome,
    lateral to the mediastinum, the aortic knob (left) and the heart."""
    centre, half = anatomy.lung_centre(side), anatomy.lung_half_width()
    inside = ((u - centre) / (half * 1.06)) ** 2 + ((v - anatomy.base) / anatomy.height) ** 2 < 1
    inside &= v < diaphragm(anatomy, u, side)
    inside &= side * (u - anatomy.cx) > anatomy.mediastinum
    hu, hv, hrx, hry = anatomy.heart()
    inside &= ((u - hu) / hrx) ** 2 + ((v - hv) / hry) ** 2 > 1
    if side == 1:  # aortic knob bulges into the upper left lung
        ku, kv = anatomy.cx + anatomy.mediastinum + 0.005, anatomy.apex + 0.22 * anatomy.height
        inside &= ((u - ku) ** 2 + (v - kv) ** 2) > 0.028**2
    return inside


def draw_anatomy(canvas: Canvas) -> None:
    """Soft tissue, abdomen, lungs, mediastinum, spine, ribs, clavicles and vessel markings."""
    a, u, v = canvas.anatomy, canvas.U, canvas.V
    lungs = canvas.lungs[-1] | canvas.lungs[1]
    body = np.abs(u - a.cx) < a.half_width + a.body_margin
    att = np.where(body, 0.58, 0.1) + 0.08 * np.clip(v - a.apex, 0, 1)
    below = v > np.where(u < a.cx, diaphragm(a, u, -1), diaphragm(a, u, 1))
    att += 0.09 * (below & body)
    att += 0.04 * (np.abs(u - a.cx) < 0.03) * (v > a.apex - 0.1)  # spine
    hu, hv, hrx, hry = a.heart()
    att += 0.05 * (((u - hu) / hrx) ** 2 + ((v - hv) / hry) ** 2 < 1)
    # lungs: darker, a little less so at the apices (overlying soft tissue)
    apical = np.clip(1.0 - (v - a.apex) / (0.3 * a.height), 0.0, 1.0)
    att -= lungs * a.lung_depth * (1.0 - 0.25 * apical)
    bubble_u, bubble_v = a.lung_centre(1) + 0.03, diaphragm(a, np.array(a.lung_centre(1)), 1)
    att -= 0.22 * (((u - bubble_u) / 0.045) ** 2 + ((v - bubble_v - 0.04) / 0.028) ** 2 < 1)
    att += _ribs(a, u, v) * np.where(lungs, 1.0, 0.45) * body
    att += 0.1 * _clavicles(a, u, v)
    canvas.attenuation = att
    canvas.markings = _vessel_markings(canvas, lungs)


def _ribs(a: Anatomy, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Posterior ribs: 11 arcs rising from the spine, then curving down to the lateral wall
    (one pass: the rib number is the arc phase, the band its distance to an integer)."""
    d = np.abs(u - a.cx)
    first = a.apex - 0.02 + a.rib_phase * a.rib_spacing - 0.25 * d + 1.6 * d * d
    phase = (v - first) / a.rib_spacing
    offset = (phase - np.round(phase)) * a.rib_spacing
    band = np.exp(-((offset / (0.165 * a.rib_spacing)) ** 4))
    inside = (phase > -0.5) & (phase < 10.5) & (d < a.half_width + 0.02) & (d > 0.02)
    return 0.055 * band * inside


def _clavicles(a: Anatomy, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Two bars from the sternal notch out and slightly up to the shoulders."""
    out = np.zeros_like(u)
    near = (v > a.apex - 0.06) & (v < a.apex + 0.09)  # only these pixels can be touched
    un, vn = u[near], v[near]
    for side in SIDES:
        p0 = np.array([a.cx + side * 0.035, a.apex + 0.05])
        p1 = np.array([a.cx + side * 0.3, a.apex - 0.015])
        out[near] = np.maximum(out[near], _segment_band(un, vn, p0, p1, 0.014))
    return out


def _segment_band(u: np.ndarray, v: np.ndarray, p0: np.ndarray, p1: np.ndarray,
                  half_thickness: float) -> np.ndarray:
    """Soft band of ``half_thickness`` around the segment ``p0``-``p1`` (values in [0, 1])."""
    direction = p1 - p0
    t = np.clip(((u - p0[0]) * direction[0] + (v - p0[1]) * direction[1])
                / float(direction @ direction), 0.0, 1.0)
    dist = np.hypot(u - p0[0] - t * direction[0], v - p0[1] - t * direction[1])
    return np.clip(1.5 - dist / half_thickness, 0.0, 1.0)


def _vessel_markings(canvas: Canvas, lungs: np.ndarray) -> np.ndarray:
    """Vessels: streaks radiating from each hilum (ridges of noise smoothed along the rays,
    sampled in polar coordinates), fading towards the periphery. Computed on lung pixels
    only."""
    a, rng = canvas.anatomy, canvas.rng
    out = np.zeros_like(canvas.U)
    for side in SIDES:
        inside = canvas.lungs[side]
        hu, hv = a.hilum(side)
        du, dv = canvas.U[inside] - hu, canvas.V[inside] - hv
        radius = np.hypot(du, dv)
        polar = rng.standard_normal((256, 128), dtype=np.float32)
        polar = ndimage.gaussian_filter(polar, (2.7, 8.0), mode="wrap")
        polar /= polar.std()
        rows = ((np.arctan2(dv, du) + np.pi) * (255.99 / (2 * np.pi))).astype(np.intp)
        cols = np.minimum(radius * 256, 127).astype(np.intp)
        field = polar[rows, cols]  # nearest lookup: the polar grid is finer than the streaks
        out[inside] = np.exp(-((field / 0.35) ** 2)) * (0.3 + np.exp(-radius / 0.16))
    return a.markings * out


def finish(canvas: Canvas) -> np.ndarray:
    """Window, gamma, blur and noise -> ``uint8 (S, S)``."""
    acq = canvas.acq
    picture = canvas.attenuation + canvas.markings
    picture = ndimage.gaussian_filter(picture, acq.blur * canvas.size / 256)
    picture = np.clip((picture - acq.low) / (acq.high - acq.low), 0.0, 1.0) ** acq.gamma
    picture += acq.noise * canvas.rng.standard_normal(picture.shape, dtype=np.float32)
    return np.round(np.clip(picture, 0.0, 1.0) * 255).astype(np.uint8)


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
