"""Ask for access: request, approve (URL or host, for a time), deny, expiry, live index."""

from __future__ import annotations

import threading
import time

import pytest

from policies.core import Evidence, Profile, decide
from reporting import access
from reporting.access import ApprovalIndex
from reporting.store import Store

URL = "https://games.example/play?level=2"


def _request(store: Store, url: str = URL, profile: str = "ana", **kw: object) -> access.AccessRequest:
    return access.request_access(store, profile=profile, url=url, category="gambling",
                                 reason="list ut1/gambling", **kw)  # type: ignore[arg-type]


def test_request_is_pending_with_cleaned_message(store):
    r = _request(store, message="for\x1b[31m homework\r\nplease")
    assert r.status == "pending" and r.host == "games.example"
    assert r.message == "for [31m homework please"
    assert access.list_requests(store, "pending") == [r]
    assert access.list_requests(store, "approved") == []


def test_same_pending_url_is_not_duplicated(store):
    a = _request(store)
    b = _request(store, message="again")
    assert a.id == b.id and b.message == "again"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x", "https://" + "a" * 5000])
def test_bad_urls_are_refused(store, url):
    with pytest.raises(ValueError):
        _request(store, url=url)


def test_csam_cannot_be_requested(store):
    with pytest.raises(ValueError):
        access.request_access(store, profile="ana", url=URL, category="csam")


def test_approval_takes_effect_on_the_next_request_without_restart(store, tmp_path):
    index = ApprovalIndex(store, check_interval=0.05)
    assert index.is_approved("ana", URL) is None
    r = _request(store)
    # Approved by another process's connection (the CLI or the admin app).
    other = Store(store.url)
    access.approve(other, r.id, "1h", "mum")
    deadline = time.monotonic() + 5  # the index's thread polls every 0.05 s
    while (a := index.is_approved("ana", URL)) is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert a is not None and a.approved_by == "mum" and a.scope == "url"
    assert index.is_approved("ben", URL) is None  # another profile
    assert index.is_approved("ana", "https://games.example/other") is None  # URL scope only
    assert index.is_approved("ana", "HTTPS://Games.Example:443/play?level=2#top") is not None
    assert access.get_request(store, r.id).status == "approved"


def test_approval_evidence_allows_through_decide(store):
    r = _request(store)
    a = access.approve(store, r.id, "15m", "teacher")
    ev = a.evidence()
    assert ev.source == "policy" and ev.allow and ev.kind == "approval" and ev.category is None
    assert ev.detail.startswith("access approved by teacher until ")
    child = Profile("ana", 10)
    blocked = [Evidence("list", "gambling", "ut1")]
    assert decide(child, blocked).blocked
    assert not decide(child, [*blocked, ev]).blocked


def test_host_scope_covers_every_path_of_that_host_only(store):
    r = _request(store)
    access.approve(store, r.id, "always", "mum", scope="host")
    index = ApprovalIndex(store)
    assert index.is_approved("ana", "http://games.example/anything") is not None
    assert index.is_approved("ana", "https://evil.games.example/") is None
    assert index.is_approved("ana", "https://games.example.evil/") is None
    assert "until always" in index.is_approved("ana", URL).detail()  # type: ignore[union-attr]


def test_expiry_is_honoured(store):
    r = _request(store)
    now = time.time()
    access.approve(store, r.id, "15m", "mum", now=now)
    index = ApprovalIndex(store)
    assert index.is_approved("ana", URL, now=now + 14 * 60) is not None
    assert index.is_approved("ana", URL, now=now + 16 * 60) is None


def test_expired_approvals_are_not_loaded(store):
    r = _request(store)
    access.approve(store, r.id, "1h", "mum", now=time.time() - 7200)
    assert ApprovalIndex(store).is_approved("ana", URL) is None


def test_deny_and_double_decisions(store):
    r = _request(store)
    assert access.deny(store, r.id, "dad").status == "denied"
    with pytest.raises(ValueError, match="already denied"):
        access.approve(store, r.id, "1h", "mum")
    with pytest.raises(KeyError):
        access.deny(store, 999, "dad")
    assert ApprovalIndex(store).is_approved("ana", URL) is None


def test_bad_duration_and_scope(store):
    r = _request(store)
    with pytest.raises(ValueError, match="duration"):
        access.approve(store, r.id, "2h", "mum")
    with pytest.raises(ValueError, match="scope"):
        access.approve(store, r.id, "1h", "mum", scope="domain")  # type: ignore[arg-type]
    assert access.get_request(store, r.id).status == "pending"


def test_revoke(store):
    r = _request(store)
    a = access.approve(store, r.id, "always", "mum")
    index = ApprovalIndex(store, check_interval=0)
    assert index.is_approved("ana", URL) is not None
    access.revoke(store, a.id)
    assert index.is_approved("ana", URL) is None


def test_index_lookup_is_fast(store):
    for i in range(300):
        r = _request(store, url=f"https://s{i}.example/")
        access.approve(store, r.id, "1d", "mum", scope="host" if i % 2 else "url")
    index = ApprovalIndex(store)
    index.is_approved("ana", URL)
    start = time.perf_counter()
    for _ in range(10_000):
        index.is_approved("ana", "https://s7.example/x")
    assert (time.perf_counter() - start) / 10_000 < 50e-6


def test_an_approval_from_another_process_applies_within_seconds(store):
    """The command line (another process, as another proxy or the admin app would be) approves
    on the same database, SQLite file or PostgreSQL server; the index picks it up by itself."""
    from tests.reporting.conftest import run_cli
    index = ApprovalIndex(store, check_interval=0.2)
    r = _request(store)
    assert index.is_approved("ana", URL) is None
    out = run_cli("--db", store.url, "requests", "approve", str(r.id), "--for", "1h")
    assert out.returncode == 0, out.stderr
    deadline = time.monotonic() + 5
    while index.is_approved("ana", URL) is None:
        assert time.monotonic() < deadline, "the approval did not reach the index"
        time.sleep(0.05)
    out = run_cli("--db", store.url, "requests", "revoke", str(r.id))
    assert out.returncode == 0, out.stderr
    while index.is_approved("ana", URL) is not None:
        assert time.monotonic() < deadline + 5, "the revocation did not reach the index"
        time.sleep(0.05)
    index.close()


def test_lookups_never_query_the_database(store):
    """The proxy asks on every request: the answer comes from memory, and the database is read
    by the index's own thread only."""
    import sqlalchemy as sa
    r = _request(store)
    access.approve(store, r.id, "1h", "mum")
    index = ApprovalIndex(store, check_interval=0.05)
    assert index.is_approved("ana", URL) is not None
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if threading.current_thread() is threading.main_thread():
            statements.append(statement)
    sa.event.listen(store.engine, "before_cursor_execute", seen)
    try:
        for _ in range(2000):
            assert index.is_approved("ana", URL) is not None
        time.sleep(0.2)  # the index's thread polls meanwhile
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", seen)
    assert statements == []
    index.close()


def test_a_database_that_fails_keeps_the_last_approvals(tmp_path, caplog):
    """Reading approvals fails (the file is gone and its directory unwritable, a server down):
    the index keeps what it had and says so once; blocks stay blocks, approvals stay."""
    import logging
    s = Store(tmp_path / "kidgate.db")
    r = _request(s)
    access.approve(s, r.id, "1h", "mum")
    index = ApprovalIndex(s, check_interval=0.05)
    assert index.is_approved("ana", URL) is not None
    caplog.set_level(logging.WARNING, logger="kidgate")
    import sqlalchemy as sa

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise sa.exc.OperationalError("SELECT", {}, Exception("disk I/O error"))
    sa.event.listen(s.engine, "before_cursor_execute", broken)
    try:
        deadline = time.monotonic() + 5
        while not any("cannot read approvals" in m for m in caplog.messages):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert index.is_approved("ana", URL) is not None
        assert index.is_approved("ana", "https://other.example/") is None
    finally:
        sa.event.remove(s.engine, "before_cursor_execute", broken)
    index.close()
