"""Parity without labels: int8 vs float on a video or cine loop that has no ground truth.

A clip from the clinic has no masks, yet it is exactly what the int8 model will see. Frame by
frame, :class:`LiveParityAccumulator` post-processes every model's probabilities the same way
(:class:`~edgeseg.evaluation.parity.ParityAccumulator`'s ``masks_for``) and keeps, against each
reference:

- **agreement**: per-frame Dice between the candidate's and the reference's masks (both empty
  = 1), and mean / max ``|delta p|`` of the probability maps;
- **presence flips**: frames where a class is present for one model and absent for the other,
  each explained step by step (:mod:`edgeseg.evaluation.flips`);
- **stability** of every model on its own (:class:`~edgeseg.edge_runtime.stability.Stability`):
  Dice between consecutive masks and presence flicker (a class appearing or disappearing), so
  the report shows whether int8 jitters more than float.

Which verdict rules apply without labels: ``agreement`` and ``presence_flips`` (the same
tolerances and intervals as labelled parity, :mod:`edgeseg.evaluation.verdict`). ``dice_delta``
(Dice vs ground truth) cannot be computed: the result lists it under ``not_applicable`` and the
verdict is decided on the rules that apply. A baseline (accuracy check only) therefore has no
check here; its agreement is still reported.

Neighbouring frames of a clip are alike (the probe moves a little between frames), so resampling
single frames would give optimistic intervals. The bootstrap resamples *blocks* of ``block``
consecutive frames instead (a moving-block bootstrap without overlap), and the intervals are
labelled ``block``-level. The exact flip interval stays frame-level, as in labelled parity.

numpy only; frames are named by their index, never by anything read from a file's header.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from edgeseg.config import PostProcess
from edgeseg.edge_runtime.stability import Stability
from edgeseg.errors import ConfigError, DataError
from edgeseg.evaluation.parity import MIN_FRAMES, ParityAccumulator, _channels, _score
from edgeseg.evaluation.summaries import agreement_summary
from edgeseg.evaluation.verdict import Tolerances, verdict

SCHEMA = "edgeseg.parity-live/1"
DEFAULT_BLOCK = 10  # consecutive frames resampled together (a third of a second at 30 FPS)
NOT_APPLICABLE = {
    "dice_delta": "Dice vs ground truth: the source has no labels, so accuracy and the "
    "Dice-difference check are not computed; the verdict rests on agreement and presence flips"
}


class LiveParityAccumulator(ParityAccumulator):
    """Frame-by-frame parity of models on unlabelled frames (see the module docstring).

    ``models``, ``candidate``, ``baselines``, ``classes``, ``post``, ``tolerances``: as
    :class:`ParityAccumulator`. ``block``: consecutive frames resampled together by the
    bootstrap (>= 1). :meth:`add_frame` one frame at a time, then :meth:`result`.
    """

    def __init__(
        self,
        models: Sequence[str],
        candidate: str | None = None,
        baselines: Sequence[str] = (),
        classes: Sequence[str] = ("nerve",),
        post: PostProcess | None = None,
        tolerances: Tolerances | None = None,
        block: int = DEFAULT_BLOCK,
    ) -> None:
        super().__init__(models, candidate, baselines, classes, post, tolerances)
        if isinstance(block, bool) or not isinstance(block, int) or block < 1:
            raise ConfigError(f"--block {block!r}: must be a whole number of frames, 1 or more")
        if not any(role == "reference" for role in self.roles.values()):
            raise ConfigError(
                "parity without labels needs a reference (agreement and flips are checked "
                "against references only): do not make every other model a baseline"
            )
        self.block = block
        self.timestamps: list[float | None] = []
        self.stability = {m: Stability(self.classes) for m in self.models}
        self.steady: dict[str, list[list[float | None]]] = {m: [] for m in self.models}

    def add(self, *args: Any, **kwargs: Any) -> dict[str, np.ndarray]:  # noqa: ARG002
        raise DataError("parity without labels has no ground truth: use add_frame")

    def add_frame(
        self,
        probs: Mapping[str, np.ndarray],
        presence: Mapping[str, float | None] | None = None,
        size: tuple[int, int] | None = None,
        name: str | None = None,
        timestamp_s: float | None = None,
    ) -> dict[str, np.ndarray]:
        """One frame: each model's HxW(xC) probabilities at model size.

        ``size``: the frame's (height, width); masks are compared there (None: model size).
        Returns each model's post-processed HxWxC uint8 mask at that size.
        """
        index = len(self.names)
        label = str(name) if name is not None else f"frame {index}"
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
        masks = self.masks_for(prob, scores, size)
        self.names.append(label)
        self.subjects.append(f"block {index // self.block}")
        self.timestamps.append(None if timestamp_s is None else float(timestamp_s))
        for m in self.models:
            self.presence[m].append(scores[m])
            self.steady[m].append(self.stability[m].add(masks[m]))
        for ref in self.references:
            self._add_pair(ref, prob, scores, masks)
        return masks

    # -- the result --------------------------------------------------------------------------

    def resampling(self) -> dict[str, Any]:
        n = len(self.names)
        blocks = -(-n // self.block) if n else 0
        unit = "block" if blocks >= 2 and self.block > 1 else "frame"
        note = (
            f"blocks of {self.block} consecutive frames resampled (neighbouring frames of a "
            "clip are alike, so single frames would give optimistic intervals)"
            if unit == "block"
            else "frames resampled: frames of one clip are alike, so these intervals are optimistic"
        )
        return {
            "unit": unit,
            "frames": n,
            "subjects": None,
            "blocks": blocks,
            "block": self.block,
            "note": note,
        }

    def _groups(self) -> list[str] | None:
        return list(self.subjects) if self.resampling()["unit"] == "block" else None

    def result(self, seed: int = 0) -> dict[str, Any]:
        """The JSON-ready live parity dict: agreement, stability, per_image, verdict."""
        n = len(self.names)
        if n < MIN_FRAMES:
            raise DataError(
                f"parity needs at least {MIN_FRAMES} frames, the source gave {n}: one frame "
                "has no spread, so no interval and no verdict"
            )
        groups = self._groups()
        agreement = [agreement_summary(self, ref, seed, groups) for ref in self.references]
        if groups is not None:
            for a in agreement:  # the stats module calls any cluster a subject
                for d in a["mask_dice"].values():
                    d["unit"] = "block"
        out: dict[str, Any] = {
            "schema": SCHEMA,
            "ground_truth": False,
            "not_applicable": dict(NOT_APPLICABLE),
            "frames": n,
            "classes": list(self.classes),
            "candidate": self.candidate,
            "roles": dict(self.roles),
            "resampling": self.resampling(),
            "postprocess": asdict(self.post),
            "tolerances": self.tolerances.to_dict(),
            "models": [
                {"name": m, "role": self.roles[m], "presence_frames": self._present(m)}
                for m in self.models
            ],
            "agreement": agreement,
            "paired_tests": [],
            "stability": {m: self.stability[m].summary() for m in self.models},
            "per_image": [self.per_image_row(i) for i in range(n)],
        }
        out["verdict"] = verdict(out, self.tolerances)
        out["passed"] = out["verdict"]["passed"]
        return out

    def _present(self, model: str) -> dict[str, int]:
        return {cls: int(self.stability[model].present[c]) for c, cls in enumerate(self.classes)}

    def per_image_row(self, i: int) -> dict[str, Any]:
        """Frame ``i``: timestamp, each model's presence and stability, agreement and flips."""
        row: dict[str, Any] = {"image": self.names[i], "timestamp_s": self.timestamps[i]}
        for m in self.models:
            row[f"{m}/presence"] = self.presence[m][i]
            for c, cls in enumerate(self.classes):
                row[f"{m}/{cls}/steady_dice"] = self.steady[m][i][c]
        for ref in self.references:
            pair = self.pairs[ref]
            for cls in self.classes:
                row[f"agreement/{ref}/{cls}"] = pair.agreement[cls][i]
                row[f"presence_flip/{ref}/{cls}"] = pair.flips[cls][i]
            row[f"mean_abs_dp/{ref}"] = pair.mean_abs_dp[i]
            row[f"presence_head_flip/{ref}"] = pair.head_flips[i]
        return row


__all__ = ["DEFAULT_BLOCK", "NOT_APPLICABLE", "SCHEMA", "LiveParityAccumulator"]
