"""edgeseg.edge_runtime.segmenter: the runtime contract end to end, TensorFlow blocked included."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgeseg.config import Preprocessing, RunConfig
from edgeseg.contract import FrameContract
from edgeseg.edge_runtime.metadata import write_metadata
from edgeseg.edge_runtime.segmenter import (
    PREFETCH_THREAD_PREFIX,
    Segmenter,
    SkippedFrameWarning,
    overlay,
)
from edgeseg.errors import ConfigError, DataError, ModelError
from edgeseg.postprocess import probabilities_to_mask
from edgeseg.preprocess import preprocess


@pytest.fixture(scope="module")
def models(tiny_tflite: dict[str, Path]) -> dict[str, Path]:
    return tiny_tflite


@pytest.fixture(scope="module")
def seg_i8(models: dict[str, Path]) -> Segmenter:
    return Segmenter(models["i8"])


@pytest.fixture(scope="module")
def seg_f32(models: dict[str, Path]) -> Segmenter:
    return Segmenter(models["f32"])


def _frame(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A gray frame with a bright blob: varied enough to give non-trivial masks."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    blob = ((yy - h / 2) / (h / 4)) ** 2 + ((xx - w / 3) / (w / 5)) ** 2 < 1
    return np.clip(rng.normal(90, 30, (h, w)) + 120 * blob, 0, 255).astype(np.uint8)


def test_int8_model_uses_its_own_scale_and_zero_point(seg_i8: Segmenter) -> None:
    frame = _frame(40, 48)
    result = seg_i8.segment(frame)
    pixels = preprocess(frame, seg_i8.metadata.preprocessing)
    it = seg_i8.interpreter
    inp = seg_i8.input_detail
    s, z = inp["quantization"]
    sent = it.get_tensor(inp["index"])[0, :, :, 0]
    np.testing.assert_array_equal(
        sent, np.clip(np.floor(pixels / 255.0 / s + 0.5) + z, 0, 255).astype(np.uint8)
    )
    mask_d = seg_i8.output_details["mask"]
    raw = it.get_tensor(mask_d["index"])[0]
    s_out, z_out = mask_d["quantization"]
    prob64 = (raw.astype(np.float64) - z_out) * s_out
    np.testing.assert_array_equal(result.prob, prob64.astype(np.float32))
    np.testing.assert_array_equal(
        result.mask_model, probabilities_to_mask(prob64, seg_i8.metadata.postprocess)
    )
    pres_d = seg_i8.output_details["presence"]
    s_p, z_p = pres_d["quantization"]
    q_p = int(it.get_tensor(pres_d["index"]).ravel()[0])
    assert result.presence == (q_p - z_p) * s_p


def test_float_and_int8_models_agree(seg_i8: Segmenter, seg_f32: Segmenter) -> None:
    frame = _frame(64, 80, seed=3)
    a, b = seg_f32.segment(frame), seg_i8.segment(frame)
    assert a.prob.dtype == b.prob.dtype == np.float32
    assert float(np.abs(a.prob - b.prob).mean()) < 0.03
    assert abs(a.presence - b.presence) < 0.05


# --------------------------------------------------------------------------- frames


@pytest.mark.parametrize(
    "kind", ["gray8", "rgb8", "rgba8", "gray16", "path_png", "path_rgb_png", "pil"]
)
@pytest.mark.parametrize("size", [(57, 83), (31, 45), (17, 200), (32, 32)])
def test_mask_comes_back_at_the_original_size(
    seg_i8: Segmenter, kind: str, size: tuple[int, int], tmp_path: Path
) -> None:
    gray = _frame(*size, seed=size[0])
    frame: object = {
        "gray8": gray,
        "rgb8": np.repeat(gray[..., None], 3, axis=2),
        "rgba8": np.dstack([gray, gray, gray, np.full_like(gray, 255)]),
        "gray16": gray.astype(np.uint16) * 257,  # (v * 255 + 32767) // 65535 == gray
        "pil": Image.fromarray(gray),
    }.get(kind)
    if kind.startswith("path"):
        frame = tmp_path / "f.png"
        img = Image.fromarray(gray)
        (img.convert("RGB") if kind == "path_rgb_png" else img).save(frame)
    result = seg_i8.segment(frame)
    reference = seg_i8.segment(gray)
    assert result.mask.shape == (*size, 1)
    assert result.mask.dtype == np.uint8
    assert result.mask_model.shape == (32, 32, 1)
    assert result.prob.shape == (32, 32, 1)
    np.testing.assert_array_equal(result.gray, gray)
    np.testing.assert_array_equal(result.prob, reference.prob)  # same pixels, same answer
    expected = np.asarray(
        Image.fromarray(result.mask_model[..., 0]).resize((size[1], size[0]), Image.NEAREST)
    )
    np.testing.assert_array_equal(result.mask[..., 0], expected)
    assert set(np.unique(result.mask)) <= {0, 1}
    assert set(result.timings) == {"preprocess_ms", "invoke_ms", "postprocess_ms", "total_ms"}
    assert result.timings["total_ms"] >= result.timings["invoke_ms"] > 0


def test_unreadable_frames_are_data_errors(seg_i8: Segmenter, tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG broken")
    for frame in (bad, tmp_path / "missing.png", np.zeros((4, 4, 2), np.uint8), None):
        with pytest.raises(DataError):
            seg_i8.segment(frame)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"threshold": 0.0}, 1),  # every probability is >= 0
        ({"threshold": 1.0}, 0),  # a uint8 sigmoid never reaches 1.0 (max 255/256)
        ({"presence_gate": True, "presence_threshold": 1.0, "threshold": 0.0}, 0),
    ],
)
def test_overrides_replace_metadata_values(
    models: dict[str, Path], overrides: dict, expected: int
) -> None:
    seg = Segmenter(models["i8"], **overrides)
    result = seg.segment(_frame(50, 60))
    assert np.all(result.mask == expected)
    assert seg.metadata.preprocessing.normalize == "percentile"  # untouched


def test_settings_are_the_model_s_contract_with_checked_overrides(models: dict[str, Path]) -> None:
    from edgeseg.edge_runtime.metadata import load_metadata

    contract = load_metadata(models["i8"])
    assert Segmenter(models["i8"]).contract == contract
    seg = Segmenter(models["i8"], threshold=0.3, min_area=4)
    assert seg.contract == contract.with_overrides(threshold=0.3, min_area=4)
    assert seg.metadata is seg.contract
    for bad, message in [
        ({"threshold": 1.2}, "--threshold 1.2: must be between 0 and 1"),
        ({"min_area": -3}, "--min-area -3"),
        ({"presence_threshold": -1.0}, "--presence-threshold"),
        ({"normalize": "zscore"}, "--normalize"),
    ]:
        with pytest.raises(ConfigError, match=message):
            Segmenter(models["i8"], **bad)


def test_model_without_metadata_needs_input_size(models: dict[str, Path]) -> None:
    with pytest.raises(ModelError, match="--input-size") as info:
        Segmenter(models["plain_i8"])
    assert str(info.value) == (
        f"{models['plain_i8']} has no edgeseg metadata: re-export it with `edgeseg convert`, "
        "or give its input size (--input-size HxW)"
    )  # no --classes/--threshold: benchmark has neither
    seg = Segmenter(models["plain_i8"], input_size="32x32", classes=["nerve"], threshold=0.6)
    assert not seg.has_metadata
    assert seg.metadata.postprocess.threshold == 0.6
    reference = Segmenter(models["i8"], threshold=0.6)
    frame = _frame(45, 45)
    np.testing.assert_array_equal(seg.segment(frame).mask, reference.segment(frame).mask)
    with pytest.raises(ModelError, match="pass --input-size 32x32"):
        Segmenter(models["plain_i8"], input_size=48)
    with pytest.raises(ModelError, match="outputs 1 mask channels but 2 classes"):
        Segmenter(models["plain_i8"], input_size=32, classes="nerve=1,vessel=2")
    with pytest.raises(ConfigError, match="model's metadata says 32x32"):
        Segmenter(models["i8"], input_size=64)


@pytest.fixture(scope="module")
def rgb_model(tmp_path_factory: pytest.TempPathFactory, models: dict[str, Path]) -> Path:
    tf = pytest.importorskip("tensorflow")
    import tf_keras

    inp = tf_keras.Input((32, 32, 3))
    out = tf_keras.layers.Conv2D(1, 1, activation="sigmoid")(inp)
    path = tmp_path_factory.mktemp("rgb") / "rgb.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(tf_keras.Model(inp, out)).convert())
    cfg = RunConfig(preprocessing=Preprocessing(height=32, width=32))
    write_metadata(path, FrameContract.from_run_config(cfg, "float32", presence_output=False))
    return path


def test_three_channel_model_is_a_model_error(rgb_model: Path) -> None:
    with pytest.raises(ModelError, match=r"\[1, 32, 32, 3\].*one gray channel") as info:
        Segmenter(rgb_model)
    assert "\n" not in str(info.value)


def test_batch_equals_single_frames(seg_i8: Segmenter) -> None:
    frames = [_frame(40, 50, seed=i) for i in range(3)]
    batch = seg_i8.segment_batch(frames)
    assert len(batch) == 3
    for frame, result in zip(frames, batch, strict=True):
        np.testing.assert_array_equal(result.prob, seg_i8.segment(frame).prob)


# --------------------------------------------------------------------------- stream


def _prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(PREFETCH_THREAD_PREFIX)]


def _frame_files(folder: Path, n: int, h: int = 40, w: int = 44) -> list[Path]:
    paths = []
    for i in range(n):
        path = folder / f"f{i}.png"
        Image.fromarray(_frame(h, w, seed=i)).save(path)
        paths.append(path)
    return paths


@pytest.mark.parametrize("prefetch", [True, False])
def test_stream_skips_and_counts_a_corrupt_frame(
    seg_i8: Segmenter, tmp_path: Path, prefetch: bool
) -> None:
    paths = _frame_files(tmp_path, 4)
    paths[2].write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    feed = seg_i8.stream(paths, prefetch=prefetch)
    with pytest.warns(SkippedFrameWarning, match="f2.png") as record:
        results = list(feed)
    assert len(record) == 1
    assert record[0].filename == __file__  # points at the consumer's loop, as before
    assert [r.source for r in results] == [str(paths[i]) for i in (0, 1, 3)]
    assert feed.skipped == 1
    assert feed.processed == 3
    assert feed.skipped_sources == [str(paths[2])]
    assert _prefetch_threads() == []
    for r in results:
        t = r.timings
        assert set(t) == {
            "preprocess_ms", "invoke_ms", "postprocess_ms", "total_ms", "wait_ms", "frame_ms"
        }  # fmt: skip
        assert t["invoke_ms"] > 0 and t["frame_ms"] > 0 and t["wait_ms"] >= 0
    # every invoke runs inside the stream's time (with prefetch a result's frame_ms spans the
    # next frame's invoke, and the one before the skip and the last come back at once)
    frame_ms = sum(r.timings["frame_ms"] for r in results)
    assert frame_ms >= sum(r.timings["invoke_ms"] for r in results)
    if not prefetch:
        assert all(r.timings["frame_ms"] >= r.timings["invoke_ms"] for r in results)


@pytest.mark.parametrize("smoothing", [0.0, 0.6])
def test_prefetched_stream_is_bit_identical_to_sequential(
    seg_i8: Segmenter, tmp_path: Path, smoothing: float
) -> None:
    paths: list[object] = list(_frame_files(tmp_path, 7, 37, 53))
    paths[3].write_bytes(b"not a png")  # type: ignore[union-attr]
    paths.insert(5, _frame(29, 61, seed=9))  # arrays and images mix with paths
    paths.insert(1, Image.fromarray(_frame(50, 40, seed=11)).convert("RGB"))
    paths.append(None)  # a camera that returned nothing: skipped too
    runs = {}
    for prefetch in (False, True):
        skips: list[tuple[str, str]] = []
        feed = seg_i8.stream(
            paths, smoothing=smoothing, on_skip=lambda *a, _s=skips: _s.append(a), prefetch=prefetch
        )
        runs[prefetch] = (list(feed), skips, feed.processed, feed.skipped, feed.skipped_sources)
    (seq, seq_skips, *seq_counts), (pre, pre_skips, *pre_counts) = runs[False], runs[True]
    assert pre_skips == seq_skips and len(seq_skips) == 2
    assert pre_counts == seq_counts == [8, 2, [str(paths[4]), "frame #9"]]
    assert len(pre) == len(seq) == 8
    for a, b in zip(seq, pre, strict=True):
        assert a.source == b.source
        assert a.presence == b.presence  # exact float equality
        for name in ("prob", "mask", "mask_model", "gray"):
            x, y = getattr(a, name), getattr(b, name)
            assert x.dtype == y.dtype and x.shape == y.shape
            assert x.tobytes() == y.tobytes(), name  # bit for bit
    # and the same as segmenting each frame on its own (no smoothing)
    if smoothing == 0.0:
        for r, frame in zip(pre, [p for i, p in enumerate(paths) if i not in (4, 9)], strict=True):
            assert r.prob.tobytes() == seg_i8.segment(frame).prob.tobytes()


def test_prefetch_loads_the_next_frame_on_one_thread_during_invoke(
    seg_i8: Segmenter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _frame_files(tmp_path, 5)
    caller = threading.current_thread()
    read_on: list[str] = []
    invoke_on: list[threading.Thread] = []
    reads = [threading.Event() for _ in paths]
    real_read, real_invoke = seg_i8.read_frame, seg_i8.interpreter.invoke

    def read_frame(frame: object) -> np.ndarray:
        read_on.append(threading.current_thread().name)
        out = real_read(frame)
        reads[paths.index(frame)].set()  # type: ignore[arg-type]
        return out

    def invoke() -> None:
        k = len(invoke_on)
        invoke_on.append(threading.current_thread())
        if k + 1 < len(paths):  # frame k+1 is read while frame k is in invoke: no sleep involved
            assert reads[k + 1].wait(10), f"frame {k + 1} was not loaded during invoke {k}"
        real_invoke()

    monkeypatch.setattr(seg_i8, "read_frame", read_frame)
    monkeypatch.setattr(seg_i8.interpreter, "invoke", invoke)
    results = list(seg_i8.stream(paths))
    assert len(results) == 5
    assert invoke_on == [caller] * 5  # the interpreter stays on the caller's thread
    assert len(set(read_on)) == 1 and read_on[0].startswith(PREFETCH_THREAD_PREFIX)
    assert _prefetch_threads() == []


@pytest.mark.parametrize("prefetch", [True, False])
def test_post_processing_runs_beside_the_interpreter(
    seg_i8: Segmenter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefetch: bool
) -> None:
    paths = _frame_files(tmp_path, 4)
    finished_on: list[str] = []
    real_finish = seg_i8._finish

    def finish(*args: object) -> object:
        finished_on.append(threading.current_thread().name)
        return real_finish(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(seg_i8, "_finish", finish)
    results = list(seg_i8.stream(paths, prefetch=prefetch))
    assert [r.source for r in results] == [str(p) for p in paths]
    if prefetch:
        assert len(set(finished_on)) == 1
        assert finished_on[0].startswith(f"{PREFETCH_THREAD_PREFIX}-post")
    else:
        assert finished_on == [threading.current_thread().name] * 4
    assert _prefetch_threads() == []


def test_prefetch_thread_ends_on_early_stop_close_and_errors(
    seg_i8: Segmenter, tmp_path: Path
) -> None:
    paths = _frame_files(tmp_path, 6)
    feed = seg_i8.stream(paths)
    for _ in feed:
        break  # the consumer stops early
    assert _prefetch_threads() == []

    with seg_i8.stream(paths) as feed:
        it = iter(feed)
        next(it)
        assert len(_prefetch_threads()) == 2  # the loader (frame 3) and the post thread
    assert _prefetch_threads() == []  # leaving the with block closed it
    with pytest.raises(StopIteration):
        next(it)

    with pytest.raises(KeyError, match="consumer"):
        for _ in seg_i8.stream(paths):
            raise KeyError("consumer")
    assert _prefetch_threads() == []

    def camera() -> Iterator[object]:
        yield paths[0]
        yield paths[1]
        raise OSError("camera unplugged")

    for prefetch in (True, False):  # an error of the source itself is not a skip, in both modes
        feed = seg_i8.stream(camera(), prefetch=prefetch)
        got = []
        with pytest.raises(OSError, match="unplugged"):
            for r in feed:
                got.append(r.source)
        assert got == [str(paths[0]), str(paths[1])] and feed.skipped == 0
        assert _prefetch_threads() == []


def test_a_preprocessing_error_propagates_and_is_not_a_skip(
    seg_i8: Segmenter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _frame_files(tmp_path, 4)
    real = seg_i8.input_tensor
    calls = []

    def input_tensor(pixels: np.ndarray) -> np.ndarray:
        calls.append(1)
        if len(calls) == 2:
            raise ValueError("preprocessing bug")
        return real(pixels)

    monkeypatch.setattr(seg_i8, "input_tensor", input_tensor)
    for prefetch in (True, False):
        calls.clear()
        feed = seg_i8.stream(paths, prefetch=prefetch)
        got = []
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(ValueError, match="preprocessing bug"):
                for r in feed:
                    got.append(r.source)
        assert got == [str(paths[0])] and feed.skipped == 0
        assert _prefetch_threads() == []


def test_sequential_stream_uses_no_thread(
    seg_i8: Segmenter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _frame_files(tmp_path, 3)
    names: list[str] = []
    real_read = seg_i8.read_frame

    def read_frame(frame: object) -> np.ndarray:
        names.append(threading.current_thread().name)
        return real_read(frame)

    monkeypatch.setattr(seg_i8, "read_frame", read_frame)
    results = list(seg_i8.stream(paths, prefetch=False))
    assert len(results) == 3
    assert names == [threading.current_thread().name] * 3
    for r in results:  # one frame at a time: its latency is its frame time
        assert r.timings["frame_ms"] >= r.timings["total_ms"] - 1e-6


def test_stream_smooths_probabilities(seg_i8: Segmenter) -> None:
    frames = [_frame(40, 44, seed=i) for i in range(3)]
    raw = [seg_i8.segment(f).prob.astype(np.float64) for f in frames]
    smoothed = list(seg_i8.stream(frames, smoothing=0.75))
    np.testing.assert_array_equal(smoothed[0].prob, raw[0].astype(np.float32))
    ema = raw[0]
    for k in (1, 2):
        ema = 0.75 * ema + 0.25 * raw[k]
        np.testing.assert_allclose(smoothed[k].prob, ema, atol=1e-6)
        np.testing.assert_array_equal(
            smoothed[k].mask_model, probabilities_to_mask(ema, seg_i8.metadata.postprocess)
        )
    with pytest.raises(ConfigError, match="smoothing"):
        seg_i8.stream(frames, smoothing=1.0)


# --------------------------------------------------------------------------- overlay


def test_overlay_blends_per_the_contract() -> None:
    gray = np.array([[100, 200, 0, 50]], dtype=np.uint8)
    mask = np.array([[[1, 0], [0, 1], [1, 1], [0, 0]]], dtype=np.uint8)
    out = overlay(gray, mask, [(255, 220, 0), (230, 40, 40)])
    assert out.shape == (1, 4, 3)
    assert out.dtype == np.uint8

    def blend(base: int, colour: int) -> int:
        return (base * (256 - 115) + colour * 115 + 128) >> 8

    assert out[0, 0].tolist() == [blend(100, 255), blend(100, 220), blend(100, 0)]
    assert out[0, 0].tolist() == [170, 154, 55]
    assert out[0, 1].tolist() == [blend(200, 230), blend(200, 40), blend(200, 40)]
    assert out[0, 2].tolist() == [blend(0, 230), blend(0, 40), blend(0, 40)]  # later wins
    assert out[0, 3].tolist() == [50, 50, 50]
    with pytest.raises(DataError, match="mask_model"):
        overlay(np.zeros((8, 8), np.uint8), np.zeros((4, 4, 1), np.uint8), [(1, 2, 3)])


def test_result_overlay_and_label_map(seg_i8: Segmenter) -> None:
    res = seg_i8.segment(_frame(30, 70))
    labels = res.label_map()
    assert labels.shape == (30, 70)
    np.testing.assert_array_equal(labels, res.mask[..., 0] * 1)
    np.testing.assert_array_equal(res.overlay(), overlay(res.gray, res.mask, [(255, 220, 0)]))


# --------------------------------------------------------------------------- no TensorFlow


BLOCKED_PRELUDE = """
import sys
BLOCKED = ("tensorflow", "tf_keras", "keras", "tflite_runtime", "flatbuffers",
           "edgeseg.train", "edgeseg.convert", "ai_edge_litert.schema_py_generated")
for name in BLOCKED:
    sys.modules[name] = None  # any import of these now raises ImportError
"""

BLOCKED_BODY = """
import json
import numpy as np
try:
    import tensorflow
except ImportError:
    pass
else:
    raise SystemExit("tensorflow import was not blocked")
import edgeseg.edge_runtime.benchmark  # the CLI verbs' modules import without TF too
import edgeseg.edge_runtime.predict
from edgeseg.edge_runtime.metadata import read_metadata
from edgeseg.edge_runtime.segmenter import Segmenter
model = sys.argv[1]
meta = read_metadata(model)
seg = Segmenter(model)
frame = (np.arange(45 * 61) % 251).astype(np.uint16).reshape(45, 61) * 257
result = seg.segment(frame)
streamed = list(seg.stream([frame, frame]))  # prefetch: the loader thread works without TF too
assert all(r.prob.tobytes() == result.prob.tobytes() for r in streamed)
loaded = sorted(
    m for m in sys.modules
    if m.split(".")[0] in ("tensorflow", "tf_keras", "keras", "flatbuffers")
    and sys.modules[m] is not None
)
print(json.dumps({
    "quantization": meta["quantization"],
    "backend": seg.info.backend,
    "mask_shape": list(result.mask.shape),
    "prob": result.prob.ravel().tolist(),
    "presence": result.presence,
    "heavy_modules": loaded,
}))
"""


def test_runtime_works_with_tensorflow_blocked(models: dict[str, Path], seg_i8: Segmenter) -> None:
    code = textwrap.dedent(BLOCKED_PRELUDE) + textwrap.dedent(BLOCKED_BODY)
    proc = subprocess.run(
        [sys.executable, "-c", code, str(models["i8"])],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["quantization"] == "int8"
    assert report["backend"] == "litert"
    assert report["mask_shape"] == [45, 61, 1]
    assert report["heavy_modules"] == []
    frame = (np.arange(45 * 61) % 251).astype(np.uint8).reshape(45, 61)
    here = seg_i8.segment(frame)
    np.testing.assert_array_equal(np.asarray(report["prob"], np.float32), here.prob.ravel())
    assert report["presence"] == here.presence


def test_a_dynamic_size_model_runs_at_the_given_input_size(tmp_path: Path) -> None:
    tf = pytest.importorskip("tensorflow")
    import tf_keras

    inputs = tf_keras.Input((None, None, 1))  # a model made elsewhere, any input size
    mask = tf_keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid")(inputs)
    path = tmp_path / "dynamic.tflite"
    model = tf_keras.Model(inputs, mask)
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    seg = Segmenter(path, delegate="cpu", input_size="48x32")
    assert tuple(seg.input_detail["shape"]) == (1, 48, 32, 1)
    result = seg.segment(np.full((100, 90), 128, np.uint8))
    assert result.mask_model.shape == (48, 32, 1) and result.mask.shape == (100, 90, 1)
