"""``edgeseg data fetch kaggle-uns``: the Kaggle nerve data set, downloaded or from a zip, checked
and unpacked in the Kaggle layout (``<subject>_<frame>.tif`` + ``_mask.tif``).

The archive's training frames (``train/*.tif``) are unpacked flat into ``--out``; the test
frames have no masks and are left out. Checks, in order: the file is a complete zip (its
central directory), it is this competition's archive (training frames named as Kaggle names
them), every member's CRC-32 while unpacking, then the counts: frames with masks and subjects
(from the file names, as ``edgeseg.datasets`` reads them) must be the table's (5,635 and 47).
Kaggle publishes no checksum of the archive, so its SHA-256 is recorded in ``README.txt``
for comparing copies. Unpacking happens in a building folder swapped in at the end
(``edgeseg.io.building_folder``): a bad archive or Ctrl-C leaves ``--out`` as it was.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from edgeseg.datasets import DATASET_README, discover
from edgeseg.errors import ConfigError, DataError
from edgeseg.io import building_folder, check_not_overlapping, check_output_folder
from edgeseg.train.kaggle_api import Credentials, download, find_credentials

TRAIN_MEMBER = re.compile(r"(?:^|/)train/(\d+_\d+(?:_mask)?\.tiff?)$", re.IGNORECASE)
NESTED_TRAIN = re.compile(r"(?:^|/)train\.zip$", re.IGNORECASE)
# Inside a nested train.zip (the competition's original packaging) the folder may be absent.
NESTED_MEMBER = re.compile(r"(?:^|/)(\d+_\d+(?:_mask)?\.tiff?)$", re.IGNORECASE)


@dataclass(frozen=True)
class Archive:
    """A Kaggle data set edgeseg knows: its competition and what its training part holds."""

    competition: str
    frames: int
    subjects: int
    title: str


ARCHIVES = {
    "kaggle-uns": Archive(
        "ultrasound-nerve-segmentation", 5635, 47, "Kaggle Ultrasound Nerve Segmentation (2016)"
    ),
}


@dataclass(frozen=True)
class FetchResult:
    out: Path
    frames: int
    subjects: int
    sha256: str
    archive: Path  # where the archive is now (deleted after a download unless --keep-zip)
    downloaded: bool


def archive_named(name: str) -> Archive:
    if name not in ARCHIVES:
        raise ConfigError(f"unknown data set {name!r}: expected {', '.join(ARCHIVES)}")
    return ARCHIVES[name]


def _not_this(path: Path, archive: Archive, names: list[str]) -> DataError:
    shown = ", ".join(names[:3]) or "nothing"
    return DataError(
        f"{path} is not the {archive.competition} archive: no train/<subject>_<frame>.tif "
        f"inside (it holds {shown}{'...' if len(names) > 3 else ''}); download it from "
        f"https://www.kaggle.com/competitions/{archive.competition}/data"
    )


def _broken(path: Path, exc: BaseException) -> DataError:
    return DataError(
        f"{path} is not a complete zip archive ({type(exc).__name__}: {exc}): it is truncated "
        "or corrupt; download it again"
    )


def _sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _extract(
    zf: zipfile.ZipFile,
    members: list[zipfile.ZipInfo],
    pattern: re.Pattern[str],
    dest: Path,
    progress: Callable[[int], None] | None,
) -> None:
    """Write each member flat into ``dest`` under its base name; CRC-32 checked on read."""
    for info in members:
        name = pattern.search(info.filename).group(1)
        with zf.open(info) as src, open(dest / name, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        if progress:
            progress(1)


def _unpack(
    path: Path,
    dest: Path,
    archive: Archive,
    scratch: Path,
    progress: Callable[[int], None] | None,
    total: Callable[[int], None] | None,
    pattern: re.Pattern[str] = TRAIN_MEMBER,
) -> None:
    """Unpack the training frames of ``path`` (or of a ``train.zip`` inside it) into ``dest``."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            members = [i for i in infos if pattern.search(i.filename)]
            if not members and pattern is TRAIN_MEMBER:
                nested = [i for i in infos if NESTED_TRAIN.search(i.filename)]
                if not nested:
                    raise _not_this(path, archive, [i.filename for i in infos])
                inner = scratch / "train.zip"
                with zf.open(nested[0]) as src, open(inner, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                _unpack(inner, dest, archive, scratch, progress, total, NESTED_MEMBER)
                inner.unlink()
                return
            if not members:
                raise _not_this(path, archive, [i.filename for i in infos])
            if total:
                total(len(members))
            _extract(zf, members, pattern, dest, progress)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error) as exc:
        raise _broken(path, exc) from exc


def check_counts(folder: Path, source: Path, frames: int, subjects: int) -> tuple[int, int]:
    """(frames with masks, subjects) of an unpacked folder; DataError unless they are the
    expected counts and every frame has its mask."""
    samples, _ = discover(folder, "kaggle", require_masks=False, hint="unpack it again")
    masks = len(list(folder.glob("*_mask.tif*")))
    found = sum(1 for s in samples if s.mask is not None)
    got_subjects = len({s.subject for s in samples})
    if found != len(samples) or masks != found:
        raise DataError(
            f"{source}: {len(samples)} training frames but {masks} masks, {found} of them "
            "paired: an altered archive; download it again"
        )
    if (found, got_subjects) != (frames, subjects):
        raise DataError(
            f"{source} holds {found:,} training frames of {got_subjects} subjects, the "
            f"competition has {frames:,} of {subjects}: an incomplete or altered archive; "
            "download it again"
        )
    return found, got_subjects


def _readme(archive: Archive, sha256: str, frames: int, subjects: int) -> str:
    return (
        f"{archive.title}: the training frames (Kaggle layout)\n"
        f"competition: https://www.kaggle.com/competitions/{archive.competition}\n"
        "terms: the competition's rules (accepted on Kaggle); not for redistribution\n"
        f"archive sha256: {sha256}\n"
        f"frames: {frames} with masks, subjects: {subjects}\n"
        f"unpacked by edgeseg data fetch on {time.strftime('%Y-%m-%d', time.gmtime())}\n"
    )


def download_folder(out: Path) -> Path:
    """Where the archive is downloaded (resumable) before it is unpacked into ``out``."""
    out = Path(os.path.abspath(out))
    return out.parent / f".{out.name}.kaggle-download"


@dataclass(frozen=True)
class FetchPlan:
    """A checked request: what to fetch, where to, from where, and the counts to expect."""

    archive: Archive
    out: Path
    from_zip: Path | None
    keep_zip: Path | None
    frames: int
    subjects: int
    creds: Credentials | None  # None with --from-zip


def plan_fetch(
    name: str,
    out: Path,
    from_zip: Path | None = None,
    force: bool = False,
    keep_zip: Path | None = None,
    expect_frames: int | None = None,
    expect_subjects: int | None = None,
    env: Mapping[str, str] = os.environ,
    home: Path | None = None,
) -> FetchPlan:
    """Every check that needs no network (names, folders, the zip's presence, credentials);
    nothing is written. ``expect_*`` replace the table's counts (a test archive, a subset
    made on purpose)."""
    archive = archive_named(name)
    out = check_output_folder(Path(out))
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ConfigError(f"--out {out} is not empty: pass --force to replace it")
    if keep_zip is not None and Path(keep_zip).is_dir():
        raise ConfigError(f"--keep-zip {keep_zip} is a folder: give a file name")
    creds = None
    if from_zip is not None:
        from_zip = Path(from_zip)
        if not from_zip.is_file():
            raise DataError(f"--from-zip {from_zip}: no such file")
        check_not_overlapping(out, {"--from-zip": from_zip})
    else:
        creds = find_credentials(env, home, archive.competition)
    return FetchPlan(
        archive,
        out,
        from_zip,
        Path(keep_zip) if keep_zip is not None else None,
        archive.frames if expect_frames is None else expect_frames,
        archive.subjects if expect_subjects is None else expect_subjects,
        creds,
    )


def obtain(plan: FetchPlan, show_progress: bool = False) -> tuple[Path, bool]:
    """The archive to unpack and whether it was downloaded: ``--from-zip`` as it is, else a
    download into :func:`download_folder` (resumed from its ``.part`` file; a complete one
    left by an earlier run is used as it is)."""
    if plan.from_zip is not None:
        return plan.from_zip, False
    staging = download_folder(plan.out)
    staging.mkdir(parents=True, exist_ok=True)
    path = staging / f"{plan.archive.competition}.zip"
    if not path.is_file():
        part = path.with_name(path.name + ".part")
        try:
            download(plan.archive.competition, part, plan.creds, quiet=not show_progress)
        finally:
            if not any(staging.iterdir()):  # nothing to resume: leave no empty folder
                staging.rmdir()
    return path, True


def install(
    plan: FetchPlan,
    path: Path,
    downloaded: bool,
    progress: Callable[[int], None] | None = None,
    total: Callable[[int], None] | None = None,
) -> FetchResult:
    """Check the archive, unpack its training frames into a building folder, check the counts,
    swap it in for ``plan.out``; then drop (or keep, ``--keep-zip``) a downloaded archive."""
    try:
        sha256 = _sha256(path)
        with building_folder(plan.out) as tmp:
            scratch = tmp / ".scratch"
            scratch.mkdir()
            _unpack(path, tmp, plan.archive, scratch, progress, total)
            scratch.rmdir()
            found, got = check_counts(tmp, path, plan.frames, plan.subjects)
            (tmp / DATASET_README).write_text(_readme(plan.archive, sha256, found, got))
    except DataError:
        if downloaded:  # a complete but bad download: fetched anew next time
            shutil.rmtree(download_folder(plan.out), ignore_errors=True)
        raise
    kept = path
    if downloaded:
        if plan.keep_zip is not None:
            plan.keep_zip.parent.mkdir(parents=True, exist_ok=True)
            kept = Path(shutil.move(str(path), str(plan.keep_zip)))
        shutil.rmtree(download_folder(plan.out), ignore_errors=True)
    return FetchResult(plan.out, found, got, sha256, kept, downloaded)


def fetch(
    name: str,
    out: Path,
    from_zip: Path | None = None,
    force: bool = False,
    keep_zip: Path | None = None,
    expect_frames: int | None = None,
    expect_subjects: int | None = None,
    progress: Callable[[int], None] | None = None,
    total: Callable[[int], None] | None = None,
    env: Mapping[str, str] = os.environ,
    home: Path | None = None,
) -> FetchResult:
    """``edgeseg data fetch``: :func:`plan_fetch`, :func:`obtain`, :func:`install`."""
    plan = plan_fetch(name, out, from_zip, force, keep_zip, expect_frames, expect_subjects, env,
                      home)  # fmt: skip
    path, downloaded = obtain(plan)
    return install(plan, path, downloaded, progress, total)
