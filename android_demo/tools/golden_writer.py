"""Writing golden cases for the Android core's tests (used by make_golden.py).

Every value a case holds comes from the library's frame contract
(:class:`edgeseg.contract.FrameContract`: prepare, to_input, from_output, to_masks, overlay,
to_json), so the goldens pin the Python library and the Java core must match it byte for byte.
Only the inputs are made here: phantom frames and fixed fake network outputs.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from edgeseg.config import PostProcess, Preprocessing
from edgeseg.contract import FrameContract, class_infos, tensor_detail
from edgeseg.imaging import resize_gray, to_gray8
from edgeseg.preprocess import normalize

GOLDEN_FORMAT = "edgeseg.golden/1"


def golden_contract(
    height: int,
    width: int,
    *,
    normalize_mode: str = "percentile",
    percentiles: tuple[float, float] = (1.0, 99.0),
    classes: Sequence[str] = ("nerve",),
    post: PostProcess | None = None,
    presence_output: bool = True,
) -> FrameContract:
    """The contract a synthetic case runs under (an int8 'golden-fixture' model)."""
    pp = Preprocessing(height, width, normalize=normalize_mode, percentiles=percentiles)
    return FrameContract(
        preprocessing=pp,
        postprocess=post or PostProcess(),
        classes=class_infos(classes),
        presence_output=presence_output,
        quantization="int8",
        arch="golden-fixture",
        config_sha256="0" * 64,
    )


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

    def frames(self, frame: np.ndarray, gray: np.ndarray, resized: np.ndarray) -> None:
        """The frame, its 8-bit gray (stored once when they are equal) and the resized gray."""
        self.array("frame", frame)
        if frame.dtype == np.uint8 and frame.ndim == 2:
            self.same_as("gray", "frame")
        else:
            self.array("gray", gray)
        self.array("resized", resized)

    def finish(self) -> None:
        text = json.dumps(self.doc, indent=1, sort_keys=True) + "\n"
        (self.dir / "case.json").write_text(text, encoding="utf-8")


def write_index(root: Path) -> list[str]:
    import PIL

    from edgeseg import __version__

    names = sorted(p.parent.name for p in root.glob("*/case.json"))
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


# ----------------------------------------------------------------------------- inputs


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


def blur(a: np.ndarray, passes: int) -> np.ndarray:
    for _ in range(passes):
        p = np.pad(a, 1, mode="edge")
        a = (p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] + 4 * p[1:-1, 1:-1]) / 8
    return a


def synthetic_output(label, values, out_hw, seed, scale, zero_point, dtype, plateau=0.0):
    """A fixed fake network output: blurred class maps + speckle-like noise, quantized.

    ``values`` are the classes' label values. ``plateau`` > 0 snaps a fraction of pixels to
    exactly p = 0.5 (q = z + 0.5/s) so the ``>=`` threshold comparison is exercised on equality.
    """
    rng = np.random.default_rng(seed)
    h, w = out_hw
    small = np.asarray(Image.fromarray(label).resize((w, h), Image.NEAREST))
    chans = []
    for value in values:
        target = (small == value).astype(np.float64)
        logit = 7.0 * (blur(target, 3) - 0.5) + rng.normal(0.0, 1.6, size=(h, w))
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


# ----------------------------------------------------------------------------- cases


def preprocess_case(root, name, description, frame, contract, dtype, scale, zero_point) -> None:
    """frame -> gray -> resized -> preprocessed -> input tensor, by the contract."""
    gray = to_gray8(frame)
    resized = resize_gray(gray, contract.input_size)
    pre = contract.prepare(frame)
    # The chain the Java test walks must be the library's chain, step by step.
    if not np.array_equal(pre, normalize(resized, contract.preprocessing)):
        raise SystemExit(f"{name}: prepare() differs from normalize(resize(gray))")
    tensor = contract.to_input(pre, tensor_detail(dtype, scale, zero_point))
    case = Case(root, name, "preprocess", description)
    case.metadata(contract.to_json(indent=1))
    case.frames(frame, gray, resized)
    case.array("preprocessed", pre)
    case.array("input_tensor", tensor, **_quant(scale, zero_point))
    case.finish()


def postprocess_case(root, name, description, gray, raw, quant, contract, presence_raw=None):
    """raw [1,H,W,C] output (+ presence raw value) -> masks at model and frame size -> overlay."""
    scale, zero_point = quant
    detail = tensor_detail(raw.dtype, scale, zero_point)
    prob, presence = contract.from_output(raw, detail, presence_raw, detail)
    mask_model, mask = contract.to_masks(prob, presence, gray.shape)
    case = Case(root, name, "postprocess", description)
    case.metadata(contract.to_json(indent=1))
    case.array("gray", gray)
    case.array("output_tensor", raw, **_quant(scale, zero_point))
    if presence_raw is not None:
        case.array("presence_tensor", presence_raw, **_quant(scale, zero_point))
        case.doc["presence_score"] = presence
    case.array("mask_model", mask_model)
    case.array("mask", mask)
    case.digest("overlay", contract.overlay(gray, mask))
    case.finish()
