"""Parity without labels: agreement, flips and stability on an unlabelled clip, the verdict from
the rules that apply, the report, and ``edgeseg parity --source`` end to end (TF-free)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgeseg.cli import app
from edgeseg.errors import ConfigError, DataError
from edgeseg.evaluation.live_parity import LiveParityAccumulator
from edgeseg.evaluation.parity_report import write_report

REF, CAND = "float", "int8"


def _blob(present: bool, shift: int = 0, size: int = 24) -> np.ndarray:
    """A probability map with a square 'nerve' (or nothing)."""
    prob = np.full((size, size), 0.05)
    if present:
        prob[6 + shift : 16 + shift, 6:16] = 0.95
    return prob


def _run(n: int, cand_present, shift=lambda i: 0, block: int = 10) -> dict:
    acc = LiveParityAccumulator([REF, CAND], block=block)
    for i in range(n):
        acc.add_frame(
            {REF: _blob(True), CAND: _blob(cand_present(i), shift(i))},
            size=(48, 48),
            timestamp_s=i / 30,
        )
    return acc.result()


def test_identical_models_pass_without_a_dice_check() -> None:
    r = _run(150, lambda i: True)
    checks = {c["check"] for c in r["verdict"]["checks"]}
    assert checks == {"agreement", "presence_flips"}
    assert "dice_delta" in r["not_applicable"] and "dice_delta" in r["verdict"]["not_applicable"]
    assert r["verdict"]["outcome"] == "PASS"
    assert r["ground_truth"] is False and r["paired_tests"] == []
    agree = r["agreement"][0]["mask_dice"]["nerve"]
    assert agree["mean"] == 1.0 and agree["unit"] == "block" and agree["units"] == 15
    assert r["resampling"] == {
        "unit": "block",
        "frames": 150,
        "subjects": None,
        "blocks": 15,
        "block": 10,
        "note": r["resampling"]["note"],
    }


def test_flips_fail_and_are_listed() -> None:
    missing = {i for i in range(60) if i % 4 == 0}  # the candidate loses the nerve on 15 of 60
    r = _run(60, lambda i: i not in missing)
    flips = r["agreement"][0]["presence_flips"]
    assert flips["count"] == len(missing)
    assert flips["frames"] == [f"frame {i}" for i in sorted(missing)]
    assert len(flips["explained"]) == len(missing)
    assert r["verdict"]["outcome"] == "FAIL"
    failed = {c["check"] for c in r["verdict"]["checks"] if c["outcome"] == "FAIL"}
    assert failed == {"agreement", "presence_flips"}


def test_stability_counts_flicker_of_each_model() -> None:
    r = _run(30, lambda i: i % 2 == 0)  # the candidate blinks every frame
    stab = r["stability"]
    assert stab[REF]["classes"]["nerve"]["flicker"] == 0
    assert stab[REF]["classes"]["nerve"]["dice_mean"] == 1.0
    assert stab[CAND]["classes"]["nerve"]["flicker"] == 29
    assert stab[CAND]["classes"]["nerve"]["present_frames"] == 15
    row = r["per_image"][1]
    assert row[f"{CAND}/nerve/steady_dice"] == 0.0 and row[f"{REF}/nerve/steady_dice"] == 1.0
    assert row["timestamp_s"] == pytest.approx(1 / 30)


def test_moving_mask_lowers_stability_not_agreement() -> None:
    r = _run(20, lambda i: True, shift=lambda i: i % 3)
    cand = r["stability"][CAND]["classes"]["nerve"]
    assert 0.0 < cand["dice_mean"] < 1.0
    assert r["stability"][REF]["classes"]["nerve"]["dice_mean"] == 1.0


def test_bad_use() -> None:
    with pytest.raises(ConfigError, match="--block"):
        LiveParityAccumulator([REF, CAND], block=0)
    with pytest.raises(ConfigError, match="needs a reference"):
        LiveParityAccumulator([REF, CAND], baselines=[REF])
    acc = LiveParityAccumulator([REF, CAND])
    with pytest.raises(DataError, match="no ground truth"):
        acc.add(np.zeros((4, 4)), {REF: np.zeros((4, 4)), CAND: np.zeros((4, 4))})
    acc.add_frame({REF: _blob(True), CAND: _blob(True)})
    with pytest.raises(DataError, match="at least 2 frames"):
        acc.result()


def test_one_block_falls_back_to_frames() -> None:
    r = _run(8, lambda i: True, block=10)
    assert r["resampling"]["unit"] == "frame"
    assert r["agreement"][0]["mask_dice"]["nerve"]["unit"] == "frame"


def test_report_says_what_was_not_computed(tmp_path: Path) -> None:
    r = _run(40, lambda i: i != 5)
    r["source"] = {"name": "clip.mp4", "frame_rate": 30.0, "notes": []}
    paths = write_report(r, tmp_path)
    page = paths["html"].read_text()
    assert "Without ground truth" in page and "Stability over the clip" in page
    assert "Accuracy vs ground truth" not in page and "Paired tests" not in page
    assert "frame 5" in page  # the flipped frame is listed
    doc = json.loads(paths["json"].read_text())
    assert doc["verdict"]["outcome"] == r["verdict"]["outcome"]


# --------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("av")
    from edgeseg.train.cine import synth_cine
    from edgeseg.train.cine_writers import write_mp4

    cine = synth_cine(24, (48, 64), seed=3)
    return write_mp4(cine.frames, tmp_path_factory.mktemp("clip") / "clip.mp4", cine.fps)


@pytest.mark.slow
def test_cli_parity_on_a_clip_with_a_float_tflite(
    tmp_path: Path, clip: Path, tiny_tflite: dict[str, Path]
) -> None:
    out = tmp_path / "report"
    result = CliRunner().invoke(
        app,
        [
            "parity",
            "--float",
            str(tiny_tflite["f32"]),
            "--tflite",
            str(tiny_tflite["i8"]),
            "--source",
            str(clip),
            "--out",
            str(out),
            "--block",
            "4",
        ],
    )
    doc = json.loads((out / "report.json").read_text())
    assert result.exit_code == doc["verdict"]["exit_code"], result.output
    assert doc["frames"] == 24 and doc["ground_truth"] is False
    assert doc["resampling"]["unit"] == "block" and doc["resampling"]["blocks"] == 6
    assert set(doc["stability"]) == {"float TFLite", "int8 TFLite"}
    assert [row["image"] for row in doc["per_image"]] == [f"frame {i}" for i in range(24)]
    assert {c["check"] for c in doc["verdict"]["checks"]} == {"agreement", "presence_flips"}
    assert "without labels" in result.output


@pytest.mark.slow
def test_cli_bad_source_is_one_line_and_writes_nothing(
    tmp_path: Path, tiny_tflite: dict[str, Path]
) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\0" * 256)
    for source, message in ((tmp_path / "missing.mp4", "not found"), (broken, "broken.mp4")):
        result = CliRunner().invoke(
            app,
            [
                "parity",
                "--float",
                str(tiny_tflite["f32"]),
                "--tflite",
                str(tiny_tflite["i8"]),
                "--source",
                str(source),
                "--out",
                str(tmp_path / "report"),
            ],
        )
        assert result.exit_code == 2, result.output
        lines = [line for line in result.output.splitlines() if line.startswith("edgeseg: ")]
        assert len(lines) == 1 and message in lines[0], result.output
        assert not (tmp_path / "report").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "exactly one of --data"),
        (["--data", "d", "--source", "s"], "exactly one of --data"),
        (["--source", "clip.mp4"], "expected a run folder or a float .tflite"),
    ],
)
def test_cli_bad_use_is_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(
        app,
        [
            "parity",
            "--float",
            str(tmp_path / "nope"),
            "--tflite",
            "m.tflite",
            "--out",
            str(tmp_path / "parity-report"),
            *args,
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0]
    assert not (tmp_path / "parity-report").exists()


class _Camera:
    """A live frame source test double: a moving square, frames on its own clock."""

    name, live, frame_rate, frame_count = "camera-test", True, 30.0, None

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.closed = False

    def __iter__(self):
        from edgeseg.edge_runtime.sources.base import SourceFrame

        for i in range(10_000):  # a camera does not end by itself
            image = np.full((40, 48), 30, np.uint8)
            image[10 + i % 5 : 25 + i % 5, 12:30] = 220
            yield SourceFrame(image, i, i / 30, self.name)

    def close(self) -> None:
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def test_a_live_source_needs_a_limit(tmp_path: Path) -> None:
    from edgeseg.contract import FrameContract
    from edgeseg.evaluation.live_run import Model, run_live_parity

    contract = FrameContract.default((16, 16))

    def predict(pixels: np.ndarray):
        return (pixels[..., None] / 255.0), None  # bright = nerve, the same for both models

    ref, cand = Model("float", contract, predict), Model("int8", contract, predict)
    camera = _Camera()
    with pytest.raises(ConfigError, match="--limit"):
        run_live_parity(camera, cand, [ref], tmp_path / "r1")
    assert camera.closed and not (tmp_path / "r1").exists()
    camera = _Camera()
    report = run_live_parity(camera, cand, [ref], tmp_path / "r2", limit=25, block=5)
    assert camera.closed and report["frames"] == 25
    assert report["source"]["live"] is True and report["source"]["limit"] == 25
    assert report["agreement"][0]["mask_dice"]["nerve"]["mean"] == 1.0
    assert (tmp_path / "r2" / "report.html").is_file()


TF_FREE_BODY = """
import json
from edgeseg.evaluation.live_run import FLOAT_TFLITE, INT8, run_live_parity, tflite_model
import edgeseg.edge_runtime.dicom_seg  # the SEG writer imports without TF too
clip, f32, i8, out = sys.argv[1:5]
report = run_live_parity(clip, tflite_model(i8, INT8), [tflite_model(f32, FLOAT_TFLITE)], out)
heavy = sorted(
    m for m in sys.modules
    if m.split(".")[0] in ("tensorflow", "tf_keras", "keras") and sys.modules[m] is not None
)
print(json.dumps({"frames": report["frames"], "heavy": heavy}))
"""


@pytest.mark.slow
def test_live_parity_with_a_float_tflite_needs_no_tensorflow(
    tmp_path: Path, clip: Path, tiny_tflite: dict[str, Path]
) -> None:
    import subprocess
    import sys
    import textwrap

    from test_segmenter import BLOCKED_PRELUDE

    code = textwrap.dedent(BLOCKED_PRELUDE) + textwrap.dedent(TF_FREE_BODY)
    args = [str(clip), str(tiny_tflite["f32"]), str(tiny_tflite["i8"]), str(tmp_path / "r")]
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == {"frames": 24, "heavy": []}
    assert (tmp_path / "r" / "report.json").is_file()
