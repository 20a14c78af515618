"""Synthetic B-mode ultrasound phantom for nerve-block segmentation.

The kit's embedded default dataset and its test data. Each frame is rendered from a
"subject" anatomy (skin, subcutaneous fat, striated muscle layers and a muscle belly bounded
by hyperechoic fascia, a honeycomb nerve, an anechoic vessel, sometimes a bone surface with
its shadow) seen through a "probe pose" (shift, slight scale, probe pressure). The tissue
echogenicity map is multiplied by Rayleigh speckle whose grain is elongated laterally,
attenuated with depth, partially compensated by a time-gain curve and compressed for display.

Only numpy and Pillow are imported: tests use this module on machines without TensorFlow.
Sizes are ``(height, width)``. Geometry is in "depth units": y in [0, 1] over the image
height and x in [0, width / height], so circles stay circles in non-square frames.

Class map: 0 background, 1 nerve (outer oval incl. epineurium), 2 vessel (lumen).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

BACKGROUND, NERVE, VESSEL = 0, 1, 2
CLASS_NAMES = {BACKGROUND: "background", NERVE: "nerve", VESSEL: "vessel"}
# Palette for the mask PNGs: index 1 yellow, 2 red, everything else black.
PALETTE = [0, 0, 0, 255, 220, 0, 230, 30, 30] + [0] * (3 * 253)

_PAD = 0.25  # how far (depth units) anatomy textures extend beyond the frame
_PROFILE_N = 16  # samples of a fascia's brightness/thickness profile over the padded width
_GAMMA = 0.62  # display compression exponent
_REF = 1.6  # envelope amplitude shown as white
_FLOOR = 0.004  # electronic noise floor (keeps anechoic regions from being flat zero)
_COS48 = np.cos(np.linspace(0, 2 * np.pi, 48, endpoint=False))
_SIN48 = np.sin(np.linspace(0, 2 * np.pi, 48, endpoint=False))


@dataclass(frozen=True)
class _Ellipse:
    """An ellipse in depth units; ``angle`` in radians."""

    cx: float
    cy: float
    a: float
    b: float
    angle: float = 0.0


@dataclass(frozen=True)
class _Fascia:
    """A roughly horizontal band y(x) = y0 + tilt*(x-.5) + amp*sin(freq*x + phase)."""

    y0: float
    tilt: float
    amp: float
    freq: float
    phase: float
    thick: float
    bright: np.ndarray  # brightness profile along x (coarse)
    width: np.ndarray  # thickness multiplier along x (coarse)


@dataclass(frozen=True)
class _Nerve:
    """Nerve outline, fascicles (u, v, r, echo inside its unit disk) and outline wobble."""

    shape: _Ellipse
    fascicles: np.ndarray
    wobble: np.ndarray  # rows of (harmonic, amplitude, phase)
    matrix: float  # echogenicity of the connective tissue between fascicles
    rim: np.ndarray  # epineurium brightness profile around the outline (coarse, by angle)


@dataclass(frozen=True)
class _Belly:
    """A darker muscle belly wrapped in a fascia sheath of varying brightness."""

    shape: _Ellipse
    sheath: np.ndarray  # sheath brightness profile around the outline (coarse, by angle)


@dataclass(frozen=True)
class _Bone:
    """A convex bright bone surface with an acoustic shadow beneath it."""

    y0: float
    xc: float
    half: float
    bend: float


@dataclass(frozen=True)
class _Anatomy:
    """Everything fixed for one subject."""

    aspect: float
    skin: float
    fascia: tuple[_Fascia, ...]
    layer_base: np.ndarray  # echogenicity of each layer between fascia (len(fascia) + 1)
    layer_thresh: np.ndarray  # striation threshold per layer (lower = denser streaks)
    stria: np.ndarray  # low-res striation texture (fine rows, coarse columns)
    tissue: np.ndarray  # low-res smooth multiplicative echogenicity map
    belly: _Belly | None
    nerve: _Nerve
    vessel: _Ellipse | None
    bone: _Bone | None
    gain: float
    alpha: float  # attenuation per depth unit before compensation
    tgc: float  # fraction of the attenuation compensated by time-gain
    focus: float


@dataclass(frozen=True)
class _Pose:
    """One probe placement relative to the subject's anatomy."""

    dx: float
    dy: float
    scale: float
    squash: float
    gain: float


# ----------------------------------------------------------------------------- sampling


def _profile(
    rng: np.random.Generator, lo: float, hi: float, spread: float, mid: float = 0.8
) -> np.ndarray:
    """A coarse random 1D profile around ``mid``, clipped to [lo, hi]."""
    p = mid + spread * rng.standard_normal(_PROFILE_N)
    return np.clip(p, lo, hi).astype(np.float32)


def _sample_fascia(rng: np.random.Generator, y0: float, thick: float) -> _Fascia:
    """One fascia band around depth ``y0``."""
    return _Fascia(
        y0=y0,
        tilt=float(rng.uniform(-0.1, 0.1)),
        amp=float(rng.uniform(0.0, 0.03)),
        freq=float(rng.uniform(2.0, 6.0)),
        phase=float(rng.uniform(0, 2 * np.pi)),
        thick=thick,
        bright=_profile(rng, 0.0, 1.3, 0.55, mid=0.65),
        width=_profile(rng, 0.4, 1.6, 0.35),
    )


def _fascia_y(f: _Fascia, x: np.ndarray | float) -> np.ndarray | float:
    """Depth of fascia ``f`` at anatomy x."""
    return f.y0 + f.tilt * (x - 0.5) + f.amp * np.sin(f.freq * x + f.phase)


def _fascia_through(rng: np.random.Generator, x: float, y: float, thick: float) -> _Fascia:
    """A fascia band that passes through (x, y)."""
    f = _sample_fascia(rng, y, thick)
    off = float(_fascia_y(f, x)) - y
    return _Fascia(f.y0 - off, f.tilt, f.amp, f.freq, f.phase, f.thick, f.bright, f.width)


def _half_height(e: _Ellipse) -> float:
    """Vertical half-extent of a rotated ellipse."""
    return float(np.hypot(e.a * np.sin(e.angle), e.b * np.cos(e.angle)))


def _bound_r(e: _Ellipse) -> float:
    """Radius of a circle enclosing the ellipse."""
    return max(e.a, e.b)


def _sample_fascicles(rng: np.random.Generator) -> np.ndarray:
    """Non-overlapping round fascicles packed in the unit disk, leaving room for the rim."""
    target, m = int(rng.integers(7, 18)), 120
    r = rng.uniform(0.08, 0.24, m)
    t = rng.uniform(0, 2 * np.pi, m)
    d = (0.72 - r) * np.sqrt(rng.uniform(0, 1, m))
    u, v = d * np.cos(t), d * np.sin(t)
    gap = np.hypot(u[:, None] - u[None, :], v[:, None] - v[None, :])
    clash = gap <= r[:, None] + r[None, :] + 0.05
    blocked = np.zeros(m, dtype=bool)
    keep: list[int] = []
    for i in range(m):  # greedy: first come, first placed
        if not blocked[i]:
            keep.append(i)
            blocked |= clash[i]
            if len(keep) == target:
                break
    dark = rng.uniform(0.02, 0.11, m)
    return np.stack([u, v, r, dark], axis=1)[keep].astype(np.float32)


def _sample_nerve(rng: np.random.Generator, aspect: float) -> _Nerve:
    """A honeycomb nerve roughly mid-frame at 30-55 % depth."""
    a = float(rng.uniform(0.1, 0.18))
    shape = _Ellipse(
        cx=float(rng.uniform(0.32, 0.68) * aspect),
        cy=float(rng.uniform(0.3, 0.55)),
        a=a,
        b=a * float(rng.uniform(0.58, 0.82)),
        angle=float(rng.uniform(-0.3, 0.3)),
    )
    wobble = np.array(
        [[3, rng.uniform(0, 0.04), rng.uniform(0, 2 * np.pi)],
         [5, rng.uniform(0, 0.025), rng.uniform(0, 2 * np.pi)]],
        dtype=np.float32,
    )  # fmt: skip
    matrix = float(rng.uniform(0.28, 0.42))
    return _Nerve(shape, _sample_fascicles(rng), wobble, matrix, _profile(rng, 0.45, 1.2, 0.25))


def _clear_of(e: _Ellipse, others: list[_Ellipse], margin: float) -> bool:
    """True if ``e`` (grown by 35 % for its wall) keeps ``margin`` from every other ellipse."""
    return all(
        np.hypot(e.cx - o.cx, e.cy - o.cy) > 1.08 * _bound_r(o) + 1.35 * _bound_r(e) + margin
        for o in others
    )


def _sample_vessel(rng: np.random.Generator, nerve: _Ellipse, aspect: float) -> _Ellipse | None:
    """A vessel beside or below the nerve that never overlaps it (wall included)."""
    for _ in range(80):
        a = float(rng.uniform(0.05, 0.1))
        v = _Ellipse(
            cx=float(rng.uniform(0.15, 0.85) * aspect),
            cy=float(rng.uniform(0.3, 0.72)),
            a=a,
            b=a * float(rng.uniform(0.72, 0.98)),
            angle=float(rng.uniform(-0.2, 0.2)),
        )
        if _clear_of(v, [nerve], 0.03):
            return v
    return None


def _outside(belly: _Ellipse, e: _Ellipse, grow: float) -> bool:
    """True if ellipse ``e`` grown by ``grow`` lies entirely outside ``belly``."""
    xs = e.cx + grow * e.a * _COS48
    ys = e.cy + grow * e.b * _SIN48
    _, _, rho = _ellipse_coords(belly, ys, xs, grid=False)
    return bool(rho.min() > 1.05)


def _sample_belly(
    rng: np.random.Generator, aspect: float, top: float, avoid: list[_Ellipse]
) -> _Belly | None:
    """Sometimes a large lens-shaped muscle belly that clears the nerve and vessel."""
    if rng.random() < 0.35:
        return None
    for _ in range(40):
        b = float(rng.uniform(0.08, 0.17))
        e = _Ellipse(
            cx=float(rng.uniform(0.0, 1.0) * aspect),
            cy=top + b + float(rng.uniform(0.0, 0.25)),
            a=b * float(rng.uniform(2.0, 3.6)),
            b=b,
            angle=float(rng.uniform(-0.25, 0.25)),
        )
        if all(_outside(e, o, 1.4) for o in avoid):
            return _Belly(e, _profile(rng, 0.0, 1.3, 0.6, mid=0.55))
    return None


def _sample_bone(rng: np.random.Generator, aspect: float, floor: float) -> _Bone | None:
    """Sometimes a deep bone surface below everything else."""
    if rng.random() > 0.3 or floor > 0.8:
        return None
    return _Bone(
        y0=float(rng.uniform(max(floor + 0.06, 0.8), 0.92)),
        xc=float(rng.uniform(0.2, 0.8) * aspect),
        half=float(rng.uniform(0.2, 0.45) * aspect),
        bend=float(rng.uniform(0.3, 1.2)),
    )


def _sample_layers(
    rng: np.random.Generator, skin: float, nerve: _Ellipse
) -> tuple[tuple[_Fascia, ...], np.ndarray, np.ndarray]:
    """Fascia planes (one or two cradling the nerve) and each layer's echo and streakiness."""
    thick = float(rng.uniform(0.007, 0.012))
    hh = _half_height(nerve)
    fat = skin + float(rng.uniform(0.05, max(0.06, min(0.15, nerve.cy - hh - skin - 0.05))))
    fascia = [
        _sample_fascia(rng, fat, thick),
        _fascia_through(rng, nerve.cx, nerve.cy + hh + 0.02, thick * 1.4),
    ]
    if rng.random() < 0.5:
        fascia.append(_fascia_through(rng, nerve.cx, nerve.cy - hh - 0.03, thick * 1.2))
    if rng.random() < 0.6:
        fascia.append(_sample_fascia(rng, float(rng.uniform(0.72, 0.95)), thick))
    fascia.sort(key=lambda f: f.y0)
    n = len(fascia) + 1
    base = rng.uniform(0.07, 0.13, size=n).astype(np.float32)
    thresh = rng.uniform(0.6, 1.3, size=n).astype(np.float32)
    base[0], thresh[0] = rng.uniform(0.13, 0.2), rng.uniform(0.2, 0.6)  # subcutaneous fat
    return tuple(fascia), base, thresh


def _sample_textures(
    rng: np.random.Generator, size: tuple[int, int], aspect: float
) -> tuple[np.ndarray, np.ndarray]:
    """Striation texture (fine rows, coarse sheared columns) and a smooth tissue map."""
    rows = int(np.clip(1.2 * size[0], 64, 640))
    cols = int(np.ceil(12 * (aspect + 2 * _PAD)))
    stria = rng.standard_normal((rows, cols)).astype(np.float32)
    shift = np.round(np.arange(cols) * rng.uniform(-1.5, 1.5)).astype(np.int64)
    stria = stria[(np.arange(rows)[:, None] - shift[None, :]) % rows, np.arange(cols)]
    tissue = np.exp(0.35 * rng.standard_normal((9, int(np.ceil(9 * aspect)) + 1)))
    return stria, tissue.astype(np.float32)


def _sample_anatomy(
    rng: np.random.Generator, size: tuple[int, int], vessel: bool | None = None
) -> _Anatomy:
    """A random subject: layers, nerve, optional vessel, belly and bone, gain."""
    aspect = size[1] / size[0]
    skin = float(rng.uniform(0.025, 0.045))
    nerve = _sample_nerve(rng, aspect)
    fascia, base, thresh = _sample_layers(rng, skin, nerve.shape)
    has_vessel = bool(rng.random() < 0.7) if vessel is None else vessel
    ves = _sample_vessel(rng, nerve.shape, aspect) if has_vessel else None
    avoid = [nerve.shape] + ([ves] if ves is not None else [])
    floor = max(o.cy + 1.35 * _bound_r(o) for o in avoid)
    stria, tissue = _sample_textures(rng, size, aspect)
    return _Anatomy(
        aspect=aspect,
        skin=skin,
        fascia=fascia,
        layer_base=base,
        layer_thresh=thresh,
        stria=stria,
        tissue=tissue,
        belly=_sample_belly(rng, aspect, fascia[0].y0, avoid),
        nerve=nerve,
        vessel=ves,
        bone=_sample_bone(rng, aspect, floor),
        gain=float(rng.uniform(0.85, 1.15)),
        alpha=float(rng.uniform(2.2, 3.4)),
        tgc=float(rng.uniform(0.45, 0.7)),
        focus=float(rng.uniform(0.35, 0.65)),
    )


def _sample_pose(rng: np.random.Generator) -> _Pose:
    """A small probe move: shift, slight scale, probe pressure, gain jitter."""
    return _Pose(
        dx=float(rng.uniform(-0.05, 0.05)),
        dy=float(rng.uniform(-0.02, 0.02)),
        scale=float(rng.uniform(0.95, 1.05)),
        squash=float(rng.uniform(0.92, 1.04)),
        gain=float(rng.uniform(0.92, 1.08)),
    )


# ----------------------------------------------------------------------------- geometry


def _centres(n: int, height: int) -> np.ndarray:
    """Pixel-centre coordinates in depth units."""
    return (np.arange(n, dtype=np.float32) + 0.5) / np.float32(height)


def _to_anatomy_x(x: np.ndarray, anat: _Anatomy, pose: _Pose) -> np.ndarray:
    """Image x -> anatomy x (scaling about the frame centre)."""
    c = anat.aspect / 2
    return (x - c) / pose.scale + c + pose.dx


def _to_anatomy_y(y: np.ndarray, pose: _Pose) -> np.ndarray:
    """Image y -> anatomy y (scaling about the probe face)."""
    return y / pose.scale + pose.dy


def _to_image_y(ya: np.ndarray | float, pose: _Pose) -> np.ndarray | float:
    """Anatomy y -> image y."""
    return (ya - pose.dy) * pose.scale


def _posed(e: _Ellipse, anat: _Anatomy, pose: _Pose, squash: float = 1.0) -> _Ellipse:
    """An anatomy ellipse as seen in the image for this pose."""
    c = anat.aspect / 2
    return _Ellipse(
        cx=(e.cx - pose.dx - c) * pose.scale + c,
        cy=float(_to_image_y(e.cy, pose)),
        a=e.a * pose.scale,
        b=e.b * pose.scale * squash,
        angle=e.angle,
    )


def _interp_index(
    coords: np.ndarray, lo: float, hi: float, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Lower grid index and fraction for linear interpolation on n points over [lo, hi]."""
    pos = np.clip((coords - lo) / (hi - lo) * (n - 1), 0, n - 1 - 1e-4)
    i0 = pos.astype(np.int64)
    return i0, (pos - i0).astype(np.float32)


def _sample_grid(grid: np.ndarray, ya: np.ndarray, xa: np.ndarray, aspect: float) -> np.ndarray:
    """Bilinearly sample a low-res field (over the padded anatomy) at separable coords."""
    iy, fy = _interp_index(ya, -_PAD, 1 + _PAD, grid.shape[0])
    ix, fx = _interp_index(xa, -_PAD, aspect + _PAD, grid.shape[1])
    rows = grid[iy] * (1 - fy[:, None]) + grid[iy + 1] * fy[:, None]
    return rows[:, ix] * (1 - fx) + rows[:, ix + 1] * fx


def _profile_at(profile: np.ndarray, xa: np.ndarray, aspect: float) -> np.ndarray:
    """Linearly interpolate a coarse profile (over the padded width) at anatomy x."""
    grid = np.linspace(-_PAD, aspect + _PAD, len(profile))
    return np.interp(xa, grid, profile).astype(np.float32)


def _ellipse_box(e: _Ellipse, grow: float, shape: tuple[int, int]) -> tuple[slice, slice]:
    """Pixel slices covering the ellipse's bounding circle grown by ``grow`` (depth units)."""
    h, w = shape
    r = _bound_r(e) + grow
    r0, r1 = int(np.floor((e.cy - r) * h)), int(np.ceil((e.cy + r) * h)) + 1
    c0, c1 = int(np.floor((e.cx - r) * h)), int(np.ceil((e.cx + r) * h)) + 1
    return slice(max(r0, 0), min(r1, h)), slice(max(c0, 0), min(c1, w))


def _ellipse_coords(
    e: _Ellipse, ys: np.ndarray, xs: np.ndarray, grid: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit-disk coordinates (u, v) and elliptic radius rho (on the ys x xs grid by default)."""
    dy, dx = (ys[:, None] - e.cy, xs[None, :] - e.cx) if grid else (ys - e.cy, xs - e.cx)
    cs, sn = np.cos(e.angle), np.sin(e.angle)
    u = (dx * cs + dy * sn) / e.a
    v = (dy * cs - dx * sn) / e.b
    return u, v, np.sqrt(u * u + v * v)


def _ring(
    e: _Ellipse, u: np.ndarray, v: np.ndarray, rho: np.ndarray, at: float, t: float
) -> np.ndarray:
    """A band of thickness ``t`` (depth units) centred on the contour rho == ``at``."""
    grad = np.sqrt((u / e.a) ** 2 + (v / e.b) ** 2) / np.maximum(rho, 1e-6)
    dist = (rho - at) / np.maximum(grad, 1e-6)
    return np.exp(-((dist / t) ** 2))


def _around(profile: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """A coarse periodic profile sampled by polar angle in the unit disk."""
    n = len(profile)
    pos = (np.arctan2(v, u) + np.pi) * (n / (2 * np.pi))
    i0 = pos.astype(np.int64) % n
    f = pos - np.floor(pos)
    return profile[i0] * (1 - f) + profile[(i0 + 1) % n] * f


def _specular(v: np.ndarray, rho: np.ndarray, floor: float) -> np.ndarray:
    """Brightness factor of a boundary: strongest where it faces the probe (top/bottom)."""
    return floor + (1 - floor) * np.abs(v) / np.maximum(rho, 1e-6)


# ----------------------------------------------------------------------------- drawing


def _layers(
    anat: _Anatomy, pose: _Pose, y: np.ndarray, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Layered soft tissue (per-layer echo with striations, times a smooth map) and the
    striation texture itself, which the belly and nerve reuse for their grain."""
    xa, ya = _to_anatomy_x(x, anat, pose), _to_anatomy_y(y, pose)
    idx = np.zeros((len(y), len(x)), dtype=np.int64)
    for f in anat.fascia:
        idx += y[:, None] > _to_image_y(_fascia_y(f, xa), pose)[None, :]
    tex = _sample_grid(anat.stria, ya, xa, anat.aspect)
    streaks = np.clip((tex - anat.layer_thresh[idx]) * 1.5, 0, 1)
    echo = anat.layer_base[idx] * (1 + 3.0 * streaks)
    return echo * _sample_grid(anat.tissue, ya, xa, anat.aspect), tex


def _draw_fascia(
    echo: np.ndarray, anat: _Anatomy, pose: _Pose, y: np.ndarray, x: np.ndarray
) -> None:
    """Bright, slightly curved, roughly horizontal bands of varying brightness and width."""
    xa = _to_anatomy_x(x, anat, pose)
    for f in anat.fascia:
        yf = _to_image_y(_fascia_y(f, xa), pose)
        t = f.thick * pose.scale * _profile_at(f.width, xa, anat.aspect)
        d2 = ((y[:, None] - yf[None, :]) / t[None, :]) ** 2
        shape = 1.25 * np.exp(-d2) + 0.25 * np.exp(-d2 / 9)
        band = shape * _profile_at(f.bright, xa, anat.aspect)
        np.maximum(echo, band, out=echo)


def _draw_belly(
    echo: np.ndarray, tex: np.ndarray, belly: _Belly, e: _Ellipse, y: np.ndarray, x: np.ndarray
) -> None:
    """A darker striated muscle belly wrapped in a bright fascia sheath."""
    rs, cs = _ellipse_box(e, 0.03, echo.shape)
    u, v, rho = _ellipse_coords(e, y[rs], x[cs])
    inside = rho <= 1.0
    local = echo[rs, cs]
    muscle = 0.05 * (1 + 4.0 * np.clip((tex[rs, cs] - 0.8) * 1.5, 0, 1))
    local[inside] = muscle[inside]
    bright = _specular(v, rho, 0.15) * _around(belly.sheath, u, v)
    sheath = bright * _ring(e, u, v, rho, 1.0, 0.011)
    np.maximum(local, sheath, out=local)


def _draw_skin(echo: np.ndarray, anat: _Anatomy, y: np.ndarray) -> None:
    """Anechoic gel/lens above a bright skin line, probe-relative (not moved by the pose)."""
    skin = anat.skin
    echo[y < skin - 0.008] = 0.003
    line = 1.2 * np.exp(-(((y - skin) / 0.008) ** 2)) + 0.3 * np.exp(-(((y - 0.004) / 0.003) ** 2))
    np.maximum(echo, line[:, None], out=echo)


def _nerve_radius(nerve: _Nerve, u: np.ndarray, v: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Elliptic radius normalised by the wobbly outline (<= 1 inside the nerve)."""
    theta = np.arctan2(v, u)
    outline = np.ones_like(rho)
    for k, amp, phase in nerve.wobble:
        outline += amp * np.sin(k * theta + phase)
    return rho / outline


def _draw_nerve(
    echo: np.ndarray, label: np.ndarray, tex: np.ndarray, nerve: _Nerve, e: _Ellipse
) -> None:
    """Honeycomb nerve: bright epineurium, dark fascicles in brighter connective tissue."""
    h, w = echo.shape
    rs, cs = _ellipse_box(e, 0.03, echo.shape)
    u, v, rho = _ellipse_coords(e, _centres(h, h)[rs], _centres(w, h)[cs])
    rn = _nerve_radius(nerve, u, v, rho)
    soft = max(1.4 / h, 0.005) / e.b  # fascicle edge width in unit-disk units
    grain = np.clip(1 + 0.6 * tex[rs, cs], 0.3, 2.0)
    interior = nerve.matrix * grain
    for fu, fv, fr, dark in nerve.fascicles:
        d = np.sqrt((u - fu) ** 2 + (v - fv) ** 2)
        inner = np.clip((fr - d) / soft + 0.5, 0, 1)
        interior += (dark - interior) * inner
    rim = (
        1.3
        * _specular(v, rho, 0.4)
        * _around(nerve.rim, u, v)
        * np.sqrt(grain)
        * np.exp(-(((rn - 0.89) / 0.075) ** 2))
    )
    inside = rn <= 1.0
    local = echo[rs, cs]
    local[inside] = np.maximum(interior, rim)[inside]
    np.maximum(local, rim, out=local)
    label[rs, cs][inside] = NERVE


def _draw_vessel(echo: np.ndarray, label: np.ndarray, e: _Ellipse) -> None:
    """Anechoic lumen, bright wall (strongest top and bottom), posterior enhancement."""
    h, w = echo.shape
    ys, xs = _centres(h, h), _centres(w, h)
    _enhance_below(echo, e, ys, xs)
    rs, cs = _ellipse_box(e, 0.35 * _bound_r(e), echo.shape)
    u, v, rho = _ellipse_coords(e, ys[rs], xs[cs])
    wall = 1.0 * _specular(v, rho, 0.35) * _ring(e, u, v, rho, 1.0 + 0.6 / (e.b * h), 0.007)
    inside = rho <= 1.0
    local = echo[rs, cs]
    np.maximum(local, wall, out=local)
    local[inside] = 0.01
    label[rs, cs][inside] = VESSEL


def _enhance_below(echo: np.ndarray, e: _Ellipse, ys: np.ndarray, xs: np.ndarray) -> None:
    """Brighter column under a fluid-filled structure (posterior acoustic enhancement)."""
    r0 = int(np.searchsorted(ys, e.cy))
    cols = np.abs(xs - e.cx) < e.a
    if r0 >= len(ys) or not cols.any():
        return
    lateral = np.sqrt(np.clip(1 - ((xs[cols] - e.cx) / e.a) ** 2, 0, 1))
    fade = np.exp(-np.clip(ys[r0:] - e.cy - e.b, 0, None) / 0.3)
    echo[r0:, cols] *= 1 + 1.5 * fade[:, None] * lateral[None, :]


def _draw_bone(
    echo: np.ndarray, bone: _Bone, anat: _Anatomy, pose: _Pose, y: np.ndarray, x: np.ndarray
) -> None:
    """A bright convex bone surface with a dark acoustic shadow beneath it."""
    xa = _to_anatomy_x(x, anat, pose)
    t = (xa - bone.xc) / bone.half
    span = np.clip(1.5 - np.abs(t) ** 3, 0, 1)
    yb = _to_image_y(bone.y0 + bone.bend * 0.1 * t**2, pose)
    dist = y[:, None] - yb[None, :]
    echo *= 1 - 0.92 * span[None, :] * np.clip(dist / 0.025, 0, 1)
    line = 1.7 * span[None, :] * np.exp(-((dist / 0.012) ** 2))
    np.maximum(echo, line, out=echo)


# ----------------------------------------------------------------------------- imaging


def _kernel(sigma: float) -> np.ndarray:
    """A normalised 1D Gaussian kernel."""
    half = max(1, int(np.ceil(2.5 * sigma)))
    k = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    return (k / k.sum()).astype(np.float32)


def _convolve_valid(z: np.ndarray, k: np.ndarray, axis: int) -> np.ndarray:
    """'Valid' 1D convolution of ``z`` along ``axis`` with a small kernel."""
    n = z.shape[axis] - len(k) + 1
    out = np.zeros(z.shape[:axis] + (n,) + z.shape[axis + 1 :], dtype=z.dtype)
    for i, ki in enumerate(k):
        sl = [slice(None)] * z.ndim
        sl[axis] = slice(i, i + n)
        out += ki * z[tuple(sl)]
    return out


def _speckle(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Unit-mean multiplicative speckle with laterally elongated grain.

    A complex Gaussian field blurred by a PSF wider laterally than axially has a Rayleigh
    envelope; a small anisotropic post-detection blur then tames its contrast as a
    scanner's speckle filter would.
    """
    h, w = shape
    s = h / 128
    ky, kx = _kernel(0.35 + 0.45 * s), _kernel(0.6 + 0.9 * s)
    py, px = _kernel(0.3 + 0.3 * s), _kernel(0.6 + 1.0 * s)
    hh, ww = h + len(py) - 1, w + len(px) - 1
    z = rng.standard_normal((2, hh + len(ky) - 1, ww + len(kx) - 1), dtype=np.float32)
    z = _convolve_valid(_convolve_valid(z, ky, 1), kx, 2)
    sigma = np.sqrt(np.sum(ky**2) * np.sum(kx**2))
    rayleigh = np.hypot(z[0], z[1]) / np.float32(sigma * np.sqrt(np.pi / 2))
    return _convolve_valid(_convolve_valid(rayleigh, py, 0), px, 1)


def _depth_gain(anat: _Anatomy, pose: _Pose, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Attenuation with partial time-gain compensation, a focal bump and edge roll-off."""
    net = anat.alpha * (1 - anat.tgc)
    axial = np.exp(-net * y) * (1 + 0.25 * np.exp(-(((y - anat.focus) / 0.18) ** 2)))
    edge = np.minimum(x, anat.aspect - x)
    lateral = 1 - 0.3 * np.exp(-edge / 0.03)
    return (anat.gain * pose.gain) * axial[:, None] * lateral[None, :]


def _smooth(echo: np.ndarray) -> np.ndarray:
    """A tiny [1 2 1] blur both ways, softening drawn edges like a real PSF would."""
    p = np.pad(echo, 1, mode="edge")
    p = 0.25 * p[:-2] + 0.5 * p[1:-1] + 0.25 * p[2:]
    return 0.25 * p[:, :-2] + 0.5 * p[:, 1:-1] + 0.25 * p[:, 2:]


def _display(env: np.ndarray) -> np.ndarray:
    """Compress the envelope to 8-bit grey levels."""
    return (255 * np.clip(env / _REF, 0, 1) ** _GAMMA + 0.5).astype(np.uint8)


def _render(
    anat: _Anatomy, pose: _Pose, size: tuple[int, int], rng: np.random.Generator, nerve: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Render one frame of ``anat`` seen from ``pose``; returns (image, label)."""
    h, w = size
    y, x = _centres(h, h), _centres(w, h)
    echo, tex = _layers(anat, pose, y, x)
    _draw_fascia(echo, anat, pose, y, x)
    if anat.belly is not None:
        _draw_belly(echo, tex, anat.belly, _posed(anat.belly.shape, anat, pose), y, x)
    label = np.zeros(size, dtype=np.uint8)
    if anat.vessel is not None:
        _draw_vessel(echo, label, _posed(anat.vessel, anat, pose))
    if nerve:
        _draw_nerve(echo, label, tex, anat.nerve, _posed(anat.nerve.shape, anat, pose, pose.squash))
    if anat.bone is not None:
        _draw_bone(echo, anat.bone, anat, pose, y, x)
    _draw_skin(echo, anat, y)
    env = (_smooth(echo) + _FLOOR) * _speckle(rng, size) * _depth_gain(anat, pose, y, x)
    return _display(env), label


# ----------------------------------------------------------------------------- public API


def synth_frame(
    rng: np.random.Generator,
    size: tuple[int, int] = (128, 128),
    nerve: bool = True,
    vessel: bool | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (image uint8 HxW, label uint8 HxW with 0 background, 1 nerve, 2 vessel).

    A fresh random subject seen from a random probe pose. ``vessel=None`` draws one with
    probability 0.7; ``vessel=True`` asks for one (placed unless no room is found).
    """
    size = (int(size[0]), int(size[1]))
    anat = _sample_anatomy(rng, size, vessel)
    return _render(anat, _sample_pose(rng), size, rng, nerve)


def _split_counts(n: int, subjects: int) -> list[int]:
    """Frames per subject, as even as possible."""
    return [n // subjects + (1 if k < n % subjects else 0) for k in range(subjects)]


def _save_png(img: Image.Image, path: Path) -> None:
    """Write a PNG atomically: a temp name in the same folder, then os.replace."""
    tmp = path.with_name(f".{path.name}.tmp")
    img.save(tmp, format="PNG")
    os.replace(tmp, path)


def _gray_image(img: np.ndarray) -> Image.Image:
    """An 8-bit 'L' image of a uint8 array."""
    h, w = img.shape
    return Image.frombytes("L", (w, h), np.ascontiguousarray(img).tobytes())


def _mask_image(label: np.ndarray) -> Image.Image:
    """A palette ('P') image of the label with a viewable palette."""
    h, w = label.shape
    im = Image.frombytes("P", (w, h), np.ascontiguousarray(label).tobytes())
    im.putpalette(PALETTE)
    return im


def _write_readme(out: Path, n: int, size: tuple[int, int], seed: int, subjects: int) -> None:
    """Describe the synthetic dataset next to it."""
    text = (
        "Synthetic ultrasound nerve-block phantom generated by edgeseg.train.synth.\n"
        "These are NOT real patient images.\n"
        f"seed: {seed}\nn: {n}\nsize (height, width): {size[0]}, {size[1]}\n"
        f"subjects: {subjects}\n"
        "layout: images/<subject>_<frame>.png (8-bit L), masks/<subject>_<frame>.png (P)\n"
        "class map: background=0, nerve=1, vessel=2\n"
    )
    tmp = out / ".README.txt.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out / "README.txt")


def write_dataset(
    out: Path,
    n: int,
    size: tuple[int, int] = (128, 128),
    seed: int = 0,
    empty_fraction: float = 0.25,
    subjects: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[Path]:
    """Write the paired-folder layout and return the image paths.

    ``out/images/s{subject:02d}_{frame:04d}.png`` (8-bit L) and the same names under
    ``out/masks`` (palette PNG: 0 background, 1 nerve in yellow, 2 vessel in red). Each
    subject has its own anatomy; its frames are small probe moves with fresh speckle.
    Exactly ``round(n * empty_fraction)`` frames have no nerve. ``progress`` is called with
    the number of frames written so far. Same seed -> byte-identical files.
    """
    out = Path(out)
    size = (int(size[0]), int(size[1]))
    n_subj = max(2, n // 8) if subjects is None else int(subjects)
    n_subj = max(1, min(n_subj, max(n, 1)))
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    _write_readme(out, n, size, seed, n_subj)
    n_empty = int(round(n * float(np.clip(empty_fraction, 0.0, 1.0))))
    empty = set(np.random.default_rng(seed).permutation(n)[:n_empty].tolist())
    seeds = np.random.SeedSequence(seed).spawn(n_subj)
    paths: list[Path] = []
    for subj, count in enumerate(_split_counts(n, n_subj)):
        rng = np.random.default_rng(seeds[subj])
        anat = _sample_anatomy(rng, size)
        for frame in range(count):
            img, label = _render(anat, _sample_pose(rng), size, rng, len(paths) not in empty)
            name = f"s{subj:02d}_{frame:04d}.png"
            _save_png(_gray_image(img), out / "images" / name)
            _save_png(_mask_image(label), out / "masks" / name)
            paths.append(out / "images" / name)
            if progress is not None:
                progress(len(paths))
    return paths


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "synth_preview")
    written = write_dataset(target, 12, size=(256, 256), seed=0)
    print(f"wrote {len(written)} frames to {target}")
