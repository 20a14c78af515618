"""The web app (web_demo/, LiteRT.js) in a real Chromium: golden parity with the Python runtime,
a fake live camera, offline reload, one clear message per bad model or file, screenshots.

Needs Debian's chromium, Playwright for Python and the app's npm packages (`bash
web_demo/setup.sh`; tests/run.sh runs it); each is skipped with its reason when absent. One
browser per module. Screenshots and the per-frame agreement table go to a test-output folder:
``EDGESEG_SCREENSHOTS`` when set, else the module's tmp folder.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

from edgeseg.edge_runtime.batch import static_batch
from edgeseg.edge_runtime.segmenter import Segmenter
from edgeseg.web_server import (
    CHROMIUM,
    HEADLESS_CHROMIUM_ARGS,
    RUNTIME_FILE,
    WEB_APP_DIR,
    WebServer,
)

ROOT = Path(__file__).parents[1]
DEMO_MODEL = ROOT / "android_demo/app/src/main/assets/model_int8.tflite"
DYNAMIC_MODEL = ROOT / "tests/data/dynamic_batch_int8.tflite"  # an export from before batch 1
GOLDEN = ROOT / "android_demo/core/src/test/resources/golden"
CHROMIUM_ARGS = [
    *HEADLESS_CHROMIUM_ARGS,
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
TIMEOUT_MS = 60_000

if not Path(CHROMIUM).is_file():
    pytest.skip("no chromium (tests/run.sh installs Debian's chromium)", allow_module_level=True)
if not (WEB_APP_DIR / RUNTIME_FILE).is_file():
    pytest.skip(
        "web_demo npm packages missing: run bash web_demo/setup.sh", allow_module_level=True
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory) -> Path:
    """Where screenshots and the agreement table go."""
    path = Path(os.environ.get("EDGESEG_SCREENSHOTS") or tmp_path_factory.mktemp("web_demo"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def camera_file(tmp_path_factory) -> tuple[Path, np.ndarray]:
    """A phantom cine as Chromium's fake camera (.y4m)."""
    from edgeseg.train.cine import synth_cine
    from edgeseg.train.cine_writers import write_y4m

    cine = synth_cine(n=24, size=(240, 320), seed=1, fps=15.0, empty_fraction=0.0)
    path = tmp_path_factory.mktemp("camera") / "phantom.y4m"
    return write_y4m(cine.frames, path, 15.0), cine.frames


@pytest.fixture(scope="module")
def browser(camera_file):
    with sync_api.sync_playwright() as p:
        args = [*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={camera_file[0]}"]
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server():
    with WebServer(DEMO_MODEL, port=0) as srv:
        yield srv


def open_app(browser, url: str, source: str = "none"):
    """A fresh context and page on the app, after its model has loaded."""
    context = browser.new_context(viewport={"width": 1100, "height": 720})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{url}?source={source}")
    assert page.evaluate("window.edgeseg.ready") is True, page.inner_text("#message")
    assert not errors, errors
    return context, page


@pytest.fixture(scope="module")
def page(browser, server):
    context, page = open_app(browser, server.url)
    yield page
    context.close()


@pytest.fixture(scope="module")
def python_seg() -> Segmenter:
    return Segmenter(DEMO_MODEL)


def golden(case: str, name: str) -> tuple[np.ndarray, dict]:
    doc = json.loads((GOLDEN / case / "case.json").read_text())
    spec = doc[name]
    raw = gzip.decompress((GOLDEN / case / spec["file"]).read_bytes())
    return np.frombuffer(raw, np.dtype(spec["dtype"]).newbyteorder("<")), spec


def cases(kind: str) -> list[str]:
    names = json.loads((GOLDEN / "index.json").read_text())["cases"]
    return [n for n in names if json.loads((GOLDEN / n / "case.json").read_text())["kind"] == kind]


def b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array, np.uint8).tobytes()).decode()


def unb64(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), np.uint8)


def page_segment(page, frame: np.ndarray) -> dict[str, np.ndarray]:
    """The page's segmentation of a gray or RGB uint8 frame (RGB: the page's luma first)."""
    h, w = frame.shape[:2]
    channels = frame.shape[2] if frame.ndim == 3 else 1
    got = page.evaluate(
        "([f, w, h, ch]) => window.edgeseg.segmentBase64(f, w, h, ch)", [b64(frame), w, h, channels]
    )
    return {k: v if k == "presence" else unb64(v) for k, v in got.items()}


def save_shot(page, out_dir: Path, name: str) -> Path:
    path = out_dir / name
    page.screenshot(path=str(path))
    assert path.stat().st_size > 1000
    return path


# ------------------------------------------------------------------ golden parity


def test_model_frames_match_python_runtime(page, python_seg, out_dir) -> None:
    """Golden model frames and the bundled clip: quantized outputs and masks equal Python's."""
    from importlib import util

    spec = util.spec_from_file_location("make_clip", WEB_APP_DIR / "tools/make_clip.py")
    make_clip = util.module_from_spec(spec)
    spec.loader.exec_module(make_clip)
    frames = [(c, golden(c, "frame")) for c in cases("model")]
    named = [(c, arr.reshape(sp["shape"])) for c, (arr, sp) in frames]
    named += [(f"clip_{k:02d}", f) for k, f in enumerate(make_clip.clip_frames())]
    rows = []
    for name, gray in named:
        got = page_segment(page, gray)
        want = python_seg.segment(gray)
        quant = python_seg.interpreter.get_tensor(python_seg.output_details["mask"]["index"])
        mask = got["mask"]
        rows.append(
            {
                "frame": name,
                "size": list(gray.shape),
                "output_values_equal": float(
                    np.mean(np.asarray(got["maskValues"]) == quant.ravel())
                ),
                "mask_pixels_equal": float(np.mean(mask == want.mask.ravel())),
                "mask_area": int(want.mask.sum()),
                "presence_web": got["presence"],
                "presence_python": want.presence,
            }
        )
        if name.startswith("model_"):
            np.testing.assert_array_equal(mask, golden(name, "mask")[0])
    (out_dir / "web_parity.json").write_text(json.dumps(rows, indent=1))
    print(f"\nweb vs Python runtime, {len(rows)} frames (demo model):")
    for r in rows:
        agree = f"outputs {r['output_values_equal']:.4f} mask {r['mask_pixels_equal']:.4f}"
        print(f"  {r['frame']:>22} {agree}")
    assert all(r["output_values_equal"] == 1.0 and r["mask_pixels_equal"] == 1.0 for r in rows)
    assert all(r["presence_web"] == r["presence_python"] for r in rows)
    assert sum(r["mask_area"] > 0 for r in rows) >= len(rows) // 2  # real masks, not empty ones


# Typed arrays in and out of the page as base64 (JSON lists of numbers are slow).
JS_ARRAYS = """
    const E = window.edgeseg;
    const D = (text, Type) => new Type(E.fromBase64(text).buffer);
"""


def raw64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode()


def test_preprocessing_matches_golden_bytes(page) -> None:
    """Gray conversion, Pillow bilinear, percentile stretch and quantization, byte for byte."""
    for case in cases("preprocess"):
        frame, fspec = golden(case, "frame")
        meta = (GOLDEN / case / "metadata.json").read_text()
        shape = fspec["shape"]
        channels = shape[2] if len(shape) == 3 else 1
        bits = 16 if fspec["dtype"] == "uint16" else 8
        tensor = golden(case, "input_tensor")[1]
        got = page.evaluate(
            f"""([data, w, h, ch, bits, metaText, t]) => {{ {JS_ARRAYS}
                const c = E.contract;
                const meta = c.parseMetadata(metaText);
                const frame = D(data, bits === 16 ? Uint16Array : Uint8Array);
                const gray = c.toGray(frame, w, h, ch, bits);
                const resized = c.resizeBilinear(gray, w, h, meta.width, meta.height);
                const pixels = c.prepare(meta, gray, w, h);
                const spec = {{dtype: t.dtype, scale: t.scale, zeroPoint: t.zero_point}};
                const table = c.inputTable(meta, spec);
                const input = Float64Array.from(pixels, (p) => table[p]);
                return {{gray: E.toBase64(gray), resized: E.toBase64(resized),
                        pixels: E.toBase64(pixels), input: E.toBase64(input)}};
            }}""",
            [raw64(frame), shape[1], shape[0], channels, bits, meta, tensor],
        )
        for key, name in (("gray", "gray"), ("resized", "resized"), ("pixels", "preprocessed")):
            np.testing.assert_array_equal(unb64(got[key]), golden(case, name)[0], err_msg=case)
        got_input = np.frombuffer(base64.b64decode(got["input"]), np.float64)
        want = golden(case, "input_tensor")[0].astype(np.float64)
        np.testing.assert_array_equal(got_input, want, err_msg=f"{case} input")


def test_resize_sweep_matches_pillow(page) -> None:
    doc = json.loads((GOLDEN / "resize_sweep/case.json").read_text())
    src, bil, near = (golden("resize_sweep", k)[0] for k in ("sources", "bilinear", "nearest"))
    got = page.evaluate(
        f"""([src, entries]) => {{ {JS_ARRAYS}
            const all = D(src, Uint8Array);
            return entries.map((e) => {{
                const [iw, ih] = e.in, [ow, oh] = e.out;
                const s = all.slice(e.src, e.src + iw * ih);
                return [E.toBase64(E.contract.resizeBilinear(s, iw, ih, ow, oh)),
                        E.toBase64(E.contract.resizeNearest(s, iw, ih, ow, oh))];
            }});
        }}""",
        [raw64(src), doc["entries"]],
    )
    for e, (b, n) in zip(doc["entries"], got, strict=True):
        size = e["out"][0] * e["out"][1]
        np.testing.assert_array_equal(
            unb64(b), bil[e["bilinear"] : e["bilinear"] + size], err_msg=str(e)
        )
        np.testing.assert_array_equal(
            unb64(n), near[e["nearest"] : e["nearest"] + size], err_msg=str(e)
        )


TYPED = {"uint8": "Uint8Array", "int8": "Int8Array", "float32": "Float32Array"}


def test_postprocessing_and_overlay_match_golden(page) -> None:
    for case in cases("postprocess") + cases("model"):
        doc = json.loads((GOLDEN / case / "case.json").read_text())
        out, ospec = golden(case, "output_tensor")
        pres = golden(case, "presence_tensor") if "presence_tensor" in doc else (None, None)
        gray, gspec = golden(case, "gray")
        h, w = gspec["shape"]
        got = page.evaluate(
            f"""([out, os, pres, ps, gray, w, h, metaText]) => {{ {JS_ARRAYS}
                const c = E.contract;
                const T = {json.dumps(TYPED).replace('"', "")};
                const meta = c.parseMetadata(metaText);
                const t = (s) => ({{dtype: s.dtype, scale: s.scale, zeroPoint: s.zero_point}});
                const [, mh, mw, ch] = os.shape;
                const prob = c.dequantize(D(out, T[os.dtype]), t(os));
                const presence = pres ? c.dequantize(D(pres, T[ps.dtype]), t(ps))[0] : null;
                const model = c.probabilitiesToMask(prob, mw, mh, ch, presence, meta.postprocess);
                const frame = c.masksToFrame(model, mw, mh, ch, w, h);
                const rgba = c.overlayRgba(D(gray, Uint8Array), frame, w, h, meta.classes);
                return {{model: E.toBase64(model), frame: E.toBase64(frame),
                        rgba: E.toBase64(rgba)}};
            }}""",
            [
                raw64(out),
                ospec,
                None if pres[0] is None else raw64(pres[0]),
                pres[1],
                raw64(gray),
                w,
                h,
                (GOLDEN / case / doc["metadata"]).read_text(),
            ],
        )
        np.testing.assert_array_equal(unb64(got["model"]), golden(case, "mask_model")[0], case)
        np.testing.assert_array_equal(unb64(got["frame"]), golden(case, "mask")[0], case)
        rgb = unb64(got["rgba"]).reshape(-1, 4)[:, :3]
        assert hashlib.sha256(rgb.tobytes()).hexdigest() == doc["overlay"]["sha256"], case


# ------------------------------------------------------------------ live page


def test_threshold_slider_reruns_postprocessing_only(page) -> None:
    gray = golden("model_synth_131x97", "frame")[0].reshape(97, 131)
    page.evaluate(
        """([g]) => window.edgeseg.segmentFrame(
            {gray: window.edgeseg.fromBase64(g), width: 131, height: 97})""",
        [b64(gray)],
    )
    frames = page.evaluate("window.edgeseg.state.frames")
    areas = {}
    for threshold in ("0.2", "0.9"):
        page.fill("#threshold", threshold)  # fires input: post-processing again
        assert page.evaluate("window.edgeseg.state.frames") == frames  # no new inference
        mask = unb64(page.evaluate("window.edgeseg.toBase64(window.edgeseg.state.last.mask)"))
        want = Segmenter(DEMO_MODEL, threshold=float(threshold)).segment(gray).mask.ravel()
        np.testing.assert_array_equal(mask, want)
        areas[threshold] = int(mask.sum())
    assert areas["0.2"] > areas["0.9"]
    page.fill("#threshold", "0.5")


def test_live_camera_segments_and_agrees(browser, server, python_seg, out_dir, camera_file) -> None:
    context, page = open_app(browser, server.url, source="camera")
    try:
        page.wait_for_function("window.edgeseg.state.frames >= 8", timeout=TIMEOUT_MS)
        fps = int(page.inner_text("#fps"))
        assert fps >= 1
        assert page.inner_text("#latency").endswith("ms")
        save_shot(page, out_dir, "web_camera_overlay.png")
        recent = page.evaluate(
            "window.edgeseg.state.recent.slice(-3).map((f) => ({w: f.width, h: f.height, "
            "gray: window.edgeseg.toBase64(f.gray), mask: window.edgeseg.toBase64(f.mask)}))"
        )
    finally:
        context.close()
    assert len(recent) == 3
    nonempty, decode_diffs = 0, []
    for f in recent:
        assert (f["w"], f["h"]) == (320, 240)  # the fake camera streams the .y4m's size
        gray = unb64(f["gray"]).reshape(f["h"], f["w"])
        want = python_seg.segment(gray).mask.ravel()
        np.testing.assert_array_equal(unb64(f["mask"]), want)
        nonempty += int(want.sum() > 0)
        # How far the browser's decoding (studio-range YUV -> RGB -> luma) moved the pixels:
        # against the cine frame it shows (the closest one).
        diffs = np.abs(camera_file[1].astype(np.int16) - gray.astype(np.int16))
        decode_diffs.append(int(diffs.reshape(len(diffs), -1).max(axis=1).min()))
    assert nonempty >= 1
    (out_dir / "web_camera_decode.json").write_text(json.dumps({"max_abs_diff": decode_diffs}))
    print(f"\ncamera frames in the page vs the cine's pixels: max |diff| {decode_diffs} levels")
    assert max(decode_diffs) <= 2  # the page sees the camera's frames, not something else


def test_video_file_segments_and_agrees(page, camera_file, python_seg, tmp_path) -> None:
    from edgeseg.train.cine_writers import write_mp4

    video = write_mp4(camera_file[1], tmp_path / "phantom.mp4", 15.0)
    frames = page.evaluate("window.edgeseg.state.frames")
    page.set_input_files("#src-video", str(video))
    try:
        page.wait_for_function(f"window.edgeseg.state.frames >= {frames + 5}")
        assert page.locator("#message").is_hidden(), page.inner_text("#message")
        last = page.evaluate(
            "(({width: w, height: h, gray, mask}) => ({w, h, gray: window.edgeseg.toBase64(gray),"
            " mask: window.edgeseg.toBase64(mask)}))(window.edgeseg.state.recent.at(-1))"
        )
    finally:
        page.evaluate("window.edgeseg.stopSource()")
    gray = unb64(last["gray"]).reshape(last["h"], last["w"])
    np.testing.assert_array_equal(unb64(last["mask"]), python_seg.segment(gray).mask.ravel())


def test_offline_reload_still_segments(browser, out_dir) -> None:
    srv = WebServer(DEMO_MODEL, port=0).start()
    context, page = open_app(browser, srv.url)
    try:
        page.wait_for_function(
            """async () => {
                const c = await caches.open('edgeseg-web-v1');
                const keys = (await c.keys()).map((r) => r.url);
                const has = (end) => keys.some((u) => u.endsWith(end));
                return has('.wasm') && has('model.tflite');
            }"""
        )
        srv.close()  # the network is gone: no server, and the context offline
        context.set_offline(True)
        page.reload()
        assert page.evaluate("window.edgeseg.ready") is True, page.inner_text("#message")
        page.click("#src-clip")  # the bundled clip, offline too
        page.wait_for_function("window.edgeseg.state.frames >= 3")
        save_shot(page, out_dir, "web_offline.png")
    finally:
        context.close()


@pytest.mark.parametrize("kind", ["f32", "i8"])
def test_own_model_runs_and_agrees(page, tiny_tflite, tmp_path, kind) -> None:
    """A model picked on the page (float32 I/O, uint8 I/O) segments as the Python runtime does."""
    path = tmp_path / f"own_{kind}.tflite"
    path.write_bytes(static_batch(tiny_tflite[kind].read_bytes()))  # as `edgeseg convert` does
    page.set_input_files("#model-file", str(path))
    page.wait_for_function(
        f"document.getElementById('model-name').textContent.includes('{path.name}')"
    )
    try:
        seg = Segmenter(path)
        rng = np.random.default_rng(2)
        for size in ((32, 32), (50, 70)):
            frame = rng.integers(0, 256, size, dtype=np.uint8)
            got, want = page_segment(page, frame), seg.segment(frame)
            np.testing.assert_array_equal(got["mask"], want.mask.ravel())
    finally:
        page.evaluate(
            "async () => window.edgeseg.useModel(new Uint8Array("
            "await (await fetch('model.tflite')).arrayBuffer()), 'model_int8.tflite')"
        )


def int8_io_model() -> bytes:
    """A 32x32 int8 model with int8 (not uint8) input and output tensors, with metadata."""
    import tf_keras

    from edgeseg.config import Preprocessing, RunConfig
    from edgeseg.convert.calibration import CalibrationSet
    from edgeseg.convert.tflite import convert_model, metadata_for
    from edgeseg.convert.variants import get_variant
    from edgeseg.edge_runtime.metadata import embed_metadata
    from edgeseg.train.models import build_resunet

    tf_keras.utils.set_random_seed(0)
    model = build_resunet(input_shape=(32, 32, 1), base_filters=4, depth=2)
    cfg = RunConfig(preprocessing=Preprocessing(height=32, width=32))
    frames = np.random.default_rng(0).integers(0, 256, (8, 32, 32), dtype=np.uint8)
    variant = get_variant("int8")
    data = convert_model(model, variant, "int8", CalibrationSet(frames, "random frames"))
    return static_batch(embed_metadata(data, metadata_for(cfg, variant, True)))


def unknown_op_model() -> bytes:
    """The demo model (batch 1) with one operator's code set to 999, which no runtime knows."""
    import struct

    from edgeseg.edge_runtime.metadata import _Reader

    data = bytearray(static_batch(DEMO_MODEL.read_bytes()))
    reader = _Reader(bytes(data))
    codes = reader.table_vector(reader.field(reader.root(), 1))  # Model.operator_codes
    code = next(c for c in codes if reader.field(c, 0) and reader.field(c, 3))
    data[reader.field(code, 0)] = 127  # deprecated_builtin_code: "see builtin_code"
    struct.pack_into("<i", data, reader.field(code, 3), 999)  # builtin_code
    return bytes(data)


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory, tiny_tflite) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bad")
    data = DEMO_MODEL.read_bytes()
    files = {
        "corrupt.tflite": data[: len(data) // 3],
        "no_metadata_float32.tflite": tiny_tflite["plain_f32"].read_bytes(),
        "dynamic_batch.tflite": DYNAMIC_MODEL.read_bytes(),
        "int8_io.tflite": int8_io_model(),
        "unknown_op.tflite": unknown_op_model(),
        "notes.png": b"this is a text file, not a picture\n",
    }
    for name, content in files.items():
        (root / name).write_bytes(content)
    return {name: root / name for name in files}


@pytest.mark.parametrize(
    "name, field, expected",
    [
        ("corrupt.tflite", "#model-file", "corrupt"),
        ("no_metadata_float32.tflite", "#model-file", "has no edgeseg metadata"),
        ("dynamic_batch.tflite", "#model-file", "dynamic batch"),
        ("int8_io.tflite", "#model-file", "int8 input/output tensors"),
        ("unknown_op.tflite", "#model-file", "cannot run unknown_op.tflite: Op builtin_code"),
        ("notes.png", "#src-images", "is not an image"),
    ],
)
def test_bad_file_is_one_clear_message(page, bad_files, out_dir, name, field, expected) -> None:
    page.evaluate("document.getElementById('message').hidden = true")
    page.set_input_files(field, str(bad_files[name]))
    message = page.locator("#message")
    message.wait_for(state="visible")
    text = message.inner_text()
    assert expected in text and name in text, text
    assert "\n" not in text.strip()
    save_shot(page, out_dir, f"web_error_{Path(name).stem}.png")
    # The model that was running still runs.
    assert "model_int8.tflite" in page.inner_text("#model-name")
    assert page_segment(page, np.full((64, 64), 90, np.uint8))["maskValues"].size == 128 * 128


def test_outline_and_opacity_display_modes(page) -> None:
    """Outline paints only the mask's border in full colour; opacity 0 leaves the frame gray."""
    got = page.evaluate(
        """() => {
            const c = window.edgeseg.contract, n = 6;
            const gray = new Uint8Array(n * n).fill(100);
            const mask = new Uint8Array(n * n).map((_, i) => {
                const x = i % n, y = Math.floor(i / n);
                return x >= 1 && x <= 4 && y >= 1 && y <= 4 ? 1 : 0;
            });
            const cls = [{name: 'nerve', color: [255, 220, 0]}];
            const rgb = (a) => Array.from(a).filter((_, i) => i % 4 !== 3);
            return {outline: rgb(c.overlayRgba(gray, mask, n, n, cls, 115, true)),
                    clear: rgb(c.overlayRgba(gray, mask, n, n, cls, 0, false)),
                    mask: Array.from(mask)};
        }"""
    )
    outline = np.asarray(got["outline"]).reshape(6, 6, 3)
    mask = np.asarray(got["mask"]).reshape(6, 6).astype(bool)
    interior = np.zeros((6, 6), bool)
    interior[2:4, 2:4] = True
    border = mask & ~interior
    assert (outline[border] == [255, 220, 0]).all()
    assert (outline[~border] == 100).all()
    assert (np.asarray(got["clear"]) == 100).all()


def test_images_and_clip_decode_exactly(page, python_seg, tmp_path) -> None:
    """PNG files and the bundled clip reach the page's contract with Python's exact pixels."""
    from importlib import util

    from PIL import Image

    spec = util.spec_from_file_location("make_clip", WEB_APP_DIR / "tools/make_clip.py")
    make_clip = util.module_from_spec(spec)
    spec.loader.exec_module(make_clip)
    frames = make_clip.clip_frames()
    paths = []
    for k in (0, 17):
        paths.append(tmp_path / f"frame_{k}.png")
        Image.fromarray(frames[k]).save(paths[-1])
    page.set_input_files("#src-images", [str(p) for p in paths])
    page.wait_for_function("window.edgeseg.state.last && window.edgeseg.state.last.name")
    last = page.evaluate(
        "(({gray, mask, name}) => ({name, gray: window.edgeseg.toBase64(gray),"
        " mask: window.edgeseg.toBase64(mask)}))(window.edgeseg.state.last)"
    )
    assert last["name"] == "frame_0.png"
    np.testing.assert_array_equal(unb64(last["gray"]), frames[0].ravel())
    np.testing.assert_array_equal(unb64(last["mask"]), python_seg.segment(frames[0]).mask.ravel())
    clip = page.evaluate(
        """async () => {
            const {openClip} = await import('./js/sources.js');
            const clip = await openClip();
            return clip.frames.map((f) => window.edgeseg.toBase64(f.gray));
        }"""
    )
    assert len(clip) == len(frames)
    for got, want in zip(clip, frames, strict=True):
        np.testing.assert_array_equal(unb64(got), want.ravel())
