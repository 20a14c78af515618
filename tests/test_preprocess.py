"""Preprocessing: the integer percentile stretch, CLAHE, denoise, sizes; post-processing."""

from __future__ import annotations

import numpy as np
import pytest

from edgeseg.config import PostProcess, Preprocessing
from edgeseg.errors import ConfigError
from edgeseg.postprocess import label_components, probabilities_to_mask
from edgeseg.preprocess import clahe, percentile_stretch, preprocess


def test_percentile_stretch_matches_the_contract_formula():
    img = np.random.default_rng(0).integers(40, 200, (50, 60), dtype=np.uint8)
    out = percentile_stretch(img, 1, 99)
    cdf = np.cumsum(np.bincount(img.ravel(), minlength=256))
    lo = next(v for v in range(256) if cdf[v] > img.size * 0.01)
    hi = next(v for v in range(256) if cdf[v] >= img.size * 0.99)
    x = np.clip(img.astype(int), lo, hi) - lo
    expected = np.floor(x * 255 / (hi - lo) + 0.5).astype(np.uint8)
    assert np.array_equal(out, expected)
    assert out.min() == 0 and out.max() == 255


def test_flat_image_is_left_alone():
    flat = np.full((20, 20), 77, np.uint8)
    assert np.array_equal(percentile_stretch(flat), flat)


def test_clahe_raises_local_contrast_and_keeps_shape():
    rng = np.random.default_rng(1)
    img = np.clip(rng.normal(60, 5, (64, 64)), 0, 255).astype(np.uint8)
    out = clahe(img, clip=2.0, tiles=4)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert out.std() > img.std()


@pytest.mark.parametrize("denoise", ["none", "median", "gaussian"])
def test_preprocess_any_frame_to_model_size(denoise):
    pp = Preprocessing(height=48, width=64, denoise=denoise, clahe=denoise == "median")
    rgb16 = np.random.default_rng(2).integers(0, 65535, (100, 90, 3), dtype=np.uint16)
    out = preprocess(rgb16, pp)
    assert out.shape == (48, 64) and out.dtype == np.uint8


def test_bad_preprocessing_values():
    with pytest.raises(ConfigError, match="multiples of 16"):
        Preprocessing(height=100, width=128)
    with pytest.raises(ConfigError, match="normalize"):
        Preprocessing(normalize="zscore")


def test_components_and_min_area():
    m = np.zeros((10, 10), np.uint8)
    m[0:3, 0:3] = 1  # 9 px
    m[5, 5] = 1  # 1 px
    m[6, 6] = 1  # diagonal neighbour: same 8-connected component
    labels, sizes = label_components(m)
    assert sizes == [9, 2] and labels[6, 6] == labels[5, 5] == 2
    prob = m.astype(np.float32)[..., None]
    assert probabilities_to_mask(prob, PostProcess(min_area=3)).sum() == 9
    assert probabilities_to_mask(prob, PostProcess(min_area=0)).sum() == 11
    only = probabilities_to_mask(prob, PostProcess(largest_component=True))
    assert only.sum() == 9
    gated = probabilities_to_mask(prob, PostProcess(presence_gate=True), presence=0.2)
    assert gated.sum() == 0
