"""Phantom cine loops: one subject scanned by a moving probe, frame after frame.

Built on the still-frame phantom (:mod:`edgeseg.train.phantom_anatomy` samples the subject,
:mod:`edgeseg.train.phantom_render` draws it): the probe slides, rocks and presses smoothly, so
nerve and vessel move smoothly across the frame; the vessel pulses with the heart; the speckle
decorrelates partly from frame to frame (its complex field is an AR(1) process); a contiguous run
of frames loses the nerve (the probe tilts out of its plane). numpy + Pillow only; the file
writers (MP4, DICOM, Y4M) are in :mod:`edgeseg.train.cine_writers`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from edgeseg.train.phantom_anatomy import _Anatomy, _Pose, _sample_anatomy
from edgeseg.train.phantom_render import _render

MAX_CINE_FRAMES = 100_000


@dataclass(frozen=True)
class Cine:
    """A phantom cine loop: ``frames`` NxHxW uint8, ``labels`` NxHxW uint8 (0 background,
    1 nerve, 2 vessel), ``fps`` its frame rate; ``nerve_visible`` per frame."""

    frames: np.ndarray
    labels: np.ndarray
    fps: float
    nerve_visible: np.ndarray

    @property
    def timestamps(self) -> np.ndarray:
        """Seconds since the first frame, ``index / fps``."""
        return np.arange(len(self.frames), dtype=np.float64) / self.fps


class CorrelatedSpeckle:
    """Stands in for the renderer's random generator: its Gaussian field is AR(1) in time.

    ``_render`` draws the speckle's complex Gaussian field with ``rng.standard_normal``; this
    object returns ``rho * previous + sqrt(1 - rho**2) * fresh`` instead (same shape, unit
    variance), so consecutive frames share part of their speckle pattern: ``rho`` 0 is fresh
    speckle every frame, 1 a frozen pattern.
    """

    def __init__(self, rng: np.random.Generator, rho: float) -> None:
        self.rng = rng
        self.rho = float(rho)
        self.previous: np.ndarray | None = None

    def standard_normal(self, shape: tuple[int, ...], dtype: type = np.float32) -> np.ndarray:
        fresh = self.rng.standard_normal(shape, dtype=dtype)
        if self.previous is not None and self.previous.shape == fresh.shape:
            keep = np.asarray(self.rho, dtype=dtype)
            new = np.asarray(np.sqrt(1.0 - self.rho**2), dtype=dtype)
            fresh = keep * self.previous + new * fresh
        self.previous = fresh
        return fresh


def probe_pose(t: float, phases: np.ndarray) -> _Pose:
    """The probe at ``t`` seconds: a slow slide plus a faster rock, breathing depth, pressure."""
    two_pi = 2 * np.pi
    slide = 0.06 * np.sin(two_pi * t / 4.0 + phases[0])
    rock = 0.015 * np.sin(two_pi * t / 1.3 + phases[1])
    return _Pose(
        dx=float(slide + rock),
        dy=float(0.015 * np.sin(two_pi * t / 3.2 + phases[2])),
        scale=float(1.0 + 0.02 * np.sin(two_pi * t / 5.0 + phases[3])),
        squash=float(0.98 + 0.03 * np.sin(two_pi * t / 2.5 + phases[4])),
        gain=float(1.0 + 0.03 * np.sin(two_pi * t / 6.0 + phases[5])),
    )  # fmt: skip


def pulsed(anat: _Anatomy, t: float, heart_hz: float) -> _Anatomy:
    """The anatomy with its vessel dilated by the pulse at ``t`` (up to 8 %)."""
    if anat.vessel is None:
        return anat
    beat = 1.0 + 0.08 * max(0.0, float(np.sin(2 * np.pi * heart_hz * t))) ** 2
    vessel = dataclasses.replace(anat.vessel, a=anat.vessel.a * beat, b=anat.vessel.b * beat)
    return dataclasses.replace(anat, vessel=vessel)


def hidden_run(n: int, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Per frame, whether the nerve is shown: ``round(n * fraction)`` consecutive frames are not.

    The run starts after the first quarter, so every loop opens on the nerve.
    """
    visible = np.ones(n, dtype=bool)
    hidden = int(round(n * fraction))
    if hidden:
        first = n // 4
        start = int(rng.integers(first, max(first, n - hidden) + 1))
        visible[start : start + hidden] = False
    return visible


def check_cine_options(n: int, size: tuple[int, int], fps: float, empty_fraction: float) -> None:
    """One-line ConfigErrors for out-of-range options, before anything is rendered."""
    from edgeseg.config import check_count
    from edgeseg.errors import ConfigError

    check_count(n, "--n", 1, MAX_CINE_FRAMES)
    for side in size:
        check_count(side, "--size", 16, 4096)
    if not (np.isfinite(fps) and 1.0 <= fps <= 240.0):
        raise ConfigError(f"--fps {fps}: expected 1 to 240 frames per second")
    if not 0.0 <= float(empty_fraction) <= 0.75:
        raise ConfigError(f"--empty-fraction {empty_fraction}: expected 0 to 0.75 for a cine loop")


def synth_cine(
    n: int = 90,
    size: tuple[int, int] = (128, 128),
    seed: int = 0,
    fps: float = 30.0,
    empty_fraction: float = 0.2,
    speckle_rho: float = 0.6,
    progress: Callable[[int], None] | None = None,
) -> Cine:
    """Render ``n`` frames of one phantom subject under a moving probe (same seed, same loop).

    ``size`` is (height, width); ``speckle_rho`` the frame-to-frame correlation of the speckle
    field; ``empty_fraction`` the share of frames, in one run, without the nerve. The subject
    always has a vessel when there is room for one. ``progress(1)`` follows each frame.
    """
    from edgeseg.config import check_seed

    size = (int(size[0]), int(size[1]))
    check_seed(seed)
    check_cine_options(int(n), size, float(fps), empty_fraction)
    rng = np.random.default_rng(seed)
    anat = _sample_anatomy(rng, size, True)
    phases = rng.uniform(0, 2 * np.pi, 6)
    heart_hz = float(rng.uniform(1.0, 1.4))
    visible = hidden_run(int(n), float(empty_fraction), rng)
    speckle = CorrelatedSpeckle(rng, speckle_rho)
    frames = np.empty((n, *size), dtype=np.uint8)
    labels = np.empty((n, *size), dtype=np.uint8)
    for i in range(n):
        t = i / fps
        frames[i], labels[i] = _render(
            pulsed(anat, t, heart_hz), probe_pose(t, phases), size, speckle, bool(visible[i])
        )
        if progress is not None:
            progress(1)
    return Cine(frames, labels, float(fps), visible)
