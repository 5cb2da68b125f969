"""The facts an alert may carry (never page content), from a decision or an access request."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

from reporting.access import AccessRequest, clean_message
from reporting.urls import host_of, without_content, without_query

#: Characters that would split a header or a log line, or hide text.
CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]")


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """The only facts an alert may carry."""

    profile: str
    url: str
    category: str | None
    reason: str
    time: float

    @classmethod
    def from_decision(cls, event: object) -> AlertEvent:
        """Accept an :class:`AlertEvent`, a decision-log mapping (``profile``/``profile_name``,
        ``url``, ``category`` or ``verdict.category``, ``reason`` or first of ``reasons``,
        ``time``/``ts`` as epoch seconds or ISO text), or an object with those attributes."""
        if isinstance(event, AlertEvent):
            return event

        def get(obj: object, *names: str) -> object:
            for n in names:
                v = obj.get(n) if isinstance(obj, Mapping) else getattr(obj, n, None)
                if v is not None:
                    return v
            return None

        verdict = get(event, "verdict")
        category = get(event, "category") or (get(verdict, "category") if verdict else None)
        reason = get(event, "reason")
        if reason is None:
            reasons = get(event, "reasons") or (get(verdict, "reasons") if verdict else None)
            if reasons:
                first = list(reasons)[0]  # type: ignore[call-overload]
                reason = first if isinstance(first, str) else get(first, "detail")
        when = get(event, "time", "ts", "timestamp")
        if isinstance(when, str):
            try:
                when = dt.datetime.fromisoformat(when.replace("Z", "+00:00")).timestamp()
            except ValueError:
                when = None
        elif isinstance(when, dt.datetime):
            when = when.timestamp()
        return cls(str(get(event, "profile", "profile_name") or "?"), str(get(event, "url") or ""),
                   None if category is None else str(category), without_content(str(reason or "")),
                   float(when) if isinstance(when, (int, float)) else time.time())

    @classmethod
    def from_verdict(cls, verdict: object, *, url: str, profile: str, client: str = "",
                     now: float | None = None) -> AlertEvent:
        """From a :class:`policies.core.Verdict`. ``client`` is accepted and dropped: an
        alert names the profile, not the device."""
        del client
        reasons = getattr(verdict, "reasons", ()) or ()
        reason = getattr(reasons[0], "detail", "") if reasons else ""
        return cls(profile, url, getattr(verdict, "category", None), without_content(reason),
                   time.time() if now is None else now)


#: The name the proxy uses for an alert's input.
DecisionEvent = AlertEvent


@dataclass(frozen=True, slots=True)
class AccessRequestEvent:
    """A child's new access request: what a parent needs to decide, never page content.

    ``url`` is the full requested address (what an approval covers); messages show it
    without query and fragment, which may carry search words or personal data."""

    request_id: int
    profile: str
    url: str
    category: str | None
    reason: str
    message: str
    language: str
    time: float

    @classmethod
    def from_request(cls, req: AccessRequest, language: str = "en") -> AccessRequestEvent:
        return cls(req.id, req.profile, req.url, req.category, without_content(req.reason),
                   clean_message(req.message), language, req.created)


def clean(text: str, limit: int) -> str:
    """One line, no control characters (no header or log injection), bounded."""
    return CONTROL.sub(" ", text)[:limit]


def iso_time(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds")


def alert_facts(e: AlertEvent) -> dict[str, object]:
    return {"profile": clean(e.profile, 80), "category": e.category,
            "url": clean(e.url, 4096), "time": iso_time(e.time), "reason": clean(e.reason, 300)}


def request_facts(e: AccessRequestEvent) -> dict[str, object]:
    return {"request_id": e.request_id, "profile": clean(e.profile, 80),
            "category": e.category, "url": clean(without_query(e.url), 4096),
            "host": clean(host_of(e.url), 253),
            "time": iso_time(e.time), "reason": clean(without_content(e.reason), 300),
            "message": clean(clean_message(e.message), 500)}
