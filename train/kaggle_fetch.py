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
import sys
import time
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from edgeseg.datasets import DATASET_README, discover
from edgeseg.errors import ConfigError, DataError
from edgeseg.io import building_folder, check_not_overlapping, check_output_folder
from edgeseg.train.kaggle_api import download, find_credentials

TRAIN_MEMBER = re.compile(r"(?:^|/)train/(\d+_\d+(?:_mask)?\.tiff?)$", re.IGNORECASE)
NESTED_TRAIN = re.compile(r"(?:^|/)train\.zip$", re.IGNORECASE)


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
    archive: Path
    downloaded: bool
    seconds: float


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
    dest: Path,
    progress: Callable[[int], None] | None,
) -> None:
    """Write each member flat into ``dest`` under its base name; CRC-32 checked on read."""
    for info in members:
        name = TRAIN_MEMBER.search(info.filename).group(1)
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
) -> None:
    """Unpack the training frames of ``path`` (or of a ``train.zip`` inside it) into ``dest``."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            members = [i for i in infos if TRAIN_MEMBER.search(i.filename)]
            if not members:
                nested = [i for i in infos if NESTED_TRAIN.search(i.filename)]
                if not nested:
                    raise _not_this(path, archive, [i.filename for i in infos])
                inner = scratch / "train.zip"
                with zf.open(nested[0]) as src, open(inner, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                _unpack(inner, dest, archive, scratch, progress, total)
                inner.unlink()
                return
            if total:
                total(len(members))
            _extract(zf, members, dest, progress)
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
    """Download (or take ``from_zip``) the data set ``name``, check it and unpack it into ``out``.

    ``expect_frames``/``expect_subjects`` replace the table's counts (a test archive, a
    subset a user made on purpose). A download is resumed from its ``.part`` file.
    """
    start = time.time()
    archive = archive_named(name)
    frames = archive.frames if expect_frames is None else expect_frames
    subjects = archive.subjects if expect_subjects is None else expect_subjects
    out = check_output_folder(Path(out))
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ConfigError(f"--out {out} is not empty: pass --force to replace it")
    if keep_zip is not None and Path(keep_zip).is_dir():
        raise ConfigError(f"--keep-zip {keep_zip} is a folder: give a file name")
    staging = download_folder(out)
    if from_zip is not None:
        from_zip = Path(from_zip)
        if not from_zip.is_file():
            raise DataError(f"--from-zip {from_zip}: no such file")
        check_not_overlapping(out, {"--from-zip": from_zip})
        path, downloaded = from_zip, False
    else:
        creds = find_credentials(env, home, archive.competition)
        staging.mkdir(parents=True, exist_ok=True)
        path = staging / f"{archive.competition}.zip"
        if not path.is_file():  # a complete download from an earlier run is used as it is
            quiet = not sys.stderr.isatty()
            try:
                download(archive.competition, path.with_name(path.name + ".part"), creds, quiet)
            finally:
                if not any(staging.iterdir()):  # nothing to resume: leave no empty folder
                    staging.rmdir()
        downloaded = True
    try:
        sha256 = _sha256(path)
        with building_folder(out) as tmp:
            scratch = tmp / ".scratch"
            scratch.mkdir()
            _unpack(path, tmp, archive, scratch, progress, total)
            scratch.rmdir()
            found, got = check_counts(tmp, path, frames, subjects)
            (tmp / DATASET_README).write_text(_readme(archive, sha256, found, got))
    except DataError:
        if downloaded:  # a complete but bad download: fetched anew next time
            path.unlink(missing_ok=True)
        raise
    if downloaded:
        if keep_zip is not None:
            Path(keep_zip).parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(path), str(keep_zip))
        shutil.rmtree(staging, ignore_errors=True)
    return FetchResult(out, found, got, sha256, Path(keep_zip or path), downloaded,
                       time.time() - start)  # fmt: skip
