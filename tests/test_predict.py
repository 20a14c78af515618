"""edgeseg.edge_runtime.predict and .benchmark: files written, nothing partial, stream, rows."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgeseg.edge_runtime import predict as predict_mod
from edgeseg.edge_runtime.benchmark import benchmark, format_table, write_json
from edgeseg.edge_runtime.predict import ProgressEvent, predict, stream
from edgeseg.edge_runtime.segmenter import Segmenter
from edgeseg.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def models(tiny_tflite: dict[str, Path]) -> dict[str, Path]:
    return tiny_tflite


@pytest.fixture(scope="module")
def seg(models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Segmenter:
    """The int8 model with its threshold at the median probability: masks neither empty nor full."""
    frame = _save_frame(tmp_path_factory.mktemp("median") / "f.png", 40, 40, 0)
    median = float(np.median(Segmenter(models["i8"]).segment(frame).prob))
    return Segmenter(models["i8"], threshold=median)


def _save_frame(path: Path, h: int, w: int, seed: int, mode: str = "L") -> Path:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    blob = ((yy - h / 2) / (h / 4)) ** 2 + ((xx - w / 2) / (w / 4)) ** 2 < 1
    gray = np.clip(rng.normal(80, 30, (h, w)) + 130 * blob, 0, 255).astype(np.uint8)
    Image.fromarray(gray).convert(mode).save(path)
    return path


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# --------------------------------------------------------------------------- predict


def test_predict_writes_mask_and_overlay(seg: Segmenter, tmp_path: Path) -> None:
    images = tmp_path / "in"
    images.mkdir()
    a = _save_frame(images / "a.png", 45, 77, 1)
    b = _save_frame(images / "b.png", 64, 48, 2, mode="RGB")
    out = tmp_path / "out"
    events: list[ProgressEvent] = []
    summary = predict(seg, [a, b], out, progress=events.append)

    assert summary.images == 2
    assert summary.failed == []
    assert sorted(Path(p).name for p in summary.written) == [
        "a_mask.png",
        "a_overlay.png",
        "b_mask.png",
        "b_overlay.png",
    ]
    assert [(e.index, e.ok) for e in events] == [(0, True), (1, True)]
    for src, (h, w) in ((a, (45, 77)), (b, (64, 48))):
        result = seg.segment(src)
        mask = Image.open(out / f"{src.stem}_mask.png")
        assert mask.mode == "P"
        assert mask.size == (w, h)
        np.testing.assert_array_equal(np.asarray(mask), result.label_map())
        assert mask.getpalette()[3:6] == [255, 220, 0]  # index 1 = nerve, yellow
        over = Image.open(out / f"{src.stem}_overlay.png")
        assert over.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(over), result.overlay())
    assert np.asarray(Image.open(out / "a_mask.png")).any()  # not a trivially empty mask
    assert _leftovers(out) == []
    assert "segmented 2/2 images" in summary.line()
    assert json.loads(json.dumps(summary.as_dict()))["images"] == 2


def test_predict_skips_unreadable_images_and_reports_them(seg: Segmenter, tmp_path: Path) -> None:
    images = tmp_path / "in"
    images.mkdir()
    _save_frame(images / "img2.png", 40, 40, 2)
    _save_frame(images / "img10.png", 40, 40, 10)
    (images / "img3.png").write_bytes(b"\x89PNG\r\n\x1a\n cut short")
    (images / "notes.txt").write_text("not an image")
    out = tmp_path / "out"
    events: list[ProgressEvent] = []
    summary = predict(seg, [images], out, progress=events.append)
    assert [Path(e.source).name for e in events] == ["img2.png", "img3.png", "img10.png"]
    assert [e.ok for e in events] == [True, False, True]
    assert summary.images == 3
    assert [Path(f[0]).name for f in summary.failed] == ["img3.png"]
    assert sorted(p.name for p in out.iterdir()) == [
        "img10_mask.png",
        "img10_overlay.png",
        "img2_mask.png",
        "img2_overlay.png",
    ]
    assert "1 unreadable" in summary.line()


def test_predict_leaves_nothing_partial_when_writing_fails(
    seg: Segmenter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _save_frame(tmp_path / "scan.png", 40, 50, 0)
    out = tmp_path / "out"
    original = Image.Image.save

    def failing_save(self: Image.Image, fp: object, *args: object, **kwargs: object) -> None:
        if self.mode == "P":  # the mask is saved after the overlay: fail there
            raise OSError("disk full")
        original(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        predict(seg, [src], out)
    assert not out.exists()  # the folder predict made is gone again: no overlay, no temp file


def test_predict_out_that_is_a_file(seg: Segmenter, tmp_path: Path) -> None:
    src = _save_frame(tmp_path / "a.png", 20, 20, 0)
    afile = tmp_path / "afile"
    afile.write_text("keep")
    with pytest.raises(ConfigError) as info:
        predict(seg, [src], afile)
    assert str(info.value) == f"--out {afile} is a file, expected a folder: pass a folder"
    with pytest.raises(ConfigError, match=r"--out .*: .*afile is a file, expected a folder"):
        predict(seg, [src], afile / "sub")
    assert afile.read_text() == "keep"


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "not found"),
        ("empty_dir", "no images found"),
        ("same_stem", "would both write"),
    ],
)
def test_predict_input_errors(seg: Segmenter, tmp_path: Path, setup: str, message: str) -> None:
    (tmp_path / "d1").mkdir()
    (tmp_path / "d2").mkdir()
    if setup == "same_stem":
        inputs = [
            _save_frame(tmp_path / "d1" / "x.png", 20, 20, 0),
            _save_frame(tmp_path / "d2" / "x.png", 20, 20, 1),
        ]
    else:
        inputs = [tmp_path / "nope.png"] if setup == "missing" else [tmp_path / "d1"]
    with pytest.raises(DataError, match=message):
        predict(seg, inputs, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_predict_opens_a_model_path(models: dict[str, Path], tmp_path: Path) -> None:
    src = _save_frame(tmp_path / "s.png", 33, 35, 4)
    summary = predict(models["f32"], [src], tmp_path / "out", overlay=False, threads=1)
    assert [Path(p).name for p in summary.written] == ["s_mask.png"]
    assert summary.info["backend"] == "litert"
    assert summary.info["quantization"] == "float32"


# --------------------------------------------------------------------------- stream


@pytest.mark.parametrize("prefetch", [True, False])
def test_stream_runs_sorted_frames_and_counts_skips(
    seg: Segmenter, tmp_path: Path, prefetch: bool
) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in (1, 2, 10, 11):
        _save_frame(frames / f"frame_{i}.png", 36, 52, i)
    (frames / "frame_3.png").write_bytes(b"garbage")
    events: list[ProgressEvent] = []
    out = tmp_path / "masks"
    summary = stream(
        seg, frames, smoothing=0.5, out_dir=out, progress=events.append, prefetch=prefetch
    )
    assert [Path(e.source).name for e in events] == [
        "frame_1.png",
        "frame_2.png",
        "frame_3.png",
        "frame_10.png",
        "frame_11.png",
    ]
    assert [e.index for e in events] == [0, 1, 2, 3, 4]
    assert [e.ok for e in events] == [True, True, False, True, True]
    assert summary.frames == 5
    assert summary.processed == 4
    assert summary.skipped == 1
    assert [Path(s).name for s in summary.skipped_sources] == ["frame_3.png"]
    assert summary.fps > 0
    assert summary.p50_ms <= summary.p90_ms
    assert "skipped 1 unreadable" in summary.line()
    assert len(list(out.glob("*_mask.png"))) == 4
    assert _leftovers(out) == []
    assert summary.prefetch is prefetch
    assert ("no prefetch" in summary.line()) is not prefetch
    assert 0 < summary.latency_p50_ms <= summary.latency_p90_ms
    assert summary.as_dict()["latency_mean_ms"] == summary.latency_mean_ms
    # where a frame's time goes: the model's invoke and the wait for its decoded input
    assert 0 < summary.invoke_mean_ms < summary.mean_ms and summary.wait_mean_ms >= 0
    assert f"invoke {summary.invoke_mean_ms:.1f} ms/frame" in summary.line()


def test_stream_prefetch_writes_the_same_files(seg: Segmenter, tmp_path: Path) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(6):
        _save_frame(frames / f"f{i}.png", 41, 57, i)
    outs = {}
    for prefetch in (False, True):
        outs[prefetch] = tmp_path / f"out_{prefetch}"
        summary = stream(seg, frames, smoothing=0.3, out_dir=outs[prefetch], prefetch=prefetch)
        assert summary.processed == 6
    names = sorted(p.name for p in outs[False].iterdir())
    assert names == sorted(p.name for p in outs[True].iterdir()) and len(names) == 12
    for name in names:
        assert (outs[False] / name).read_bytes() == (outs[True] / name).read_bytes(), name


def test_stream_limit_and_bad_folder(seg: Segmenter, tmp_path: Path) -> None:
    for i in range(3):
        _save_frame(tmp_path / f"f{i}.png", 20, 20, i)
    assert stream(seg, tmp_path, limit=2).processed == 2
    with pytest.raises(DataError, match=r"--frames .*f0\.png is a file, expected a folder"):
        stream(seg, tmp_path / "f0.png")
    with pytest.raises(DataError, match=r"--frames .*nope does not exist: pass a folder"):
        stream(seg, tmp_path / "nope")
    with pytest.raises(ConfigError, match=r"--out .*f1\.png is a file, expected a folder"):
        stream(seg, tmp_path, out_dir=tmp_path / "f1.png")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="has no frames"):
        stream(seg, tmp_path / "empty")


# --------------------------------------------------------------------------- benchmark


def test_benchmark_rows_and_json(models: dict[str, Path], tmp_path: Path) -> None:
    frame = _save_frame(tmp_path / "frame.png", 120, 160, 0)
    rows = benchmark(
        [models["i8"], models["plain_f32"]],
        backends=["auto", "tflite_runtime"],
        threads_list=[1],
        runs=4,
        warmup=2,
        frame=frame,
    )
    ok = [r for r in rows if "error" not in r]
    assert [(Path(r["model"]).name, r["backend"]) for r in ok] == [
        ("i8.tflite", "litert"),
        ("plain_f32.tflite", "litert"),
    ]
    for r in ok:
        assert r["delegate"] == "cpu"
        assert r["threads"] == 1
        assert r["file_size_bytes"] == Path(r["model_file"]).stat().st_size
        assert r["frame_size"] == [120, 160]
        assert 0 < r["invoke_ms_min"] <= r["invoke_ms_p50"] <= r["invoke_ms_p90"]
        assert r["invoke_ms_p90"] <= r["invoke_ms_p99"]
        assert r["e2e_ms_mean"] > r["invoke_ms_min"]
        assert r["fps"] == pytest.approx(1000.0 / r["e2e_ms_mean"])
        # pipelined stream of frame files: its own columns beside the sequential e2e ones
        assert 0 < r["stream_ms_min"] <= r["stream_ms_p50"] <= r["stream_ms_p90"]
        assert r["stream_ms_p90"] <= r["stream_ms_p99"]
        assert r["stream_fps"] == pytest.approx(1000.0 / r["stream_ms_mean"])
        assert r["stream_wait_ms_mean"] >= 0 and r["stream_latency_ms_p50"] > 0
        # the same frame already in memory (no file read and decode): sequential and stream
        assert 0 < r["e2e_array_ms_min"] <= r["e2e_array_ms_p50"] <= r["e2e_array_ms_p90"]
        assert r["e2e_array_ms_min"] > r["invoke_ms_min"]
        assert 0 < r["stream_array_ms_min"] <= r["stream_array_ms_p50"]
        # the file's read + decode alone: part of a sequential frame, so less than all of it
        assert 0 < r["decode_ms_min"] <= r["decode_ms_p50"] <= r["decode_ms_p90"]
        assert r["decode_ms_min"] < r["e2e_ms_p90"]
        assert r["init_ms"] > 0 and r["warmup_ms"] >= r["first_invoke_ms"] > 0
        assert r["python_peak_kb"] > 0
        if r["peak_rss_mb"] is not None:
            assert r["peak_rss_mb"] > 10
    assert ok[0]["quantization"] == "int8" and ok[0]["input_dtype"] == "uint8"
    assert ok[1]["input_size"] == [32, 32]  # no metadata: the tensor's own size
    if len(rows) > len(ok):  # tflite_runtime is not installed here
        assert all("pip install tflite-runtime" in r["error"] for r in rows if "error" in r)
    table = format_table(rows)
    assert "i8.tflite" in table and "p50 ms" in table and "stream ms" in table
    doc = json.loads(write_json(rows, tmp_path / "bench" / "b.json").read_text())
    assert doc["schema"] == "edgeseg.benchmark/1"
    assert doc["rows"] == json.loads(json.dumps(rows))
    assert doc["host"]["cpu_count"] >= 1


def test_benchmark_fallback_is_in_the_row_not_a_warning(
    models: dict[str, Path], tmp_path: Path
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = benchmark([models["i8"]], delegates=["gpu"], runs=2, warmup=1)
    assert rows[0]["requested_delegate"] == "gpu"
    assert rows[0]["delegate"] == "cpu"
    assert rows[0]["fallback"]
    assert rows[0]["frame_size"] == [480, 640]  # the synthetic default frame
    assert "*" in format_table(rows)


def test_verbs_open_a_model_path_with_overrides(models: dict[str, Path], tmp_path: Path) -> None:
    """What the CLI passes (a model path, post-processing flags) works as a Segmenter does."""
    frames = tmp_path / "frames"
    frames.mkdir()
    _save_frame(frames / "f0.png", 36, 44, 3)
    overrides = {"threshold": 0.502, "min_area": 3, "largest_component": True}
    stream(Segmenter(models["i8"], **overrides), frames, out_dir=tmp_path / "seg")
    stream(models["i8"], frames, out_dir=tmp_path / "path", **overrides)
    predict_mod.predict(models["i8"], [frames], tmp_path / "predict", **overrides)
    stream(models["i8"], frames, out_dir=tmp_path / "default")
    names = sorted(p.name for p in (tmp_path / "seg").iterdir())
    assert names == ["f0_mask.png", "f0_overlay.png"]
    for name in names:
        want = (tmp_path / "seg" / name).read_bytes()
        assert (tmp_path / "path" / name).read_bytes() == want
        assert (tmp_path / "predict" / name).read_bytes() == want
    mask = names[0]
    assert (tmp_path / "default" / mask).read_bytes() != (tmp_path / "seg" / mask).read_bytes()
