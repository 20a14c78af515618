"""Intervals and paired tests for per-frame scores.

- ``bootstrap_ci``: percentile bootstrap CI of a mean, resampling frames, or whole subjects when
  ``groups`` is given (a cluster bootstrap: frames of one subject are not independent). Every
  result says its ``unit`` ("frame" or "subject") and flags ``degenerate`` intervals (fewer
  than two units: no spread to resample, the "interval" is the value itself).
- ``clopper_pearson``: the exact binomial interval of a proportion (e.g. frames that flip).
- ``wilcoxon`` and ``paired_ttest`` wrap ``scipy.stats`` (imported when called; scipy comes with
  the ``train`` and ``dev`` extras); ``holm`` adjusts a family of p-values; ``bootstrap_diff_ci``
  is the bootstrap CI of the mean paired difference; ``seed_frame_diff_ci`` also resamples the
  training seeds of two recipes (their seed-to-seed spread widens the interval).

Pairs where either score is NaN are dropped first (``edgeseg.metrics`` gives NaN for frames a
policy leaves out); the number of pairs used is always returned.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from edgeseg.errors import DependencyError

ALTERNATIVES = ("two-sided", "greater", "less")


def _scipy_stats():
    try:
        from scipy import stats
    except ImportError as exc:
        raise DependencyError(
            "paired tests need scipy, which is missing: pip install 'edgeseg[train]' or scipy"
        ) from exc
    return stats


def paired(a: Sequence[float], b: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """The two score vectors as float arrays with NaN pairs removed; equal lengths required."""
    x, y, _ = _paired_groups(a, b, None)
    return x, y


def _paired_groups(
    a: Sequence[float], b: Sequence[float], groups: Sequence[Any] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    x = np.asarray(a, dtype=np.float64).ravel()
    y = np.asarray(b, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"paired scores need equal lengths, got {x.size} and {y.size}")
    keep = ~(np.isnan(x) | np.isnan(y))
    g = None
    if groups is not None:
        g = np.asarray([str(s) for s in groups])
        if g.size != x.size:
            raise ValueError(f"{g.size} group labels for {x.size} scores")
        g = g[keep]
    return x[keep], y[keep], g


# --------------------------------------------------------------------------- intervals


def bootstrap_ci(
    values: Sequence[float],
    groups: Sequence[Any] | None = None,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """Mean of ``values`` (NaNs dropped) with a two-sided percentile bootstrap CI.

    ``groups``: one label per value (e.g. the frame's subject): whole groups are resampled and
    the mean is over the frames drawn (``unit`` "subject"); without it, or when every group is
    one frame, frames are resampled (``unit`` "frame"). Returns ``mean``, ``ci_low``,
    ``ci_high``, ``n`` (values used), ``units`` (groups or frames resampled), ``unit``,
    ``level``, ``degenerate`` (fewer than 2 units: the CI is the mean itself) and ``note``.
    """
    arr = np.asarray(values, dtype=np.float64).ravel()
    keep = ~np.isnan(arr)
    labels = None
    if groups is not None:
        labels = np.asarray([str(s) for s in groups])
        if labels.size != arr.size:
            raise ValueError(f"{labels.size} group labels for {arr.size} values")
        labels = labels[keep]
    arr = arr[keep]
    if labels is not None:
        names, inverse = np.unique(labels, return_inverse=True)
        sums = np.bincount(inverse, weights=arr, minlength=names.size)
        counts = np.bincount(inverse, minlength=names.size).astype(np.float64)
        unit = "subject" if names.size < arr.size else "frame"
    else:
        sums, counts, unit = arr, np.ones_like(arr), "frame"
    units = int(sums.size)
    out: dict[str, Any] = {
        "mean": float(arr.mean()) if arr.size else float("nan"),
        "ci_low": float("nan"),
        "ci_high": float("nan"),
        "n": int(arr.size),
        "units": units,
        "unit": unit,
        "level": level,
        "degenerate": units < 2,
        "note": "",
    }
    if units == 0:
        out["note"] = "no defined values"
        return out
    if units == 1:
        out["ci_low"] = out["ci_high"] = out["mean"]
        out["note"] = f"one {unit}: no interval (the value itself)"
        return out
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, units, size=(n_boot, units))
    means = sums[idx].sum(axis=1) / counts[idx].sum(axis=1)
    alpha = (1.0 - level) / 2.0
    out["ci_low"] = float(np.quantile(means, alpha))
    out["ci_high"] = float(np.quantile(means, 1.0 - alpha))
    return out


def clopper_pearson(k: Any, n: Any, level: float = 0.95) -> tuple[Any, Any]:
    """Exact (Clopper-Pearson) two-sided interval of a proportion ``k`` of ``n``.

    Scalars give floats; arrays (e.g. the same rate at several ``n``) give arrays.
    """
    kk, nn = np.asarray(k, dtype=np.float64), np.asarray(n, dtype=np.float64)
    if np.any(nn <= 0) or np.any((kk < 0) | (kk > nn)):
        raise ValueError(f"k={k} must be between 0 and n={n} (n > 0)")
    beta = _scipy_stats().beta
    alpha = (1.0 - level) / 2.0
    with np.errstate(invalid="ignore"):
        lo = np.where(kk <= 0, 0.0, beta.ppf(alpha, np.maximum(kk, 1e-12), nn - kk + 1))
        hi = np.where(kk >= nn, 1.0, beta.ppf(1.0 - alpha, kk + 1, np.maximum(nn - kk, 1e-12)))
    if lo.ndim == 0:
        return (float(lo), float(hi))
    return (lo, hi)


# --------------------------------------------------------------------------- paired tests


def wilcoxon(a: Sequence[float], b: Sequence[float], alternative: str = "two-sided") -> dict:
    """Wilcoxon signed-rank test of ``a - b`` (zero differences dropped, scipy's default).

    All differences zero (or no pairs): no evidence of a difference, ``pvalue`` 1.0.
    """
    _check_alternative(alternative)
    x, y = paired(a, b)
    diff = x - y
    nonzero = int(np.count_nonzero(diff))
    if nonzero == 0:
        return {"statistic": 0.0, "pvalue": 1.0, "n": int(x.size), "nonzero": 0}
    res = _scipy_stats().wilcoxon(x, y, alternative=alternative)
    return {
        "statistic": float(res.statistic),
        "pvalue": float(res.pvalue),
        "n": int(x.size),
        "nonzero": nonzero,
    }


def paired_ttest(a: Sequence[float], b: Sequence[float], alternative: str = "two-sided") -> dict:
    """Paired t-test of ``a - b``.

    Fewer than 2 pairs: NaN. All differences zero: ``pvalue`` 1.0 (identical scores; scipy gives
    NaN). Every difference the same non-zero value (zero variance): an infinite statistic of
    that sign and the p-value scipy (>= 1.11) gives: 0.0 two-sided or one-sided in the data's
    direction, 1.0 one-sided against it.
    """
    _check_alternative(alternative)
    x, y = paired(a, b)
    diff = x - y
    n = int(x.size)
    if n < 2:
        return {"statistic": float("nan"), "pvalue": float("nan"), "df": 0, "n": n}
    if np.all(diff == diff[0]):
        constant = float(diff[0])
        if constant == 0.0:
            return {"statistic": 0.0, "pvalue": 1.0, "df": n - 1, "n": n}
        against = (alternative == "greater" and constant < 0) or (
            alternative == "less" and constant > 0
        )
        stat = math.copysign(math.inf, constant)
        return {"statistic": stat, "pvalue": 1.0 if against else 0.0, "df": n - 1, "n": n}
    res = _scipy_stats().ttest_rel(x, y, alternative=alternative)
    return {
        "statistic": float(res.statistic),
        "pvalue": float(res.pvalue),
        "df": n - 1,
        "n": n,
    }


def _check_alternative(alternative: str) -> None:
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative {alternative!r} is not one of {ALTERNATIVES}")


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni step-down adjusted p-values, in the input order.

    With m p-values sorted ascending, ``adj[k] = max_{j<=k} min(1, (m - j) * p[j])``; NaN entries
    stay NaN and do not count towards m.
    """
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    m = valid.size
    if m == 0:
        return out.tolist()
    order = valid[np.argsort(p[valid], kind="stable")]
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[idx]))
        out[idx] = running
    return out.tolist()


def bootstrap_diff_ci(
    a: Sequence[float],
    b: Sequence[float],
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
    groups: Sequence[Any] | None = None,
) -> dict:
    """Mean of the paired differences ``a - b`` and its bootstrap CI (see :func:`bootstrap_ci`).

    ``mean_diff``, ``ci_low``, ``ci_high``, ``n`` (pairs) plus ``unit``, ``units``, ``level``,
    ``degenerate`` and ``note``; ``groups`` (one label per pair) resamples whole subjects.
    """
    x, y, g = _paired_groups(a, b, groups)
    ci = bootstrap_ci(x - y, g, n_boot=n_boot, level=level, seed=seed)
    ci["mean_diff"] = ci.pop("mean")
    return ci


def seed_frame_diff_ci(
    a_runs: Any, b_runs: Any, n_boot: int = 2000, level: float = 0.95, seed: int = 0
) -> dict:
    """Difference of two recipes' mean per-frame scores, ``a_runs`` (seeds, frames) minus
    ``b_runs`` (seeds, frames), with a two-level bootstrap CI.

    Each replicate draws the frames once (the pairing is kept) and, independently, each recipe's
    seeds with replacement, so a recipe whose few seeds happened to land high or low is not
    taken as a fixed truth (a frame-only bootstrap of seed means treats the seeds as fixed).
    Returns ``mean_diff``, ``ci_low``, ``ci_high``, ``seeds`` (a, b), ``frames``, ``level``.
    """
    a, b = np.asarray(a_runs, dtype=np.float64), np.asarray(b_runs, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"expected (seeds, frames) arrays on the same frames: {a.shape} {b.shape}")
    frames = a.shape[1]
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, frames, size=(n_boot, frames))
    sa = rng.integers(0, a.shape[0], size=(n_boot, a.shape[0]))
    sb = rng.integers(0, b.shape[0], size=(n_boot, b.shape[0]))
    rows = np.arange(n_boot)[:, None]
    # Per replicate: the drawn seeds' mean per frame, then the drawn frames' mean.
    mean_a = a[sa].mean(axis=1)[rows, pick].mean(axis=1)
    mean_b = b[sb].mean(axis=1)[rows, pick].mean(axis=1)
    diffs = mean_a - mean_b
    alpha = (1.0 - level) / 2.0
    return {
        "mean_diff": float(a.mean() - b.mean()),
        "ci_low": float(np.quantile(diffs, alpha)),
        "ci_high": float(np.quantile(diffs, 1.0 - alpha)),
        "seeds": [int(a.shape[0]), int(b.shape[0])],
        "frames": int(frames),
        "level": level,
    }


def compare_paired(
    a: Sequence[float],
    b: Sequence[float],
    seed: int = 0,
    groups: Sequence[Any] | None = None,
    n_boot: int = 2000,
    level: float = 0.95,
) -> dict:
    """Both tests (two-sided) and the bootstrap CI of ``a - b`` in one dict (for reports)."""
    return {
        "wilcoxon": wilcoxon(a, b),
        "ttest": paired_ttest(a, b),
        "diff": bootstrap_diff_ci(a, b, n_boot=n_boot, level=level, seed=seed, groups=groups),
    }
