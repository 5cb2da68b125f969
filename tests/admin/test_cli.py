"""``kidgate admin setup-code`` and the admin app's start beside the proxy."""

from __future__ import annotations

import re

from admin import accounts
from kidgate.cli import main
from storage import Database
from tests.admin.helpers import PASSWORD


def test_setup_code_prints_a_new_code_until_the_owner_exists(tmp_path, capsys) -> None:
    assert main(["admin", "setup-code", "--data-dir", str(tmp_path)]) == 0
    first = capsys.readouterr().out.strip()
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", first)
    assert main(["admin", "setup-code", "--data-dir", str(tmp_path)]) == 0
    second = capsys.readouterr().out.strip()
    db = Database.open(tmp_path)
    try:
        accounts.complete_setup(db, code=second, username="mum", password=PASSWORD,
                                confirm=PASSWORD)
    finally:
        db.dispose()
    assert main(["admin", "setup-code", "--data-dir", str(tmp_path)]) == 1
    assert "already set up" in capsys.readouterr().err


def test_the_admin_app_can_be_turned_off(tmp_path, capsys) -> None:
    from admin import server
    from policies import config
    cfg = config.parse("admin: {enabled: false}\nprofiles: {kid: {age: 9}}\n")
    assert server.start(cfg, None, tmp_path) is None
    assert not (tmp_path / "kidgate.db").exists()
