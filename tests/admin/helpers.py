"""Helpers for admin tests: a decision log to read, an app on a real database, form tokens."""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from admin import AdminContext, accounts, create_app
from storage import Database

CONFIG = """\
# The family's file: comments and layout survive edits from the admin app.
profiles:
  anna:
    age: 9      # Anna
    deny: [tiktok.com]
  ben: {age: 14}
default_profile: anna
"""
PASSWORD = "correct horse battery"

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def decision(host: str, *, action: str = "block", profile: str = "anna",
             category: str | None = "gambling", client: str = "192.168.1.23",
             reasons: list[str] | None = None, sources: list[str] | None = None,
             ts: float | None = None, phase: str = "request") -> dict[str, object]:
    return {"ts": round(ts if ts is not None else time.time() - 60, 3), "client": client,
            "profile": profile, "host": host, "phase": phase, "method": "GET",
            "action": action, "category": category if action == "block" else None,
            "min_age": 18 if action == "block" else None,
            "sources": sources if sources is not None else (["list"] if action == "block" else []),
            "reasons": reasons if reasons is not None else
            ([f"list {category} ({host})"] if action == "block" else [])}


def write_log(data_dir: Path, records: list[dict[str, object]]) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / "decisions.jsonl").open("a") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def csrf(html: str) -> str:
    m = _CSRF.search(html)
    assert m, "no CSRF token on the page"
    return m.group(1)


@dataclass
class Env:
    app: Flask
    db: Database
    data_dir: Path
    config_path: Path

    def client(self, address: str = "127.0.0.1") -> FlaskClient:
        c = self.app.test_client()
        c.environ_base["REMOTE_ADDR"] = address
        return c

    def setup_owner(self, client: FlaskClient, username: str = "owner") -> None:
        code = accounts.new_setup_code(self.db)
        page = client.get("/setup")
        r = client.post("/setup", data={"csrf": csrf(page.text), "code": code,
                                        "username": username, "password": PASSWORD,
                                        "confirm": PASSWORD, "language": "en"})
        assert r.status_code == 302, r.text

    def sign_in(self, client: FlaskClient, username: str, password: str = PASSWORD,
                next: str = "") -> object:
        page = client.get("/sign-in")
        data = {"csrf": csrf(page.text), "username": username, "password": password}
        if next:
            data["next"] = next
        return client.post("/sign-in", data=data)

    def owner_client(self) -> FlaskClient:
        c = self.client()
        self.setup_owner(c)
        return c

    def romanian_owner_client(self) -> FlaskClient:
        """A second owner who reads the admin app in Romanian, signed in (the first owner,
        who reads English, is set up on the way)."""
        self.owner_client()
        accounts.create_account(self.db, username="mama", password=PASSWORD, role="owner",
                                language="ro")
        mama = self.client()
        self.sign_in(mama, "mama")
        return mama

    def reader(self, lang: str) -> FlaskClient:
        """An owner signed in who reads the admin app in ``lang`` (``en`` or ``ro``)."""
        return self.romanian_owner_client() if lang == "ro" else self.owner_client()


class _VisibleText(HTMLParser):
    """The text a reader sees: text nodes, not tags or attribute values; ``<code>`` (where a
    page shows a key on purpose), scripts and styles left out."""

    HIDDEN = frozenset({"code", "script", "style"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hidden += tag in self.HIDDEN

    def handle_endtag(self, tag: str) -> None:
        self.hidden -= tag in self.HIDDEN and self.hidden > 0

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def visible_text(page: str) -> str:
    """``page``'s visible text, entities decoded, on one line per text node."""
    parser = _VisibleText()
    parser.feed(page)
    parser.close()
    return "\n".join(p.strip() for p in parser.parts if p.strip())


def assert_mistake_shown_and_file_unchanged(env: Env, send: Callable[[], TestResponse],
                                            field: str, words: str) -> TestResponse:
    """``send()`` posts a form with a mistake: it must be refused (400) with the message next to
    ``field`` (the ``e-FIELD`` element) containing ``words``, and leave the configuration file
    byte for byte as it was, its backup too. Returns the answer for further checks."""
    backup = env.config_path.with_name(env.config_path.name + ".bak")
    before, had_backup = env.config_path.read_bytes(), backup.exists()
    r = send()
    assert r.status_code == 400, r.text
    assert f'id="e-{field}"' in r.text, r.text
    assert words in html.unescape(r.text)
    assert env.config_path.read_bytes() == before
    assert backup.exists() == had_backup
    return r


def make_env(tmp: Path, url: str, config: str | None = CONFIG) -> Env:
    data_dir = tmp / "data"
    data_dir.mkdir(exist_ok=True)
    cfg = tmp / "kidgate.yaml"
    if config is not None:
        cfg.write_text(config)
    db = Database(url)
    db.upgrade()
    app = create_app(AdminContext(db=db, data_dir=data_dir,
                                  config_path=cfg if config is not None else None),
                     testing=True)
    return Env(app, db, data_dir, cfg)
