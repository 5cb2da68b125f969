"""Pruning the reporting database: what is still needed stays (unexpired token nonces, active
approvals and their requests, pending requests, undelivered digest events, the rate limit's
last alert, reports), the rest goes; on a timer thread and from ``kidgate prune``."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time

import pytest

from kidgate.decisionlog import LogFiles
from reporting import access
from reporting.alerts import Alerter
from reporting.store import NONCE_GRACE, Pruner, Store, insert_id
from reporting.tokens import Signer, TokenError
from storage import tables as t
from tests.reporting.conftest import run_cli as _cli

DAY = 86_400.0
NOW = time.time()


def ids(store: Store, table: str) -> set[int]:
    return {r[0] for r in store.query(f"SELECT id FROM {table}")}  # noqa: S608 - test tables


def alert(store: Store, *, age_days: float, status: str, key: str = "r|ana|self_harm",
          rule: str = "r") -> int:
    created = NOW - age_days * DAY
    with store.transaction() as conn:
        return insert_id(conn, t.alert_log, created=created, rule=rule, rate_key=key,
                         profile="ana", category="self_harm", url="https://x.example/",
                         event_time=created, status=status)


# -- used tokens -----------------------------------------------------------------------------

def test_nonces_are_kept_while_a_token_could_be_replayed(store):
    store.consume_nonce("valid", NOW + 3600, now=NOW)  # unexpired
    store.consume_nonce("just-expired", NOW - 60, now=NOW)  # refused as expired, clock margin
    store.consume_nonce("long-expired", NOW - NONCE_GRACE - 60, now=NOW - 2 * NONCE_GRACE)
    pruned = store.prune(NOW, keep_days=0)
    left = {r.nonce for r in store.query("SELECT nonce FROM used_tokens")}
    assert left == {"valid", "just-expired"} and pruned.used_tokens == 1
    assert not store.consume_nonce("valid", NOW + 3600, now=NOW)  # still a replay


def test_a_used_token_stays_refused_after_pruning(store):
    signer = Signer(b"k" * 32)
    token = signer.issue("report", url="https://bad.example/", category="sexual", profile="ana")
    signer.verify(token, "report", replay=store)
    for _ in range(3):
        store.prune(keep_days=0)
    with pytest.raises(TokenError) as exc:
        signer.verify(token, "report", replay=store)
    assert exc.value.kind == "replayed"


# -- approvals and access requests -----------------------------------------------------------

def _request(store: Store, url: str, *, days_ago: float) -> int:
    return access.request_access(store, profile="ana", url=url, category="social",
                                 now=NOW - days_ago * DAY).id


def test_active_approvals_and_their_requests_stay(store):
    always = _request(store, "https://always.example/", days_ago=400)
    access.approve(store, always, "always", "mum", now=NOW - 400 * DAY)
    fresh = _request(store, "https://fresh.example/", days_ago=0)
    access.approve(store, fresh, "1d", "mum", now=NOW)
    old = _request(store, "https://old.example/", days_ago=40)
    access.approve(store, old, "1h", "mum", now=NOW - 40 * DAY)
    recent = _request(store, "https://recent.example/", days_ago=3)
    access.approve(store, recent, "15m", "mum", now=NOW - 3 * DAY)
    revoked = _request(store, "https://revoked.example/", days_ago=60)
    access.revoke(store, access.approve(store, revoked, "always", "mum", now=NOW - 60 * DAY).id)
    denied_old = _request(store, "https://denied-old.example/", days_ago=45)
    access.deny(store, denied_old, "dad", now=NOW - 45 * DAY)
    denied_new = _request(store, "https://denied-new.example/", days_ago=5)
    access.deny(store, denied_new, "dad", now=NOW - 5 * DAY)
    pending = _request(store, "https://pending.example/", days_ago=300)

    pruned = store.prune(NOW, keep_days=30)

    assert ids(store, "access_requests") == {always, fresh, recent, denied_new, pending}
    kept = {r.request_id for r in store.query("SELECT request_id FROM approvals")}
    assert kept == {always, fresh, recent}
    assert (pruned.approvals, pruned.access_requests) == (2, 3)
    index = access.ApprovalIndex(store, check_interval=0)
    assert index.is_approved("ana", "https://always.example/") is not None
    assert index.is_approved("ana", "https://fresh.example/") is not None
    index.close()


def test_zero_retention_removes_answered_requests_but_never_an_active_approval(store):
    active = _request(store, "https://active.example/", days_ago=0)
    access.approve(store, active, "1d", "mum", now=NOW)
    ended = _request(store, "https://ended.example/", days_ago=0)
    access.approve(store, ended, "15m", "mum", now=NOW - 3600)
    denied = _request(store, "https://denied.example/", days_ago=0)
    access.deny(store, denied, "dad", now=NOW - 60)
    pending = _request(store, "https://pending.example/", days_ago=0)
    store.prune(NOW, keep_days=0)
    assert ids(store, "access_requests") == {active, pending}
    assert {r.request_id for r in store.query("SELECT request_id FROM approvals")} == {active}


def test_reports_to_hotlines_are_never_pruned(store):
    first = store.add_report(url="https://bad.example/", category="csam", profile="ana",
                             reason="hotline list", hotline_country="RO", now=NOW - 900 * DAY)
    store.prune(NOW, keep_days=0)
    assert ids(store, "reports") == {first}


# -- alert log -------------------------------------------------------------------------------

def test_alert_log_keeps_what_rate_limit_and_digest_need(store):
    old_sent = alert(store, age_days=50, status="sent")
    last_sent = alert(store, age_days=40, status="sent")  # the rate limit reads this one
    old_suppressed = alert(store, age_days=35, status="suppressed")
    old_failed = alert(store, age_days=31, status="failed")
    old_pending = alert(store, age_days=31, status="pending")
    undelivered = alert(store, age_days=90, status="queued", key="digest-rule|ana|self_harm",
                        rule="digest-rule")
    digesting = alert(store, age_days=90, status="digesting", rule="digest-rule")
    marker_old = alert(store, age_days=60, status="sent", key="digest:digest-rule")
    marker = alert(store, age_days=45, status="sent", key="digest:digest-rule")
    recent = alert(store, age_days=2, status="suppressed")
    pruned = store.prune(NOW, keep_days=30)
    assert ids(store, "alert_log") == {last_sent, undelivered, digesting, marker, recent}
    assert pruned.alert_log == 5
    assert {old_sent, old_suppressed, old_failed, old_pending, marker_old}.isdisjoint(
        ids(store, "alert_log"))


def test_alert_log_keeps_a_day_even_with_zero_retention(store):
    hour = alert(store, age_days=1 / 24, status="suppressed")
    older = alert(store, age_days=1.5, status="suppressed")
    store.prune(NOW, keep_days=0)
    assert ids(store, "alert_log") == {hour}
    assert older not in ids(store, "alert_log")


def test_rate_limit_still_holds_after_pruning(store, webhook_server):
    """A rule with a 60-day interval sent 40 days ago: after a 30-day prune the next event is
    still suppressed, not sent."""
    hook, hooks = webhook_server
    config = {"rules": [{"name": "slow", "profiles": ["*"], "categories": ["self_harm"],
                         "webhook": hook, "min_interval": "60d"}]}
    alert(store, age_days=40, status="sent", key="slow|ana|self_harm", rule="slow")
    alert(store, age_days=41, status="sent", key="slow|ana|self_harm", rule="slow")
    store.prune(keep_days=30)
    alerter = Alerter(config, store)
    alerter.notify({"profile": "ana", "url": "https://x.example/", "category": "self_harm",
                    "reason": "r", "time": time.time()})
    assert alerter.wait_idle(10)
    alerter.close()
    assert hooks.posts == []
    statuses = [r.status for r in store.query("SELECT status FROM alert_log ORDER BY id")]
    assert statuses == ["sent", "suppressed"]


def test_negative_retention_is_refused(store):
    with pytest.raises(ValueError):
        store.prune(keep_days=-1)


# -- off the event loop ----------------------------------------------------------------------

def test_pruner_runs_on_its_own_thread_and_survives_errors(tmp_path, caplog):
    store = Store(tmp_path / "kidgate.db")
    store.consume_nonce("stale", NOW - 3 * DAY, now=NOW - 4 * DAY)
    threads: list[str] = []
    answers = iter([RuntimeError("config gone"), 30.0, 30.0, 30.0, 30.0])

    def keep_days() -> float:
        threads.append(threading.current_thread().name)
        answer = next(answers, 30.0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    caplog.set_level(logging.WARNING, logger="kidgate")
    pruner = Pruner(store, keep_days, every=0.02)
    deadline = time.monotonic() + 5
    while pruner.runs < 3:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    pruner.close()
    assert set(threads) == {"kidgate-prune"}
    assert any("cannot prune" in r.getMessage() and "config gone" in r.getMessage()
               for r in caplog.records)
    assert store.query("SELECT count(*) FROM used_tokens")[0][0] == 0
    assert pruner.last is not None


def test_pruner_waits_for_a_locked_database_without_failing(tmp_path):
    """Another process holds the write lock for a moment: prune waits (busy_timeout), then
    deletes; nothing is raised anywhere."""
    db = tmp_path / "kidgate.db"
    store = Store(db)
    store.consume_nonce("stale", NOW - 3 * DAY, now=NOW - 4 * DAY)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys, time\n"
         "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
         "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(1)\n"
         "c.execute('COMMIT')", str(db)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    pruner = Pruner(Store(db), lambda: 30.0, every=60)
    deadline = time.monotonic() + 10
    while pruner.runs < 1:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    pruner.close()
    holder.wait(10)
    assert pruner.last is not None and pruner.last.used_tokens == 1


# -- kidgate prune ---------------------------------------------------------------------------

def test_prune_command_prunes_database_and_old_log_files(tmp_path):
    import datetime as dt
    data = tmp_path / "data"
    store = Store(data / "kidgate.db")
    store.consume_nonce("live", NOW + 600, now=NOW)
    store.consume_nonce("stale", NOW - 3 * DAY, now=NOW - 4 * DAY)  # after: no inline clean-up
    denied = _request(store, "https://denied.example/", days_ago=20)
    access.deny(store, denied, "dad", now=NOW - 20 * DAY)
    store.close()
    files = LogFiles(data / "decisions.jsonl")
    today = dt.date.today()
    old = files.name_for(today - dt.timedelta(days=12))
    new = files.name_for(today - dt.timedelta(days=3))
    for p in (old, new, files.current):
        p.write_text("{}\n")
    config = tmp_path / "kidgate.yaml"
    config.write_text("profiles: {child: {age: 10}}\nlog: {retention_days: 7}\n")

    out = _cli("--data-dir", str(data), "prune", "--config", str(config))
    assert out.returncode == 0, out.stderr
    assert "1 used token(s)" in out.stdout and "1 answered access request(s)" in out.stdout
    assert "removed 1 decision log file(s)" in out.stdout
    assert not old.exists() and new.exists() and files.current.exists()
    store = Store(data / "kidgate.db")
    assert [r.nonce for r in store.query("SELECT nonce FROM used_tokens")] == ["live"]

    config.write_text("profiles: {child: {age: 10}}\nlog: {retention_days: 0}\n")
    out = _cli("--data-dir", str(data), "prune", "--config", str(config))
    assert out.returncode == 0 and "no decision log is kept" in out.stdout
    assert [n for n in os.listdir(data) if n.startswith("decisions")] == []


def test_prune_command_reports_a_bad_config_and_an_undeletable_file(tmp_path):
    import datetime as dt
    config = tmp_path / "kidgate.yaml"
    config.write_text("profiles: {child: {age: 10}}\nlog:\n  retention_days: -3\n")
    out = _cli("--data-dir", str(tmp_path), "prune", "--config", str(config))
    assert out.returncode == 2 and f"{config}:3: log.retention_days:" in out.stderr

    config.write_text("profiles: {child: {age: 10}}\nlog: {retention_days: 7}\n")
    stuck = LogFiles(tmp_path / "decisions.jsonl").name_for(dt.date.today() - dt.timedelta(40))
    stuck.mkdir()
    (stuck / "x").write_text("x")
    out = _cli("--data-dir", str(tmp_path), "prune", "--config", str(config))
    assert out.returncode == 1 and f"cannot delete {stuck}" in out.stderr
    assert "no database" in out.stdout


def test_the_proxy_prunes_its_database_in_the_background(tmp_path):
    """The proxy's runtime starts the pruner with the reporting side, on its own thread,
    with the configuration's retention; closing the runtime stops it."""
    from proxy_addons.runtime import Runtime

    cfg = tmp_path / "kidgate.yaml"
    cfg.write_text("profiles: {child: {age: 10}}\nlog: {retention_days: 10}\n")
    store = Store(tmp_path / "kidgate.db")
    kept = _request(store, "https://kept.example/", days_ago=5)
    access.deny(store, kept, "dad", now=NOW - 5 * DAY)
    gone = _request(store, "https://gone.example/", days_ago=15)
    access.deny(store, gone, "dad", now=NOW - 15 * DAY)
    store.close()
    rt = Runtime.start(cfg, data_dir=tmp_path, with_classifier=False, site_labels=False)
    try:
        pruner = rt.reporting.pruner
        assert pruner is not None
        deadline = time.monotonic() + 5
        while pruner.runs < 1:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert ids(Store(tmp_path / "kidgate.db"), "access_requests") == {kept}
    finally:
        rt.close()
    assert not pruner._thread.is_alive()
