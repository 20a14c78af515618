"""The parity verdict's acceptance cases on synthetic arrays (no TensorFlow): a candidate that loses
>= 0.05 Dice FAILS, one that differs on 1 frame in 300 PASSES, 40 frames with a difference near
the tolerance are INCONCLUSIVE; plus the decision rule and the "more frames" estimate."""

from __future__ import annotations

import numpy as np
import pytest

from edgeseg.config import PostProcess
from edgeseg.evaluation.parity import compare_predictions
from edgeseg.evaluation.verdict import (
    EXIT_CODES,
    Tolerances,
    decide,
    frames_to_decide_flips,
    units_to_decide,
)
from edgeseg.stats import bootstrap_ci

pytest.importorskip("scipy.stats")

FLOAT, INT8 = "float", "int8"
SIZE = 32
PER_SUBJECT = 8  # frames per subject, as the pipeline's synthetic test set


def make_set(n: int, seed: int = 0, empty_every: int = 3):
    """n frames (every ``empty_every``-th with an empty ground truth), float probabilities that
    segment them well, presence scores, and subjects of 8 frames."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    gts, logits, presence = [], [], []
    for i in range(n):
        if i % empty_every == 0:
            gts.append(np.zeros((SIZE, SIZE), np.uint8))
            logits.append(np.full((SIZE, SIZE), -3.0))
            presence.append(0.05)
        else:
            cy, cx, r = rng.uniform(10, 22), rng.uniform(10, 22), rng.uniform(4, 8)
            dist = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
            gts.append((dist <= r).astype(np.uint8))
            logits.append(-(dist - r - rng.uniform(-0.7, 0.7)) * 1.5)
            presence.append(0.95)
    subjects = [f"s{i // PER_SUBJECT:02d}" for i in range(n)]
    return gts, logits, np.array(presence), subjects


def probs(logits, shift: float = 0.0):
    return [1.0 / (1.0 + np.exp(-(z - shift))) for z in logits]


def check(res, kind: str) -> dict:
    (c,) = [c for c in res["verdict"]["checks"] if c["check"] == kind]
    return c


def one_flip(n: int):
    """The issue's case: one empty-ground-truth frame where the candidate draws a blob."""
    gts, logits, pres, subjects = make_set(n)
    ref = probs(logits)
    cand = list(ref)
    blob = np.full((SIZE, SIZE), 0.05)
    blob[4:9, 4:9] = 0.8  # 25 px, over min_area 16
    cand[6] = blob  # frame 6: empty ground truth (6 % 3 == 0)
    cand_pres = pres.copy()
    cand_pres[6] = 0.6  # its presence decision flips too
    assert not gts[6].any()
    return gts, {FLOAT: ref, INT8: cand}, {FLOAT: pres, INT8: cand_pres}, subjects


# --------------------------------------------------------------------------- the three cases


@pytest.mark.parametrize("subjects_known", [True, False], ids=["subject-level", "frame-level"])
def test_one_flip_in_300_frames_passes(subjects_known):
    gts, p, pres, subjects = one_flip(300)
    res = compare_predictions(
        gts,
        p,
        pres,
        post=PostProcess(min_area=16),
        subjects=subjects if subjects_known else None,
    )
    d = check(res, "dice_delta")
    assert d["value"] == pytest.approx(-1 / 300)  # exactly the one frame going 1 -> 0
    # the bootstrap's lower bound: ~-4/300 (the frame is drawn ~Poisson(1) times; 97.5th pct 4)
    assert -5 / 300 <= d["ci_low"] <= -2 / 300 and d["ci_low"] > Tolerances().min_dice_delta
    flips = check(res, "presence_flips")
    assert flips["value"] == pytest.approx(1 / 300) and flips["ci_high"] == pytest.approx(
        0.01843, abs=1e-4
    )  # Clopper-Pearson 95% upper bound of 1/300: over the old 0.01, under 0.03
    assert res["verdict"]["outcome"] == "PASS", res["verdict"]["reasons"]
    assert res["verdict"]["exit_code"] == 0 and res["passed"] is True
    assert d["unit"] == ("subject" if subjects_known else "frame")
    (why,) = res["agreement"][0]["presence_flips"]["explained"]
    assert why["frame"] == "frame 6" and why["why"][FLOAT]["decided_by"] == "below threshold"


def test_the_old_tolerances_could_not_pass_one_flip():
    """With -0.01 / 0.01 the same candidate is not a PASS: the limits sat on the intervals."""
    gts, p, pres, subjects = one_flip(300)
    old = Tolerances(min_dice_delta=-0.01, max_flip_fraction=0.01)
    res = compare_predictions(gts, p, pres, post=PostProcess(min_area=16), tolerances=old)
    assert check(res, "presence_flips")["outcome"] == "INCONCLUSIVE"
    assert res["verdict"]["outcome"] != "PASS"


def test_a_candidate_losing_5_dice_points_fails():
    """int8-like damage: every logit pulled down (masks erode, small nerves vanish)."""
    gts, logits, pres, subjects = make_set(300, seed=1)
    ref, cand = probs(logits), probs(logits, shift=1.2)
    res = compare_predictions(gts, {FLOAT: ref, INT8: cand}, subjects=subjects)
    d = check(res, "dice_delta")
    dice = {m["name"]: m["accuracy"]["nerve"]["dice"]["mean"] for m in res["models"]}
    assert dice[INT8] - dice[FLOAT] <= -0.05  # the premise, measured
    assert d["outcome"] == "FAIL" and d["ci_high"] < Tolerances().min_dice_delta
    assert res["verdict"]["outcome"] == "FAIL" and res["verdict"]["exit_code"] == 1
    assert any("credibly outside" in r for r in res["verdict"]["reasons"])


@pytest.mark.parametrize("case", ["one flip", "eroded"])
def test_40_frames_near_the_tolerance_are_inconclusive(case):
    if case == "one flip":  # the run: -1/40 = -0.025, 0.005 past the tolerance
        gts, p, pres, subjects = one_flip(40)
        res = compare_predictions(gts, p, pres, post=PostProcess(min_area=16), subjects=subjects)
    else:  # a smooth loss of about 2 Dice points
        gts, logits, _, subjects = make_set(40, seed=2)
        res = compare_predictions(
            gts, {FLOAT: probs(logits), INT8: probs(logits, shift=0.5)}, subjects=subjects
        )
    d = check(res, "dice_delta")
    assert abs(d["value"] - Tolerances().min_dice_delta) < 0.01  # near the tolerance
    assert d["ci_low"] < Tolerances().min_dice_delta <= d["ci_high"]
    assert d["outcome"] == "INCONCLUSIVE" and d["more_frames"] > 0
    assert f"about {d['more_frames']} more frames" in d["message"]
    if case == "one flip":
        assert res["verdict"]["outcome"] == "INCONCLUSIVE" and res["verdict"]["exit_code"] == 3
        assert res["verdict"]["more_frames"] >= d["more_frames"]
    else:  # eroded masks also disagree with the reference's: that check alone decides FAIL
        failed = {c["check"] for c in res["verdict"]["checks"] if c["outcome"] == "FAIL"}
        assert failed == {"agreement"} and res["verdict"]["outcome"] == "FAIL"


# --------------------------------------------------------------------------- the rule


@pytest.mark.parametrize(
    ("low", "high", "limit", "op", "outcome"),
    [
        (-0.010, 0.000, -0.02, ">=", "PASS"),
        (-0.020, 0.000, -0.02, ">=", "PASS"),  # the bound on the limit counts as inside
        (-0.030, 0.000, -0.02, ">=", "INCONCLUSIVE"),
        (-0.090, -0.030, -0.02, ">=", "FAIL"),
        (0.000, 0.018, 0.03, "<=", "PASS"),
        (0.010, 0.040, 0.03, "<=", "INCONCLUSIVE"),
        (0.031, 0.090, 0.03, "<=", "FAIL"),
        (float("nan"), float("nan"), 0.98, ">=", "INCONCLUSIVE"),
    ],
)
def test_decide(low, high, limit, op, outcome):
    assert decide(low, high, limit, op) == outcome


def test_exit_codes_are_scriptable():
    assert EXIT_CODES == {"PASS": 0, "FAIL": 1, "INCONCLUSIVE": 3}  # 2 stays "bad input"


def test_more_frames_estimate_decides_when_the_estimate_holds():
    """The 1/sqrt(n) estimate: differences ~N(-0.01, 0.05) are INCONCLUSIVE at 40 frames; at
    the estimated size (same distribution, a fresh sample) the CI clears the tolerance."""
    rng = np.random.default_rng(5)
    diffs = rng.normal(-0.01, 0.05, 40)
    ci = bootstrap_ci(diffs, seed=0)
    assert decide(ci["ci_low"], ci["ci_high"], -0.02, ">=") == "INCONCLUSIVE"
    needed = units_to_decide(ci["mean"], ci["ci_low"], ci["ci_high"], -0.02, 40)
    assert 40 < needed < 2000
    # a fresh sample of twice the estimate from the same distribution decides PASS
    big = bootstrap_ci(rng.normal(-0.01, 0.05, 2 * needed), seed=0)
    assert decide(big["ci_low"], big["ci_high"], -0.02, ">=") == "PASS"
    assert units_to_decide(-0.02, -0.05, 0.01, -0.02, 40) is None  # on the limit: no size


def test_flip_frames_to_decide():
    # no flips: the exact 95% upper bound 1 - 0.025^(1/n) drops to 0.03 at n = 122
    assert frames_to_decide_flips(0, 40, 0.03, 0.95) == 122
    assert frames_to_decide_flips(0, 40, 0.10, 0.95) is not None
    # 10% flipping against a 3% tolerance: FAIL is reached with a few more frames
    assert 40 < frames_to_decide_flips(4, 40, 0.03, 0.95) < 200
