"""Paired tests agree with scipy (constant differences and one-sided alternatives included); Holm on
a hand-worked example; bootstrap CIs (frame and subject level, one-unit flag); exact binomial CI."""

from __future__ import annotations

import math

import numpy as np
import pytest

scipy_stats = pytest.importorskip("scipy.stats")

from edgeseg.stats import (  # noqa: E402
    bootstrap_ci,
    bootstrap_diff_ci,
    clopper_pearson,
    compare_paired,
    holm,
    paired,
    paired_ttest,
    wilcoxon,
)

A = [0.91, 0.80, 0.75, 0.62, 0.95, 0.41, 0.85, 0.70, 0.66, 0.58, 0.77, 0.83]
B = [0.85, 0.82, 0.70, 0.50, 0.90, 0.45, 0.80, 0.60, 0.61, 0.59, 0.70, 0.79]


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_wilcoxon_matches_scipy(alternative):
    ours = wilcoxon(A, B, alternative)
    ref = scipy_stats.wilcoxon(A, B, alternative=alternative)
    assert ours["statistic"] == pytest.approx(ref.statistic)
    assert ours["pvalue"] == pytest.approx(ref.pvalue)
    assert ours["n"] == 12 and ours["nonzero"] == 12


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_ttest_matches_scipy(alternative):
    ours = paired_ttest(A, B, alternative)
    ref = scipy_stats.ttest_rel(A, B, alternative=alternative)
    assert ours["statistic"] == pytest.approx(ref.statistic)
    assert ours["pvalue"] == pytest.approx(ref.pvalue)
    assert ours["df"] == 11


def test_exact_wilcoxon_by_hand():
    # n = 6 distinct differences: 2^6 = 64 equally likely sign patterns under H0.
    base = [0.0] * 6
    # All positive: W- = 0, P(W <= 0) = 1/64, two-sided p = 2/64.
    r = wilcoxon([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], base)
    assert r["statistic"] == 0 and r["pvalue"] == pytest.approx(2 / 64)
    # Smallest one negative: W- = 1, P(W <= 1) = 2/64, two-sided p = 4/64.
    r = wilcoxon([-0.1, 0.2, 0.3, 0.4, 0.5, 0.6], base)
    assert r["statistic"] == 1 and r["pvalue"] == pytest.approx(4 / 64)
    # One-sided in the direction of a - b (a larger): p = 1/64.
    r = wilcoxon([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], base, alternative="greater")
    assert r["pvalue"] == pytest.approx(1 / 64)


def test_ttest_by_hand():
    # differences 1, 2, 3: mean 2, sd 1, t = 2 / (1 / sqrt(3)) = 2 sqrt(3), df 2.
    r = paired_ttest([2, 4, 6], [1, 2, 3])
    assert r["statistic"] == pytest.approx(2 * math.sqrt(3)) and r["df"] == 2


def test_nan_pairs_are_dropped():
    a = [*A, float("nan"), 0.5]
    b = [*B, 0.3, float("nan")]
    assert wilcoxon(a, b) == wilcoxon(A, B)
    assert paired_ttest(a, b) == paired_ttest(A, B)
    x, y = paired(a, b)
    assert x.size == y.size == 12


@pytest.mark.parametrize(
    ("a", "b", "p_w", "p_t"),
    [
        ([0.5, 0.5, 0.7], [0.5, 0.5, 0.7], 1.0, 1.0),  # identical scores
        ([0.5], [0.4], None, float("nan")),  # one pair
        ([], [], 1.0, float("nan")),  # no pairs
    ],
)
def test_degenerate_inputs(a, b, p_w, p_t):
    t = paired_ttest(a, b)
    if math.isnan(p_t):
        assert math.isnan(t["pvalue"])
    else:
        assert t["pvalue"] == p_t
    if p_w is not None:
        assert wilcoxon(a, b)["pvalue"] == p_w


def test_unequal_lengths_are_an_error():
    with pytest.raises(ValueError, match="equal lengths"):
        wilcoxon([1, 2, 3], [1, 2])


def test_holm_hand_example():
    # m = 4; sorted p: 0.005 (x4 = 0.02), 0.01 (x3 = 0.03), 0.03 (x2 = 0.06), 0.04 (x1 = 0.04
    # -> raised to 0.06 to stay monotone).
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_one_keeps_nan_and_order():
    out = holm([0.5, float("nan"), 0.2])
    assert out[0] == pytest.approx(min(1.0, max(0.4, 0.5)))
    assert math.isnan(out[1])
    assert out[2] == pytest.approx(0.4)
    assert holm([]) == []
    assert holm([0.9, 0.8]) == [1.0, 1.0]


def test_bootstrap_diff_ci_brackets_the_mean_and_is_seeded():
    r = bootstrap_diff_ci(A, B, seed=3)
    assert r["mean_diff"] == pytest.approx(np.mean(np.subtract(A, B)))
    assert r["ci_low"] <= r["mean_diff"] <= r["ci_high"]
    assert r == bootstrap_diff_ci(A, B, seed=3)
    assert r["n"] == 12


def test_compare_paired_bundles_all():
    r = compare_paired(A, B)
    assert set(r) == {"wilcoxon", "ttest", "diff"}


# every difference the same non-zero value: scipy 1.17 defines these (statistic +-inf)
CONSTANT = [
    ([1.0, 0.75, 0.5, 0.25], [0.5, 0.25, 0.0, -0.25]),  # +0.5 on every pair (exact in binary)
    ([0.25, 0.5, 0.75, 1.0], [0.5, 0.75, 1.0, 1.25]),  # -0.25 on every pair
]


@pytest.mark.filterwarnings("ignore:Precision loss occurred:RuntimeWarning")  # scipy's own
@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
@pytest.mark.parametrize("pair", CONSTANT, ids=["positive", "negative"])
def test_constant_differences_match_scipy(pair, alternative):
    a, b = pair
    diff = np.subtract(a, b)
    assert np.all(diff == diff[0]), "the case must be exactly constant in floating point"
    ours, ref = (
        paired_ttest(a, b, alternative),
        scipy_stats.ttest_rel(a, b, alternative=alternative),
    )
    assert ours["statistic"] == ref.statistic and ours["pvalue"] == ref.pvalue
    against = (alternative == "greater") == (diff[0] < 0) and alternative != "two-sided"
    assert ours["pvalue"] == (1.0 if against else 0.0)
    w, wref = wilcoxon(a, b, alternative), scipy_stats.wilcoxon(a, b, alternative=alternative)
    assert w["pvalue"] == pytest.approx(wref.pvalue) and w["statistic"] == wref.statistic


def test_bootstrap_of_one_unit_is_flagged():
    r = bootstrap_diff_ci([0.5], [0.4])
    assert r["degenerate"] is True and "one frame" in r["note"]
    assert r["ci_low"] == r["ci_high"] == pytest.approx(0.1)
    one_subject = bootstrap_ci([0.1, 0.2, 0.3], groups=["s1"] * 3)
    assert one_subject["degenerate"] is True and one_subject["unit"] == "subject"
    assert bootstrap_diff_ci(A, B)["degenerate"] is False
    empty = bootstrap_ci([float("nan")])
    assert empty["n"] == 0 and math.isnan(empty["ci_low"])


def test_subject_bootstrap_is_wider_for_correlated_frames():
    # 10 subjects x 8 frames; a frame's score is its subject's level plus small noise: the
    # frames are not 80 independent draws, and resampling subjects says so.
    rng = np.random.default_rng(0)
    level = np.repeat(rng.normal(0, 0.1, 10), 8)
    values = level + rng.normal(0, 0.01, 80)
    subjects = np.repeat([f"s{i}" for i in range(10)], 8)
    frame = bootstrap_ci(values, seed=1)
    subject = bootstrap_ci(values, groups=subjects, seed=1)
    assert frame["unit"] == "frame" and subject["unit"] == "subject" and subject["units"] == 10
    assert frame["mean"] == subject["mean"]
    width = lambda r: r["ci_high"] - r["ci_low"]  # noqa: E731
    assert width(subject) > 2 * width(frame)
    # equal subject sizes: the same as resampling the 10 subject means
    means = bootstrap_ci(values.reshape(10, 8).mean(axis=1), seed=1)
    assert width(subject) == pytest.approx(width(means), rel=1e-9)
    per_frame = bootstrap_ci(values, groups=[f"f{i}" for i in range(80)], seed=1)
    assert per_frame["unit"] == "frame" and per_frame["units"] == 80  # one frame per subject


@pytest.mark.parametrize(("k", "n"), [(0, 300), (1, 300), (3, 300), (1, 40), (40, 40)])
def test_clopper_pearson_matches_scipy(k, n):
    ref = scipy_stats.binomtest(k, n).proportion_ci(0.95, method="exact")
    lo, hi = clopper_pearson(k, n)
    assert lo == pytest.approx(ref.low, abs=1e-12) and hi == pytest.approx(ref.high, abs=1e-12)


def test_seed_frame_ci_widens_when_seeds_disagree_and_checks_shapes():
    from edgeseg.stats import seed_frame_diff_ci

    rng = np.random.default_rng(0)
    frames = rng.uniform(0, 1, 40)
    b = frames + rng.normal(0, 0.05, (3, 40))
    a = b + 0.1  # every seed and frame better by 0.1
    steady = seed_frame_diff_ci(a, b)
    assert steady["mean_diff"] == pytest.approx(0.1)
    assert steady["seeds"] == [3, 3] and steady["frames"] == 40
    assert steady["ci_low"] < 0.1 < steady["ci_high"] and steady["ci_low"] > 0.0
    # The same mean gain from seeds that disagree by whole-run shifts: a wider interval,
    # which a frame-only bootstrap of the seed means cannot see.
    shifted = a + np.array([[0.2], [-0.2], [0.0]])
    shaky = seed_frame_diff_ci(shifted, b)
    frame_only = bootstrap_diff_ci(shifted.mean(axis=0), b.mean(axis=0))
    assert shaky["mean_diff"] == pytest.approx(0.1)
    assert shaky["ci_low"] < 0.0 < frame_only["ci_low"]
    with pytest.raises(ValueError, match="same frames"):
        seed_frame_diff_ci(a, b[:, :10])
