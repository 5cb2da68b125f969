"""The decision core: precedence, ages, thresholds, schedules, fail-safe."""

import dataclasses
import datetime as dt

import pytest

from policies.categories import NEVER
from policies.core import Evidence, Profile, Schedule, decide


def child(age: int = 10, **kw) -> Profile:
    return Profile(name="kid", age=age, **kw)


def listed(category: str, allow: bool = False) -> Evidence:
    return Evidence("list", category, f"list ut1/{category}: example.org", allow=allow, kind="ut1")


@pytest.mark.parametrize("category,age,action", [
    ("sexual", 10, "block"), ("sexual", 17, "block"), ("sexual", 18, "allow"),
    ("violence", 15, "block"), ("violence", 16, "allow"),
    ("offensive", 11, "block"), ("offensive", 12, "allow"),
    ("social", 12, "block"), ("social", 13, "allow"),
    ("bypass", 17, "block"), ("bypass", 30, "allow"),
    ("csam", 40, "block"), ("malware", 40, "block"),
])
def test_category_minimum_ages(category, age, action):
    v = decide(child(age), [listed(category)])
    assert v.action == action
    if action == "block":
        assert v.category == category
        assert v.reasons and v.reasons[0].source == "list"


def test_nothing_found_allows():
    v = decide(child(), [])
    assert v.action == "allow" and v.category is None and v.reasons == ()


def test_allow_list_beats_block_list_but_not_hotline():
    assert decide(child(), [listed("sexual"), listed("press", allow=True)]).action == "allow"
    v = decide(child(), [listed("csam"), listed("x", allow=True),
                         Evidence("policy", None, "own allow", allow=True)])
    assert v.action == "block" and v.category == "csam" and v.min_age == NEVER
    assert v.to_dict()["min_age"] is None


def test_profile_allow_beats_profile_deny_and_lists():
    ev = [listed("social"), Evidence("policy", None, "deny"),
          Evidence("policy", None, "allow", allow=True)]
    assert decide(child(), ev).action == "allow"
    v = decide(child(), [Evidence("policy", None, "on kid's deny list (x.org)"),
                         listed("news", allow=True)])
    assert v.action == "block" and v.reasons[0].detail.startswith("on kid's deny list")


def test_category_override_and_bypass_floor():
    p = child(10, category_ages={"social": 0, "bypass": 0, "gambling": NEVER})
    assert decide(p, [listed("social")]).action == "allow"
    assert decide(p, [listed("bypass")]).action == "block"  # never lifted for children
    assert decide(child(40, category_ages={"gambling": NEVER}), [listed("gambling")]).blocked


def test_label_age_and_strongest_reason_decides():
    label = Evidence("label", None, "age-de.xml: 16", min_age=16, kind="age-de")
    assert decide(child(15), [label]).min_age == 16
    assert decide(child(16), [label]).action == "allow"
    v = decide(child(10), [label, listed("sexual")])
    assert v.category == "sexual" and v.min_age == 18 and len(v.reasons) == 2


def test_classifier_threshold_per_profile():
    e = Evidence("classifier", "hate", "page text model", score=0.6)
    assert decide(child(), [e]).blocked
    assert decide(child(thresholds={"hate": 0.7}), [e]).action == "allow"
    assert decide(child(thresholds={"default": 0.65}), [e]).action == "allow"
    v = decide(child(), [e])
    assert "0.60" in v.reasons[0].detail and v.scores == {"hate": 0.6}


def test_error_evidence_fail_safe():
    err = Evidence("error", None, "classifier timed out")
    assert decide(child(), [err]).blocked
    assert decide(child(fail_safe="allow"), [err]).action == "allow"
    assert decide(Profile("adult", 35), [err]).action == "allow"


BEDTIME = Schedule("bedtime", frozenset(range(7)), dt.time(21, 0), dt.time(7, 0))
HOMEWORK = Schedule("homework", frozenset({0, 1, 2, 3, 4}), dt.time(15, 0), dt.time(17, 0),
                    frozenset({"social"}))


@pytest.mark.parametrize("when,blocked", [
    ("2026-11-30 20:59", False), ("2026-11-30 21:00", True), ("2026-11-30 23:59", True),
    ("2026-12-01 00:30", True), ("2026-12-01 06:59", True), ("2026-12-01 07:00", False),
])
def test_schedule_crossing_midnight(when, blocked):
    p = child(schedules=(BEDTIME,), timezone="Europe/Bucharest")
    local = dt.datetime.fromisoformat(when).replace(tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert decide(p, [], local).blocked is blocked


def test_schedule_uses_profile_time_zone():
    p = child(schedules=(BEDTIME,), timezone="Europe/Bucharest")
    # 19:30 UTC is 21:30 in Bucharest in winter.
    assert decide(p, [], dt.datetime(2026, 11, 30, 19, 30, tzinfo=dt.timezone.utc)).blocked
    assert not decide(p, [], dt.datetime(2026, 11, 30, 18, 30, tzinfo=dt.timezone.utc)).blocked


def test_schedule_for_categories_only():
    p = child(13, schedules=(HOMEWORK,))
    monday_4pm = dt.datetime(2026, 11, 30, 16, 0, tzinfo=dt.timezone.utc)
    v = decide(p, [listed("social")], monday_4pm)
    assert v.blocked and v.reasons[0].source == "schedule"
    assert not decide(p, [listed("social")], monday_4pm + dt.timedelta(days=5)).blocked
    assert not decide(p, [], monday_4pm).blocked


def test_own_allow_lifts_schedule():
    p = child(schedules=(BEDTIME,))
    night = dt.datetime(2026, 11, 30, 22, 0, tzinfo=dt.timezone.utc)
    assert decide(p, [Evidence("policy", None, "school site", allow=True)], night).action == "allow"


def test_url_model_needs_more_confidence_than_page_text():
    page = Evidence("classifier", "gambling", "page text model", score=0.7)
    host = Evidence("classifier", "gambling", "URL/host model", score=0.7, kind="url-model")
    assert decide(child(), [page]).blocked
    assert not decide(child(), [host]).blocked
    assert decide(child(), [dataclasses.replace(host, score=0.85)]).blocked
    assert decide(child(thresholds={"url": 0.6}), [host]).blocked
    # A profile's own stricter category threshold still applies to the URL model.
    assert not decide(child(thresholds={"url": 0.6, "gambling": 0.9}), [host]).blocked
