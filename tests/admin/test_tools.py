"""The admin app's "test a page" (decided by ``kidgate check`` in a child process, so the answer
is the proxy's) and the lists page (status, and an update now against a local server)."""

from __future__ import annotations

import html
import time
from pathlib import Path

import pytest

from admin import accounts
from lists import ListStore, default_store_path
from lists.autoupdate import read_state
from tests.admin.helpers import CONFIG, PASSWORD, Env, csrf, make_env
from tests.lists.conftest import http_dir, make_tarball, make_ut1  # noqa: F401 (fixture)

THREAT = "I will find you after school and beat you until you bleed, then I will stab you."


def _test(browser, **fields: str):  # type: ignore[no-untyped-def]
    token = csrf(browser.get("/test").text)
    return browser.post("/test", data={"csrf": token, "who": "profile", **fields})


def _teacher(env: Env, owner, profiles: str = "ben"):  # type: ignore[no-untyped-def]
    accounts.create_account(env.db, username="t5b", password=PASSWORD, role="teacher",
                            profiles=tuple(p for p in profiles.split(",") if p))
    teacher = env.client()
    env.sign_in(teacher, "t5b")
    return teacher


def test_a_denied_site_and_a_threat_are_blocked_with_their_reasons(sqlite_env: Env) -> None:
    owner = sqlite_env.owner_client()
    r = _test(owner, url="https://www.tiktok.com/@someone", profile="anna")
    assert r.status_code == 200, r.text
    assert 'class="verdict block"' in r.text and "tiktok.com" in r.text
    r = _test(owner, text=THREAT, profile="anna")
    assert 'class="verdict block"' in r.text and "violence" in r.text
    # The classifier names the words that decided it.
    assert "beat you" in html.unescape(r.text)


def test_the_verdict_names_the_category_in_words_in_the_admins_language(
        sqlite_env: Env) -> None:
    owner = sqlite_env.owner_client()
    accounts.create_account(sqlite_env.db, username="mama", password=PASSWORD, role="parent",
                            language="ro")
    mama = sqlite_env.client()
    sqlite_env.sign_in(mama, "mama")
    for browser, words in ((owner, "violent or scary content"),
                           (mama, "conținut violent sau înfricoșător")):
        r = _test(browser, text=THREAT, profile="anna")
        verdict = html.unescape(r.text.split('class="verdict block"', 1)[1].split("</h2>")[0])
        assert f"{words} <code>(violence)</code>" in verdict  # the key too, for the file
        reasons = html.unescape(r.text.split('id="reasons"', 1)[1].split("</ul>")[0])
        assert f"{words} <code>(violence)</code>" in reasons


def test_a_harmless_text_is_allowed_and_the_profile_matters(sqlite_env: Env) -> None:
    owner = sqlite_env.owner_client()
    r = _test(owner, text="The school library opens at nine; bring your reading list.",
              profile="anna")
    assert 'class="verdict allow"' in r.text
    r = _test(owner, url="https://www.tiktok.com/", profile="ben")  # only anna denies it
    assert 'class="verdict allow"' in r.text


def test_a_device_is_resolved_as_the_proxy_resolves_it(tmp_path: Path) -> None:
    env = make_env(tmp_path, f"sqlite:///{tmp_path / 'kidgate.db'}",
                   CONFIG + "devices:\n  - {ip: 192.168.1.50, profile: ben}\n")
    try:
        owner = env.owner_client()
        token = csrf(owner.get("/test").text)
        r = owner.post("/test", data={"csrf": token, "who": "device", "client": "192.168.1.50",
                                      "url": "https://www.tiktok.com/", "profile": "anna"})
        assert 'class="verdict allow"' in r.text  # the device is Ben's: tiktok is allowed
        r = owner.post("/test", data={"csrf": token, "who": "device", "client": "192.168.1.9",
                                      "url": "https://www.tiktok.com/"})
        assert 'class="verdict block"' in r.text  # unknown device: the default, Anna's
    finally:
        env.db.dispose()


@pytest.mark.parametrize("fields, where, message", [
    ({}, "url", "Give a page address"),
    ({"url": "javascript:alert(1)"}, "url", "full address"),
    ({"url": "https://" + "a" * 2100 + ".test/"}, "url", "full address"),
    ({"text": "x" * 20_001}, "text", "too long"),
    ({"text": "hi", "profile": "nobody"}, "profile", "Choose one of your profiles"),
    ({"text": "hi", "who": "device", "client": "not-an-address"}, "client", "IP address"),
])
def test_bad_input_is_shown_at_its_field_and_nothing_runs(sqlite_env: Env, fields, where,
                                                        message) -> None:
    owner = sqlite_env.owner_client()
    r = _test(owner, **{"profile": "anna", **fields})
    assert r.status_code == 400
    assert f'id="e-{where}"' in r.text and message in r.text
    assert 'id="result"' not in r.text


def test_hostile_text_is_shown_escaped(sqlite_env: Env) -> None:
    owner = sqlite_env.owner_client()
    r = _test(owner, text='<script>alert("x")</script> &amp; "quoted"', profile="anna",
              url="https://x.test/<b>")
    assert "<script>alert" not in r.text and "<b>" not in r.text
    assert "&lt;script&gt;" in r.text


def test_a_teacher_tests_only_for_their_classes_and_not_by_device(sqlite_env: Env) -> None:
    env = sqlite_env
    teacher = _teacher(env, env.owner_client())
    page = teacher.get("/test").text
    assert 'value="ben"' in page and 'value="anna"' not in page and 'name="client"' not in page
    r = _test(teacher, text="hi", profile="anna")
    assert r.status_code == 400 and "Choose one of your profiles" in r.text
    r = _test(teacher, text="hi", who="device", client="192.168.1.50")
    assert r.status_code == 400 and 'id="e-client"' in r.text
    assert teacher.get("/lists").status_code == 403


def test_the_lists_page_shows_the_lists_in_use(sqlite_env: Env) -> None:
    owner = sqlite_env.owner_client()
    page = owner.get("/lists").text
    with ListStore.open(default_store_path()) as store:
        info = store.info()
    assert f'<strong id="entries">{info["entries"]}</strong>' in page
    assert "shipped with kidgate" in page
    for name in [d["name"] for d in info["lists"]][:3]:
        assert f"<td data-label=\"List\">{html.escape(name)}</td>" in page
    assert 'id="update"' in page


def test_only_the_owner_may_update(sqlite_env: Env) -> None:
    env = sqlite_env
    owner = env.owner_client()
    token = csrf(owner.get("/accounts").text)
    r = owner.post("/accounts", data={"csrf": token, "username": "mum", "password": PASSWORD,
                                      "role": "parent", "profiles": "", "language": "en"})
    assert r.status_code == 302
    parent = env.client()
    env.sign_in(parent, "mum")
    page = parent.get("/lists").text
    assert 'id="entries"' in page and 'id="update"' not in page
    r = parent.post("/lists/update", data={"csrf": csrf(page)})
    assert r.status_code == 403
    assert read_state(env.data_dir / "lists.kglist").last_attempt is None


def _wait_for_update(client) -> str:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 120
    while True:
        page = client.get("/lists").text
        if "Update finished" in page:
            return page
        assert 'http-equiv="refresh"' in page  # the page follows the update by itself
        assert time.monotonic() < deadline, page
        time.sleep(0.3)


def _with_source(tmp_path: Path, url: str) -> Env:
    config = CONFIG + (f"lists:\n  sources:\n    - {{name: ut1, url: '{url}', format: ut1, "
                       f"min_bytes: 100}}\n")
    return make_env(tmp_path, f"sqlite:///{tmp_path / 'kidgate.db'}", config)


def test_update_now_downloads_compiles_and_the_page_shows_it(http_dir, tmp_path: Path) -> None:
    base, www = http_dir
    make_tarball(make_ut1(tmp_path / "upstream"), www / "blacklists.tar.gz")
    env = _with_source(tmp_path, f"{base}/blacklists.tar.gz")
    try:
        owner = env.owner_client()
        r = owner.post("/lists/update", data={"csrf": csrf(owner.get("/lists").text)})
        assert r.status_code == 302
        page = _wait_for_update(owner)
        store = env.data_dir / "lists.kglist"
        with ListStore.open(store) as s:
            assert s.lookup("http://porn.example/")
            entries = s.entries
        assert f'<strong id="entries">{entries}</strong>' in page
        assert "shipped with kidgate" not in page
        state = read_state(store)
        assert state.ok and state.last_success and "Last attempt:" in page
        assert "lists update" in owner.get("/audit").text
    finally:
        env.db.dispose()


def test_a_failed_update_says_why_and_keeps_the_lists(http_dir, tmp_path: Path) -> None:
    base, _ = http_dir
    env = _with_source(tmp_path, f"{base}/missing.tar.gz")
    try:
        owner = env.owner_client()
        owner.post("/lists/update", data={"csrf": csrf(owner.get("/lists").text)})
        page = _wait_for_update(owner)
        assert "404" in page and "shipped with kidgate" in page
        state = read_state(env.data_dir / "lists.kglist")
        assert state.ok is False and state.failures == 1
        assert not (env.data_dir / "lists.kglist").exists()
    finally:
        env.db.dispose()
