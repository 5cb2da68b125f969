"""Ask for access: request, approve (URL or host, for a time), deny, expiry, live index."""

from __future__ import annotations

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
    other = Store(tmp_path / "kidgate.db")
    access.approve(other, r.id, "1h", "mum")
    time.sleep(0.06)
    a = index.is_approved("ana", URL)
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
