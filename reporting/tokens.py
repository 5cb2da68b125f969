"""Signed, expiring tokens for the internal pages.

A token binds an action (``report``, ``ask``) to the URL, category, profile, reason and
language of one block, with an expiry and a random nonce, signed with HMAC-SHA256. A
``decide`` token (a parent's one-click answer to an access request) also binds the request
id and the decision, so a link can do only the one thing its text says. Only the
proxy knows the secret, so no other web page can make a child's browser file a report or a
request. One-shot actions consume the nonce in the store, so a token works once.

Format: ``base64url(json payload) "." base64url(mac)``: URL-safe without escaping.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from reporting.urls import check_url

ACTIONS = frozenset({"report", "ask", "decide"})
#: What a ``decide`` token may do: (duration, scope) for approvals, ``None`` for deny.
DECISIONS: dict[str, tuple[str, str] | None] = {
    "approve_1h": ("1h", "url"), "approve_1d": ("1d", "url"),
    "approve_always": ("always", "host"), "deny": None}
DEFAULT_TTL = 3600.0
#: Decision links wait in a parent's mailbox; a week covers a weekend away.
DECIDE_TTL = 7 * 86400.0
MAX_TOKEN_LENGTH = 12_000
SECRET_FILE = "reporting.key"
_VERSION = 1


class TokenError(Exception):
    """A refused token; ``kind`` is missing, malformed, forged, expired, wrong_action or replayed."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class ReplayGuard(Protocol):
    def consume_nonce(self, nonce: str, expires: float) -> bool: ...


@dataclass(frozen=True, slots=True)
class Claims:
    action: str
    url: str
    category: str | None
    profile: str
    reason: str
    language: str
    expires: float
    nonce: str
    request_id: int | None = None
    decision: str | None = None


class Signer:
    """Issues and verifies tokens with one secret."""

    def __init__(self, secret: bytes, ttl: float = DEFAULT_TTL) -> None:
        if len(secret) < 16:
            raise ValueError("token secret must be at least 16 bytes")
        self._key = secret
        self.ttl = ttl

    def issue(self, action: str, *, url: str, category: str | None, profile: str,
              reason: str = "", language: str = "en", ttl: float | None = None,
              now: float | None = None, request_id: int | None = None,
              decision: str | None = None) -> str:
        if action not in ACTIONS:
            raise ValueError(f"unknown token action {action!r}")
        _check_decision(action, request_id, decision)
        check_url(url)
        now = time.time() if now is None else now
        payload = {"v": _VERSION, "a": action, "u": url, "c": category, "p": profile,
                   "r": reason[:300], "l": language[:8],
                   "x": int(now + (self.ttl if ttl is None else ttl)),
                   "n": secrets.token_urlsafe(12)}
        if action == "decide":  # other tokens keep their exact old shape
            payload.update(i=request_id, d=decision)
        body = _b64(json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode())
        return f"{body}.{_b64(self._mac(body))}"

    def verify(self, token: object, action: str, *, replay: ReplayGuard | None = None,
               now: float | None = None) -> Claims:
        """The token's claims, or :class:`TokenError`. With ``replay`` the token is consumed."""
        if not isinstance(token, str) or not token:
            raise TokenError("missing", "the link has no token")
        if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 1:
            raise TokenError("malformed", "the token is malformed")
        body, mac = token.split(".")
        try:
            given = _unb64(mac)
        except ValueError:
            raise TokenError("malformed", "the token is malformed") from None
        if not hmac.compare_digest(given, self._mac(body)):
            raise TokenError("forged", "the token's signature is not valid")
        try:
            p = json.loads(_unb64(body))
            claims = Claims(str(p["a"]), check_url(p["u"]),
                            None if p["c"] is None else str(p["c"]), str(p["p"]),
                            str(p["r"]), str(p["l"]), float(p["x"]), str(p["n"]),
                            p.get("i"), p.get("d"))
            if p["v"] != _VERSION:
                raise ValueError("version")
            _check_decision(claims.action, claims.request_id, claims.decision)
        except (ValueError, KeyError, TypeError):
            raise TokenError("malformed", "the token is malformed") from None
        if claims.action != action:
            raise TokenError("wrong_action", f"this token is not for {action}")
        if claims.expires < (time.time() if now is None else now):
            raise TokenError("expired", "the link has expired")
        if replay is not None and not replay.consume_nonce(claims.nonce, claims.expires):
            raise TokenError("replayed", "the link was already used")
        return claims

    def _mac(self, body: str) -> bytes:
        return hmac.new(self._key, b"kidgate-token:" + body.encode("ascii", "replace"),
                        hashlib.sha256).digest()


def _check_decision(action: str, request_id: object, decision: object) -> None:
    """A ``decide`` token names one request and one known decision; other tokens neither."""
    if action != "decide":
        if request_id is not None or decision is not None:
            raise ValueError("only decide tokens carry a request id and a decision")
        return
    if not isinstance(request_id, int) or isinstance(request_id, bool) or request_id < 1:
        raise ValueError("a decide token needs a positive request id")
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(DECISIONS)}")


def issue(secret: bytes, action: str, **fields: object) -> str:
    return Signer(secret).issue(action, **fields)  # type: ignore[arg-type]


def verify(secret: bytes, token: object, action: str, *, replay: ReplayGuard | None = None,
           now: float | None = None) -> Claims:
    return Signer(secret).verify(token, action, replay=replay, now=now)


def load_or_create_secret(data_dir: str | os.PathLike[str]) -> bytes:
    """The secret in ``data_dir/reporting.key`` (0600), created on first run.

    Created under a temporary name and linked into place, so concurrent workers starting
    together all end up with the same secret.
    """
    path = Path(data_dir) / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = path.with_name(f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_bytes(32))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    secret = path.read_bytes()
    if len(secret) < 16:
        raise ValueError(f"{path}: secret is too short; delete it to create a new one")
    return secret


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or any(c not in _B64_CHARS for c in text):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as e:
        raise ValueError("not base64url") from e


_B64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
