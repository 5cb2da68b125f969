"""``kidgate stats``: what was blocked, for whom and when, read from the decision log.

Parents and school admins want charts, not log lines. This module streams every retained file
of the decision log in time order: rotations made by another tool (``decisions.jsonl.1``,
``decisions.jsonl.2.gz``, ``decisions.jsonl-20240501.gz`` …), kidgate's daily files
(``decisions-2024-05-01.jsonl``, ``decisions-2024-05-01.1.jsonl`` …, also ``.gz``) and the
current ``decisions.jsonl`` (the only file of versions before rotation). Lines are read one at a
time, so a log of any size is read in bounded memory on a small gateway: open
ended keys (hosts, clients, profiles) go through :class:`BoundedCounter`, the timeline is capped
in days, and an over-long line is skipped without being held in memory. A line that is not a
decision (truncated, binary, wrong types) is counted and skipped, never fatal.

Hotline (``csam``) hosts are logged as hashes; they are shown only as ``"hotline entry"`` here,
never as the hash, so neither the host nor anything that identifies it leaves this command.

Counting: the proxy logs one ``request`` record per request (allow or block) and a second,
``response`` record when a page allowed on its request is blocked on its content. So
``requests`` = records of the request phase, ``blocked`` = block records of either phase and
``allowed`` = ``requests - blocked``.

JSON output (``--json``), schema ``kidgate-stats/1``::

    {
      "schema": "kidgate-stats/1",
      "generated": ISO-8601 time, "timezone": zone name or "local",
      "filters": {"since": ISO|null, "until": ISO|null, "profiles": [str], "clients": [str]},
      "input": {"files": [{"path", "lines", "bad_lines", "error": str|null}],
                "lines": int, "bad_lines": int, "bad_examples": ["file:line: why"],
                "filtered_out": int, "records": int},
      "period": {"first": ISO|null, "last": ISO|null},
      "totals": {"requests", "allowed", "blocked", "blocked_request", "blocked_response": int,
                 "block_rate": float 0..1},
      "blocks_by_category": {category: int},  every vocabulary name, then "uncategorised"
                                              (schedule, own deny list, age-only label) and
                                              "other" (a name outside the vocabulary)
      "blocks_by_source": {source: int},      list label classifier policy schedule error other;
                                              a block with reasons from two sources counts in both
      "by_profile": [{"profile", "requests", "blocked"}],   most blocked first
      "by_client":  [{"client", "requests", "blocked"}],    most blocked first
      "top_blocked_hosts": [{"host", "category", "blocks"}],  hotline hosts as "hotline entry"
      "blocks_by_hour": [24 ints],                   local hour of day
      "blocks_by_weekday_hour": [7 x [24 ints]],     Monday first
      "daily": [{"date": "YYYY-MM-DD", "requests", "blocked", "by_category": {category: int}}],
      "approximate": {"hosts", "clients", "profiles", "days": bool},
      "charts": [paths]                              only with --charts
    }

``approximate`` is true when a bounded counter had to drop keys: the counts shown are then
lower bounds (at most the number of dropped increments low), and the ranking is that of
Misra-Gries heavy hitters.

The package is split by concern: :mod:`.records` (one line, checked), :mod:`.reading` (files
and database rows), :mod:`.summary` (the one-pass aggregation and time arguments),
:mod:`.text`, :mod:`.charts` and :mod:`.command`. The names below are its public interface.
"""

from __future__ import annotations

from kidgate.stats.records import (CATEGORY_KEYS, HOTLINE_ENTRY, OTHER, SOURCES, UNCATEGORISED,
                                   UNKNOWN, BadRecord, Decision, parse_record)
from kidgate.stats.reading import (LOG_NAME, MAX_BAD_EXAMPLES, MAX_LINE, DatabaseLog,
                                   FileReport, LogSource, ReadReport, log_files, log_source,
                                   read_decisions, read_records)
from kidgate.stats.summary import (SCHEMA, WEEKDAYS, Aggregator, BoundedCounter, collect,
                                   load_zone, parse_time)
from kidgate.stats.text import describe_filters, render_text
from kidgate.stats.charts import CHART_FILES, write_charts
from kidgate.stats.command import cmd_stats, register

__all__ = [
    "CATEGORY_KEYS", "CHART_FILES", "HOTLINE_ENTRY", "LOG_NAME", "MAX_BAD_EXAMPLES", "MAX_LINE",
    "OTHER", "SCHEMA", "SOURCES", "UNCATEGORISED", "UNKNOWN", "WEEKDAYS", "Aggregator",
    "BadRecord", "BoundedCounter", "DatabaseLog", "Decision", "FileReport", "LogSource",
    "ReadReport", "cmd_stats", "collect", "describe_filters", "load_zone", "log_files",
    "log_source", "parse_record", "parse_time", "read_decisions", "read_records", "register",
    "render_text", "write_charts",
]
