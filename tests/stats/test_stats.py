"""``kidgate stats``: aggregation, filters, bad lines, hotline hosts, charts, JSON, CLI."""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import gzip
import io
import json
import random
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kidgate import stats
from kidgate.stats import charts, reading, summary
from policies.categories import CATEGORIES
from tests.stats.logs import CLIENTS, PROFILES, T0, csam_host, make_records, write_log

UTC = ZoneInfo("UTC")
PNG = b"\x89PNG\r\n\x1a\n"


def summarize(paths: list[Path], **kw: Any) -> dict[str, Any]:
    kw.setdefault("tz", UTC)
    kw.setdefault("timezone", "UTC")
    return stats.collect(paths, **kw)


def shown_host(r: dict[str, Any]) -> str:
    return "hotline entry" if r["category"] == "csam" else r["host"]


# -- aggregation ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[list[dict[str, Any]], Path]:
    records = make_records(3000, seed=7)
    return records, write_log(tmp_path_factory.mktemp("gen") / "decisions.jsonl", records)


def test_totals_and_breakdowns_match_an_independent_count(generated):
    records, path = generated
    s = summarize([path])
    blocks = [r for r in records if r["action"] == "block"]
    requests = [r for r in records if r["phase"] == "request"]
    assert s["input"]["records"] == len(records)
    assert s["input"]["bad_lines"] == 0
    assert s["totals"]["requests"] == len(requests)
    assert s["totals"]["blocked"] == len(blocks)
    assert s["totals"]["allowed"] == len(requests) - len(blocks)
    assert s["totals"]["blocked_response"] == sum(r["phase"] == "response" for r in blocks)

    by_cat = collections.Counter(r["category"] or "uncategorised" for r in blocks)
    assert {k: v for k, v in s["blocks_by_category"].items() if v} == dict(by_cat)
    by_src = collections.Counter(src for r in blocks for src in r["sources"])
    assert {k: v for k, v in s["blocks_by_source"].items() if v} == dict(by_src)

    prof = {p["profile"]: (p["requests"], p["blocked"]) for p in s["by_profile"]}
    assert prof == {p: (sum(r["profile"] == p for r in requests),
                        sum(r["profile"] == p for r in blocks)) for p in PROFILES}
    blocked_by_client = [c["blocked"] for c in s["by_client"]]
    assert blocked_by_client == sorted(blocked_by_client, reverse=True)
    assert {c["client"]: c["blocked"] for c in s["by_client"]} == dict(
        collections.Counter(r["client"] for r in blocks))

    hours = collections.Counter(dt.datetime.fromtimestamp(r["ts"], UTC).hour for r in blocks)
    assert s["blocks_by_hour"] == [hours.get(h, 0) for h in range(24)]
    cells = collections.Counter((dt.datetime.fromtimestamp(r["ts"], UTC).weekday(),
                                 dt.datetime.fromtimestamp(r["ts"], UTC).hour) for r in blocks)
    assert s["blocks_by_weekday_hour"] == [[cells.get((d, h), 0) for h in range(24)]
                                           for d in range(7)]

    day = lambda r: dt.datetime.fromtimestamp(r["ts"], UTC).date().isoformat()  # noqa: E731
    daily = {d["date"]: d for d in s["daily"]}
    assert set(daily) == {day(r) for r in records}
    for date, d in daily.items():
        assert d["requests"] == sum(day(r) == date for r in requests)
        assert d["blocked"] == sum(day(r) == date for r in blocks)
        assert d["by_category"] == dict(collections.Counter(
            r["category"] or "uncategorised" for r in blocks if day(r) == date))


def test_top_hosts_are_the_most_blocked(generated):
    records, path = generated
    s = summarize([path], top=10)
    truth = collections.Counter((shown_host(r), r["category"] or "uncategorised")
                                for r in records if r["action"] == "block")
    top = s["top_blocked_hosts"]
    assert len(top) == 10
    for h in top:
        assert h["blocks"] == truth[(h["host"], h["category"])]
    shown = {(h["host"], h["category"]) for h in top}
    assert min(h["blocks"] for h in top) >= max(n for k, n in truth.items() if k not in shown)
    assert s["approximate"] == {"hosts": False, "clients": False, "profiles": False,
                                "days": False}


def test_hours_and_days_follow_the_time_zone(tmp_path):
    # 21:30 UTC on a Monday is 00:30 on Tuesday in Bucharest (UTC+3 in May).
    ts = T0 + 21.5 * 3600
    path = write_log(tmp_path / "decisions.jsonl", [
        {"ts": ts, "client": "c", "profile": "p", "host": "h.test", "phase": "request",
         "action": "block", "category": "social", "sources": ["list"]}])
    zone = ZoneInfo("Europe/Bucharest")
    local = dt.datetime.fromtimestamp(ts, zone)
    s = summarize([path], tz=zone, timezone="Europe/Bucharest")
    assert s["blocks_by_hour"][local.hour] == 1
    assert s["blocks_by_weekday_hour"][local.weekday()][local.hour] == 1
    assert s["daily"][0]["date"] == local.date().isoformat()
    utc = summarize([path])
    assert utc["daily"][0]["date"] != s["daily"][0]["date"]
    assert utc["blocks_by_hour"].index(1) != s["blocks_by_hour"].index(1)


# -- filters -------------------------------------------------------------------------------

def test_since_until_profile_client_filters(generated):
    records, path = generated
    now = T0 + 10 * 86400
    since = stats.parse_time("2d", now=now, tz=UTC)
    assert since == now - 2 * 86400
    until = stats.parse_time("2024-05-15T12:00", now=now, tz=UTC)
    assert until == dt.datetime(2024, 5, 15, 12, tzinfo=UTC).timestamp()

    def check(expected: list[dict[str, Any]], **kw: Any) -> None:
        s = summarize([path], **kw)
        assert s["input"]["records"] == len(expected)
        assert s["input"]["filtered_out"] == len(records) - len(expected)
        assert s["totals"]["blocked"] == sum(r["action"] == "block" for r in expected)

    check([r for r in records if r["ts"] >= since], since=since)
    check([r for r in records if r["ts"] < until], until=until)
    check([r for r in records if since <= r["ts"] < until], since=since, until=until)
    check([r for r in records if r["profile"] == "anna"], profiles=["anna"])
    check([r for r in records if r["profile"] in ("anna", "parent")], profiles=["anna", "parent"])
    check([r for r in records if r["client"] == CLIENTS[2] and r["profile"] == "mihai"],
          clients=[CLIENTS[2]], profiles=["mihai"])
    check([], profiles=["nobody"])
    s = summarize([path], profiles=["anna"])
    assert [p["profile"] for p in s["by_profile"]] == ["anna"]
    assert s["filters"]["profiles"] == ["anna"]


def test_since_is_inclusive_and_until_exclusive(tmp_path):
    edge = T0 + 3600
    path = write_log(tmp_path / "decisions.jsonl", [
        {"ts": t, "action": "block", "category": "drugs"}
        for t in (edge - 0.001, edge, edge + 0.001, edge + 60)])
    assert summarize([path], since=edge)["input"]["records"] == 3
    assert summarize([path], until=edge)["input"]["records"] == 1
    assert summarize([path], since=edge, until=edge + 60)["input"]["records"] == 2


@pytest.mark.parametrize("zone", ["Asia/Kathmandu", "Australia/Adelaide", "America/St_Johns"])
def test_hours_in_zones_with_odd_offsets(tmp_path, zone):
    tz = ZoneInfo(zone)
    times = [T0 + i * 331.7 for i in range(600)]  # steps that cross every quarter hour
    path = write_log(tmp_path / "decisions.jsonl", [
        {"ts": t, "action": "block", "category": "social"} for t in times])
    s = summarize([path], tz=tz, timezone=zone)
    hours = collections.Counter(dt.datetime.fromtimestamp(t, tz).hour for t in times)
    assert s["blocks_by_hour"] == [hours.get(h, 0) for h in range(24)]


@pytest.mark.parametrize("text,expected", [
    ("30m", 30 * 60), ("24h", 86400), ("7d", 7 * 86400), ("2w", 14 * 86400),
    ("1.5h", 5400), (" 7D ", 7 * 86400),
])
def test_relative_times(text, expected):
    assert stats.parse_time(text, now=T0 + 10**6, tz=UTC) == T0 + 10**6 - expected


def test_absolute_times_and_today():
    zone = ZoneInfo("Europe/Bucharest")
    assert stats.parse_time("2024-05-01", now=T0, tz=zone) == \
        dt.datetime(2024, 5, 1, tzinfo=zone).timestamp()
    assert stats.parse_time("2024-05-01T10:00+00:00", now=T0, tz=zone) == \
        dt.datetime(2024, 5, 1, 10, tzinfo=UTC).timestamp()
    now = T0 + 5 * 3600 + 17
    assert stats.parse_time("today", now=now, tz=UTC) == T0


@pytest.mark.parametrize("text", ["yesterday-ish", "7x", "-3d", "2024-13-01", ""])
def test_bad_times_are_refused(text):
    with pytest.raises(ValueError, match="expected a duration"):
        stats.parse_time(text, now=T0, tz=UTC)


# -- bad input -----------------------------------------------------------------------------

def good(i: int, **over: Any) -> bytes:
    rec = {"ts": T0 + i, "client": "c", "profile": "p", "host": f"h{i}.test",
           "phase": "request", "action": "block", "category": "gambling", "sources": ["list"]}
    return json.dumps({**rec, **over}).encode()


BAD_LINES = [
    b"\x00\x01\xff\xfe\x89PNG garbage",
    b'"just a string"',
    b"[1, 2, 3]",
    good(0, ts="2024-05-06"),
    good(0, ts=True),
    good(0, ts=0),
    b'{"ts": NaN, "action": "block"}',
    b'{"ts": 1e400, "action": "block"}',
    good(0, action="maybe"),
    good(0, action=5),
    good(0, category=["sexual"]),
    good(0, host=5),
    good(0, profile={"name": "p"}),
    good(0, sources="list"),
    good(0, sources=[1]),
    b'{"ts": 1714953600, "action": "block", "host": "\xff\xfe"}',
    b"[" * 20_000,
    b'{"ts": 1714953600, "action": "block", "host": "' + b"a" * (3 * stats.MAX_LINE) + b'"}',
]


def test_bad_lines_are_counted_and_skipped(tmp_path):
    path = tmp_path / "decisions.jsonl"
    lines = []
    for i, bad in enumerate(BAD_LINES):
        lines += [good(i), bad, b""]  # blank lines are neither records nor bad
    truncated = good(999)[:25]
    path.write_bytes(b"\n".join(lines) + b"\n" + good(1000) + b"\n" + truncated)
    s = summarize([path])
    assert s["input"]["bad_lines"] == len(BAD_LINES) + 1
    assert s["input"]["records"] == len(BAD_LINES) + 1
    assert s["totals"]["blocked"] == len(BAD_LINES) + 1
    assert s["blocks_by_category"]["gambling"] == len(BAD_LINES) + 1
    assert s["input"]["files"][0]["error"] is None
    examples = s["input"]["bad_examples"]
    assert len(examples) == stats.MAX_BAD_EXAMPLES
    assert examples[0] == f"{path}:2: not valid JSON"
    assert "garbage" not in json.dumps(s)  # why, never what


def test_over_long_line_is_skipped_and_the_next_one_read():
    data = b"x" * (5 * stats.MAX_LINE) + b"\nnext\n" + b"y" * stats.MAX_LINE
    assert list(reading._lines(io.BytesIO(data))) == [None, b"next\n", None]


def test_unknown_category_and_missing_fields_are_kept(tmp_path):
    path = write_log(tmp_path / "decisions.jsonl", [
        {"ts": T0, "action": "block", "category": "astrology"},
        {"ts": T0 + 1, "action": "allow"},
        {"ts": T0 + 2, "action": "block", "category": "sexual", "sources": ["list", "oracle"]},
    ])
    s = summarize([path])
    assert s["input"]["bad_lines"] == 0
    assert s["blocks_by_category"]["other"] == 1
    assert s["blocks_by_category"]["sexual"] == 1
    assert s["blocks_by_source"] == {**dict.fromkeys(stats.SOURCES, 0), "list": 1, "other": 1}
    assert s["by_profile"] == [{"profile": "(unknown)", "requests": 3, "blocked": 2}]


def test_rotated_and_compressed_logs_are_read(tmp_path):
    recs = make_records(400, seed=3)
    parts = [recs[:100], recs[100:200], recs[200:300], recs[300:]]
    write_log(tmp_path / "decisions.jsonl", parts[0])
    write_log(tmp_path / "decisions.jsonl.1", parts[1])
    for name, part in (("decisions.jsonl.2.gz", parts[2]), ("decisions.jsonl-20240501.gz",
                                                             parts[3])):
        with gzip.open(tmp_path / name, "wt") as f:
            f.writelines(json.dumps(r) + "\n" for r in part)
    write_log(tmp_path / "decisions.jsonl.bak", recs)  # not a rotation: ignored
    write_log(tmp_path / "other.jsonl", recs)
    files = stats.log_files(tmp_path)
    assert sorted(p.name for p in files) == sorted(
        ["decisions.jsonl", "decisions.jsonl.1", "decisions.jsonl.2.gz",
         "decisions.jsonl-20240501.gz"])
    s = summarize(files)
    assert s["input"]["records"] == len(recs)
    assert s["totals"]["blocked"] == sum(r["action"] == "block" for r in recs)


def test_truncated_or_fake_gzip_is_reported_not_fatal(tmp_path):
    recs = make_records(2000, seed=4)
    blob = gzip.compress("".join(json.dumps(r) + "\n" for r in recs).encode())
    (tmp_path / "decisions.jsonl.2.gz").write_bytes(blob[: len(blob) // 2])
    (tmp_path / "decisions.jsonl.3.gz").write_bytes(b"not gzip at all\n")
    write_log(tmp_path / "decisions.jsonl", recs[:10])
    s = summarize(stats.log_files(tmp_path))
    errors = {Path(f["path"]).name: f["error"] for f in s["input"]["files"]}
    assert errors["decisions.jsonl"] is None
    assert errors["decisions.jsonl.2.gz"] and errors["decisions.jsonl.3.gz"]
    assert 10 < s["input"]["records"] < 10 + len(recs)
    assert "stopped early" in stats.render_text(s)


# -- hotline hosts -------------------------------------------------------------------------

def test_hotline_hosts_never_appear(tmp_path):
    clear = "abuse-material.example"
    recs = [
        {"ts": T0, "client": "c", "profile": "p", "host": csam_host(clear), "phase": "request",
         "action": "block", "category": "csam", "sources": ["list"], "reasons": ["hotline list"]},
        # An older or buggy writer that logged the host in clear must not leak it either.
        {"ts": T0 + 1, "client": "c", "profile": "p", "host": clear, "phase": "request",
         "action": "block", "category": "csam", "sources": ["list"]},
        {"ts": T0 + 2, "client": "c", "profile": "p", "host": csam_host("x.example"),
         "phase": "request", "action": "allow", "category": None, "sources": []},
        {"ts": T0 + 3, "client": "c", "profile": "p", "host": "casino.test",
         "phase": "request", "action": "block", "category": "gambling", "sources": ["list"]},
    ]
    path = write_log(tmp_path / "decisions.jsonl", recs)
    s = summarize([path])
    outputs = [json.dumps(s), stats.render_text(s)]
    for out in outputs:
        assert clear not in out
        assert "sha256" not in out
        assert csam_host(clear)[7:] not in out
    assert {(h["host"], h["category"], h["blocks"]) for h in s["top_blocked_hosts"]} == {
        ("hotline entry", "csam", 2), ("casino.test", "gambling", 1)}
    assert "hotline entry" in outputs[1]


# -- bounded memory ------------------------------------------------------------------------

def test_bounded_counter_keeps_heavy_hitters_within_its_error():
    rng = random.Random(5)
    stream = [f"h{int(rng.paretovariate(1.2))}" for _ in range(20_000)]
    stream += [f"unique{i}" for i in range(5_000)]
    rng.shuffle(stream)
    cap = 50
    c: stats.BoundedCounter[str] = stats.BoundedCounter(cap)
    for key in stream:
        c.add(key)
        assert len(c) <= cap
    truth = collections.Counter(stream)
    assert not c.exact
    assert c.error <= len(stream) / (cap + 1)
    for key, n in c.counts.items():
        assert truth[key] - c.error <= n <= truth[key]
    for key, n in truth.items():
        if n > len(stream) / (cap + 1):
            assert key in c.counts
    assert c.most_common(1)[0][0] == truth.most_common(1)[0][0]


def test_bounded_counter_is_exact_below_capacity():
    c: stats.BoundedCounter[str] = stats.BoundedCounter(10)
    for key in "abracadabra":
        c.add(key)
    assert c.exact and dict(c.counts) == dict(collections.Counter("abracadabra"))


def test_many_distinct_hosts_stay_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(summary, "HOST_CAPACITY", 100)
    recs = [{"ts": T0 + i, "host": f"h{i}.test", "action": "block", "category": "bypass",
             "phase": "request"} for i in range(5_000)]
    recs += [{"ts": T0 + 9000 + i, "host": "vpn.test", "action": "block",
              "category": "bypass", "phase": "request"} for i in range(500)]
    agg = stats.Aggregator(UTC)
    report = stats.ReadReport()
    for d in stats.read_decisions([write_log(tmp_path / "decisions.jsonl", recs)], report):
        agg.add(d)
    assert len(agg.hosts) <= 100
    s = agg.summary(report, filters={}, timezone="UTC", top=5)
    assert s["approximate"]["hosts"] is True
    assert s["top_blocked_hosts"][0]["host"] == "vpn.test"
    assert 500 - agg.hosts.error <= s["top_blocked_hosts"][0]["blocks"] <= 500


# -- charts --------------------------------------------------------------------------------

def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG
    assert len(data) > 10_000, f"{path.name} looks empty ({len(data)} bytes)"


def test_charts_for_an_empty_period(tmp_path, generated):
    _, path = generated
    s = summarize([path], profiles=["nobody"])
    assert s["totals"]["requests"] == 0
    for p in stats.write_charts(s, tmp_path):
        assert p.read_bytes()[:8] == PNG


def test_long_timelines_are_grouped_by_week():
    days = [{"date": (dt.date(2024, 1, 1) + dt.timedelta(days=i)).isoformat(),
             "requests": 3, "blocked": 2, "by_category": {"social": 1, "drugs": 1}}
            for i in range(0, 200, 3)]
    dates, series = charts._timeline_series(days)
    assert all((b - a).days == 7 for a, b in zip(dates, dates[1:]))
    assert all(d.weekday() == 0 for d in dates)
    assert sum(series["social"]) == sum(series["drugs"]) == len(days)
    short, _ = charts._timeline_series(days[:5])
    assert len(short) == (dt.date.fromisoformat(days[4]["date"]) - dt.date(2024, 1, 1)).days + 1


# -- CLI and JSON schema -------------------------------------------------------------------

def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kidgate")
    sub = p.add_subparsers(dest="command", required=True)
    stats.register(sub)
    return p


def run(argv: list[str], now: float = T0 + 10 * 86400) -> tuple[int, str]:
    args = parser().parse_args(argv)
    out = io.StringIO()
    return args.func(args, out=out, now=now), out.getvalue()


SCHEMA: dict[str, Any] = {
    "schema": str, "generated": str, "timezone": str,
    "filters": {"since": (str, type(None)), "until": (str, type(None)), "profiles": list,
                "clients": list},
    "input": {"files": list, "lines": int, "bad_lines": int, "bad_examples": list,
              "filtered_out": int, "records": int},
    "period": {"first": (str, type(None)), "last": (str, type(None))},
    "totals": {"requests": int, "allowed": int, "blocked": int, "blocked_request": int,
               "blocked_response": int, "block_rate": float},
    "blocks_by_category": dict, "blocks_by_source": dict, "by_profile": list,
    "by_client": list, "top_blocked_hosts": list, "blocks_by_hour": list,
    "blocks_by_weekday_hour": list, "daily": list,
    "approximate": {"hosts": bool, "clients": bool, "profiles": bool, "days": bool},
}


def check_schema(doc: dict[str, Any], schema: dict[str, Any], where: str = "") -> None:
    assert set(doc) >= set(schema), f"{where}: missing {set(schema) - set(doc)}"
    for key, kind in schema.items():
        if isinstance(kind, dict):
            assert set(doc[key]) == set(kind), where + key
            check_schema(doc[key], kind, f"{where}{key}.")
        else:
            assert isinstance(doc[key], kind), f"{where}{key}: {type(doc[key]).__name__}"


def test_json_output_follows_the_schema(generated):
    records, path = generated
    rc, out = run(["stats", "--log", str(path), "--json", "--tz", "UTC", "--since", "5d",
                   "--top", "7"])
    assert rc == 0
    doc = json.loads(out)
    check_schema(doc, SCHEMA)
    assert doc["schema"] == "kidgate-stats/1"
    assert list(doc["blocks_by_category"]) == [*CATEGORIES, "uncategorised", "other"]
    assert list(doc["blocks_by_source"]) == list(stats.SOURCES)
    assert len(doc["blocks_by_hour"]) == 24
    assert len(doc["blocks_by_weekday_hour"]) == 7
    assert all(len(row) == 24 for row in doc["blocks_by_weekday_hour"])
    assert len(doc["top_blocked_hosts"]) == 7
    for h in doc["top_blocked_hosts"]:
        assert set(h) == {"host", "category", "blocks"}
    for row in doc["by_profile"]:
        assert set(row) == {"profile", "requests", "blocked"}
    for row in doc["by_client"]:
        assert set(row) == {"client", "requests", "blocked"}
    for d in doc["daily"]:
        assert set(d) == {"date", "requests", "blocked", "by_category"}
        dt.date.fromisoformat(d["date"])
    for f in doc["input"]["files"]:
        assert set(f) == {"path", "lines", "bad_lines", "error"}
    blocked = doc["totals"]["blocked"]
    assert 0 < blocked < sum(r["action"] == "block" for r in records)
    assert sum(doc["blocks_by_category"].values()) == blocked
    assert sum(doc["blocks_by_hour"]) == blocked
    assert sum(map(sum, doc["blocks_by_weekday_hour"])) == blocked
    assert sum(d["blocked"] for d in doc["daily"]) == blocked
    assert sum(p["blocked"] for p in doc["by_profile"]) == blocked
    assert doc["totals"]["blocked_request"] + doc["totals"]["blocked_response"] == blocked
    assert doc["totals"]["block_rate"] == round(blocked / doc["totals"]["requests"], 4)
    since = dt.datetime.fromisoformat(doc["filters"]["since"]).timestamp()
    assert since == T0 + 5 * 86400
    assert dt.datetime.fromisoformat(doc["period"]["first"]).timestamp() >= since


def test_text_output_is_aligned(generated):
    _, path = generated
    rc, out = run(["stats", "--log", str(path), "--profile", "anna"])
    assert rc == 0
    lines = out.splitlines()
    start = lines.index("Blocks by category") + 1
    table = lines[start:start + 2 + len(CATEGORIES)]
    assert table[0].split() == ["category", "blocks", "share"]
    ends = {len(line) for line in table[1:]}
    assert len(ends) == 1, table  # right-aligned columns end together
    assert [line.split()[0] for line in table[2:]] == list(CATEGORIES)
    assert "profile anna" in lines[1]


def test_registration_defaults():
    args = parser().parse_args(["stats"])
    assert args.func is stats.cmd_stats
    assert not hasattr(args, "data_dir")  # resolved when run, never overwriting the main CLI's
    assert (args.stats_logs, args.since, args.stats_profiles, args.stats_json,
            args.stats_charts, args.stats_top) == ([], None, [], False, None, 20)
    args = parser().parse_args(["stats", "--profile", "a", "--profile", "b", "--client",
                                "10.0.0.2", "--charts", "out", "--data-dir", "/x"])
    assert args.stats_profiles == ["a", "b"] and args.stats_clients == ["10.0.0.2"]
    assert args.stats_charts == Path("out") and args.data_dir == Path("/x")


def test_default_data_dir_is_the_proxys(tmp_path, monkeypatch, generated):
    records, path = generated
    home = tmp_path / "home"
    home.mkdir()
    (home / "decisions.jsonl").write_bytes(path.read_bytes())
    monkeypatch.setenv("KIDGATE_HOME", str(home))
    rc, out = run(["stats", "--json"])
    assert rc == 0
    doc = json.loads(out)
    assert doc["input"]["records"] == len(records)
    assert doc["input"]["files"][0]["path"] == str(home / "decisions.jsonl")


def test_charts_option_writes_readable_pngs(tmp_path, generated):
    _, path = generated
    rc, out = run(["stats", "--log", str(path), "--json", "--charts", str(tmp_path / "c")])
    assert rc == 0
    doc = json.loads(out)
    assert doc["charts"] == [str(tmp_path / "c" / n) for n in stats.CHART_FILES]
    for p in doc["charts"]:
        assert_png(Path(p))


@pytest.mark.parametrize("argv,message", [
    (["--since", "soon"], "expected a duration"),
    (["--tz", "Mars/Olympus"], "unknown time zone"),
    (["--top", "0"], "--top"),
    (["--log", "/nonexistent/decisions.jsonl"], "no such log file"),
])
def test_usage_errors(argv, message, capsys, generated):
    _, path = generated
    extra = [] if "--log" in argv else ["--log", str(path)]
    rc, out = run(["stats", *extra, *argv])
    assert rc == 2 and out == ""
    assert message in capsys.readouterr().err


def test_no_log_in_data_dir(tmp_path, capsys):
    rc, _ = run(["stats", "--data-dir", str(tmp_path)])
    assert rc == 2
    assert "no decisions.jsonl" in capsys.readouterr().err
