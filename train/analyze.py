"""``edgeseg analyze``: where and why a run's model fails, frame by frame.

For each labelled frame (at its original size, post-processed exactly as ``edgeseg evaluate``
does it) the analysis records the metrics of ``edgeseg.metrics.per_image``, the frame-level
outcome (``fn``: a nerve was missed entirely; ``fp``: a nerve was drawn on a frame without one;
``tp``/``tn``), boundary errors (95th-percentile Hausdorff distance and boundary F-score, numpy)
and measured image characteristics: a noise estimate (median absolute deviation of a Laplacian),
RMS contrast, the nerve's contrast against its surroundings, brightness and the mask's area.
Error rates are then broken down by tertiles of each characteristic and by subject, the best and
worst frames are drawn as overlay galleries, and with ``compare_to`` a second run is compared
with the first on the same frames (paired tests from ``edgeseg.stats``).

Output (``RUN_DIR/analysis/`` unless ``out``): ``analysis.json``, ``analysis.md``,
``per_frame.csv``, ``gallery_worst.png``, ``gallery_best.png``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from edgeseg.config import PostProcess, RunConfig, load_config
from edgeseg.datasets import Sample, discover, read_sample_mask
from edgeseg.errors import ConfigError
from edgeseg.imaging import read_gray, resize_mask
from edgeseg.io import atomic_path, write_text_atomic
from edgeseg.metrics import per_image
from edgeseg.postprocess import probabilities_to_mask
from edgeseg.preprocess import preprocess
from edgeseg.stats import compare_paired, holm
from edgeseg.train.evaluate import rows_to_csv

CHARACTERISTICS = ("noise", "rms_contrast", "nerve_contrast", "brightness")
TERTILES = ("low", "mid", "high")
_LAPLACIAN = np.array([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]])
_LAPLACIAN_NORM = 6.0  # sqrt(sum(kernel**2)): the Laplacian of unit white noise has std 6
_MAD_TO_STD = 1.4826
_CHUNK = 2048

# ----------------------------------------------------------------------------- pure measures


def boundary(mask: np.ndarray) -> np.ndarray:
    """Inner boundary: foreground pixels with a 4-neighbour outside the mask (or the frame)."""
    fg = np.asarray(mask, dtype=bool)
    p = np.pad(fg, 1)
    interior = p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    return fg & ~interior


def _nearest(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """For each point of ``src`` (N, 2) the Euclidean distance to the nearest point of ``dst``."""
    out = np.empty(len(src), dtype=np.float64)
    dst = dst.astype(np.float64)
    for i in range(0, len(src), _CHUNK):
        chunk = src[i : i + _CHUNK].astype(np.float64)
        d2 = ((chunk[:, None, :] - dst[None, :, :]) ** 2).sum(-1)
        out[i : i + _CHUNK] = np.sqrt(d2.min(axis=1))
    return out


def boundary_scores(pred: np.ndarray, gt: np.ndarray, tolerance: float = 2.0) -> dict[str, float]:
    """Boundary errors of one frame, in pixels of the frame.

    ``hd95``: max over both directions of the 95th percentile of boundary-to-boundary distances
    (0 if both masks are empty, NaN if only one is: a frame-level error, counted separately).
    ``bf``: boundary F-score, the share of each boundary within ``tolerance`` pixels of the other,
    combined as an F1 (1 if both are empty, 0 if only one is).
    """
    pb = np.argwhere(boundary(pred))
    gb = np.argwhere(boundary(gt))
    if len(pb) == 0 and len(gb) == 0:
        return {"hd95": 0.0, "bf": 1.0}
    if len(pb) == 0 or len(gb) == 0:
        return {"hd95": float("nan"), "bf": 0.0}
    d_pg = _nearest(pb, gb)
    d_gp = _nearest(gb, pb)
    hd95 = max(float(np.percentile(d_pg, 95)), float(np.percentile(d_gp, 95)))
    precision = float(np.mean(d_pg <= tolerance))
    recall = float(np.mean(d_gp <= tolerance))
    bf = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return {"hd95": hd95, "bf": bf}


def noise_level(frame: np.ndarray) -> float:
    """Noise standard deviation (gray levels) from the MAD of a 3x3 Laplacian (Immerkaer kernel).

    The kernel cancels smooth intensity and planar ramps, so what is left is mostly noise
    (speckle, in ultrasound); the MAD makes edges and bright specular lines count little.
    """
    f = np.asarray(frame, dtype=np.float64)
    if f.shape[0] < 3 or f.shape[1] < 3:
        return float("nan")
    h, w = f.shape
    lap = sum(
        _LAPLACIAN[dy, dx] * f[dy : dy + h - 2, dx : dx + w - 2]
        for dy in range(3)
        for dx in range(3)
    )
    mad = float(np.median(np.abs(lap - np.median(lap))))
    return _MAD_TO_STD * mad / _LAPLACIAN_NORM


def _ring(mask: np.ndarray, width: int) -> np.ndarray:
    """Pixels within ``width`` (chessboard distance) of the mask but outside it."""
    grown = np.asarray(mask, dtype=bool)
    for _ in range(width):
        p = np.pad(grown, 1)
        grown = (
            p[1:-1, 1:-1]
            | p[:-2, 1:-1]
            | p[2:, 1:-1]
            | p[1:-1, :-2]
            | p[1:-1, 2:]
            | p[:-2, :-2]
            | p[:-2, 2:]
            | p[2:, :-2]
            | p[2:, 2:]
        )
    return grown & ~np.asarray(mask, dtype=bool)


def characteristics(frame: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """Measured image characteristics of one frame (8-bit gray) and its ground-truth mask.

    ``noise`` (gray levels), ``rms_contrast`` (std / 255), ``brightness`` (mean / 255),
    ``area`` (mask share of the frame), ``nerve_contrast`` (|mean inside - mean in a ring around
    the mask| / 255; NaN without a mask).
    """
    f = np.asarray(frame, dtype=np.float64)
    g = np.asarray(gt, dtype=bool)
    row = {
        "noise": noise_level(f),
        "rms_contrast": float(f.std() / 255.0),
        "brightness": float(f.mean() / 255.0),
        "area": float(g.mean()),
        "nerve_contrast": float("nan"),
    }
    if g.any():
        ring = _ring(g, max(2, round(0.05 * min(g.shape))))
        if ring.any():
            row["nerve_contrast"] = float(abs(f[g].mean() - f[ring].mean()) / 255.0)
    return row


def outcome(gt_present: bool, pred_present: bool) -> str:
    """Frame-level result: ``tp``, ``fn`` (missed nerve), ``fp`` (nerve on empty frame), ``tn``."""
    if gt_present:
        return "tp" if pred_present else "fn"
    return "fp" if pred_present else "tn"


def _nanmean(values: Sequence[float]) -> float:
    arr = np.asarray(values, dtype=np.float64)
    return float(np.nanmean(arr)) if np.any(~np.isnan(arr)) else float("nan")


def error_rates(rows: Sequence[dict]) -> dict:
    """Counts and rates over frame rows (``dice``, ``hd95``, ``bf``, ``outcome``)."""
    outcomes = [r["outcome"] for r in rows]
    with_gt = sum(o in ("tp", "fn") for o in outcomes)
    empty = sum(o in ("fp", "tn") for o in outcomes)
    fn, fp = outcomes.count("fn"), outcomes.count("fp")
    hd = np.asarray([r["hd95"] for r in rows if r["outcome"] == "tp"], dtype=np.float64)
    return {
        "frames": len(rows),
        "dice": _nanmean([r["dice"] for r in rows]),
        "fn_frames": fn,
        "fp_frames": fp,
        "fn_rate": fn / with_gt if with_gt else float("nan"),
        "fp_rate": fp / empty if empty else float("nan"),
        "hd95_median": float(np.nanmedian(hd)) if np.any(~np.isnan(hd)) else float("nan"),
        "bf": _nanmean([r["bf"] for r in rows if r["outcome"] == "tp"]),
    }


def tertile_breakdown(rows: Sequence[dict], key: str) -> list[dict]:
    """Error rates in the low/mid/high thirds of ``key`` (frames where it is NaN: own bin).

    Thirds are by rank (stable sort, ties in frame order), so each holds a third of the frames
    even when a characteristic takes few distinct values; ``range`` is [min, max] inside a bin.
    """
    values = np.asarray([r[key] for r in rows], dtype=np.float64)
    finite = np.flatnonzero(~np.isnan(values))
    out = []
    order = finite[np.argsort(values[finite], kind="stable")]
    for name, part in zip(TERTILES, np.array_split(order, 3), strict=True):
        if part.size:
            rng = [float(values[part].min()), float(values[part].max())]
            out.append({"bin": name, "range": rng, **error_rates([rows[i] for i in part])})
    missing = [r for r, v in zip(rows, values, strict=True) if v != v]
    if missing:
        out.append({"bin": "n/a", "range": None, **error_rates(missing)})
    return out


def area_breakdown(rows: Sequence[dict]) -> list[dict]:
    """Tertiles of mask area among frames with a nerve, plus the empty frames as their own bin."""
    with_gt = [r for r in rows if r["area"] > 0]
    out = tertile_breakdown(with_gt, "area") if with_gt else []
    empty = [r for r in rows if r["area"] == 0]
    if empty:
        out.append({"bin": "empty", "range": [0.0, 0.0], **error_rates(empty)})
    return out


def subject_breakdown(rows: Sequence[dict]) -> list[dict]:
    """Error rates per subject, worst mean Dice first."""
    subjects = sorted({r["subject"] for r in rows})
    out = [{"subject": s, **error_rates([r for r in rows if r["subject"] == s])} for s in subjects]
    return sorted(out, key=lambda x: (x["dice"] if x["dice"] == x["dice"] else -1, x["subject"]))


def pick_gallery(rows: Sequence[dict], k: int) -> tuple[list[int], list[int]]:
    """Indices of the ``k`` worst frames (lowest Dice) and the ``k`` best frames with a nerve.

    Ties keep the frame order, so the choice is reproducible.
    """
    order = sorted(range(len(rows)), key=lambda i: (rows[i]["dice"], i))
    worst = order[:k]
    with_gt = [i for i in order if rows[i]["outcome"] in ("tp", "fn")]
    best = sorted(with_gt, key=lambda i: (-rows[i]["dice"], i))[:k]
    return worst, best


# ----------------------------------------------------------------------------- drawing


def overlay(frame: np.ndarray, gt: np.ndarray, pred: np.ndarray) -> Image.Image:
    """Gray frame with the ground truth outlined in green and the prediction in red (fill+edge)."""
    rgb = np.repeat(np.asarray(frame, dtype=np.float64)[..., None], 3, axis=2)
    p = np.asarray(pred, dtype=bool)
    rgb[p] = 0.65 * rgb[p] + 0.35 * np.array([255.0, 40.0, 40.0])
    thick = max(1, round(min(frame.shape) / 160))
    for mask, colour in ((gt, (40, 230, 40)), (pred, (255, 40, 40))):
        edge = boundary(mask)
        for _ in range(thick - 1):
            edge = _ring(edge, 1) | edge
        rgb[edge] = colour
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")


def gallery(
    tiles: Sequence[tuple[Image.Image, str]], columns: int = 4, tile: int = 192
) -> Image.Image:
    """A grid of overlays (longest side ``tile`` px), each captioned below."""
    if not tiles:
        return Image.new("RGB", (tile, 24), "white")
    caption = 28
    cols = min(columns, len(tiles))
    rows = math.ceil(len(tiles) / cols)
    sheet = Image.new("RGB", (cols * (tile + 4), rows * (tile + caption + 4)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (img, text) in enumerate(tiles):
        scale = tile / max(img.size)
        small = img.resize(
            (max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.NEAREST
        )
        x = (i % cols) * (tile + 4) + 2
        y = (i // cols) * (tile + caption + 4) + 2
        sheet.paste(small, (x, y))
        for line, t in enumerate(text.split("\n")[:2]):
            draw.text((x, y + tile + 2 + 12 * line), t, fill=(0, 0, 0))
    return sheet


# ----------------------------------------------------------------------------- running a model


def predict_frames(
    samples: Sequence[Sample],
    cfg: RunConfig,
    predictor: Callable,
    post: PostProcess,
    class_index: int,
    batch: int = 16,
) -> Iterator[tuple[Sample, np.ndarray, np.ndarray, np.ndarray, float | None]]:
    """(sample, frame, gt, pred, presence) at the frame's size, as ``evaluate_samples`` does it."""
    values = [c.value for c in cfg.classes]
    for start in range(0, len(samples), batch):
        chunk = samples[start : start + batch]
        frames = [read_gray(s.image) for s in chunk]
        gts = [read_sample_mask(s, values, f.shape) for s, f in zip(chunk, frames, strict=True)]
        probs, presence = predictor(np.stack([preprocess(f, cfg.preprocessing) for f in frames]))
        for i, (sample, gt) in enumerate(zip(chunk, gts, strict=True)):
            score = None if presence is None else float(presence[i])
            mask = resize_mask(probabilities_to_mask(probs[i], post, score), frames[i].shape)
            yield sample, frames[i], gt[..., class_index], mask[..., class_index], score


def frame_rows(
    samples: Sequence[Sample],
    cfg: RunConfig,
    predictor: Callable,
    class_index: int,
    tolerance: float,
    progress: Callable[[int], None] | None = None,
) -> list[dict]:
    """One row per frame: metrics, outcome, boundary scores and image characteristics."""
    rows = []
    for sample, frame, gt, pred, score in predict_frames(
        samples, cfg, predictor, cfg.postprocess, class_index
    ):
        m = per_image(pred, gt)
        row = {
            "image": sample.name,
            "subject": sample.subject,
            "presence": score,
            **{k: m[k] for k in ("dice", "iou", "precision", "recall")},
            "outcome": outcome(m["gt_present"], m["pred_present"]),
            **boundary_scores(pred, gt, tolerance),
            **characteristics(frame, gt),
        }
        rows.append(row)
        if progress:
            progress(1)
    return rows


def _load(run_dir: Path, which: str):
    from edgeseg.train.evaluate import keras_predictor
    from edgeseg.train.serialization import load_model, require_model

    cfg = load_config(run_dir)
    return cfg, keras_predictor(load_model(require_model(run_dir, which)))


def _class_index(cfg: RunConfig, class_name: str | None, run_dir: Path) -> tuple[int, str]:
    names = cfg.class_names
    if class_name is None:
        return 0, names[0]
    if class_name not in names:
        raise ConfigError(
            f"--class {class_name!r}: run {run_dir} segments {', '.join(names)}; pick one of those"
        )
    return names.index(class_name), class_name


def _render_gallery(
    samples: Sequence[Sample],
    picks: Sequence[int],
    rows: Sequence[dict],
    cfg: RunConfig,
    predictor: Callable,
    class_index: int,
    path: Path,
) -> Path:
    chosen = [samples[i] for i in picks]
    tiles = []
    for (sample, frame, gt, pred, _), i in zip(
        predict_frames(chosen, cfg, predictor, cfg.postprocess, class_index), picks, strict=True
    ):
        r = rows[i]
        tiles.append(
            (overlay(frame, gt, pred), f"{sample.name}\nDice {r['dice']:.3f} {r['outcome']}")
        )
    with atomic_path(path) as tmp:
        gallery(tiles).save(tmp, format="PNG")
    return path


def compare_runs(rows_a: Sequence[dict], rows_b: Sequence[dict], seed: int = 0) -> dict:
    """Paired comparison of two runs' frame rows (same frames, same order): ``b - a``."""
    if [r["image"] for r in rows_a] != [r["image"] for r in rows_b]:
        raise ConfigError("the two runs were analysed on different frames; use the same --data")
    out: dict = {}
    for metric in ("dice", "iou", "bf"):
        out[metric] = compare_paired(
            [r[metric] for r in rows_b], [r[metric] for r in rows_a], seed=seed
        )
    for test in ("wilcoxon", "ttest"):
        adjusted = holm([out[m][test]["pvalue"] for m in ("dice", "iou", "bf")])
        for m, p in zip(("dice", "iou", "bf"), adjusted, strict=True):
            out[m][test]["pvalue_holm"] = p
    diff = np.array([b["dice"] - a["dice"] for a, b in zip(rows_a, rows_b, strict=True)])
    out["frames_better"] = int(np.sum(diff > 1e-9))
    out["frames_worse"] = int(np.sum(diff < -1e-9))
    out["frames_tied"] = int(diff.size - out["frames_better"] - out["frames_worse"])
    changes: dict[str, int] = {}
    for a, b in zip(rows_a, rows_b, strict=True):
        if a["outcome"] != b["outcome"]:
            key = f"{a['outcome']}->{b['outcome']}"
            changes[key] = changes.get(key, 0) + 1
    out["outcome_changes"] = dict(sorted(changes.items()))
    out["a"] = error_rates(rows_a)
    out["b"] = error_rates(rows_b)
    return out


# ----------------------------------------------------------------------------- reports


def _f(v: float | None, digits: int = 3) -> str:
    if v is None or v != v:
        return "n/a"
    return f"{v:.{digits}f}"


def _rate_table(title_col: str, items: Sequence[dict], label: Callable[[dict], str]) -> str:
    lines = [
        f"| {title_col} | frames | Dice | FN rate (missed) | FP rate (empty) | HD95 px | BF |",
        "|---|---|---|---|---|---|---|",
    ]
    for it in items:
        lines.append(
            f"| {label(it)} | {it['frames']} | {_f(it['dice'])} | "
            f"{_f(it['fn_rate'])} ({it['fn_frames']}) | {_f(it['fp_rate'])} ({it['fp_frames']}) "
            f"| {_f(it['hd95_median'], 1)} | {_f(it['bf'])} |"
        )
    return "\n".join(lines)


def _range(it: dict) -> str:
    if it["range"] is None:
        return "n/a"
    return f"{it['bin']} [{it['range'][0]:.3g}, {it['range'][1]:.3g}]"


def render_markdown(report: dict) -> str:
    o = report["overall"]
    parts = [
        f"# Error analysis: {report['run_dir']}",
        "",
        f"- data: {report['data']} ({report['frames']} frames), class `{report['class']}`, "
        f"model `{report['model']}`",
        f"- mean Dice {_f(o['dice'], 4)}; missed nerves (FN frames) {o['fn_frames']} "
        f"(rate {_f(o['fn_rate'])}); nerves on empty frames (FP frames) {o['fp_frames']} "
        f"(rate {_f(o['fp_rate'])}); boundary on detected frames: median HD95 "
        f"{_f(o['hd95_median'], 1)} px, BF@{report['tolerance']:g}px {_f(o['bf'])}",
        *([f"- data credit: {report['credit']}"] if report.get("credit") else []),
        "",
        "## By image characteristic (tertiles)",
        "",
    ]
    for key in CHARACTERISTICS:
        parts += [f"### {key}", "", _rate_table("tertile", report["breakdown"][key], _range), ""]
    parts += [
        "### nerve area (share of frame)",
        "",
        _rate_table("area", report["breakdown"]["area"], _range),
        "",
        "## By subject (worst first, up to 20)",
        "",
        _rate_table("subject", report["breakdown"]["subject"][:20], lambda it: it["subject"]),
        "",
        "## Galleries",
        "",
        "Green: ground truth; red: prediction.",
        "",
        "![worst frames](gallery_worst.png)",
        "",
        "![best frames](gallery_best.png)",
        "",
    ]
    if "comparison" in report:
        c = report["comparison"]
        parts += [
            f"## Paired comparison: {report['compare_to']} minus this run",
            "",
            "| metric | mean diff [95% CI] | Wilcoxon p (Holm) | t-test p (Holm) |",
            "|---|---|---|---|",
        ]
        for m in ("dice", "iou", "bf"):
            d, w, t = c[m]["diff"], c[m]["wilcoxon"], c[m]["ttest"]
            parts.append(
                f"| {m} | {_f(d['mean_diff'], 4)} [{_f(d['ci_low'], 4)}, {_f(d['ci_high'], 4)}] "
                f"| {_f(w['pvalue'], 4)} ({_f(w['pvalue_holm'], 4)}) "
                f"| {_f(t['pvalue'], 4)} ({_f(t['pvalue_holm'], 4)}) |"
            )
        parts += [
            "",
            f"frames better / worse / tied (Dice): {c['frames_better']} / {c['frames_worse']} / "
            f"{c['frames_tied']}; outcome changes: {c['outcome_changes'] or 'none'}",
            "",
        ]
    return "\n".join(parts)


def analyze(
    run_dir: Path,
    data: Path,
    compare_to: Path | None = None,
    out: Path | None = None,
    which: str = "best",
    layout: str = "auto",
    subject_regex: str | None = None,
    manifest: Path | None = None,
    class_name: str | None = None,
    gallery_size: int = 8,
    tolerance: float = 2.0,
    credit: str = "",
    progress: Callable[[int], None] | None = None,
    total: Callable[[int], None] | None = None,
    log: Callable[[str], None] = print,
) -> dict:
    """Analyse a run's errors on a labelled folder (optionally against a second run).

    ``subject_regex``/``manifest`` group frames by subject as in ``edgeseg train``; the subject
    table is only meaningful with them (or the Kaggle layout). Returns the report dict (also
    written to ``analysis.json``) plus ``out_dir`` and ``files``.
    """
    run_dir = Path(run_dir)
    cfg, predictor = _load(run_dir, which)
    class_index, cls = _class_index(cfg, class_name, run_dir)
    if compare_to is not None:  # both runs are checked before anything is written
        if not Path(compare_to).is_dir():
            raise ConfigError(
                f"--compare {compare_to}: no such run directory; pass the --out of edgeseg train"
            )
        cfg_b, predictor_b = _load(Path(compare_to), which)
        index_b, _ = _class_index(cfg_b, cls, Path(compare_to))
    samples, _ = discover(Path(data), layout, subject_regex, manifest)
    if total:
        total(len(samples) * (2 if compare_to else 1))
    rows = frame_rows(samples, cfg, predictor, class_index, tolerance, progress)
    if compare_to is not None:
        rows_b = frame_rows(samples, cfg_b, predictor_b, index_b, tolerance, progress)
    report: dict = {
        "run_dir": str(run_dir),
        "model": which,
        "data": str(data),
        "credit": credit,
        "class": cls,
        "frames": len(rows),
        "tolerance": tolerance,
        "overall": error_rates(rows),
        "breakdown": {
            **{key: tertile_breakdown(rows, key) for key in CHARACTERISTICS},
            "area": area_breakdown(rows),
            "subject": subject_breakdown(rows),
        },
    }
    out_dir = Path(out) if out else run_dir / "analysis"
    worst, best = pick_gallery(rows, gallery_size)
    report["gallery"] = {
        "worst": [rows[i]["image"] for i in worst],
        "best": [rows[i]["image"] for i in best],
    }
    files = {
        "gallery_worst": _render_gallery(
            samples, worst, rows, cfg, predictor, class_index, out_dir / "gallery_worst.png"
        ),
        "gallery_best": _render_gallery(
            samples, best, rows, cfg, predictor, class_index, out_dir / "gallery_best.png"
        ),
    }
    if compare_to is not None:
        report["compare_to"] = str(compare_to)
        report["comparison"] = compare_runs(rows, rows_b, seed=cfg.train.seed)
        for r, rb in zip(rows, rows_b, strict=True):
            r["dice_b"], r["outcome_b"] = rb["dice"], rb["outcome"]
    files["json"] = write_text_atomic(out_dir / "analysis.json", json.dumps(report, indent=2))
    files["md"] = write_text_atomic(out_dir / "analysis.md", render_markdown(report))
    files["csv"] = write_text_atomic(out_dir / "per_frame.csv", rows_to_csv(rows))
    o = report["overall"]
    log(
        f"{len(rows)} frames: Dice {_f(o['dice'], 4)}, {o['fn_frames']} missed nerves, "
        f"{o['fp_frames']} false detections; wrote {out_dir}"
    )
    return {**report, "out_dir": str(out_dir), "files": {k: str(v) for k, v in files.items()}}
