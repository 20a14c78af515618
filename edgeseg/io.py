"""Atomic file writes: nothing half-written is ever left behind."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from edgeseg.errors import ConfigError


def file_in_the_way(folder: Path) -> Path | None:
    """The file at ``folder`` or at its nearest existing ancestor, if that is not a folder."""
    probe = Path(folder)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return probe if probe.exists() and not probe.is_dir() else None


def check_output_folder(folder: Path, flag: str = "--out") -> Path:
    """ConfigError naming ``flag`` when ``folder`` (or a parent of it) is an existing file."""
    folder = Path(folder)
    blocker = file_in_the_way(folder)
    if blocker == folder:
        raise ConfigError(f"{flag} {folder} is a file, expected a folder: pass a folder")
    if blocker is not None:
        raise ConfigError(f"{flag} {folder}: {blocker} is a file, expected a folder")
    return folder


def _umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux /proc)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (not thread-safe, but brief)
    os.umask(mask)
    return mask


def _final_mode(target: Path) -> int:
    """The mode ``open(target, "w")`` would leave: the existing file's, else 0o666 & ~umask."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        return 0o666 & ~_umask()


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` only on success.

    ``mkstemp`` creates the temporary file 0600; before the rename it gets the mode a normal
    write would give (0644 under the usual umask 022), so models, masks and reports stay readable.
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        blocker = file_in_the_way(target.parent) or target.parent
        raise ConfigError(f"cannot write {target}: {blocker} is a file, expected a folder") from exc
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, _final_mode(target))
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text_atomic(target: Path, text: str) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(text)
    return Path(target)


def write_bytes_atomic(target: Path, data: bytes) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one step (Linux ``renameat2``); False where unsupported."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if result == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def swap_in_folder(new: Path, target: Path) -> None:
    """Put the finished folder ``new`` at ``target``; the old ``target`` (if any) is removed after.

    Where the OS can exchange two paths in one step (Linux), ``target`` always holds either the
    old folder or the new one, even under ``kill -9``. Elsewhere there is a moment between two
    renames when ``target`` is absent and the old folder waits beside it as ``.NAME.old-*``.
    """
    new, target = Path(new), Path(target)
    if not target.exists() and not target.is_symlink():
        os.replace(new, target)
        return
    if target.is_dir() and not target.is_symlink() and _exchange(new, target):
        shutil.rmtree(new, ignore_errors=True)  # ``new`` now names the old folder
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.rmdir(old)
    os.replace(target, old)
    os.replace(new, target)
    if old.is_dir() and not old.is_symlink():
        shutil.rmtree(old, ignore_errors=True)
    else:
        old.unlink()


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (another user's process counts as running).

    The one liveness rule for stale build folders, run locks and conversion scratch folders.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError, ValueError):
        return True  # someone else's process (or not a pid we can ask about): leave it
    return True


def remove_stale_builds(target: Path, kind: str = "building") -> list[Path]:
    """Delete ``.NAME.KIND-PID-*`` siblings of ``target`` whose process PID has ended.

    ``kind`` names the staging folders' maker: ``building`` (:func:`building_folder`),
    ``pipeline`` (``edgeseg pipeline``'s staging folder).
    """
    removed = []
    for sibling in Path(target).parent.glob(f".{Path(target).name}.{kind}-*"):
        pid = sibling.name.rsplit(f".{kind}-", 1)[1].split("-", 1)[0]
        if pid.isdigit() and not pid_alive(int(pid)) and sibling.is_dir():
            shutil.rmtree(sibling, ignore_errors=True)
            removed.append(sibling)
    return removed


@contextlib.contextmanager
def building_folder(target: Path) -> Iterator[Path]:
    """Build a folder beside ``target`` and swap it in only when the block finishes.

    Yields an empty temporary sibling (``.NAME.building-*``, same file system, so the swap is a
    rename). On normal exit the sibling replaces ``target`` (see :func:`swap_in_folder`); on any
    exception, KeyboardInterrupt included, the sibling is deleted and ``target`` is untouched.
    Whether replacing an existing ``target`` is allowed (``--force``) is the caller's decision.
    A ``kill -9`` can leave a ``.NAME.building-PID-*`` sibling behind; it is never read as output
    and the next build of ``target`` removes it once process PID is gone.

        with building_folder(out) as tmp:
            write_everything(tmp)      # out is still the old folder here
        # out is now the new folder
    """
    target = Path(os.path.abspath(target))  # "." and "a/.." have a real name and parent
    if target.is_symlink() and target.is_dir():
        target = target.resolve()  # build beside the real folder; the link keeps pointing at it
    if target.exists() and not target.is_dir():
        raise ConfigError(f"{target} is a file, expected a folder: pass a folder")
    with contextlib.suppress(OSError):
        here = Path.cwd().resolve()
        if target.exists() and (here == target.resolve() or target.resolve() in here.parents):
            raise ConfigError(
                f"{target} is (or holds) the current folder: it is replaced whole, which would "
                "leave your shell in a deleted folder; pass another folder (e.g. --out data)"
            )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        blocker = file_in_the_way(target.parent) or target.parent
        raise ConfigError(f"cannot write {target}: {blocker} is a file, expected a folder") from exc
    remove_stale_builds(target)
    prefix = f".{target.name}.building-{os.getpid()}-"
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    try:
        yield tmp
        swap_in_folder(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _inside(a: Path, b: Path) -> bool:
    """True when ``a`` is ``b`` or lies inside it (both resolved)."""
    return a == b or b in a.parents


def check_not_overlapping(
    out: Path, inputs: Mapping[str, Path] | Iterable[tuple[str, Path]], flag: str = "--out"
) -> None:
    """ConfigError when the output ``out`` contains, or is contained in, any input.

    ``inputs`` maps each input's flag (``"--from"``, ``"IMAGES"``) to its path (a mapping, or
    (flag, path) pairs when one flag takes several paths). Paths are
    resolved (symlinks followed), so ``--out ./a/../a`` is caught too. One rule for every command:
    an output never overwrites, or is built inside, what the command reads.
    """
    out_r = Path(out).resolve()
    pairs = inputs.items() if isinstance(inputs, Mapping) else inputs
    for name, path in pairs:
        in_r = Path(path).resolve()
        if _inside(out_r, in_r) or _inside(in_r, out_r):
            where = "is" if out_r == in_r else ("is inside" if _inside(out_r, in_r) else "contains")
            raise ConfigError(
                f"{flag} {out} {where} the input {name} {path}: "
                f"pass an {flag} folder outside the input"
            )


def carry_over(old: Path, new: Path, replaced: set[str]) -> None:
    """Copy the entries of folder ``old`` whose names are not in ``replaced`` into ``new``.

    For a command that replaces part of a folder (``images/`` and ``masks/`` of a dataset) while
    keeping the rest (a README of the user's): the kept files go into the folder being built, so
    the swap is still one step. Files are hard-linked where the file system allows (no copy, no
    space), else copied; symbolic links stay links.
    """
    old, new = Path(old), Path(new)
    if not old.is_dir():
        return

    def link_or_copy(src: str, dst: str) -> None:
        try:
            os.link(src, dst, follow_symlinks=False)
        except OSError:
            shutil.copy2(src, dst, follow_symlinks=False)

    for entry in sorted(old.iterdir()):
        if entry.name in replaced:
            continue
        dest = new / entry.name
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, dest, symlinks=True, copy_function=link_or_copy)
        else:
            link_or_copy(str(entry), str(dest))
