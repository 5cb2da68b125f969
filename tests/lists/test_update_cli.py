"""``lists update`` against a real local HTTP server, and the argparse integration."""

from __future__ import annotations

import argparse
import hashlib
import io
from pathlib import Path

import pytest

from lists import ListStore, Source, build_store
from lists.cli import register
from lists.update import RemoteSource, UpdateError, update
from tests.lists.conftest import make_tarball, make_ut1, write


@pytest.fixture
def served_tarball(http_dir: tuple[str, Path], tmp_path: Path) -> tuple[str, Path, bytes]:
    base, www = http_dir
    tree = make_ut1(tmp_path / "upstream")
    data = make_tarball(tree, www / "blacklists.tar.gz").read_bytes()
    return base, www, data


@pytest.fixture
def old_store(tmp_path: Path) -> Path:
    out = tmp_path / "live" / "lists.kglist"
    build_store([Source("old", str(write(tmp_path / "old.txt", "old.test\n")), "domains",
                        "gambling")], out)
    return out


def _still_old(path: Path) -> None:
    with ListStore.open(path, verify=True) as s:
        assert s.lookup("http://old.test/") and not s.lookup("http://porn.example/")
    leftovers = [p.name for p in path.parent.iterdir() if p.name != path.name]
    assert leftovers == []


def test_update_downloads_verifies_and_swaps(served_tarball: tuple[str, Path, bytes],
                                             old_store: Path) -> None:
    base, _, data = served_tarball
    progress = io.StringIO()
    report = update([RemoteSource("ut1", f"{base}/blacklists.tar.gz",
                                  sha256=hashlib.sha256(data).hexdigest(), min_bytes=100)],
                    old_store, progress=progress)
    assert report.entries > 5
    assert "ut1:" in progress.getvalue() and "100%" in progress.getvalue()
    with ListStore.open(old_store, verify=True) as s:
        assert s.lookup("http://porn.example/")[0].category == "sexual"
        assert not s.lookup("http://old.test/")
        assert s.info()["lists"][0]["source"].startswith(base)


@pytest.mark.parametrize("case", ["truncated", "corrupt", "lying", "checksum", "missing",
                                  "too_small", "not_ut1", "refused"])
def test_failed_update_keeps_last_good(case: str, served_tarball: tuple[str, Path, bytes],
                                       old_store: Path) -> None:
    base, www, data = served_tarball
    url, sha, min_bytes = f"{base}/blacklists.tar.gz", None, 100
    if case == "truncated":
        write(www / "t.tar.gz", data[: len(data) // 2])
        url = f"{base}/t.tar.gz"
    elif case == "corrupt":
        write(www / "c.tar.gz", data[:200] + bytes(b ^ 0x5A for b in data[200:]))
        url = f"{base}/c.tar.gz"
    elif case == "lying":
        url = f"{base}/lying/blacklists.tar.gz"
    elif case == "checksum":
        sha = "0" * 64
    elif case == "missing":
        url = f"{base}/nope.tar.gz"
    elif case == "too_small":
        min_bytes = len(data) + 1
    elif case == "not_ut1":
        import tarfile
        write(www / "x.txt", "hello")
        with tarfile.open(www / "n.tar.gz", "w:gz") as tar:
            tar.add(www / "x.txt", arcname="x.txt")
        url = f"{base}/n.tar.gz"
    elif case == "refused":
        url = "http://127.0.0.1:9/blacklists.tar.gz"
    with pytest.raises(UpdateError):
        update([RemoteSource("ut1", url, sha256=sha, min_bytes=min_bytes)], old_store,
               progress=None)
    _still_old(old_store)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kidgate")
    register(parser.add_subparsers(dest="command", required=True))
    return parser


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    args = _parser().parse_args(argv)
    rc = args.func(args)
    out, err = capsys.readouterr()
    return rc, out, err


def test_cli_build_info_update(tmp_path: Path, ut1_tree: Path,
                               served_tarball: tuple[str, Path, bytes],
                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli.kglist"
    extra = write(tmp_path / "porn.txt", "extra.test\nnot valid!\n")
    hot = write(tmp_path / "hot.txt", "secret.test\n")
    rc, text, _ = _run(["lists", "build", "--ut1", str(ut1_tree), "--add",
                        f"domains:sexual:{extra}", "--hotline", f"domains:{hot}",
                        "-o", str(out)], capsys)
    assert rc == 0 and "ut1/adult" in text and "porn" in text and "invalid" in text
    assert "secret" not in text
    rc, text, _ = _run(["lists", "info", str(out), "--verify"], capsys)
    assert rc == 0 and "ut1/gambling" in text and "hotline" in text and "csam" in text
    assert "gambling 2" in text
    rc, text, _ = _run(["lists", "info", str(out), "--json"], capsys)
    assert rc == 0 and '"entries"' in text

    base = served_tarball[0]
    rc, text, err = _run(["lists", "update", "--url", f"{base}/blacklists.tar.gz",
                          "--min-bytes", "100", "--add", f"domains:sexual:{extra}",
                          "-o", str(out)], capsys)
    assert rc == 0 and "MB" in err
    with ListStore.open(out) as s:
        assert s.lookup("http://extra.test/") and not s.lookup("http://secret.test/")
    rc, _, err = _run(["lists", "update", "--url", f"{base}/missing.tar.gz", "-o", str(out)],
                      capsys)
    assert rc == 1 and "previous lists are kept" in err
    with ListStore.open(out) as s:
        assert s.lookup("http://extra.test/")


def test_cli_rejects_bad_specs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(["lists", "build", "--add", "csv:sexual:x"])
    assert "FORMAT:CATEGORY:PATH" in capsys.readouterr().err
    rc, _, err = _run(["lists", "build", "-o", "/tmp/x.kglist"], capsys)
    assert rc == 2 and "at least one source" in err


def test_update_from_configuration_file(tmp_path: Path, served_tarball: tuple[str, Path, bytes],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    base = served_tarball[0]
    hot = write(tmp_path / "hot.txt", "bad.test/x\n")
    mine = write(tmp_path / "mine.txt", "mine.test\n")
    out = tmp_path / "var" / "lists.kglist"
    cfg = write(tmp_path / "kidgate.yaml", f"""
lists:
  path: {out}
  mapping: {{gambling: ignore}}
  sources:
    - {{name: upstream, url: "{base}/blacklists.tar.gz", format: ut1, min_bytes: 100}}
    - {{name: mine, path: "{mine}", format: domains, category: weapons}}
  hotline:
    - {{path: "{hot}", format: urls}}
""")
    rc, text, err = _run(["lists", "update", "--config", str(cfg)], capsys)
    assert rc == 0, err
    with ListStore.open(out) as s:
        assert s.lookup("http://porn.example/")[0].list_name == "upstream/adult"
        assert s.lookup("http://casino.example/") == []
        assert s.lookup("http://mine.test/")[0].category == "weapons"
        assert s.lookup("http://bad.test/x/y")[0].category == "csam"
    bad = write(tmp_path / "bad.yaml", "lists:\n  sources:\n    - {path: x, format: domains}\n")
    rc, _, err = _run(["lists", "build", "--config", str(bad), "-o", str(out)], capsys)
    assert rc == 1 and "category" in err


def test_published_checksum_file(served_tarball: tuple[str, Path, bytes], old_store: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    base, www, data = served_tarball
    write(www / "MD5SUM.LST", f"{'0' * 32}  other.tar.gz\n"
                              f"{hashlib.md5(data).hexdigest()}  blacklists.tar.gz\n")
    write(www / "bad.md5", f"{'f' * 32}  blacklists.tar.gz\n")
    rc, _, err = _run(["lists", "update", "--url", f"{base}/blacklists.tar.gz", "--checksum-url",
                       f"{base}/bad.md5", "-o", str(old_store)], capsys)
    assert rc == 1 and "MD5 mismatch" in err
    _still_old(old_store)
    rc, _, err = _run(["lists", "update", "--url", f"{base}/blacklists.tar.gz", "--checksum-url",
                       f"{base}/MD5SUM.LST", "-o", str(old_store)], capsys)
    assert rc == 0, err
    with ListStore.open(old_store) as s:
        assert s.lookup("http://porn.example/")


def test_an_archive_cut_off_after_its_first_file_is_refused(
        served_tarball: tuple[str, Path, bytes], old_store: Path) -> None:
    """tarfile lists the first members of such an archive without complaint; the update must
    not replace the lists with the handful of entries it holds."""
    base, www, data = served_tarball
    (www / "cut.tar.gz").write_bytes(data[:300] + b"\x00" * 5000)
    with pytest.raises(UpdateError, match="corrupt or truncated"):
        update([RemoteSource("ut1", f"{base}/cut.tar.gz", min_bytes=100)], old_store)
    _still_old(old_store)


def test_lists_that_shrink_to_less_than_half_are_refused_unless_allowed(
        served_tarball: tuple[str, Path, bytes], tmp_path: Path) -> None:
    base, _, _ = served_tarball
    big = tmp_path / "live" / "lists.kglist"
    many = "".join(f"site{i}.test\n" for i in range(100))
    build_store([Source("big", str(write(tmp_path / "big.txt", many)), "domains", "gambling")],
                big)
    src = [RemoteSource("ut1", f"{base}/blacklists.tar.gz", min_bytes=100)]
    with pytest.raises(UpdateError, match="entries, the lists in use 100"):
        update(src, big)
    with ListStore.open(big) as s:
        assert s.lookup("http://site7.test/")
    assert update(src, big, min_ratio=0).entries < 100
