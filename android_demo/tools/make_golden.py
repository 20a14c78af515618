#!/usr/bin/env python3
"""Golden vectors for the Android core's Java tests: Python (numpy + Pillow) is the reference.

Writes android_demo/core/src/test/resources/golden/ (format ``edgeseg.golden/1``):

    golden/index.json            format, generator, library versions, the list of cases
    golden/<case>/case.json      what the case holds: kind, shapes, dtypes, quantization
    golden/<case>/metadata.json  the edgeseg metadata JSON the case runs under
    golden/<case>/<array>.bin.gz raw C-order little-endian arrays named in case.json, gzip'd
                                 (mtime 0, so the bytes are reproducible)

Kinds: ``preprocess`` (frame -> gray -> resized -> preprocessed -> input tensor),
``postprocess`` (raw output tensor -> mask at model size -> mask at frame size -> overlay),
``model`` (both, with the raw output of a real .tflite), ``resize_sweep`` (Pillow BILINEAR and
NEAREST over many odd sizes) and ``flatbuffer`` (metadata-only .tflite flatbuffers, inline and
out-of-line buffers, for the hand-written reader).

    # model-free goldens (synthetic phantom frames, synthetic output tensors)
    .venv/bin/python android_demo/tools/make_golden.py --no-model
    # goldens from a real model with edgeseg metadata (adds/replaces the model_* cases)
    .venv/bin/python android_demo/tools/make_golden.py \
        --model android_demo/app/src/main/assets/model_int8.tflite

Frames are rendered by ``edgeseg.train.synth`` (numpy + Pillow only); ``--frames`` adds your
own image files to the model cases, and they then live in the repository's test resources: only
pass frames you may redistribute. Same code, numpy and Pillow -> byte-identical files.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from edgeseg.config import PostProcess, Preprocessing  # noqa: E402
from edgeseg.imaging import read_gray, resize_gray, resize_mask, to_gray8  # noqa: E402
from edgeseg.postprocess import probabilities_to_mask  # noqa: E402
from edgeseg.preprocess import normalize, preprocess  # noqa: E402

GOLDEN_FORMAT = "edgeseg.golden/1"
DEFAULT_OUT = REPO / "android_demo" / "core" / "src" / "test" / "resources" / "golden"
OVERLAY_ALPHA = 115
NERVE = {"name": "nerve", "value": 1, "color": [255, 220, 0]}
VESSEL = {"name": "vessel", "value": 2, "color": [230, 40, 40]}
PIXEL_SCALE = 1.0 / 255.0


# ----------------------------------------------------------------------------- contract pieces


def metadata(
    height: int,
    width: int,
    *,
    normalize_mode: str = "percentile",
    percentiles: tuple[float, float] = (1.0, 99.0),
    classes: tuple[dict, ...] = (NERVE,),
    post: PostProcess | None = None,
    presence_output: bool = True,
) -> dict:
    """An edgeseg metadata object shaped as docs/runtime-contract.md section 5."""
    post = post or PostProcess()
    return {
        "schema": "edgeseg.metadata/1",
        "edgeseg_version": "0.1.0",
        "config_sha256": "0" * 64,
        "arch": "golden-fixture",
        "quantization": "int8",
        "input": {"height": height, "width": width, "channels": 1, "scale": PIXEL_SCALE},
        "preprocessing": {
            "normalize": normalize_mode,
            "percentiles": [float(percentiles[0]), float(percentiles[1])],
            "clahe": False,
            "clahe_clip": 2.0,
            "clahe_tiles": 8,
            "denoise": "none",
        },
        "classes": [dict(c) for c in classes],
        "postprocess": {
            "threshold": post.threshold,
            "min_area": post.min_area,
            "largest_component": post.largest_component,
            "presence_threshold": post.presence_threshold,
            "presence_gate": post.presence_gate,
        },
        "presence_output": presence_output,
    }


def preprocessing_of(meta: dict) -> Preprocessing:
    pp = meta["preprocessing"]
    return Preprocessing(
        height=meta["input"]["height"],
        width=meta["input"]["width"],
        normalize=pp.get("normalize", "percentile"),
        percentiles=tuple(pp.get("percentiles", (1.0, 99.0))),
        clahe=pp.get("clahe", False),
        clahe_clip=pp.get("clahe_clip", 2.0),
        clahe_tiles=pp.get("clahe_tiles", 8),
        denoise=pp.get("denoise", "none"),
    )


def postprocess_of(meta: dict) -> PostProcess:
    return PostProcess(**meta.get("postprocess", {}))


def quantize_input(pre: np.ndarray, scale: float, zero_point: int, dtype: np.dtype) -> np.ndarray:
    """Contract section 2: x = pixel / 255; q = clip(floor(x / s + 0.5) + z) in float64."""
    x = pre.astype(np.float64) / 255.0
    if np.dtype(dtype) == np.float32:
        return x.astype(np.float32)
    info = np.iinfo(dtype)
    q = np.floor(x / np.float64(np.float32(scale)) + 0.5) + zero_point
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Contract section 3: p = (q - z) * s in float64 (float tensors pass through)."""
    if q.dtype == np.float32:
        return q.astype(np.float64)
    return (q.astype(np.float64) - zero_point) * np.float64(np.float32(scale))


def overlay(gray: np.ndarray, mask_hwc: np.ndarray, classes: list[dict]) -> np.ndarray:
    """Contract section 4: blend class colours over the gray frame; later classes win."""
    base = gray.astype(np.int64)[..., None]
    out = np.repeat(base, 3, axis=2)
    for c, spec in enumerate(classes):
        colour = np.asarray(spec["color"], dtype=np.int64)
        blended = (base * (256 - OVERLAY_ALPHA) + colour * OVERLAY_ALPHA + 128) >> 8
        out = np.where(mask_hwc[..., c : c + 1] != 0, blended, out)
    return out.astype(np.uint8)


# ----------------------------------------------------------------------------- writing


def _quant(scale: float, zero_point: int) -> dict:
    # float32 scale written as the float64 of that float32: Java's (float) cast is exact.
    return {"scale": float(np.float32(scale)), "zero_point": int(zero_point)}


class Case:
    """One golden case directory: arrays as .bin files, described in case.json."""

    def __init__(self, root: Path, name: str, kind: str, description: str):
        self.dir = root / name
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        self.doc: dict = {"name": name, "kind": kind, "description": description}

    def array(self, key: str, arr: np.ndarray, **extra) -> None:
        arr = np.ascontiguousarray(arr)
        little = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
        packed = gzip.compress(little.tobytes(), compresslevel=9, mtime=0)
        (self.dir / f"{key}.bin.gz").write_bytes(packed)
        self.doc[key] = {
            "file": f"{key}.bin.gz",
            "dtype": arr.dtype.name,
            "shape": [int(s) for s in arr.shape],
            **extra,
        }

    def digest(self, key: str, arr: np.ndarray) -> None:
        """Only the SHA-256 of a large derived array (e.g. the overlay) plus its shape."""
        arr = np.ascontiguousarray(arr)
        self.doc[key] = {
            "sha256": hashlib.sha256(arr.tobytes()).hexdigest(),
            "dtype": arr.dtype.name,
            "shape": [int(s) for s in arr.shape],
        }

    def same_as(self, key: str, other: str) -> None:
        """``key`` holds the same bytes as the array ``other`` (not stored twice)."""
        self.doc[key] = dict(self.doc[other])

    def metadata(self, text: str) -> None:
        (self.dir / "metadata.json").write_text(text, encoding="utf-8")
        self.doc["metadata"] = "metadata.json"

    def finish(self) -> None:
        text = json.dumps(self.doc, indent=1, sort_keys=True) + "\n"
        (self.dir / "case.json").write_text(text, encoding="utf-8")


def write_index(root: Path) -> list[str]:
    names = sorted(p.parent.name for p in root.glob("*/case.json"))
    import PIL

    from edgeseg import __version__

    index = {
        "format": GOLDEN_FORMAT,
        "generator": "android_demo/tools/make_golden.py",
        "versions": {"edgeseg": __version__, "numpy": np.__version__, "pillow": PIL.__version__},
        "cases": names,
    }
    (root / "index.json").write_text(json.dumps(index, indent=1) + "\n", encoding="utf-8")
    return names


def clear_cases(root: Path, model_cases: bool) -> None:
    """Remove this mode's previous cases (model_* for --model, the others for --no-model)."""
    for case in root.glob("*/case.json"):
        if case.parent.name.startswith("model_") == model_cases:
            shutil.rmtree(case.parent)


# ----------------------------------------------------------------------------- frames


def phantom(seed: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic B-mode frame and its label map (0 background, 1 nerve, 2 vessel)."""
    from edgeseg.train.synth import synth_frame

    return synth_frame(np.random.default_rng(seed), size=(height, width), vessel=True)


def tinted(gray: np.ndarray, seed: int) -> np.ndarray:
    """An RGB frame from a gray one: a colour cast plus per-channel noise (exercises the luma)."""
    rng = np.random.default_rng(seed)
    g = gray.astype(np.int64)
    noise = rng.integers(-3, 4, size=g.shape + (3,))
    rgb = np.stack([g * 1.05 + 6, g * 0.97, g * 0.9 + 12], axis=-1).astype(np.int64) + noise
    return np.clip(rgb, 0, 255).astype(np.uint8)


def preprocess_case(root, name, description, frame, meta, tensor_dtype, scale, zero_point):
    pp = preprocessing_of(meta)
    gray = to_gray8(frame)
    resized = resize_gray(gray, pp.size)
    pre = preprocess(frame, pp)
    # The chain the Java test walks must be the reference's chain, step by step.
    if not np.array_equal(pre, normalize(resized, pp)):
        raise SystemExit(f"{name}: preprocess() differs from normalize(resize(gray))")
    tensor = quantize_input(pre, scale, zero_point, tensor_dtype)[None, :, :, None]
    case = Case(root, name, "preprocess", description)
    case.metadata(json.dumps(meta, indent=1))
    case.array("frame", frame)
    if frame.dtype == np.uint8 and frame.ndim == 2:
        case.same_as("gray", "frame")
    else:
        case.array("gray", gray)
    case.array("resized", resized)
    case.array("preprocessed", pre)
    case.array("input_tensor", tensor, **_quant(scale, zero_point))
    case.finish()


# ----------------------------------------------------------------------------- post-processing


def _blur(a: np.ndarray, passes: int) -> np.ndarray:
    for _ in range(passes):
        p = np.pad(a, 1, mode="edge")
        a = (p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] + 4 * p[1:-1, 1:-1]) / 8
    return a


def synthetic_output(label, classes, out_hw, seed, scale, zero_point, dtype, plateau=0.0):
    """A fixed fake network output: blurred class maps + speckle-like noise, quantized.

    ``plateau`` > 0 snaps a fraction of pixels to exactly p = 0.5 (q = z + 0.5/s) so the
    ``>=`` threshold comparison is exercised on equality.
    """
    rng = np.random.default_rng(seed)
    h, w = out_hw
    small = np.asarray(Image.fromarray(label).resize((w, h), Image.NEAREST))
    chans = []
    for spec in classes:
        target = (small == spec["value"]).astype(np.float64)
        logit = 7.0 * (_blur(target, 3) - 0.5) + rng.normal(0.0, 1.6, size=(h, w))
        chans.append(1.0 / (1.0 + np.exp(-logit)))
    prob = np.stack(chans, axis=-1)
    if np.dtype(dtype) == np.float32:
        return prob[None].astype(np.float32)
    info = np.iinfo(dtype)
    q = np.clip(np.floor(prob / scale + 0.5) + zero_point, info.min, info.max)
    if plateau:
        half = zero_point + round(0.5 / scale)
        q[rng.random(q.shape) < plateau] = half
    return q.astype(dtype)[None]


def postprocess_case(root, name, description, gray, raw, quant, meta, presence_raw=None):
    """raw [1,H,W,C] output (+ presence raw value) -> masks at model and frame size -> overlay."""
    scale, zero_point = quant
    post = postprocess_of(meta)
    prob = dequantize(raw[0], scale, zero_point)
    presence = None
    if presence_raw is not None:
        presence = float(dequantize(presence_raw, *quant)[0, 0])
    mask_model = probabilities_to_mask(prob, post, presence)
    mask = resize_mask(mask_model, gray.shape)
    case = Case(root, name, "postprocess", description)
    case.metadata(json.dumps(meta, indent=1))
    case.array("gray", gray)
    case.array("output_tensor", raw, **_quant(scale, zero_point))
    if presence_raw is not None:
        case.array("presence_tensor", presence_raw, **_quant(scale, zero_point))
        case.doc["presence_score"] = presence
    case.array("mask_model", mask_model)
    case.array("mask", mask)
    case.digest("overlay", overlay(gray, mask, meta["classes"]))
    case.finish()


# ----------------------------------------------------------------------------- model-free mode


def no_model_cases(root: Path) -> None:
    s = PIXEL_SCALE
    # --- preprocessing: odd sizes, down/up-scaling, RGB/RGBA/16-bit, all input tensor types
    g, _ = phantom(11, 97, 131)
    preprocess_case(
        root,
        "pre_131x97_gray8",
        "odd downscale to 128x128, int8 input z=-128",
        g,
        metadata(128, 128),
        np.int8,
        s,
        -128,
    )
    g, _ = phantom(12, 512, 512)
    preprocess_case(
        root,
        "pre_512x512_gray8",
        "exact 4x downscale, uint8 input",
        g,
        metadata(128, 128),
        np.uint8,
        s,
        0,
    )
    g, _ = phantom(13, 420, 600)
    preprocess_case(
        root,
        "pre_600x420_gray8",
        "non-square downscale 600x420 -> 128x128",
        g,
        metadata(128, 128),
        np.int8,
        s,
        -128,
    )
    g, _ = phantom(23, 203, 257)
    preprocess_case(
        root,
        "pre_257x203_rgb8",
        "RGB frame (Pillow luma), odd downscale",
        tinted(g, 23),
        metadata(128, 128),
        np.int8,
        s,
        -128,
    )
    g, _ = phantom(14, 229, 171)
    rgba = np.concatenate([tinted(g, 14), np.full(g.shape + (1,), 77, np.uint8)], axis=-1)
    preprocess_case(
        root,
        "pre_171x229_rgba8_96x128",
        "RGBA (alpha ignored) to a non-square 96x128 input, percentiles [2, 98]",
        rgba,
        metadata(96, 128, percentiles=(2.0, 98.0)),
        np.int8,
        s,
        -128,
    )
    g, _ = phantom(15, 48, 64)
    preprocess_case(
        root,
        "pre_64x48_upscale",
        "upscale 64x48 -> 128x128",
        g,
        metadata(128, 128),
        np.int8,
        s,
        -128,
    )
    g, _ = phantom(16, 128, 128)
    preprocess_case(
        root,
        "pre_128x128_noresize",
        "size already matches: no resize",
        g,
        metadata(128, 128),
        np.uint8,
        s,
        0,
    )
    g, _ = phantom(17, 120, 160)
    g16 = g.astype(np.int64) * 257 + np.random.default_rng(17).integers(-128, 129, g.shape)
    preprocess_case(
        root,
        "pre_160x120_gray16",
        "16-bit frame ((v*255+32767)//65535)",
        np.clip(g16, 0, 65535).astype(np.uint16),
        metadata(128, 128),
        np.int8,
        s,
        -128,
    )
    g, _ = phantom(18, 37, 1000)
    preprocess_case(
        root,
        "pre_1000x37_extreme",
        "extreme anisotropic resize to 16x64",
        g,
        metadata(16, 64),
        np.int8,
        s,
        -128,
    )
    preprocess_case(
        root,
        "pre_constant_50x40",
        "constant frame: hi <= lo, image unchanged",
        np.full((40, 50), 93, np.uint8),
        metadata(32, 32),
        np.int8,
        s,
        -128,
    )
    g, _ = phantom(19, 192, 256)
    preprocess_case(
        root,
        "pre_256x192_none_float32",
        "normalize=none, float32 input tensor",
        g,
        metadata(64, 64, normalize_mode="none"),
        np.float32,
        0.0,
        0,
    )
    g, _ = phantom(20, 150, 210)
    preprocess_case(
        root,
        "pre_210x150_odd_quant",
        "uint8 input with scale 0.0078125 z=3",
        g,
        metadata(64, 64),
        np.uint8,
        0.0078125,
        3,
    )

    # --- post-processing: thresholds, min area, largest component, presence, 2 classes
    int8_sig = (1.0 / 256.0, -128)  # TFLite's usual quantization of a sigmoid output
    frame, label = phantom(31, 97, 131)
    raw = synthetic_output(label, [NERVE], (128, 128), 31, *int8_sig, np.int8, plateau=0.02)
    postprocess_case(
        root,
        "post_131x97_default",
        "threshold 0.5 with exact-0.5 pixels, nearest downscale 128 -> 131x97",
        frame,
        raw,
        int8_sig,
        metadata(128, 128),
        presence_raw=np.array([[90]], np.int8),
    )
    frame, label = phantom(32, 420, 600)
    raw = synthetic_output(label, [NERVE], (128, 128), 32, *int8_sig, np.int8)
    postprocess_case(
        root,
        "post_600x420_minarea_largest",
        "min_area 20 + largest component",
        frame,
        raw,
        int8_sig,
        metadata(128, 128, post=PostProcess(min_area=20, largest_component=True)),
        presence_raw=np.array([[60]], np.int8),
    )
    frame, label = phantom(33, 512, 512)
    u8 = (1.0 / 255.0, 0)
    raw = synthetic_output(label, [NERVE, VESSEL], (128, 128), 33, *u8, np.uint8)
    postprocess_case(
        root,
        "post_512x512_two_class_uint8",
        "nerve + vessel, uint8 output, threshold 0.35, min_area 10, no presence",
        frame,
        raw,
        u8,
        metadata(
            128,
            128,
            classes=(NERVE, VESSEL),
            presence_output=False,
            post=PostProcess(threshold=0.35, min_area=10),
        ),
    )
    frame, label = phantom(34, 200, 300)
    raw = synthetic_output(label, [NERVE], (64, 64), 34, *int8_sig, np.int8)
    gate = PostProcess(presence_gate=True, presence_threshold=0.6)
    postprocess_case(
        root,
        "post_300x200_gated",
        "presence 0.5 < 0.6 with the gate on: empty",
        frame,
        raw,
        int8_sig,
        metadata(64, 64, post=gate),
        presence_raw=np.array([[0]], np.int8),
    )
    postprocess_case(
        root,
        "post_300x200_gate_passes",
        "presence 0.84 >= 0.6: mask kept",
        frame,
        raw,
        int8_sig,
        metadata(64, 64, post=gate),
        presence_raw=np.array([[88]], np.int8),
    )
    frame, label = phantom(35, 480, 640)
    raw = synthetic_output(label, [NERVE, VESSEL], (96, 128), 35, *int8_sig, np.int8)
    postprocess_case(
        root,
        "post_640x480_nonsquare_two_class",
        "96x128 output (H != W), two classes overlapping paint order",
        frame,
        raw,
        int8_sig,
        metadata(96, 128, classes=(NERVE, VESSEL), post=PostProcess(threshold=0.3, min_area=5)),
        presence_raw=np.array([[100]], np.int8),
    )
    # Ties: two equal squares and a diagonal-only chain (8-connectivity joins it).
    tie = np.full((1, 32, 32, 1), -128, np.int8)
    tie[0, 20:25, 3:8, 0] = 100  # 25 px, first pixel at row 20: a later component
    tie[0, 4:9, 20:25, 0] = 100  # 25 px, first pixel at row 4: component 1, wins the tie
    for k in range(6):
        tie[0, 12 + k, 12 + k, 0] = 100  # 6 px diagonal: one component only with 8-connectivity
    frame = phantom(36, 131, 97)[0]
    postprocess_case(
        root,
        "post_97x131_tie_largest",
        "largest-component tie goes to the "
        "first in raster order; diagonal chain is one 8-connected component",
        frame,
        tie,
        int8_sig,
        metadata(32, 32, post=PostProcess(largest_component=True)),
        presence_raw=np.array([[127]], np.int8),
    )
    postprocess_case(
        root,
        "post_97x131_diagonal_min_area",
        "min_area 6 keeps the diagonal chain (8-connected) and both squares",
        frame,
        tie,
        int8_sig,
        metadata(32, 32, post=PostProcess(min_area=6)),
    )
    frame, label = phantom(37, 97, 131)
    f32 = synthetic_output(label, [NERVE], (32, 32), 37, 0.0, 0, np.float32)
    postprocess_case(
        root,
        "post_131x97_float32",
        "float32 output (no quantization)",
        frame,
        f32,
        (0.0, 0),
        metadata(32, 32),
    )

    resize_sweep(root)
    flatbuffer_case(root)


def resize_sweep(root: Path) -> None:
    """Pillow BILINEAR and NEAREST over many (in, out) size pairs, odd ratios included."""
    rng = np.random.default_rng(2024)
    pairs = [
        ((1, 1), (3, 2)),
        ((7, 5), (1, 1)),
        ((2, 3), (5, 7)),
        ((300, 2), (7, 3)),
        ((3, 300), (2, 9)),
        ((64, 64), (128, 128)),
        ((128, 128), (64, 64)),
        ((100, 60), (33, 61)),
        ((61, 33), (100, 60)),
        ((128, 96), (131, 97)),
        # Pillow 13 pass order: vertical first iff oh < ih and ih - oh > 2 * (iw - ow)
        ((24, 40), (10, 10)),
        ((25, 40), (10, 10)),
        ((26, 40), (10, 10)),
        ((40, 97), (64, 64)),
        ((97, 400), (64, 64)),
        ((20, 40), (30, 39)),
    ]
    for _ in range(44):
        pairs.append(
            (
                (int(rng.integers(1, 40)), int(rng.integers(1, 40))),
                (int(rng.integers(1, 64)), int(rng.integers(1, 64))),
            )
        )
    entries, src_all, bil_all, near_all = [], [], [], []
    offsets = [0, 0, 0]
    for (iw, ih), (ow, oh) in pairs:
        src = rng.integers(0, 256, size=(ih, iw), dtype=np.uint8)
        if rng.random() < 0.3:  # smooth images too, where rounding sits near .5 more often
            src = np.clip(_blur(src.astype(np.float64), 2).round(), 0, 255).astype(np.uint8)
        img = Image.fromarray(src)
        bil = np.asarray(img.resize((ow, oh), Image.BILINEAR))
        near = np.asarray(img.resize((ow, oh), Image.NEAREST))
        entries.append(
            {
                "in": [iw, ih],
                "out": [ow, oh],
                "src": offsets[0],
                "bilinear": offsets[1],
                "nearest": offsets[2],
            }
        )
        for i, a in enumerate((src, bil, near)):
            offsets[i] += a.size
        src_all.append(src.ravel())
        bil_all.append(bil.ravel())
        near_all.append(near.ravel())
    case = Case(
        root,
        "resize_sweep",
        "resize_sweep",
        "Pillow resize of random 8-bit images: BILINEAR and NEAREST",
    )
    case.array("sources", np.concatenate(src_all))
    case.array("bilinear", np.concatenate(bil_all))
    case.array("nearest", np.concatenate(near_all))
    case.doc["entries"] = entries
    case.finish()


# ----------------------------------------------------------------------------- flatbuffers


def _pack_model(meta_text: str, *, external: bool, with_edgeseg: bool = True) -> bytes:
    """A metadata-only TFLite flatbuffer (no subgraphs), via the official generated schema."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    payload = meta_text.encode("utf-8")
    runtime = b"1.5.0"

    def build(offset: int) -> bytes:
        model = schema.ModelT()
        model.version = 3
        model.description = "edgeseg golden fixture: metadata only, no subgraphs"
        empty = schema.BufferT()
        edgeseg = schema.BufferT()
        if external:
            edgeseg.offset, edgeseg.size = offset, len(payload)
        else:
            edgeseg.data = list(payload)
        version = schema.BufferT()
        version.data = list(runtime)
        model.buffers = [empty, edgeseg, version]
        entries = [("min_runtime_version", 2)] + ([("edgeseg", 1)] if with_edgeseg else [])
        model.metadata = []
        for name, index in entries:
            m = schema.MetadataT()
            m.name, m.buffer = name, index
            model.metadata.append(m)
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())

    if not external:
        return build(0)
    # Two passes: the offset field's size does not depend on its value.
    head = build(1 << 40)
    start = -(-len(head) // 16) * 16
    out = build(start)
    if len(out) != len(head):
        raise SystemExit("flatbuffer size changed between passes")
    return out + b"\0" * (start - len(out)) + payload


def read_tflite_metadata(buf: bytes) -> dict[str, bytes]:
    """Model.metadata entries of a .tflite, read with the official schema (inline or offset)."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(buf, 0)
    out = {}
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        buffer = model.Buffers(entry.Buffer())
        if buffer.DataLength() > 0:
            data = buffer.DataAsNumpy().tobytes()
        elif buffer.Offset() > 1:
            data = buf[buffer.Offset() : buffer.Offset() + buffer.Size()]
        else:
            data = b""
        out[entry.Name().decode("utf-8")] = data
    return out


def flatbuffer_case(root: Path) -> None:
    meta = metadata(128, 128, classes=(NERVE, VESSEL))
    meta["note"] = 'unicode \u00e9\u2713 and escapes " \\ / \t survive the round trip'
    text = json.dumps(meta)  # ASCII with \\u escapes, as json.dumps writes by default
    case = Case(
        root,
        "flatbuffer_metadata",
        "flatbuffer",
        "metadata-only .tflite flatbuffers: inline buffer, out-of-line buffer "
        "(Buffer.offset/size), and one without an edgeseg entry",
    )
    files = {}
    for key, blob in (
        ("inline", _pack_model(text, external=False)),
        ("offset", _pack_model(text, external=True)),
        ("no_edgeseg", _pack_model(text, external=False, with_edgeseg=False)),
    ):
        entries = read_tflite_metadata(blob)
        expected = {"min_runtime_version": b"1.5.0"}
        if key != "no_edgeseg":
            expected["edgeseg"] = text.encode()
        if entries != expected:
            raise SystemExit(f"flatbuffer fixture {key}: schema reader disagrees: {entries}")
        case.array(f"model_{key}", np.frombuffer(blob, np.uint8))
        files[key] = f"model_{key}"  # array keys in this case.json
    case.metadata(text)
    case.doc["models"] = files
    case.doc["entries"] = {"min_runtime_version": "1.5.0"}
    case.finish()


# ----------------------------------------------------------------------------- model mode


def model_cases(root: Path, model_path: Path, frames: list[Path]) -> None:
    from ai_edge_litert.interpreter import Interpreter

    buf = model_path.read_bytes()
    entries = read_tflite_metadata(buf)
    if "edgeseg" not in entries:
        raise SystemExit(f"{model_path}: no 'edgeseg' metadata entry; export it with edgeseg")
    meta_text = entries["edgeseg"].decode("utf-8")
    meta = json.loads(meta_text)
    pp, post = preprocessing_of(meta), postprocess_of(meta)
    interp = Interpreter(model_path=str(model_path))
    interp.allocate_tensors()
    (inp,) = interp.get_input_details()
    if tuple(inp["shape"]) != (1, pp.height, pp.width, 1):
        raise SystemExit(f"input {inp['shape']} != metadata [1, {pp.height}, {pp.width}, 1]")
    outs = interp.get_output_details()
    mask_out = next(o for o in outs if len(o["shape"]) == 4)
    pres_out = next((o for o in outs if list(o["shape"]) == [1, 1]), None)

    named: list[tuple[str, np.ndarray]] = []
    for k, (h, w) in enumerate([(97, 131), (420, 600), (512, 512)]):
        g, _ = phantom(100 + k, h, w)
        named.append((f"model_synth_{w}x{h}", g if k != 1 else tinted(g, 100 + k)))
    for path in frames:
        named.append((f"model_{path.stem}", read_gray(path)))

    for name, frame in named:
        pre = preprocess(frame, pp)
        s_in, z_in = inp["quantization"]
        tensor = quantize_input(pre, s_in, z_in, inp["dtype"])[None, :, :, None]
        interp.set_tensor(inp["index"], tensor)
        interp.invoke()
        raw = interp.get_tensor(mask_out["index"]).copy()
        s_out, z_out = mask_out["quantization"]
        presence, pres_raw = None, None
        if pres_out is not None:
            pres_raw = interp.get_tensor(pres_out["index"]).copy()
            presence = float(dequantize(pres_raw, *pres_out["quantization"])[0, 0])
        prob = dequantize(raw[0], s_out, z_out)
        gray = to_gray8(frame)
        mask_model = probabilities_to_mask(prob, post, presence)
        mask = resize_mask(mask_model, gray.shape)
        case = Case(root, name, "model", f"{model_path.name} on {name[6:]}")
        case.metadata(meta_text)
        case.array("frame", frame)
        if frame.dtype == np.uint8 and frame.ndim == 2:
            case.same_as("gray", "frame")
        else:
            case.array("gray", gray)
        case.array("resized", resize_gray(gray, pp.size))
        case.array("preprocessed", pre)
        case.array("input_tensor", tensor, **_quant(s_in, z_in))
        case.array("output_tensor", raw, **_quant(s_out, z_out))
        if pres_raw is not None:
            case.array("presence_tensor", pres_raw, **_quant(*pres_out["quantization"]))
            case.doc["presence_score"] = presence
        case.array("mask_model", mask_model)
        case.array("mask", mask)
        case.digest("overlay", overlay(gray, mask, meta["classes"]))
        case.doc["model"] = {"file": model_path.name, "bytes": len(buf)}
        case.doc["runtime_cross_check"] = cross_check(model_path, frame, mask_model, mask, meta)
        case.finish()


def cross_check(model_path: Path, frame, mask_model, mask, meta) -> str:
    """Compare with edgeseg.edge_runtime's Segmenter when it is importable; stop on a mismatch."""
    try:
        from edgeseg.edge_runtime.segmenter import Segmenter
    except ImportError as exc:
        return f"skipped (edgeseg.edge_runtime not importable: {exc})"
    result = Segmenter(model_path, threads=1).segment(frame)
    gray = to_gray8(frame)
    checks = {
        "mask_model": np.array_equal(result.mask_model, mask_model),
        "mask": np.array_equal(result.mask, mask),
        "overlay": np.array_equal(result.overlay(), overlay(gray, mask, meta["classes"])),
    }
    if not all(checks.values()):
        raise SystemExit(f"{model_path}: edgeseg.edge_runtime disagrees with this script: {checks}")
    return "edgeseg.edge_runtime.Segmenter agrees (mask_model, mask, overlay)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument(
        "--no-model",
        action="store_true",
        help="preprocessing, post-processing, resize and flatbuffer goldens",
    )
    mode.add_argument("--model", type=Path, help=".tflite with edgeseg metadata")
    ap.add_argument(
        "--frames",
        type=Path,
        nargs="*",
        default=[],
        help="extra image files for --model (they are copied into the goldens)",
    )
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="golden directory")
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.model is not None:
        if not args.model.is_file():
            print(f"{args.model}: no such model; export one first", file=sys.stderr)
            return 2
        clear_cases(args.out, model_cases=True)
        model_cases(args.out, args.model, args.frames)
    else:
        clear_cases(args.out, model_cases=False)
        no_model_cases(args.out)
    names = write_index(args.out)
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(
        f"wrote {len(names)} golden cases ({size / 1024:.0f} KiB) to {args.out} in "
        f"{time.monotonic() - t0:.1f}s; next: android_demo/core/run-tests.sh"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
