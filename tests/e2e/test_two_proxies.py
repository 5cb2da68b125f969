"""A school's set-up end to end: two ``kidgate run`` processes with the same configuration,
one PostgreSQL server (``database.url``). A request for access made through one proxy is
approved in the other's admin app and opens the page on both within seconds; one proxy is
killed (SIGKILL) under load, its clients fall back to the other (as a PAC file with two
proxies does), and nothing acknowledged before the kill is missing from the database."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from storage import tables as t
from tests.support import postgres
from tests.support.kidgate_run import Kidgate, run_kidgate
from tests.support.proxy import Site, build_test_lists

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

PASSWORD = "a long school password"
#: Decision rows reach the database in batches about every 0.2 s. A SIGKILL can take the
#: last batch with it (nothing was promised to anyone for those); every decision older than
#: this before the kill must be in the database.
FLUSHED_AFTER = 2.0


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def _link(page: str, cls: str) -> str:
    m = re.search(rf'<a class="{cls}" href="([^"]+)"', page)
    assert m, f"no {cls} link on the block page"
    return m[1].replace("&amp;", "&")


def _client(kg: Kidgate) -> httpx.Client:
    return httpx.Client(proxy=kg.proxy_url, timeout=15)


class FallbackLoad:
    """Browses through ``first`` and, when it stops answering, through ``second``: what a
    browser does with ``PROXY a:3128; PROXY b:3128`` in its PAC file. Each request asks for
    a new blocked host, so that each answer names one decision row."""

    def __init__(self, first: Kidgate, second: Kidgate, name: str) -> None:
        self.proxies = [first, second]
        self.name = name
        self.answered: list[tuple[str, float, int]] = []  # host, monotonic time, proxy index
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        which, n = 0, 0
        client = _client(self.proxies[which])
        while not self.stop.is_set():
            host = f"{self.name}-{n}.load.test"
            try:
                r = client.get(f"http://{host}/")
            except httpx.TransportError as e:
                if which == 0:
                    which = 1  # the first proxy is gone: fall back, ask again
                    client.close()
                    client = _client(self.proxies[which])
                    continue
                self.errors.append(f"{host}: {e!r}")
                time.sleep(0.1)
                continue
            if r.status_code != 403:
                self.errors.append(f"{host}: HTTP {r.status_code}")
            self.answered.append((host, time.monotonic(), which))
            n += 1
        client.close()


def test_two_proxies_share_one_postgresql(tmp_path: Path, postgres_server_url: str) -> None:
    url = postgres.fresh_database(postgres_server_url)
    site = Site({"/page": (200, {"Content-Type": "text/plain"}, b"the real page")}).start()
    lists = build_test_lists(tmp_path, {"gambling": ["casino.test", "load.test"],
                                        "sexual": ["adult.test"]})
    config = f"database: {{url: '{url}'}}\nprofiles:\n  class5b: {{age: 11}}\n"
    routes = {"casino.test": site.port}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    engine = sa.create_engine(url)
    try:
        with run_kidgate(tmp_path / "a", config, routes=routes, lists=lists) as a, \
                run_kidgate(tmp_path / "b", config, routes=routes, lists=lists) as b:
            with _client(a) as ca, _client(b) as cb:
                # Blocked on both; the pupil asks through proxy A.
                assert cb.get("http://casino.test/page").status_code == 403
                blocked = ca.get("http://casino.test/page")
                assert blocked.status_code == 403
                form = ca.get(_link(blocked.text, "ask"))
                token = re.search(r'name="t" value="([^"]+)"', form.text)[1]
                asked = ca.post("http://kidgate.internal/ask",
                                data={"t": token, "message": "for the maths lesson"})
                assert asked.status_code == 200

                # The teacher signs up on A (with the code B printed last: one database,
                # one code) and answers on B's admin app.
                with httpx.Client(base_url=a.admin_url) as admin_a:
                    page = admin_a.get("/setup")
                    r = admin_a.post("/setup", data={
                        "csrf": _csrf(page.text), "code": b.setup_code(), "username": "it",
                        "password": PASSWORD, "confirm": PASSWORD, "language": "en"})
                    assert r.status_code == 302, r.text
                with httpx.Client(base_url=b.admin_url) as admin_b:
                    page = admin_b.get("/sign-in")
                    r = admin_b.post("/sign-in", data={"csrf": _csrf(page.text),
                                                       "username": "it", "password": PASSWORD})
                    assert r.status_code == 302, r.text
                    requests_page = admin_b.get("/requests")
                    assert "for the maths lesson" in requests_page.text  # asked on A
                    [rid] = re.findall(r'data-request="(\d+)"', requests_page.text)
                    r = admin_b.post(f"/requests/{rid}/approve", data={
                        "csrf": _csrf(requests_page.text), "duration": "1h", "scope": "url"})
                    assert r.status_code == 302
                approved_at = time.monotonic()
                for c in (ca, cb):  # the approval opens the page on both proxies
                    while c.get("http://casino.test/page").status_code != 200:
                        assert time.monotonic() - approved_at < 10, "approval not applied"
                        time.sleep(0.2)
                assert time.monotonic() - approved_at < 10
                assert ca.get("http://casino.test/page").text == "the real page"

                # A report through B, acknowledged: it is in the shared database.
                report = _link(cb.get("http://adult.test/x?id=1").text, "report")
                assert cb.get(report).status_code == 200

            # Load through A, then A is killed; clients fall back to B.
            loads = [FallbackLoad(a, b, f"c{i}") for i in range(2)]
            for load in loads:
                load.thread.start()
            time.sleep(4)
            with _client(a) as ca:  # a report acknowledged just before the kill
                report = _link(ca.get("http://adult.test/y?id=2").text, "report")
                assert ca.get(report).status_code == 200
            killed_at = time.monotonic()
            os.kill(a.proc.pid, signal.SIGKILL)
            a.proc.wait(10)
            time.sleep(4)
            for load in loads:
                load.stop.set()
                load.thread.join(30)

            answered = [x for load in loads for x in load.answered]
            assert not [e for load in loads for e in load.errors], \
                [e for load in loads for e in load.errors][:5]
            by_a = [h for h, when, which in answered if which == 0]
            by_b = [h for h, when, which in answered if which == 1]
            assert len(by_a) > 20 and len(by_b) > 20, (len(by_a), len(by_b))
            settled = {h for h, when, which in answered
                       if which == 1 or when < killed_at - FLUSHED_AFTER}

            def stored() -> set[str]:
                with engine.connect() as conn:
                    return set(conn.execute(sa.select(t.decisions.c.host).where(
                        t.decisions.c.host.like("%.load.test"))).scalars())
            deadline = time.monotonic() + 15
            while not settled <= (rows := stored()):
                assert time.monotonic() < deadline, \
                    f"{len(settled - rows)} decisions missing, e.g. {sorted(settled - rows)[:5]}"
                time.sleep(0.2)
            assert rows <= {h for h, _, _ in answered}  # no decision that was never made
            late = [h for h, when, which in answered if which == 0 and h not in rows]
            print(f"decisions through A: {len(by_a)}, through B after the kill: {len(by_b)}, "
                  f"A's last-batch decisions lost to SIGKILL: {len(late)}")

            with engine.connect() as conn:
                urls = set(conn.execute(sa.select(t.reports.c.url)).scalars())
                statuses = conn.execute(sa.select(t.access_requests.c.status)).scalars().all()
            assert urls == {"http://adult.test/x?id=1", "http://adult.test/y?id=2"}
            assert statuses == ["approved"]

            # The event log of the proxy that is left shows what the killed one decided.
            with httpx.Client(base_url=b.admin_url) as admin_b:
                page = admin_b.get("/sign-in")
                admin_b.post("/sign-in", data={"csrf": _csrf(page.text), "username": "it",
                                               "password": PASSWORD})
                events = admin_b.get("/events", params={"q": by_a[0]})
                assert events.status_code == 200 and by_a[0] in events.text
            assert not (a.data_dir / "decisions.jsonl").exists()  # the log is the database
            assert "Traceback" not in b.output()
    finally:
        site.stop()
        engine.dispose()
