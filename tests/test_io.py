"""Atomic writes: the final file gets the mode a normal write gives, nothing is left behind."""

from __future__ import annotations

import os
import stat

import pytest

from edgeseg.io import atomic_path, write_bytes_atomic, write_text_atomic


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_atomic_writes_get_the_umask_mode_not_0600(tmp_path, umask_022):
    text = write_text_atomic(tmp_path / "report.json", "{}")
    data = write_bytes_atomic(tmp_path / "sub" / "mask.png", b"\x89PNG")
    assert _mode(text) == 0o644
    assert _mode(data) == 0o644
    assert not list(tmp_path.rglob(".*.tmp"))


def test_atomic_path_follows_a_stricter_umask(tmp_path):
    old = os.umask(0o077)
    try:
        with atomic_path(tmp_path / "model.h5") as tmp:
            tmp.write_bytes(b"x")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "model.h5") == 0o600


def test_atomic_overwrite_keeps_the_existing_mode(tmp_path, umask_022):
    target = tmp_path / "config.json"
    target.write_text("old")
    target.chmod(0o640)
    write_text_atomic(target, "new")
    assert target.read_text() == "new"
    assert _mode(target) == 0o640


def test_failed_write_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "out.txt") as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_a_file_in_the_way_is_a_one_line_config_error(tmp_path):
    from edgeseg.errors import ConfigError
    from edgeseg.io import check_output_folder

    afile = tmp_path / "afile"
    afile.write_text("keep")
    with pytest.raises(ConfigError) as info:
        write_text_atomic(afile / "sub" / "report.json", "{}")
    assert str(info.value) == (
        f"cannot write {afile / 'sub' / 'report.json'}: {afile} is a file, expected a folder"
    )
    with pytest.raises(ConfigError, match=r"^--out .*afile is a file, expected a folder"):
        check_output_folder(afile)
    with pytest.raises(ConfigError, match=r"^--frames .*: .*afile is a file, expected a folder$"):
        check_output_folder(afile / "a" / "b", "--frames")
    assert check_output_folder(tmp_path / "new" / "dir") == tmp_path / "new" / "dir"
    assert afile.read_text() == "keep"
