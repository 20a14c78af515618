"""The parity verdict: PASS, FAIL or INCONCLUSIVE, decided on intervals, not point estimates.

Each check has a tolerance (a non-inferiority margin) and an interval at ``Tolerances.level``
(two-sided, default 95%):

- ``dice_delta``: mean per-frame Dice(candidate) - Dice(reference) vs ground truth, under the
  report's empty-mask policy; percentile bootstrap, resampling subjects when they are known
  (cluster bootstrap), frames otherwise. Must be at least ``min_dice_delta``.
- ``agreement``: mean per-frame Dice between the candidate's and the reference's masks (both
  empty = 1); same bootstrap. Must be at least ``min_agreement``.
- ``presence_flips``: the fraction of frames whose decision "this class is present" (the mask
  is non-empty after post-processing) differs from the reference's; exact Clopper-Pearson
  interval, frame-level. Must be at most ``max_flip_fraction``.

Without ground truth (``ground_truth: False``, parity on an unlabelled clip:
:mod:`edgeseg.evaluation.live_parity`) ``dice_delta`` cannot be computed: it is left out, the
result's ``not_applicable`` says why, and the verdict rests on the checks that apply (no check
at all is INCONCLUSIVE, never a vacuous PASS).

A check PASSES when the whole interval is on the good side of its tolerance (the bad-side bound
is inside), FAILS when the whole interval is on the bad side, and is INCONCLUSIVE otherwise; the
verdict is FAIL if any check fails, else INCONCLUSIVE if any cannot tell, else PASS. Each
decision errs one-sidedly at most (1 - level) / 2 = 2.5% of the time: the convention of
non-inferiority trials (a two-sided 95% CI compared with the margin, CONSORT/ICH E9), where
wrongly passing a worse model is the error that matters. For an INCONCLUSIVE check the verdict
estimates how many more frames (subjects) would decide if the estimate stayed where it is: a
bootstrap interval narrows as 1/sqrt(n); a flip interval is recomputed at larger n.

Why these defaults (measured by ``tests/test_verdict.py`` on synthetic 32x32 frames, 300 frames
in subjects of 8 unless said):

- ``min_dice_delta = -0.02``: the int8 file may lose at most 2 Dice points. One frame going
  1 -> 0 (an empty-ground-truth frame where the candidate draws a blob, the issue's case) moves
  the mean by 1/300 = 0.0033; the bootstrap draws that frame ~Poisson(1) times, whose 97.5th
  percentile is 3, so the lower bound is -3/300 = -0.010 (measured -0.0101 subject-level,
  -0.0100 frame-level): exactly the old point limit -0.01, which left no room, and well inside
  -0.02. Two flips pass (bound -0.017); three are INCONCLUSIVE (-0.023). A candidate whose
  masks erode by 0.057 Dice measures [-0.067, -0.047]: FAIL. A smaller margin would ask for
  more than a test set resolves: one model's own mean Dice is known to +-0.07 on usgra-seg's 40
  test frames (docs/results.md).
- ``min_agreement = 0.98``: unchanged; a flipped frame scores agreement 0, so one flip in 300
  gives 0.9967 with lower bound 0.990 (PASS), three flips 0.990 with bound 0.977 (INCONCLUSIVE).
- ``max_flip_fraction = 0.03``: the exact 95% upper bound of 1 flip in 300 is 0.0184, of 3 flips
  0.0289, so the old 0.01 could not pass a single flip on any set under ~550 frames. With 0.03
  no flips need >= 122 frames to PASS; a set of 40 frames cannot bound the flip rate under
  0.088 and comes out INCONCLUSIVE whatever the models do (the verdict says so and how many
  frames would decide). Flips also cost agreement, so this check is the backstop for flips
  hidden by otherwise identical masks.
- 40 frames cannot tell a difference of -0.018 from -0.02 (measured CI [-0.028, -0.006]), nor
  the issue's one flip in 40 (-0.025, CI [-0.075, 0]): INCONCLUSIVE, with the frames that
  would decide.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from edgeseg.errors import ConfigError

OUTCOMES = ("PASS", "FAIL", "INCONCLUSIVE")
EXIT_CODES = {"PASS": 0, "FAIL": 1, "INCONCLUSIVE": 3}
N_BOOT = 4000  # bootstrap resamples behind every verdict interval (seeded)


@dataclass(frozen=True)
class Tolerances:
    """When the candidate passes, for every class and every reference it is checked against.

    ``min_dice_delta``: mean Dice(candidate) - mean Dice(reference) vs ground truth (all
    references and baselines). ``min_agreement``: mean per-image Dice between the candidate's
    and the reference's masks. ``max_flip_fraction``: frames whose presence decision flips, as a
    fraction of all frames (references only). ``level``: the two-sided confidence of every
    interval. The module docstring says why the defaults are what they are.
    """

    min_dice_delta: float = -0.02
    min_agreement: float = 0.98
    max_flip_fraction: float = 0.03
    level: float = 0.95

    def __post_init__(self) -> None:
        for name, value, lo, hi in (
            ("min_dice_delta", self.min_dice_delta, -1.0, 1.0),
            ("min_agreement", self.min_agreement, 0.0, 1.0),
            ("max_flip_fraction", self.max_flip_fraction, 0.0, 1.0),
        ):
            if not (math.isfinite(value) and lo <= value <= hi):
                flag = "--" + name.replace("_", "-")
                raise ConfigError(f"{flag} {value}: must be between {lo:g} and {hi:g}")
        if not (math.isfinite(self.level) and 0.5 <= self.level < 1.0):
            raise ConfigError(f"--confidence {self.level}: must be at least 0.5 and below 1")

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def decide(low: float, high: float, limit: float, op: str) -> str:
    """PASS / FAIL / INCONCLUSIVE of an interval [low, high] against ``value op limit``."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "INCONCLUSIVE"
    if op == ">=":
        return "PASS" if low >= limit else "FAIL" if high < limit else "INCONCLUSIVE"
    return "PASS" if high <= limit else "FAIL" if low > limit else "INCONCLUSIVE"


def units_to_decide(mean: float, low: float, high: float, limit: float, units: int) -> int | None:
    """Units (frames or subjects) in all a bootstrap interval needs to decide, as 1/sqrt(n).

    The interval's half-width on the side facing ``limit`` shrinks as sqrt(units / n'); None
    when the estimate sits on the limit (no sample size decides).
    """
    gap = mean - limit
    if not (math.isfinite(gap) and gap != 0.0):
        return None
    half = (mean - low) if gap > 0 else (high - mean)
    return max(units + 1, math.ceil(units * (half / abs(gap)) ** 2))


def frames_to_decide_flips(
    count: int, frames: int, limit: float, level: float, max_factor: int = 1000
) -> int | None:
    """Frames in all an exact flip interval needs to decide, at the same flip rate."""
    from edgeseg.stats import clopper_pearson

    p = count / frames
    if p == limit:
        return None
    sizes = np.unique(np.geomspace(frames + 1, frames * max_factor, 600).astype(int))
    low, high = clopper_pearson(p * sizes, sizes, level)
    # towards PASS the upper bound must drop to the limit, towards FAIL the lower rise above it
    ok = high <= limit if p < limit else low > limit
    return int(sizes[np.argmax(ok)]) if ok.any() else None


def make_check(
    kind: str,
    agree: Mapping[str, Any],
    cls: str | None,
    interval: Mapping[str, Any],
    limit: float,
    op: str,
    text: str,
    frames: int,
    method: str,
    needed: int | None,
) -> dict[str, Any]:
    """One check: its interval, tolerance, outcome and message."""
    value, low, high = interval["value"], interval["ci_low"], interval["ci_high"]
    outcome = decide(low, high, limit, op)
    unit, units = interval.get("unit", "frame"), int(interval.get("units", frames))
    bound = "at least" if op == ">=" else "at most"
    more_units = None if needed is None else max(needed - units, 1)
    per_unit = frames / units if units else 1.0
    more_frames = None if more_units is None else math.ceil(more_units * per_unit)
    ci = f"[{low:.4f}, {high:.4f}] ({100 * interval['level']:g}% {unit}-level {method})"
    if not math.isfinite(value):
        outcome, message = "INCONCLUSIVE", f"{text}: not a number (no frame defines it)"
    elif outcome == "PASS":
        message = f"{text} {ci}: credibly within the tolerance ({bound} {limit:g})"
    elif outcome == "FAIL":
        message = f"{text} {ci}: credibly outside the tolerance ({bound} {limit:g})"
    else:
        more = (
            "the estimate sits on the tolerance: more frames may not decide"
            if more_frames is None
            else f"about {more_frames} more frames"
            + (f" ({more_units} more subjects)" if unit == "subject" else "")
            + " would decide if the estimate stays where it is"
        )
        message = f"{text} {ci}: cannot tell whether it is {bound} {limit:g}; {more}"
    return {
        "check": kind,
        "reference": agree["reference"],
        "role": agree["role"],
        "class": cls,
        "value": value,
        "ci_low": low,
        "ci_high": high,
        "level": interval["level"],
        "unit": unit,
        "units": units,
        "method": method,
        "limit": limit,
        "op": op,
        "outcome": outcome,
        "passed": outcome == "PASS",
        "more_frames": more_frames,
        "more_units": more_units,
        "message": message,
    }


def _dice_check(
    cand: str,
    ref: str,
    cls: str,
    agree: Mapping[str, Any],
    d: Mapping[str, Any],
    tolerances: Tolerances,
    frames: int,
) -> dict[str, Any]:
    """The ``dice_delta`` check of one reference and class (labelled parity only)."""
    return make_check(
        "dice_delta",
        agree,
        cls,
        {**d, "value": d["mean_diff"]},
        tolerances.min_dice_delta,
        ">=",
        f"Dice({cand}) - Dice({ref}) = {d['mean_diff']:+.4f} for {cls}",
        frames,
        "bootstrap",
        units_to_decide(
            d["mean_diff"], d["ci_low"], d["ci_high"], tolerances.min_dice_delta, d["units"]
        ),
    )


def verdict(result: Mapping[str, Any], tolerances: Tolerances) -> dict[str, Any]:
    """Check a parity ``result`` against ``tolerances``.

    Returns ``outcome`` (PASS / FAIL / INCONCLUSIVE), ``passed`` (outcome == PASS),
    ``exit_code`` (0 / 1 / 3), ``reasons`` (messages of the checks that did not pass),
    ``checks`` (every check) and ``more_frames`` (INCONCLUSIVE: the most frames any undecided
    check needs; None if one cannot be decided by more frames).
    """
    cand, frames = result["candidate"], result["frames"]
    tests = {(t["reference"], t["class"]): t["diff"] for t in result["paired_tests"]}
    labelled = result.get("ground_truth", True)  # False: parity without labels, no Dice check
    checks = []
    for agree in result["agreement"]:
        ref, role = agree["reference"], agree["role"]
        for cls in result["classes"]:
            d = tests[(ref, cls)] if labelled else None
            if d is not None:
                checks.append(_dice_check(cand, ref, cls, agree, d, tolerances, frames))
            if role != "reference":
                continue
            m = agree["mask_dice"][cls]
            checks.append(
                make_check(
                    "agreement",
                    agree,
                    cls,
                    {**m, "value": m["mean"]},
                    tolerances.min_agreement,
                    ">=",
                    f"mean mask agreement (Dice) of {cand} with {ref} = {m['mean']:.4f} for "
                    f"{cls} (worst frame {m['min']:.4f})",
                    frames,
                    "bootstrap",
                    units_to_decide(
                        m["mean"], m["ci_low"], m["ci_high"], tolerances.min_agreement, m["units"]
                    ),
                )
            )
            f = agree["presence_flips"]["by_class"][cls]
            checks.append(
                make_check(
                    "presence_flips",
                    agree,
                    cls,
                    {**f, "value": f["fraction"], "unit": "frame", "units": frames},
                    tolerances.max_flip_fraction,
                    "<=",
                    f"{cls} presence flips on {f['count']} of {frames} frames "
                    f"({100 * f['fraction']:.1f}%) vs {ref}",
                    frames,
                    "Clopper-Pearson",
                    frames_to_decide_flips(
                        f["count"], frames, tolerances.max_flip_fraction, f["level"]
                    ),
                )
            )
    outcomes = {c["outcome"] for c in checks}
    outcome = (
        "FAIL" if "FAIL" in outcomes else "INCONCLUSIVE" if "INCONCLUSIVE" in outcomes else "PASS"
    )
    if not checks:  # e.g. only baselines without labels: nothing decided, never a vacuous PASS
        outcome = "INCONCLUSIVE"
    undecided = [c["more_frames"] for c in checks if c["outcome"] == "INCONCLUSIVE"]
    more = None if not undecided or None in undecided else max(undecided)
    return {
        "outcome": outcome,
        "passed": outcome == "PASS",
        "exit_code": EXIT_CODES[outcome],
        "level": tolerances.level,
        "reasons": [c["message"] for c in checks if c["outcome"] != "PASS"]
        or ([] if checks else ["no check applies to these models and data"]),
        "checks": checks,
        "more_frames": more if outcome == "INCONCLUSIVE" else None,
        "not_applicable": dict(result.get("not_applicable") or {}),
    }
