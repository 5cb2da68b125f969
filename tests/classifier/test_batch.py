"""`kidgate classify --jsonl` on several worker processes: same output, same order, bounded."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import classifier
from classifier import batch
from classifier.batch import classify_jsonl, classify_jsonl_parallel

REPO = Path(__file__).resolve().parents[2]


def _records(n: int) -> list[str]:
    """Pages, plain texts, URLs and broken lines mixed, so order and line numbers are tested."""
    out = []
    for i in range(n):
        kind = i % 5
        if kind == 0:
            out.append(json.dumps({"id": i, "html": f"<title>casino {i}</title><p>bet and win {i}"}))
        elif kind == 1:
            out.append(json.dumps({"id": i, "text": f"the weather today is sunny {i}"}))
        elif kind == 2:
            out.append(json.dumps({"id": i, "url": f"http://casinobest{i}.com/"}))
        elif kind == 3:
            out.append("{broken" if i % 2 else "")
        else:
            out.append(json.dumps({"id": str(i), "text": "free porn xxx hardcore sex videos",
                                   "url": f"http://example.org/{i}"}))
    return [ln + "\n" for ln in out]


@pytest.mark.parametrize("jobs", [2, 3])
def test_parallel_output_equals_sequential(tiny_models: Path, jobs: int,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "BLOCK_LINES", 7)  # many blocks: order across workers matters
    lines = _records(200)
    seq, par = io.StringIO(), io.StringIO()
    clf = classifier.load(tiny_models)
    n_seq = classify_jsonl(clf, lines, seq, explain=True)
    clf.cache_clear()
    n_par = classify_jsonl_parallel(clf, (ln.encode() for ln in lines), par, jobs=jobs,
                                   explain=True)
    assert n_par == n_seq == 200 - 20  # the 20 blank lines give no output
    assert par.getvalue() == seq.getvalue()
    errors = [json.loads(x) for x in par.getvalue().splitlines() if '"error"' in x]
    assert [e["line"] for e in errors] == [i + 1 for i in range(200) if i % 5 == 3 and i % 2]


def test_line_blocks_cut_by_lines_and_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "BLOCK_LINES", 3)
    monkeypatch.setattr(batch, "BLOCK_BYTES", 10)
    got = list(batch._line_blocks([b"a", b"b", b"c", b"d", b"0123456789", b"e"]))
    assert got == [[b"a", b"b", b"c"], [b"d", b"0123456789"], [b"e"]]


@pytest.mark.parametrize("data", [b"", b"a", b"a\n", b"\n\n\n", b"a\nb\nc\nd\ne",
                                  b"0123456789abcdef\nx\n", b"x\n0123456789abcdef",
                                  b"ab\r\ncd\r\n" * 7])
def test_file_blocks_cover_the_file_at_line_ends(tmp_path: Path, data: bytes,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "BLOCK_LINES", 2)
    monkeypatch.setattr(batch, "BLOCK_BYTES", 8)
    f = tmp_path / "in.jsonl"
    f.write_bytes(data)
    blocks = list(batch._file_blocks(str(f)))
    assert b"".join(data[o:o + n] for _, o, n in blocks) == data
    assert all(n > 0 for _, _, n in blocks)
    for _, o, n in blocks[:-1]:
        assert data[o + n - 1:o + n] == b"\n"  # every block but the last ends a line
        assert data[o:o + n].count(b"\n") <= 2  # BLOCK_LINES


def test_file_input_equals_sequential(tiny_models: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "BLOCK_LINES", 5)
    lines = _records(73)
    lines[-1] = lines[-1].rstrip("\n")  # no newline at the end of the file
    f = tmp_path / "in.jsonl"
    f.write_text("".join(lines))
    clf = classifier.load(tiny_models)
    seq, par = io.StringIO(), io.StringIO()
    classify_jsonl(clf, lines, seq)
    clf.cache_clear()
    assert classify_jsonl_parallel(clf, f, par, jobs=2) == len(seq.getvalue().splitlines())
    assert par.getvalue() == seq.getvalue()
    one = io.StringIO()
    classify_jsonl_parallel(clf, str(f), one, jobs=1)
    assert one.getvalue() == seq.getvalue()


def test_reads_ahead_only_a_bounded_number_of_blocks(tiny_models: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "BLOCK_LINES", 1)
    clf = classifier.load(tiny_models)
    consumed = 0
    written: list[int] = []

    def source():
        nonlocal consumed
        for line in _records(60):
            consumed += 1
            yield line.encode()

    class Sink(io.StringIO):
        def write(self, s: str) -> int:
            written.append(consumed)
            return super().write(s)

    classify_jsonl_parallel(clf, source(), Sink(), jobs=2)
    # When the first result is written, at most 2 x jobs blocks (+1 being cut) were read.
    assert written and written[0] <= 2 * 2 + 1


def test_jobs_must_be_positive(tiny_models: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        classify_jsonl_parallel(classifier.load(tiny_models), [], io.StringIO(), jobs=0)


def test_cli_jobs_end_to_end(tiny_models: Path, tmp_path: Path) -> None:
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(_records(40)))
    runs = {}
    for jobs in ("1", "2"):
        p = subprocess.run([sys.executable, "-m", "kidgate.cli", "classify", "--jsonl", "--jobs", jobs,
                            "--models", str(tiny_models), "--input", str(inp)],
                           capture_output=True, text=True, cwd=REPO, timeout=120)
        assert p.returncode == 0, p.stderr
        runs[jobs] = p.stdout
    assert runs["1"] == runs["2"] and len(runs["1"].splitlines()) == 36
    bad = subprocess.run([sys.executable, "-m", "kidgate.cli", "classify", "--jsonl", "--jobs", "0",
                          "--models", str(tiny_models), "--input", str(inp)],
                         capture_output=True, text=True, cwd=REPO, timeout=60)
    assert bad.returncode == 2 and "at least 1" in bad.stderr
    for missing in (tmp_path / "nope.jsonl", tmp_path):
        p = subprocess.run([sys.executable, "-m", "kidgate.cli", "classify", "--jsonl",
                            "--models", str(tiny_models), "--input", str(missing)],
                           capture_output=True, text=True, cwd=REPO, timeout=60)
        assert p.returncode == 1 and "cannot read --input" in p.stderr
        assert "Traceback" not in p.stderr
