"""Rendering a phantom frame: anatomy seen from a probe pose -> echo map, speckle, display.

numpy only; the anatomy comes from :mod:`edgeseg.train.phantom_anatomy`.
"""

from __future__ import annotations

import numpy as np

from edgeseg.train.phantom_anatomy import (
    _FLOOR,
    _GAMMA,
    _PAD,
    _REF,
    NERVE,
    VESSEL,
    _Anatomy,
    _Belly,
    _Bone,
    _bound_r,
    _Ellipse,
    _ellipse_coords,
    _fascia_y,
    _Nerve,
    _Pose,
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
