"""An exclusive lock on a folder, so that one writer at a time owns it.

The lock is ``fcntl.flock`` on ``<folder>/.lock``: the kernel holds it for the process and
releases it when the process ends in any way (SIGKILL included), so a lock can never go stale.
The holder writes its PID and host into the file; a second writer is refused with an error that
names them. Where the lock file names a PID on this host that is no longer running, the message
says so (the lock itself is already free then: such a file only remains where ``flock`` is not
enforced, as on some network file systems).
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

LOCK_FILE = ".lock"


class FolderLockedError(RuntimeError):
    """Another process holds the folder's lock."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def holder(folder: str | Path) -> str:
    """Who the lock file of ``folder`` says holds it, in words."""
    try:
        text = (Path(folder) / LOCK_FILE).read_text().split()
    except OSError:
        return "another process"
    if len(text) >= 2 and text[0].isdigit():
        pid, host = int(text[0]), text[1]
        if host == socket.gethostname() and not _pid_alive(pid):
            return f"process {pid} on {host} (no longer running: a stale lock file)"
        return f"process {pid} on {host}"
    return "another process"


@contextlib.contextmanager
def folder_lock(folder: str | Path) -> Iterator[Path]:
    """Hold the exclusive lock of ``folder`` (created if needed) for the ``with`` block;
    :class:`FolderLockedError` names the holder when another process has it."""
    import fcntl

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderLockedError(
                f"{folder} is in use by {holder(folder)}: one job at a time writes to an "
                "output folder; wait for it or use another output"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {socket.gethostname()} {time.time():.0f}\n".encode())
        try:
            yield path
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
