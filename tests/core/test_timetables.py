"""School timetables, term dates and holidays, weekday ranges and daylight-saving days, from the
config file to the verdict."""

from __future__ import annotations

import datetime as dt
import textwrap
from zoneinfo import ZoneInfo

import pytest

from policies import config
from policies.core import Evidence, decide

ZONE = ZoneInfo("Europe/Bucharest")
SOCIAL = [Evidence("list", "social", "ut1/social_networks: domain tiktok.com")]

SCHOOL = textwrap.dedent("""\
    timetables:
      school-day:
        - "08:00-08:45"
        - {start: "08:55", end: "09:40"}
        - "09:50-10:35"
        - "12:30-13:15"          # after lunch (10:35-12:30 is free)
    calendars:
      school:
        terms:
          - {from: 2026-09-08, until: 2026-12-19}
          - {from: 2027-01-07, until: 2027-06-18}
        holidays:
          - 2026-11-30
          - {from: 2027-04-17, until: 2027-04-25, name: Easter}
    profiles:
      class-5b:
        age: 15
        timezone: Europe/Bucharest
        categories: {social: 13}
        schedules:
          - {name: lessons, days: mon-fri, timetable: school-day, calendar: school,
             categories: [social]}
          - {name: night, days: "sun-thu", start: "22:00", end: "06:00", calendar: school}
    """)


@pytest.fixture(scope="module")
def cls():
    return config.parse(SCHOOL, "school.yaml").profiles["class-5b"]


def at(day: str, hm: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{hm}").replace(tzinfo=ZONE)


@pytest.mark.parametrize("when, blocked", [
    ("08:00", True), ("08:44", True), ("08:45", False), ("08:50", False), ("08:55", True),
    ("10:35", False), ("11:30", False), ("12:30", True), ("13:15", False), ("07:59", False),
])
def test_social_networks_blocked_in_lessons_allowed_between_and_at_lunch(cls, when, blocked):
    verdict = decide(cls, SOCIAL, at("2026-12-02", when))  # a Wednesday in term
    assert verdict.blocked is blocked, verdict.to_dict()
    if blocked:
        assert "schedule 'lessons'" in verdict.reasons[0].detail
        assert verdict.reasons[0].source == "schedule"


@pytest.mark.parametrize("day, why", [
    ("2026-12-05", "Saturday"), ("2026-11-30", "a holiday"), ("2026-12-23", "between terms"),
    ("2027-04-20", "Easter holiday"), ("2026-09-07", "before the first term"),
])
def test_no_lessons_outside_term_days(cls, day, why):
    assert not decide(cls, SOCIAL, at(day, "09:00")).blocked, why


def test_the_reason_names_the_lesson_period(cls):
    verdict = decide(cls, SOCIAL, at("2026-12-02", "09:00"))
    assert "08:55-09:40" in verdict.reasons[0].detail


def test_a_window_counts_on_the_day_it_began(cls):
    """Sunday 29 Nov 22:00 starts a school night that still ends at 06:00 on Monday 30 Nov,
    a holiday; the window that would start on the holiday evening does not."""
    assert decide(cls, [], at("2026-11-30", "05:00")).blocked
    assert not decide(cls, [], at("2026-11-30", "23:00")).blocked
    assert decide(cls, [], at("2026-12-01", "23:00")).blocked  # Tuesday: school night again


def test_daylight_saving_days_keep_wall_clock_hours(cls):
    """Lessons follow the clock on the wall: 08:00 local on the Monday after the change."""
    spring = at("2027-03-29", "08:10")
    assert spring.utcoffset() == dt.timedelta(hours=3)
    assert decide(cls, SOCIAL, spring).blocked
    assert decide(cls, SOCIAL, spring.astimezone(dt.timezone.utc)).blocked  # same instant
    autumn = at("2026-10-26", "08:10")  # Monday after the October change
    assert autumn.utcoffset() == dt.timedelta(hours=2) and decide(cls, SOCIAL, autumn).blocked


@pytest.mark.parametrize("snippet, message", [
    ("timetables: {a: []}\n", "timetables.a: a timetable needs at least one period"),
    ("timetables: {a: ['09:00-08:00']}\n", "ends after it starts"),
    ("timetables: {a: ['25:00-26:00']}\n", "expected a time of day"),
    ("calendars: {s: {terms: [{from: 2026-09-08}]}}\n", "needs from and until"),
    ("calendars: {s: {holidays: [someday]}}\n", "expected a date such as"),
    ("calendars: {s: {terms: [{from: 2027-01-01, until: 2026-01-01}]}}\n", "until is before from"),
])
def test_bad_timetables_and_calendars_name_the_key(snippet, message):
    with pytest.raises(config.ConfigError, match=message):
        config.parse(snippet + "profiles: {a: {age: 9}}\n", "school.yaml")


@pytest.mark.parametrize("schedule, message", [
    ("{timetable: nope}", "no timetable named 'nope'"),
    ("{start: '08:00', end: '09:00', calendar: nope}", "no calendar named 'nope'"),
    ("{start: '08:00'}", "give start and end"),
    ("{start: '08:00', end: '09:00', periods: ['10:00-11:00']}", "give start and end"),
    ("{days: mon-funday, start: '08:00', end: '09:00'}", "weekdays such as mon-fri"),
])
def test_bad_schedules_name_the_key(schedule, message):
    with pytest.raises(config.ConfigError, match=message):
        config.parse(f"profiles: {{a: {{age: 9, schedules: [{schedule}]}}}}\n", "school.yaml")


def test_weekday_ranges_wrap_round_the_week():
    p = config.parse("profiles: {a: {age: 9, schedules: [{days: fri-mon, start: '20:00', "
                     "end: '21:00'}]}}\n").profiles["a"]
    assert p.schedules[0].days == frozenset({4, 5, 6, 0})
