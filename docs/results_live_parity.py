"""docs/build_results.py, the ``live_parity`` section: parity without labels and the DICOM SEG
export on a phantom cine loop (issue 13)."""

from __future__ import annotations

from results_artifacts import as_dict, as_list, fmt, load_lines, read_json, table, text

LIVE_PARITY_JSON = "benchmarks/results/live_parity.json"
LIVE_PARITY_COMMAND = ".venv/bin/python benchmarks/live_parity.py"


def _agreement_rows(rows: list[dict]) -> list[list[str]]:
    out = []
    for row in rows:
        for a in as_list(row.get("agreement")):
            a = as_dict(a)
            out.append(
                [
                    text(row.get("case")),
                    f"{text(a.get('reference'))} ({text(a.get('role'))})",
                    f"{fmt(a.get('mean'))} [{fmt(a.get('ci_low'))}, {fmt(a.get('ci_high'))}]",
                    fmt(a.get("min")),
                    f"{text(a.get('flips'))} (upper {fmt(a.get('flips_ci_high'))})",
                    text(row.get("outcome")) if a.get("role") == "reference" else "not checked",
                    fmt(row.get("ms_per_frame"), 1),
                ]
            )
    return out


def _stability_rows(rows: list[dict]) -> list[list[str]]:
    out, seen = [], {}
    for row in rows:
        for model, s in as_dict(row.get("stability")).items():
            s = as_dict(s)
            if seen.get(model) == s:
                continue  # the same model in another case
            label = model if model not in seen else f"{model} ({text(row.get('case'))})"
            seen.setdefault(model, s)
            out.append(
                [
                    text(label),
                    fmt(s.get("dice_mean")),
                    fmt(s.get("dice_p5")),
                    fmt(s.get("dice_min")),
                    text(s.get("flicker")),
                    text(s.get("present_frames")),
                ]
            )
    return out


def render_live_parity() -> list[str]:
    data = read_json(LIVE_PARITY_JSON)
    if data is None:
        return [f"not run yet: `{LIVE_PARITY_COMMAND}`", ""]
    rows = [as_dict(r) for r in as_list(data.get("rows"))]
    size = as_list(data.get("size"))
    seg = as_dict(data.get("dicom_seg"))
    seg_rows = as_dict(seg.get("rows"))
    load = as_list(data.get("loadavg_before")) + as_list(data.get("loadavg_after"))
    res = as_dict(rows[0].get("resampling")) if rows else {}
    lines = [
        f"`edgeseg parity --source` on one phantom cine loop (`edgeseg.train.cine`, seed 0) of "
        f"{text(data.get('frames'))} frames at {'x'.join(str(v) for v in reversed(size))} and "
        f"{fmt(data.get('fps'), 0)} FPS (H.264 MP4; the nerve is in view on "
        f"{text(data.get('nerve_visible_frames'))} frames), without its masks: the int8 file "
        f"`{text(data.get('model'))}` against the run's float `.tflite` (TF-free; that file is "
        "the float model before QAT, so the post-training int8 file converted from it, "
        "`model_int8_ptq.tflite`, is compared with it too) and against the run's Keras models "
        "(the QAT model the int8 file was converted from is the reference; the float model a "
        "baseline, reported, not checked). Checks: agreement (mean mask Dice >= 0.98) and "
        "presence flips (<= 3% of frames, exact upper bound shown); Dice vs ground truth is not "
        f"computed without labels. Intervals resample blocks of {text(res.get('block'))} "
        f"consecutive frames ({text(res.get('blocks'))} blocks). ms/frame: wall time of the "
        f"whole comparison per frame on {text(data.get('cpus'))} shared cores. The model was "
        "trained on usgra-seg, not on phantoms: where it sees a nerve the phantom has none, all "
        "models agree on it, which is what this check is about.",
        "",
        *table(
            [
                "reference given",
                "vs",
                "agreement [95% CI, block-level]",
                "worst frame",
                "flips",
                "verdict",
                "ms/frame",
            ],
            _agreement_rows(rows),
        ),
        "Stability of each model over the clip (Dice of consecutive masks; flicker = the nerve "
        "appearing or disappearing between frames):",
        "",
        *table(
            ["model", "mean Dice", "5th percentile", "worst pair", "flicker", "frames with nerve"],
            _stability_rows(rows),
        ),
    ]
    if seg:
        plain, with_seg = (as_dict(seg_rows.get(k)) for k in ("stream", "stream + --dicom-seg"))
        lines += [
            f"DICOM SEG: `edgeseg stream --source cine.dcm --dicom-seg` (JPEG Baseline cine, no "
            f"overlay video) wrote {text(seg.get('seg_frames'))} SEG frames for "
            f"{text(seg.get('source_frames'))} source frames, "
            f"{fmt((seg.get('seg_bytes') or 0) / 1e6, 1)} MB; highdicom read every source "
            f"frame back ({text(seg.get('read_back_shape'))}). Stream wall time "
            f"{fmt(plain.get('wall_s'), 2)} s without, {fmt(with_seg.get('wall_s'), 2)} s with "
            "the SEG.",
            "",
        ]
    return lines + load_lines(load)


__all__ = ["LIVE_PARITY_COMMAND", "LIVE_PARITY_JSON", "render_live_parity"]
