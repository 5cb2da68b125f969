"""Proxy sign-in checks: kidgate's own password hashes (argon2, bcrypt) and a real OpenLDAP
directory; verified pairs remembered without the password; lock-out after repeated failures;
the configuration refuses passwords in clear."""

from __future__ import annotations

import subprocess
import sys

import bcrypt
import pytest

from kidgate.proxyauth import (LOCKOUT, MAX_FAILURES, ProxyAuthenticator, hash_password,
                               ldap_bind, verify_hash)
from policies import config as config_mod
from policies.config import LdapSettings, ProxyAuthSettings
from tests.support import ldap


def test_argon2_and_bcrypt_hashes_are_checked() -> None:
    argon = hash_password("correct horse")
    bc = bcrypt.hashpw(b"battery staple", bcrypt.gensalt(rounds=4)).decode()
    assert verify_hash(argon, "correct horse") and not verify_hash(argon, "correct hors")
    assert verify_hash(bc, "battery staple") and not verify_hash(bc, "battery")
    assert not verify_hash("$argon2id$broken", "x") and not verify_hash("$2b$12$broken", "x")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_verified_pair_is_remembered_for_a_while_and_a_wrong_one_never() -> None:
    clock = Clock()
    auth = ProxyAuthenticator(ProxyAuthSettings(users={"mum": hash_password("correct horse")}),
                              remember=60, clock=clock)
    assert not auth.known("mum", "correct horse")
    assert auth.check("mum", "correct horse") and auth.known("mum", "correct horse")
    assert not auth.check("mum", "wrong") and not auth.known("mum", "wrong")
    assert not auth.check("dad", "correct horse")  # no such user, no directory
    clock.now += 61
    assert not auth.known("mum", "correct horse")  # checked again after a while


def test_an_address_is_locked_out_after_repeated_failures() -> None:
    clock = Clock()
    auth = ProxyAuthenticator(ProxyAuthSettings(users={"mum": hash_password("x" * 10)}),
                              clock=clock)
    for _ in range(MAX_FAILURES - 1):
        auth.failed("192.168.1.9")
    assert not auth.locked_out("192.168.1.9")
    auth.failed("192.168.1.9")
    assert auth.locked_out("192.168.1.9") and not auth.locked_out("192.168.1.10")
    clock.now += LOCKOUT + 1
    assert not auth.locked_out("192.168.1.9")


def test_a_pupil_signs_in_with_the_directorys_password(ldap_url: str) -> None:
    settings = LdapSettings(url=ldap_url, user_dn=ldap.USER_DN)
    assert ldap_bind(settings, "ana", ldap.PUPILS["ana"])
    assert not ldap_bind(settings, "ana", ldap.PUPILS["radu"])
    assert not ldap_bind(settings, "nobody", "whatever")
    assert not ldap_bind(settings, "ana", "")  # an empty password is an anonymous bind
    # A name that tries to change the DN is escaped, not interpreted.
    assert not ldap_bind(settings, "ana,ou=pupils", ldap.PUPILS["ana"])
    auth = ProxyAuthenticator(ProxyAuthSettings(ldap=settings))
    assert auth.check("radu", ldap.PUPILS["radu"]) and auth.known("radu", ldap.PUPILS["radu"])


def test_an_unreachable_directory_refuses_in_time() -> None:
    from tests.support.proxy import free_port
    settings = LdapSettings(url=f"ldap://127.0.0.1:{free_port()}", user_dn=ldap.USER_DN,
                            timeout=2)
    assert not ldap_bind(settings, "ana", "x")


@pytest.mark.parametrize("yaml, words", [
    ('proxy_auth: {users: {mum: "correct horse"}}', "never the password itself"),
    ("proxy_auth: {required: true}", "nobody could sign in"),
    ("proxy_auth: {users: {'a:b': '$2b$12$abc'}}", "no spaces or ':'"),
    ("proxy_auth: {ldap: {url: 'http://x', user_dn: 'uid={user},dc=x'}}", "ldaps://"),
    ("proxy_auth: {ldap: {url: 'ldap://x', user_dn: 'cn=admin'}}", "{user} once"),
    ("proxy_auth: {ldap: {url: 'ldap://x'}}", "missing key 'user_dn'"),
    ("proxy_auth: {required: yes please}", "true or false"),
    ("proxy_auth: {tokens: []}", "tokens"),
])
def test_bad_sign_in_settings_say_where(yaml: str, words: str) -> None:
    with pytest.raises(config_mod.ConfigError, match="proxy_auth") as e:
        config_mod.parse("profiles: {child: {age: 9}}\n" + yaml + "\n", "kidgate.yaml")
    assert words in str(e.value) and "kidgate.yaml:2" in str(e.value)


def test_kidgate_passwd_prints_a_hash_the_config_accepts() -> None:
    out = subprocess.run([sys.executable, "-m", "kidgate", "passwd", "mum"], input="long enough\n",
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "long enough" not in out.stdout
    cfg = config_mod.parse("profiles: {child: {age: 9}}\nproxy_auth:\n  users:\n" + out.stdout,
                           "kidgate.yaml")
    assert verify_hash(cfg.proxy_auth.users["mum"], "long enough")
    short = subprocess.run([sys.executable, "-m", "kidgate", "passwd", "mum"], input="short\n",
                           capture_output=True, text=True)
    assert short.returncode != 0 and "8 characters" in short.stderr and not short.stdout


_DEFERRED_LDAP = """
import sys, threading
from kidgate.cli import _defer_import
from kidgate.proxyauth import ldap_bind
from policies.config import LdapSettings
_defer_import("ldap3")  # as `kidgate run` does before mitmproxy imports it
import mitmproxy.tools.main
import mitmproxy.addons.proxyauth
print("loaded at start:", "pyasn1" in sys.modules or "ldap3.core" in sys.modules)
settings = LdapSettings(url=sys.argv[1], user_dn=sys.argv[2])
answers = {}
def sign_in(name, password):
    answers[name] = ldap_bind(settings, "ana", password)
threads = [threading.Thread(target=sign_in, args=(f"t{i}", sys.argv[3 + i % 2])) for i in range(6)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("answers:", [answers[f"t{i}"] for i in range(6)])
print("mitmproxy's name:", mitmproxy.addons.proxyauth.ldap3.Server.__module__)
"""


def test_the_proxy_loads_ldap3_only_when_a_directory_is_asked(ldap_url: str) -> None:
    """``kidgate run`` defers mitmproxy's ldap3 import (memory); sign-ins on several threads at
    once then load it and are answered as before, and mitmproxy's own reference to it works."""
    out = subprocess.run([sys.executable, "-c", _DEFERRED_LDAP, ldap_url, ldap.USER_DN,
                          ldap.PUPILS["ana"], ldap.PUPILS["radu"]],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "loaded at start: False",
        "answers: [True, False, True, False, True, False]",
        "mitmproxy's name: ldap3.core.server"]
