"""Start QAT from measured activation ranges instead of tfmot's [-6, 6].

tfmot's moving-average quantizers start every activation range at [-6, 6] and move it towards
each training batch's range with decay 0.999, so a short fine-tune (5 epochs of a few hundred
frames: about 50 steps) ends with ranges still about 95% of the start: a ReLU output that spans
[0, 2] gets a step of ~0.045 instead of ~0.008, and the int8 model loses Dice that post-training
int8 (which measures its ranges) keeps. Here each quantized layer output's range is set, before
fine-tuning, to the float model's own output range on the training frames (0 kept inside, as
TFLite requires); training then refines it as before.
"""

from __future__ import annotations

import numpy as np
import tf_keras as keras

from edgeseg.contract import float_input

WRAPPER_PREFIX = "quant_"  # tfmot names a wrapped layer L "quant_L"
BATCH = 16


def _range_variables(qmodel: keras.Model) -> dict[str, tuple]:
    """Float layer name -> (min, max) variables of its wrapper's output quantizer."""
    found = {}
    for layer in qmodel.layers:
        if not layer.name.startswith(WRAPPER_PREFIX):
            continue
        by_name = {w.name.split("/")[-1].split(":")[0]: w for w in layer.non_trainable_weights}
        if "output_min" in by_name and "output_max" in by_name:
            found[layer.name[len(WRAPPER_PREFIX) :]] = (
                by_name["output_min"],
                by_name["output_max"],
            )
    return found


def measured_ranges(model: keras.Model, names: list[str], images: np.ndarray) -> dict:
    """(min, max) of each named layer's output of the float ``model`` over ``images`` (uint8
    (N, H, W) model inputs), batch by batch."""
    probe = keras.Model(model.inputs, [model.get_layer(n).output for n in names])
    x = float_input(images)
    lows = np.full(len(names), np.inf)
    highs = np.full(len(names), -np.inf)
    for start in range(0, len(x), BATCH):
        outputs = probe(x[start : start + BATCH], training=False)
        outputs = outputs if isinstance(outputs, list | tuple) else [outputs]
        for i, out in enumerate(outputs):
            values = np.asarray(out)
            lows[i] = min(lows[i], float(values.min()))
            highs[i] = max(highs[i], float(values.max()))
    return {n: (float(lo), float(hi)) for n, lo, hi in zip(names, lows, highs, strict=True)}


def calibrate_activation_ranges(
    qmodel: keras.Model, model: keras.Model, images: np.ndarray
) -> dict[str, tuple[float, float]]:
    """Set ``qmodel``'s output quantizer ranges from float ``model``'s outputs on ``images``;
    returns the ranges set, by float layer name. The input quantizer keeps its own range."""
    variables = _range_variables(qmodel)
    if not variables or len(images) == 0:
        return {}
    ranges = measured_ranges(model, sorted(variables), images)
    for name, (low, high) in ranges.items():
        low, high = min(low, 0.0), max(high, 0.0)
        if high - low < 1e-6:  # a constant-zero output: any small range holds it
            high = low + 1e-3
        lo_var, hi_var = variables[name]
        lo_var.assign(low)
        hi_var.assign(high)
        ranges[name] = (low, high)
    return ranges
