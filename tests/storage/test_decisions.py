"""The decision log as database rows (``database.decisions``), on SQLite and on a real
PostgreSQL server: written in batches by the log's own thread, retention applied, a failing
database waited for, and read back by ``kidgate stats`` and the admin app as the files are."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from kidgate import stats
from kidgate.decisionlog import DecisionLog, record
from policies.core import Reason, Verdict
from policies.retention import Retention
from storage import Database
from storage import tables as t
from storage.decisions import DecisionRows, without_queries
from tests.admin.helpers import Env, decision, make_env


class CountingRows(DecisionRows):
    """Real rows, with a note of each batch and of the thread that wrote it."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.batches: list[tuple[str, int]] = []

    def insert(self, records):  # type: ignore[no-untyped-def]
        super().insert(records)
        self.batches.append((threading.current_thread().name, len(records)))


def _rows(db: Database) -> list[sa.RowMapping]:
    with db.engine.connect() as conn:
        return list(conn.execute(sa.select(t.decisions).order_by(t.decisions.c.id)).mappings())


@pytest.fixture
def db(database_url: str) -> Database:
    return Database.shared(database_url)


def _block(host: str, detail: str = "list gambling") -> Verdict:
    return Verdict("block", "gambling", 18, (Reason("list", "gambling", detail, 18),))


def test_records_become_rows_in_batches_off_the_callers_thread(db: Database, tmp_path: Path):
    rows = CountingRows(db, proxy="gw-1")
    log = DecisionLog(tmp_path / "decisions.jsonl", rows=rows, files=False)
    for i in range(500):
        log.write(record(client="10.0.0.2", profile="kid", host=f"h{i}.test",
                         verdict=_block(f"h{i}.test"), phase="request", method="GET"))
    csam = Verdict("block", "csam", 1000, (Reason("list", "csam", "hotline entry x", 1000),))
    log.write(record(client="10.0.0.2", profile="kid", host="secret.example", verdict=csam,
                     phase="request"))
    log.close(timeout=10)
    got = _rows(db)
    assert len(got) == 501 and log.lost == 0 and log.dropped == 0
    assert [r["host"] for r in got[:3]] == ["h0.test", "h1.test", "h2.test"]
    assert got[0]["proxy"] == "gw-1" and got[0]["action"] == "block"
    assert json.loads(got[0]["sources"]) == ["list"]
    assert "secret" not in json.dumps([dict(r) for r in got[-1:]])  # hashed, as in the file
    assert got[-1]["host"].startswith("sha256:")
    assert {name for name, _ in rows.batches} == {"kidgate-decision-log"}
    assert len(rows.batches) < 501 / 10  # batched, not a transaction per record
    assert not (tmp_path / "decisions.jsonl").exists()  # database only: no file


def test_both_writes_the_file_and_the_rows_and_stats_agree(db: Database, tmp_path: Path):
    log = DecisionLog(tmp_path / "decisions.jsonl", rows=DecisionRows(db), files=True)
    now = time.time()
    for i in range(60):
        v = _block(f"bet{i % 7}.test") if i % 3 else Verdict("allow")
        log.write(record(client=f"10.0.0.{i % 4}", profile=("ana", "ben")[i % 2],
                         host=f"bet{i % 7}.test", verdict=v, phase="request", now=now - i))
    log.close(timeout=10)
    from_files = stats.collect(stats.log_files(tmp_path), now=now)
    from_rows = stats.collect(stats.log_source(tmp_path, db), now=now)
    assert stats.log_source(tmp_path, db) == stats.DatabaseLog(db)
    for summary in (from_files, from_rows):
        summary.pop("input")
    assert from_rows == from_files and from_rows["totals"]["requests"] == 60


def test_query_strings_can_be_left_out(db: Database, tmp_path: Path):
    assert without_queries("approved (URL https://g.example/p?id=7&x=1 x)") == \
        "approved (URL https://g.example/p x)"
    log = DecisionLog(tmp_path / "d.jsonl", rows=DecisionRows(db, drop_queries=True),
                      files=False)
    v = Verdict("allow", None, None, (Reason("policy", None,
                                             "access approved (URL https://g.example/p?id=7)",
                                             None),))
    log.write(record(client="c", profile="p", host="g.example", verdict=v, phase="request"))
    log.close(timeout=10)
    [row] = _rows(db)
    assert json.loads(row["reasons"]) == ["access approved (URL https://g.example/p)"]


def test_retention_deletes_old_rows_and_zero_keeps_none(db: Database, tmp_path: Path):
    now = time.time()
    old, recent = now - 40 * 86400, now - 3600
    log = DecisionLog(tmp_path / "d.jsonl", rows=DecisionRows(db), files=False,
                      retention=Retention(days=30), tick=0.05)
    for ts in (old, recent):
        log.write(record(client="c", profile="p", host="h.test", verdict=Verdict("allow"),
                         phase="request", now=ts))
    deadline = time.monotonic() + 10
    while len(_rows(db)) != 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    log.apply(Retention(days=7))  # a reload: the retention pass runs at once
    while [r["ts"] for r in _rows(db)] != [round(recent, 3)]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    log.apply(Retention(days=0))
    log.write(record(client="c", profile="p", host="h.test", verdict=Verdict("allow"),
                     phase="request"))
    while _rows(db):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    log.close(timeout=10)
    assert _rows(db) == []


def test_a_locked_database_delays_rows_and_loses_none(tmp_path: Path, monkeypatch, caplog):
    """Another program holds the SQLite database: the batch waits (logged once) and is
    written when the lock goes; the proxy's callers never wait."""
    import logging
    import sqlite3
    from storage import db as storage_db
    monkeypatch.setattr(storage_db, "BUSY_TIMEOUT_MS", 100)
    path = tmp_path / "kidgate.db"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    caplog.set_level(logging.WARNING, logger="kidgate")
    log = DecisionLog(tmp_path / "d.jsonl", rows=DecisionRows(db), files=False, tick=0.2)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        start = time.perf_counter()
        for i in range(200):
            log.write(record(client="c", profile="p", host=f"h{i}.test",
                             verdict=Verdict("allow"), phase="request"))
        assert time.perf_counter() - start < 1.0  # writing never waits for the database
        deadline = time.monotonic() + 10
        while not any("cannot write decisions" in m for m in caplog.messages):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    deadline = time.monotonic() + 15
    while len(_rows(db)) < 200:
        assert time.monotonic() < deadline, "rows not written after the lock went"
        time.sleep(0.1)
    log.close(timeout=10)
    assert len(_rows(db)) == 200 and log.lost == 0
    assert any("written to the database" in m and "again" in m for m in caplog.messages), caplog.messages
    db.dispose()


def test_the_admin_event_log_and_dashboard_read_the_rows(tmp_path: Path, database_url: str):
    """Rows written by two proxies show in one event log; this machine has no log file."""
    env: Env = make_env(tmp_path, database_url)
    for proxy, host in (("gw-1", "casino-one.test"), ("gw-2", "casino-two.test")):
        DecisionRows(env.db, proxy=proxy).insert([decision(host)])
    c = env.owner_client()
    page = c.get("/events")
    assert page.status_code == 200
    assert "casino-one.test" in page.text and "casino-two.test" in page.text
    assert not (env.data_dir / "decisions.jsonl").exists()
    exported = c.get("/events.csv").text
    assert "casino-one.test" in exported and "casino-two.test" in exported
    dash = c.get("/?period=24h")
    assert dash.status_code == 200 and "casino-two.test" in dash.text
    env.db.dispose()


def test_kidgate_stats_reads_a_database(db: Database, database_url: str, tmp_path: Path):
    import argparse
    import io
    DecisionRows(db).insert([decision("casino.test"), decision("tiktok.com", action="allow")])
    parser = argparse.ArgumentParser()
    stats.register(parser.add_subparsers())
    out = io.StringIO()
    args = parser.parse_args(["stats", "--database", database_url, "--json"])
    assert stats.cmd_stats(args, out) == 0
    summary = json.loads(out.getvalue())
    assert summary["totals"]["requests"] == 2 and summary["totals"]["blocked"] == 1
    bad = parser.parse_args(["stats", "--database", "postgresql+psycopg://x@127.0.0.1:1/x"])
    assert stats.cmd_stats(bad, io.StringIO()) == 2


def test_odd_records_are_stored_or_refused_alone(db: Database, tmp_path: Path):
    """A broken host name (lone surrogate, NUL) is stored escaped; a record the database
    refuses (an age beyond PostgreSQL's integer) is counted as lost without holding back the
    rest of its batch."""
    log = DecisionLog(tmp_path / "d.jsonl", rows=DecisionRows(db), files=False)
    for host in ("ok-1.test", "bad\udc80host.test", "nul\x00.test", "ok-2.test"):
        log.write(record(client="c", profile="p", host=host, verdict=Verdict("allow"),
                         phase="request"))
    huge = record(client="c", profile="p", host="huge.test", verdict=Verdict("allow"),
                  phase="request")
    log.write({**huge, "min_age": 2**40})
    log.write(record(client="c", profile="p", host="ok-3.test", verdict=Verdict("allow"),
                     phase="request"))
    log.close(timeout=10)
    hosts = [r["host"] for r in _rows(db)]
    assert hosts[:4] == ["ok-1.test", "bad\\udc80host.test", "nul\\x00.test", "ok-2.test"]
    assert hosts[-1] == "ok-3.test"
    refused = 1 if db.backend == "postgresql" else 0  # SQLite keeps 64-bit integers
    assert log.lost == refused and len(hosts) == 6 - refused


def _odd_rows(n: int, span: float = 3000) -> list[dict]:
    """Decisions of every kind, odd ones included: unknown categories and sources, a bad
    action, a time out of range, a hotline host."""
    import random
    rnd = random.Random(7)
    return [{"ts": 1_700_000_000.0 + rnd.uniform(0, span) if i != 5 else 12.0,
             "client": rnd.choice(["10.0.0.2", "10.0.0.3", "tablet"]),
             "profile": rnd.choice(["kid", "teen", "class5"]),
             "host": rnd.choice(["a.test", "b.test", "sha256:abc", "<b>c.test</b>"]),
             "phase": rnd.choice(["request", "response"]),
             "action": rnd.choice(["allow", "block", "block", "bogus" if i % 97 == 0 else "allow"]),
             "category": rnd.choice([None, "gambling", "hate", "self_harm", "csam", "not-ours"]),
             "sources": rnd.sample(["list", "label", "classifier", "schedule", "mystery"],
                                   rnd.randrange(0, 3)),
             "reasons": [f"reason {i}"]} for i in range(n)]


def test_the_event_log_pages_rows_in_the_database_as_the_reader_would(db: Database,
                                                                         tmp_path: Path):
    """A page and its count decided by the database (LIMIT/OFFSET, COUNT) are exactly the
    newest-first slice of what reading every row gives, for every filter and role limit."""
    from admin import events
    DecisionRows(db, proxy="gw").insert(_odd_rows(420))
    now = 1_700_003_000.0

    def filters(only_profiles=None, only_categories=None, **args):  # type: ignore[no-untyped-def]
        f = events.Filters.parse(args, now=now)
        assert not f.errors
        f.only_profiles, f.only_categories = only_profiles, only_categories
        return f
    cases = [filters(), filters(category="hate"), filters(category="uncategorised"),
             filters(action="block", source="list"), filters(source="classifier", profile="kid"),
             filters(client="tablet", since="2023-11-14T23:00:00+00:00"),
             filters(only_profiles=("kid", "class5")), filters(only_profiles=("kid",), profile="teen"),
             filters(only_profiles=()), filters(only_categories=events.SAFEGUARDING_CATEGORIES),
             filters(only_categories=events.SAFEGUARDING_CATEGORIES, category="gambling")]
    assert stats.log_source(tmp_path, db) == stats.DatabaseLog(db)
    for f in cases:
        streamed = list(events.iter_events(tmp_path, f, db))[::-1]
        for number in (1, 2, 5):
            got = events.page(tmp_path, f, number, db)
            assert got.total == len(streamed), f.raw
            assert got.events == streamed[(number - 1) * events.PER_PAGE:
                                          number * events.PER_PAGE], (f.raw, number)
    assert any(events.page(tmp_path, f, 1, db).total for f in cases)


@pytest.mark.parametrize("zone", ["Asia/Kathmandu", "America/St_Johns"])
def test_statistics_counted_by_the_database_equal_reading_every_row(db: Database, zone: str):
    """The dashboard's and ``kidgate stats``' figures from grouped counts (quarter hours, and
    blocks per host) are those of reading each row, in zones with odd offsets too."""
    from zoneinfo import ZoneInfo
    import random
    rnd = random.Random(11)
    # Few kinds of decision, close together: many share a group, so a quarter hour that
    # straddled a local hour or day would show in the counts.
    dense = [{"ts": 1_700_000_000.0 + rnd.uniform(0, 2 * 86400), "client": "10.0.0.2",
              "profile": rnd.choice(["kid", "teen"]), "host": rnd.choice(["a.test", "b.test"]),
              "phase": "request", "action": rnd.choice(["allow", "block"]),
              "category": "gambling", "sources": ["list"], "reasons": []} for _ in range(1500)]
    DecisionRows(db, proxy="gw").insert(_odd_rows(400, span=9 * 86400) + dense)
    tz = ZoneInfo(zone)
    source = stats.DatabaseLog(db)
    for filters in ({}, {"since": 1_700_100_000.0, "profiles": ("kid", "teen")},
                    {"clients": ("tablet",), "until": 1_700_500_000.0}):
        counted = stats.collect(source, tz=tz, timezone=zone, now=1.8e9, **filters)
        report = stats.ReadReport()
        agg = stats.Aggregator(tz)
        for d in stats.read_decisions(source, report, **filters):
            agg.add(d)
        read = agg.summary(report, filters=counted["filters"], timezone=zone, now=1.8e9)
        for key in read:
            if key != "input":
                assert counted[key] == read[key], (key, filters)
        for key in ("lines", "bad_lines", "records", "filtered_out"):
            assert counted["input"][key] == read["input"][key], (key, filters)
        assert counted["totals"]["blocked"] > 0
        assert counted["input"]["bad_lines"] > 0 or filters  # the odd rows were counted as bad
        assert {h["host"] for h in counted["top_blocked_hosts"]} >= {stats.HOTLINE_ENTRY}


def test_weighted_counts_are_the_classic_counter_for_single_steps():
    """Weight 1 is textbook Misra-Gries (written out here); larger weights take the smallest
    count from every key when a new key does not fit."""
    import random
    rnd = random.Random(3)
    keys = [rnd.choice("abcdefghij") for _ in range(2000)]
    classic: dict[str, int] = {}
    decrements = 0
    for k in keys:
        if k in classic:
            classic[k] += 1
        elif len(classic) < 4:
            classic[k] = 1
        else:
            decrements += 1
            classic = {key: v - 1 for key, v in classic.items() if v > 1}
    counter = stats.BoundedCounter[str](4)
    for k in keys:
        counter.add(k)
    assert counter.counts == classic and counter.error == decrements > 0
    weighted = stats.BoundedCounter[str](3)
    for k, n in (("a", 5), ("b", 2), ("c", 1), ("d", 4), ("a", 1)):
        weighted.add(k, n)
    # d's arrival took the smallest count (1) from everyone: a 4, b 1, d 3, c gone; then a+1.
    assert weighted.counts == {"a": 5, "b": 1, "d": 3} and weighted.error == 1
