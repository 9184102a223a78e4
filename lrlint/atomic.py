"""Writing a file so that readers see the old content or the new, never half of it."""

from __future__ import annotations

import os
from typing import Optional


class ChangedOnDisk(Exception):
    """The file is no longer what was read: writing would lose someone else's change."""


def write_atomically(path: str, data: bytes, expected: Optional[bytes] = None) -> None:
    """A temporary file in the same folder, then ``os.replace`` (atomic on one filesystem).

    The file keeps its permission bits; a symbolic link keeps pointing at the file it names,
    which is the one rewritten. With ``expected``, the write is refused (``ChangedOnDisk``) when
    the file's current bytes differ from it."""
    target = os.path.realpath(path)
    folder = os.path.dirname(target)
    os.makedirs(folder, exist_ok=True)
    mode = _mode_for(target)
    import tempfile  # here: most runs write nothing

    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(target)}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)  # mkstemp makes it 0600
        if expected is not None and _current(target) != expected:
            raise ChangedOnDisk(f"{path} changed on disk while lrlint was working on it; not written")
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def _current(path: str) -> Optional[bytes]:
    try:
        with open(path, "rb") as stream:
            return stream.read()
    except OSError:
        return None


def _mode_for(path: str) -> int:
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
