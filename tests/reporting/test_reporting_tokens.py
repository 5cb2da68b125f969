"""Tokens: a forged, expired, tampered, replayed or misused token is refused."""

from __future__ import annotations

import base64
import json
import os
import stat
import time

import pytest

from reporting import tokens
from reporting.tokens import Signer, TokenError, load_or_create_secret


def _issue(signer: Signer, **kw: object) -> str:
    fields = {"url": "https://bad.example/p?q=1", "category": "sexual", "profile": "ana",
              "reason": "list ut1", "language": "ro"}
    fields.update(kw)
    return signer.issue("report", **fields)  # type: ignore[arg-type]


def _kind(signer: Signer, token: object, action: str = "report", **kw: object) -> str:
    with pytest.raises(TokenError) as e:
        signer.verify(token, action, **kw)  # type: ignore[arg-type]
    return e.value.kind


def test_round_trip_binds_every_field(signer):
    c = signer.verify(_issue(signer), "report")
    assert (c.action, c.url, c.category, c.profile, c.reason, c.language) == (
        "report", "https://bad.example/p?q=1", "sexual", "ana", "list ut1", "ro")
    assert c.expires > time.time() and len(c.nonce) >= 16


def test_token_is_url_safe(signer):
    assert set(_issue(signer)) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789-_.")


def test_forged_with_another_secret(signer):
    assert _kind(signer, _issue(Signer(b"z" * 32))) == "forged"


def test_tampered_payload(signer):
    body, mac = _issue(signer).split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["u"] = "https://other.example/"
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    assert _kind(signer, f"{forged}.{mac}") == "forged"
    assert _kind(signer, f"{body}.{mac[:-2]}AA") == "forged"


def test_expired(signer):
    token = _issue(signer, ttl=10, now=time.time() - 60)
    assert _kind(signer, token) == "expired"


def test_wrong_action(signer):
    assert _kind(signer, _issue(signer), "ask") == "wrong_action"


@pytest.mark.parametrize("token", [None, "", "abc", "a.b.c", "!!.??", "x" * 20_000, 42])
def test_missing_or_malformed(signer, token):
    assert _kind(signer, token) in {"missing", "malformed", "forged"}


def test_replayed_one_shot_token(signer, store):
    token = _issue(signer)
    signer.verify(token, "report", replay=store)
    assert _kind(signer, token, replay=store) == "replayed"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<b>x</b>",
                                 "https://x.example/\r\nSet-Cookie: a=b", "/relative",
                                 "https://x.example/" + "a" * 5000])
def test_unreportable_urls_are_not_signed(signer, url):
    with pytest.raises(ValueError):
        _issue(signer, url=url)


def test_signed_payload_with_bad_url_is_refused(signer):
    """Even a correctly signed token must carry an http(s) URL."""
    body = base64.urlsafe_b64encode(json.dumps(
        {"v": 1, "a": "report", "u": "javascript:alert(1)", "c": None, "p": "a", "r": "",
         "l": "en", "x": time.time() + 60, "n": "n" * 16}).encode()).rstrip(b"=").decode()
    mac = base64.urlsafe_b64encode(signer._mac(body)).rstrip(b"=").decode()
    assert _kind(signer, f"{body}.{mac}") == "malformed"


def test_module_functions(signer):
    secret = b"s" * 32
    token = tokens.issue(secret, "ask", url="https://a.example/", category=None, profile="p")
    assert tokens.verify(secret, token, "ask").profile == "p"


def test_secret_created_once_private_and_stable(tmp_path):
    first = load_or_create_secret(tmp_path)
    assert len(first) == 32 and load_or_create_secret(tmp_path) == first
    mode = stat.S_IMODE(os.stat(tmp_path / tokens.SECRET_FILE).st_mode)
    assert mode == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [tokens.SECRET_FILE]
