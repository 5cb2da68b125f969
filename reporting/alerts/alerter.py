"""The alerter: matches events against the rules, and delivers from a worker thread.

The rate limit (one alert per rule, profile and category per ``min_interval``) is kept in the
database, so it holds across proxy workers; events inside the interval are logged as
suppressed and counted in the next alert.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from reporting.alerts import messages
from reporting.alerts.config import AlertConfig, AlertRule
from reporting.alerts.events import (AccessRequestEvent, AlertEvent, alert_facts, clean,
                                     iso_time, request_facts)
from reporting.alerts.transport import post_webhook, send_mail
from reporting.links import decision_links
from reporting.store import Store, insert_id
from reporting.tokens import Signer
from storage import tables as t

log = logging.getLogger("reporting.alerts")

_PENDING_STALE = 300.0
_al = t.alert_log.c
_HOUR = 3600.0
_Item = tuple[AlertRule, AlertEvent | AccessRequestEvent]


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
        facts = alert_facts(event)
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
        message = messages.alert(facts, suppressed, self.config.language or "en")
        self._deliver(rule, row_id, message, payload)

    def _handle_request(self, rule: AlertRule, event: AccessRequestEvent) -> None:
        facts = request_facts(event)
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
        # In the language of the decision pages the links open, unless the rules name one.
        language = self.config.language or event.language
        self._deliver(rule, row_id, messages.access_request(facts, links, suppressed, language),
                      payload)

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

    def _deliver(self, rule: AlertRule, row_id: int, message: messages.Message,
                 payload: Mapping[str, object]) -> bool:
        errors, channels = [], []
        if rule.email and self.config.smtp is not None:
            channels.append("email")
            try:
                send_mail(self.config.smtp, rule.email, message)
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
                error=clean("; ".join(errors), 500)))
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
                   "time": iso_time(r["event_time"]), "reason": r["reason"]} for r in rows]
        ok = self._deliver(rule, marker_id, messages.digest(events, self.config.language or "en"),
                           {"kind": "kidgate.digest", "rule": rule.name, "events": events})
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
