"""Starting and stopping the real servers the tests run (kidgate, mitmdump, slapd): one way to
wait until a process is ready and one way to stop it, so that a server that dies while starting
fails the test with its own output, and none outlives its test."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until_ready(proc: subprocess.Popen, ready: Callable[[], bool], *, what: str,
                     output: Callable[[], str], timeout: float) -> None:
    """Poll ``ready`` until it is true; raise with ``output()`` when ``proc`` exits first or
    ``timeout`` seconds pass (then it is stopped first). ``ready`` may raise ``OSError`` for
    "not yet"."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{output()}")
        try:
            if ready():
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            stop(proc)  # so that its output can be read to the end
            raise RuntimeError(f"{what} did not start within {timeout:.0f} s:\n{output()}")
        time.sleep(0.1)


def stop(proc: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; always reaps the process."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def skip_unless_available(reason: str | None, what: str, *, ci_exempt: tuple[str, ...] = ()
                          ) -> None:
    """Skip a test whose server or tool is missing (``reason``) on a developer's machine, but
    fail it in CI (``CI=true``), which installs everything: a missing tool there must not pass
    silently as a skip. A reason containing one of ``ci_exempt`` is a skip in CI too."""
    import os

    import pytest
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true" and not any(w in reason for w in ci_exempt):
        pytest.fail(f"CI must run {what}: {reason}")
    pytest.skip(f"{what}: {reason}")
