"""Batch scoring of JSON-lines page records (``kidgate classify --jsonl``), on every core.

A record is one JSON object per line with any of ``id``, ``url``, ``text`` and ``html``; each
output line is ``{"id": ..., "scores": {category: probability}}`` in input order, or
``{"line": N, "error": ...}`` for a line that cannot be scored (the run goes on).

One page costs about a millisecond of CPU and a 200 kB record as much again to parse, so a
batch run hands blocks of lines to worker processes. The workers are forked from the process
that loaded the models (no second load); the number of blocks in flight is bounded, so memory
stays flat however long the input is, and the output keeps the input's order.
"""

from __future__ import annotations

import json
import mmap
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import IO, Any

try:  # a fast JSON parser: a page record is mostly one long HTML string
    import orjson as _orjson
except ImportError:  # pragma: no cover - optional speed-up
    _orjson = None

__all__ = ["classify_jsonl", "classify_jsonl_parallel", "default_jobs"]

#: A block handed to a worker closes at this many lines or bytes, whichever comes first:
#: large enough that inter-process overhead is small, small enough to keep every worker busy.
BLOCK_LINES = 64
BLOCK_BYTES = 2 << 20


def default_jobs() -> int:
    """The CPUs this process may run on (a container's or taskset's limit, not the machine's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _loads(line: str | bytes) -> Any:
    return _orjson.loads(line) if _orjson is not None else json.loads(line)


def _dumps(rec: dict[str, Any]) -> str:
    """One output line (with its newline); orjson when available, json otherwise."""
    if _orjson is not None:
        try:
            return _orjson.dumps(rec, option=_orjson.OPT_APPEND_NEWLINE).decode("utf-8")
        except TypeError:  # e.g. an integer id beyond 64 bits
            pass
    return json.dumps(rec, ensure_ascii=False) + "\n"


def _score_line(clf: Any, line: str | bytes, lineno: int, explain: bool) -> dict[str, Any]:
    try:
        rec = _loads(line)
        if not isinstance(rec, dict):
            raise ValueError("expected a JSON object")
        url, text, html = rec.get("url"), rec.get("text"), rec.get("html")
        for k, v in (("url", url), ("text", text), ("html", html)):
            if v is not None and not isinstance(v, str):
                raise ValueError(f"field {k!r} must be a string")
        if not (url or text or html):
            raise ValueError("record needs at least one of url, text, html")
        c = clf.classify(url=url, text=text, html=html)
        res: dict[str, Any] = {"id": rec.get("id"),
                               "scores": {k: round(v, 4) for k, v in c.scores.items()}}
        if explain:
            res["features"] = {k: list(v) for k, v in c.features.items() if v}
        return res
    except Exception as e:  # noqa: BLE001 - one bad line must not stop a batch
        name = "JSONDecodeError" if type(e).__name__.endswith("DecodeError") else type(e).__name__
        return {"line": lineno, "error": f"{name}: {e}"}


def _score_lines(clf: Any, lines: Iterable[str | bytes], explain: bool
                 ) -> Iterator[dict[str, Any]]:
    """One result per non-blank line; blank lines still count for error line numbers."""
    for lineno, line in enumerate(lines, 1):
        if line and not line.isspace():  # no strip(): it would copy a whole page
            yield _score_line(clf, line, lineno, explain)


def classify_jsonl(clf: Any, lines: Iterable[str | bytes], out: IO[str], *,
                   explain: bool = False) -> int:
    """Score each JSON line in this process; returns the number of output lines."""
    n = 0
    write = out.write
    for res in _score_lines(clf, lines, explain):
        write(_dumps(res))
        n += 1
    out.flush()
    return n


#: The classifier a forked worker inherits from its parent (set just before the pool starts).
_worker_clf: Any = None

#: A block of input: its lines, or (path, offset, length) of a byte range a worker reads itself.
Block = list[bytes] | tuple[str, int, int]


def _score_block(block: Block, explain: bool, clf: Any = None) -> tuple[int, list[dict[str, Any]]]:
    """(lines in the block, results); error records count lines from 1 within the block.

    A worker scores with the classifier it inherited; the calling process passes its own.
    """
    if isinstance(block, tuple):
        path, offset, length = block
        with open(path, "rb") as f:
            f.seek(offset)
            lines: list[bytes] = f.read(length).split(b"\n")
        if lines and not lines[-1]:
            lines.pop()  # the block's final newline ends a line, it starts none
    else:
        lines = block
    return len(lines), list(_score_lines(clf or _worker_clf, lines, explain))


def _line_blocks(lines: Iterable[bytes]) -> Iterator[Block]:
    """Blocks of at most BLOCK_LINES lines or about BLOCK_BYTES bytes."""
    block: list[bytes] = []
    size = 0
    for line in lines:
        block.append(line)
        size += len(line)
        if len(block) >= BLOCK_LINES or size >= BLOCK_BYTES:
            yield block
            block, size = [], 0
    if block:
        yield block


def _file_blocks(path: str) -> Iterator[Block]:
    """Byte ranges of about BLOCK_BYTES ending at a line end: the workers read the file, this
    process only looks for newlines (no page crosses a process boundary)."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            start = 0
            while start < size:
                limit = min(size, start + BLOCK_BYTES)
                end = start
                for _ in range(BLOCK_LINES):
                    nl = mm.find(b"\n", end, limit)
                    if nl < 0:
                        break
                    end = nl + 1
                if end == start:  # no line end within BLOCK_BYTES: one long line, or the last
                    nl = mm.find(b"\n", limit)
                    end = size if nl < 0 else nl + 1
                yield path, start, end - start
                start = end


def classify_jsonl_parallel(clf: Any, source: Iterable[bytes] | str | os.PathLike[str],
                            out: IO[str], *, jobs: int | None = None,
                            explain: bool = False) -> int:
    """:func:`classify_jsonl` on ``jobs`` worker processes (default: every usable CPU).

    ``source`` is a file name (workers read their own byte ranges: no page crosses a process
    boundary) or an iterable of lines (standard input: handed over in blocks). Same output,
    same order, as :func:`classify_jsonl`. With one job, or where processes cannot be forked
    (the models would have to be loaded again in every worker), the blocks are scored here.
    """
    global _worker_clf
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    blocks = (_file_blocks(os.fspath(source)) if isinstance(source, str | os.PathLike)
              else _line_blocks(source))
    n = 0
    base = 0  # lines before the block being written
    write = out.write

    def emit(scored: tuple[int, list[dict[str, Any]]]) -> None:
        nonlocal n, base
        count, results = scored
        for res in results:
            if "error" in res:
                res["line"] += base
            write(_dumps(res))
        n += len(results)
        base += count

    if jobs == 1 or "fork" not in multiprocessing.get_all_start_methods():
        for block in blocks:
            emit(_score_block(block, explain, clf))
    else:
        _worker_clf = clf
        pending: deque[Future[tuple[int, list[dict[str, Any]]]]] = deque()
        try:
            with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
                for block in blocks:
                    if len(pending) >= 2 * jobs:  # bounded: read no further ahead than this
                        emit(pending.popleft().result())
                    pending.append(pool.submit(_score_block, block, explain))
                while pending:
                    emit(pending.popleft().result())
        finally:
            _worker_clf = None
    out.flush()
    return n
