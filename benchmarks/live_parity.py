"""Parity without labels and the DICOM SEG export on a phantom cine loop (issue 13).

Usage: python benchmarks/live_parity.py [--run runs/usgra-nerve] [--frames 300]
       [--size 480x640] [--fps 30] [--block 10] [--out benchmarks/results]

Renders one phantom cine loop (``edgeseg.train.cine.synth_cine``, seed 0) and writes it as an
H.264 MP4 and a JPEG Baseline multi-frame DICOM into a temporary folder, then:

- **parity without labels, TF-free**: ``RUN/export/model_int8.tflite`` vs
  ``RUN/export/model_float32.tflite`` on the MP4 (``edgeseg parity --float F32 --tflite I8
  --source clip.mp4``, in-process), and ``model_int8_ptq.tflite`` (post-training int8 of the
  float model, when there) vs the same float file;
- **parity without labels, host side** (when TensorFlow and ``RUN/qat`` are there): the int8
  file vs the run's QAT Keras model (reference) and float Keras model (baseline), as
  ``edgeseg parity --float RUN --tflite I8 --source clip.mp4``;
- **DICOM SEG**: ``edgeseg stream I8 --source cine.dcm`` in-process, without and with
  ``--dicom-seg``; the SEG's size, frames, and whether highdicom reads every source frame back.

Records each model's agreement, flips and stability, the verdict, wall time per frame and the
machine's load (a shared machine moves wall times). Writes ``live_parity.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _parity_row(case: str, report: dict[str, Any], seconds: float) -> dict[str, Any]:
    cls = report["classes"][0]
    return {
        "case": case,
        "frames": report["frames"],
        "seconds": round(seconds, 2),
        "ms_per_frame": 1000.0 * seconds / max(report["frames"], 1),
        "outcome": report["verdict"]["outcome"],
        "resampling": report["resampling"],
        "agreement": [
            {
                "reference": a["reference"],
                "role": a["role"],
                "mean": a["mask_dice"][cls]["mean"],
                "ci_low": a["mask_dice"][cls]["ci_low"],
                "ci_high": a["mask_dice"][cls]["ci_high"],
                "min": a["mask_dice"][cls]["min"],
                "flips": a["presence_flips"]["by_class"][cls]["count"],
                "flips_ci_high": a["presence_flips"]["by_class"][cls]["ci_high"],
            }
            for a in report["agreement"]
        ],
        "stability": {m: s["classes"][cls] for m, s in report["stability"].items()},
        "checks": [
            {k: c[k] for k in ("check", "reference", "value", "ci_low", "ci_high", "outcome")}
            for c in report["verdict"]["checks"]
        ],
    }


def _seg_rows(model: Path, dicom: Path, work: Path) -> dict[str, Any]:
    import highdicom as hd
    import pydicom

    from edgeseg.edge_runtime.live_stream import stream_source

    rows = {}
    for case, seg_path in (("stream", None), ("stream + --dicom-seg", work / "seg.dcm")):
        out = work / case.replace(" ", "_").replace("+", "").replace("--", "")
        summary = stream_source(model, dicom, out_dir=out, overlay_video=False, dicom_seg=seg_path)
        rows[case] = {"wall_s": summary.wall_s, "fps": summary.fps, "frames": summary.processed}
    seg = hd.seg.segread(work / "seg.dcm")
    src = pydicom.dcmread(dicom, stop_before_pixels=True)
    n = int(src.NumberOfFrames)
    back = seg.get_pixels_by_source_frame(
        src.SOPInstanceUID, source_frame_numbers=list(range(1, n + 1))
    )
    return {
        "rows": rows,
        "seg_bytes": (work / "seg.dcm").stat().st_size,
        "seg_frames": int(seg.NumberOfFrames),
        "source_frames": n,
        "read_back_shape": list(back.shape),
        "extra_s": rows["stream + --dicom-seg"]["wall_s"] - rows["stream"]["wall_s"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, default=ROOT / "runs" / "usgra-nerve")
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--size", default="480x640", help="HxW")
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--block", type=int, default=10)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args()
    i8, f32 = (args.run / "export" / f"model_{q}.tflite" for q in ("int8", "float32"))
    for p in (i8, f32):
        if not p.is_file():
            sys.exit(f"{p} is missing: train and convert the run (edgeseg convert RUN --int8)")
    height, width = (int(v) for v in args.size.lower().split("x"))

    from edgeseg.evaluation.live_run import (
        FLOAT_TFLITE,
        INT8,
        run_live_parity,
        tflite_model,
    )
    from edgeseg.train.cine import synth_cine
    from edgeseg.train.cine_dicom import write_dicom
    from edgeseg.train.cine_writers import write_mp4

    load_before = list(os.getloadavg())
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="edgeseg-live-parity-") as tmp:
        work = Path(tmp)
        cine = synth_cine(args.frames, (height, width), seed=0, fps=args.fps)
        clip = write_mp4(cine.frames, work / "clip.mp4", cine.fps)
        dicom = write_dicom(cine.frames, work / "cine.dcm", cine.fps, syntax="jpeg")
        nerve_frames = int(cine.nerve_visible.sum())

        def compare(case: str, model, references, folder: str, **more) -> None:
            """One timed ``run_live_parity`` on the clip: its row, its verdict line."""
            started = time.perf_counter()
            report = run_live_parity(
                clip, model, references, work / folder, block=args.block, **more
            )
            rows.append(_parity_row(case, report, time.perf_counter() - started))
            print(report["line"])

        float_ref = [tflite_model(f32, FLOAT_TFLITE)]
        compare("float .tflite reference", tflite_model(i8, INT8), float_ref, "tflite")
        ptq = args.run / "export" / "model_int8_ptq.tflite"
        if ptq.is_file():  # post-training int8 of the float model: the float .tflite is its source
            case = "float .tflite, post-training int8"
            compare(case, tflite_model(ptq, INT8), [tflite_model(f32, FLOAT_TFLITE)], "ptq")

        qat = args.run / "qat" / "model_best.h5"
        try:
            import tensorflow  # noqa: F401
        except ImportError:
            qat = None
        if qat is not None and qat.is_file():
            from edgeseg.train.live_parity_run import keras_references

            refs, baselines = keras_references(args.run)
            case = "run's Keras models (QAT reference)"
            compare(case, tflite_model(i8, INT8), refs, "keras", baselines=baselines)
        seg = _seg_rows(i8, dicom, work)
        print(
            f"DICOM SEG: {seg['seg_frames']} frames, {seg['seg_bytes'] / 1e6:.1f} MB, "
            f"+{seg['extra_s']:.2f} s over the stream alone"
        )
    doc = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": "python benchmarks/live_parity.py " + " ".join(sys.argv[1:]),
        "run": str(args.run),
        "model": str(i8.relative_to(ROOT) if i8.is_relative_to(ROOT) else i8),
        "frames": args.frames,
        "size": [height, width],
        "fps": args.fps,
        "block": args.block,
        "nerve_visible_frames": nerve_frames,
        "rows": rows,
        "dicom_seg": seg,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "loadavg_before": load_before,
        "loadavg_after": list(os.getloadavg()),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "live_parity.json"
    tmp_path = path.with_suffix(".json.tmp")
    tmp_path.write_text(json.dumps(doc, indent=2) + "\n")
    os.replace(tmp_path, path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
