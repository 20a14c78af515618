"""A corpus of bad inputs and faults through the real CLI (issue 18, groups 2-8 and more).

Every case runs ``edgeseg`` in a subprocess inside a fresh copy of a small workspace (a dataset,
an earlier dataset to protect, a calibration set, hostile images) and asserts: the exit code
(2 for a user's mistake or an OS fault, 1 where ``data check`` reports unusable data), at most
two lines on stderr, no traceback anywhere, and the whole workspace byte-identical afterwards:
no partial output, no temp files left, the previous output intact. OS faults are injected by
``tests/cli_faults.py`` (monkeypatched system calls raising the real errno; see there why).
Nothing here imports TensorFlow: predict/stream/benchmark use the Android demo's int8 model.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from edgeseg.convert.calibration import build_calibration_set
from edgeseg.train.synth import write_dataset

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "android_demo" / "app" / "src" / "main" / "assets" / "model_int8.tflite"
FAULTS = Path(__file__).with_name("cli_faults.py")


def bomb_png(path: Path, side: int = 20000) -> None:
    """A valid grayscale PNG of side x side zeros: ~390 KB on disk, 400 Mpx decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    packer = zlib.compressobj(9)
    row = b"\x00" * (side + 1)
    data = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data)
    path.write_bytes(png + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The workspace every case starts from (copied per case)."""
    root = tmp_path_factory.mktemp("bad_inputs_template")
    write_dataset(root / "ds", 10, size=(32, 32), seed=1)
    write_dataset(root / "prev", 6, size=(32, 32), seed=2)
    build_calibration_set(root / "ds", root / "cal", n=8)
    bomb_png(root / "bomb.png")
    for folder in ("bombs/images", "bombs/masks", "frames", "empty"):
        (root / folder).mkdir(parents=True)
    shutil.copy(root / "bomb.png", root / "bombs" / "images" / "a.png")
    shutil.copy(root / "bomb.png", root / "bombs" / "masks" / "a.png")
    Image.new("L", (3000, 3000)).save(root / "big.png")
    good = (root / "ds" / "images" / "s00_0000.png").read_bytes()
    (root / "trunc.png").write_bytes(good[: len(good) // 2])
    (root / "frames" / "f1.png").write_bytes(good)
    (root / "afile").write_text("not a folder\n")
    (root / "notmodel.tflite").write_text("not a model\n")
    (root / "badmanifest.csv").write_bytes(b"\xff\xfeimage,subject\n")
    write_dataset(root / "partial", 6, size=(32, 32), seed=3)  # then "interrupted": one pair gone
    for folder in ("images", "masks"):
        sorted((root / "partial" / folder).iterdir())[-1].unlink()
    return root


def snapshot(root: Path) -> dict[str, str]:
    """Every file and folder under ``root`` (hidden ones too) -> its hash ("dir" for folders)."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_dir() and not path.is_symlink():
            out[rel] = "dir"
        else:
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def run_cli(args: list[str], cwd: Path, fault: str = "none", after: int = 0):
    cmd = [sys.executable, str(FAULTS), fault, str(after), str(cwd), "--", *args]
    env = {**os.environ, "COLUMNS": "200", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("EDGESEG_DEBUG", None)
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, timeout=120)


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    says: str  # a piece of the error line (or of the report for data check)
    code: int = 2
    fault: str = "none"
    after: int = 0

    @property
    def needs_model(self) -> bool:
        return "{M}" in self.args


def case(id: str, cmd: str, says: str, code: int = 2, fault: str = "none", after: int = 0):
    return Case(id, tuple(cmd.split()), says, code, fault, after)


SYNTH = "data synth --n 6 --size 32"
CAL = "calibration build --from ds --n 8"
PRED = "predict {M} ds/images"
CASES = [
    # group 2: --force never destroys before it has built; never replace without --force
    case("synth-existing-no-force", f"{SYNTH} --out prev", "pass --force"),
    case("synth-out-is-file", f"{SYNTH} --out afile", "is a file"),
    case("synth-out-is-cwd", f"{SYNTH} --out . --force", "current folder"),
    case("synth-out-holds-cwd", f"{SYNTH} --out .. --force", "current folder"),
    case("synth-out-under-file", f"{SYNTH} --out afile/sub", "is a file"),
    case("cal-existing-no-force", f"{CAL} --out cal", "pass --force"),
    case("cal-out-is-from", f"{CAL} --out ds --force", "is the input --from"),
    case("cal-out-inside-from", f"{CAL} --out ds/cal --force", "is inside the input"),
    case(
        "cal-out-contains-from", "calibration build --from ds/images --out ds --force", "contains"
    ),
    case("cal-out-is-file", f"{CAL} --out afile", "is a file"),
    # group 3: outputs never overwrite inputs
    case("predict-out-is-input", f"{PRED} --out ds/images", "is the input IMAGES"),
    case(
        "predict-out-holds-file", "predict {M} ds/images/s00_0000.png --out ds/images", "contains"
    ),
    case("predict-out-contains-input", f"{PRED} --out ds", "contains the input"),
    case("predict-out-inside-input", f"{PRED} --out ds/images/masks", "is inside the input"),
    case("predict-out-dot", "predict {M} ds/images --out .", "contains the input"),
    case("stream-out-is-frames", "stream {M} --frames ds/images --out ds/images", "is the input"),
    case("stream-out-inside", "stream {M} --frames ds --out ds/preds", "is inside the input"),
    case("predict-out-is-file", f"{PRED} --out afile", "is a file"),
    # group 4: disk full, read-only, permission, too many open files
    case("synth-enospc-force", f"{SYNTH} --out prev --force", "no space left", 2, "enospc-save", 3),
    case("synth-enospc-new", f"{SYNTH} --out new", "no space left", 2, "enospc-save", 0),
    case("synth-enospc-readme", f"{SYNTH} --out prev --force", "no space", 2, "enospc-text", 0),
    case("synth-erofs", f"{SYNTH} --out new", "read-only file system", 2, "erofs-mkdir", 0),
    case("synth-erofs-force", f"{SYNTH} --out prev --force", "read-only", 2, "erofs-mkdir", 0),
    case("synth-eacces", f"{SYNTH} --out new", "permission denied", 2, "eacces-mkdir", 0),
    case("synth-emfile", f"{SYNTH} --out prev --force", "too many open files", 2, "emfile-open", 4),
    case("cal-enospc-force", f"{CAL} --out cal --force", "no space left", 2, "enospc-save", 2),
    case("cal-enospc-manifest", f"{CAL} --out cal --force", "no space", 2, "enospc-text", 0),
    case("cal-erofs", f"{CAL} --out new", "read-only file system", 2, "erofs-mkdir", 0),
    case("cal-emfile", f"{CAL} --out new", "too many open files", 2, "emfile-open", 3),
    case("check-emfile", "data check ds", "too many open files", 2, "emfile-open", 2),
    case("predict-enospc", f"{PRED} --out preds", "no space left", 2, "enospc-save", 0),
    case("predict-erofs", f"{PRED} --out preds", "read-only file system", 2, "erofs-mkdir", 0),
    case("predict-emfile", f"{PRED} --out preds", "too many open files", 2, "emfile-open", 0),
    # group 6: decompression bombs and oversized frames, refused from the header
    case("check-bomb", "data check bombs", "decompression bomb", 1),
    case("check-max-pixels", "data check ds --max-pixels 100", "above the limit of 100", 1),
    case("check-max-pixels-0", "data check ds --max-pixels 0", "--max-pixels"),
    case("cal-only-bombs", "calibration build --from bombs --out new --n 8", "readable frames"),
    case("predict-bomb", "predict {M} bomb.png --out preds", "could be read"),
    case("benchmark-bomb", "benchmark {M} --frame bomb.png --runs 1", "decompression bomb"),
    case("predict-truncated", "predict {M} trunc.png --out preds", "could be read"),
    # group 7: seeds
    case("synth-seed-neg", f"{SYNTH} --out new --seed -1", "from 0 to 4294967295"),
    case("synth-seed-2**32", f"{SYNTH} --out new --seed 4294967296", "from 0 to 4294967295"),
    case("synth-seed-huge", f"{SYNTH} --out new --seed 99999999999999999999999", "--seed"),
    case("cal-seed-neg", f"{CAL} --out new --seed -1", "from 0 to 4294967295"),
    # group 8: threads
    case("predict-threads-100000", f"{PRED} --out preds --threads 100000", "from 1 to 256"),
    case("predict-threads-huge", f"{PRED} --out preds --threads 99999999999", "from 1 to 256"),
    case("predict-threads-0", f"{PRED} --out preds --threads 0", "from 1 to 256"),
    case("stream-threads", "stream {M} --frames ds/images --threads 100000", "from 1 to 256"),
    case("benchmark-threads", "benchmark {M} --threads 1,100000 --runs 1", "from 1 to 256"),
    case("benchmark-threads-text", "benchmark {M} --threads 1,abc", "--threads"),
    # sizes and counts
    case("synth-n-0", "data synth --out new --n 0", "--n"),
    case("synth-n-huge", "data synth --out new --n 2000000", "--n"),
    case("synth-size-small", "data synth --out new --size 8", "--size"),
    case("synth-size-huge", "data synth --out new --size 100000", "--size"),
    case("synth-empty-fraction", f"{SYNTH} --out new --empty-fraction 1.5", "--empty-fraction"),
    case("cal-n-small", "calibration build --from ds --out new --n 7", "--n"),
    case("cal-n-huge", "calibration build --from ds --out new --n 1000000000", "--n"),
    case("stream-limit-0", "stream {M} --frames ds/images --limit 0", "--limit"),
    case("stream-smoothing", "stream {M} --frames ds/images --smoothing 1.5", "--smoothing"),
    case("benchmark-runs-0", "benchmark {M} --runs 0", "--runs"),
    case("benchmark-runs-huge", "benchmark {M} --runs 99999999999", "--runs"),
    case("benchmark-warmup-huge", "benchmark {M} --warmup 99999999999", "--warmup"),
    # missing, wrong-kind and malformed inputs
    case("check-missing", "data check nowhere", "does not exist"),
    case("check-file", "data check afile", "is a file"),
    case("check-layout", "data check ds --layout bogus", "--layout"),
    case("check-classes-syntax", "data check ds --classes nerve", "NAME=VALUE"),
    case("check-classes-zero", "data check ds --classes nerve=0", "background"),
    case("check-empty-folder", "data check empty", "is empty", 1),
    case("check-incomplete-synth", "data check partial", "incomplete", 1),
    case("check-bad-regex", "data check ds --subject-regex (", "not a regular expression"),
    case("check-manifest-utf8", "data check ds --manifest badmanifest.csv", "not UTF-8", 1),
    case("check-manifest-missing", "data check ds --manifest nowhere.csv", "nowhere.csv", 1),
    case("cal-from-missing", "calibration build --from nowhere --out new", "does not exist"),
    case("predict-missing-image", "predict {M} nowhere.png --out preds", "not found"),
    case("predict-not-a-model", "predict notmodel.tflite ds/images --out preds", "notmodel"),
    case("predict-missing-model", "predict nomodel.tflite ds/images --out preds", "nomodel"),
    case("stream-empty", "stream {M} --frames empty", "has no frames"),
    case("stream-frames-file", "stream {M} --frames afile", "is a file"),
    case("benchmark-json-folder", "benchmark {M} --json ds --runs 1", "is a folder"),
    case("benchmark-json-is-frame", "benchmark {M} --frame big.png --json big.png", "is the input"),
]


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_and_changes_nothing(c: Case, template: Path, tmp_path: Path):
    if c.needs_model and not MODEL.is_file():
        pytest.skip(f"{MODEL} not in this checkout")
    work = tmp_path / "w"
    shutil.copytree(template, work, symlinks=True)
    before = snapshot(work)
    args = [a.replace("{M}", str(MODEL)) for a in c.args]
    proc = run_cli(args, work, c.fault, c.after)
    err_lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    assert proc.returncode == c.code, (proc.returncode, proc.stdout, proc.stderr)
    assert len(err_lines) <= 2, proc.stderr
    assert c.says in proc.stderr + proc.stdout, (proc.stdout, proc.stderr)
    after = snapshot(work)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"workspace changed: {changed[:8]}"
    assert not list(work.parent.glob(".w.*")), "temp sibling left beside the workspace"


def test_corpus_size() -> None:
    assert len({c.id for c in CASES}) == len(CASES) >= 50


def test_stream_skips_a_bomb_frame_and_goes_on(template: Path, tmp_path: Path) -> None:
    if not MODEL.is_file():
        pytest.skip(f"{MODEL} not in this checkout")
    work = tmp_path / "w"
    shutil.copytree(template, work)
    shutil.copy(work / "bomb.png", work / "frames" / "f0.png")
    proc = run_cli(["stream", str(MODEL), "--frames", "frames"], work)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "skipped 1 unreadable" in proc.stdout and "streamed 1 frames" in proc.stdout


# ----------------------------------------------------------- malformed config, state, manifest


def _config(**changes) -> dict:
    from edgeseg.config import RunConfig

    raw = RunConfig().to_dict()
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            raw[section] = {**raw[section], field: value}
        else:
            raw[section] = value
    return raw


CONFIGS = {
    "a-list": [1, 2],
    "a-string": "config",
    "classes-empty": _config(classes=[]),
    "classes-string": _config(classes="nerve"),
    "classes-no-value": _config(classes=[{"name": "nerve"}]),
    "class-value-0": _config(classes=[{"name": "nerve", "value": 0}]),
    "class-value-300": _config(classes=[{"name": "nerve", "value": 300}]),
    "class-value-text": _config(classes=[{"name": "nerve", "value": "1"}]),
    "classes-duplicate": _config(classes=[{"name": "a", "value": 1}, {"name": "a", "value": 2}]),
    "preprocessing-string": _config(preprocessing="percentile"),
    "height-text": _config(preprocessing__height="128"),
    "height-bool": _config(preprocessing__height=True),
    "height-17": _config(preprocessing__height=17),
    "percentiles-one": _config(preprocessing__percentiles=[1.0]),
    "normalize-unknown": _config(preprocessing__normalize="zscore"),
    "epochs-float": _config(train__epochs=1.5),
    "seed-negative": _config(train__seed=-1),
    "unknown-field": _config(train__speed=1),
    "model-null": _config(model=None),
    "frames-text": _config(train_frames="ten"),
    "subjects-numbers": _config(train_subjects=[1, 2]),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_malformed_config_json_is_one_line_naming_the_file(tmp_path: Path, name: str) -> None:
    import json

    from edgeseg.config import load_config
    from edgeseg.errors import ConfigError

    (tmp_path / "config.json").write_text(json.dumps(CONFIGS[name]))
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    message = str(info.value)
    assert "\n" not in message and str(tmp_path / "config.json") in message, message


@pytest.mark.parametrize(
    "content",
    [b"\xff\xfe{\x00}", b"{", b"[]", b'"x"', b'{"epoch": "3"}', b'{"epoch": true}',
     b'{"epoch": -5}', b'{"best_val_dice": "high"}', b'{"finished": 1}', b"[" * 100000],
)  # fmt: skip
def test_malformed_state_json_is_one_line(tmp_path: Path, content: bytes) -> None:
    from edgeseg.config import load_state
    from edgeseg.errors import ConfigError

    path = tmp_path / "state.json"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match="state.json") as info:
        load_state(path)
    assert "\n" not in str(info.value)


def test_good_state_json_loads(tmp_path: Path) -> None:
    from edgeseg.config import load_state

    path = tmp_path / "state.json"
    path.write_text('{"epoch": 3, "best_val_dice": 0.5, "best_epoch": 2, "wait": 1, "x": 0}')
    assert load_state(path)["epoch"] == 3


@pytest.mark.parametrize(
    "content",
    [b"\xff\xfeimage,subject\n", b"file,who\na.png,1\n", b"", b"image,subject\na.png,\n",
     b"image,subject\n,s1\n"],
)  # fmt: skip
def test_malformed_manifest_is_one_line(template: Path, tmp_path: Path, content: bytes) -> None:
    from edgeseg.datasets import discover
    from edgeseg.errors import DataError

    manifest = tmp_path / "manifest.csv"
    manifest.write_bytes(content)
    with pytest.raises(DataError, match="manifest") as info:
        discover(template / "ds", "paired", manifest=manifest)
    assert "\n" not in str(info.value)


TF_CASES = [
    ("convert-config-list", "convert run --int8", b"[1]", "config.json holds a list"),
    ("evaluate-config-utf8", "evaluate run --data ds", b"\xff\xfe\x00", "is not UTF-8"),
    ("train-seed-negative", "train --data ds --out newrun --seed -1 --epochs 1", None, "--seed"),
    ("compare-seed-negative", "compare --data ds --out cmp --seed -1 --epochs 1", None, "--seed"),
]


@pytest.mark.parametrize(("id", "cmd", "config", "says"), TF_CASES, ids=[c[0] for c in TF_CASES])
def test_tensorflow_commands_refuse_malformed_runs(template, tmp_path, id, cmd, config, says):
    """A few of the TensorFlow-loading commands (each costs a TensorFlow import)."""
    pytest.importorskip("tensorflow")
    work = tmp_path / "w"
    shutil.copytree(template, work)
    if config is not None:
        (work / "run").mkdir()
        (work / "run" / "config.json").write_bytes(config)
    before = snapshot(work)
    proc = run_cli(cmd.split(), work)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert len([ln for ln in proc.stderr.splitlines() if ln.strip()]) <= 2, proc.stderr
    assert says in proc.stderr, proc.stderr
    assert snapshot(work) == before


# ------------------------------------------------------------ data check agrees with train


def _break(root: Path, how: str) -> None:
    """Damage a small paired dataset in one way."""
    images, masks = root / "images", root / "masks"
    first = sorted(images.iterdir())[0].name
    if how == "missing-mask":
        (masks / first).unlink()
    elif how == "unreadable-image":
        (images / first).write_bytes(b"\x89PNG\r\n\x1a\n broken")
    elif how == "unreadable-mask":
        (masks / first).write_bytes(b"not a png")
    elif how == "mask-size":
        Image.new("P", (16, 16)).save(masks / first)
    elif how == "colour-mask":
        Image.new("RGB", (32, 32), (255, 0, 0)).save(masks / first)
    elif how == "bomb":
        bomb_png(images / first, side=8000)
    elif how == "one-subject":
        for path in list(images.iterdir()) + list(masks.iterdir()):
            path.rename(path.with_name("p1_" + path.name))
    elif how == "no-masks-folder":
        shutil.rmtree(masks)


def _train_would_load(root: Path) -> str | None:
    """What train's data step (discover, load every frame, subject split) says: None if fine."""
    from edgeseg.config import Preprocessing, parse_classes
    from edgeseg.datasets import discover, load_arrays, subject_split
    from edgeseg.errors import EdgesegError

    try:
        samples, _ = discover(root, "auto", subject_regex=SUBJECTS)
        load_arrays(samples, Preprocessing(height=32, width=32), parse_classes("nerve=1,vessel=2"))
        subject_split(samples, 0.2, 0)
    except EdgesegError as exc:
        return str(exc)
    return None


SUBJECTS = r"^([a-z]+\d+)_"  # s00_0001.png -> s00; p1_s00_0001.png -> p1
BREAKS = [
    "none",
    "missing-mask",
    "unreadable-image",
    "unreadable-mask",
    "mask-size",
    "colour-mask",
    "bomb",
    "one-subject",
    "no-masks-folder",
]


@pytest.mark.parametrize("how", BREAKS)
def test_data_check_verdict_agrees_with_training(tmp_path: Path, how: str) -> None:
    from edgeseg.config import parse_classes
    from edgeseg.datacheck import check_dataset

    root = tmp_path / "ds"
    write_dataset(root, 8, size=(32, 32), seed=3, subjects=2)
    (root / "README.txt").unlink()  # the completeness rule is tested on its own below
    _break(root, how)
    report = check_dataset(root, parse_classes("nerve=1,vessel=2"), subject_regex=SUBJECTS)
    trouble = _train_would_load(root)
    if how == "one-subject":  # check cannot know about --val-data: it warns, train refuses
        assert trouble and report.usable and any("one subject" in w for w in report.warnings)
    else:
        assert report.usable == (trouble is None), (report.lines(), trouble)


def test_data_check_flags_an_incomplete_synthetic_dataset(tmp_path: Path) -> None:
    from edgeseg.config import parse_classes
    from edgeseg.datacheck import check_dataset

    root = tmp_path / "ds"
    write_dataset(root, 8, size=(32, 32), seed=3)
    classes = parse_classes("nerve=1,vessel=2")
    assert check_dataset(root, classes).usable
    for folder in ("images", "masks"):
        sorted((root / folder).iterdir())[-1].unlink()
    report = check_dataset(root, classes)
    assert not report.usable and any("says 8 frames but 7" in p for p in report.problems)


def test_data_check_names_files_training_ignores(tmp_path: Path) -> None:
    from edgeseg.config import parse_classes
    from edgeseg.datacheck import check_dataset

    root = tmp_path / "ds"
    write_dataset(root, 8, size=(32, 32), seed=3)
    (root / "images" / "notes.txt").write_text("x")
    (root / "masks" / "orphan.png").write_bytes((root / "masks" / "s00_0000.png").read_bytes())
    report = check_dataset(root, parse_classes("nerve=1"))
    assert report.usable
    assert any("2 file(s) that training ignores" in w for w in report.warnings), report.warnings
