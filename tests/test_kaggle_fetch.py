"""``edgeseg data fetch kaggle-uns``: credentials, offline, --from-zip, bad archives (no network).

The archives are small zips built here in the competition's layout (``train/<s>_<f>.tif`` +
``train/<s>_<f>_mask.tif``, ``test/<n>.tif``, ``train_masks.csv``); the real counts (5,635
frames, 47 subjects) are the table's default, replaced with ``expect_*`` for these.
"""

from __future__ import annotations

import importlib.util
import io
import os
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgeseg.errors import ConfigError, DataError
from edgeseg.train import kaggle_api
from edgeseg.train.kaggle_api import Credentials, find_credentials, network_error
from edgeseg.train.kaggle_fetch import ARCHIVES, download_folder, fetch

SUBJECTS, PER_SUBJECT = 3, 2


def _tif(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="TIFF")
    return buffer.getvalue()


def make_zip(
    path: Path,
    subjects: int = SUBJECTS,
    per_subject: int = PER_SUBJECT,
    drop_mask: str | None = None,
    compression: int = zipfile.ZIP_DEFLATED,
) -> Path:
    """A small archive laid out as the competition's (frames 24x32, masks 0/255)."""
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(path, "w", compression) as zf:
        zf.writestr("train_masks.csv", "subject,img,pixels\n")
        for s in range(1, subjects + 1):
            for f in range(1, per_subject + 1):
                zf.writestr(f"train/{s}_{f}.tif", _tif(rng.integers(0, 255, (24, 32), np.uint8)))
                if f"{s}_{f}" != drop_mask:
                    mask = np.zeros((24, 32), np.uint8)
                    mask[5:12, 8:20] = 255
                    zf.writestr(f"train/{s}_{f}_mask.tif", _tif(mask))
        zf.writestr("test/1.tif", _tif(np.zeros((24, 32), np.uint8)))
    return path


def _small(tmp: Path, out: Path, zip_path: Path, **kwargs):
    counts = {"expect_frames": SUBJECTS * PER_SUBJECT, "expect_subjects": SUBJECTS}
    return fetch("kaggle-uns", out, from_zip=zip_path, **{**counts, **kwargs})


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "edgeseg.cli", *args],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip


def one_line_error(proc: subprocess.CompletedProcess, pattern: str) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("edgeseg: error:"), proc.stderr
    assert pattern in lines[0], lines[0]
    return lines[0]


def test_the_table_holds_the_competitions_counts():
    uns = ARCHIVES["kaggle-uns"]
    assert (uns.competition, uns.frames, uns.subjects) == (
        "ultrasound-nerve-segmentation",
        5635,
        47,
    )


# ----------------------------------------------------------------------------- credentials


def test_no_credentials_names_every_place_looked_at(tmp_path):
    with pytest.raises(ConfigError) as err:
        find_credentials({}, tmp_path, "ultrasound-nerve-segmentation")
    text = str(err.value)
    for place in ("KAGGLE_API_TOKEN", "access_token", "KAGGLE_USERNAME + KAGGLE_KEY",
                  "kaggle.json", "credentials.json", "--from-zip"):  # fmt: skip
        assert place in text


@pytest.mark.parametrize(
    ("env", "files", "kind", "source"),
    [
        ({"KAGGLE_API_TOKEN": "t"}, {}, "access token", "KAGGLE_API_TOKEN"),
        ({}, {".kaggle/access_token": "tok\n"}, "access token", ".kaggle/access_token"),
        ({"KAGGLE_USERNAME": "u", "KAGGLE_KEY": "k"}, {}, "API key", "KAGGLE_USERNAME"),
        ({}, {".kaggle/kaggle.json": '{"username": "u", "key": "k"}'}, "API key", "kaggle.json"),
        (
            {"KAGGLE_CONFIG_DIR": "{home}/cfg"},
            {"cfg/kaggle.json": '{"username": "u", "key": "k"}'},
            "API key",
            "cfg/kaggle.json",
        ),  # fmt: skip
        ({}, {".kaggle/credentials.json": "{}"}, "OAuth login", "credentials.json"),
    ],
)
def test_credentials_found_where_the_kaggle_cli_looks(tmp_path, env, files, kind, source):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    env = {k: v.format(home=tmp_path) for k, v in env.items()}
    creds = find_credentials(env, tmp_path)
    assert creds.kind == kind and creds.source.endswith(source)


@pytest.mark.parametrize(
    ("env", "config", "pattern"),
    [
        ({"KAGGLE_USERNAME": "u"}, None, "KAGGLE_KEY is not set"),
        ({}, '{"key": "k"}', "KAGGLE_USERNAME is not set"),
        ({}, "{not json", "not a readable kaggle.json"),
    ],
)
def test_incomplete_credentials_say_what_is_missing(tmp_path, env, config, pattern):
    if config is not None:
        (tmp_path / ".kaggle").mkdir()
        (tmp_path / ".kaggle" / "kaggle.json").write_text(config)
    with pytest.raises(ConfigError, match=pattern):
        find_credentials(env, tmp_path)


class _Response:
    def __init__(self, status: int):
        self.status_code = status


@pytest.mark.parametrize(
    ("status", "kind", "pattern"),
    [
        (401, ConfigError, "401 unauthorized"),
        (403, ConfigError, "accept the rules of the competition"),
        (404, DataError, "no competition"),
        (500, DataError, "--from-zip"),
    ],
)
def test_kaggle_refusals_are_one_line_each(status, kind, pattern):
    requests = pytest.importorskip("requests")

    exc = requests.exceptions.HTTPError("refused", response=_Response(status))
    mapped = network_error(
        exc, Credentials("API key", "kaggle.json"), "ultrasound-nerve-segmentation"
    )
    assert isinstance(mapped, kind) and pattern in str(mapped)
    if status == 403:
        assert "competitions/ultrasound-nerve-segmentation/rules" in str(mapped)
    assert network_error(ValueError("not a network error"), Credentials("a", "b"), "c") is None


def _cli_env(tmp_path: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAGGLE_")}
    env.update(HOME=str(tmp_path / "home"), KAGGLE_CONFIG_DIR=str(tmp_path / "home" / "cfg"))
    env.update(extra)
    return env


def test_cli_without_credentials_is_one_line_and_writes_nothing(tmp_path):
    proc = run_cli("data", "fetch", "kaggle-uns", "--out", str(tmp_path / "d"),
                   env=_cli_env(tmp_path))  # fmt: skip
    one_line_error(proc, "no Kaggle credentials")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.skipif(
    importlib.util.find_spec("kaggle") is None, reason="the kaggle extra is not installed"
)
def test_cli_offline_is_one_line_and_leaves_nothing(tmp_path):
    """Credentials present, network unreachable (a proxy on a closed local port)."""
    env = _cli_env(tmp_path, KAGGLE_USERNAME="someone", KAGGLE_KEY="0" * 32,
                   HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9")  # fmt: skip
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)
    proc = run_cli("data", "fetch", "kaggle-uns", "--out", str(tmp_path / "d"), env=env)
    one_line_error(proc, "cannot reach www.kaggle.com")
    assert not (tmp_path / "d").exists() and not download_folder(tmp_path / "d").exists()


# ----------------------------------------------------------------------------- download


def _fake_kaggle(total: bytes, first: int) -> types.SimpleNamespace:
    """A stand-in for the kaggle package: the first download stops after ``first`` bytes."""

    class Client:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        competitions = types.SimpleNamespace(
            competition_api_client=types.SimpleNamespace(
                download_data_files=lambda request: types.SimpleNamespace(
                    headers={"Content-Length": str(len(total))}
                )
            )
        )

        def http_client(self):
            return None

    class Api:
        def authenticate(self):
            pass

        def build_kaggle_client(self):
            return Client()

        def download_file(self, response, outfile, http_client, quiet, resume):
            have = Path(outfile).read_bytes() if resume and Path(outfile).exists() else b""
            end = first if not have else len(total)
            Path(outfile).write_bytes(have + total[len(have) : end])

    return types.SimpleNamespace(KaggleApi=Api, ApiDownloadDataFilesRequest=types.SimpleNamespace)


def test_partial_download_stays_part_and_resumes(tmp_path, monkeypatch):
    payload = bytes(range(200))
    monkeypatch.setattr(kaggle_api, "_quietly_import", lambda: _fake_kaggle(payload, 77))
    part = tmp_path / "x.zip.part"
    creds = Credentials("API key", "env")
    with pytest.raises(DataError, match="77 of 200 bytes arrived; run again to resume"):
        kaggle_api.download("c", part, creds, quiet=True)
    assert part.stat().st_size == 77 and not (tmp_path / "x.zip").exists()
    done = kaggle_api.download("c", part, creds, quiet=True)
    assert done == tmp_path / "x.zip" and done.read_bytes() == payload and not part.exists()


# ----------------------------------------------------------------------------- --from-zip


def test_from_zip_unpacks_the_kaggle_layout_that_data_check_accepts(tmp_path):
    archive = make_zip(tmp_path / "uns.zip")
    out = tmp_path / "kaggle"
    proc = run_cli("data", "fetch", "kaggle-uns", "--from-zip", str(archive), "--out", str(out),
                   "--expect-frames", "6", "--expect-subjects", "3")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "unpacked 6 training frames with masks of 3 subjects" in proc.stdout
    names = sorted(p.name for p in out.iterdir())
    assert len([n for n in names if n.endswith("_mask.tif")]) == 6 and "1.tif" not in names
    assert "archive sha256:" in (out / "README.txt").read_text()
    check = run_cli("data", "check", str(out))
    assert check.returncode == 0, check.stdout + check.stderr
    assert "layout: kaggle" in check.stdout and "frames: 6 in 3 subject(s)" in check.stdout


@pytest.mark.parametrize("flat", [False, True], ids=["train-folder", "flat"])
def test_nested_train_zip_is_unpacked_too(tmp_path, flat):
    inner = make_zip(tmp_path / "train.zip")
    if flat:  # the frames at the top of train.zip, without a train/ folder
        with zipfile.ZipFile(inner) as zf:
            items = [(i.filename, zf.read(i)) for i in zf.infolist()]
        with zipfile.ZipFile(inner, "w") as zf:
            for name, data in items:
                zf.writestr(name.removeprefix("train/"), data)
    outer = tmp_path / "outer.zip"
    with zipfile.ZipFile(outer, "w") as zf:
        zf.write(inner, "train.zip")
        zf.writestr("sample_submission.csv", "img,pixels\n")
    result = _small(tmp_path, tmp_path / "out", outer)
    assert (result.frames, result.subjects) == (6, 3)
    assert not (tmp_path / "out" / ".scratch").exists()


def test_the_real_counts_are_checked_by_default(tmp_path):
    archive = make_zip(tmp_path / "uns.zip")
    out = tmp_path / "kaggle"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    with pytest.raises(DataError, match=r"holds 6 training frames of 3 subjects, the competition "
                       r"has 5,635 of 47"):  # fmt: skip
        fetch("kaggle-uns", out, from_zip=archive, force=True)
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]  # untouched
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def _corrupt_member(path: Path) -> Path:
    """Flip one byte inside the first stored frame's data (the CRC-32 no longer matches)."""
    make_zip(path, compression=zipfile.ZIP_STORED)
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("train/1_1.tif")
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + info.file_size // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def _truncated(path: Path) -> Path:
    make_zip(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path


def _other_competition(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("train.csv", "id,label\n1,0\n")
        zf.writestr("images/0001.png", b"not really")
    return path


def _not_a_zip(path: Path) -> Path:
    path.write_bytes(b"PK\x03\x04 this is not a zip at all")
    return path


def _orphan_frame(path: Path) -> Path:
    return make_zip(path, drop_mask="2_1")


@pytest.mark.parametrize(
    ("build", "pattern"),
    [
        (_corrupt_member, "not a complete zip archive (BadZipFile: Bad CRC-32"),
        (_truncated, "not a complete zip archive"),
        (_not_a_zip, "not a complete zip archive"),
        (_other_competition, "is not the ultrasound-nerve-segmentation archive"),
        (_orphan_frame, "6 training frames but 5 masks"),
    ],
    ids=["corrupt", "truncated", "not-a-zip", "other-competition", "frame-without-mask"],
)
def test_bad_archives_are_one_line_and_leave_out_alone(tmp_path, build, pattern):
    archive = build(tmp_path / "bad.zip")
    out = tmp_path / "kaggle"
    proc = run_cli("data", "fetch", "kaggle-uns", "--from-zip", str(archive), "--out", str(out),
                   "--expect-frames", "6", "--expect-subjects", "3")  # fmt: skip
    one_line_error(proc, pattern)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.zip"]


def test_a_non_empty_out_needs_force(tmp_path):
    archive = make_zip(tmp_path / "uns.zip")
    out = tmp_path / "kaggle"
    out.mkdir()
    (out / "mine.txt").write_text("x")
    with pytest.raises(ConfigError, match="pass --force"):
        _small(tmp_path, out, archive)
    _small(tmp_path, out, archive, force=True)
    assert not (out / "mine.txt").exists() and (out / "1_1_mask.tif").is_file()


def test_missing_zip_and_unknown_data_set(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        fetch("kaggle-uns", tmp_path / "o", from_zip=tmp_path / "nope.zip")
    with pytest.raises(ConfigError, match="expected kaggle-uns"):
        fetch("mnist", tmp_path / "o", from_zip=tmp_path / "nope.zip")


CREDS_ENV = {"KAGGLE_USERNAME": "someone", "KAGGLE_KEY": "0" * 32}


def test_download_resumes_then_unpacks_and_cleans_up(tmp_path, monkeypatch):
    payload = make_zip(tmp_path / "served.zip").read_bytes()
    monkeypatch.setattr(kaggle_api, "_quietly_import", lambda: _fake_kaggle(payload, 1000))
    out, kept = tmp_path / "kaggle", tmp_path / "keep" / "uns.zip"
    counts = {"expect_frames": 6, "expect_subjects": 3, "env": CREDS_ENV, "home": tmp_path}
    with pytest.raises(DataError, match="run again to resume"):
        fetch("kaggle-uns", out, keep_zip=kept, **counts)
    part = download_folder(out) / "ultrasound-nerve-segmentation.zip.part"
    assert part.stat().st_size == 1000 and not out.exists()
    result = fetch("kaggle-uns", out, keep_zip=kept, **counts)
    assert result.downloaded and (result.frames, result.subjects) == (6, 3)
    assert kept.read_bytes() == payload and not download_folder(out).exists()
    assert (out / "3_2_mask.tif").is_file()


def test_a_bad_complete_download_is_dropped_to_be_fetched_again(tmp_path, monkeypatch):
    payload = _other_competition(tmp_path / "served.zip").read_bytes()
    monkeypatch.setattr(kaggle_api, "_quietly_import", lambda: _fake_kaggle(payload, len(payload)))
    out = tmp_path / "kaggle"
    with pytest.raises(DataError, match="is not the ultrasound-nerve-segmentation archive"):
        fetch("kaggle-uns", out, env=CREDS_ENV, home=tmp_path)
    assert not out.exists() and not download_folder(out).exists()


def test_a_kaggle_older_than_its_sdk_client_is_one_line(monkeypatch):
    from edgeseg import extras
    from edgeseg.errors import DependencyError

    class OldApi:  # kaggle 1.6's shape: no SDK client, download_file without http_client
        def download_file(self, response, outfile, quiet=True, resume=False):
            pass

    old = types.SimpleNamespace(KaggleApi=OldApi)
    monkeypatch.setattr(extras, "require", lambda module, purpose: old)
    with pytest.raises(
        DependencyError, match=r"lacks the SDK client downloading uses .*pip install -U kaggle"
    ):
        kaggle_api._quietly_import()
