"""Silence what native libraries (MediaPipe's absl/glog, TFLite) print straight to file
descriptor 2, while Python's own ``sys.stderr`` (progress bars, errors) keeps working.

MediaPipe writes lines such as "All log messages before absl::InitializeLog()…" and "Created
TensorFlow Lite XNNPACK delegate" from C++ threads; a guider should not see them. Set
``VIGCV_NATIVE_LOGS=1`` to let them through when debugging.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Point fd 2 at /dev/null for the duration; ``sys.stderr`` writes to the real stderr."""
    if os.environ.get("VIGCV_NATIVE_LOGS") == "1":
        yield
        return
    try:
        sys.stderr.flush()
        saved_fd = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    python_stderr = sys.stderr
    replacement = io.TextIOWrapper(
        os.fdopen(os.dup(saved_fd), "wb", buffering=0),
        encoding=getattr(python_stderr, "encoding", None) or "utf-8",
        errors="backslashreplace",
        line_buffering=True,
        write_through=True,
    )
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stderr = replacement
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            replacement.flush()
        sys.stderr = python_stderr
        os.dup2(saved_fd, 2)
        os.close(saved_fd)
        with contextlib.suppress(Exception):
            replacement.close()
