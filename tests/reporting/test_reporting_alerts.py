"""Alerts: config validation, delivery to a local SMTP server and webhook, rate limit, digest."""

from __future__ import annotations

import email
import email.policy
import time

import pytest

from reporting.alerts import AlertConfig, AlertEvent, Alerter
from storage import tables as t
from tests.reporting.conftest import alert_config, mail_part


def _config(smtp_port: int | None, hook: str | None, **rule: object) -> dict[str, object]:
    return alert_config(smtp_port, hook, {"profiles": ["*"], "categories": ["self_harm"],
                                          "min_interval": "10m", **rule},
                        "kidgate@school.example", "lead@school.example")


def _event(profile: str = "ana", category: str = "self_harm", url: str = "https://x.example/a",
           **extra: object) -> dict[str, object]:
    return {"profile": profile, "url": url, "category": category, "reason": "classifier 0.91",
            "time": time.time(), **extra}


def test_email_and_webhook_delivered_with_only_the_facts(store, smtp_server, webhook_server):
    port, inbox = smtp_server
    hook, hooks = webhook_server
    alerter = Alerter(_config(port, hook), store)
    assert alerter.notify(_event(page_text="secret page words")) == 1
    assert alerter.wait_idle(10)
    assert len(inbox.messages) == 1
    sender, rcpts, raw = inbox.messages[0]
    assert sender == "kidgate@school.example" and rcpts == ["lead@school.example"]
    msg = email.message_from_bytes(raw)
    assert "content about hurting yourself" in msg["Subject"] and "ana" in msg["Subject"]
    body = mail_part(raw)
    assert "https://x.example/a" in body and "secret page words" not in body
    assert len(hooks.posts) == 1
    headers, payload = hooks.posts[0]
    assert headers["Content-Type"] == "application/json"
    assert set(payload) == {"kind", "rule", "profile", "category", "url", "time", "reason",
                            "suppressed_since_last"}
    assert payload["url"] == "https://x.example/a" and payload["category"] == "self_harm"
    assert [r.status for r in store.query("SELECT status FROM alert_log")] == ["sent"]
    alerter.close()


def test_rate_limit_holds_per_profile_and_category(store, smtp_server, webhook_server):
    port, inbox = smtp_server
    hook, hooks = webhook_server
    alerter = Alerter(_config(port, hook), store)
    for i in range(6):
        alerter.notify(_event(url=f"https://x.example/{i}"))
    alerter.notify(_event(profile="ben"))
    alerter.notify(_event(category="gambling"))  # no rule for it
    assert alerter.wait_idle(10)
    assert len(inbox.messages) == 2 and len(hooks.posts) == 2
    assert sorted(p["profile"] for _, p in hooks.posts) == ["ana", "ben"]
    statuses = [r[0] for r in store.query("SELECT status FROM alert_log ORDER BY id")]
    assert statuses.count("suppressed") == 5 and statuses.count("sent") == 2
    alerter.close()


def test_rate_limit_is_shared_through_the_database(store, tmp_path, webhook_server):
    """Two alerters (two proxy workers) on one database send one alert, not two."""
    from reporting.store import Store
    hook, hooks = webhook_server
    a = Alerter(_config(None, hook), store)
    b = Alerter(_config(None, hook), Store(store.url))
    a.notify(_event())
    assert a.wait_idle(10)
    b.notify(_event())
    assert b.wait_idle(10)
    assert len(hooks.posts) == 1
    a.close()
    b.close()


def test_suppressed_count_reaches_the_next_alert(store, webhook_server):
    hook, hooks = webhook_server
    alerter = Alerter(_config(None, hook, min_interval="1s"), store)
    for _ in range(3):
        alerter.notify(_event())
    assert alerter.wait_idle(10)
    time.sleep(1.1)
    alerter.notify(_event())
    assert alerter.wait_idle(10)
    assert [p["suppressed_since_last"] for _, p in hooks.posts] == [0, 2]
    alerter.close()


def test_failed_delivery_is_logged_and_does_not_use_the_slot(store, webhook_server):
    hook, hooks = webhook_server
    hooks.status = 500
    alerter = Alerter(_config(None, hook), store)
    alerter.notify(_event())
    assert alerter.wait_idle(10)
    hooks.status = 200
    alerter.notify(_event())
    assert alerter.wait_idle(10)
    rows = store.query("SELECT status, error FROM alert_log ORDER BY id")
    assert [r.status for r in rows] == ["failed", "sent"]
    assert "500" in rows[0].error
    alerter.close()


def _digest_day(store, smtp_port: int, events: int) -> tuple[Alerter, float]:
    """An alerter with a 18:00 digest and ``events`` events queued at 10:00; returns it and
    a time at 19:00 the same day."""
    import datetime as dt
    day = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    morning, evening = (day + dt.timedelta(hours=10)).timestamp(), (day + dt.timedelta(hours=19)).timestamp()
    alerter = Alerter({**_config(smtp_port, None, digest=True), "digest_time": "18:00"}, store,
                      clock=lambda: morning)
    for i in range(events):
        alerter.notify(_event(url=f"https://x.example/{i}"))
    assert alerter.wait_idle(10)
    return alerter, evening


def test_daily_digest_collects_events_into_one_message(store, smtp_server):
    port, inbox = smtp_server
    alerter, evening = _digest_day(store, port, 3)
    assert inbox.messages == []  # queued until 18:00
    assert alerter.send_digests(due_only=True, now=evening) == 1
    assert len(inbox.messages) == 1
    body = mail_part(inbox.messages[0][2])
    assert all(f"https://x.example/{i}" in body for i in range(3))
    assert alerter.send_digests(now=evening) == 0  # nothing left
    alerter.notify(_event())
    assert alerter.wait_idle(10)
    assert alerter.send_digests(due_only=True, now=evening + 60) == 0  # one digest a day
    assert alerter.send_digests(due_only=True, now=evening + 86400) == 1  # the next day
    alerter.close()


def test_notify_does_not_block_on_a_dead_mail_server(store):
    from tests.reporting.conftest import free_port
    cfg = _config(free_port(), None)
    cfg["smtp"]["timeout"] = 2  # type: ignore[index]
    alerter = Alerter(cfg, store, queue_size=5)
    start = time.monotonic()
    for _ in range(50):
        alerter.notify(_event())
    assert time.monotonic() - start < 0.5
    assert alerter.dropped > 0
    alerter.close(0.1)


def test_header_injection_in_email_fields_is_refused():
    base = {"host": "127.0.0.1", "port": 25, "from": "k@school.example"}
    rule = {"categories": ["self_harm"], "email": ["lead@school.example"]}
    for bad in ["lead@school.example\r\nBcc: x@evil.example", "a@b.example, c@d.example",
                "Lead <lead@school.example>", "lead@school.example\n"]:
        with pytest.raises(ValueError, match=r"alerts\.rules\[0\]\.email"):
            AlertConfig.from_mapping({"smtp": base, "rules": [{**rule, "email": [bad]}]})
    with pytest.raises(ValueError, match=r"alerts\.smtp\.from"):
        AlertConfig.from_mapping({"smtp": {**base, "from": "k@x.example\r\nBcc: y@z.example"},
                                  "rules": [rule]})


def test_injected_newlines_in_event_fields_do_not_reach_headers(store, smtp_server):
    port, inbox = smtp_server
    alerter = Alerter(_config(port, None), store)
    alerter.notify(_event(profile="ana\r\nBcc: spy@evil.example", reason="x\r\nBcc: spy@evil"))
    assert alerter.wait_idle(10)
    _, rcpts, raw = inbox.messages[0]
    assert rcpts == ["lead@school.example"]
    # A long subject is folded onto continuation lines; the parser joins them again.
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Bcc"] is None and "\n" not in msg["Subject"] and "Bcc" in msg["Subject"]
    alerter.close()


@pytest.mark.parametrize("cfg, key", [
    ({"rules": [{"categories": ["selfharm"], "webhook": "http://h/"}]}, r"rules\[0\]\.categories"),
    ({"rules": [{"categories": ["self_harm"]}]}, r"rules\[0\]"),
    ({"rules": [{"categories": ["self_harm"], "webhook": "ftp://h/"}]}, r"rules\[0\]\.webhook"),
    ({"rules": [{"categories": ["self_harm"], "webhook": "http://h/", "min_interval": "soon"}]},
     r"rules\[0\]\.min_interval"),
    ({"rules": [{"categories": ["self_harm"], "email": ["a@b.example"]}]}, r"rules\[0\]\.email"),
    ({"smtp": {"host": "h", "from": "a@b.example", "port": "25"}}, r"smtp\.port"),
    ({"smtp": {"host": "h", "from": "a@b.example", "username": "u"}}, r"smtp\.username"),
    ({"rules": [], "colour": 1}, r"alerts: unknown key"),
    ({"digest_timezone": "Mars/Base"}, r"digest_timezone"),
    ({"language": "fr"}, r"alerts\.language: must be one of en, ro"),
])
def test_config_errors_name_the_key(cfg, key):
    with pytest.raises(ValueError, match=key):
        AlertConfig.from_mapping(cfg)


def test_helpline_for_self_harm_is_configurable(store):
    assert Alerter({}, store).helpline_for("self_harm") == "116 111"
    assert Alerter({"helpline": "0800 1111"}, store).helpline_for("self_harm") == "0800 1111"
    assert Alerter({}, store).helpline_for("sexual") is None


def test_event_from_decision_log_shapes():
    e = AlertEvent.from_decision({"profile_name": "ana", "url": "https://x.example/",
                                  "verdict": {"category": "self_harm",
                                              "reasons": [{"detail": "list ut1"}]},
                                  "ts": "2026-01-02T03:04:05Z"})
    assert (e.profile, e.category, e.reason) == ("ana", "self_harm", "list ut1")
    assert e.time == 1767323045.0


def test_from_verdict_and_from_config_as_the_proxy_calls_them(store, webhook_server):
    from policies.core import Reason, Verdict
    from reporting.alerts import DecisionEvent
    hook, hooks = webhook_server
    verdict = Verdict("block", "self_harm", 18, (Reason(
        "classifier", "self_harm", "self_harm (score 0.93); features: sad, alone, goodbye"),))
    alerter = Alerter.from_config(_config(None, hook), store=store)
    alerter.notify(DecisionEvent.from_verdict(verdict, url="https://x.example/", profile="ana",
                                              client="10.0.0.5"))
    assert alerter.wait_idle(10)
    [(_, payload)] = hooks.posts
    assert payload["reason"] == "self_harm (score 0.93)"  # page words never leave
    assert "10.0.0.5" not in str(payload)
    alerter.close()


def test_worker_sends_a_due_digest_without_new_events(store, smtp_server):
    import datetime as dt
    day = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    port, inbox = smtp_server
    cfg = {**_config(port, None, digest=True), "digest_time": "18:00"}
    before = Alerter(cfg, store, clock=lambda: (day + dt.timedelta(hours=9)).timestamp())
    before.notify(_event())
    assert before.wait_idle(10)
    before.close()
    assert inbox.messages == []
    after = Alerter(cfg, store, tick=0.05,
                    clock=lambda: (day + dt.timedelta(hours=18, minutes=1)).timestamp())
    assert inbox.event.wait(10) and len(inbox.messages) == 1
    after.close()


def test_digest_interrupted_mid_send_is_sent_next_time(store, smtp_server):
    """A process that dies while sending a digest leaves its events 'digesting': the next
    digest must carry them, not lose them."""
    port, inbox = smtp_server
    alerter, evening = _digest_day(store, port, 2)
    # What _send_digest's first transaction leaves behind when the process dies after it.
    rule = store.query("SELECT rule FROM alert_log WHERE status = 'queued' LIMIT 1")[0][0]
    with store.transaction() as conn:
        conn.execute(t.alert_log.update().where(t.alert_log.c.status == "queued")
                     .values(status="digesting"))
        conn.execute(t.alert_log.insert().values(
            created=evening - 3600, rule=rule, rate_key=f"digest:{rule}", profile="*",
            category=None, url="", event_time=evening - 3600, status="pending"))
    assert alerter.send_digests(now=evening) == 1
    body = mail_part(inbox.messages[0][2])
    assert "https://x.example/0" in body and "https://x.example/1" in body
    statuses = [r[0] for r in store.query("SELECT status FROM alert_log ORDER BY id")]
    assert "digesting" not in statuses and "failed" in statuses  # the dead digest's marker
    alerter.close()


def test_mail_has_text_and_html_in_the_configured_language(store, smtp_server):
    port, inbox = smtp_server
    cfg = {**_config(port, None), "language": "ro"}
    alerter = Alerter(cfg, store)
    assert alerter.notify(_event(url="https://x.example/<script>?a=1&b=2")) == 1
    assert alerter.wait_idle(10)
    [(_, _, raw)] = inbox.messages
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    # decoded from RFC 2047; the category in words, in the reader's language
    assert msg["Subject"] == "Alertă kidgate: conținut despre a-ți face rău (ana)"
    text, html = mail_part(raw), mail_part(raw, "html")
    assert "kidgate: alertă de protecție a copiilor" in text and "Profil: ana" in text
    assert "Pagina: https://x.example/<script>?a=1&b=2" in text  # plain text: as it is
    assert '<html lang="ro">' in html and "<script>" not in html
    assert "https://x.example/&lt;script&gt;?a=1&amp;b=2" in html
    alerter.close()
