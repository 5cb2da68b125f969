"""``requests list|approve|deny`` and ``reports list`` from the command line."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from reporting import access, cli
from reporting.access import ApprovalIndex
from reporting.store import Store
from tests.reporting.conftest import run_cli as _run

ROOT = Path(__file__).resolve().parents[2]


def test_list_approve_deny_in_a_real_process(tmp_path):
    db = tmp_path / "kidgate.db"
    store = Store(db)
    a = access.request_access(store, profile="ana", url="https://games.example/", category="gambling",
                              message="homework")
    b = access.request_access(store, profile="ben", url="https://chat.example/", category="social")
    out = _run("--db", str(db), "requests", "list")
    assert out.returncode == 0 and f"#{a.id}" in out.stdout and "homework" in out.stdout
    index = ApprovalIndex(store, check_interval=0)
    assert _run("--db", str(db), "requests", "approve", str(a.id), "--for", "1d",
                "--scope", "host", "--by", "mum").returncode == 0
    assert index.is_approved("ana", "https://games.example/x").approved_by == "mum"  # type: ignore[union-attr]
    assert _run("--db", str(db), "requests", "deny", str(b.id)).returncode == 0
    again = _run("--db", str(db), "requests", "deny", str(b.id))
    assert again.returncode == 1 and "already denied" in again.stderr
    bad = _run("--db", str(db), "requests", "approve", str(a.id), "--for", "2h")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    assert "no pending requests" in _run("--db", str(db), "requests", "list").stdout
    listed = _run("--db", str(db), "requests", "list", "--status", "all").stdout
    assert "approved by mum" in listed and "denied by cli" in listed


def test_revoke_blocks_again_in_a_real_process(tmp_path):
    db = tmp_path / "kidgate.db"
    store = Store(db)
    a = access.request_access(store, profile="ana", url="https://games.example/", category="gambling")
    pending = access.request_access(store, profile="ana", url="https://chat.example/",
                                    category="social")
    index = ApprovalIndex(store, check_interval=0)
    assert _run("--db", str(db), "requests", "approve", str(a.id), "--for", "always",
                "--scope", "host").returncode == 0
    assert index.is_approved("ana", "https://games.example/x") is not None
    out = _run("--db", str(db), "requests", "revoke", str(a.id), "--by", "mum")
    assert out.returncode == 0 and f"revoked #{a.id}" in out.stdout
    assert index.is_approved("ana", "https://games.example/x") is None
    assert access.get_request(store, a.id).status == "denied"
    assert "mum (revoked)" in _run("--db", str(db), "requests", "list", "--status", "denied").stdout
    for rid, why in ((a.id, "is denied, not approved"), (pending.id, "is pending"),
                     (999, "no access request 999")):
        bad = _run("--db", str(db), "requests", "revoke", str(rid))
        assert bad.returncode == 1 and why in bad.stderr


def test_register_into_the_main_cli_with_its_own_db_option(tmp_path, capsys):
    db = tmp_path / "kidgate.db"
    Store(db).add_report(url="https://bad.example/", category="hate", profile="ana", reason="",
                         hotline_country="RO")
    parser = argparse.ArgumentParser(prog="kidgate")
    parser.add_argument("--db")
    parser.add_argument("--data-dir", dest="data_dir")
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["--db", str(db), "reports", "list"])
    assert args.func(args) == 0
    assert "https://bad.example/" in capsys.readouterr().out
    args = parser.parse_args(["--data-dir", str(tmp_path), "reports", "list"])
    assert args.func(args) == 0 and "hotline=RO" in capsys.readouterr().out


def test_default_data_dir_follows_kidgate_home(tmp_path):
    db = tmp_path / "kidgate.db"
    access.request_access(Store(db), profile="ana", url="https://a.example/", category="social")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KIDGATE_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "reporting.cli", "requests", "list"], cwd=ROOT,
                         text=True, capture_output=True, env=env, timeout=60)
    assert out.returncode == 0 and "https://a.example/" in out.stdout
    missing = subprocess.run([sys.executable, "-m", "reporting.cli", "requests", "list",
                              "--data-dir", str(tmp_path / "nowhere")], cwd=ROOT, text=True,
                             capture_output=True, env=env, timeout=60)
    assert missing.returncode == 1 and "no database" in missing.stderr


def test_the_configured_database_is_used_and_a_bad_one_is_named(store, tmp_path):
    """``--config``: the database of the configuration, SQLite or the school's PostgreSQL."""
    req = access.request_access(store, profile="ana", url="https://games.example/",
                                category="gambling", message="homework")
    cfg = tmp_path / "kidgate.yaml"
    cfg.write_text(f"database: {{url: '{store.url}'}}\nprofiles: {{ana: {{age: 9}}}}\n")
    out = _run("requests", "list", "--config", str(cfg))
    assert out.returncode == 0 and f"#{req.id}" in out.stdout and "homework" in out.stdout
    assert _run("requests", "approve", str(req.id), "--config", str(cfg)).returncode == 0
    assert access.get_request(store, req.id).status == "approved"
    cfg.write_text("database: {url: 'postgresql+psycopg://kidgate:pw@127.0.0.1:1/kidgate'}\n"
                   "profiles: {ana: {age: 9}}\n")
    down = _run("reports", "list", "--config", str(cfg))
    assert down.returncode == 1 and "cannot use the database" in down.stderr
    assert ":pw@" not in down.stderr and "Traceback" not in down.stderr
    cfg.write_text("database: {url: 'mysql://x/y'}\nprofiles: {ana: {age: 9}}\n")
    bad = _run("requests", "list", "--config", str(cfg))
    assert bad.returncode == 1 and f"{cfg}:1: database.url: expected" in bad.stderr
