"""The one output layer: every file a command writes goes through here.

- ``check_output(path)`` runs *before* the work: a folder where a file is expected, a parent that is a
  file, a read-only or unwritable place, a (nearly) full disk: one ``OutputError`` line, nothing done.
- ``atomic_path(path)`` yields a temporary path to write; it is renamed onto ``path`` only when the
  block succeeds. Regular files are replaced atomically; a symlink is written *through* (its target
  is replaced, the link stays); a device node, FIFO or ``-`` (stdout) receives the bytes in place.
- Every temporary file is registered while it lives: ``remove_temporaries()`` (called by the signal
  handlers of ``realtime.signals`` and at exit) deletes what an interrupted run leaves.
- A full disk (ENOSPC, EDQUOT, EFBIG) becomes one ``OutputError`` line naming the path.
- New files get 0o666 less the umask (the mode a plain ``open()`` gives), whatever wrote them.
"""
from __future__ import annotations

import atexit
import contextlib
import errno
import json
import os
import shutil
import stat
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterator

from realtime.errors import InputError

#: Free bytes a folder must have before a command starts writing there (when the size is unknown).
MIN_FREE_BYTES = 1 << 20
DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})

_temps: set[Path] = set()
_written: list[str] = []
_lock = threading.Lock()


class OutputError(InputError):
    """An output path that cannot be written (one line; the CLI exits 2)."""


def default_file_mode() -> int:
    """0o666 less the process umask: the mode a plain open() would give a new file."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def is_stdout(path: str | Path | None) -> bool:
    return str(path) == "-"


def _special(path: Path) -> bool:
    """True for an existing node that is written in place: a device, a FIFO or a socket."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def real_target(path: str | Path) -> Path:
    """The file a write to ``path`` lands in: symlinks followed (a dangling link: its target)."""
    p = Path(path)
    for _ in range(40):
        if not p.is_symlink():
            return p
        link = Path(os.readlink(p))
        p = link if link.is_absolute() else p.parent / link
    raise OutputError(f"{path}: too many levels of symbolic links; expected a file path")


def _nearest_existing(p: Path) -> Path:
    q = p.absolute()
    while not q.exists() and not q.is_symlink() and q != q.parent:
        q = q.parent
    return q


def free_bytes(folder: str | Path) -> int | None:
    """Bytes an unprivileged writer may still use under ``folder`` (None when unknown)."""
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):
        return None
    return st.f_bavail * st.f_frsize


def _readonly(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


def check_output(path: str | Path, what: str = "-o", *, folder: bool = False, stdout_ok: bool = False,
                 need_bytes: int | None = None) -> None:
    """Refuse, before any work, an output that cannot be written (OutputError, one line).

    ``folder``: the output is a folder (created if missing) rather than a file.
    ``need_bytes``: the size to expect, when known (else ``MIN_FREE_BYTES`` must be free).
    """
    if is_stdout(path):
        if stdout_ok:
            return
        raise OutputError(f"{what} -: this output cannot go to stdout; give a file path")
    text = str(path)
    if not text.strip():
        raise OutputError(f"{what}: empty path; expected a {'folder' if folder else 'file'} path")
    if "\x00" in text:
        raise OutputError(f"{what} {text!r}: a path cannot hold a NUL character")
    p = real_target(path)
    if _special(p):
        if not os.access(p, os.W_OK):
            raise OutputError(f"{what} {path}: not writable (permission denied)")
        return
    if p.exists():
        if folder and not p.is_dir():
            raise OutputError(f"{what} {path}: is a file; expected a folder (it is created if missing)")
        if not folder and p.is_dir():
            raise OutputError(f"{what} {path}: is a folder; expected a file path such as "
                              f"{(p / ('out' + (p.suffix or '.json'))).as_posix()}")
    base = p if folder and p.is_dir() else _nearest_existing(p.parent if not folder else p)
    if base.exists() and not base.is_dir():
        raise OutputError(f"{what} {path}: {base} is a file, not a folder; choose a path inside a folder")
    if _readonly(base):
        raise OutputError(f"{what} {path}: {base} is on a read-only file system; write somewhere else")
    if not os.access(base, os.W_OK | os.X_OK):
        raise OutputError(f"{what} {path}: the folder {base} is not writable (permission denied)")
    free = free_bytes(base)
    need = max(need_bytes or 0, MIN_FREE_BYTES)
    if free is not None and free < need:
        raise OutputError(f"{what} {path}: disk full ({free / 2**20:.1f} MB free under {base}, "
                          f"{need / 2**20:.1f} MB needed); free some space or write elsewhere")


def check_outputs(pairs: dict[str, Any], **kw) -> None:
    """``check_output`` for each {flag: path} whose path is set."""
    for what, path in pairs.items():
        if path:
            check_output(path, what, **kw)


def disk_full_error(path: str | Path, e: BaseException) -> OutputError:
    folder = _nearest_existing(real_target(path).parent) if not is_stdout(path) else Path(".")
    free = free_bytes(folder)
    left = f" ({free / 2**20:.1f} MB free)" if free is not None else ""
    return OutputError(f"{path}: disk full while writing{left}; free some space or write elsewhere "
                       f"({getattr(e, 'strerror', None) or e})")


def is_disk_full(e: BaseException) -> bool:
    if isinstance(e, OSError) and e.errno in DISK_FULL:
        return True
    text = str(e)
    return "No space left on device" in text or "Disk quota exceeded" in text or "File too large" in text


@contextlib.contextmanager
def translate_disk_full(path: str | Path) -> Iterator[None]:
    """Turn a disk-full OSError (or an ffmpeg pipe error saying so) inside the block into one line."""
    try:
        yield
    except OutputError:
        raise
    except (OSError, RuntimeError) as e:
        if is_disk_full(e):
            raise disk_full_error(path, e) from None
        raise


def register_temporary(path: str | Path) -> None:
    with _lock:
        _temps.add(Path(path))


def forget_temporary(path: str | Path) -> None:
    with _lock:
        _temps.discard(Path(path))


def remove_temporaries() -> list[Path]:
    """Delete every temporary file still registered (signals, exit); returns what was deleted."""
    with _lock:
        temps = list(_temps)
        _temps.clear()
    gone = []
    for t in temps:
        with contextlib.suppress(OSError):
            t.unlink()
            gone.append(t)
    return gone


atexit.register(remove_temporaries)


def new_temporary(near: str | Path, suffix: str = "", prefix: str | None = None) -> Path:
    """A new empty registered temporary file beside ``near`` (hidden name), mode per the umask."""
    dst = Path(near)
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=prefix or f".{dst.stem}.", suffix=suffix, dir=dst.parent)
    os.close(fd)
    register_temporary(tmp)
    return Path(tmp)


def temporary_for(path: str | Path, suffix: str = "") -> Path:
    """A registered temporary file from which ``finalize(tmp, path)`` will make ``path``: beside the
    file (or the symlink's target) it replaces; in the system's temporary folder for devices and ``-``."""
    if is_stdout(path) or _special(real_target(path)):
        fd, name = tempfile.mkstemp(prefix=".repose.", suffix=suffix)
        os.close(fd)
        register_temporary(name)
        return Path(name)
    target = real_target(path)
    with translate_disk_full(path):
        return new_temporary(target, suffix, prefix=f".{target.name}.")


def written() -> list[str]:
    """Outputs finalized so far in this process (the CLI names them when a run is interrupted)."""
    return list(_written)


def note_written(path: str | Path) -> None:
    _written.append(str(path))


def finalize(tmp: Path, dst: str | Path) -> None:
    """Move a finished temporary file onto ``dst`` (through symlinks; into devices/stdout in place)."""
    with translate_disk_full(dst):
        if is_stdout(dst):
            sys.stdout.flush()
            with open(tmp, "rb") as f:
                shutil.copyfileobj(f, sys.stdout.buffer)
            sys.stdout.buffer.flush()
            tmp.unlink()
        else:
            target = real_target(dst)
            if _special(target):
                with open(tmp, "rb") as f, open(target, "wb") as out:
                    shutil.copyfileobj(f, out)
                tmp.unlink()
            else:
                os.chmod(tmp, default_file_mode())
                os.replace(tmp, target)
    forget_temporary(tmp)
    note_written(dst)


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a registered temporary path; it becomes ``path`` only if the block succeeds.

    The temporary lies beside the file it replaces (so the rename is atomic), beside the link's
    target for a symlink, and in the system's temporary folder for devices, FIFOs and ``-``.
    """
    dst = Path(path)
    tmp = temporary_for(dst, suffix if suffix is not None else dst.suffix)
    try:
        with translate_disk_full(dst):
            yield tmp
        finalize(tmp, dst)
    finally:
        if tmp.exists():
            with contextlib.suppress(OSError):
                tmp.unlink()
        forget_temporary(tmp)


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write bytes atomically (through symlinks; in place into devices and ``-``)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, data: Any) -> None:
    """Write JSON atomically (indented, UTF-8)."""
    write_text(path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")


def write_image(path: str | Path, image_bgr, ext: str | None = None) -> None:
    """Write a BGR image atomically; the format follows the extension (or ``ext``)."""
    import cv2

    suffix = ext or Path(path).suffix or ".png"
    ok, buf = cv2.imencode(suffix, image_bgr)
    if not ok:
        raise OutputError(f"{path}: cannot encode an image as {suffix!r}; use .png or .jpg")
    write_bytes(path, buf.tobytes())


def make_folder(path: str | Path, what: str = "-o") -> Path:
    """Create an output folder (and parents) after ``check_output(folder=True)``; one line on failure."""
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"{what} {path}: is a file; expected a folder") from None
    except OSError as e:
        if is_disk_full(e):
            raise disk_full_error(path, e) from None
        raise OutputError(f"{what} {path}: cannot create the folder ({e.strerror or e})") from None
    return p
