"""Access requests and hotline reports in the admin app, through reporting's own functions."""

from __future__ import annotations

import pytest

from admin import audit
from reporting import access
from reporting.store import Store
from tests.admin.helpers import PASSWORD, Env, csrf


@pytest.fixture
def store(env: Env):  # type: ignore[no-untyped-def]
    """The reporting tables live in the admin app's database (SQLite or PostgreSQL)."""
    return Store(env.db)


def _ask(store: Store, profile: str = "anna", url: str = "http://bets.test/page?id=7",
         message: str = "for homework") -> access.AccessRequest:
    return access.request_access(store, profile=profile, url=url, category="gambling",
                                 reason="list gambling", message=message)


def test_a_parent_approves_denies_and_revokes(env: Env, store: Store) -> None:

    first, second = _ask(store), _ask(store, url="http://chat.test/")
    c = env.owner_client()
    page = c.get("/requests")
    assert "for homework" in page.text and "http://bets.test/page?id=7" in page.text
    token = csrf(page.text)
    r = c.post(f"/requests/{first.id}/approve", data={"csrf": token, "duration": "1d",
                                                      "scope": "host"})
    assert r.status_code == 302
    assert f"Request #{first.id} approved" in c.get(r.headers["Location"]).text
    req = access.get_request(store, first.id)
    assert req.status == "approved" and req.scope == "host" and req.decided_by.startswith("owner")
    assert c.post(f"/requests/{second.id}/deny", data={"csrf": token}).status_code == 302
    assert access.get_request(store, second.id).status == "denied"
    assert c.post(f"/requests/{first.id}/revoke", data={"csrf": token}).status_code == 302
    assert access.get_request(store, first.id).status == "denied"
    assert [r["action"] for r in audit.recent(env.db)][:3] == [
        "revoke request", "deny request", "approve request"]


@pytest.mark.parametrize("data,message", [
    ({"duration": "forever"}, "duration must be one of"),
    ({"scope": "everything"}, "scope must be"),
])
def test_bad_decisions_change_nothing(env: Env, store: Store, data, message) -> None:
    req = _ask(store)
    c = env.owner_client()
    token = csrf(c.get("/requests").text)
    r = c.post(f"/requests/{req.id}/approve", data={"csrf": token, "duration": "1h",
                                                    "scope": "url", **data})
    assert r.status_code == 400 and message in r.text
    assert access.get_request(store, req.id).status == "pending"


def test_an_answered_request_says_so_and_a_missing_one_is_404(env: Env,
                                                              store: Store) -> None:
    req = _ask(store)
    access.deny(store, req.id, "cli")
    c = env.owner_client()
    token = csrf(c.get("/requests").text)
    r = c.post(f"/requests/{req.id}/approve", data={"csrf": token, "duration": "1h"})
    assert r.status_code == 400 and "already denied" in r.text
    assert c.post("/requests/999/deny", data={"csrf": token}).status_code == 404
    assert c.post(f"/requests/{req.id}/approve", data={"duration": "1h"}).status_code == 400
    assert c.get(f"/requests/{req.id}/approve").status_code == 405


def test_a_teacher_sees_and_answers_only_their_class(env: Env, store: Store) -> None:

    mine, other = _ask(store, profile="ben", url="http://mine.test/"), _ask(store)
    owner = env.owner_client()
    owner.post("/accounts", data={"csrf": csrf(owner.get("/accounts").text), "username": "t",
                                  "password": PASSWORD, "role": "teacher", "profiles": "ben",
                                  "language": "en"})
    teacher = env.client()
    env.sign_in(teacher, "t")
    page = teacher.get("/requests")
    assert "mine.test" in page.text and "bets.test" not in page.text
    token = csrf(page.text)
    assert teacher.post(f"/requests/{other.id}/approve",
                        data={"csrf": token, "duration": "1h"}).status_code == 403
    assert access.get_request(store, other.id).status == "pending"
    assert teacher.post(f"/requests/{mine.id}/approve",
                        data={"csrf": token, "duration": "15m"}).status_code == 302


def test_reports_and_hostile_addresses_are_shown_as_text(env: Env, store: Store) -> None:
    evil = "http://x.test/<script>alert(1)</script>?a=\"'&amp;"
    store.add_report(url=evil, category="sexual", profile="anna", reason="list",
                     hotline_country="RO", hotline_name="esc_ABUZ")
    _ask(store, url="http://y.test/<img/src=x/onerror=alert(2)>", message="<b>please</b>")
    page = env.owner_client().get("/requests").text
    assert "<script>alert" not in page and "<img/src" not in page and "<b>please" not in page
    assert "&lt;script&gt;" in page and "esc_ABUZ" in page and "&amp;amp;" in page


def test_a_teacher_unblocks_a_site_for_their_class_for_a_while(env: Env,
                                                               store: Store) -> None:

    owner = env.owner_client()
    owner.post("/accounts", data={"csrf": csrf(owner.get("/accounts").text), "username": "t",
                                  "password": PASSWORD, "role": "teacher", "profiles": "ben",
                                  "language": "en"})
    teacher = env.client()
    env.sign_in(teacher, "t")
    page = teacher.get("/requests")
    assert 'value="ben"' in page.text and 'value="anna"' not in page.text
    token = csrf(page.text)
    r = teacher.post("/requests/unblock", data={"csrf": token, "profile": "ben",
                                                "site": "video.example", "duration": "1h",
                                                "scope": "host"})
    assert r.status_code == 302
    [req] = access.list_requests(store, "approved")
    assert (req.profile, req.host, req.scope) == ("ben", "video.example", "host")
    assert req.expires is not None and req.decided_by == "t (admin app)"
    index = access.ApprovalIndex(store)
    assert index.is_approved("ben", "https://video.example/watch?v=1") is not None
    assert index.is_approved("anna", "https://video.example/") is None
    index.close()
    assert audit.recent(env.db)[0]["action"] == "unblock"


@pytest.mark.parametrize("field,value,message", [
    ("profile", "anna", "Choose one of your profiles"),
    ("profile", "nobody", "Choose one of your profiles"),
    ("site", "", "Write a site like"),
    ("site", "javascript:alert(1)", "Write a site like"),
    ("site", "javascript://alert(1)", "only http and https"),
    ("site", "two words", "whitespace"),
    ("duration", "forever", "“forever” is not a duration: choose one of 15m, 1h, 1d, always."),
    ("scope", "internet", "Choose this page or the whole site"),
])
def test_a_bad_unblock_is_shown_at_its_field_and_changes_nothing(env: Env, store: Store,
                                                                 field, value, message) -> None:

    owner = env.owner_client()
    owner.post("/accounts", data={"csrf": csrf(owner.get("/accounts").text), "username": "t",
                                  "password": PASSWORD, "role": "teacher", "profiles": "ben",
                                  "language": "en"})
    teacher = env.client()
    env.sign_in(teacher, "t")
    token = csrf(teacher.get("/requests").text)
    data = {"csrf": token, "profile": "ben", "site": "video.example", "duration": "1h",
            "scope": "host", field: value}
    r = teacher.post("/requests/unblock", data=data)
    assert r.status_code == 400 and f'id="e-{field}"' in r.text and message in r.text
    assert access.list_requests(store, None) == []
