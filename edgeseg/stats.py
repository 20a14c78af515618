"""Paired significance tests for per-frame scores of two methods on the same frames.

``wilcoxon`` and ``paired_ttest`` wrap ``scipy.stats`` (imported when called; scipy comes with
the ``train`` and ``dev`` extras), ``holm`` adjusts a family of p-values for multiple
comparisons, and ``bootstrap_diff_ci`` gives a percentile CI of the mean paired difference.
Pairs where either score is NaN are dropped first (``metrics`` returns NaN for undefined frames
under ``empty="nan"``); the number of pairs used is always returned.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from edgeseg.errors import DependencyError
from edgeseg.metrics import bootstrap_ci


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
    x = np.asarray(a, dtype=np.float64).ravel()
    y = np.asarray(b, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"paired scores need equal lengths, got {x.size} and {y.size}")
    keep = ~(np.isnan(x) | np.isnan(y))
    return x[keep], y[keep]


def wilcoxon(a: Sequence[float], b: Sequence[float], alternative: str = "two-sided") -> dict:
    """Wilcoxon signed-rank test of ``a - b`` (zero differences dropped, scipy's default).

    All differences zero (or no pairs): no evidence of a difference, ``pvalue`` 1.0.
    """
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

    Fewer than 2 pairs: NaN. Constant differences (zero variance): ``pvalue`` 1.0 if they are all
    zero (identical scores), else 0.0 with an infinite statistic (scipy would return NaN).
    """
    x, y = paired(a, b)
    diff = x - y
    n = int(x.size)
    if n < 2:
        return {"statistic": float("nan"), "pvalue": float("nan"), "df": 0, "n": n}
    if np.all(diff == diff[0]):
        constant = float(diff[0])
        stat = 0.0 if constant == 0.0 else math.copysign(math.inf, constant)
        return {"statistic": stat, "pvalue": 1.0 if constant == 0.0 else 0.0, "df": n - 1, "n": n}
    res = _scipy_stats().ttest_rel(x, y, alternative=alternative)
    return {
        "statistic": float(res.statistic),
        "pvalue": float(res.pvalue),
        "df": int(x.size) - 1,
        "n": int(x.size),
    }


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
) -> dict:
    """Mean of the paired differences ``a - b`` and a percentile bootstrap CI (frames resampled)."""
    x, y = paired(a, b)
    diff = x - y
    lo, hi = bootstrap_ci(diff, n_boot=n_boot, level=level, seed=seed)
    mean = float(diff.mean()) if diff.size else float("nan")
    return {"mean_diff": mean, "ci_low": lo, "ci_high": hi, "n": int(diff.size)}


def compare_paired(a: Sequence[float], b: Sequence[float], seed: int = 0) -> dict:
    """Both tests and the bootstrap CI of ``a - b`` in one dict (for reports)."""
    return {
        "wilcoxon": wilcoxon(a, b),
        "ttest": paired_ttest(a, b),
        "diff": bootstrap_diff_ci(a, b, seed=seed),
    }
