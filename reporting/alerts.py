"""Safeguarding alerts: tell the adult who should know when a child hits a dangerous category.

Configured as a mapping (YAML section ``alerts``)::

    smtp: {host: mail.school.example, port: 587, from: kidgate@school.example,
           starttls: true, username: kidgate, password: secret}
    helpline: "116 111"
    digest_time: "18:00"          # daily digests are sent at this local time
    digest_timezone: Europe/Bucharest
    rules:
      - {profiles: ["*"], categories: [self_harm], email: [lead@school.example],
         webhook: "https://hooks.example/kidgate", digest: false, min_interval: 10m}
      - {profiles: [ana, ben], access_requests: true, email: [parent@home.example],
         access_requests_per_hour: 10}

A rule with ``access_requests: true`` also tells its recipients when a child of one of its
``profiles`` asks for access, with one-click decision links (``categories`` is then optional).
Those messages are sent at once (a child is waiting; ``digest`` does not apply to them), one
per request, at most ``access_requests_per_hour`` (default 10) per rule and profile: a child
cannot flood a parent; the requests beyond stay pending and are counted in the next message.

A message carries only the URL, category, profile, time and reason: never page content.
:meth:`Alerter.notify` only matches rules and queues; a worker thread delivers, so the proxy
never waits for a mail server. The rate limit (one alert per rule, profile and category per
``min_interval``) is kept in the database, so it holds across proxy workers; events inside
the interval are logged as suppressed and counted in the next alert.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import re
import smtplib
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from policies.categories import CATEGORIES
from reporting.access import AccessRequest, clean_message
from reporting.links import DEFAULT_HELPLINE, decision_links
from reporting.store import Store, insert_id
from storage import tables as t
from reporting.tokens import Signer
from reporting.urls import host_of, without_content, without_query

log = logging.getLogger(__name__)

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_DURATION = re.compile(r"^(\d+)\s*([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]")
_PENDING_STALE = 300.0
_al = t.alert_log.c
_HOUR = 3600.0
DEFAULT_ACCESS_REQUESTS_PER_HOUR = 10


# -- configuration -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    sender: str
    port: int = 25
    starttls: bool = False
    ssl: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class AlertRule:
    name: str
    profiles: frozenset[str]
    categories: frozenset[str]
    email: tuple[str, ...] = ()
    webhook: str | None = None
    digest: bool = False
    min_interval: float = 600.0
    access_requests: bool = False
    access_requests_per_hour: int = DEFAULT_ACCESS_REQUESTS_PER_HOUR

    def matches(self, profile: str, category: str | None) -> bool:
        return (category is not None and ("*" in self.categories or category in self.categories)
                and self.covers(profile))

    def covers(self, profile: str) -> bool:
        return "*" in self.profiles or profile in self.profiles

    def wants_access_request(self, profile: str) -> bool:
        return self.access_requests and self.covers(profile)


@dataclass(frozen=True, slots=True)
class AlertConfig:
    rules: tuple[AlertRule, ...] = ()
    smtp: SmtpConfig | None = None
    helpline: str = DEFAULT_HELPLINE
    digest_time: dt.time = dt.time(18, 0)
    digest_timezone: str = "UTC"

    @classmethod
    def from_mapping(cls, m: Mapping[str, object] | None) -> AlertConfig:
        """Validate; every error is a ``ValueError`` naming the offending key."""
        m = _mapping(m or {}, "alerts")
        _known(m, "alerts", {"smtp", "rules", "helpline", "digest_time", "digest_timezone"})
        smtp = _smtp(m["smtp"]) if m.get("smtp") is not None else None
        rules_raw = m.get("rules", [])
        if not isinstance(rules_raw, list):
            raise ValueError("alerts.rules: must be a list")
        rules = tuple(_rule(r, i) for i, r in enumerate(rules_raw))
        for i, r in enumerate(rules):
            if r.email and smtp is None:
                raise ValueError(f"alerts.rules[{i}].email: needs an 'alerts.smtp' section")
        if len({r.name for r in rules}) != len(rules):
            raise ValueError("alerts.rules: rule names must be unique")
        helpline = _text(m.get("helpline", DEFAULT_HELPLINE), "alerts.helpline", 40)
        try:
            digest_time = dt.time.fromisoformat(str(m.get("digest_time", "18:00")))
        except ValueError:
            raise ValueError("alerts.digest_time: must be HH:MM") from None
        tz = str(m.get("digest_timezone", "UTC"))
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"alerts.digest_timezone: unknown time zone {tz!r}") from None
        return cls(rules, smtp, helpline, digest_time, tz)


def _mapping(v: object, key: str) -> Mapping[str, object]:
    if not isinstance(v, Mapping):
        raise ValueError(f"{key}: must be a mapping")
    return v


def _known(m: Mapping[str, object], key: str, allowed: set[str]) -> None:
    unknown = sorted(set(m) - allowed)
    if unknown:
        raise ValueError(f"{key}: unknown key(s) {', '.join(map(str, unknown))}")


def _text(v: object, key: str, limit: int = 200) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ValueError(f"{key}: must be a non-empty string")
    if _CONTROL.search(v) or len(v) > limit:
        raise ValueError(f"{key}: must be one line of at most {limit} characters")
    return v.strip()


def _address(v: object, key: str) -> str:
    text = v if isinstance(v, str) else ""
    if not _EMAIL.fullmatch(text) or len(text) > 254:
        raise ValueError(f"{key}: {v!r} is not a plain e-mail address (no names, commas or "
                         "line breaks)")
    return text


def _bool(v: object, key: str) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f"{key}: must be true or false")
    return v


def parse_interval(v: object, key: str = "min_interval") -> float:
    """``"10m"``, ``"1h"``, ``"30s"``, ``"1d"`` or a number of seconds."""
    if isinstance(v, bool):
        raise ValueError(f"{key}: must be a duration like 10m")
    if isinstance(v, (int, float)):
        seconds = float(v)
    else:
        match = _DURATION.fullmatch(str(v).strip().lower())
        if not match:
            raise ValueError(f"{key}: {v!r} is not a duration like 30s, 10m, 1h or 1d")
        seconds = float(int(match[1]) * _UNITS[match[2]])
    if seconds < 0:
        raise ValueError(f"{key}: must not be negative")
    return seconds


def _smtp(v: object) -> SmtpConfig:
    m = _mapping(v, "alerts.smtp")
    _known(m, "alerts.smtp", {"host", "port", "from", "starttls", "ssl", "username",
                              "password", "timeout"})
    host = _text(m.get("host"), "alerts.smtp.host", 253)
    port = m.get("port", 25)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise ValueError("alerts.smtp.port: must be a port number")
    user, password = m.get("username"), m.get("password")
    if (user is None) != (password is None):
        raise ValueError("alerts.smtp.username: username and password go together")
    starttls = _bool(m.get("starttls", False), "alerts.smtp.starttls")
    use_ssl = _bool(m.get("ssl", False), "alerts.smtp.ssl")
    if starttls and use_ssl:
        raise ValueError("alerts.smtp.starttls: choose starttls or ssl, not both")
    return SmtpConfig(host, _address(m.get("from"), "alerts.smtp.from"), port, starttls, use_ssl,
                      None if user is None else _text(user, "alerts.smtp.username"),
                      None if password is None else _text(password, "alerts.smtp.password"),
                      parse_interval(m.get("timeout", 10), "alerts.smtp.timeout"))


def _rule(v: object, i: int) -> AlertRule:
    key = f"alerts.rules[{i}]"
    m = _mapping(v, key)
    _known(m, key, {"name", "profiles", "categories", "email", "webhook", "digest",
                    "min_interval", "access_requests", "access_requests_per_hour"})
    name = _text(m.get("name", f"rule{i}"), f"{key}.name", 60)
    asks = _bool(m.get("access_requests", False), f"{key}.access_requests")
    per_hour = m.get("access_requests_per_hour", DEFAULT_ACCESS_REQUESTS_PER_HOUR)
    if "access_requests_per_hour" in m and not asks:
        raise ValueError(f"{key}.access_requests_per_hour: only with 'access_requests: true'")
    if not isinstance(per_hour, int) or isinstance(per_hour, bool) or not 0 < per_hour <= 1000:
        raise ValueError(f"{key}.access_requests_per_hour: must be a whole number from 1 to 1000")

    def names(field: str, default: list[str] | None) -> frozenset[str]:
        raw = m.get(field, default)
        if not isinstance(raw, list) or not raw or not all(isinstance(x, str) for x in raw):
            raise ValueError(f"{key}.{field}: must be a non-empty list of names ('*' for all)")
        return frozenset(raw)

    profiles = names("profiles", ["*"])
    if "categories" not in m and not asks:
        raise ValueError(f"{key}: needs 'categories' and/or 'access_requests: true'")
    categories = names("categories", None) if "categories" in m else frozenset()
    bad = sorted(c for c in categories if c != "*" and c not in CATEGORIES)
    if bad:
        raise ValueError(f"{key}.categories: unknown category {bad[0]!r}; "
                         f"known: {', '.join(CATEGORIES)}")
    emails_raw = m.get("email", [])
    if isinstance(emails_raw, str):
        emails_raw = [emails_raw]
    if not isinstance(emails_raw, list):
        raise ValueError(f"{key}.email: must be a list of addresses")
    emails = tuple(_address(e, f"{key}.email") for e in emails_raw)
    webhook = m.get("webhook")
    if webhook is not None:
        webhook = _text(webhook, f"{key}.webhook", 2000)
        if not re.match(r"^https?://[^\s/]+", webhook):
            raise ValueError(f"{key}.webhook: must be an http(s) URL")
    if not emails and webhook is None:
        raise ValueError(f"{key}: needs 'email' and/or 'webhook'")
    return AlertRule(name, profiles, categories, emails, webhook,
                     _bool(m.get("digest", False), f"{key}.digest"),
                     parse_interval(m.get("min_interval", "10m"), f"{key}.min_interval"),
                     asks, per_hour)


# -- events --------------------------------------------------------------------------------

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


_Item = tuple[AlertRule, AlertEvent | AccessRequestEvent]


def _clean(text: str, limit: int) -> str:
    """One line, no control characters (no header or log injection), bounded."""
    return _CONTROL.sub(" ", text)[:limit]


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds")


def _facts(e: AlertEvent) -> dict[str, object]:
    return {"profile": _clean(e.profile, 80), "category": e.category,
            "url": _clean(e.url, 4096), "time": _iso(e.time), "reason": _clean(e.reason, 300)}


def _request_facts(e: AccessRequestEvent) -> dict[str, object]:
    return {"request_id": e.request_id, "profile": _clean(e.profile, 80),
            "category": e.category, "url": _clean(without_query(e.url), 4096),
            "host": _clean(host_of(e.url), 253),
            "time": _iso(e.time), "reason": _clean(without_content(e.reason), 300),
            "message": _clean(clean_message(e.message), 500)}


# -- delivery ------------------------------------------------------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def post_webhook(url: str, payload: Mapping[str, object], timeout: float = 10.0) -> None:
    """POST JSON; raises on a non-2xx answer. Redirects are not followed."""
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                 headers={"Content-Type": "application/json",
                                          "User-Agent": "kidgate-alerts"})
    with _OPENER.open(req, timeout=timeout) as resp:
        if not 200 <= resp.status < 300:
            raise OSError(f"webhook answered {resp.status}")


def send_mail(smtp: SmtpConfig, to: tuple[str, ...], subject: str, body: str) -> None:
    msg = EmailMessage()
    msg["From"] = smtp.sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = _clean(subject, 150)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body)
    cls = smtplib.SMTP_SSL if smtp.ssl else smtplib.SMTP
    with cls(smtp.host, smtp.port, timeout=smtp.timeout) as client:
        if smtp.starttls:
            client.starttls(context=ssl.create_default_context())
        if smtp.username and smtp.password:
            client.login(smtp.username, smtp.password)
        client.send_message(msg, from_addr=smtp.sender, to_addrs=list(to))


class Alerter:
    """Matches decision events against the rules and delivers alerts from a worker thread."""

    def __init__(self, config: AlertConfig | Mapping[str, object] | None, store: Store,
                 *, queue_size: int = 1000, tick: float = 30.0,
                 clock: Callable[[], float] = time.time, signer: Signer | None = None) -> None:
        self.config = config if isinstance(config, AlertConfig) else \
            AlertConfig.from_mapping(config)
        self.store = store
        self.signer = signer  # signs the decision links of access-request messages
        self.dropped = 0
        self._queue: queue.Queue[_Item | None] = queue.Queue(queue_size)
        self._tick = tick
        self._clock = clock  # decides when the daily digest is due
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        if any(r.digest for r in self.config.rules):
            self._ensure_worker()  # digests are due at a time of day, even without new events

    @classmethod
    def from_config(cls, config: AlertConfig | Mapping[str, object] | None, *, store: Store,
                    **kw: object) -> Alerter:
        return cls(config, store, **kw)  # type: ignore[arg-type]

    # -- caller side: cheap, never blocks --

    def notify(self, decision_event: object) -> int:
        """Queue alerts for the event; returns how many rules matched. Never blocks."""
        if not self.config.rules:
            return 0
        event = AlertEvent.from_decision(decision_event)
        return self._enqueue([r for r in self.config.rules
                              if r.matches(event.profile, event.category)], event)

    def notify_access_request(self, event: AccessRequestEvent) -> int:
        """Queue a message about a new access request for every rule that asks for them and
        covers its profile; returns how many. Never blocks (the child's page is waiting)."""
        return self._enqueue([r for r in self.config.rules
                              if r.wants_access_request(event.profile)], event)

    def _enqueue(self, rules: list[AlertRule], event: object) -> int:
        for rule in rules:
            try:
                self._queue.put_nowait((rule, event))
            except queue.Full:
                self.dropped += 1
        if rules:
            self._ensure_worker()
        return len(rules)

    def helpline_for(self, category: str | None) -> str | None:
        """The child helpline number the block page shows for self-harm blocks."""
        return self.config.helpline if category == "self_harm" else None

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every queued event was handled (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self, timeout: float = 5.0) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None

    def _ensure_worker(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="kidgate-alerts",
                                                    daemon=True)
                    self._thread.start()

    # -- worker side --

    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=self._tick)
            except queue.Empty:
                item = ()  # type: ignore[assignment]
            try:
                if item is None:
                    return
                if item:
                    self._handle(*item)
                self.send_digests(due_only=True, now=self._clock())
            except Exception:  # a bad mail server must not kill the worker
                log.exception("alert delivery failed")
            finally:
                if item != ():
                    self._queue.task_done()

    def _handle(self, rule: AlertRule, event: AlertEvent | AccessRequestEvent) -> None:
        if isinstance(event, AccessRequestEvent):
            self._handle_request(rule, event)
            return
        facts = _facts(event)
        key = f"{rule.name}|{facts['profile']}|{event.category}"
        if rule.digest:
            self._log(rule, key, facts, event, "queued")
            return
        claim = self._claim(rule, key, facts, event)
        if claim is None:
            return
        row_id, suppressed = claim
        payload = {"kind": "kidgate.alert", "rule": rule.name, **facts,
                   "suppressed_since_last": suppressed}
        lines = [f"{k.capitalize()}: {facts[k]}" for k in ("profile", "category", "time", "url",
                                                            "reason")]
        if suppressed:
            lines.append(f"{suppressed} similar event(s) since the last alert were not sent "
                         "separately (rate limit).")
        body = "kidgate safeguarding alert\n\n" + "\n".join(lines) + _FOOTER
        subject = f"kidgate alert: {event.category} ({facts['profile']})"
        self._deliver(rule, row_id, subject, body, payload)

    def _handle_request(self, rule: AlertRule, event: AccessRequestEvent) -> None:
        facts = _request_facts(event)
        key = f"{rule.name}|{facts['profile']}|#access_request"
        claim = self._claim_quota(rule, key, facts, event, rule.access_requests_per_hour)
        if claim is None:
            return
        row_id, suppressed = claim
        links = {} if self.signer is None else decision_links(
            signer=self.signer, request_id=event.request_id, url=event.url,
            category=event.category, profile_name=event.profile, reason=event.reason,
            language=event.language)
        payload = {"kind": "kidgate.access_request", "rule": rule.name, **facts,
                   "links": links, "suppressed_since_last": suppressed}
        subject = f"kidgate: {facts['profile']} asks for access to {facts['host']}"
        self._deliver(rule, row_id, subject, _request_body(facts, links, suppressed), payload)

    def _claim_quota(self, rule: AlertRule, key: str, facts: Mapping[str, object],
                     event: AccessRequestEvent, per_hour: int) -> tuple[int, int] | None:
        """Like :meth:`_claim`, but ``per_hour`` messages per key in any hour: each request
        deserves its own message, a flood of them does not."""
        now = time.time()
        with self.store.transaction() as conn:
            recent = conn.execute(sa.select(sa.func.count()).select_from(t.alert_log).where(
                _al.rate_key == key, _al.created > now - _HOUR,
                _claimed(now))).scalar_one()
            if recent >= per_hour:
                self._insert(conn, rule, key, facts, event, "suppressed")
                return None
            last = conn.execute(sa.select(sa.func.max(_al.created)).where(
                _al.rate_key == key, _al.status == "sent")).scalar()
            suppressed = _suppressed_since(conn, key, last)
            return self._insert(conn, rule, key, facts, event, "pending"), suppressed

    def _deliver(self, rule: AlertRule, row_id: int, subject: str, body: str,
                 payload: Mapping[str, object]) -> bool:
        errors, channels = [], []
        if rule.email and self.config.smtp is not None:
            channels.append("email")
            try:
                send_mail(self.config.smtp, rule.email, subject, body)
            except Exception as e:  # noqa: BLE001 - any failure is logged, not raised
                errors.append(f"email: {e}")
        if rule.webhook:
            channels.append("webhook")
            try:
                post_webhook(rule.webhook, payload)
            except Exception as e:  # noqa: BLE001
                errors.append(f"webhook: {e}")
        ok = len(errors) < len(channels)
        with self.store.transaction() as conn:
            conn.execute(t.alert_log.update().where(_al.id == row_id).values(
                status="sent" if ok else "failed", channel=",".join(channels),
                error=_clean("; ".join(errors), 500)))
        if errors:
            log.warning("alert rule %s: %s", rule.name, "; ".join(errors))
        return ok

    def _log(self, rule: AlertRule, key: str, facts: Mapping[str, object], event: AlertEvent,
             status: str) -> int:
        with self.store.transaction() as conn:
            return self._insert(conn, rule, key, facts, event, status)

    @staticmethod
    def _insert(conn, rule, key, facts, event, status) -> int:  # type: ignore[no-untyped-def]
        return insert_id(conn, t.alert_log, created=time.time(), rule=rule.name, rate_key=key,
                         profile=facts["profile"], category=event.category, url=facts["url"],
                         reason=facts["reason"], event_time=event.time, status=status)

    def _claim(self, rule: AlertRule, key: str, facts: Mapping[str, object],
               event: AlertEvent) -> tuple[int, int] | None:
        """Atomically: either take the rule's slot (a 'pending' row) or log 'suppressed'."""
        now = time.time()
        with self.store.transaction() as conn:
            last = conn.execute(sa.select(sa.func.max(_al.created)).where(
                _al.rate_key == key, _claimed(now))).scalar()
            if last is not None and now - last < rule.min_interval:
                self._insert(conn, rule, key, facts, event, "suppressed")
                return None
            suppressed = _suppressed_since(conn, key, last)
            return self._insert(conn, rule, key, facts, event, "pending"), suppressed

    def send_digests(self, *, due_only: bool = False, now: float | None = None) -> int:
        """Send each digest rule's queued events as one message; returns messages sent.
        With ``due_only`` a rule is sent only once per day, after ``digest_time``."""
        now = time.time() if now is None else now
        sent = 0
        for rule in self.config.rules:
            if rule.digest and (not due_only or self._digest_due(rule, now)):
                sent += self._send_digest(rule, now)
        return sent

    def _digest_due(self, rule: AlertRule, now: float) -> bool:
        tz = ZoneInfo(self.config.digest_timezone)
        local = dt.datetime.fromtimestamp(now, tz)
        slot = dt.datetime.combine(local.date(), self.config.digest_time, tz).timestamp()
        if now < slot:
            return False
        last = self.store.scalar(sa.select(sa.func.max(_al.created)).where(
            _al.rate_key == f"digest:{rule.name}", _al.status == "sent"))
        return last is None or last < slot

    def _send_digest(self, rule: AlertRule, now: float) -> int:
        marker = f"digest:{rule.name}"
        with self.store.transaction() as conn:
            self._requeue_interrupted(conn, rule, marker, now)
            rows = conn.execute(
                sa.select(_al.id, _al.profile, _al.category, _al.url, _al.reason, _al.event_time)
                .where(_al.rule == rule.name, _al.status == "queued").order_by(_al.id)
            ).mappings().all()
            if not rows:
                return 0
            ids = [r["id"] for r in rows]
            conn.execute(t.alert_log.update().where(_al.id.in_(ids)).values(status="digesting"))
            marker_id = insert_id(conn, t.alert_log, created=now, rule=rule.name,
                                  rate_key=marker, profile="*", category=None, url="",
                                  event_time=now, status="pending")
        events = [{"profile": r["profile"], "category": r["category"], "url": r["url"],
                   "time": _iso(r["event_time"]), "reason": r["reason"]} for r in rows]
        body = "kidgate daily safeguarding digest\n\n" + "\n".join(
            f"{e['time']}  {e['profile']}  {e['category']}  {e['url']}  ({e['reason']})"
            for e in events) + _FOOTER
        ok = self._deliver(rule, marker_id, f"kidgate daily digest: {len(events)} event(s)",
                           body, {"kind": "kidgate.digest", "rule": rule.name, "events": events})
        with self.store.transaction() as conn:
            conn.execute(t.alert_log.update().where(_al.id.in_(ids)).values(
                status="digested" if ok else "queued"))
        return 1 if ok else 0


    @staticmethod
    def _requeue_interrupted(conn: sa.Connection, rule: AlertRule, marker: str,
                             now: float) -> None:
        """Events of a digest that never finished (the process died while sending) go back
        to the queue, so the next digest carries them instead of losing them."""
        pending = conn.execute(sa.select(_al.id, _al.created).where(
            _al.rate_key == marker, _al.status == "pending")).all()
        if not pending or any(created > now - _PENDING_STALE for _, created in pending):
            return  # nothing interrupted, or a digest still being sent right now
        conn.execute(t.alert_log.update().where(_al.rule == rule.name,
                                                _al.status == "digesting").values(status="queued"))
        conn.execute(t.alert_log.update().where(_al.id.in_([i for i, _ in pending]))
                     .values(status="failed", error="interrupted"))


def _claimed(now: float) -> sa.ColumnElement[bool]:
    """Rows that hold a rule's slot: sent, or being sent (a claim not yet stale)."""
    return sa.or_(_al.status == "sent",
                  sa.and_(_al.status == "pending", _al.created > now - _PENDING_STALE))


def _suppressed_since(conn: sa.Connection, key: str, last: float | None) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(t.alert_log).where(
        _al.rate_key == key, _al.status == "suppressed", _al.created > (last or 0))).scalar_one())


_DECISION_TEXT = {"approve_1h": "Allow this page for 1 hour",
                  "approve_1d": "Allow this page for 1 day",
                  "approve_always": "Always allow the whole site {host}",
                  "deny": "Say no"}


def _request_body(facts: Mapping[str, object], links: Mapping[str, str],
                  suppressed: int) -> str:
    """The e-mail a parent reads: who asked, for what, why it was blocked, and the links."""
    lines = [f"{facts['profile']} asks for access to a blocked page.", "",
             f"Profile: {facts['profile']}", f"Site: {facts['url']}",
             f"Blocked as: {facts['category'] or 'no category (a rule of the profile)'}"
             + (f" ({facts['reason']})" if facts["reason"] else ""),
             f"Time: {facts['time']}"]
    if facts["message"]:
        lines.append(f"Message from {facts['profile']}: {facts['message']}")
    lines.append("")
    if links:
        lines.append("Decide with one click (each link opens a page that asks you to confirm; "
                     "the links work once, for 7 days, from a device that uses kidgate):")
        lines += [f"  {_DECISION_TEXT[d].format(host=facts['host'])}: {url}"
                  for d, url in links.items()]
        lines.append("")
    lines.append(f"Or on the kidgate computer: kidgate requests approve {facts['request_id']} "
                 f"--for 1h   /   kidgate requests deny {facts['request_id']}")
    if suppressed:
        lines.append(f"{suppressed} more request(s) from this profile were not sent separately "
                     "(limit per hour); see: kidgate requests list")
    return "kidgate: request for access\n\n" + "\n".join(lines) + "\n"


_FOOTER = ("\n\nOnly the address was recorded; kidgate keeps no page content. Do not open the "
           "address on a shared screen; if it may be illegal, report it to the hotline.\n")
