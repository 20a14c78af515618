"""The phantom's anatomy: one subject's tissue layers, nerve, vessel, bone, and a probe pose.

Random sampling only (numpy); :mod:`edgeseg.train.phantom_render` draws what is sampled here.
Geometry is in depth units (see :mod:`edgeseg.train.synth`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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


def _ellipse_coords(
    e: _Ellipse, ys: np.ndarray, xs: np.ndarray, grid: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit-disk coordinates (u, v) and elliptic radius rho (on the ys x xs grid by default)."""
    dy, dx = (ys[:, None] - e.cy, xs[None, :] - e.cx) if grid else (ys - e.cy, xs - e.cx)
    cs, sn = np.cos(e.angle), np.sin(e.angle)
    u = (dx * cs + dy * sn) / e.a
    v = (dy * cs - dx * sn) / e.b
    return u, v, np.sqrt(u * u + v * v)


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
