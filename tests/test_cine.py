"""Phantom cine loops: motion, pulse, speckle, frames without the nerve; their file writers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgeseg.errors import ConfigError
from edgeseg.train.cine import synth_cine
from edgeseg.train.phantom_anatomy import NERVE, VESSEL

N, SIZE, FPS = 40, (64, 80), 30.0


@pytest.fixture(scope="module")
def cine():
    return synth_cine(N, SIZE, seed=11, fps=FPS, empty_fraction=0.25)


def _centroids(labels: np.ndarray, cls: int) -> np.ndarray:
    out = []
    for lab in labels:
        ys, xs = np.nonzero(lab == cls)
        out.append((ys.mean(), xs.mean()) if len(ys) else (np.nan, np.nan))
    return np.asarray(out)


def test_same_seed_same_loop_and_shapes(cine):
    again = synth_cine(N, SIZE, seed=11, fps=FPS, empty_fraction=0.25)
    np.testing.assert_array_equal(again.frames, cine.frames)
    np.testing.assert_array_equal(again.labels, cine.labels)
    assert cine.frames.shape == cine.labels.shape == (N, *SIZE)
    assert cine.frames.dtype == cine.labels.dtype == np.uint8
    assert cine.timestamps[-1] == pytest.approx((N - 1) / FPS)
    other = synth_cine(N, SIZE, seed=12, fps=FPS)
    assert not np.array_equal(other.frames, cine.frames)


def test_a_run_of_frames_without_the_nerve(cine):
    hidden = np.flatnonzero(~cine.nerve_visible)
    assert len(hidden) == round(N * 0.25)
    assert np.all(np.diff(hidden) == 1) and hidden[0] >= N // 4  # one run, after the opening
    nerve_px = (cine.labels == NERVE).reshape(N, -1).sum(axis=1)
    assert np.all(nerve_px[hidden] == 0) and np.all(nerve_px[cine.nerve_visible] > 0)
    assert np.all((cine.labels == VESSEL).reshape(N, -1).sum(axis=1) > 0)


def test_nerve_and_vessel_move_smoothly(cine):
    for cls in (NERVE, VESSEL):
        c = _centroids(cine.labels, cls)
        visible = ~np.isnan(c[:, 0])
        steps = np.abs(np.diff(c[visible], axis=0))
        steps = steps[np.diff(np.flatnonzero(visible)) == 1]  # consecutive frames only
        travel = np.nanmax(c, axis=0) - np.nanmin(c, axis=0)
        assert travel.max() > 2.0, f"class {cls} does not move"  # the probe slides
        assert steps.max() < 2.5, f"class {cls} jumps"  # ... and smoothly (pixels per frame)
    vessel_area = (cine.labels == VESSEL).reshape(N, -1).sum(axis=1)
    assert vessel_area.max() > 1.05 * vessel_area.min()  # the pulse


def _frame_corr(frames: np.ndarray) -> float:
    f = frames.astype(np.float64)
    return float(np.mean([np.corrcoef(f[i].ravel(), f[i + 1].ravel())[0, 1] for i in range(5)]))


def test_speckle_decorrelates_partly():
    frozen = synth_cine(6, SIZE, seed=3, speckle_rho=1.0, empty_fraction=0).frames
    partial = synth_cine(6, SIZE, seed=3, speckle_rho=0.6, empty_fraction=0).frames
    fresh = synth_cine(6, SIZE, seed=3, speckle_rho=0.0, empty_fraction=0).frames
    assert _frame_corr(frozen) > _frame_corr(partial) > _frame_corr(fresh)
    assert _frame_corr(partial) < 0.99  # the speckle does change from frame to frame


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n": 0}, "--n"),
        ({"fps": 0.5}, "--fps"),
        ({"empty_fraction": 0.9}, "--empty-fraction"),
        ({"size": (8, 64)}, "--size"),
    ],
)
def test_bad_options(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        synth_cine(**{"n": 4, "size": SIZE, **kwargs})


# ----------------------------------------------------------------------------- writers


def test_y4m_ffmpeg_reads_it_back(tmp_path: Path, cine):
    av = pytest.importorskip("av")
    from edgeseg.train.cine_writers import write_y4m

    path = write_y4m(cine.frames[:5], tmp_path / "cam.y4m", FPS, color_range="full")
    data = path.read_bytes()
    header, rest = data.split(b"\n", 1)
    assert header == b"YUV4MPEG2 W80 H64 F30:1 Ip A1:1 C420jpeg XCOLORRANGE=FULL"
    frame_bytes = 64 * 80 * 3 // 2
    assert len(rest) == 5 * (len(b"FRAME\n") + frame_bytes)
    first = rest[len(b"FRAME\n") : len(b"FRAME\n") + 64 * 80]
    np.testing.assert_array_equal(np.frombuffer(first, np.uint8).reshape(64, 80), cine.frames[0])
    with av.open(str(path)) as container:
        decoded = [f.to_ndarray(format="gray") for f in container.decode(video=0)]
    assert len(decoded) == 5
    np.testing.assert_array_equal(decoded[4], cine.frames[4])  # full range: read back exactly
    limited = write_y4m(cine.frames[:1], tmp_path / "tv.y4m", FPS)  # the default
    assert limited.read_bytes().split(b"\n", 1)[0] == b"YUV4MPEG2 W80 H64 F30:1 Ip A1:1 C420jpeg"
    with av.open(str(limited)) as container:
        tv = next(container.decode(video=0)).to_ndarray(format="gray")
    assert np.abs(tv.astype(int) - cine.frames[0]).max() <= 1  # FFmpeg expands studio range


CHROMIUM = "/usr/bin/chromium"
CAMERA_PAGE = """<video id=v autoplay muted playsinline></video><canvas id=c></canvas>"""
GRAB_ROW = """async () => {
  const s = await navigator.mediaDevices.getUserMedia({video: {width: 128, height: 64}});
  const v = document.getElementById('v'); v.srcObject = s; await v.play();
  await new Promise(r => setTimeout(r, 500));
  const c = document.getElementById('c'); c.width = v.videoWidth; c.height = v.videoHeight;
  const ctx = c.getContext('2d'); ctx.drawImage(v, 0, 0);
  return [c.width, c.height, Array.from(ctx.getImageData(0, 32, c.width, 1).data)];
}"""


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no chromium (tests/run.sh installs it)")
def test_y4m_through_chromiums_fake_camera(tmp_path: Path):
    """What a web page sees of the default Y4M: the gray values within 1 level."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from edgeseg.train.cine_writers import write_y4m

    ramp = np.tile(np.arange(0, 256, 2, dtype=np.uint8), (64, 1))  # 64x128, every other level
    camera = write_y4m(np.stack([ramp] * 6), tmp_path / "ramp.y4m", 10)
    (tmp_path / "page.html").write_text(CAMERA_PAGE)
    args = [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={camera}",
        "--no-sandbox",
    ]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            page = browser.new_page()
            page.goto((tmp_path / "page.html").as_uri())
            width, height, rgba = page.evaluate(GRAB_ROW)
        finally:
            browser.close()
    assert (width, height) == (128, 64)
    red = np.asarray(rgba[0::4], dtype=int)
    assert np.abs(red - ramp[32]).max() <= 1


def test_y4m_colour_and_odd_sizes(tmp_path: Path, cine):
    from PIL import Image

    from edgeseg.train.cine_writers import write_y4m

    rgb = np.zeros((2, 4, 6, 3), np.uint8)
    rgb[..., 0] = 255  # pure red: one colour, so 2x2 chroma averaging changes nothing
    y, cb, cr = np.asarray(Image.fromarray(rgb[0]).convert("YCbCr"))[0, 0]
    path = write_y4m(rgb, tmp_path / "red.y4m", 25, color_range="full")
    data = path.read_bytes().split(b"FRAME\n")[1]
    assert set(data[:24]) == {y} and set(data[24:30]) == {cb} and set(data[30:36]) == {cr}
    assert len(set(data[:36])) == 3  # three different planes
    with pytest.raises(ConfigError, match="must be even"):
        write_y4m(cine.frames[:, :63], tmp_path / "odd.y4m", FPS)
    assert not (tmp_path / "odd.y4m").exists()


def test_masks_round_trip(tmp_path: Path, cine):
    from edgeseg.train.cine_writers import write_masks

    with np.load(write_masks(cine.labels, cine.timestamps, tmp_path / "m.npz")) as z:
        np.testing.assert_array_equal(z["labels"], cine.labels)
        np.testing.assert_array_equal(z["timestamps_s"], cine.timestamps)


def test_phi_test_header_only_when_asked(tmp_path: Path, cine):
    pydicom = pytest.importorskip("pydicom")
    from edgeseg.train.cine_dicom import write_dicom
    from edgeseg.train.cine_writers import PHI_TEST_IDENTIFIERS

    plain = pydicom.dcmread(write_dicom(cine.frames[:2], tmp_path / "a.dcm", FPS))
    assert all(key not in plain for key in PHI_TEST_IDENTIFIERS)
    assert plain.BurnedInAnnotation == "NO" and plain.Modality == "US"
    phi = pydicom.dcmread(
        write_dicom(cine.frames[:2], tmp_path / "b.dcm", FPS, identifiers=PHI_TEST_IDENTIFIERS)
    )
    for key, value in PHI_TEST_IDENTIFIERS.items():
        assert str(phi[key].value) == value


def test_cine_set_is_atomic_and_keeps_other_files(tmp_path: Path, cine, monkeypatch):
    pytest.importorskip("pydicom")
    pytest.importorskip("av")
    import edgeseg.train.cine_dicom as cine_dicom
    from edgeseg.train.cine_set import CINE_MARK, write_cine_set

    out = tmp_path / "set"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    paths = write_cine_set(out, cine, ("mp4", "jpeg", "y4m"), seed=11)
    assert [p.name for p in paths] == [
        "cine.mp4", "cine_jpeg.dcm", "cine.y4m", "masks.npz", "README.txt",
    ]  # fmt: skip
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "README.txt").read_text().splitlines()[-1] == f"{CINE_MARK}, {N} frames"
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cine_dicom, "write_dicom", broken)
    with pytest.raises(KeyboardInterrupt):
        write_cine_set(out, cine, ("mp4", "rle"))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["set"]  # no staging folder left


def test_cli_data_synth_video(tmp_path: Path):
    pytest.importorskip("pydicom")
    pytest.importorskip("av")
    from edgeseg.cli import app
    from edgeseg.edge_runtime.sources import open_source

    runner = CliRunner()
    out = tmp_path / "cine"
    args = ["data", "synth", "--video", "--out", str(out), "--n", "12", "--size", "48"]
    result = runner.invoke(app, [*args, "--width", "64", "--fps", "15", "--phi-test-header"])
    assert result.exit_code == 0, result.output
    assert "wrote 12 frames of 64x48 at 15 fps" in result.output
    for name in ("cine.mp4", "cine.dcm", "cine_rle.dcm", "cine_jpeg.dcm"):
        with open_source(out / name) as src:
            frames = list(src)
        assert len(frames) == 12 and frames[0].image.shape[:2] == (48, 64)
        assert src.frame_rate == pytest.approx(15, rel=1e-3)
    assert "MADE-UP patient identifiers" in (out / "README.txt").read_text()
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "--force" in again.output
    stray = runner.invoke(app, ["data", "synth", "--out", str(tmp_path / "x"), "--fps", "3"])
    assert stray.exit_code == 2 and "only used with --video" in stray.output
    odd = runner.invoke(app, [*args, "--size", "47", "--force"])
    assert odd.exit_code == 2 and "even" in odd.output
