"""The admin app through its HTTP interface: setup, sign-in, roles, dashboard, event log,
"this was wrong", and every form's bad input."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from admin import accounts, audit
from kidgate import stats
from storage import tables as t
from tests.admin.helpers import PASSWORD, Env, csrf, decision, write_log


def _count(env: Env, table: sa.Table) -> int:
    with env.db.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar())


def test_first_visit_asks_for_the_setup_code_then_signs_the_owner_in(env: Env) -> None:
    c = env.client()
    r = c.get("/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/setup")
    code = accounts.new_setup_code(env.db)
    page = c.get("/setup")
    assert "setup code" in page.text
    r = c.post("/setup", data={"csrf": csrf(page.text), "code": code, "username": "mum",
                               "password": PASSWORD, "confirm": PASSWORD, "language": "ro"})
    assert r.status_code == 302
    dash = c.get("/")
    assert dash.status_code == 200 and "Panou" in dash.text  # the owner chose Romanian
    assert [row["action"] for row in audit.recent(env.db)] == ["setup"]
    # Set up once: the setup page now sends to sign-in.
    assert env.client().get("/setup").headers["Location"].endswith("/sign-in")


@pytest.mark.parametrize("field,value,message", [
    ("code", "AAAA-BBBB-CCCC", "not the setup code"),
    ("username", "Mum Smith", "lower-case letters"),
    ("password", "short", "at least 10"),
    ("confirm", "something else entirely", "passwords differ"),
])
def test_bad_setup_input_is_shown_at_its_field_and_changes_nothing(
        sqlite_env: Env, field: str, value: str, message: str) -> None:
    env = sqlite_env
    c = env.client()
    code = accounts.new_setup_code(env.db)
    page = c.get("/setup")
    data = {"csrf": csrf(page.text), "code": code, "username": "mum", "password": PASSWORD,
            "confirm": PASSWORD, "language": "en", field: value}
    r = c.post("/setup", data=data)
    assert r.status_code == 400
    assert f'id="e-{field}"' in r.text and message in r.text
    assert _count(env, t.accounts) == 0
    assert 'value="mum"' in r.text or field == "username"  # what was typed stays


def test_sign_in_with_a_wrong_password_then_lock_out_after_five(env: Env) -> None:
    env.setup_owner(env.client())
    c = env.client("192.168.1.77")
    for i in range(4):
        r = env.sign_in(c, "owner", "wrong password")
        assert r.status_code == 401 and "Wrong user name, password or code" in r.text
    r = env.sign_in(c, "owner", "wrong password")
    assert r.status_code == 429 and "Too many failed sign-ins" in r.text
    # Locked: even the right password is not tried now.
    r = env.sign_in(c, "owner")
    assert r.status_code == 429 and c.get("/").status_code == 302
    # Another address is not locked.
    other = env.client("192.168.1.78")
    assert env.sign_in(other, "owner").status_code == 302
    assert other.get("/").status_code == 200


def test_the_setup_code_is_guarded_by_the_same_lock_out(sqlite_env: Env) -> None:
    env = sqlite_env
    code = accounts.new_setup_code(env.db)
    c = env.client("10.0.0.9")
    for _ in range(5):
        page = c.get("/setup")
        c.post("/setup", data={"csrf": csrf(page.text), "code": "WRONG-CODE-0000",
                               "username": "mum", "password": PASSWORD, "confirm": PASSWORD})
    page = c.get("/setup")
    r = c.post("/setup", data={"csrf": csrf(page.text), "code": code, "username": "mum",
                               "password": PASSWORD, "confirm": PASSWORD})
    assert r.status_code == 429 and _count(env, t.accounts) == 0


def test_pages_are_for_private_addresses_only_whatever_the_headers_say(sqlite_env: Env) -> None:
    env = sqlite_env
    assert env.client("8.8.8.8").get("/sign-in").status_code == 403
    c = env.client("8.8.8.8")
    assert c.get("/setup", headers={"X-Forwarded-For": "192.168.1.2"}).status_code == 403
    for addr in ("127.0.0.1", "192.168.1.5", "10.1.2.3", "172.16.0.1", "::1", "fd00::5"):
        assert env.client(addr).get("/setup").status_code == 200, addr


def test_pages_answer_only_under_this_machines_own_names(sqlite_env: Env) -> None:
    """A hostile site rebinding its own name to the kidgate machine gets nothing."""
    import socket
    c = sqlite_env.client("192.168.1.5")
    for host in ("evil.example", "evil.example:8081", "kidgate.internal.evil.example"):
        assert c.get("/setup", headers={"Host": host}).status_code == 403, host
    for host in ("192.168.1.10:8081", "[fd00::1]:8081", "localhost:8081", "kidgate.internal",
                 socket.gethostname()):
        assert c.get("/setup", headers={"Host": host}).status_code == 200, host


def test_a_school_adds_its_own_name_for_the_admin_app(tmp_path) -> None:
    from admin import AdminContext, create_app
    from storage import Database
    db = Database(f"sqlite:///{tmp_path / 'k.db'}")
    db.upgrade()
    app = create_app(AdminContext(db=db, data_dir=tmp_path, config_path=None,
                                  hosts=("kidgate.school.lan",)), testing=True)
    c = app.test_client()
    assert c.get("/setup", headers={"Host": "kidgate.school.lan:8081"}).status_code == 200
    assert c.get("/setup", headers={"Host": "evil.example"}).status_code == 403
    db.dispose()


def test_every_page_refuses_a_visitor_who_has_not_signed_in(sqlite_env: Env) -> None:
    env = sqlite_env
    env.setup_owner(env.client())
    c = env.client()
    rules = [r for r in env.app.url_map.iter_rules() if r.endpoint != "static"]
    assert len(rules) >= 11
    samples = {"name": "anna", "request_id": 1, "decision": "approve", "account_id": 1,
               "session_id": 1}
    for rule in rules:
        with env.app.test_request_context():
            from flask import url_for
            url = url_for(rule.endpoint, **{a: samples[a] for a in rule.arguments})
        if "GET" in rule.methods:
            r = c.get(url)
            if rule.endpoint in ("auth.sign_in", "auth.setup"):
                assert r.status_code in (200, 302)
            elif rule.endpoint == "metrics":  # its own bearer token, no session: refused too
                assert r.status_code in (401, 404) and b"kidgate_" not in r.data, url
            else:
                assert r.status_code == 302 and "/sign-in" in r.headers["Location"], url
        if "POST" in rule.methods and rule.endpoint not in ("auth.sign_in", "auth.setup"):
            # With the visitor's own (anonymous) CSRF token, still refused.
            token = csrf(c.get("/sign-in").text)
            r = c.post(url, data={"csrf": token, "profile": "anna", "host": "x.test",
                                  "action": "block"})
            assert r.status_code in (302, 401), url
            if r.status_code == 302:
                assert "/sign-in" in r.headers["Location"]
    assert "x.test" not in env.config_path.read_text()


def test_no_open_redirect_after_sign_in(sqlite_env: Env) -> None:
    env = sqlite_env
    env.setup_owner(env.client())
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example",
                   "javascript:alert(1)", "\\\\evil.example", "http:/evil.example"):
        r = env.sign_in(env.client(), "owner", next=target)
        assert r.status_code == 302 and r.headers["Location"] == "/", target
    r = env.sign_in(env.client(), "owner", next="/%0a//evil.example")
    assert urlsplit(r.headers["Location"]).netloc == ""  # a path here, not another site
    r = env.sign_in(env.client(), "owner", next="/events?action=block")
    assert r.headers["Location"] == "/events?action=block"


def test_a_cookie_set_before_sign_in_is_not_the_signed_in_one(sqlite_env: Env) -> None:
    env = sqlite_env
    env.setup_owner(env.client())
    c = env.client()
    c.get("/sign-in")
    before = c.get_cookie("kidgate_admin").value
    r = env.sign_in(c, "owner")
    after = c.get_cookie("kidgate_admin")
    assert r.status_code == 302 and after.value != before
    assert after.http_only and after.same_site == "Strict"
    # The planted value gives nothing.
    planted = env.client()
    planted.set_cookie("kidgate_admin", before)
    assert planted.get("/").status_code == 302
    assert accounts.load_session(env.db, before) is None


def _owner_with_log(env: Env, records: list[dict[str, object]]):  # type: ignore[no-untyped-def]
    write_log(env.data_dir, records)
    return env.owner_client()


def test_a_post_without_a_valid_csrf_token_changes_nothing(sqlite_env: Env) -> None:
    env = sqlite_env
    c = _owner_with_log(env, [decision("casino.test")])
    before = env.config_path.read_text()
    data = {"profile": "anna", "host": "casino.test", "action": "block"}
    for extra, headers in [({}, {}), ({"csrf": "forged"}, {}),
                           ({"csrf": csrf(c.get("/events").text)},
                            {"Origin": "http://evil.example"})]:
        r = c.post("/events/wrong", data={**data, **extra}, headers=headers)
        assert r.status_code == 400 and "Nothing was changed" in r.text
    # text/plain bodies (a cross-site form can send them) carry no token either.
    r = c.post("/events/wrong", data="profile=anna&host=casino.test&action=block",
               content_type="text/plain")
    assert r.status_code == 400
    # A GET never changes anything.
    assert c.get("/events/wrong?profile=anna&host=casino.test&action=block").status_code == 405
    assert env.config_path.read_text() == before
    assert not env.config_path.with_name("kidgate.yaml.bak").exists()
    r = c.post("/sign-out", data={})
    assert r.status_code == 400 and c.get("/").status_code == 200  # still signed in


def test_this_was_wrong_allows_a_blocked_site_and_keeps_a_backup(env: Env) -> None:
    c = _owner_with_log(env, [decision("maths-games.test", category="gambling"),
                              decision("tiktok.com", action="allow", profile="ben")])
    page = c.get("/events")
    assert page.status_code == 200 and "maths-games.test" in page.text
    before = env.config_path.read_text()
    r = c.post("/events/wrong", data={"csrf": csrf(page.text), "profile": "anna",
                                      "host": "maths-games.test", "action": "block"})
    assert r.status_code == 302
    done = c.get(r.headers["Location"])
    assert "maths-games.test is now allowed for anna" in done.text
    # The notice is built from fixed texts: a crafted link cannot make it say anything else.
    crafted = c.get("/events?done=pwned&site=Your+password+expired")
    assert "Your password expired" not in crafted.text
    text = env.config_path.read_text()
    assert "allow: [maths-games.test]" in text and "# Anna" in text and "# The family" in text
    assert env.config_path.with_name("kidgate.yaml.bak").read_text() == before
    from policies import config
    assert "maths-games.test" in config.load(env.config_path).profiles["anna"].allow_domains
    # An allowed site that should have been blocked gets a deny entry.
    r = c.post("/events/wrong", data={"csrf": csrf(page.text), "profile": "ben",
                                      "host": "tiktok.com", "action": "allow"})
    assert r.status_code == 302
    assert "tiktok.com" in config.load(env.config_path).profiles["ben"].deny_domains
    rows = audit.recent(env.db)
    assert [r["action"] for r in rows[:2]] == ["deny site", "allow site"]
    assert rows[1]["target"] == "anna: maths-games.test" and rows[1]["username"] == "owner"


@pytest.mark.parametrize("form,message", [
    ({"profile": "nobody"}, "no profile named"),
    ({"host": "bad host!"}, "not a valid domain name"),
    ({"action": "maybe"}, "cannot be changed"),
    ({"host": stats.HOTLINE_ENTRY}, "cannot be changed"),
])
def test_a_wrong_fix_shows_why_and_leaves_the_file_intact(sqlite_env: Env, form, message) -> None:
    env = sqlite_env
    c = _owner_with_log(env, [decision("casino.test")])
    before = env.config_path.read_text()
    token = csrf(c.get("/events").text)
    data = {"csrf": token, "profile": "anna", "host": "casino.test", "action": "block", **form}
    r = c.post("/events/wrong", data=data)
    assert r.status_code == 400 and message in r.text
    assert env.config_path.read_text() == before


def test_the_event_log_filters_pages_and_shows_reasons(sqlite_env: Env) -> None:
    env = sqlite_env
    recs = [decision(f"site{i}.test", action="allow", ts=1_700_000_000 + i) for i in range(60)]
    recs += [decision("bet.test", ts=1_700_000_100, reasons=["list gambling (bet.test)"]),
             decision("hate.test", category="hate", profile="ben", ts=1_700_000_101,
                      sources=["classifier"], reasons=["classifier hate 0.93: words"])]
    c = _owner_with_log(env, recs)
    first = c.get("/events")
    assert "Page 1 of 2" in first.text and "hate.test" in first.text  # newest first
    assert "classifier hate 0.93: words" in first.text
    assert "site0.test" not in first.text and "site0.test" in c.get("/events?page=2").text
    blocked = c.get("/events?action=block")
    assert "bet.test" in blocked.text and "site5.test" not in blocked.text
    assert "bet.test" not in c.get("/events?profile=ben").text
    assert "hate.test" in c.get("/events?source=classifier").text
    assert "bet.test" not in c.get("/events?source=classifier").text
    assert "bet.test" in c.get("/events?q=BET").text
    assert "No events match" in c.get("/events?since=2000-01-01&until=2000-01-02").text


@pytest.mark.parametrize("field,value", [("category", "sweets"), ("action", "maybe"),
                                         ("source", "rumour"), ("since", "last tuesday"),
                                         ("until", "soon")])
def test_bad_filters_are_shown_at_their_field(sqlite_env: Env, field: str, value: str) -> None:
    env = sqlite_env
    c = _owner_with_log(env, [decision("bet.test")])
    r = c.get(f"/events?{field}={value}")
    assert r.status_code == 400 and f'id="e-{field}"' in r.text
    assert "bet.test" not in r.text


def test_csv_export_holds_the_events_and_runs_no_formulas(sqlite_env: Env) -> None:
    env = sqlite_env
    c = _owner_with_log(env, [decision("bet.test", ts=1_700_000_000),
                              decision("=cmd.test", ts=1_700_000_001,
                                       reasons=["=HYPERLINK(\"http://evil\")"])])
    r = c.get("/events.csv?action=block")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0][:4] == ["time", "profile", "device", "site"]
    assert [row[3] for row in rows[1:]] == ["bet.test", "'=cmd.test"]
    assert rows[2][8].startswith("'=HYPERLINK")
    assert audit.recent(env.db)[0]["action"] == "export events"


HOSTILE = "<script>alert('x')</script>\"&amp;.test"


def test_hostile_names_are_shown_as_text_everywhere(sqlite_env: Env) -> None:
    env = sqlite_env
    c = _owner_with_log(env, [decision(HOSTILE, reasons=[f"list gambling ({HOSTILE})"],
                                       client="<img src=x onerror=alert(1)>",
                                       profile="<b>p</b>")])
    for url in ("/", "/events", "/events?q=script"):
        page = c.get(url).text
        assert "<script>alert" not in page and "<img src=x" not in page and "<b>p</b>" not in page
        assert "&lt;script&gt;alert(" in page
        assert "&amp;amp;" in page  # the entity is shown as typed, not decoded
    rows = list(csv.reader(io.StringIO(c.get("/events.csv").text)))
    assert rows[1][3] == HOSTILE and rows[1][2] == "<img src=x onerror=alert(1)>"
    # The audit log shows what a visitor typed as a user name, as text.
    env.sign_in(env.client(), HOSTILE, "wrong password")
    page = c.get("/audit").text
    assert "sign-in failed" in page and "<script>alert" not in page
    assert "&lt;script&gt;alert(" in page


def test_the_dashboard_shows_the_figures_of_kidgate_stats(sqlite_env: Env) -> None:
    env = sqlite_env
    recs = [decision("bet.test"), decision("bet.test"), decision("hate.test", category="hate",
                                                                 profile="ben"),
            decision("ok.test", action="allow"), decision("ok.test", action="allow")]
    c = _owner_with_log(env, recs)
    page = c.get("/").text
    expected = stats.collect(stats.log_files(env.data_dir))
    assert expected["totals"]["requests"] == 5 and expected["totals"]["blocked"] == 3
    assert f'id="total-requests">{expected["totals"]["requests"]}<' in page
    assert f'id="total-blocked">{expected["totals"]["blocked"]}<' in page
    assert 'data-label="gambling" data-value="2"' in page
    assert 'data-label="hate" data-value="1"' in page
    day = expected["daily"][-1]
    assert f'data-date="{day["date"]}" data-requests="5" data-blocked="3"' in page
    assert '<td class="host">bet.test</td>' in page


def test_roles_limit_what_an_account_sees_and_may_change(sqlite_env: Env) -> None:
    env = sqlite_env
    owner = _owner_with_log(env, [decision("bet.test", profile="anna"),
                                  decision("hate.test", category="hate", profile="ben")])
    token = csrf(owner.get("/accounts").text)
    for name, role, profiles in [("t5b", "teacher", "ben"), ("lead", "safeguarding", "")]:
        r = owner.post("/accounts", data={"csrf": token, "username": name, "password": PASSWORD,
                                          "role": role, "profiles": profiles, "language": "en"})
        assert r.status_code == 302
    teacher = env.client()
    env.sign_in(teacher, "t5b")
    log = teacher.get("/events").text
    assert "hate.test" in log and "bet.test" not in log
    assert "bet.test" not in teacher.get("/events?profile=anna").text
    assert "bet.test" not in teacher.get("/").text
    assert teacher.get("/accounts").status_code == 403
    assert teacher.get("/audit").status_code == 403
    r = teacher.post("/events/wrong", data={"csrf": csrf(log), "profile": "ben",
                                            "host": "hate.test", "action": "block"})
    assert r.status_code == 403 and "hate.test" not in env.config_path.read_text()
    lead = env.client()
    env.sign_in(lead, "lead")
    log = lead.get("/events").text
    assert "hate.test" in log and "bet.test" not in log
    assert lead.get("/").headers["Location"].endswith("/events")
    assert "bet.test" not in lead.get("/events.csv").text


@pytest.mark.parametrize("field,value,message", [
    ("username", "", "lower-case"), ("password", "short", "at least 10"),
    ("role", "admin", "“admin” is not a role"),
    ("profiles", "nobody", "No such profile: nobody."),
    ("language", "fr", "Choose en or ro")])
def test_bad_account_input_is_shown_at_its_field(sqlite_env: Env, field, value, message) -> None:
    env = sqlite_env
    owner = env.owner_client()
    token = csrf(owner.get("/accounts").text)
    data = {"csrf": token, "username": "dad", "password": PASSWORD, "role": "parent",
            "profiles": "", "language": "en", field: value}
    r = owner.post("/accounts", data=data)
    assert r.status_code == 400 and f'id="e-{field}"' in r.text and message in r.text
    assert _count(env, t.accounts) == 1


def test_responses_forbid_framing_scripts_from_elsewhere_and_caching(sqlite_env: Env) -> None:
    r = sqlite_env.client().get("/setup")
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Frame-Options"] == "DENY" and r.headers["Cache-Control"] == "no-store"
    assert sqlite_env.client().get("/static/admin.js").status_code == 200


def test_with_the_shipped_default_config_fixes_are_refused_with_a_reason(tmp_path) -> None:
    from tests.admin.helpers import make_env
    env = make_env(tmp_path, f"sqlite:///{tmp_path / 'k.db'}", config=None)
    c = _owner_with_log(env, [decision("bet.test", profile="child")])
    page = c.get("/events")
    assert "This was wrong" not in page.text
    r = c.post("/events/wrong", data={"csrf": csrf(page.text), "profile": "child",
                                      "host": "bet.test", "action": "block"})
    assert r.status_code == 400 and "--config FILE" in r.text
    env.db.dispose()


def test_this_was_wrong_for_everyone_changes_every_profile_in_one_write(sqlite_env: Env) -> None:
    env = sqlite_env
    c = _owner_with_log(env, [decision("wiki.test")])
    page = c.get("/events")
    r = c.post("/events/wrong", data={"csrf": csrf(page.text), "profile": "anna",
                                      "host": "wiki.test", "action": "block",
                                      "scope": "everyone"})
    assert r.status_code == 302
    assert "wiki.test is now allowed for every profile" in c.get(r.headers["Location"]).text
    from policies import config
    cfg = config.load(env.config_path)
    assert all("wiki.test" in p.allow_domains for p in cfg.profiles.values())
    assert audit.recent(env.db)[0]["target"] == "everyone: wiki.test"


def test_live_mode_reloads_only_the_newest_page(sqlite_env: Env) -> None:
    env = sqlite_env
    c = _owner_with_log(env, [decision(f"s{i}.test", ts=1_700_000_000 + i) for i in range(60)])
    assert 'data-live="10"' in c.get("/events?live=1").text
    assert "live=1" in c.get("/events?live=1").text  # kept in page links
    assert 'data-live' not in c.get("/events?live=1&page=2").text
    assert 'data-live' not in c.get("/events").text


def test_a_teachers_dashboard_counts_their_class_or_nothing(env: Env) -> None:
    """From the database's rows (SQLite and PostgreSQL): a teacher's figures are their
    class's; a teacher without a class sees no figures, and no error."""
    from storage.decisions import DecisionRows
    DecisionRows(env.db, proxy="gw").insert(
        [decision("bet.test", profile="anna"), decision("hate.test", category="hate",
                                                        profile="ben"),
         decision("ok.test", action="allow", profile="ben")])
    owner = env.owner_client()
    token = csrf(owner.get("/accounts").text)
    for name, profiles in (("class5", "ben"), ("new", "")):
        r = owner.post("/accounts", data={"csrf": token, "username": name, "password": PASSWORD,
                                          "role": "teacher", "profiles": profiles,
                                          "language": "en"})
        assert r.status_code == 302
    assert 'id="total-requests">3<' in owner.get("/").text
    for name, requests, blocked in (("class5", 2, 1), ("new", 0, 0)):
        teacher = env.client()
        env.sign_in(teacher, name)
        page = teacher.get("/").text
        assert f'id="total-requests">{requests}<' in page, name
        assert f'id="total-blocked">{blocked}<' in page, name
        assert "Error" not in page and "stopped early" not in page
