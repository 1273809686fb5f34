"""Writing a local file so that no one else's file is ever written instead, and no half file stays.

Every file the package writes on the local disk (``report --out``, ``fingerprint --out``, a plot
saved with ``path=``, the benchmark's loss-matrix cache) goes through :func:`atomic_writer`:

- the data goes to a new temporary file in the target's own folder, made by
  :func:`tempfile.mkstemp` (``O_CREAT | O_EXCL``, a random name, mode 0600): it cannot be a
  file or a link someone planted at a predictable name;
- the file is flushed and synced, given the mode a new file gets (``0666`` less the umask, or
  the mode of the regular file it replaces), and renamed over the target with
  :func:`os.replace`, which is atomic and replaces a link at the target instead of writing
  through it;
- on any error the temporary file is removed and the target is as it was.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_writer", "write_atomic"]


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A binary file that becomes ``path`` when the block ends without an error.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> with atomic_writer(folder / "out.txt") as handle:
    ...     _ = handle.write(b"hello")
    >>> (folder / "out.txt").read_bytes(), sorted(p.name for p in folder.iterdir())
    (b'hello', ['out.txt'])
    """
    target = Path(path)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), _mode_for(target))
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def write_atomic(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` through :func:`atomic_writer`."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_writer(path) as handle:
        handle.write(payload)


def _mode_for(target: Path) -> int:
    """The mode of the regular file being replaced, else ``0666`` less the umask."""
    try:
        info = os.lstat(target)
    except OSError:
        info = None
    if info is not None and stat.S_ISREG(info.st_mode):
        return stat.S_IMODE(info.st_mode)
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask
