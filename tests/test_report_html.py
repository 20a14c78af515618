"""edgeseg.evaluation.parity_report: report.json + a self-contained report.html, rendered in
headless Chromium to check what a reader sees (the PASS / FAIL / INCONCLUSIVE banner, tables with
labelled intervals, flipped frames, histograms, decoded overlay images)."""

from __future__ import annotations

import contextlib
import html as html_module
import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgeseg.evaluation.html import OverlayFrame, json_ready, png_data_uri, svg_histogram
from edgeseg.evaluation.parity import compare_predictions
from edgeseg.evaluation.parity_report import write_report
from edgeseg.evaluation.verdict import Tolerances
from edgeseg.postprocess import overlay

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium not installed (Debian: apt-get install chromium); "
    "the HTML is still checked as text",
)
FLOAT, INT8 = "float (original)", "int8 TFLite"
PASS_GREEN = (0x1A, 0x7F, 0x37)
FAIL_RED = (0xC6, 0x28, 0x28)
UNSURE_AMBER = (0x9A, 0x67, 0x00)
COLOURS = {"pass": PASS_GREEN, "fail": FAIL_RED, "inconclusive": UNSURE_AMBER}
FRAMES = {"pass": 160, "fail": 24, "inconclusive": 24}  # 0 flips in 24 frames cannot bound 3%


def frames(n: int = 24, size: int = 40, seed: int = 0):
    """Gray frames, ground truths (every 4th empty) and float probabilities that fit them."""
    rng = np.random.default_rng(seed)
    grays, gts, probs = [], [], []
    yy, xx = np.mgrid[0:size, 0:size]
    for i in range(n):
        cy, cx, r = rng.uniform(12, 28), rng.uniform(12, 28), rng.uniform(5, 9)
        dist = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
        gray = np.clip(rng.gamma(2.0, 25.0, (size, size)) + 60 * (dist <= r), 0, 255)
        grays.append(gray.astype(np.uint8))
        if i % 4 == 0:
            gts.append(np.zeros((size, size), np.uint8))
            probs.append(np.full((size, size, 1), 0.02))
        else:
            gts.append((dist <= r).astype(np.uint8))
            probs.append((1 / (1 + np.exp((dist - r - rng.uniform(-1, 1)) * 1.2)))[..., None])
    return grays, gts, probs


def build_report(out: Path, kind: str) -> tuple[dict, list[OverlayFrame]]:
    grays, gts, probs = frames(FRAMES[kind])
    rng = np.random.default_rng(1)
    cand = probs
    if kind == "fail":
        cand = [np.clip(p + rng.normal(0, 0.25, p.shape), 0, 1) for p in probs]
    names = [f"s{i // 8:02d}_{i % 8:04d}" for i in range(len(gts))]
    res = compare_predictions(
        gts,
        {FLOAT: probs, INT8: cand},
        names=names,
        subjects=[n[:3] for n in names],
        tolerances=Tolerances(),
    )
    res["latency"] = {
        "frame_size": [40, 40],
        "backend": "litert",
        "threads": 1,
        "rows": [
            {
                "model": FLOAT,
                "what": "Keras model.predict, 1 frame",
                "ms_mean": 41.0,
                "ms_p50": 40.0,
                "ms_p90": 45.0,
                "runs": 5,
            },
            {
                "model": INT8,
                "what": "LiteRT invoke() only",
                "ms_mean": 2.0,
                "ms_p50": 2.0,
                "ms_p90": 2.2,
                "runs": 5,
            },
        ],
        "ratios": {"keras_predict_over_invoke": 20.0, "e2e_over_invoke": 1.1},
    }
    res["warnings"] = ["a <test> warning & its escaping"]
    colors = [(255, 220, 0)]
    order = np.argsort([r[f"{INT8}/nerve/dice"] for r in res["per_image"]])
    shown = [("worst Dice", int(i)) for i in order[:2]] + [("best Dice", int(order[-1]))]
    overlays = []
    for group, i in shown:
        mask_f = (probs[i] >= 0.5).astype(np.uint8)
        mask_c = (cand[i] >= 0.5).astype(np.uint8)
        overlays.append(
            OverlayFrame(
                group=group,
                image=names[i],
                caption=f"Dice {res['per_image'][i][f'{INT8}/nerve/dice']:.3f}",
                panels=[
                    ("ground truth", overlay(grays[i], gts[i], colors)),
                    (FLOAT, overlay(grays[i], mask_f, colors)),
                    (INT8, overlay(grays[i], mask_c, colors)),
                ],
            )
        )
    write_report(res, out, overlays=overlays, credit="Synthetic phantoms, CC0 <test>")
    return res, overlays


@pytest.fixture(scope="module", params=["pass", "fail", "inconclusive"])
def report(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"report_{request.param}")
    res, overlays = build_report(out, request.param)
    assert res["verdict"]["outcome"] == request.param.upper()
    assert res["passed"] is (request.param == "pass")
    return request.param, out, res, overlays


# --------------------------------------------------------------------------- as files and text


def test_json_is_strict_and_complete(report):
    kind, out, res, overlays = report
    text = (out / "report.json").read_text(encoding="utf-8")
    assert "NaN" not in text and "Infinity" not in text
    doc = json.loads(text)
    assert doc["passed"] is (kind == "pass") and doc["verdict"]["passed"] is doc["passed"]
    assert doc["credit"] == "Synthetic phantoms, CC0 <test>"
    assert doc["overlays"] == [o.to_dict() for o in overlays]
    assert len(doc["per_image"]) == FRAMES[kind] and doc["schema"] == "edgeseg.parity/2"
    assert doc["verdict"]["outcome"] == kind.upper()
    assert doc["resampling"]["unit"] == "subject" and doc["empty_policy"]["name"] == "kaggle"
    assert {c["unit"] for c in doc["verdict"]["checks"]} == {"subject", "frame"}
    assert not list(out.glob(".*.tmp"))  # atomic writes leave nothing behind


def test_html_is_self_contained(report):
    _, out, _, overlays = report
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//|file:)""", html, re.I)
    assert "@import" not in html and "url(" not in html
    srcs = re.findall(r'<img src="([^"]+)"', html)
    assert len(srcs) == sum(len(o.panels) for o in overlays) == 9
    assert all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "a &lt;test&gt; warning &amp; its escaping" in html  # text is escaped
    assert "Synthetic phantoms, CC0 &lt;test&gt;" in html.split("<footer>")[1]
    checks = html.split("<h2>Checks</h2>")[1].split("</table>")[0]
    assert "subject-level bootstrap" in checks and "frame-level Clopper-Pearson" in checks
    assert "empty-mask policy" in html and "<h2>Flipped frames</h2>" in html


def test_png_data_uri_and_histogram_helpers():
    rgb = np.zeros((10, 30, 3), np.uint8)
    rgb[..., 0] = 200
    import base64
    import io

    for src, expect in ((rgb, (180, 60)), (np.zeros((100, 800, 3), np.uint8), (320, 40))):
        uri = png_data_uri(src)
        img = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
        assert img.size == expect  # small frames enlarged by a whole factor, big ones shrunk
    svg = svg_histogram([0.0, 0.5, 0.5, 1.0, float("nan"), None], "t <x>")
    assert svg.startswith("<svg") and svg.count("<rect") == 3 and "(n=4)" in svg
    assert "t &lt;x&gt;" in svg
    assert json_ready({"a": np.float32(np.nan), "b": [np.int64(3), np.bool_(True)]}) == {
        "a": None,
        "b": [3, True],
    }


# --------------------------------------------------------------------------- in Chromium


def run_chromium(args: list[str], profile: Path, timeout: float = 90) -> str:
    """Run headless Chromium once (its own process group, killed if it hangs); stdout."""
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        *args,
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"chromium did not finish in {timeout}s")
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # helpers it left behind, if any
    assert proc.returncode == 0, err[-2000:]
    return out


PROBE = """<script>
window.addEventListener("load", () => {
  const q = (s) => [...document.querySelectorAll(s)];
  const v = document.querySelector(".verdict");
  const box = v.getBoundingClientRect();
  const probe = {
    verdict: document.querySelector(".verdict .big").textContent,
    verdictTop: box.top, verdictHeight: box.height,
    verdictBg: getComputedStyle(v).backgroundColor,
    reasons: q(".verdict .reasons li").map((li) => li.textContent),
    metricsRows: q("table.metrics tbody tr").map((tr) => tr.cells[0].textContent),
    agreementRows: q("table.agreement tbody tr").length,
    testRows: q("table.tests tbody tr").length,
    latencyRows: q("table.latency tbody tr").length,
    svgs: q("svg.hist").map((s) => [s.getBoundingClientRect().width,
                                   s.querySelectorAll("rect").length]),
    imgs: q("img").map((i) => [i.complete, i.naturalWidth, i.naturalHeight, i.alt]),
    footer: document.querySelector("footer").textContent,
  };
  const pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(probe);
  document.body.appendChild(pre);
});
</script>"""


@needs_chromium
def test_chromium_renders_the_report(report, tmp_path):
    kind, out, res, overlays = report
    html = (out / "report.html").read_text(encoding="utf-8")
    probe_page = tmp_path / "probe.html"  # a copy with a probe script; the report has none
    probe_page.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = run_chromium(
        ["--virtual-time-budget=5000", "--dump-dom", probe_page.as_uri()], tmp_path / "profile"
    )
    match = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert match, dom[-2000:]
    probe = json.loads(html_module.unescape(match.group(1)))

    assert probe["verdict"] == kind.upper()
    assert probe["verdictTop"] < 120 and probe["verdictHeight"] > 60  # big, at the top
    colour = COLOURS[kind]
    assert probe["verdictBg"] == f"rgb({colour[0]}, {colour[1]}, {colour[2]})"
    if kind != "pass":
        assert probe["reasons"] == res["verdict"]["reasons"] and probe["reasons"]
    if kind == "fail":
        assert any("mean mask agreement" in r for r in probe["reasons"])
    if kind == "inconclusive":
        assert any("more frames would decide" in r for r in probe["reasons"])
    assert probe["metricsRows"] == [FLOAT, INT8]
    assert probe["agreementRows"] == 1 and probe["testRows"] == 1 and probe["latencyRows"] == 2
    assert len(probe["svgs"]) == 3  # Dice per model + agreement with the float model
    assert all(width > 300 and bars > 0 for width, bars in probe["svgs"])
    expected = [label for o in overlays for label, _ in o.panels]
    assert [alt.split(":")[0] for *_, alt in probe["imgs"]] == expected
    assert all(done and w == 160 and h == 160 for done, w, h, _ in probe["imgs"])  # 40 px x4
    assert "Synthetic phantoms, CC0 <test>" in probe["footer"]


@needs_chromium
def test_chromium_screenshot_shows_the_verdict(report, tmp_path):
    kind, out, _, _ = report
    shot = tmp_path / f"{kind}.png"
    run_chromium(
        ["--window-size=1200,1800", f"--screenshot={shot}", (out / "report.html").as_uri()],
        tmp_path / "profile",
    )
    img = np.asarray(Image.open(shot).convert("RGB"))
    assert img.shape[:2] == (1800, 1200) and img.std() > 20  # not blank
    colour = np.array(COLOURS[kind])
    banner = np.all(np.abs(img[:200].astype(int) - colour) <= 2, axis=-1)
    assert banner.sum() > 50_000  # the big verdict banner fills the top
    for other in (np.array(c) for k, c in COLOURS.items() if k != kind):
        assert np.all(np.abs(img[:200].astype(int) - other) <= 2, axis=-1).sum() == 0
    keep = os.environ.get("EDGESEG_KEEP_SCREENSHOTS")
    if keep:  # for looking at it: EDGESEG_KEEP_SCREENSHOTS=/tmp/shots pytest ...
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)
