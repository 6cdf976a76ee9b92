"""One run store for every resumable stage: a lock per output, crash-safe replacement, identity.

- ``output_lock(output_path)``: an exclusive ``flock`` on ``<parent>/.<name>.lock`` for the whole
  run. The kernel drops it when the holder dies (even on kill -9), so a stale lock file is simply
  taken over; a second live run on the same output is refused with one line naming the holder.
- ``swap_into_place(tmp, out)``: puts a finished temporary sibling folder at ``out`` with no
  moment where ``out`` is missing (Linux ``renameat2(RENAME_EXCHANGE)``), or, where the
  filesystem cannot exchange, with two renames recorded beforehand in ``<parent>/.<name>.swap.json``.
- ``recover(output_path)``: run at the start of every stage run, inside the lock: finishes or
  rolls back a swap a crash interrupted and removes this output's leftover temporary folders.
- ``check_output_identity``: a finished output remembers the settings that made it (manifest key
  ``run_identity``); a rerun with other settings is refused even after the progress folder is gone.
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import platform
import re
import shutil
import socket
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from toolkit.errors import InputError

IDENTITY_KEY = "run_identity"
AT_FDCWD = -100
RENAME_EXCHANGE = 2
_SYS_RENAMEAT2 = {"x86_64": 316, "aarch64": 276, "arm64": 276, "ppc64le": 357, "s390x": 347}
_UNSUPPORTED = {errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP}


def _resolve(output_path: str | os.PathLike) -> Path:
    return Path(output_path).expanduser().resolve()


def lock_path(output_path: str | os.PathLike) -> Path:
    out = _resolve(output_path)
    return out.parent / f".{out.name}.lock"


def journal_path(output_path: str | os.PathLike) -> Path:
    out = _resolve(output_path)
    return out.parent / f".{out.name}.swap.json"


def temp_sibling(output_path: str | os.PathLike, kind: str = "tmp") -> Path:
    """``<parent>/.<name>.<kind>-<8 hex>``: the only names ``recover`` treats as this output's leftovers."""
    import uuid

    out = _resolve(output_path)
    return out.parent / f".{out.name}.{kind}-{uuid.uuid4().hex[:8]}"


_HELD: set[int] = set()  # lock fds this process holds


def _close_held_in_child() -> None:
    """A forked child (multiprocessing, engines) must not keep the lock alive after its parent dies."""
    for fd in list(_HELD):
        try:
            os.close(fd)  # drops the child's reference only; the parent's lock stays
        except OSError:
            pass
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_held_in_child)


def _leftover_pattern(out: Path) -> re.Pattern:
    return re.compile(rf"^\.{re.escape(out.name)}\.(tmp|old)-[0-9a-f]{{8}}$")


# ------------------------------------------------------------------ the lock
@contextmanager
def output_lock(output_path: str | os.PathLike, flag: str = "--output_path") -> Iterator[Path]:
    """Hold the exclusive lock on ``output_path`` for the ``with`` block; refuse if a live run holds it."""
    out = _resolve(output_path)
    path = lock_path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd = _acquire(path, out, flag)
    except OSError as exc:
        raise InputError(f"could not lock {path}: {exc.strerror or exc}") from exc
    _HELD.add(fd)
    try:
        info = {"pid": os.getpid(), "host": socket.gethostname(), "started_unix": time.time(),
                "started": time.strftime("%Y-%m-%d %H:%M:%S"), "output": str(out)}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        yield path
    finally:
        try:
            os.unlink(path)  # still held: a run that opened this file now finds it replaced and retries
        except OSError:
            pass
        _HELD.discard(fd)
        os.close(fd)  # releases the lock


def _acquire(path: Path, out: Path, flag: str) -> int:
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            raise InputError(f"another run ({_holder(path)}) is writing {out}; wait for it or use another "
                             f"{flag}") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # the holder released and removed this file between our open and flock: retry


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        info = {}
    if not info.get("pid"):
        return "pid unknown, just starting"
    where = "" if info.get("host") in (None, socket.gethostname()) else f" on {info['host']}"
    return f"pid {info['pid']}{where}, started {info.get('started', '?')}"


# ------------------------------------------------------------------ swapping and recovery
def _renameat2():
    """A callable ``(src: bytes, dst: bytes, flags) -> int`` setting errno, or None off Linux."""
    if platform.system() != "Linux":
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    fn = getattr(libc, "renameat2", None)
    if fn is not None:
        fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
        fn.restype = ctypes.c_int
        return lambda a, b, flags: fn(AT_FDCWD, a, AT_FDCWD, b, flags)
    number = _SYS_RENAMEAT2.get(platform.machine())
    if number is None:
        return None
    syscall = libc.syscall
    syscall.restype = ctypes.c_long
    return lambda a, b, flags: syscall(ctypes.c_long(number), ctypes.c_int(AT_FDCWD), ctypes.c_char_p(a),
                                       ctypes.c_int(AT_FDCWD), ctypes.c_char_p(b), ctypes.c_uint(flags))


def exchange_paths(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Atomically swap two existing paths; False where the kernel or filesystem cannot."""
    fn = _renameat2()
    if fn is None:
        return False
    if fn(os.fsencode(str(a)), os.fsencode(str(b)), RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in _UNSUPPORTED:
        return False
    raise OSError(err, os.strerror(err), str(a))


def _rename(src: Path, dst: Path) -> None:
    os.replace(src, dst)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def swap_into_place(tmp: Path, out: Path) -> None:
    """Put the complete folder ``tmp`` (a sibling of ``out``) at ``out``; the old ``out`` is deleted.

    ``out`` never goes missing where ``RENAME_EXCHANGE`` works; elsewhere the two renames are
    journalled first so ``recover`` can finish or undo them after a crash. An ``OSError`` here is
    rolled back at once (the previous output stays) and re-raised.
    """
    tmp, out = Path(tmp), Path(out)
    if not os.path.lexists(out):
        _rename(tmp, out)
        _fsync_dir(out.parent)
        return
    if exchange_paths(tmp, out):
        _fsync_dir(out.parent)
        _remove(tmp)  # the old output now lives here; a crash before this is cleaned by recover()
        return
    journal = journal_path(out)
    old = temp_sibling(out, "old")
    _write_journal(journal, {"output": str(out), "new": str(tmp), "old": str(old), "pid": os.getpid()})
    try:
        _rename(out, old)
        _rename(tmp, out)
    except Exception:
        # Undo in this process; a crash (kill, BaseException) is finished or undone by the next run's recover().
        if not os.path.lexists(out) and os.path.lexists(old):
            _rename(old, out)  # should this fail too, the journal stays for recover()
        if os.path.lexists(out):
            journal.unlink(missing_ok=True)
        raise
    _fsync_dir(out.parent)
    journal.unlink(missing_ok=True)
    _remove(old)


def write_file_atomic(path: str | os.PathLike, write) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, fsync it, then rename it over
    ``path``: readers see the old file or the new one, never half of one. On any failure the
    temporary file is removed and ``path`` is untouched."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    return write_file_atomic(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def _write_journal(path: Path, info: dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(info))
        fh.flush()
        os.fsync(fh.fileno())
    _fsync_dir(path.parent)


def _kind(pattern: re.Pattern, name: str) -> str | None:
    """'tmp' or 'old' for this output's temporary siblings, None for anything else."""
    found = pattern.match(name)
    return found.group(1) if found else None


def recover(output_path: str | os.PathLike) -> list[str]:
    """Finish or roll back a swap a crash interrupted; remove this output's leftover temp folders.

    Call it inside ``output_lock``. Returns what it did, one phrase per action (empty: nothing to do).
    """
    out = _resolve(output_path)
    if not out.parent.is_dir():
        return []
    pattern = _leftover_pattern(out)
    journal = journal_path(out)
    done: list[str] = []
    info = None
    if journal.exists():
        try:
            info = json.loads(journal.read_text())
        except (OSError, ValueError):
            info = None  # torn while being written: no rename had started
    if not os.path.lexists(out):
        candidates = []
        if isinstance(info, dict):
            # The journal is written only once the new folder is complete: move it in, else put the old back.
            candidates = [Path(info.get("new", "")), Path(info.get("old", ""))]
        else:
            olds = [p for p in out.parent.iterdir() if _kind(pattern, p.name) == "old"]
            candidates = sorted(olds, key=lambda p: p.stat().st_mtime, reverse=True)[:1]
        for cand in candidates:
            if cand.parent == out.parent and _kind(pattern, cand.name) and os.path.lexists(cand):
                _rename(cand, out)
                _fsync_dir(out.parent)
                done.append(("moved the finished new output into place" if _kind(pattern, cand.name) == "tmp"
                             else "put the previous output back") + f" at {out}")
                break
    for p in list(out.parent.iterdir()):
        if pattern.match(p.name):
            _remove(p)
            done.append(f"removed leftover {p.name}")
    if journal.exists():
        journal.unlink(missing_ok=True)
    return done


# ------------------------------------------------------------------ identity of a finished output
def _normalized(identity: dict[str, Any]) -> dict[str, Any]:
    """As it reads back from a manifest: secrets masked, JSON types."""
    try:
        from toolkit.secrets import redact
    except ImportError:  # pragma: no cover - secrets module absent
        def redact(value):
            return value
    return json.loads(json.dumps(redact(identity), default=str))


def check_output_identity(output_path: str | os.PathLike, stage: str, identity: dict[str, Any], what: str,
                          overwrite: bool = False, overwrite_flag: str | None = None) -> None:
    """Refuse a run whose settings differ from those recorded in the existing output's manifest."""
    if overwrite:
        return
    from toolkit.dataset_io import read_manifest

    out = _resolve(output_path)
    manifest = read_manifest(out) if out.is_dir() else None
    if not manifest or not isinstance(manifest.get(IDENTITY_KEY), dict):
        return  # no output yet, or one written before identities were recorded
    old = {"stage": manifest.get("stage"), **manifest[IDENTITY_KEY]}
    new = _normalized({"stage": stage, **identity})
    changed = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    if not changed:
        return
    diff = "; ".join(f"{k}: was {old.get(k)!r}, now {new.get(k)!r}" for k in changed)
    fix = f"pass {overwrite_flag} to replace it, " if overwrite_flag else ""
    raise InputError(f"{out} holds {what} made with other settings ({diff}). Rerun with the same settings, "
                     f"{fix}delete {out} or use another --output_path")
