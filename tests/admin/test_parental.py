"""Pause now, extra time and blocked services in the admin app: written into the profile's
entry, checked by the loader, audited, and refused to those who may not."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from admin import accounts, audit, configedit
from admin.views.parental import until_from_form
from policies import config
from tests.admin.helpers import Env, csrf

UTC = dt.timezone.utc


def _now() -> dt.datetime:
    return dt.datetime.now(UTC)


def _token(c, name: str = "anna") -> str:  # type: ignore[no-untyped-def]
    page = c.get(f"/profiles/{name}/controls")
    assert page.status_code == 200, page.text
    return csrf(page.text)


def _anna(env: Env):  # type: ignore[no-untyped-def]
    return config.load(env.config_path).profiles["anna"]


def test_pause_for_an_hour_then_resume(sqlite_env: Env) -> None:
    env = sqlite_env
    c = env.owner_client()
    before = _now()
    r = c.post("/profiles/anna/pause", data={"csrf": _token(c), "length": "1h"})
    assert r.status_code == 302
    page = c.get(r.headers["Location"]).text
    assert "Paused until" in page and "Resume now" in page
    anna = _anna(env)
    assert anna.pause is not None and anna.pause.by == "owner (admin app)"
    assert before + dt.timedelta(minutes=59) < anna.pause.until <= _now() + dt.timedelta(hours=1)
    text = env.config_path.read_text()
    assert "# Anna" in text and "deny: [tiktok.com]" in text  # the parent's file is kept
    assert env.config_path.with_name("kidgate.yaml.bak").exists()
    entry = audit.recent(env.db)[0]
    assert entry["action"] == "pause" and entry["target"] == "anna" and entry["detail"]["until"]
    r = c.post("/profiles/anna/pause/end", data={"csrf": _token(c)})
    assert r.status_code == 302 and _anna(env).pause is None
    assert "pause" not in env.config_path.read_text()
    assert audit.recent(env.db)[0]["action"] == "end pause"


def test_pause_until_a_time_of_day_is_the_next_such_time() -> None:
    zone = ZoneInfo("Europe/Bucharest")
    now = dt.datetime(2026, 12, 4, 17, 10, tzinfo=UTC)  # 19:10 in Bucharest
    assert until_from_form("until", "20:00", zone, now) == \
        dt.datetime(2026, 12, 4, 20, 0, tzinfo=zone)
    assert until_from_form("until", "07:30", zone, now) == \
        dt.datetime(2026, 12, 5, 7, 30, tzinfo=zone)
    assert until_from_form("15m", "", zone, now) == now + dt.timedelta(minutes=15)
    # 03:30 does not exist on 29 March in Bucharest (03:00 -> 04:00): it is taken as 04:30.
    spring = dt.datetime(2026, 3, 28, 22, 0, tzinfo=UTC)
    assert until_from_form("until", "03:30", zone, spring) == \
        dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    for length, clock in (("until", "25:00"), ("until", ""), ("3d", ""), ("until", "8pm")):
        with pytest.raises(ValueError):
            until_from_form(length, clock, zone, now)


def test_a_bad_time_shows_an_error_and_changes_nothing(sqlite_env: Env) -> None:
    env = sqlite_env
    c = env.owner_client()
    before = env.config_path.read_text()
    r = c.post("/profiles/anna/pause", data={"csrf": _token(c), "length": "until",
                                             "until": "<b>late</b>"})
    assert r.status_code == 400 and 'id="e-pause"' in r.text and "such as 20:00" in r.text
    r = c.post("/profiles/anna/extra", data={"csrf": _token(c), "length": "1h",
                                             "what": "bypass"})
    assert r.status_code == 400 and 'id="e-extra"' in r.text
    r = c.post("/profiles/anna/services", data={"csrf": _token(c), "service": ["tiktok", "<x>"]})
    assert r.status_code == 400 and 'id="e-services"' in r.text and "<x>" not in r.text
    assert env.config_path.read_text() == before
    assert not audit.recent(env.db) or audit.recent(env.db)[0]["action"] not in (
        "pause", "extra time", "blocked services")


def test_extra_time_for_a_category_and_for_everything(sqlite_env: Env) -> None:
    env = sqlite_env
    c = env.owner_client()
    r = c.post("/profiles/anna/extra", data={"csrf": _token(c), "length": "15m",
                                             "what": "social"})
    assert r.status_code == 302
    r = c.post("/profiles/anna/extra", data={"csrf": _token(c), "length": "2h", "what": "all"})
    assert r.status_code == 302
    # The same choice again moves its end instead of adding an entry.
    r = c.post("/profiles/anna/extra", data={"csrf": _token(c), "length": "1h",
                                             "what": "social"})
    extra = _anna(env).extra_time
    assert sorted(sorted(x.categories) for x in extra) == [[], ["social"]]
    social = next(x for x in extra if x.categories)
    assert social.until > _now() + dt.timedelta(minutes=50)
    page = c.get("/profiles/anna/controls").text
    assert "social networks and chat until" in page and "the whole internet until" in page
    assert audit.recent(env.db)[0]["detail"]["categories"] == ["social"]
    c.post("/profiles/anna/extra/end", data={"csrf": _token(c)})
    assert _anna(env).extra_time == ()


def test_ended_entries_are_tidied_away_on_the_next_write(sqlite_env: Env) -> None:
    env = sqlite_env
    past = _now() - dt.timedelta(hours=1)
    configedit.set_pause(env.config_path, "anna", past, "mum", past - dt.timedelta(hours=2))
    configedit.add_extra_time(env.config_path, "anna", past, [], "mum",
                              past - dt.timedelta(hours=2))
    assert "pause" in env.config_path.read_text()
    configedit.set_services(env.config_path, "anna", ["tiktok"])
    configedit.add_extra_time(env.config_path, "anna", _now() + dt.timedelta(minutes=5),
                              ["social"], "mum", _now())
    anna = _anna(env)
    assert anna.pause is None and [sorted(x.categories) for x in anna.extra_time] == [["social"]]


def test_blocked_services_checkboxes_keep_the_schedules(sqlite_env: Env) -> None:
    env = sqlite_env
    c = env.owner_client()
    r = c.post("/profiles/anna/services", data={"csrf": _token(c),
                                                "service": ["roblox", "tiktok"]})
    assert r.status_code == 302
    assert [s.id for s in _anna(env).services.services] == ["tiktok", "roblox"]
    page = c.get("/profiles/anna/controls").text
    assert 'value="tiktok" checked' in page and 'value="youtube" checked' not in page
    text = env.config_path.read_text().replace(
        "services:", "services:\n      schedules: [{days: mon-fri, start: '15:00', end: '17:00'}]")
    env.config_path.write_text(text)
    c.post("/profiles/anna/services", data={"csrf": _token(c), "service": ["youtube"]})
    anna = _anna(env)
    assert [s.id for s in anna.services.services] == ["youtube"] and anna.services.schedules
    c.post("/profiles/anna/services", data={"csrf": _token(c)})
    anna = _anna(env)
    assert anna.services.services == () and anna.services.schedules  # schedules kept
    assert audit.recent(env.db)[0]["detail"] == {"block": []}


def test_a_teacher_controls_only_their_profiles_and_nobody_without_a_token(
        sqlite_env: Env) -> None:
    env = sqlite_env
    owner = env.owner_client()
    accounts.create_account(env.db, username="t5b", password="a long password",
                            role="teacher", profiles=("ben",))
    teacher = env.client()
    env.sign_in(teacher, "t5b", "a long password")
    assert teacher.get("/profiles/anna/controls").status_code == 403
    token = _token(teacher, "ben")
    before = env.config_path.read_text()
    for url, data in (("/profiles/anna/pause", {"length": "1h"}),
                      ("/profiles/anna/extra", {"length": "1h", "what": "all"}),
                      ("/profiles/anna/services", {"service": "tiktok"}),
                      ("/profiles/anna/pause/end", {})):
        assert teacher.post(url, data={"csrf": token, **data}).status_code == 403
    # No CSRF token, or a signed-out visitor: nothing changes either.
    assert owner.post("/profiles/anna/pause", data={"length": "1h"}).status_code == 400
    assert env.client().post("/profiles/anna/pause", data={"length": "1h"}).status_code in (
        400, 401, 403)
    assert env.config_path.read_text() == before
    # Their own class: allowed and audited under their name.
    r = teacher.post("/profiles/ben/pause", data={"csrf": token, "length": "15m"})
    assert r.status_code == 302
    ben = config.load(env.config_path).profiles["ben"]
    assert ben.pause is not None and ben.pause.by == "t5b (admin app)"
    assert audit.recent(env.db)[0]["username"] == "t5b"
    safeguarding = env.client()
    accounts.create_account(env.db, username="lead", password="a long password",
                            role="safeguarding")
    env.sign_in(safeguarding, "lead", "a long password")
    assert safeguarding.get("/profiles/ben/controls").status_code == 403
