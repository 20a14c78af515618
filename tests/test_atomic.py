"""Interrupting ``data synth --force`` and ``calibration build --force`` never leaves a broken set.

Each trial starts the real CLI over an existing output, waits until the replacement is being
built (its ``.NAME.building-*`` sibling exists), sleeps a seeded random time and sends SIGINT or
SIGKILL. Afterwards the output is either byte-identical to the old one or the complete new one
(``data check`` usable with the frame count asked for / a manifest naming every image). Also the
building blocks in ``edgeseg.io``: the swap, the cleanup on exceptions, the overlap rule.
"""

from __future__ import annotations

import hashlib
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgeseg.config import parse_classes
from edgeseg.datacheck import check_dataset
from edgeseg.errors import ConfigError
from edgeseg.io import building_folder, carry_over, check_not_overlapping
from edgeseg.train.synth import write_dataset

# (signal, seed of the delay, longest delay in s after the build starts): short delays land
# mid-build, the long one may also land after the swap (then the new output must be whole)
TRIALS = [
    (signal.SIGINT, 0, 0.8),
    (signal.SIGKILL, 1, 0.8),
    (signal.SIGINT, 2, 0.8),
    (signal.SIGKILL, 3, 0.8),
    (signal.SIGKILL, 5, 4.0),
    (signal.SIGINT, 6, 4.0),
]
IDS = [f"{s.name}-{n}" for s, n, _ in TRIALS]


def tree_hash(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def interrupt(
    args: list[str], out: Path, sig: signal.Signals, seed: int, longest: float, cwd: Path
) -> int:
    """Run ``edgeseg ARGS``; once the new ``out`` is being built, wait 0-``longest`` s, ``sig``."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "edgeseg.cli", *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not list(out.parent.glob(f".{out.name}.building-*")) and proc.poll() is None:
        assert time.monotonic() < deadline, "the build never started"
        time.sleep(0.005)
    time.sleep(random.Random(seed).uniform(0.0, longest))
    if proc.poll() is None:
        proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err, err
    return proc.returncode


@pytest.mark.parametrize(("sig", "seed", "longest"), TRIALS, ids=IDS)
def test_interrupted_synth_force_keeps_old_or_complete_new(tmp_path: Path, sig, seed, longest):
    out = tmp_path / "ds"
    write_dataset(out, 6, size=(32, 32), seed=9)
    (out / "NOTES.txt").write_text("the user's own file\n")
    old = tree_hash(out)
    n = 150
    args = ["data", "synth", "--out", "ds", "--n", str(n), "--size", "64", "--force"]
    code = interrupt(args, out, sig, seed, longest, tmp_path)
    now = tree_hash(out)
    if now != old:  # then it must be the whole new dataset
        report = check_dataset(out, parse_classes("nerve=1,vessel=2"))
        assert report.usable and report.frames == n, report.lines()
        assert (out / "NOTES.txt").read_text() == "the user's own file\n"
    if sig == signal.SIGINT:  # exit 130 (handled), or -2 when it lands as the process exits
        assert not list(tmp_path.glob(".ds.*")), "SIGINT must clean up the temp sibling"
        assert code in (0, 130, -signal.SIGINT), code
    write_dataset(out, 4, size=(32, 32), seed=1)  # the next build removes a killed one's leftovers
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


@pytest.mark.parametrize(("sig", "seed", "longest"), TRIALS, ids=IDS)
def test_interrupted_calibration_build_keeps_old_or_complete_new(
    tmp_path: Path, sig, seed, longest
):
    from edgeseg.convert.calibration import MANIFEST, build_calibration_set

    write_dataset(tmp_path / "data", 150, size=(64, 64), seed=4)
    cal = tmp_path / "cal"
    build_calibration_set(tmp_path / "data", cal, n=8, seed=1)
    old = tree_hash(cal)
    n = 100
    args = ["calibration", "build", "--from", "data", "--out", "cal", "--n", str(n), "--force"]
    code = interrupt(args, cal, sig, seed, longest, tmp_path)
    now = tree_hash(cal)
    if now != old:
        rows = (cal / MANIFEST).read_text().splitlines()[1:]
        listed = sorted(row.split(",")[0] for row in rows)
        assert len(rows) == n
        assert listed == sorted(f"images/{p.name}" for p in (cal / "images").iterdir())
    if sig == signal.SIGINT:  # exit 130 (handled), or -2 when it lands as the process exits
        assert not list(tmp_path.glob(".cal.*")), "SIGINT must clean up the temp sibling"
        assert code in (0, 130, -signal.SIGINT), code


# ----------------------------------------------------------------------------- edgeseg.io


def test_building_folder_swaps_in_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with building_folder(target) as tmp:
        (tmp / "a").write_text("1")
        assert not target.exists()
    assert (target / "a").read_text() == "1"
    with pytest.raises(KeyboardInterrupt), building_folder(target) as tmp:
        (tmp / "b").write_text("2")
        raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert sorted(p.name for p in target.iterdir()) == ["a"]
    with building_folder(target) as tmp:
        (tmp / "c").write_text("3")
    assert sorted(p.name for p in target.iterdir()) == ["c"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_building_folder_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "old").write_text("x")
    link = tmp_path / "link"
    link.symlink_to(real)
    with building_folder(link) as tmp:
        (tmp / "new").write_text("y")
    assert link.is_symlink() and sorted(p.name for p in link.iterdir()) == ["new"]


def test_carry_over_keeps_other_entries(tmp_path: Path) -> None:
    old = tmp_path / "old"
    (old / "images").mkdir(parents=True)
    (old / "images" / "x.png").write_text("x")
    (old / "notes").mkdir()
    (old / "notes" / "n.txt").write_text("n")
    (old / "README.md").write_text("r")
    new = tmp_path / "new"
    new.mkdir()
    carry_over(old, new, {"images"})
    assert sorted(str(p.relative_to(new)) for p in new.rglob("*")) == [
        "README.md",
        "notes",
        "notes/n.txt",
    ]


@pytest.mark.parametrize(
    ("out", "given", "refused"),
    [
        ("a", "a", True),
        ("a/b", "a", True),
        ("a", "a/b", True),
        ("a/../a", "a", True),
        ("b", "a", False),
        ("ab", "a", False),
        ("a", "ab", False),
    ],
)
def test_check_not_overlapping(tmp_path, monkeypatch, out: str, given: str, refused: bool) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    if refused:
        with pytest.raises(ConfigError, match="--out"):
            check_not_overlapping(Path(out), {"--from": Path(given)})
    else:
        check_not_overlapping(Path(out), {"--from": Path(given)})
