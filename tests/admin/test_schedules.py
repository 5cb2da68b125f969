"""The admin app's schedules: bedtime and homework windows added and removed in a form, checked
by the loader, and applied by the decision core exactly as written."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from policies import config as config_mod
from policies.core import Evidence, decide
from tests.admin.helpers import Env, assert_mistake_shown_and_file_unchanged, csrf

ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _add(client, profile: str = "anna", **fields):  # type: ignore[no-untyped-def]
    token = csrf(client.get(f"/profiles/{profile}/schedules").text)
    data = {"csrf": token, "name": "bedtime", "start": "21:00", "end": "07:00",
            "days": ALL_DAYS, **fields}
    return client.post(f"/profiles/{profile}/schedules", data=data)


def _verdict(env: Env, when: str, category: str | None = None, name: str = "anna") -> str:
    cfg = config_mod.load(env.config_path)
    profile = cfg.profile(name)
    at = dt.datetime.fromisoformat(when).replace(tzinfo=ZoneInfo(profile.timezone))
    ev = [Evidence("list", category, f"test {category}")] if category else []
    return decide(profile, ev, at).action


def test_a_bedtime_across_midnight_blocks_at_night_only(sqlite_env: Env) -> None:
    owner = sqlite_env.owner_client()
    # 2030-01-07 is a Monday.
    assert _verdict(sqlite_env, "2030-01-07T23:30") == "allow"
    r = _add(owner)
    assert r.status_code == 302, r.text
    assert _verdict(sqlite_env, "2030-01-07T23:30") == "block"
    assert _verdict(sqlite_env, "2030-01-08T06:30") == "block"
    assert _verdict(sqlite_env, "2030-01-08T12:00") == "allow"
    page = owner.get("/profiles/anna/schedules").text
    assert 'data-schedule="bedtime"' in page and "the whole internet" in page
    assert "# The family's file" in sqlite_env.config_path.read_text()
    assert "add schedule" in owner.get("/audit").text


def test_a_homework_window_blocks_only_its_categories_on_its_days(sqlite_env: Env) -> None:
    owner = sqlite_env.owner_client()
    # Ben is 14: social networks (13+) are his, except in homework time.
    assert _verdict(sqlite_env, "2030-01-07T16:00", "social", "ben") == "allow"
    r = _add(owner, "ben", name="homework", start="15:00", end="17:00", days=["mon", "tue"],
             categories=["social", "gambling"])
    assert r.status_code == 302, r.text
    assert _verdict(sqlite_env, "2030-01-07T16:00", "social", "ben") == "block"
    assert _verdict(sqlite_env, "2030-01-07T16:00", None, "ben") == "allow"  # other sites
    assert _verdict(sqlite_env, "2030-01-07T17:30", "social", "ben") == "allow"  # after it
    assert _verdict(sqlite_env, "2030-01-09T16:00", "social", "ben") == "allow"  # Wednesday


@pytest.mark.parametrize("fields, where, words", [
    ({"name": ""}, "name", "Give the schedule a name"),
    ({"start": "nine"}, "start", "time of day"),
    ({"end": "25:00"}, "end", ""),  # the loader's own message, next to the field
    ({"days": []}, "days", "at least one day"),
])
def test_a_mistake_is_shown_at_its_field_and_the_file_is_unchanged(sqlite_env: Env, fields,
                                                                  where, words) -> None:
    owner = sqlite_env.owner_client()
    assert_mistake_shown_and_file_unchanged(sqlite_env, lambda: _add(owner, **fields), where,
                                            words)


def test_removing_a_schedule_and_a_stale_form_removes_nothing(sqlite_env: Env) -> None:
    owner = sqlite_env.owner_client()
    _add(owner)
    _add(owner, name="homework", start="15:00", end="17:00")
    token = csrf(owner.get("/profiles/anna/schedules").text)
    before = sqlite_env.config_path.read_bytes()
    r = owner.post("/profiles/anna/schedules/remove",
                   data={"csrf": token, "index": "0", "schedule": "homework"})
    assert r.status_code == 409 and sqlite_env.config_path.read_bytes() == before
    r = owner.post("/profiles/anna/schedules/remove",
                   data={"csrf": token, "index": "0", "schedule": "bedtime"})
    assert r.status_code == 302
    names = [s.name for s in config_mod.load(sqlite_env.config_path).profile("anna").schedules]
    assert names == ["homework"]


def test_unknown_profiles_and_teachers_get_nothing(sqlite_env: Env) -> None:
    owner = sqlite_env.owner_client()
    assert owner.get("/profiles/nobody/schedules").status_code == 404
    token = csrf(owner.get("/accounts").text)
    owner.post("/accounts", data={"csrf": token, "username": "t5b", "password":
                                  "correct horse battery", "role": "teacher",
                                  "profiles": "anna", "language": "en"})
    teacher = sqlite_env.client()
    sqlite_env.sign_in(teacher, "t5b")
    assert teacher.get("/profiles/anna/schedules").status_code == 403
