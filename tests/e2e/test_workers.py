"""The classifier's worker processes, through a real proxy: a worker that hangs or dies gives
the child the fail-safe verdict and is replaced, requests waiting for it are not lost, and
stopping the proxy leaves no process behind."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from tests.support.proxy import Site, run_proxy

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PAGE = (b"<!doctype html><html><head><title>Garden notes</title></head><body>"
        b"<p>How to grow tomatoes and beans in a small garden.</p></body></html>")
CONFIG = "profiles:\n  child: {age: 10, fail_safe: block}\n"


def _tree(pid: int) -> list[int]:
    """The process and all its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
    return out


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _workers(proxy_pid: int) -> list[int]:
    return [p for p in _tree(proxy_pid) if _comm(p) == "kidgate-worker"]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait(pred, timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture
def site():
    s = Site({"/page": (200, {"Content-Type": "text/html; charset=utf-8"}, PAGE)}).start()
    yield s
    s.stop()


def _proxy(tmp_path, site, timeout_ms: int):
    return run_proxy(tmp_path, config=CONFIG, routes={"garden.test": site.port},
                     options=["--set", "kidgate_workers=1", "--set", "kidgate_site_labels=false",
                              "--set", f"kidgate_timeout_ms={timeout_ms}"])


def test_a_hung_worker_fails_safe_and_is_replaced(tmp_path, site):
    with _proxy(tmp_path, site, 1500) as p, p.client() as c:
        assert c.get("http://garden.test/page?n=1").status_code == 200
        [worker] = _workers(p.proc.pid)
        os.kill(worker, signal.SIGSTOP)  # hangs: takes jobs, never answers
        try:
            start = time.monotonic()
            hung = c.get("http://garden.test/page?n=2")
            assert hung.status_code == 403, "the child must get the fail-safe verdict"
            assert "error" in hung.headers["X-Kidgate-Reason"]
            assert time.monotonic() - start < 10
        finally:
            if _alive(worker):
                os.kill(worker, signal.SIGCONT)
        _wait(lambda: _workers(p.proc.pid) and worker not in _workers(p.proc.pid),
              what="a replacement worker")
        assert not _alive(worker)
        assert c.get("http://garden.test/page?n=3").status_code == 200
        assert "did not answer in time" in p.log()


def test_a_dead_worker_fails_its_page_safe_and_loses_no_waiting_request(tmp_path, site):
    with _proxy(tmp_path, site, 8000) as p, p.client() as c:
        assert c.get("http://garden.test/page?n=1").status_code == 200
        [worker] = _workers(p.proc.pid)
        os.kill(worker, signal.SIGSTOP)
        answers: dict[str, int] = {}

        def fetch(name: str) -> None:
            with p.client() as own:
                answers[name] = own.get(f"http://garden.test/page?{name}").status_code

        first = threading.Thread(target=fetch, args=("first",))
        first.start()
        time.sleep(0.5)  # the first request's job is with the stopped worker
        waiting = threading.Thread(target=fetch, args=("waiting",))
        waiting.start()
        time.sleep(0.5)  # the second one waits in the queue
        os.kill(worker, signal.SIGKILL)
        first.join(20)
        waiting.join(20)
        assert answers == {"first": 403, "waiting": 200}
        _wait(lambda: bool(_workers(p.proc.pid)), what="a replacement worker")
        assert worker not in _workers(p.proc.pid)
        assert "classifier worker" in p.log() and "stopped" in p.log()
        # One line per request: the three requests, none lost with the worker.
        _wait(lambda: len([d for d in p.decisions() if d["host"] == "garden.test"]) >= 3,
              what="every decision in the log")
        decisions = [d for d in p.decisions() if d["host"] == "garden.test"]
        assert any(d["action"] == "block" and "error" in d["sources"] for d in decisions)


def test_stopping_the_proxy_leaves_no_process_behind(tmp_path, site):
    with _proxy(tmp_path, site, 1500) as p, p.client() as c:
        assert c.get("http://garden.test/page").status_code == 200
        procs = _tree(p.proc.pid)
        assert len(_workers(p.proc.pid)) == 1 and len(procs) >= 3  # proxy, fork server, worker
        p.proc.send_signal(signal.SIGTERM)
        p.proc.wait(20)
    _wait(lambda: not [q for q in procs if _alive(q)], timeout=10,
          what=f"processes {[q for q in procs if _alive(q)]} to exit")
