"""Frame sources: folders, video (PyAV), DICOM (pydicom), multi-page TIFF, devices; open_source."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgeseg.edge_runtime.sources import FrameSource, open_source
from edgeseg.errors import DataError

av = pytest.importorskip("av")

FPS = 25.0


@pytest.fixture(scope="module")
def cine():
    from edgeseg.train.cine import synth_cine

    return synth_cine(12, (48, 64), seed=3, fps=FPS)


@pytest.fixture(scope="module")
def mp4(cine, tmp_path_factory) -> Path:
    from edgeseg.train.cine_writers import write_mp4

    return write_mp4(cine.frames, tmp_path_factory.mktemp("video") / "clip.mp4", FPS)


def _frames(source: FrameSource) -> list:
    with source:
        return list(source)


# ----------------------------------------------------------------------------- folder and TIFF


def test_folder_natural_order_and_pixels(tmp_path: Path, cine) -> None:
    for i in (10, 2, 1):  # natural order: frame1, frame2, frame10
        Image.fromarray(cine.frames[i]).save(tmp_path / f"frame{i}.png")
    Image.fromarray(np.stack([cine.frames[0]] * 3, -1)).save(tmp_path / "frame20.png")
    src = open_source(tmp_path, frame_rate=10.0)
    assert isinstance(src, FrameSource) and not src.live
    assert (src.frame_count, src.frame_rate) == (4, 10.0)
    got = _frames(src)
    assert [f.index for f in got] == [0, 1, 2, 3]
    assert [f.timestamp_s for f in got] == pytest.approx([0.0, 0.1, 0.2, 0.3])
    for frame, i in zip(got[:3], (1, 2, 10), strict=True):
        np.testing.assert_array_equal(frame.image, cine.frames[i])
    assert got[3].image.shape == (48, 64, 3)  # RGB as decoded; the contract makes it gray


def test_folder_without_images(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="no images"):
        open_source(tmp_path)


def test_multipage_tiff_and_16_bit_pages(tmp_path: Path, cine) -> None:
    pages = [Image.fromarray(f) for f in cine.frames[:4]]
    pages[0].save(tmp_path / "stack.tif", save_all=True, append_images=pages[1:])
    src = open_source(tmp_path / "stack.tif")
    assert src.frame_count == 4
    np.testing.assert_array_equal(np.stack([f.image for f in _frames(src)]), cine.frames[:4])
    wide = (cine.frames[0].astype(np.uint16) * 257).astype(np.uint16)
    Image.fromarray(wide).save(tmp_path / "wide.tif")
    (frame,) = _frames(open_source(tmp_path / "wide.tif"))
    assert frame.image.dtype == np.uint16
    np.testing.assert_array_equal(frame.image, wide)


def test_missing_and_unknown(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        open_source(tmp_path / "nope.mp4")
    (tmp_path / "a.xyz").write_bytes(b"hello")
    with pytest.raises(DataError, match="unknown kind of file"):
        open_source(tmp_path / "a.xyz")


# ----------------------------------------------------------------------------- video


def test_mp4_frames_timestamps_and_rate(mp4: Path, cine) -> None:
    src = open_source(mp4)
    assert (src.frame_count, src.frame_rate, src.live) == (12, FPS, False)
    assert not src.variable_rate and src.notes == []
    got = _frames(src)
    assert [f.index for f in got] == list(range(12))
    assert [f.timestamp_s for f in got] == pytest.approx(np.arange(12) / FPS)
    gray = np.stack([np.asarray(Image.fromarray(f.image).convert("L")) for f in got])
    # H.264 at crf 18 is lossy: close to the phantom, not equal
    assert np.abs(gray.astype(int) - cine.frames).mean() < 6
    assert _frames(open_source(mp4))[0].image.shape == (48, 64, 3)


def test_mp4_can_be_read_twice(mp4: Path) -> None:
    src = open_source(mp4)
    with src:
        assert len(list(src)) == len(list(src)) == 12


@pytest.mark.parametrize(
    ("suffix", "codec"), [(".mkv", "libx264"), (".avi", "mpeg4"), (".mov", "libx264")]
)
def test_other_containers(tmp_path: Path, cine, suffix: str, codec: str) -> None:
    out = tmp_path / f"clip{suffix}"
    with av.open(str(out), "w") as dst:
        stream = dst.add_stream(codec, rate=int(FPS))
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for image in cine.frames:
            dst.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="gray")))
        dst.mux(stream.encode(None))
    got = _frames(open_source(out))
    assert len(got) == 12 and got[0].source == out.name
    assert got[-1].timestamp_s == pytest.approx(11 / FPS)


def test_truncated_mp4_is_one_data_error(tmp_path: Path, mp4: Path) -> None:
    data = mp4.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="cut.mp4") as err:
        _frames(open_source(tmp_path / "cut.mp4"))
    assert "\n" not in str(err.value)


def test_not_a_video(tmp_path: Path) -> None:
    (tmp_path / "fake.mp4").write_bytes(b"\0" * 2000)
    with pytest.raises(DataError, match="not a readable video"):
        open_source(tmp_path / "fake.mp4")


def test_variable_frame_rate_is_reported(tmp_path: Path, cine) -> None:
    out = tmp_path / "vfr.mkv"
    with av.open(str(out), "w") as dst:
        stream = dst.add_stream("libx264", rate=int(FPS))
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        pts = 0
        for i, image in enumerate(cine.frames):
            frame = av.VideoFrame.from_ndarray(image, format="gray")
            frame.pts, frame.time_base = pts, stream.codec_context.time_base
            pts += 40 if i % 2 else 80  # alternating 40 and 80 ms
            dst.mux(stream.encode(frame))
        dst.mux(stream.encode(None))
    src = open_source(out)
    assert src.variable_rate and "variable frame rate" in src.notes[0]
    stamps = [f.timestamp_s for f in _frames(src)]
    assert np.diff(stamps) == pytest.approx([0.08, 0.04] * 5 + [0.08], abs=2e-3)


def test_constant_rate_check() -> None:
    from edgeseg.edge_runtime.sources.timing import frame_intervals, is_variable_rate

    assert not is_variable_rate(frame_intervals([0.0, 0.04, 0.08, 0.12]))
    assert is_variable_rate(frame_intervals([0.0, 0.04, 0.12, 0.16]))
    assert not is_variable_rate(frame_intervals([0.0]))


# ----------------------------------------------------------------------------- live device
# No /dev/video here: the device path goes through a test double at PyAV's boundary (``opener``
# replaces ``av.open`` and opens a phantom MP4 instead, paced like a camera). Covered: the reader
# thread, newest-frame-only hand-over and drop counting, capture timestamps, failure, stall and
# end of stream, a missing device, and av.open's real v4l2 input failing on a non-camera node.
# Not covered: real V4L2 format negotiation (video_size, framerate, input_format) and timing.


class _PacedCamera:
    """Wraps a PyAV container: frames at ``fps``; optionally fail or hang after ``stop_after``."""

    def __init__(
        self, path: Path, fps: float, stop_after: int | None = None, how: str = ""
    ) -> None:
        self.inner = av.open(str(path))
        self.streams = self.inner.streams
        self.fps, self.stop_after, self.how = fps, stop_after, how
        self.options: dict = {}

    def decode(self, stream):
        import errno
        import time

        for i, frame in enumerate(self.inner.decode(stream)):
            if i == self.stop_after:
                if self.how == "hang":
                    time.sleep(3.0)
                raise OSError(errno.ENODEV, "No such device")
            time.sleep(1.0 / self.fps)
            yield frame

    def close(self) -> None:
        self.inner.close()


def _camera(mp4: Path, fps: float = 100.0, **kwargs):
    def opener(device, format, options):
        assert format == "v4l2"
        camera = _PacedCamera(mp4, fps, **kwargs)
        camera.options = options
        return camera

    return opener


def test_missing_device_is_one_line():
    with pytest.raises(DataError, match="no capture device there"):
        open_source("/dev/video97")


def test_real_v4l2_input_on_a_node_that_is_no_camera():
    from edgeseg.edge_runtime.sources.device import DeviceSource

    with pytest.raises(DataError, match="cannot open the capture device"):
        DeviceSource("/dev/null")


def test_device_fast_consumer_gets_every_frame(mp4: Path):
    from edgeseg.edge_runtime.sources.device import DeviceSource

    opener = _camera(mp4)
    with DeviceSource(str(mp4), size=(48, 64), frame_rate=30, opener=opener) as src:
        assert src.live and src.frame_count is None and src.frame_rate == FPS
        got = list(src)
    assert [f.index for f in got] == list(range(12)) and src.dropped == 0
    assert np.all(np.diff([f.timestamp_s for f in got]) > 0)


def test_device_options():
    from edgeseg.edge_runtime.sources.device import device_options

    assert device_options((480, 640), 30, "mjpeg") == {
        "video_size": "640x480",
        "framerate": "30",
        "input_format": "mjpeg",
    }
    assert device_options(None, None, None) == {}


def test_device_slow_consumer_gets_newest_frames_only(mp4: Path):
    import time

    from edgeseg.edge_runtime.sources.device import DeviceSource

    got = []
    with DeviceSource(str(mp4), opener=_camera(mp4, fps=100.0)) as src:
        for frame in src:
            got.append(frame.index)
            time.sleep(0.08)  # a consumer at 1/8 of the camera's rate
        dropped = src.dropped
    assert dropped > 0 and len(got) + dropped == 12  # each frame either seen or dropped
    assert got == sorted(set(got)) and got[-1] == 11  # in order, gaps where frames dropped


def test_device_unplugged_mid_stream(mp4: Path):
    from edgeseg.edge_runtime.sources.device import DeviceSource

    got = []
    opener = _camera(mp4, stop_after=5)
    with (
        pytest.raises(DataError, match="capture stopped after") as err,
        DeviceSource(str(mp4), opener=opener) as src,
    ):
        got.extend(src)
    assert 1 <= len(got) <= 5 and f"after {len(got)} frames" in str(err.value)


def test_device_stall_and_end_of_stream(mp4: Path):
    from edgeseg.edge_runtime.sources.device import DeviceSource

    got = []
    src = DeviceSource(str(mp4), opener=_camera(mp4, stop_after=3, how="hang"), stall_timeout_s=0.3)
    with pytest.raises(DataError, match="no frame for 0.3 s after"):
        got.extend(src)
    assert 1 <= len(got) <= 3
    with pytest.raises(DataError, match="stopped sending after 12 frames"):
        list(DeviceSource("/dev/null", opener=_camera(mp4)))


def test_luma_frames_match_the_contracts_gray_within_rounding(mp4: Path):
    from edgeseg.edge_runtime.sources.video import VideoSource

    rgb = [f.image for f in _frames(VideoSource(mp4))]
    luma = [f.image for f in _frames(VideoSource(mp4, luma=True))]
    assert luma[0].shape == (48, 64) and luma[0].dtype == np.uint8
    for colour, gray in zip(rgb, luma, strict=True):
        contract_gray = np.asarray(Image.fromarray(colour).convert("L"), dtype=int)
        assert np.abs(contract_gray - gray).max() <= 1


def test_zero_frame_video(tmp_path: Path):
    path = tmp_path / "empty.mp4"
    with av.open(str(path), "w") as dst:
        stream = dst.add_stream("libx264", rate=int(FPS))
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        dst.start_encoding()  # header and index, no frame
    assert path.stat().st_size > 0
    with pytest.raises(DataError, match="no (decodable )?video"):
        _frames(open_source(path))


def test_mp4_cut_mid_stream_keeps_the_frames_before(tmp_path: Path, cine):
    path = tmp_path / "fast.mp4"
    with av.open(str(path), "w", options={"movflags": "faststart"}) as dst:
        stream = dst.add_stream("libx264", rate=int(FPS), options={"g": "1"})  # all key frames
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for image in cine.frames:
            dst.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="gray")))
        dst.mux(stream.encode(None))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    got = []
    with pytest.raises(DataError, match=r"after \d+ (of 12 )?frames") as err:
        got.extend(open_source(path))
    assert 0 < len(got) < 12 and f"after {len(got)} " in str(err.value)
    assert "\n" not in str(err.value)


def test_sources_import_no_training_code(mp4: Path, tmp_path: Path):
    """The sources are edge-runtime code: no TensorFlow, Keras, train or convert."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        """
        import importlib.abc, sys
        BLOCKED = ("tensorflow", "tf_keras", "keras", "edgeseg.train", "edgeseg.convert")
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.startswith(BLOCKED):
                    raise ImportError(f"blocked: {name}")
        sys.meta_path.insert(0, Block())
        from edgeseg.edge_runtime.sources import open_source
        from edgeseg.edge_runtime.sources import device, dicom, folder, tiff, video  # noqa
        with open_source(sys.argv[1]) as src:
            print(len(list(src)))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(mp4)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "12"


def test_single_image_file_is_a_one_frame_source(tmp_path: Path, cine):
    Image.fromarray(cine.frames[0]).save(tmp_path / "one.png")
    src = open_source(tmp_path / "one.png")
    (frame,) = _frames(src)
    assert src.frame_count == 1
    np.testing.assert_array_equal(frame.image, cine.frames[0])
