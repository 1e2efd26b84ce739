"""The healthy phantom: a patient's anatomy, the acquisition, and the canvas they are drawn on.

The picture is built in an *anatomy frame* ``(U, V)`` (``U`` left to right, ``V`` top to
bottom, the thorax spanning about ``[0.14, 0.86] x [0.1, 0.8]``) that is mapped onto the pixel
grid by a random shift, zoom and small rotation, so that position and scale vary between
images. Brightness is composed as *attenuation*: soft tissue everywhere, darker air-filled
lungs (with vessel markings fanning out from the hila), a bright mediastinum, heart, spine,
diaphragm domes, ribs and clavicles; then random windowing, gamma, blur and noise.
"""

from __future__ import annotations

import math
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
