"""Bad input is skipped with counts and warnings, never a crash."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from lists import ListStore, Source, build_store
from lists.regexguard import UnsafePattern, compile_safe
from tests.lists.conftest import make_ut1, write


def _build(tmp_path: Path, data: bytes, fmt: str = "domains") -> tuple[dict, ListStore]:
    src = write(tmp_path / f"in.{fmt}", data)
    out = tmp_path / "out.kglist"
    report = build_store([Source("l", str(src), fmt, "gambling")], out)
    return report.lists["l"], ListStore.open(out)


def test_empty_file_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "kidgate.lists")
    d, store = _build(tmp_path, b"")
    assert d["counts"]["domain"] == 0 and store.entries == 0
    assert store.lookup("http://anything.test/") == []
    assert "empty" in caplog.text


def test_binary_garbage(tmp_path: Path) -> None:
    garbage = os.urandom(20000)
    d, store = _build(tmp_path, b"good.test\n" + garbage + b"\nalso-good.test\n")
    assert d["stats"]["binary"] + d["stats"]["invalid"] + d["stats"]["too_long"] > 0
    assert store.lookup("http://good.test/") and store.lookup("http://also-good.test/")


def test_overlong_lines(tmp_path: Path) -> None:
    d, store = _build(tmp_path, b"a" * 100_000 + b".test\nok.test\n" + b"b." * 5000 + b"\n")
    assert d["stats"]["too_long"] == 2
    assert d["counts"]["domain"] == 1 and store.lookup("http://ok.test/")


def test_invalid_domains(tmp_path: Path) -> None:
    lines = ["-bad.test", "bad-.test", "a..b", "sp ace.test", "x" * 64 + ".test", "1.2.3.999",
             "*", "http://", "good.test", "under_score.test"]
    d, store = _build(tmp_path, "\n".join(lines).encode())
    assert d["stats"]["invalid"] == 8
    assert d["counts"]["domain"] == 2


def test_duplicates_counted_once_stored(tmp_path: Path) -> None:
    d, store = _build(tmp_path, b"dup.test\nDUP.test\ndup.test.\nwww.dup.test\n")
    assert d["counts"] == {**d["counts"], "domain": 2, "duplicates": 2}
    assert len(store.lookup("http://dup.test/")) == 1


def test_mixed_encodings(tmp_path: Path) -> None:
    data = "bücher.test\n".encode("utf-8") + "café.test\n".encode("latin-1") + b"plain.test\n"
    d, store = _build(tmp_path, data)
    assert d["stats"]["latin1"] == 1
    assert store.lookup("http://xn--bcher-kva.test/")
    assert store.lookup("http://café.test/")
    assert store.lookup("http://plain.test/")


@pytest.mark.parametrize("pattern", [
    "(a+)+$", "(a|aa)*b", "(x+x+)+y", "(.*a){20}", r"(\w)\1", "(?=a)b", "[unclosed", "(",
    "a" * 3000,
])
def test_unsafe_regex_rejected(pattern: str) -> None:
    with pytest.raises(UnsafePattern):
        compile_safe(pattern)


def test_expression_file_skips_bad_patterns(tmp_path: Path) -> None:
    d, store = _build(tmp_path, b"(a+)+$\n[bad\n/casino/\n", fmt="expressions")
    assert d["stats"]["unsafe_regex"] == 2 and d["counts"]["expression"] == 1
    assert store.lookup("http://x.test/casino/games")[0].kind == "expression"
    # A catastrophic input against the accepted pattern stays fast.
    assert store.lookup("http://x.test/" + "a" * 50_000) == []


def test_ut1_tree_with_broken_files(tmp_path: Path) -> None:
    bl = make_ut1(tmp_path / "src")
    write(bl / "gambling" / "domains", os.urandom(5000) + b"\ncasino.example\n")
    write(bl / "gambling" / "urls", b"\xff\xfe\x00\x00")
    write(bl / "dating" / "usage", "black\n")  # a category with no list files
    write(bl / "weird", "not-an-alias-target")
    out = tmp_path / "o.kglist"
    report = build_store([Source("ut1", str(bl), "ut1")], out)
    assert any("ut1/dating" in w for w in report.warnings)
    with ListStore.open(out) as s:
        assert s.lookup("http://casino.example/")


def test_unreadable_sources_fail_before_writing(tmp_path: Path) -> None:
    out = tmp_path / "o.kglist"
    with pytest.raises(ValueError, match="does not exist"):
        build_store([Source("x", str(tmp_path / "nope"), "domains", "sexual")], out)
    with pytest.raises(ValueError, match="format"):
        build_store([Source("x", str(write(tmp_path / "a", "a.test")), "csv", "sexual")], out)
    with pytest.raises(ValueError, match="category"):
        build_store([Source("x", str(write(tmp_path / "a", "a.test")), "domains", "porn")], out)
    with pytest.raises(ValueError, match="tarball"):
        build_store([Source("u", str(write(tmp_path / "t.tar.gz", b"\x1f\x8bjunk")), "ut1")], out)
    assert not out.exists()


def test_adblock_odd_lines(tmp_path: Path) -> None:
    d, store = _build(tmp_path, b"$popup\n||\n||^\n|\n||tracker.test^$third-party\n"
                                b"||site.test^$popup\n||a*.test^\n/banner/\n", fmt="adblock")
    assert d["counts"]["domain"] == 1 and store.lookup("http://site.test/")
    assert store.lookup("http://tracker.test/") == []   # third-party-only rules do not block
    assert d["stats"]["unsupported"] + d["stats"]["invalid"] == 7


@pytest.mark.parametrize("fmt", ["domains", "hosts", "adblock", "urls", "expressions"])
def test_random_garbage_never_crashes(tmp_path: Path, fmt: str) -> None:
    import random
    rng = random.Random(fmt)
    pieces = ["||", "$", "@@", "*.", ".", "[", "]", "http://", "//", "0x", "::", "%", "|", "^",
              "#", "a.com", "1.2", "ä", "\u202e", "[[a]", "(?", "\\", "@", ":", "?"]
    lines = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 8))) for _ in range(400)]
    data = "\n".join(lines).encode() + bytes(rng.randrange(256) for _ in range(2000))
    d, store = _build(tmp_path, data, fmt=fmt)
    assert d["stats"]["lines"] > 400
    store.lookup("http://a.com/")
