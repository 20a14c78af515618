"""The command line: --help everywhere, --version, and bad input as one line + exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from edgeseg import __version__
from edgeseg.cli import app

runner = CliRunner()


def _commands() -> list[list[str]]:
    import typer.main

    group = typer.main.get_command(app)
    out = []
    for name, cmd in group.commands.items():
        sub = getattr(cmd, "commands", None)
        if sub:
            out += [[name, s] for s in sub]
        else:
            out.append([name])
    return out


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"edgeseg {__version__}"


@pytest.mark.parametrize("cmd", _commands(), ids=lambda c: " ".join(c))
def test_every_command_has_help(cmd):
    result = runner.invoke(app, [*cmd, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and len(result.output.splitlines()) > 3


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "edgeseg.cli", *args], capture_output=True, text=True, timeout=300
    )


def _one_line_error(proc: subprocess.CompletedProcess, pattern: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("edgeseg: error:")]
    assert len(lines) == 1, proc.stderr
    assert pattern in lines[0]


def test_data_check_on_synthetic_data(synth_dir):
    result = runner.invoke(app, ["data", "check", str(synth_dir)])
    assert result.exit_code == 0, result.output
    assert "frames: 48" in result.output and "verdict: usable" in result.output


def test_data_check_flags_unusable_data(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(tmp_path / "images" / "a.png")
    (tmp_path / "images" / "b.png").write_bytes(b"garbage")
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(tmp_path / "masks" / "b.png")
    result = runner.invoke(app, ["data", "check", str(tmp_path)])
    assert result.exit_code == 1
    assert "a.png: no mask" in result.output and "b.png: unreadable image" in result.output


def test_data_synth_writes_layout(tmp_path):
    result = runner.invoke(app, ["data", "synth", "--out", str(tmp_path / "s"), "--n", "3"])
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "s" / "images").glob("*.png"))) == 3
    assert len(list((tmp_path / "s" / "masks").glob("*.png"))) == 3


def test_train_on_empty_folder_is_one_line(tmp_path):
    _one_line_error(
        run_cli("train", "--data", str(tmp_path), "--out", str(tmp_path / "r")), "empty"
    )


def test_train_missing_mask_is_one_line(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(tmp_path / "images" / "a.png")
    proc = run_cli("train", "--data", str(tmp_path), "--out", str(tmp_path / "r"))
    _one_line_error(proc, "a.png: no mask")
    assert not (tmp_path / "r").exists()  # a run that never started leaves no empty folder


def test_evaluate_without_run_is_one_line(tmp_path, synth_dir):
    proc = run_cli("evaluate", str(tmp_path), "--data", str(synth_dir))
    _one_line_error(proc, "no config.json")


def test_debug_shows_the_traceback(tmp_path):
    proc = run_cli("--debug", "train", "--data", str(tmp_path), "--out", str(tmp_path / "r"))
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_bad_class_map_is_one_line(tmp_path, synth_dir):
    proc = run_cli("data", "check", str(synth_dir), "--classes", "nerve")
    _one_line_error(proc, "NAME=VALUE")


def test_module_entry_point_matches_console_script():
    from importlib.metadata import entry_points

    from edgeseg.cli import main

    (script,) = [ep for ep in entry_points(group="console_scripts") if ep.name == "edgeseg"]
    assert script.load() is main
    console = subprocess.run(
        [str(Path(sys.executable).with_name("edgeseg")), "--version"],
        capture_output=True,
        text=True,
    )
    module = run_cli("--version")
    assert console.returncode == module.returncode == 0, console.stderr + module.stderr
    assert console.stdout == module.stdout == f"edgeseg {__version__}\n"


def test_encoder_alpha_without_encoder_is_one_line(tmp_path, synth_dir):
    proc = run_cli(
        "train", "--data", str(synth_dir), "--out", str(tmp_path / "r"), "--encoder-alpha", "0.5"
    )
    _one_line_error(proc, "--encoder-alpha 0.5: needs --encoder")
    assert not (tmp_path / "r").exists()


def test_encoder_alpha_reaches_the_run_config(synth_dir):
    from edgeseg.train.runner import TrainOptions, config_from_options

    options = TrainOptions(data=synth_dir, out=synth_dir, encoder="mobilenetv2", encoder_alpha=0.5)
    model = config_from_options(options, "paired").model
    assert (model.arch, model.encoder_alpha) == ("mobilenetv2_unet", 0.5)


@pytest.mark.parametrize(
    "args,pattern",
    [
        (["data", "synth", "--out", "{tmp}/s", "--n", "0"], "Invalid value for '--n'"),
        (["evaluate", "{tmp}", "--data", "{tmp}", "--threshold", "2"], "--threshold 2.0: must"),
        (["train", "--data", "{tmp}", "--out", "{tmp}/r", "--patience", "-1"], "--patience -1"),
        (["train", "--data", "{tmp}", "--out", "{tmp}/r", "--lr", "-1"], "--lr -1.0: the"),
        (
            ["qat", "{tmp}", "--lr", "0"],
            "--lr 0.0: the learning rate must be a finite number above 0",
        ),
        (["pipeline", "--out", "{tmp}/p", "--epochs", "0"], "Invalid value for '--epochs'"),
        (["benchmark", "{tmp}/m.tflite", "--threads", "a"], "--threads 'a': expected"),
        (["stream", "{tmp}/m.tflite", "--frames", "{tmp}", "--limit", "0"], "--limit 0"),
        (["train", "--data", "{tmp}", "--subject-regex", "("], "not a regular expression"),
        (["data", "check", "{tmp}/nothing"], "does not exist"),
        (["nosuchcommand"], "No such command"),
    ],
)
def test_bad_values_are_one_line_before_any_work(tmp_path, args, pattern):
    proc = run_cli(*(a.replace("{tmp}", str(tmp_path)) for a in args))
    _one_line_error(proc, pattern)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written


@pytest.mark.parametrize(
    "args",
    [
        ["data", "synth", "--out", "{file}", "--n", "3"],
        ["data", "synth", "--out", "{file}/sub", "--n", "3"],
        ["train", "--data", "{tmp}", "--out", "{file}"],
        ["evaluate", "{tmp}", "--data", "{tmp}", "--out", "{file}"],
        ["calibration", "build", "--from", "{tmp}", "--out", "{file}"],
        ["pipeline", "--out", "{file}"],
    ],
)
def test_an_output_folder_that_is_a_file_is_one_line(tmp_path, args):
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    proc = run_cli(*(a.replace("{file}", str(afile)).replace("{tmp}", str(tmp_path)) for a in args))
    _one_line_error(proc, "is a file, expected a folder")
    assert afile.read_text() == "keep me"


def test_benchmark_json_that_is_a_folder_is_one_line(tmp_path, tiny_tflite):
    proc = run_cli("benchmark", str(tiny_tflite["i8"]), "--json", str(tmp_path), "--runs", "1")
    _one_line_error(proc, "is a folder; give a file name")


def test_data_synth_refuses_to_mix_into_an_existing_dataset(tmp_path):
    out = tmp_path / "s"
    assert run_cli("data", "synth", "--out", str(out), "--n", "6", "--size", "32").returncode == 0
    _one_line_error(
        run_cli("data", "synth", "--out", str(out), "--n", "3", "--size", "32"), "--force"
    )
    assert len(list((out / "images").iterdir())) == 6
    proc = run_cli("data", "synth", "--out", str(out), "--n", "3", "--size", "32", "--force")
    assert proc.returncode == 0, proc.stderr
    assert len(list((out / "images").iterdir())) == len(list((out / "masks").iterdir())) == 3


def test_predict_with_no_readable_image_exits_2(tmp_path, tiny_tflite):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    proc = run_cli("predict", str(tiny_tflite["i8"]), str(bad), "--out", str(tmp_path / "o"))
    _one_line_error(proc, "none of the 1 images could be read")
    warning = [ln for ln in proc.stderr.splitlines() if ln.startswith("edgeseg: warning:")]
    assert warning == [warning[0]] and "bad.png: unreadable image" in warning[0]
    assert "('" not in warning[0]  # the reason, not a Python tuple


def test_stream_with_no_readable_frame_exits_2(tmp_path, tiny_tflite):
    frames = tmp_path / "frames"
    frames.mkdir()
    for name in ("a.png", "b.png"):
        (frames / name).write_bytes(b"garbage")
    proc = run_cli("stream", str(tiny_tflite["i8"]), "--frames", str(frames))
    _one_line_error(proc, "none of the 2 frames")


def _mask(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path))


def test_tune_postprocess_flags_apply_to_predict_and_stream(tmp_path, tiny_tflite):
    """The flags tune-postprocess recommends run as printed, and change the masks as the
    library's overrides do."""
    import dataclasses

    from edgeseg.config import PostProcess
    from edgeseg.edge_runtime.predict import predict
    from edgeseg.edge_runtime.segmenter import Segmenter
    from edgeseg.postprocess import label_components
    from edgeseg.train.postprocess_tuning import flags_for

    frames = tmp_path / "frames"
    frames.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 256, (48, 40), dtype=np.uint8)).save(frames / f"f{i}.png")
    model = tiny_tflite["i8"]
    # an untrained model: p is 0.5 almost everywhere; between its two lowest values a few
    # scattered pixels pass, in several components
    low = np.unique(Segmenter(model).segment(frames / "f0.png").prob)[:2]
    post = PostProcess(
        threshold=round(float(low.mean()), 4),
        min_area=2,
        largest_component=True,
        presence_gate=True,
        presence_threshold=0.0,
    )
    flags = flags_for(post).split()
    assert "--largest-component" in flags and "--presence-gate" in flags
    want = predict(
        model, [frames], tmp_path / "lib", overlay=False, **dataclasses.asdict(post)
    ).written
    plain = predict(
        model, [frames], tmp_path / "plain", overlay=False, threshold=post.threshold
    ).written
    assert all(len(label_components(_mask(p) > 0)[1]) > 1 for p in plain)  # several components
    for verb in (
        ["predict", str(model), str(frames)],
        ["stream", str(model), "--frames", str(frames)],
    ):
        out = tmp_path / verb[0]
        proc = run_cli(*verb, "--out", str(out), *flags)
        assert proc.returncode == 0, proc.stderr
        for path in want:
            got = _mask(out / Path(path).name)
            np.testing.assert_array_equal(got, _mask(path))
            assert len(label_components(got > 0)[1]) == 1  # the largest alone


def test_convert_int8_keeps_stderr_to_warnings(tmp_path, tiny_run, synth_dir):
    out = tmp_path / "m.tflite"
    proc = run_cli(
        "convert", str(tiny_run), "--int8", "--calibration", str(synth_dir), "--out", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    # the converter's native lines ("fully_quantize: 0, ...") are not passed through
    assert all(ln.startswith("edgeseg: warning:") for ln in proc.stderr.splitlines()), proc.stderr
    debug = run_cli(
        "--debug", "convert", str(tiny_run), "--int8", "--calibration", str(synth_dir), "--out",
        str(tmp_path / "debug.tflite"),
    )  # fmt: skip
    assert debug.returncode == 0 and "fully_quantize" in debug.stderr  # --debug lets them through
    assert [ln for ln in proc.stdout.splitlines() if str(out) in ln and "wrote" in ln]
    assert len([ln for ln in proc.stdout.splitlines() if ln.startswith("wrote")]) == 1
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # a plain file's mode, not mkstemp's 0600


def test_evaluate_on_the_training_folder_warns(tmp_path, tiny_run, synth_dir):
    proc = run_cli("evaluate", str(tiny_run), "--data", str(synth_dir), "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "is the folder the run was trained on" in proc.stderr
    assert (tmp_path / "evaluation.json").is_file()
