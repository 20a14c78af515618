"""Parity of an int8 model with the float model(s) it came from: accuracy, agreement, verdict.

For the same frames, each model gives a probability map (HxWxC at model size) and an optional
presence score. Every model's masks go through the SAME post-processing
(:func:`edgeseg.postprocess.probabilities_to_mask`) and are compared with the ground truth at the
frame's original size. Then the *candidate* (the int8 model) is compared with each *reference*:

- **accuracy** per model and class: Dice, IoU, precision, recall under the report's empty-mask
  ``policy`` (``edgeseg.metrics``: ``kaggle`` by default), Dice over frames whose ground truth is
  non-empty, and presence decisions (mask non-empty; the presence head when the model has one);
- **agreement** per reference: per-image Dice between the two models' masks (both empty = 1),
  mean and max ``|delta p|`` of the probability maps, and, for every class, the frames whose
  presence decision (the mask is non-empty after post-processing) flips, each explained
  (:mod:`edgeseg.evaluation.flips`); presence-head flips are listed apart where both scores exist;
- **paired tests** on per-image Dice vs ground truth: Wilcoxon signed-rank and paired t-test
  (``edgeseg.stats``; scipy is imported only when they run), and a bootstrap CI of the mean
  Dice difference, resampled by subject when the frames' subjects are known;
- a **verdict** (:mod:`edgeseg.evaluation.verdict`): PASS, FAIL or INCONCLUSIVE on intervals.

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
from edgeseg.evaluation.flips import describe, explain
from edgeseg.evaluation.summaries import agreement_summary, model_summary
from edgeseg.evaluation.verdict import N_BOOT, Tolerances, verdict
from edgeseg.imaging import resize_mask
from edgeseg.metrics import DEFAULT_POLICY, POLICY_RULES, check_policy, dice, per_image
from edgeseg.postprocess import probabilities_to_mask
from edgeseg.stats import compare_paired

SCHEMA = "edgeseg.parity/2"
ROLES = ("candidate", "reference", "baseline")
MIN_FRAMES = 2


@dataclass
class _Pair:
    """Running per-frame agreement between the candidate and one reference."""

    agreement: dict[str, list[float]]
    flips: dict[str, list[bool]]
    mean_abs_dp: list[float] = field(default_factory=list)
    max_abs_dp: list[float] = field(default_factory=list)
    head_flips: list[bool | None] = field(default_factory=list)
    explained: list[dict[str, Any]] = field(default_factory=list)


class ParityAccumulator:
    """Frame-by-frame parity (only per-frame scores are kept, so any test set fits in memory).

    ``models``: names in display order; ``candidate``: the model under test (default: the last);
    ``baselines``: references that get the accuracy check only; ``policy``: the empty-mask
    policy of the accuracy metrics (``edgeseg.metrics.EMPTY_POLICIES``). ``add`` one frame at a
    time (with its subject, when known), then ``result()``. :func:`compare_predictions` does
    both for arrays already in memory.
    """

    def __init__(
        self,
        models: Sequence[str],
        candidate: str | None = None,
        baselines: Sequence[str] = (),
        classes: Sequence[str] = ("nerve",),
        post: PostProcess | None = None,
        tolerances: Tolerances | None = None,
        policy: str = DEFAULT_POLICY,
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
        self.policy = check_policy(policy)
        self.names: list[str] = []
        self.subjects: list[str | None] = []
        self.rows = {m: {c: [] for c in self.classes} for m in self.models}
        self.presence = {m: [] for m in self.models}
        self.pairs = {
            r: _Pair({c: [] for c in self.classes}, {c: [] for c in self.classes})
            for r in self.references
        }

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
        subject: str | None = None,
    ) -> dict[str, np.ndarray]:
        """One frame: ground truth HxW(xC) at original size, each model's HxW(xC) probabilities.

        ``subject``: the frame's subject (patient, scan), for subject-level intervals. Returns
        each model's post-processed mask at the ground truth's size (HxWxC uint8).
        """
        label = str(name) if name is not None else f"frame {len(self.names)}"
        gt = _channels(np.asarray(gt), len(self.classes), f"{label}: ground truth")
        missing = [m for m in self.models if m not in probs]
        if missing:
            raise DataError(f"{label}: no probabilities for {missing}")
        presence = presence or {}
        prob = {
            m: _channels(np.asarray(probs[m], np.float64), len(self.classes), f"{label}: {m}")
            for m in self.models
        }
        shapes = {p.shape for p in prob.values()}
        if len(shapes) != 1:
            raise DataError(
                f"{label}: probability maps differ in shape "
                f"{ {m: p.shape for m, p in prob.items()} }: run all models at the same size"
            )
        scores = {m: _score(presence.get(m)) for m in self.models}
        masks = self.masks_for(prob, scores, gt.shape[:2])
        rows = {
            m: [per_image(masks[m][..., c], gt[..., c], self.policy) for c in range(gt.shape[2])]
            for m in self.models
        }  # scored before anything is kept: a bad mask leaves the accumulator unchanged
        self.names.append(label)
        self.subjects.append(None if subject is None else str(subject))
        for m in self.models:
            self.presence[m].append(scores[m])
            for c, cls in enumerate(self.classes):
                self.rows[m][cls].append(rows[m][c])
        for ref in self.references:
            self._add_pair(ref, prob, scores, masks)
        return masks

    def _add_pair(
        self,
        ref: str,
        prob: Mapping[str, np.ndarray],
        scores: Mapping[str, float | None],
        masks: Mapping[str, np.ndarray],
    ) -> None:
        cand, pair = self.candidate, self.pairs[ref]
        for c, cls in enumerate(self.classes):
            pair.agreement[cls].append(dice(masks[cand][..., c], masks[ref][..., c], "kaggle"))
            present = {m: bool(masks[m][..., c].any()) for m in (cand, ref)}
            flipped = present[cand] != present[ref]
            pair.flips[cls].append(flipped)
            if flipped:
                why = {
                    m: explain(prob[m][..., c], scores[m], self.post, present[m])
                    for m in (cand, ref)
                }
                pair.explained.append(
                    {
                        "frame": self.names[-1],
                        "class": cls,
                        "why": why,
                        "text": " | ".join(describe(m, why[m]) for m in (cand, ref)),
                    }
                )
        delta = np.abs(prob[cand] - prob[ref])
        pair.mean_abs_dp.append(float(delta.mean()))
        pair.max_abs_dp.append(float(delta.max()))
        if scores[cand] is None or scores[ref] is None:
            pair.head_flips.append(None)  # this frame only: no head decision to compare
        else:
            thr = self.post.presence_threshold
            pair.head_flips.append((scores[cand] >= thr) != (scores[ref] >= thr))

    # -- the result --------------------------------------------------------------------------

    def dice_scores(self, model: str, cls: str | None = None) -> np.ndarray:
        """Per-image Dice (the report's policy) of one model and class (default: first class)."""
        rows = self.rows[model][cls or self.classes[0]]
        return np.array([r["dice"] for r in rows], dtype=np.float64)

    def agreement_scores(self, reference: str, cls: str | None = None) -> np.ndarray:
        """Per-image mask Dice between the candidate and ``reference``."""
        return np.array(self.pairs[reference].agreement[cls or self.classes[0]], np.float64)

    def resampling(self) -> dict[str, Any]:
        """How the intervals resample: by subject when every frame's subject is known."""
        n = len(self.names)
        known = [s for s in self.subjects if s is not None]
        subjects = sorted(set(known))
        out: dict[str, Any] = {"unit": "frame", "frames": n, "subjects": None, "note": ""}
        if len(known) < n:
            out["note"] = "subjects unknown: frames resampled (frame-level intervals)"
        elif len(subjects) == n:
            out.update(subjects=n, note="one frame per subject: frame-level intervals")
        elif len(subjects) < 2:
            out.update(
                subjects=len(subjects),
                note=f"one subject ({subjects[0]}): frames resampled; frames of one subject "
                "are alike, so these frame-level intervals are optimistic",
            )
        else:
            out.update(unit="subject", subjects=len(subjects), note="cluster bootstrap")
        return out

    def _groups(self) -> list[str] | None:
        return list(self.subjects) if self.resampling()["unit"] == "subject" else None

    def result(self, seed: int = 0) -> dict[str, Any]:
        """The JSON-ready parity dict: models, agreement, paired tests, per_image, verdict."""
        n = len(self.names)
        if n < MIN_FRAMES:
            raise DataError(
                f"parity needs at least {MIN_FRAMES} frames, the data gave {n}: one frame has "
                "no spread, so no interval and no verdict"
            )
        groups, level = self._groups(), self.tolerances.level
        models = [model_summary(self, m, seed, groups) for m in self.models]
        agreement = [agreement_summary(self, ref, seed, groups) for ref in self.references]
        tests = []
        for ref in self.references:
            for cls in self.classes:
                paired = compare_paired(
                    self.dice_scores(self.candidate, cls),
                    self.dice_scores(ref, cls),
                    seed=seed,
                    groups=groups,
                    n_boot=N_BOOT,
                    level=level,
                )
                tests.append(
                    {
                        "candidate": self.candidate,
                        "reference": ref,
                        "role": self.roles[ref],
                        "class": cls,
                        **paired,
                    }
                )
        out: dict[str, Any] = {
            "schema": SCHEMA,
            "frames": n,
            "classes": list(self.classes),
            "candidate": self.candidate,
            "roles": dict(self.roles),
            "empty_policy": {"name": self.policy, "rule": POLICY_RULES[self.policy]},
            "resampling": self.resampling(),
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

    def _per_image(self) -> list[dict[str, Any]]:
        return [self.per_image_row(i) for i in range(len(self.names))]

    def per_image_row(self, i: int) -> dict[str, Any]:
        """Frame ``i``'s scores: ``MODEL/CLASS/dice``, ``agreement/REF/CLASS``, flips, ..."""
        row: dict[str, Any] = {"image": self.names[i], "subject": self.subjects[i]}
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
                row[f"presence_flip/{ref}/{cls}"] = pair.flips[cls][i]
            row[f"mean_abs_dp/{ref}"] = pair.mean_abs_dp[i]
            row[f"presence_head_flip/{ref}"] = pair.head_flips[i]
        return row


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
    subjects: Sequence[str] | None = None,
    policy: str = DEFAULT_POLICY,
) -> dict[str, Any]:
    """Parity of ``candidate`` (default: the last model in ``probs``) with the other models.

    ``gt``: per-frame ground-truth masks at the frames' original sizes (HxW, or HxWxC with one
    channel per class). ``probs``: ``{model name: per-frame probabilities}`` in display order,
    each frame HxW(xC) at model size (any size: masks are resized to the ground truth's).
    ``presence``: ``{model name: per-frame presence scores}`` (None or missing: no presence
    head). ``baselines``: models checked for accuracy only (see the module docstring).
    ``subjects``: each frame's subject (subject-level intervals); ``policy``: the empty-mask
    policy. Returns the dict described there, with ``verdict`` (``outcome`` PASS / FAIL /
    INCONCLUSIVE, ``reasons``) and ``passed``.
    """
    presence = presence or {}
    acc = ParityAccumulator(list(probs), candidate, baselines, classes, post, tolerances, policy)
    n = len(gt)
    for m, frames in probs.items():
        if len(frames) != n:
            raise DataError(f"{m} has {len(frames)} probability maps for {n} ground-truth masks")
        scores = presence.get(m)
        if scores is not None and len(scores) != n:
            raise DataError(f"{m} has {len(scores)} presence scores for {n} frames")
    for what, seq in (("frame names", names), ("subjects", subjects)):
        if seq is not None and len(seq) != n:
            raise DataError(f"{len(seq)} {what} for {n} frames")
    for i in range(n):
        acc.add(
            gt[i],
            {m: probs[m][i] for m in probs},
            {m: None if presence.get(m) is None else presence[m][i] for m in probs},
            None if names is None else names[i],
            None if subjects is None else subjects[i],
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
    """A presence score as a float; None (no head) for None and NaN."""
    if value is None:
        return None
    value = float(np.asarray(value, dtype=np.float64).ravel()[0])
    return None if math.isnan(value) else value


__all__ = [
    "ROLES",
    "SCHEMA",
    "ParityAccumulator",
    "Tolerances",
    "compare_predictions",
    "verdict",
]
