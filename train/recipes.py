"""Named training presets (``edgeseg train --preset NAME``): recipes as train-option overrides.

A preset is a dict of :class:`~edgeseg.train.options.TrainOptions` values. Options the user
passes explicitly win over the preset's; the rest come from the preset, then from the
defaults. ``wave1`` spells out the first default (the ResU-Net of wave 1) option by option, so
it keeps reproducing that model now that the defaults changed (``DEFAULT_PRESET``); the others
are the candidates of
``benchmarks/dice_per_mac.py`` (results in docs/results.md, section "Dice per MAC").
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from edgeseg.errors import ConfigError

# The default of wave 1 (the default until issue 17's third round, docs/results.md "Dice per
# MAC"): ResU-Net, base 12, depth 3, strided stem, Dice+BCE, 50 epochs, early stop after 15.
WAVE1: dict[str, Any] = {
    "arch": "resunet",
    "base_filters": 12,
    "depth": 3,
    "stem_stride": None,  # the architecture's default: 2 for the U-Nets
    "refine": False,
    "presence": True,
    "size": 128,
    "epochs": 50,
    "batch_size": 16,
    "lr": 1e-3,
    "loss": "dice_bce",
    "patience": 15,
    "augment": True,
    "augment_profile": "standard",
    "lr_schedule": "constant",
    "ema": 0.0,
}

# The default with a depthwise-separable bottleneck (train/blocks.py): 209k weights, 88 MMAC.
SLIM: dict[str, Any] = {**WAVE1, "arch": "resunet_slim"}

SLIM_COS_EMA: dict[str, Any] = {
    **SLIM, "epochs": 80, "patience": 80, "lr_schedule": "cosine", "ema": 0.98
}  # fmt: skip

PRESETS: dict[str, dict[str, Any]] = {
    "wave1": WAVE1,
    "slim": SLIM,
    # The same, trained longer: wave 1's best epoch is near its last (47-48 of 50).
    "slim_long": {**SLIM, "epochs": 80, "patience": 20},
    # Issue 17's second round: the slim network with a cosine learning-rate decay over 80
    # epochs (no early stop: the schedule needs its end), and with a moving average of the
    # weights (momentum 0.98: about 50 steps, 4 epochs of usgra-seg) scored and saved.
    "slim_cos": {**SLIM, "epochs": 80, "patience": 80, "lr_schedule": "cosine"},
    "slim_cos_ema": SLIM_COS_EMA,
    # Issue 17's third round: twice the optimiser steps (batch 8), or the ultrasound
    # augmentation profile (stronger, plus gamma and a depth gain ramp).
    "slim_cos_ema_b8": {**SLIM_COS_EMA, "batch_size": 8},
    "slim_cos_ema_us": {**SLIM_COS_EMA, "augment_profile": "ultrasound"},
    # Separable below the first level, 16 filters there: 111k weights, 75 MMAC.
    "lite": {**WAVE1, "arch": "resunet_lite", "base_filters": 16},
}

# The default of ``edgeseg train`` since issue 17's third round: ``TrainOptions``' defaults are
# this preset's values (tests/test_recipes.py holds them equal).
DEFAULT_PRESET = "slim_cos_ema_b8"


def explicit_options(
    params: dict[str, Any], preset: str | None, is_default: Callable[[str], bool]
) -> dict[str, Any]:
    """A command's parameters without the defaults a preset sets (so the preset's win).

    ``is_default(name)`` says whether the user left option ``name`` at its default.
    """
    if preset is None:
        return dict(params)
    chosen = preset_options(preset)
    return {k: v for k, v in params.items() if k not in chosen or not is_default(k)}


def preset_options(name: str) -> dict[str, Any]:
    """The option values of preset ``name``; ConfigError naming the valid presets."""
    if name not in PRESETS:
        close = difflib.get_close_matches(name, PRESETS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"--preset {name!r} is not one of {', '.join(PRESETS)}{hint}")
    return dict(PRESETS[name])


def with_preset(name: str | None, given: dict[str, Any]) -> dict[str, Any]:
    """``given`` options on top of preset ``name`` (None: ``given`` unchanged)."""
    if name is None:
        return dict(given)
    return {**preset_options(name), **given}
