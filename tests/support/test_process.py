"""The harness that starts real servers must fail loudly and leave nothing running."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.process import port_open, stop, wait_until_ready


def _python(code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


def test_a_server_that_dies_while_starting_fails_with_its_output() -> None:
    proc = _python("import sys; print('cannot read the config'); sys.exit(3)")
    with pytest.raises(RuntimeError) as e:
        wait_until_ready(proc, lambda: False, what="server", timeout=30,
                         output=lambda: proc.stdout.read())
    assert "exited with 3" in str(e.value) and "cannot read the config" in str(e.value)


def test_a_server_that_never_gets_ready_is_stopped_and_its_output_shown() -> None:
    proc = _python("import time; print('still loading', flush=True); time.sleep(60)")
    with pytest.raises(RuntimeError) as e:
        wait_until_ready(proc, lambda: False, what="server", timeout=0.5,
                         output=lambda: proc.stdout.read())
    assert "did not start within" in str(e.value) and "still loading" in str(e.value)
    assert proc.poll() is not None


def test_ready_may_say_not_yet_with_oserror_and_stop_reaps() -> None:
    proc = _python("import time; time.sleep(60)")
    calls = []

    def ready() -> bool:
        calls.append(1)
        if len(calls) < 3:
            raise OSError("not yet")
        return True
    wait_until_ready(proc, ready, what="server", timeout=30, output=lambda: "")
    assert len(calls) == 3 and proc.poll() is None
    stop(proc)
    assert proc.returncode is not None


def test_port_open_sees_a_listener() -> None:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        assert not port_open(port)
        s.listen()
        assert port_open(port)
