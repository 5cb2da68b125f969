"""The decision log: JSON lines, no bodies or paths, hotline hosts hashed."""

import json

from kidgate.decisionlog import DecisionLog, record
from policies.core import Reason, Verdict


def test_records_written_as_json_lines(tmp_path):
    log = DecisionLog(tmp_path / "d" / "decisions.jsonl")
    v = Verdict("block", "gambling", 18, (Reason("list", "gambling", "ut1/gambling: casino.test", 18),))
    for i in range(100):
        log.write(record(client="10.0.0.2", profile="kid", host=f"h{i}.test", verdict=v,
                         phase="request", method="GET"))
    log.close(timeout=60)
    rows = [json.loads(line) for line in (tmp_path / "d" / "decisions.jsonl").read_text().splitlines()]
    assert len(rows) == 100 and rows[0]["category"] == "gambling" and rows[0]["action"] == "block"
    assert rows[0]["sources"] == ["list"] and rows[99]["host"] == "h99.test"


def test_hotline_hosts_are_hashed():
    v = Verdict("block", "csam", 1000, (Reason("list", "csam", "hotline entry abc", 1000),))
    rec = record(client="c", profile="p", host="secret.example", verdict=v, phase="request")
    assert "secret" not in json.dumps(rec) and rec["host"].startswith("sha256:")
    assert rec["min_age"] is None


def test_full_queue_drops_and_counts(tmp_path):
    log = DecisionLog(tmp_path / "x.jsonl", max_queue=1)
    v = Verdict("allow")
    for _ in range(10_000):
        log.write(record(client="c", profile="p", host="h", verdict=v, phase="request"))
    # The shutdown bound (2 s) is for a proxy that exits; a loaded machine may need more, and
    # a thread still writing would make the count below short.
    log.close(timeout=60)
    assert not log._thread.is_alive()
    written = len((tmp_path / "x.jsonl").read_text().splitlines())
    assert written + log.dropped == 10_000
