"""Local servers for reporting tests: SMTP (aiosmtpd) and a webhook receiver, on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from reporting.store import Store
from reporting.tokens import Signer


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """An empty store: on SQLite (``kidgate.db`` in ``tmp_path``), then on a new database of
    the real PostgreSQL server the suite starts."""
    s = Store(database_url)
    yield s
    s.close()


@pytest.fixture
def signer() -> Signer:
    return Signer(b"k" * 32)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.event = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        self.event.set()
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, _Inbox]]:
    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


class _Hooks:
    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], object]] = []
        self.status = 200


@pytest.fixture
def webhook_server() -> Iterator[tuple[str, _Hooks]]:
    hooks = _Hooks()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            hooks.posts.append((dict(self.headers), json.loads(body)))
            self.send_response(hooks.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", hooks
    finally:
        server.shutdown()
        server.server_close()


def run_cli(*args: str) -> "subprocess.CompletedProcess[str]":
    """``python -m reporting.cli ARGS`` in a real process, from the repository root."""
    import os
    import subprocess
    import sys
    root = Path(__file__).resolve().parents[2]
    return subprocess.run([sys.executable, "-m", "reporting.cli", *args], cwd=root, text=True,
                          capture_output=True, env={**os.environ, "PYTHONPATH": str(root)},
                          timeout=60)


def alert_config(smtp_port: int | None, hook: str | None, rule: dict[str, object],
                 sender: str, recipient: str) -> dict[str, object]:
    """An ``alerts:`` section with one rule, sending to the test SMTP server (from ``sender``
    to ``recipient``) and/or the test webhook."""
    r = dict(rule)
    if smtp_port:
        r.setdefault("email", [recipient])
    if hook:
        r["webhook"] = hook
    cfg: dict[str, object] = {"rules": [r]}
    if smtp_port:
        cfg["smtp"] = {"host": "127.0.0.1", "port": smtp_port, "from": sender}
    return cfg


def mail_part(raw: bytes, subtype: str = "plain") -> str:
    """The text (``plain``) or ``html`` part of a message the test SMTP server received."""
    part = email.message_from_bytes(raw, policy=email.policy.default).get_body((subtype,))
    assert part is not None, f"the message has no text/{subtype} part"
    return part.get_content().replace("\r\n", "\n")
