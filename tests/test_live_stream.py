"""Real-time pacing (edge_runtime.live), outputs (outputs), stability and ``edgeseg stream``.

No TensorFlow: the Android demo's int8 model (128x128, one class) segments; clips are written
with PyAV and pydicom (the ``video`` and ``dicom`` extras) from small synthetic frames.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from edgeseg.edge_runtime.live import Arrival, Clock, LiveFeed, NewestSlot
from edgeseg.edge_runtime.live_stream import stream_source
from edgeseg.edge_runtime.outputs import CSV_NAME, SUMMARY_NAME, VIDEO_NAME, csv_columns
from edgeseg.edge_runtime.segmenter import Segmenter
from edgeseg.edge_runtime.sources.base import SourceFrame
from edgeseg.edge_runtime.stability import Stability
from edgeseg.errors import ConfigError, DataError

REPO = Path(__file__).resolve().parent.parent
MODEL = REPO / "android_demo" / "app" / "src" / "main" / "assets" / "model_int8.tflite"
needs_model = pytest.mark.skipif(not MODEL.is_file(), reason=f"{MODEL} not in this checkout")
av = pytest.importorskip("av", reason="the video extra (PyAV) is not installed")


def _frames(n: int, h: int = 64, w: int = 96) -> np.ndarray:
    """n gray frames of speckle with a bright disc moving right (a nerve-ish blob)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:h, :w]
    out = rng.integers(30, 90, (n, h, w)).astype(np.uint8)
    for i in range(n):
        out[i][(yy - h // 2) ** 2 + (xx - 20 - 2 * i) ** 2 < (h // 6) ** 2] = 210
    return out


class FakeSource:
    """A FrameSource double: frames from an array; optional failure after ``fail_at`` frames."""

    def __init__(
        self,
        frames: np.ndarray,
        *,
        live: bool = False,
        fps: float = 30.0,
        fail_at: int | None = None,
        error: BaseException | None = None,
    ) -> None:
        self.frames = frames
        self.name = "fake"
        self.live = live
        self.frame_rate = fps
        self.frame_count = len(frames)
        self.notes: list[str] = []
        self.fail_at = fail_at
        self.error = error or DataError("device disappeared after 5 frames")
        self.closed = False

    def __iter__(self) -> Iterator[SourceFrame]:
        for i, image in enumerate(self.frames):
            if self.fail_at is not None and i == self.fail_at:
                raise self.error
            yield SourceFrame(image, i, i / self.frame_rate, self.name)

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> FakeSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _decoded_frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def _rows(out: Path) -> list[list[str]]:
    lines = (out / CSV_NAME).read_text().splitlines()
    return [line.split(",") for line in lines]


# ------------------------------------------------------------------------------- pacing


def test_newest_slot_keeps_one_frame_and_counts_the_rest() -> None:
    slot = NewestSlot()
    frames = [
        Arrival(SourceFrame(np.zeros((2, 2), np.uint8), i, i / 30, "x"), float(i)) for i in range(5)
    ]
    for item in frames:
        slot.put(item)
        assert slot.waiting == 1  # never a queue
    assert slot.take() is frames[-1]
    assert (slot.dropped, slot.received, slot.waiting) == (4, 5, 0)
    with pytest.raises(TimeoutError, match="no frame within 0.01 s"):
        slot.take(timeout=0.01)  # a stalled source
    slot.close(DataError("gone"))
    with pytest.raises(DataError, match="gone"):
        slot.take()


def test_live_feed_hands_out_the_newest_frame_and_drops_stale_ones() -> None:
    """The consumer is busy while ten frames arrive: it gets the tenth, nine are dropped."""
    all_put = threading.Event()

    def frames() -> Iterator[SourceFrame]:
        for i in range(10):
            yield SourceFrame(np.zeros((2, 2), np.uint8), i, i / 30, "x")
        all_put.set()  # asked for an 11th: the tenth is in the slot

    with LiveFeed(frames(), paced=False) as feed:
        got = []
        for item in feed:
            assert all_put.wait(5)
            got.append(item.frame.index)
    assert got == [9]
    assert (feed.dropped, feed.received) == (9, 10)


class FakeClock:
    """Time passes only when the reader sleeps."""

    def __init__(self) -> None:
        self.t = 100.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.t += s


def test_paced_file_releases_each_frame_at_its_timestamp() -> None:
    clock = FakeClock()
    stamps = [0.0, 0.04, 0.08, 0.2, 0.21]
    frames = [SourceFrame(np.zeros((2, 2), np.uint8), i, t, "x") for i, t in enumerate(stamps)]
    seen: list[Arrival] = []
    with LiveFeed(frames, paced=True, clock=Clock(now=clock.now, sleep=clock.sleep)) as feed:
        seen.extend(feed)
    # due times are the start plus each frame's own timestamp; the reader slept up to each
    assert seen[-1].frame.index == 4
    assert all(a.due == pytest.approx(100.0 + a.frame.timestamp_s) for a in seen)
    assert sum(clock.sleeps) == pytest.approx(0.21)
    assert len(seen) + feed.dropped == feed.received == 5


# ------------------------------------------------------------------------------- stability


@pytest.mark.parametrize(
    ("masks", "dices", "flicker"),
    [
        (["full", "full", "full"], [1.0, 1.0], 0),
        (["empty", "empty"], [1.0], 0),  # two empty masks agree
        (["empty", "full", "empty", "full"], [0.0, 0.0, 0.0], 3),
        (["full", "half"], [2 * 8 / (16 + 8)], 0),
    ],
)
def test_stability_scores_pairs_and_counts_flicker(masks, dices, flicker) -> None:
    shapes = {"empty": np.zeros((4, 4), np.uint8), "full": np.ones((4, 4), np.uint8)}
    shapes["half"] = np.vstack([np.ones((2, 4), np.uint8), np.zeros((2, 4), np.uint8)])
    stab = Stability(["nerve"])
    for name in masks:
        stab.add(shapes[name])
    out = stab.summary()["classes"]["nerve"]
    assert stab.dices[0] == pytest.approx(dices)
    assert out["flicker"] == flicker
    assert out["present_frames"] == sum(m != "empty" for m in masks)
    assert out["dice_min"] == pytest.approx(min(dices))


# ------------------------------------------------------------------------------- stream_source


@pytest.fixture(scope="module")
def seg() -> Segmenter:
    if not MODEL.is_file():
        pytest.skip(f"{MODEL} not in this checkout")
    return Segmenter(MODEL, threads=1)


@needs_model
def test_every_frame_writes_video_csv_masks_and_summary_last(seg: Segmenter, tmp_path) -> None:
    out = tmp_path / "out"
    (out).mkdir()
    (out / SUMMARY_NAME).write_text('{"complete": true}')  # a stale one from an earlier run
    summary = stream_source(seg, FakeSource(_frames(12)), out_dir=out, masks=True)
    assert (summary.processed, summary.dropped, summary.complete) == (12, 0, True)
    assert _decoded_frames(out / VIDEO_NAME) == 12
    rows = _rows(out)
    assert rows[0] == csv_columns(["nerve"])
    assert [int(r[0]) for r in rows[1:]] == list(range(12))
    assert [float(r[1]) for r in rows[1:]] == pytest.approx([i / 30 for i in range(12)], abs=1e-6)
    # the mask's area in the CSV is the mask PNG's, frame by frame
    from PIL import Image

    masks = sorted((out / "masks").iterdir())
    assert [p.name for p in masks] == [f"frame_{i:06d}_mask.png" for i in range(12)]
    areas = [int(np.count_nonzero(np.asarray(Image.open(p)))) for p in masks]
    assert [int(r[3]) for r in rows[1:]] == areas
    saved = json.loads((out / SUMMARY_NAME).read_text())
    assert saved["complete"] is True and saved["processed"] == 12
    assert saved["stability"]["frames"] == 12
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no partial files


@needs_model
def test_ctrl_c_mid_stream_keeps_a_playable_video_and_the_csv(seg: Segmenter, tmp_path) -> None:
    out = tmp_path / "out"

    def interrupt(event) -> None:
        if event.index == 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        stream_source(seg, FakeSource(_frames(20)), out_dir=out, progress=interrupt)
    # frame 6 was written before its progress event: 7 frames in the video and the CSV
    assert _decoded_frames(out / VIDEO_NAME) == 7
    assert [int(r[0]) for r in _rows(out)[1:]] == list(range(7))
    saved = json.loads((out / SUMMARY_NAME).read_text())
    assert saved["complete"] is False and saved["stopped"] == "interrupted"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


@needs_model
@pytest.mark.parametrize("live", [False, True])
def test_a_source_failing_mid_stream_stops_cleanly(seg: Segmenter, tmp_path, live) -> None:
    out = tmp_path / "out"
    src = FakeSource(_frames(10), live=live, fail_at=5)
    with pytest.raises(DataError, match=r"stopped after \d frames .*: device disappeared"):
        stream_source(seg, src, out_dir=out)
    assert src.closed
    saved = json.loads((out / SUMMARY_NAME).read_text())
    assert saved["complete"] is False and "device disappeared" in saved["stopped"]
    written = _decoded_frames(out / VIDEO_NAME)
    assert written == saved["processed"] == len(_rows(out)) - 1
    assert written == 5 or live  # a live feed may drop frames before the failure


@needs_model
def test_live_source_counts_every_frame_once(seg: Segmenter, tmp_path) -> None:
    src = FakeSource(_frames(40), live=True)
    summary = stream_source(seg, src, out_dir=tmp_path / "o", overlay_video=False)
    assert summary.mode == "live"
    assert summary.processed + summary.dropped + summary.skipped == summary.received == 40
    assert summary.latency_p50_ms <= summary.latency_p99_ms
    rows = _rows(tmp_path / "o")[1:]
    assert len(rows) == summary.processed
    assert [int(r[0]) for r in rows] == sorted(int(r[0]) for r in rows)
    assert int(rows[-1][0]) == 39  # the newest frame is never dropped at the end
    assert not (tmp_path / "o" / VIDEO_NAME).exists()


@needs_model
def test_realtime_file_keeps_pace_and_matches_every_frame_masks(seg: Segmenter, tmp_path) -> None:
    frames = _frames(8)
    fast = stream_source(seg, FakeSource(frames, fps=20), out_dir=tmp_path / "a", masks=True)
    paced = stream_source(
        seg, FakeSource(frames, fps=20), out_dir=tmp_path / "b", masks=True, realtime=True
    )
    assert paced.mode == "real time" and paced.wall_s >= 7 / 20 * 0.9
    assert fast.processed == 8 and paced.processed + paced.dropped == 8
    for row in _rows(tmp_path / "b")[1:]:  # whatever was processed has the same mask
        name = f"frame_{int(row[0]):06d}_mask.png"
        assert (tmp_path / "a" / "masks" / name).read_bytes() == (
            tmp_path / "b" / "masks" / name
        ).read_bytes()


# ------------------------------------------------------------------------------- the CLI


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("EDGESEG_DEBUG", None)
    cmd = [sys.executable, "-m", "edgeseg.cli", *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    """An MP4 and a JPEG Baseline multi-frame DICOM from the phantom cine writers."""
    writers = pytest.importorskip("edgeseg.train.cine_writers", reason="H1's cine writers")
    dicom = pytest.importorskip("edgeseg.train.cine_dicom", reason="H1's DICOM writer")
    root = tmp_path_factory.mktemp("clips")
    frames = _frames(10)
    return {
        "mp4": writers.write_mp4(frames, root / "clip.mp4", fps=25),
        "dcm": dicom.write_dicom(frames, root / "cine.dcm", fps=25, syntax="jpeg"),
    }


@needs_model
@pytest.mark.parametrize("kind", ["mp4", "dcm"])
def test_cli_streams_a_video_and_a_dicom_cine(clips, kind, tmp_path) -> None:
    out = tmp_path / "out"
    proc = _cli(
        "stream",
        str(MODEL),
        "--source",
        str(clips[kind]),
        "--out",
        str(out),
        "--masks",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("streamed 10 frames of ") and "every frame" in proc.stdout
    assert _decoded_frames(out / VIDEO_NAME) == 10
    assert len(list((out / "masks").iterdir())) == 10
    assert json.loads((out / SUMMARY_NAME).read_text())["complete"] is True


def _bad_inputs(root: Path, clips: dict[str, Path]) -> list[tuple[list[str], str]]:
    (root / "not.dcm").write_bytes(b"this is not a DICOM file" * 10)
    data = clips["mp4"].read_bytes()
    (root / "cut.mp4").write_bytes(data[: len(data) // 2])
    (root / "empty.mp4").write_bytes(b"")
    return [
        (["--source", str(root / "not.dcm")], "not.dcm"),
        (["--source", str(root / "cut.mp4")], "cut.mp4"),
        (["--source", str(root / "empty.mp4")], "empty.mp4"),
        (["--source", "/dev/video97"], "/dev/video97"),
        (["--source", str(root / "missing.mp4")], "missing.mp4"),
        (["--source", str(clips["mp4"]), "--frames", str(root)], "one of --source"),
        (["--source", str(clips["mp4"]), "--fps", "30"], "--fps 30"),
        (["--frames", str(root), "--realtime"], "go with --source"),
    ]


@needs_model
def test_cli_bad_input_is_one_line_and_exit_2(clips, tmp_path) -> None:
    for args, expected in _bad_inputs(tmp_path, clips):
        out = tmp_path / "out"
        proc = _cli("stream", str(MODEL), *args, "--out", str(out), cwd=tmp_path)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("edgeseg: error:"), (args, proc.stderr)
        assert expected in lines[0], (args, lines[0])
        summary = out / SUMMARY_NAME
        assert not summary.exists() or not json.loads(summary.read_text())["complete"]


@needs_model
def test_cli_predict_reads_every_frame_of_a_video_and_a_dicom(clips, tmp_path) -> None:
    out = tmp_path / "out"
    proc = _cli(
        "predict",
        str(MODEL),
        str(clips["mp4"]),
        str(clips["dcm"]),
        "--out",
        str(out),
        "--no-overlay",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 20 and "segmented 20/20 images" in proc.stdout
    assert names[:10] == [f"clip_frame_{i:06d}_mask.png" for i in range(10)]
    # the DICOM's outputs are named by a hash of the instance, never by its file name
    assert all(n.startswith("dicom-") and "cine" not in n for n in names[10:])


def test_overlay_painter_gives_the_contracts_overlay_bytes() -> None:
    from edgeseg.edge_runtime.outputs import OverlayPainter
    from edgeseg.postprocess import overlay

    rng = np.random.default_rng(3)
    gray = rng.integers(0, 256, (37, 52), dtype=np.uint8)
    mask = np.zeros((37, 52, 2), np.uint8)
    mask[5:20, 10:40, 0] = 1
    mask[15:30, 30:50, 1] = 1  # overlaps class 0: the later class paints over
    mask[0, 0, 0] = 1
    colors = [(255, 40, 0), (0, 200, 255)]
    want = overlay(gray, mask, colors)
    paint = OverlayPainter(colors)
    np.testing.assert_array_equal(paint(gray, mask), want)
    np.testing.assert_array_equal(paint(gray, mask, bgr=True), want[..., ::-1])
    np.testing.assert_array_equal(paint(gray, np.zeros_like(mask)), overlay(gray, 0 * mask, colors))


def _dicom_variants(root: Path, clips: dict[str, Path]) -> list[tuple[list[str], str]]:
    """A DICOM without pixel data and one in a transfer syntax no plugin decodes (MPEG-2)."""
    pydicom = pytest.importorskip("pydicom")
    ds = pydicom.dcmread(clips["dcm"])
    del ds.PixelData
    ds.save_as(root / "nopixels.dcm")
    ds = pydicom.dcmread(clips["dcm"])
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"  # MPEG2 Main Profile
    ds.save_as(root / "mpeg2.dcm")
    return [
        (["--source", str(root / "nopixels.dcm")], "no Pixel Data"),
        (["--source", str(root / "mpeg2.dcm")], "not supported"),
    ]


@needs_model
def test_cli_bad_dicom_is_one_line_and_exit_2(clips, tmp_path) -> None:
    for args, expected in _dicom_variants(tmp_path, clips):
        out = tmp_path / "out"
        proc = _cli("stream", str(MODEL), *args, "--out", str(out), cwd=tmp_path)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.count("\n") == 1 and expected in proc.stderr, (args, proc.stderr)
        assert not (out / SUMMARY_NAME).exists()


@needs_model
def test_cli_ctrl_c_keeps_a_playable_video_and_the_csv(tmp_path) -> None:
    """SIGINT to `edgeseg stream --realtime` mid-clip: exit 130, one line, outputs kept."""
    import signal
    import time

    writers = pytest.importorskip("edgeseg.train.cine_writers", reason="H1's cine writers")
    # 30 s in real time: --realtime drops the frames already due, so a slow start on a loaded
    # machine must not use up the whole clip before the interrupt (it did with 8 s).
    clip = writers.write_mp4(_frames(300), tmp_path / "long.mp4", fps=10)
    out = tmp_path / "out"
    env = {**os.environ, "COLUMNS": "200"}
    cmd = [sys.executable, "-m", "edgeseg.cli", "stream", str(MODEL), "--source", str(clip)]
    proc = subprocess.Popen(
        [*cmd, "--realtime", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        csv_file = out / CSV_NAME
        if csv_file.exists() and csv_file.read_text().count("\n") >= 4:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert stderr.count("\n") == 1 and "interrupted after" in stderr, stderr
    rows = _rows(out)[1:]
    assert 3 <= len(rows) < 300
    assert _decoded_frames(out / VIDEO_NAME) == len(rows)
    assert json.loads((out / SUMMARY_NAME).read_text())["complete"] is False


# ------------------------------------------------------------------- a device double, VFR


class _Camera:
    """PyAV's v4l2 input replaced by a clip decoded at ``fps``, unplugged after ``stop_after``."""

    def __init__(self, path: Path, fps: float, stop_after: int) -> None:
        self.inner = av.open(str(path))
        self.streams = self.inner.streams
        self.fps, self.stop_after = fps, stop_after

    def decode(self, stream):
        import errno
        import time

        for i, frame in enumerate(self.inner.decode(stream)):
            if i == self.stop_after:
                raise OSError(errno.ENODEV, "No such device")
            time.sleep(1.0 / self.fps)
            yield frame

    def close(self) -> None:
        self.inner.close()


@needs_model
def test_a_device_unplugged_mid_stream_keeps_what_was_written(seg, clips, tmp_path) -> None:
    """The real DeviceSource (reader thread, newest frame) with a double at av.open."""
    from edgeseg.edge_runtime.sources.device import DeviceSource

    def opener(device, format, options):
        return _Camera(clips["mp4"], fps=50.0, stop_after=8)

    out = tmp_path / "out"
    src = DeviceSource(str(clips["mp4"]), opener=opener)
    with pytest.raises(DataError, match=r"stopped after (\d) frames \(kept in .*incomplete\)"):
        stream_source(seg, src, out_dir=out)
    saved = json.loads((out / SUMMARY_NAME).read_text())
    assert saved["mode"] == "live" and saved["complete"] is False
    assert 1 <= saved["processed"] <= 8
    assert saved["processed"] + saved["dropped"] <= 8
    assert _decoded_frames(out / VIDEO_NAME) == saved["processed"] == len(_rows(out)) - 1


@needs_model
def test_cli_variable_rate_video_warns_and_keeps_its_timing(tmp_path) -> None:
    from fractions import Fraction

    clip = tmp_path / "vfr.mkv"
    pts_ms = [0, 80, 120, 200, 240, 320, 360, 440]  # alternating 80 and 40 ms
    with av.open(str(clip), "w") as dst:
        stream = dst.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        for image, pts in zip(_frames(len(pts_ms)), pts_ms, strict=True):
            frame = av.VideoFrame.from_ndarray(image, format="gray")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            dst.mux(stream.encode(frame))
        dst.mux(stream.encode(None))
    out = tmp_path / "out"
    proc = _cli(
        "stream", str(MODEL), "--source", str(clip), "--realtime", "--out", str(out), cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    warnings = proc.stderr.strip().splitlines()
    assert len(warnings) == 1 and "variable frame rate" in warnings[0], proc.stderr
    stamps = {int(r[0]): float(r[1]) for r in _rows(out)[1:]}
    assert stamps == pytest.approx({i: pts_ms[i] / 1000 for i in stamps})
    with av.open(str(out / VIDEO_NAME)) as container:
        times = [float(f.time) for f in container.decode(video=0)]
    assert times == pytest.approx([stamps[i] for i in sorted(stamps)], abs=0.002)


@needs_model
def test_predict_splits_a_tiff_stack_and_keeps_a_still_tiff_whole(seg, tmp_path) -> None:
    from PIL import Image

    from edgeseg.edge_runtime.predict import predict

    pages = [Image.fromarray(f) for f in _frames(3)]
    pages[0].save(tmp_path / "stack.tif", save_all=True, append_images=pages[1:])
    pages[0].save(tmp_path / "still.tif")
    summary = predict(
        seg, [tmp_path / "stack.tif", tmp_path / "still.tif"], tmp_path / "out", overlay=False
    )
    names = sorted(Path(p).name for p in summary.written)
    assert names == [f"stack_frame_{i:06d}_mask.png" for i in range(3)] + ["still_mask.png"]
    assert summary.images == 4 and not summary.failed
    # page 0 of the stack and the still are the same pixels: the same mask
    out = tmp_path / "out"
    assert (out / "stack_frame_000000_mask.png").read_bytes() == (
        out / "still_mask.png"
    ).read_bytes()


@needs_model
def test_fps_paces_a_folder_in_real_time(seg, tmp_path) -> None:
    from PIL import Image

    folder = tmp_path / "frames"
    folder.mkdir()
    for i, image in enumerate(_frames(6)):
        Image.fromarray(image).save(folder / f"f{i}.png")
    summary = stream_source(seg, folder, out_dir=tmp_path / "o", realtime=True, frame_rate=20)
    assert summary.mode == "real time" and summary.wall_s >= 5 / 20 * 0.9
    stamps = [float(r[1]) for r in _rows(tmp_path / "o")[1:]]
    assert stamps == pytest.approx([int(r[0]) / 20 for r in _rows(tmp_path / "o")[1:]])
    with pytest.raises(ConfigError, match="--fps 20: only for a folder"):
        stream_source(seg, tmp_path / "o" / VIDEO_NAME, frame_rate=20)
    notes: list[str] = []
    stream_source(seg, folder, realtime=True, limit=1, on_note=notes.append)
    assert notes == [
        "frames carries no frame rate: --realtime plays one frame per second of its index; "
        "pass --fps to give it one"
    ]


@needs_model
@pytest.mark.parametrize("realtime", [False, True])
def test_smoothing_is_the_streams_own(seg, tmp_path, realtime) -> None:
    """--smoothing gives the masks Segmenter.stream gives (the one smoothing rule)."""
    from PIL import Image

    frames = _frames(6)
    out = tmp_path / "o"
    summary = stream_source(
        seg, FakeSource(frames, fps=20), out_dir=out, masks=True, smoothing=0.6, realtime=realtime
    )
    want = list(seg.stream(list(frames), smoothing=0.6))
    if summary.dropped:  # a dropped frame changes what later frames are smoothed with
        pytest.skip(f"{summary.dropped} frames dropped under load: nothing to compare")
    for i, result in enumerate(want):
        got = np.asarray(Image.open(out / "masks" / f"frame_{i:06d}_mask.png")) > 0
        np.testing.assert_array_equal(got, result.mask[..., 0] > 0)
    unsmoothed = list(seg.stream(list(frames)))
    assert any((a.prob != b.prob).any() for a, b in zip(want[1:], unsmoothed[1:], strict=True))


BLOCKED_STREAM = """
import sys
for name in ("tensorflow", "tf_keras", "keras", "tflite_runtime", "flatbuffers",
             "edgeseg.train", "edgeseg.convert"):
    sys.modules[name] = None  # any import of these now raises ImportError
from edgeseg.edge_runtime.live_stream import stream_source
for realtime in (False, True):
    s = stream_source(sys.argv[1], sys.argv[2], out_dir=sys.argv[3], realtime=realtime, masks=True)
    assert s.complete and s.processed + s.dropped == 10, s
loaded = [m for m in sys.modules if m.split(".")[0] in ("tensorflow", "tf_keras", "keras")
          and sys.modules[m] is not None]
print("heavy:", loaded)
"""


@needs_model
def test_streaming_needs_no_tensorflow(clips, tmp_path) -> None:
    """edge_runtime's rule: live, live_stream, outputs, stability and the sources run TF-free."""
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-c", BLOCKED_STREAM, str(MODEL), str(clips["dcm"]), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "heavy: []" in proc.stdout
    saved = json.loads((out / SUMMARY_NAME).read_text())
    assert saved["complete"] and _decoded_frames(out / VIDEO_NAME) == saved["processed"]


@needs_model
@pytest.mark.parametrize("kind", ["uint16", "ybr_full"])
def test_cli_streams_a_16_bit_and_a_colour_cine(kind, tmp_path) -> None:
    """Both are read (16-bit through the contract's 0..65535 -> 0..255, YBR as RGB -> gray)."""
    dicom = pytest.importorskip("edgeseg.train.cine_dicom", reason="H1's DICOM writer")
    frames = _frames(4)
    if kind == "uint16":
        data, photometric = frames.astype(np.uint16) * 257, "auto"
    else:
        data, photometric = np.repeat(frames[..., None], 3, axis=3), "YBR_FULL"
    cine = dicom.write_dicom(data, tmp_path / "c.dcm", fps=25, photometric=photometric)
    out = tmp_path / "out"
    proc = _cli("stream", str(MODEL), "--source", str(cine), "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert [int(r[0]) for r in _rows(out)[1:]] == [0, 1, 2, 3]
    if kind == "uint16":  # g * 257 maps back to g exactly: the 8-bit cine's masks
        eight = dicom.write_dicom(frames, tmp_path / "c8.dcm", fps=25)
        summary = stream_source(MODEL, eight, out_dir=tmp_path / "out8")
        assert summary.complete
        assert [r[3:6] for r in _rows(out)] == [r[3:6] for r in _rows(tmp_path / "out8")]


@pytest.mark.parametrize("size", [(480, 640), (33, 47)])
def test_overlay_video_from_yuv_planes_equals_the_painted_frames(tmp_path, size) -> None:
    """The writer's direct yuv420p overlay (outputs.YuvOverlay) is used on this FFmpeg build and
    gives the same overlay.mp4 bytes as painting each frame and letting libswscale convert it."""
    pytest.importorskip("av")
    from edgeseg.edge_runtime.outputs import OverlayPainter, OverlayVideo, YuvOverlay

    rng = np.random.default_rng(7)
    h, w = size
    painter = OverlayPainter([(255, 40, 0), (0, 200, 255)])
    frames = []
    for i in range(6):
        gray = rng.integers(0, 256, (h, w), dtype=np.uint8)
        mask = np.zeros((h, w, 2), np.uint8)
        mask[h // 4 : h // 2 + i, w // 5 : w // 2, 0] = 1
        mask[h // 3 : 3 * h // 4, w // 3 + i : 4 * w // 5, 1] = 1  # overlaps class 0
        frames.append((gray, mask if i else np.zeros_like(mask)))  # frame 0: no mask
    direct, painted = (
        OverlayVideo(tmp_path / "direct.mp4", 30),
        OverlayVideo(tmp_path / "p.mp4", 30),
    )
    for i, (gray, mask) in enumerate(frames):
        direct.write_overlay(gray, mask, painter, i / 30)
        painted.write(painter(gray, mask, bgr=True), i / 30, bgr=True)
    assert isinstance(direct._yuv, YuvOverlay)  # the fast path, not its fallback
    assert direct.close().read_bytes() == painted.close().read_bytes()
