#!/usr/bin/env python3
"""Golden vectors for the Android core's Java tests: the Python library is the reference.

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
out-of-line buffers, for the hand-written reader), plus the frame-reading kinds of
golden_frames.py (``frame_read``, ``reduce_factors``, ``drop_order``).

Every expected value is computed by the library's frame contract
(``edgeseg.contract.FrameContract``), the one the Python runtime runs: the goldens pin the
library, and the Java core must match it byte for byte.

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
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from golden_frames import drop_order_cases, frame_read_cases  # noqa: E402
from golden_writer import (  # noqa: E402
    Case,
    _quant,
    blur,
    clear_cases,
    golden_contract,
    phantom,
    postprocess_case,
    preprocess_case,
    synthetic_output,
    tinted,
    write_index,
)

from edgeseg.config import PostProcess  # noqa: E402
from edgeseg.contract import PIXEL_SCALE, FrameContract  # noqa: E402
from edgeseg.edge_runtime.metadata import METADATA_NAME, metadata_entries  # noqa: E402
from edgeseg.imaging import read_gray, resize_gray, to_gray8  # noqa: E402

DEFAULT_OUT = REPO / "android_demo" / "core" / "src" / "test" / "resources" / "golden"
I8 = (np.int8, PIXEL_SCALE, -128)
U8 = (np.uint8, PIXEL_SCALE, 0)

# name, description, phantom seed, frame kind, (frame h, w), contract arguments, input tensor
PRE_CASES = [
    ("pre_131x97_gray8", "odd downscale to 128x128, int8 input z=-128", 11, "gray", (97, 131),
     (128, 128, {}), I8),
    ("pre_512x512_gray8", "exact 4x downscale, uint8 input", 12, "gray", (512, 512),
     (128, 128, {}), U8),
    ("pre_600x420_gray8", "non-square downscale 600x420 -> 128x128", 13, "gray", (420, 600),
     (128, 128, {}), I8),
    ("pre_257x203_rgb8", "RGB frame (Pillow luma), odd downscale", 23, "rgb", (203, 257),
     (128, 128, {}), I8),
    ("pre_171x229_rgba8_96x128",
     "RGBA (alpha ignored) to a non-square 96x128 input, percentiles [2, 98]", 14, "rgba",
     (229, 171), (96, 128, {"percentiles": (2.0, 98.0)}), I8),
    ("pre_64x48_upscale", "upscale 64x48 -> 128x128", 15, "gray", (48, 64), (128, 128, {}), I8),
    ("pre_128x128_noresize", "size already matches: no resize", 16, "gray", (128, 128),
     (128, 128, {}), U8),
    ("pre_160x120_gray16", "16-bit frame ((v*255+32767)//65535)", 17, "gray16", (120, 160),
     (128, 128, {}), I8),
    ("pre_1000x37_extreme", "extreme anisotropic resize to 16x64", 18, "gray", (37, 1000),
     (16, 64, {}), I8),
    ("pre_constant_50x40", "constant frame: hi <= lo, image unchanged", 0, "constant",
     (40, 50), (32, 32, {}), I8),
    ("pre_256x192_none_float32", "normalize=none, float32 input tensor", 19, "gray", (192, 256),
     (64, 64, {"normalize_mode": "none"}), (np.float32, 0.0, 0)),
    ("pre_210x150_odd_quant", "uint8 input with scale 0.0078125 z=3", 20, "gray", (150, 210),
     (64, 64, {}), (np.uint8, 0.0078125, 3)),
]  # fmt: skip


def pre_frame(kind: str, seed: int, size: tuple[int, int]) -> np.ndarray:
    """The frame of a preprocessing case: a phantom, tinted, with alpha, 16-bit or constant."""
    if kind == "constant":
        return np.full(size, 93, np.uint8)
    g, _ = phantom(seed, *size)
    if kind == "rgb":
        return tinted(g, seed)
    if kind == "rgba":
        return np.concatenate([tinted(g, seed), np.full(g.shape + (1,), 77, np.uint8)], axis=-1)
    if kind == "gray16":
        noise = np.random.default_rng(seed).integers(-128, 129, g.shape)
        return np.clip(g.astype(np.int64) * 257 + noise, 0, 65535).astype(np.uint16)
    return g


def no_model_cases(root: Path) -> None:
    for name, description, seed, kind, size, (h, w, kw), tensor in PRE_CASES:
        frame = pre_frame(kind, seed, size)
        preprocess_case(root, name, description, frame, golden_contract(h, w, **kw), *tensor)

    # --- post-processing: thresholds, min area, largest component, presence, 2 classes
    sig = (1.0 / 256.0, -128)  # TFLite's usual quantization of a sigmoid output
    nerve, both = (1,), (1, 2)
    presence = [np.array([[v]], np.int8) for v in (90, 60, 0, 88, 100, 127)]
    frame, label = phantom(31, 97, 131)
    raw = synthetic_output(label, nerve, (128, 128), 31, *sig, np.int8, plateau=0.02)
    post = [
        ("post_131x97_default",
         "threshold 0.5 with exact-0.5 pixels, nearest downscale 128 -> 131x97",
         frame, raw, sig, golden_contract(128, 128), presence[0]),
    ]  # fmt: skip
    frame, label = phantom(32, 420, 600)
    raw = synthetic_output(label, nerve, (128, 128), 32, *sig, np.int8)
    largest = golden_contract(128, 128, post=PostProcess(min_area=20, largest_component=True))
    post.append(("post_600x420_minarea_largest", "min_area 20 + largest component",
                 frame, raw, sig, largest, presence[1]))  # fmt: skip
    frame, label = phantom(33, 512, 512)
    u8 = (1.0 / 255.0, 0)
    raw = synthetic_output(label, both, (128, 128), 33, *u8, np.uint8)
    two = golden_contract(128, 128, classes=("nerve", "vessel"), presence_output=False,
                          post=PostProcess(threshold=0.35, min_area=10))  # fmt: skip
    post.append(("post_512x512_two_class_uint8",
                 "nerve + vessel, uint8 output, threshold 0.35, min_area 10, no presence",
                 frame, raw, u8, two, None))  # fmt: skip
    frame, label = phantom(34, 200, 300)
    raw = synthetic_output(label, nerve, (64, 64), 34, *sig, np.int8)
    gated = golden_contract(64, 64, post=PostProcess(presence_gate=True, presence_threshold=0.6))
    post += [
        ("post_300x200_gated", "presence 0.5 < 0.6 with the gate on: empty",
         frame, raw, sig, gated, presence[2]),
        ("post_300x200_gate_passes", "presence 0.84 >= 0.6: mask kept",
         frame, raw, sig, gated, presence[3]),
    ]  # fmt: skip
    frame, label = phantom(35, 480, 640)
    raw = synthetic_output(label, both, (96, 128), 35, *sig, np.int8)
    wide = golden_contract(96, 128, classes=("nerve", "vessel"),
                           post=PostProcess(threshold=0.3, min_area=5))  # fmt: skip
    post.append(("post_640x480_nonsquare_two_class",
                 "96x128 output (H != W), two classes overlapping paint order",
                 frame, raw, sig, wide, presence[4]))  # fmt: skip
    # Ties: two equal squares and a diagonal-only chain (8-connectivity joins it).
    tie = np.full((1, 32, 32, 1), -128, np.int8)
    tie[0, 20:25, 3:8, 0] = 100  # 25 px, first pixel at row 20: a later component
    tie[0, 4:9, 20:25, 0] = 100  # 25 px, first pixel at row 4: component 1, wins the tie
    for k in range(6):
        tie[0, 12 + k, 12 + k, 0] = 100  # 6 px diagonal: one component only with 8-connectivity
    frame = phantom(36, 131, 97)[0]
    post += [
        ("post_97x131_tie_largest",
         "largest-component tie goes to the first in raster order; diagonal chain is one "
         "8-connected component",
         frame, tie, sig, golden_contract(32, 32, post=PostProcess(largest_component=True)),
         presence[5]),
        ("post_97x131_diagonal_min_area",
         "min_area 6 keeps the diagonal chain (8-connected) and both squares",
         frame, tie, sig, golden_contract(32, 32, post=PostProcess(min_area=6)), None),
    ]  # fmt: skip
    frame, label = phantom(37, 97, 131)
    f32 = synthetic_output(label, nerve, (32, 32), 37, 0.0, 0, np.float32)
    post.append(("post_131x97_float32", "float32 output (no quantization)",
                 frame, f32, (0.0, 0), golden_contract(32, 32), None))  # fmt: skip
    for name, description, gray, raw, quant, contract, presence_raw in post:
        postprocess_case(root, name, description, gray, raw, quant, contract, presence_raw)

    resize_sweep(root)
    flatbuffer_case(root)
    frame_read_cases(root)
    drop_order_cases(root)


def resize_sweep(root: Path) -> None:
    """Pillow BILINEAR and NEAREST over many (in, out) size pairs, odd ratios included."""
    rng = np.random.default_rng(2024)
    pairs = [
        ((1, 1), (3, 2)), ((7, 5), (1, 1)), ((2, 3), (5, 7)), ((300, 2), (7, 3)),
        ((3, 300), (2, 9)), ((64, 64), (128, 128)), ((128, 128), (64, 64)),
        ((100, 60), (33, 61)), ((61, 33), (100, 60)), ((128, 96), (131, 97)),
        # Pillow 13 pass order: vertical first iff oh < ih and ih - oh > 2 * (iw - ow)
        ((24, 40), (10, 10)), ((25, 40), (10, 10)), ((26, 40), (10, 10)),
        ((40, 97), (64, 64)), ((97, 400), (64, 64)), ((20, 40), (30, 39)),
    ]  # fmt: skip
    for _ in range(44):
        pairs.append(
            (
                (int(rng.integers(1, 40)), int(rng.integers(1, 40))),
                (int(rng.integers(1, 64)), int(rng.integers(1, 64))),
            )
        )
    entries, arrays, offsets = [], ([], [], []), [0, 0, 0]
    for (iw, ih), (ow, oh) in pairs:
        src = rng.integers(0, 256, size=(ih, iw), dtype=np.uint8)
        if rng.random() < 0.3:  # smooth images too, where rounding sits near .5 more often
            src = np.clip(blur(src.astype(np.float64), 2).round(), 0, 255).astype(np.uint8)
        img = Image.fromarray(src)
        bil = np.asarray(img.resize((ow, oh), Image.BILINEAR))
        near = np.asarray(img.resize((ow, oh), Image.NEAREST))
        entries.append(
            {"in": [iw, ih], "out": [ow, oh], "src": offsets[0], "bilinear": offsets[1],
             "nearest": offsets[2]}
        )  # fmt: skip
        for i, a in enumerate((src, bil, near)):
            offsets[i] += a.size
            arrays[i].append(a.ravel())
    description = "Pillow resize of random 8-bit images: BILINEAR and NEAREST"
    case = Case(root, "resize_sweep", "resize_sweep", description)
    for key, parts in zip(("sources", "bilinear", "nearest"), arrays, strict=True):
        case.array(key, np.concatenate(parts))
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


def flatbuffer_case(root: Path) -> None:
    meta = golden_contract(128, 128, classes=("nerve", "vessel")).to_dict()
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
        entries = metadata_entries(blob, f"fixture {key}")
        expected = {"min_runtime_version": b"1.5.0"}
        if key != "no_edgeseg":
            expected["edgeseg"] = text.encode()
        if entries != expected:
            raise SystemExit(f"flatbuffer fixture {key}: the library reads {entries}")
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
    entries = metadata_entries(buf, str(model_path))
    if METADATA_NAME not in entries:
        raise SystemExit(f"{model_path}: no 'edgeseg' metadata entry; export it with edgeseg")
    meta_text = entries[METADATA_NAME].decode("utf-8")
    contract = FrameContract.from_json(meta_text, str(model_path))
    h, w = contract.input_size
    interp = Interpreter(model_path=str(model_path))
    interp.allocate_tensors()
    (inp,) = interp.get_input_details()
    if tuple(inp["shape"]) != (1, h, w, 1):
        raise SystemExit(f"input {inp['shape']} != metadata [1, {h}, {w}, 1]")
    outs = interp.get_output_details()
    mask_out = next(o for o in outs if len(o["shape"]) == 4)
    pres_out = next((o for o in outs if list(o["shape"]) == [1, 1]), None)

    named: list[tuple[str, np.ndarray]] = []
    for k, (fh, fw) in enumerate([(97, 131), (420, 600), (512, 512)]):
        g, _ = phantom(100 + k, fh, fw)
        named.append((f"model_synth_{fw}x{fh}", g if k != 1 else tinted(g, 100 + k)))
    for path in frames:
        named.append((f"model_{path.stem}", read_gray(path)))

    for name, frame in named:
        pre = contract.prepare(frame)
        tensor = contract.to_input(pre, inp)
        interp.set_tensor(inp["index"], tensor)
        interp.invoke()
        raw = interp.get_tensor(mask_out["index"]).copy()
        pres_raw = None if pres_out is None else interp.get_tensor(pres_out["index"]).copy()
        prob, presence = contract.from_output(raw, mask_out, pres_raw, pres_out)
        gray = to_gray8(frame)
        mask_model, mask = contract.to_masks(prob, presence, gray.shape)
        case = Case(root, name, "model", f"{model_path.name} on {name[6:]}")
        case.metadata(meta_text)
        case.frames(frame, gray, resize_gray(gray, contract.input_size))
        case.array("preprocessed", pre)
        case.array("input_tensor", tensor, **_quant(*inp["quantization"]))
        case.array("output_tensor", raw, **_quant(*mask_out["quantization"]))
        if pres_raw is not None:
            case.array("presence_tensor", pres_raw, **_quant(*pres_out["quantization"]))
            case.doc["presence_score"] = presence
        case.array("mask_model", mask_model)
        case.array("mask", mask)
        drawn = contract.overlay(gray, mask)
        case.digest("overlay", drawn)
        case.doc["model"] = {"file": model_path.name, "bytes": len(buf)}
        case.doc["runtime_cross_check"] = cross_check(model_path, frame, mask_model, mask, drawn)
        case.finish()


def cross_check(model_path: Path, frame, mask_model, mask, drawn) -> str:
    """The runtime's Segmenter (its own interpreter binding) must give the same; else stop."""
    from edgeseg.edge_runtime.segmenter import Segmenter

    result = Segmenter(model_path, threads=1).segment(frame)
    checks = {
        "mask_model": np.array_equal(result.mask_model, mask_model),
        "mask": np.array_equal(result.mask, mask),
        "overlay": np.array_equal(result.overlay(), drawn),
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
