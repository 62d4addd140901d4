"""Keep pybullet's C-level chatter ("argv[0]=", "pybullet build time") off our stdout/stderr.

The dialogue-script spec makes stdout a contract (one PASS/FAIL line per script),
and the C library prints with printf, below Python's sys.stdout, so the file
descriptors themselves are pointed at /dev/null for the duration, and the C
stdio buffers are flushed before they are restored (a pipe is block-buffered:
without the flush the text would come out later, on the real stdout).
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import sys

_libc = ctypes.CDLL(None)


@contextlib.contextmanager
def c_quiet(fds: tuple[int, ...] = (1, 2)):
    if os.environ.get("ROBOT_ASSISTANT_VERBOSE_PYBULLET"):
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in fds}
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in fds:
            os.dup2(null, fd)
        yield
    finally:
        _libc.fflush(None)
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, old in saved.items():
            os.dup2(old, fd)
            os.close(old)
        os.close(null)
