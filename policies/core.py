"""The decision core: (profile, time, evidence) -> verdict with reasons.

Pure and fast: no I/O, no network, no global state. Detectors (lists, labels, classifier,
schedules) produce :class:`Evidence`; :func:`decide` turns it into a :class:`Verdict`.
Everything is expressed as a minimum age compared with the profile's age.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal
from zoneinfo import ZoneInfo

from policies.categories import (
    ADULT_AGE,
    ALWAYS_BLOCKED,
    CHILD_ALWAYS_BLOCKED,
    DEFAULT_MIN_AGES,
    NEVER,
)

Source = Literal["list", "label", "classifier", "policy", "schedule", "error"]
Action = Literal["allow", "block"]

SOURCES: tuple[str, ...] = ("list", "label", "classifier", "policy", "schedule", "error")

#: When two reasons block with the same minimum age, the more exact source decides.
_SOURCE_RANK = {"policy": 0, "list": 1, "label": 2, "schedule": 3, "classifier": 4, "error": 5}

#: ``Evidence.kind`` of a host that belongs to a service: ``service:tiktok``.
SERVICE_KIND = "service:"

DEFAULT_THRESHOLD = 0.5
#: The URL/host model judges a name, not a page: it needs more confidence to block alone.
#: Measured with whole lists held out of training (models/MODEL_CARD.md): 0.8 over-blocks 2.5%
#: of the held-out harmless hosts and finds 19.4% of the held-out harmful lists' hosts on
#: average; 0.5 would find 25% and over-block 7.3% (three times as many harmless sites).
DEFAULT_URL_THRESHOLD = 0.8
URL_MODEL = "url-model"


@dataclass(frozen=True, slots=True)
class Evidence:
    """One observation by one detector.

    ``category`` is a vocabulary name or ``None`` for evidence that only carries an age (an
    age-de.xml label of 16) or that is about the profile's own lists. ``min_age`` overrides the
    profile's age for the category (labels say their own age). ``score`` is a classifier
    probability, compared with the profile's threshold. ``allow`` marks allow-list evidence.
    """

    source: Source
    category: str | None
    detail: str
    min_age: int | None = None
    score: float | None = None
    allow: bool = False
    kind: str = ""
    features: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Reason:
    source: str
    category: str | None
    detail: str
    min_age: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {"source": self.source, "category": self.category, "detail": self.detail,
                "min_age": None if self.min_age is None or self.min_age >= NEVER else self.min_age}


@dataclass(frozen=True, slots=True)
class Verdict:
    action: Action
    category: str | None = None
    min_age: int | None = None
    reasons: tuple[Reason, ...] = ()
    scores: Mapping[str, float] = field(default_factory=dict)
    #: The blocked service's display name ("TikTok"), so the block page can name it.
    service: str | None = None
    #: When a parent's pause blocked the request: the moment it ends.
    paused_until: dt.datetime | None = None

    @property
    def blocked(self) -> bool:
        return self.action == "block"

    def to_dict(self) -> dict[str, object]:
        return {
            "action": self.action,
            "category": self.category,
            "min_age": None if self.min_age is None or self.min_age >= NEVER else self.min_age,
            "reasons": [r.to_dict() for r in self.reasons],
            "scores": {k: round(v, 4) for k, v in self.scores.items()},
            **({"service": self.service} if self.service else {}),
            **({"paused_until": self.paused_until.isoformat()} if self.paused_until else {}),
        }


@dataclass(frozen=True, slots=True)
class Calendar:
    """School terms and holidays: a schedule with a calendar applies only on term days that are
    not holidays. No terms means every day is a term day. Ranges include both ends."""

    name: str
    terms: tuple[tuple[dt.date, dt.date], ...] = ()
    holidays: tuple[tuple[dt.date, dt.date], ...] = ()

    def open_on(self, day: dt.date) -> bool:
        if self.terms and not any(a <= day <= b for a, b in self.terms):
            return False
        return not any(a <= day <= b for a, b in self.holidays)


@dataclass(frozen=True, slots=True)
class Schedule:
    """A weekly time window, or a timetable of several. ``categories`` empty means the whole
    internet is blocked.

    ``days`` are the weekdays (Monday 0) on which a window *starts*; a window whose end is not
    after its start crosses midnight into the next day. ``periods``, when given, are the
    windows (lesson periods of a timetable) and ``start``/``end`` only their span. A
    ``calendar`` limits the schedule to term days that are not holidays, judged on the day the
    window starts. Times are wall-clock times in the profile's zone, so a window keeps its
    hours across daylight-saving changes.
    """

    name: str
    days: frozenset[int]
    start: dt.time
    end: dt.time
    categories: frozenset[str] = frozenset()
    periods: tuple[tuple[dt.time, dt.time], ...] = ()
    calendar: Calendar | None = None

    def window_at(self, local: dt.datetime) -> tuple[dt.time, dt.time] | None:
        """The window (start, end) that ``local`` falls in, or None."""
        t = local.time().replace(tzinfo=None)
        today = local.date()
        for start, end in self.periods or ((self.start, self.end),):
            if start < end:
                began = today if start <= t < end else None
            elif t >= start:  # crosses midnight (or spans a whole day when start == end)
                began = today
            elif t < end:
                began = today - dt.timedelta(days=1)
            else:
                began = None
            if began is None or began.weekday() not in self.days:
                continue
            if self.calendar is not None and not self.calendar.open_on(began):
                continue
            return start, end
        return None

    def active(self, local: dt.datetime) -> bool:
        return self.window_at(local) is not None


@dataclass(frozen=True, slots=True)
class Pause:
    """A parent's "pause the internet now": every request blocked until ``until`` (aware),
    except the profile's own allow entries. Data, not a timer: it ends because
    :func:`decide` compares it with ``now``."""

    until: dt.datetime
    by: str = ""

    def active(self, now: dt.datetime) -> bool:
        return now < self.until


@dataclass(frozen=True, slots=True)
class ExtraTime:
    """Extra time until ``until`` (aware): with no ``categories`` the whole internet is free of
    schedules; a named category is also free of its age block. The floors stay (hotline,
    malware, and bypass for children)."""

    until: dt.datetime
    categories: frozenset[str] = frozenset()
    by: str = ""

    def active(self, now: dt.datetime) -> bool:
        return now < self.until


@dataclass(frozen=True, slots=True)
class Service:
    """A named group of hosts (an app or a game), from the catalogue shipped with kidgate."""

    id: str
    name: str
    domains: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ServiceBlock:
    """``services: {block: [...], schedules: [...]}``: the services switched off for a profile,
    always, or only while one of ``schedules`` is active."""

    services: tuple[Service, ...] = ()
    schedules: tuple[Schedule, ...] = ()

    def lookup(self, host: str) -> tuple[Service, str] | None:
        """The blocked service that ``host`` (or one of its parent domains) belongs to."""
        for service in self.services:
            for d in service.domains:
                if host == d or host.endswith("." + d):
                    return service, d
        return None


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    age: int
    language: str = "en"
    category_ages: Mapping[str, int] = field(default_factory=dict)
    thresholds: Mapping[str, float] = field(default_factory=dict)
    allow_domains: tuple[str, ...] = ()
    deny_domains: tuple[str, ...] = ()
    safe_search: str = "strict"
    youtube: str = "strict"
    fail_safe: Literal["block", "allow"] = "block"
    schedules: tuple[Schedule, ...] = ()
    timezone: str = "UTC"
    report_button: bool = False
    #: School account restrictions (Google Workspace / Microsoft tenant headers), by setting name.
    school: Mapping[str, object] = field(default_factory=dict)
    #: Which age-label kinds count: kind -> "enforce" | "ignore".
    labels: Mapping[str, str] = field(default_factory=dict)
    #: Web addresses that are a bare public IP number ("http://203.0.113.7/"): "block" counts
    #: them as ``bypass`` (no list or label can judge them; blocked for children only).
    ip_urls: Literal["block", "allow"] = "block"
    #: Categories this profile's own entry sets (group settings do not override them).
    own_categories: frozenset[str] = frozenset()
    #: The groups whose rules were merged into this profile, most specific first.
    groups: tuple[str, ...] = ()
    #: A parent's pause (time-limited; ignored once ended).
    pause: Pause | None = None
    #: Extra time granted by a parent (each time-limited; ignored once ended).
    extra_time: tuple[ExtraTime, ...] = ()
    #: Services (TikTok, Roblox, ...) switched off for this profile.
    services: ServiceBlock = field(default_factory=ServiceBlock)

    @property
    def is_child(self) -> bool:
        return self.age < ADULT_AGE

    def min_age(self, category: str) -> int:
        """The age from which ``category`` is allowed for this profile."""
        if category in ALWAYS_BLOCKED:
            return NEVER
        age = self.category_ages.get(category, DEFAULT_MIN_AGES.get(category, ADULT_AGE))
        if category in CHILD_ALWAYS_BLOCKED:
            age = max(age, ADULT_AGE)
        return age

    def threshold(self, category: str, kind: str = "") -> float:
        t = self.thresholds.get(category, self.thresholds.get("default", DEFAULT_THRESHOLD))
        if kind == URL_MODEL:
            return max(t, self.thresholds.get("url", DEFAULT_URL_THRESHOLD))
        return t


def _label(min_age: int) -> str:
    return "never" if min_age >= NEVER else f"{min_age}+"


def decide(profile: Profile, evidence: Iterable[Evidence],
           now: dt.datetime | None = None) -> Verdict:
    """Decide whether ``profile`` may see the resource described by ``evidence`` at ``now``.

    Precedence, highest first: ``csam``/``malware`` evidence blocks everyone; a parent's active
    pause blocks everything but the profile's own allow entries; the profile's own allow entries
    and approved access requests allow; the profile's own deny entries and blocked services
    block; allow-lists beat block-lists; an active schedule blocks (unless extra time lifts it);
    a failed detector blocks a child profile whose fail-safe is ``block``; then each piece of
    category evidence blocks when the profile is younger than its minimum age (unless extra time
    for that category lifts it). Time-limited state (pause, extra time, schedules) is judged
    against ``now`` only: without a time it does not apply.
    """
    items = list(evidence)
    scores = {e.category: e.score for e in items
              if e.source == "classifier" and e.category and e.score is not None}

    def block(category: str | None, min_age: int, reasons: list[Reason], **kw: object) -> Verdict:
        return Verdict("block", category, min_age, tuple(reasons), scores, **kw)  # type: ignore[arg-type]

    # 1. Hotline and malware entries: no allow-list, age or approval lifts them.
    hard = [e for e in items if not e.allow and e.category in ALWAYS_BLOCKED
            and e.source != "error" and _counts(profile, e)]
    if hard:
        return block(hard[0].category, NEVER, [_reason(e, NEVER) for e in hard])

    local = None
    if now is not None:  # a time without a zone is the profile's wall-clock time
        zone = ZoneInfo(profile.timezone)
        local = now.astimezone(zone) if now.tzinfo else now.replace(tzinfo=zone)
    own_allow = [e for e in items if e.allow and e.source == "policy"]

    # 2. A parent's pause: only the profile's own allow list (homework sites) stays open.
    if local is not None and profile.pause is not None and profile.pause.active(local):
        listed = [e for e in own_allow if e.kind == "profile-allow"]
        if listed:
            return Verdict("allow", None, None, tuple(_reason(e, None) for e in listed), scores)
        until = profile.pause.until
        return block(None, NEVER, [Reason("policy", None,
                     f"paused by a parent until {format_until(until, local)}", NEVER)],
                     paused_until=until)

    # 3. The profile's own allow entries and approved requests.
    if own_allow:
        return Verdict("allow", None, None, tuple(_reason(e, None) for e in own_allow), scores)

    extra = [x for x in profile.extra_time if local is not None and x.active(local)]
    all_extra = any(not x.categories for x in extra)
    extra_cats = frozenset().union(*(x.categories for x in extra)) if extra else frozenset()

    # 4. The profile's own deny entries, then the services switched off for it.
    own_deny = [e for e in items if not e.allow and e.source == "policy"
                and not e.kind.startswith(SERVICE_KIND)]
    if own_deny:
        return block(own_deny[0].category, NEVER, [_reason(e, NEVER) for e in own_deny])
    service = _service_block(profile, items, local, all_extra)
    if service is not None:
        return dataclasses.replace(service, scores=scores)

    # 5. Allow-lists beat block-lists and detectors.
    list_allow = [e for e in items if e.allow and e.source == "list"]
    if list_allow:
        return Verdict("allow", None, None, tuple(_reason(e, None) for e in list_allow), scores)

    blocking: list[tuple[int, Evidence]] = []

    # 6. Schedules, unless extra time lifts them.
    if local is not None and profile.schedules and not all_extra:
        # Extra time for a category opens a whole-internet schedule to pages of that category.
        lifted = any(e.category in extra_cats and not e.allow and _counts(profile, e)
                     for e in items)
        for sched in profile.schedules:
            window = sched.window_at(local)
            if window is None:
                continue
            hours = f"{window[0]:%H:%M}-{window[1]:%H:%M}"
            if not sched.categories:
                if lifted:
                    continue
                return block(None, NEVER, [Reason("schedule", None,
                             f"schedule '{sched.name}': internet paused {hours}", NEVER)])
            for e in items:
                if e.category in sched.categories and e.category not in extra_cats \
                        and not e.allow and _counts(profile, e):
                    blocking.append((NEVER, Evidence("schedule", e.category,
                                    f"schedule '{sched.name}' blocks {e.category} "
                                    f"{hours} ({e.detail})")))

    # 7. Failed detectors: the profile's fail-safe decides; adults are never broken by a bug.
    if profile.is_child and profile.fail_safe == "block":
        for e in items:
            if e.source == "error":
                blocking.append((NEVER, e))

    # 8. Category and age evidence (extra time for a category lifts its age block).
    for e in items:
        if e.allow or e.source in ("error", "policy") or not _counts(profile, e):
            continue
        if e.category is not None and e.category in extra_cats:
            continue
        need = e.min_age if e.min_age is not None else (
            profile.min_age(e.category) if e.category else None)
        if need is not None and profile.age < need:
            blocking.append((need, e))

    if not blocking:
        return Verdict("allow", None, None, (), scores)
    blocking.sort(key=lambda ne: (-ne[0], _SOURCE_RANK.get(ne[1].source, 9)))
    top_age, top = blocking[0]
    return block(top.category, top_age, [_reason(e, a) for a, e in blocking])


def _service_block(profile: Profile, items: list[Evidence], local: dt.datetime | None,
                   all_extra: bool) -> Verdict | None:
    """A block for a switched-off service named by the evidence, when its rule applies now:
    always, or during one of its schedules (which whole-internet extra time lifts, as it
    lifts every schedule)."""
    found = [e for e in items if e.kind.startswith(SERVICE_KIND) and not e.allow]
    if not found:
        return None
    rule = profile.services
    names = {s.id: s.name for s in rule.services}
    found = [e for e in found if e.kind[len(SERVICE_KIND):] in names]
    if not found:
        return None
    when = ""
    if rule.schedules:
        if local is None or all_extra:
            return None
        windows = [(s, w) for s in rule.schedules if (w := s.window_at(local)) is not None]
        if not windows:
            return None
        sched, w = windows[0]
        when = f" (schedule '{sched.name}' {w[0]:%H:%M}-{w[1]:%H:%M})"
    e = found[0]
    return Verdict("block", None, NEVER, (Reason("policy", None, e.detail + when, NEVER),),
                   service=names[e.kind[len(SERVICE_KIND):]])


def format_until(until: dt.datetime, local_now: dt.datetime) -> str:
    """``20:00`` today, ``Sat 09:00`` within a week, else the date: what a parent said."""
    tz = local_now.tzinfo
    end = until.astimezone(tz) if tz is not None and until.tzinfo else until
    if end.date() == local_now.date():
        return f"{end:%H:%M}"
    if end.date() - local_now.date() < dt.timedelta(days=7):
        return f"{end:%a %H:%M}"
    return f"{end:%Y-%m-%d %H:%M}"


def _counts(profile: Profile, e: Evidence) -> bool:
    """Classifier evidence counts only at or above the profile's threshold."""
    if e.source != "classifier":
        return True
    return e.score is not None and e.category is not None and \
        e.score >= profile.threshold(e.category, e.kind)


def _reason(e: Evidence, min_age: int | None) -> Reason:
    detail = e.detail
    if e.source == "classifier" and e.score is not None and "score" not in detail:
        detail = f"{detail} (score {e.score:.2f})" if detail else f"score {e.score:.2f}"
    if e.features:
        detail = f"{detail}; features: {', '.join(e.features[:8])}"
    return Reason(e.source, e.category, detail, min_age)


def describe_age(min_age: int | None) -> str:
    return "" if min_age is None else _label(min_age)
