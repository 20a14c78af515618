"""Classical baselines: they find an obvious blob, return the frame's shape, and keep quiet on
frames with nothing to find."""

from __future__ import annotations

import numpy as np
import pytest

from edgeseg.baselines import (
    BASELINES,
    closing,
    fill_holes,
    hysteresis,
    otsu_threshold,
    plausible_blob,
    sobel_magnitude,
)
from edgeseg.metrics import dice


def oval(size=(96, 128), bright=True, noise=12.0, seed=0):
    """A clear oval (the 'nerve') on a darker, noisy background."""
    h, w = size
    yy, xx = np.mgrid[:h, :w]
    gt = ((yy - 0.55 * h) / (0.18 * h)) ** 2 + ((xx - 0.45 * w) / (0.2 * w)) ** 2 <= 1
    img = np.full(size, 70.0)
    img[gt] = 170.0 if bright else 20.0
    img += np.random.default_rng(seed).normal(0, noise, size)
    return np.clip(img, 0, 255).astype(np.uint8), gt.astype(np.uint8)


@pytest.mark.parametrize("name", sorted(BASELINES))
@pytest.mark.parametrize("size", [(64, 64), (96, 128), (160, 160)])
def test_segments_a_clear_oval(name, size):
    img, gt = oval(size)
    mask = BASELINES[name](img)
    assert mask.shape == img.shape and mask.dtype == np.uint8
    assert set(np.unique(mask)) <= {0, 1}
    assert dice(mask, gt) > 0.5


@pytest.mark.parametrize("name", sorted(BASELINES))
@pytest.mark.parametrize(
    "frame",
    [np.zeros((64, 64), np.uint8), np.full((64, 64), 200, np.uint8)],
    ids=["black", "flat"],
)
def test_nothing_to_find_gives_empty_mask(name, frame):
    assert not BASELINES[name](frame).any()


def test_otsu_dark_polarity():
    img, gt = oval(bright=False)
    assert dice(BASELINES["otsu"](img), gt) < 0.2  # bright=True looks for bright structures
    from edgeseg.baselines import otsu_baseline

    assert dice(otsu_baseline(img, bright=False), gt) > 0.5


def test_otsu_threshold_splits_two_levels():
    img = np.array([[10] * 8 + [200] * 8] * 4, np.uint8)
    t = otsu_threshold(img)
    assert 10 <= t < 200
    assert otsu_threshold(np.full((4, 4), 7, np.uint8)) in range(256)


def test_fill_holes_fills_a_ring_but_not_an_open_arc():
    yy, xx = np.mgrid[:32, :32]
    r = np.hypot(yy - 16, xx - 16)
    ring = (r >= 6) & (r <= 8)
    assert fill_holes(ring).sum() == (r <= 8).sum()
    arc = ring & (xx < 20)
    assert fill_holes(arc).sum() == arc.sum()


def test_hysteresis_keeps_weak_edges_connected_to_strong_ones():
    mag = np.zeros((5, 9))
    mag[2, 1:4] = [10, 5, 5]  # strong + connected weak
    mag[2, 6:8] = [5, 5]  # weak alone
    out = hysteresis(mag, low=4, high=8)
    assert out[2, 1:4].all() and not out[2, 6:8].any()


def test_plausible_blob_prefers_interior_components():
    m = np.zeros((40, 40), bool)
    m[0:10, 0:30] = True  # bigger, touches the border
    m[20:30, 20:30] = True  # interior
    out = plausible_blob(m, min_frac=0.01, max_frac=0.5)
    assert out[25, 25] and not out[0, 0]
    assert not plausible_blob(m, min_frac=0.5, max_frac=0.9).any()


def test_closing_bridges_a_one_pixel_gap():
    m = np.zeros((5, 9), bool)
    m[2, :4] = m[2, 5:] = True
    assert closing(m, 1)[2].all()


def test_sobel_is_zero_on_flat_and_peaks_on_a_step():
    assert not sobel_magnitude(np.full((8, 8), 50, np.uint8)).any()
    step = np.zeros((8, 8), np.uint8)
    step[:, 4:] = 100
    mag = sobel_magnitude(step)
    assert mag[:, 3:5].min() > 0 and mag[:, 0].max() == 0
