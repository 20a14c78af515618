"""Per-layer int8 quantization error with ``tf.lite.experimental.QuantizationDebugger``.

The debugger runs the float and the quantized model side by side on calibration frames and
records, for every quantized tensor, the error between the dequantized int8 value and the float
value. ``rmse/scale`` is that error in units of the tensor's quantization step: about 0.29
(1/sqrt(12)) is plain rounding noise; well above 1 marks a layer whose range is poorly served by
8 bits (outliers, a wide activation), a candidate for QAT or for keeping in float.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from edgeseg.errors import ModelError
from edgeseg.io import write_text_atomic

ROUNDING_NOISE = 1.0 / math.sqrt(12.0)


def layer_errors(
    model,
    representative_dataset: Callable[[], Iterator[list[np.ndarray]]],
    debug_frames: int = 16,
) -> list[dict]:
    """Per-tensor error rows of post-training int8 quantization of a float Keras ``model``.

    Sorted worst first by ``rmse/scale``. ``debug_frames`` frames of the representative dataset
    are run through both models (calibration uses all of them).
    """
    import tensorflow as tf

    def debug_data() -> Iterator[list[np.ndarray]]:
        for i, sample in enumerate(representative_dataset()):
            if i >= debug_frames:
                break
            yield sample

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative_dataset
    try:
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=converter, debug_dataset=debug_data
        )
        debugger.run()
    except Exception as exc:  # converter and debugger raise many types
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelError(f"quantization debugger failed: {first}") from exc
    buf = io.StringIO()
    debugger.layer_statistics_dump(buf)
    buf.seek(0)
    rows = []
    for raw in csv.DictReader(buf):
        scale = float(raw["scale"]) if raw.get("scale") else float("nan")
        mse = float(raw["mean_squared_error"])
        rmse = math.sqrt(max(mse, 0.0))
        rows.append(
            {
                "op_name": raw["op_name"],
                "tensor_name": raw["tensor_name"],
                "tensor_idx": int(raw["tensor_idx"]),
                "rmse/scale": rmse / scale if scale and scale > 0 else float("nan"),
                "rmse": rmse,
                "max_abs_error": float(raw["max_abs_error"]),
                "mean_error": float(raw["mean_error"]),
                "scale": scale,
                "zero_point": int(float(raw["zero_point"])),
                "num_elements": int(float(raw["num_elements"])),
            }
        )
    rows.sort(key=lambda r: -r["rmse/scale"] if math.isfinite(r["rmse/scale"]) else math.inf)
    return rows


def write_report(rows: list[dict], path: Path, note: str = "") -> Path:
    """Write the rows (worst first) as JSON, atomically."""
    doc = {
        "metric": "rmse/scale: RMS error of the int8 tensor in quantization steps",
        "rounding_noise": ROUNDING_NOISE,
        "note": note,
        "layers": rows,
    }
    return write_text_atomic(Path(path), json.dumps(doc, indent=2, allow_nan=True))


def format_rows(rows: list[dict], top: int = 10) -> list[str]:
    """Printable lines for the ``top`` worst tensors."""
    lines = [f"{'rmse/scale':>10}  {'op':<24} tensor"]
    for r in rows[:top]:
        lines.append(f"{r['rmse/scale']:>10.3f}  {r['op_name']:<24} {r['tensor_name']}")
    return lines
