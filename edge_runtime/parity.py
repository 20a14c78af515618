"""Parity of an int8 model with the float model(s) it came from: accuracy, agreement, verdict.

For the same frames, each model gives a probability map (HxWxC at model size) and an optional
presence score. Every model's masks go through the SAME post-processing
(:func:`edgeseg.postprocess.probabilities_to_mask`) and are compared with the ground truth at the
frame's original size. Then the *candidate* (the int8 model) is compared with each *reference*:

- **accuracy** per model and class: Dice, IoU, precision, recall under the Kaggle empty-mask rule
  (both empty scores 1, ``metrics.summarize``), Dice over frames where either side is non-empty,
  and presence decisions (mask non-empty; the presence head when the model has one);
- **agreement** per reference: per-image Dice between the two models' masks (both empty = 1),
  mean and max ``|delta p|`` of the probability maps, frames whose presence decision flips
  (the presence head's when both models have one, else "the first class's mask is non-empty");
- **paired tests** on per-image Dice vs ground truth: Wilcoxon signed-rank and paired t-test
  (``edgeseg.stats``; scipy is imported only when they run), and a bootstrap 95% CI of the mean
  Dice difference;
- a **verdict** against :class:`Tolerances`.

Roles: ``candidate`` (one model, by default the last), ``reference`` (all checks: the model the
candidate was converted from) and ``baseline`` (the accuracy check only). For a QAT model the
original float model is the baseline and the QAT Keras model the reference: fine-tuning may
legitimately move the masks away from the float model, but the int8 file must not lose Dice
against it, and it must reproduce the QAT model it was converted from.

numpy (+ Pillow through ``edgeseg.imaging``) only; never imports TensorFlow.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from edgeseg.config import PostProcess
from edgeseg.errors import ConfigError, DataError
from edgeseg.imaging import resize_mask
from edgeseg.metrics import dice, per_image, summarize
from edgeseg.postprocess import probabilities_to_mask

SCHEMA = "edgeseg.parity/1"
ROLES = ("candidate", "reference", "baseline")


@dataclass(frozen=True)
class Tolerances:
    """When the candidate passes, for every class and every reference it is checked against.

    ``min_dice_delta``: mean Dice(candidate) - mean Dice(reference) vs ground truth (Kaggle rule)
    must be at least this (all references and baselines). ``min_agreement``: mean per-image Dice
    between the candidate's and the reference's masks. ``max_flip_fraction``: frames whose
    presence decision flips, as a fraction of all frames (references only).
    """

    min_dice_delta: float = -0.01
    min_agreement: float = 0.98
    max_flip_fraction: float = 0.01

    def __post_init__(self) -> None:
        for name, value, lo, hi in (
            ("min_dice_delta", self.min_dice_delta, -1.0, 1.0),
            ("min_agreement", self.min_agreement, 0.0, 1.0),
            ("max_flip_fraction", self.max_flip_fraction, 0.0, 1.0),
        ):
            if not (math.isfinite(value) and lo <= value <= hi):
                flag = "--" + name.replace("_", "-")
                raise ConfigError(f"{flag} {value}: must be between {lo:g} and {hi:g}")

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass
class _Pair:
    """Running per-frame agreement between the candidate and one reference."""

    agreement: dict[str, list[float]]
    mean_abs_dp: list[float] = field(default_factory=list)
    max_abs_dp: list[float] = field(default_factory=list)
    flips: list[bool] = field(default_factory=list)
    mask_flips: list[bool] = field(default_factory=list)


class ParityAccumulator:
    """Frame-by-frame parity (only per-frame scores are kept, so any test set fits in memory).

    ``models``: names in display order; ``candidate``: the model under test (default: the last);
    ``baselines``: references that get the accuracy check only. ``add`` one frame at a time, then
    ``result()``. :func:`compare_predictions` does both for arrays already in memory.
    """

    def __init__(
        self,
        models: Sequence[str],
        candidate: str | None = None,
        baselines: Sequence[str] = (),
        classes: Sequence[str] = ("nerve",),
        post: PostProcess | None = None,
        tolerances: Tolerances | None = None,
    ) -> None:
        self.models = [str(m) for m in models]
        if len(self.models) < 2 or len(set(self.models)) != len(self.models):
            raise ConfigError(
                f"parity needs two or more models with distinct names, got {self.models}"
            )
        self.candidate = self.models[-1] if candidate is None else candidate
        if self.candidate not in self.models:
            raise ConfigError(f"candidate {self.candidate!r} is not one of {self.models}")
        bad = [b for b in baselines if b not in self.models or b == self.candidate]
        if bad:
            raise ConfigError(
                f"baselines {bad} must be models other than the candidate: {self.models}"
            )
        self.roles = {
            m: "candidate" if m == self.candidate else "baseline" if m in baselines else "reference"
            for m in self.models
        }
        self.references = [m for m in self.models if m != self.candidate]
        self.classes = [str(c) for c in classes]
        if not self.classes:
            raise ConfigError("parity needs at least one class name")
        self.post = post if post is not None else PostProcess()
        self.tolerances = tolerances if tolerances is not None else Tolerances()
        self.names: list[str] = []
        self.rows = {m: {c: [] for c in self.classes} for m in self.models}
        self.presence = {m: [] for m in self.models}
        self.pairs = {r: _Pair({c: [] for c in self.classes}) for r in self.references}

    # -- adding frames -----------------------------------------------------------------------

    def masks_for(
        self,
        probs: Mapping[str, np.ndarray],
        presence: Mapping[str, float | None] | None = None,
        size: tuple[int, int] | None = None,
    ) -> dict[str, np.ndarray]:
        """Each model's HxWxC uint8 mask: the shared post-processing, resized to ``size``."""
        presence = presence or {}
        out = {}
        for m, prob in probs.items():
            prob = _channels(np.asarray(prob, np.float64), len(self.classes), m)
            mask = probabilities_to_mask(prob, self.post, _score(presence.get(m)))
            out[m] = resize_mask(mask, size) if size is not None else mask
        return out

    def add(
        self,
        gt: np.ndarray,
        probs: Mapping[str, np.ndarray],
        presence: Mapping[str, float | None] | None = None,
        name: str | None = None,
    ) -> dict[str, np.ndarray]:
        """One frame: ground truth HxW(xC) at original size, each model's HxW(xC) probabilities.

        Returns each model's post-processed mask at the ground truth's size (HxWxC uint8).
        """
        gt = _channels(np.asarray(gt), len(self.classes), "ground truth")
        missing = [m for m in self.models if m not in probs]
        if missing:
            raise DataError(f"frame {name or len(self.names)}: no probabilities for {missing}")
        presence = presence or {}
        prob = {
            m: _channels(np.asarray(probs[m], np.float64), len(self.classes), m)
            for m in self.models
        }
        shapes = {p.shape for p in prob.values()}
        if len(shapes) != 1:
            raise DataError(
                f"frame {name or len(self.names)}: probability maps differ in shape "
                f"{ {m: p.shape for m, p in prob.items()} }: run all models at the same size"
            )
        scores = {m: _score(presence.get(m)) for m in self.models}
        masks = self.masks_for(prob, scores, gt.shape[:2])
        self.names.append(str(name) if name is not None else f"frame {len(self.names)}")
        for m in self.models:
            self.presence[m].append(scores[m])
            for c, cls in enumerate(self.classes):
                self.rows[m][cls].append(per_image(masks[m][..., c], gt[..., c], empty="one"))
        cand = self.candidate
        for ref in self.references:
            pair = self.pairs[ref]
            for c, cls in enumerate(self.classes):
                pair.agreement[cls].append(dice(masks[cand][..., c], masks[ref][..., c], "one"))
            delta = np.abs(prob[cand] - prob[ref])
            pair.mean_abs_dp.append(float(delta.mean()))
            pair.max_abs_dp.append(float(delta.max()))
            mask_c, mask_r = bool(masks[cand][..., 0].any()), bool(masks[ref][..., 0].any())
            pair.mask_flips.append(mask_c != mask_r)
            if scores[cand] is not None and scores[ref] is not None:
                thr = self.post.presence_threshold
                pair.flips.append((scores[cand] >= thr) != (scores[ref] >= thr))
            else:
                pair.flips.append(mask_c != mask_r)
        return masks

    # -- the result --------------------------------------------------------------------------

    def dice_scores(self, model: str, cls: str | None = None) -> np.ndarray:
        """Per-image Dice (Kaggle rule) of one model and class (default: the first class)."""
        rows = self.rows[model][cls or self.classes[0]]
        return np.array([r["dice"] for r in rows], dtype=np.float64)

    def agreement_scores(self, reference: str, cls: str | None = None) -> np.ndarray:
        """Per-image mask Dice between the candidate and ``reference``."""
        return np.array(self.pairs[reference].agreement[cls or self.classes[0]], np.float64)

    def _presence_source(self, ref: str) -> str:
        both = all(s is not None for m in (self.candidate, ref) for s in self.presence[m])
        return "presence head" if both and self.names else "mask non-empty"

    def result(self, seed: int = 0) -> dict[str, Any]:
        """The JSON-ready parity dict: models, agreement, paired tests, per_image, verdict."""
        n = len(self.names)
        if n == 0:
            raise DataError("parity needs at least one frame: the data folder gave none")
        models = [self._model_summary(m, seed) for m in self.models]
        agreement = [self._agreement(ref) for ref in self.references]
        tests = [
            {
                "candidate": self.candidate,
                "reference": ref,
                "role": self.roles[ref],
                "class": cls,
                **_paired(self.dice_scores(self.candidate, cls), self.dice_scores(ref, cls), seed),
            }
            for ref in self.references
            for cls in self.classes
        ]
        out: dict[str, Any] = {
            "schema": SCHEMA,
            "frames": n,
            "classes": list(self.classes),
            "candidate": self.candidate,
            "roles": dict(self.roles),
            "postprocess": asdict(self.post),
            "tolerances": self.tolerances.to_dict(),
            "models": models,
            "agreement": agreement,
            "paired_tests": tests,
            "per_image": self._per_image(),
        }
        out["verdict"] = verdict(out, self.tolerances)
        out["passed"] = out["verdict"]["passed"]
        return out

    def _model_summary(self, model: str, seed: int) -> dict[str, Any]:
        accuracy = {}
        for cls in self.classes:
            rows = self.rows[model][cls]
            summary = summarize(rows, seed=seed)
            nonempty = np.array(
                [r["dice"] for r in rows if r["gt_present"] or r["pred_present"]], np.float64
            )
            summary["dice_nonempty"] = {
                "mean": float(nonempty.mean()) if nonempty.size else float("nan"),
                "n": int(nonempty.size),
            }
            accuracy[cls] = summary
        scores = self.presence[model]
        head = None
        if scores and all(s is not None for s in scores):
            gt = np.array([r["gt_present"] for r in self.rows[model][self.classes[0]]], bool)
            pred = np.array(scores) >= self.post.presence_threshold
            head = {
                "accuracy": float(np.mean(pred == gt)),
                "false_positive_frames": int(np.count_nonzero(pred & ~gt)),
                "false_negative_frames": int(np.count_nonzero(~pred & gt)),
                "threshold": self.post.presence_threshold,
            }
        return {
            "name": model,
            "role": self.roles[model],
            "accuracy": accuracy,
            "presence_head": head,
        }

    def _agreement(self, ref: str) -> dict[str, Any]:
        pair = self.pairs[ref]
        n = len(self.names)
        per_class = {}
        for cls in self.classes:
            vals = np.array(pair.agreement[cls], np.float64)
            per_class[cls] = {
                "mean": float(vals.mean()),
                "min": float(vals.min()),
                "p05": float(np.percentile(vals, 5)),
                "frames_below_0.9": int(np.count_nonzero(vals < 0.9)),
            }
        flipped = [self.names[i] for i, f in enumerate(pair.flips) if f]
        mask_flipped = [self.names[i] for i, f in enumerate(pair.mask_flips) if f]
        return {
            "candidate": self.candidate,
            "reference": ref,
            "role": self.roles[ref],
            "mask_dice": per_class,
            "mean_abs_dp": float(np.mean(pair.mean_abs_dp)),
            "max_abs_dp": float(np.max(pair.max_abs_dp)),
            "presence_flips": {
                "decision": self._presence_source(ref),
                "count": len(flipped),
                "fraction": len(flipped) / n,
                "frames": flipped,
            },
            "mask_presence_flips": {
                "count": len(mask_flipped),
                "fraction": len(mask_flipped) / n,
                "frames": mask_flipped,
            },
        }

    def _per_image(self) -> list[dict[str, Any]]:
        return [self.per_image_row(i) for i in range(len(self.names))]

    def per_image_row(self, i: int) -> dict[str, Any]:
        """Frame ``i``'s scores: ``MODEL/CLASS/dice``, ``agreement/REF/CLASS``, flips, ..."""
        row: dict[str, Any] = {"image": self.names[i]}
        for m in self.models:
            for cls in self.classes:
                r = self.rows[m][cls][i]
                row[f"{m}/{cls}/dice"] = r["dice"]
                row[f"{m}/{cls}/iou"] = r["iou"]
                row[f"{m}/{cls}/gt_present"] = r["gt_present"]
                row[f"{m}/{cls}/pred_present"] = r["pred_present"]
            row[f"{m}/presence"] = self.presence[m][i]
        for ref in self.references:
            pair = self.pairs[ref]
            for cls in self.classes:
                row[f"agreement/{ref}/{cls}"] = pair.agreement[cls][i]
            row[f"mean_abs_dp/{ref}"] = pair.mean_abs_dp[i]
            row[f"presence_flip/{ref}"] = pair.flips[i]
        return row


# --------------------------------------------------------------------------- the verdict


def verdict(result: Mapping[str, Any], tolerances: Tolerances) -> dict[str, Any]:
    """Check ``result`` against ``tolerances``: ``{"passed", "reasons", "checks"}``.

    ``checks`` lists every check (value, limit, passed, message); ``reasons`` the messages of
    the failed ones (empty when the candidate passes).
    """
    cand = result["candidate"]
    by_name = {m["name"]: m for m in result["models"]}
    checks = []
    for agree in result["agreement"]:
        ref, role = agree["reference"], agree["role"]
        for cls in result["classes"]:
            d_cand = by_name[cand]["accuracy"][cls]["dice"]["mean"]
            d_ref = by_name[ref]["accuracy"][cls]["dice"]["mean"]
            delta = d_cand - d_ref
            checks.append(
                _check(
                    "dice_delta",
                    ref,
                    role,
                    cls,
                    delta,
                    tolerances.min_dice_delta,
                    ">=",
                    f"Dice({cand}) - Dice({ref}) = {delta:+.4f} for {cls} "
                    f"({d_cand:.4f} vs {d_ref:.4f})",
                )
            )
            if role != "reference":
                continue
            mean = agree["mask_dice"][cls]["mean"]
            checks.append(
                _check(
                    "agreement",
                    ref,
                    role,
                    cls,
                    mean,
                    tolerances.min_agreement,
                    ">=",
                    f"mean mask agreement (Dice) of {cand} with {ref} = {mean:.4f} for {cls} "
                    f"(worst frame {agree['mask_dice'][cls]['min']:.4f})",
                )
            )
        if role == "reference":
            flips = agree["presence_flips"]
            checks.append(
                _check(
                    "presence_flips",
                    ref,
                    role,
                    None,
                    flips["fraction"],
                    tolerances.max_flip_fraction,
                    "<=",
                    f"presence decision ({flips['decision']}) flips on {flips['count']} of "
                    f"{result['frames']} frames ({100 * flips['fraction']:.1f}%) vs {ref}",
                )
            )
    reasons = [c["message"] for c in checks if not c["passed"]]
    return {"passed": not reasons, "reasons": reasons, "checks": checks}


def _check(
    kind: str,
    ref: str,
    role: str,
    cls: str | None,
    value: float,
    limit: float,
    op: str,
    text: str,
) -> dict[str, Any]:
    ok = bool(value >= limit if op == ">=" else value <= limit)
    bound = "at least" if op == ">=" else "at most"
    message = f"{text}: {'within' if ok else 'outside'} the tolerance ({bound} {limit:g})"
    if not math.isfinite(value):
        ok, message = False, f"{text}: not a number, cannot pass"
    return {
        "check": kind,
        "reference": ref,
        "role": role,
        "class": cls,
        "value": value,
        "limit": limit,
        "op": op,
        "passed": ok,
        "message": message,
    }


# --------------------------------------------------------------------------- arrays in memory


def compare_predictions(
    gt: Sequence[np.ndarray],
    probs: Mapping[str, Sequence[np.ndarray] | np.ndarray],
    presence: Mapping[str, Sequence[float | None] | np.ndarray | None] | None = None,
    candidate: str | None = None,
    baselines: Sequence[str] = (),
    classes: Sequence[str] = ("nerve",),
    post: PostProcess | None = None,
    tolerances: Tolerances | None = None,
    names: Sequence[str] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Parity of ``candidate`` (default: the last model in ``probs``) with the other models.

    ``gt``: per-frame ground-truth masks at the frames' original sizes (HxW, or HxWxC with one
    channel per class). ``probs``: ``{model name: per-frame probabilities}`` in display order,
    each frame HxW(xC) at model size (any size: masks are resized to the ground truth's).
    ``presence``: ``{model name: per-frame presence scores}`` (None or missing: no presence
    head). ``baselines``: models checked for accuracy only (see the module docstring). Returns
    the dict described there, with ``passed`` and ``verdict`` (``reasons`` says why it failed).
    """
    presence = presence or {}
    acc = ParityAccumulator(list(probs), candidate, baselines, classes, post, tolerances)
    n = len(gt)
    for m, frames in probs.items():
        if len(frames) != n:
            raise DataError(f"{m} has {len(frames)} probability maps for {n} ground-truth masks")
        scores = presence.get(m)
        if scores is not None and len(scores) != n:
            raise DataError(f"{m} has {len(scores)} presence scores for {n} frames")
    if names is not None and len(names) != n:
        raise DataError(f"{len(names)} frame names for {n} frames")
    for i in range(n):
        acc.add(
            gt[i],
            {m: probs[m][i] for m in probs},
            {m: None if presence.get(m) is None else presence[m][i] for m in probs},
            None if names is None else names[i],
        )
    return acc.result(seed=seed)


# --------------------------------------------------------------------------- helpers


def _channels(arr: np.ndarray, n_classes: int, what: str) -> np.ndarray:
    """HxW -> HxWx1; checks the channel count."""
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[2] != n_classes:
        raise DataError(
            f"{what} has shape {arr.shape}: expected HxW or HxWx{n_classes} "
            f"({n_classes} class{'es' if n_classes > 1 else ''})"
        )
    return arr


def _score(value: Any) -> float | None:
    if value is None:
        return None
    value = float(np.asarray(value, dtype=np.float64).ravel()[0])
    return None if math.isnan(value) else value


def _paired(cand: np.ndarray, ref: np.ndarray, seed: int) -> dict[str, Any]:
    """Wilcoxon, paired t-test and the bootstrap CI of mean(cand - ref) on per-image Dice."""
    try:
        from edgeseg.stats import compare_paired
    except ImportError:  # edgeseg.stats not installed: the same tests straight from scipy
        compare_paired = _compare_paired_scipy
    return compare_paired(cand, ref, seed=seed)


def _compare_paired_scipy(a: np.ndarray, b: np.ndarray, seed: int = 0) -> dict[str, Any]:
    from scipy import stats  # lazily: only the paired tests need scipy

    from edgeseg.metrics import bootstrap_ci

    diff = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    n = int(diff.size)
    if np.count_nonzero(diff) == 0:
        wil = {"statistic": 0.0, "pvalue": 1.0, "n": n, "nonzero": 0}
        tt = {"statistic": 0.0, "pvalue": 1.0, "df": n - 1, "n": n}
    else:
        w = stats.wilcoxon(a, b)
        t = stats.ttest_rel(a, b)
        wil = {
            "statistic": float(w.statistic),
            "pvalue": float(w.pvalue),
            "n": n,
            "nonzero": int(np.count_nonzero(diff)),
        }
        tt = {"statistic": float(t.statistic), "pvalue": float(t.pvalue), "df": n - 1, "n": n}
    lo, hi = bootstrap_ci(diff, seed=seed)
    mean = float(diff.mean()) if n else float("nan")
    return {
        "wilcoxon": wil,
        "ttest": tt,
        "diff": {"mean_diff": mean, "ci_low": lo, "ci_high": hi, "n": n},
    }


__all__ = [
    "ROLES",
    "SCHEMA",
    "ParityAccumulator",
    "Tolerances",
    "compare_predictions",
    "verdict",
]
