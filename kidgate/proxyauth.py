"""Proxy sign-in: a device's user name and password checked against kidgate's password hashes
(``proxy_auth.users``) or a school's LDAP directory (``proxy_auth.ldap``), so that a shared
computer or a phone is recognised by who signed in, not by its address.

A password hash is slow to check on purpose (argon2, bcrypt: tens of milliseconds), an LDAP bind
waits on the network, and a browser repeats the same credentials on every plain-HTTP request.
So checks never run on the proxy's event loop: :meth:`ProxyAuthenticator.known` answers from
memory for a pair checked before (kept as a keyed digest, never the password), and
:meth:`ProxyAuthenticator.check` does the slow work on a thread (argon2-cffi, bcrypt and socket
waits release the interpreter lock). An address that fails :data:`MAX_FAILURES` times within
:data:`LOCKOUT` seconds is refused without a check until then.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from policies.config import LdapSettings, ProxyAuthSettings

log = logging.getLogger("kidgate")

#: How long a verified user name and password stay verified.
REMEMBER = 3600.0
#: Failed sign-ins from one address before it is locked out, and for how long.
MAX_FAILURES = 5
LOCKOUT = 900.0
_MAX_REMEMBERED = 4096


def hash_password(password: str) -> str:
    """An argon2id hash for ``proxy_auth.users`` (what ``kidgate passwd`` prints)."""
    from argon2 import PasswordHasher
    return PasswordHasher().hash(password)


def verify_hash(hashed: str, password: str) -> bool:
    """Does ``password`` match ``hashed`` (argon2 or bcrypt)? Slow; a bad hash is False."""
    if hashed.startswith("$argon2"):
        from argon2 import PasswordHasher
        from argon2.exceptions import InvalidHashError, VerificationError
        try:
            return PasswordHasher().verify(hashed, password)
        except (VerificationError, InvalidHashError):
            return False
    import bcrypt
    try:
        return bcrypt.checkpw(password.encode("utf-8"), hashed.encode("ascii"))
    except ValueError:
        return False


def ldap_bind(settings: LdapSettings, user: str, password: str) -> bool:
    """Sign in to the directory as the user: success means the password is theirs.

    An empty password is refused before asking: LDAP treats a bind with a name and no password
    as anonymous and lets it succeed."""
    import ldap3
    from ldap3.core.exceptions import LDAPException
    from ldap3.utils.dn import escape_rdn
    if not password:
        return False
    dn = settings.user_dn.replace("{user}", escape_rdn(user))
    server = ldap3.Server(settings.url, connect_timeout=settings.timeout,
                          use_ssl=settings.url.startswith("ldaps://"))
    conn = ldap3.Connection(server, user=dn, password=password,
                            receive_timeout=int(settings.timeout), raise_exceptions=False)
    try:
        return bool(conn.bind())
    except LDAPException as e:
        log.warning("kidgate: proxy sign-in: LDAP server %s: %s", settings.url, e)
        return False
    finally:
        conn.unbind()


class ProxyAuthenticator:
    """Checks proxy sign-ins for one configuration; thread-safe."""

    def __init__(self, settings: ProxyAuthSettings, *, remember: float = REMEMBER,
                 clock: Callable[[], float] = time.monotonic,
                 ldap: Callable[[LdapSettings, str, str], bool] = ldap_bind) -> None:
        self.settings = settings
        self.remember = remember
        self._clock = clock
        self._ldap = ldap
        self._key = secrets.token_bytes(32)  # the remembered digests mean nothing elsewhere
        self._verified: OrderedDict[bytes, float] = OrderedDict()
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    @property
    def required(self) -> bool:
        return self.settings.required

    def _digest(self, user: str, password: str) -> bytes:
        return hmac.new(self._key, f"{user}\0{password}".encode("utf-8", "surrogatepass"),
                        hashlib.sha256).digest()

    def known(self, user: str, password: str) -> bool:
        """True when this pair was verified lately: an answer without any slow work."""
        digest = self._digest(user, password)
        with self._lock:
            until = self._verified.get(digest)
            if until is None:
                return False
            if until < self._clock():
                del self._verified[digest]
                return False
            return True

    def check(self, user: str, password: str) -> bool:
        """Verify the pair (slow: call it on a thread) and remember a success."""
        hashed = self.settings.users.get(user)
        if hashed is not None:
            ok = verify_hash(hashed, password)
        elif self.settings.ldap is not None:
            ok = self._ldap(self.settings.ldap, user, password)
        else:
            ok = False
        if ok:
            with self._lock:
                self._verified[self._digest(user, password)] = self._clock() + self.remember
                while len(self._verified) > _MAX_REMEMBERED:
                    self._verified.popitem(last=False)
        return ok

    def locked_out(self, address: str) -> bool:
        now = self._clock()
        with self._lock:
            recent = [t for t in self._failures.get(address, ()) if now - t < LOCKOUT]
            if recent:
                self._failures[address] = recent
            else:
                self._failures.pop(address, None)
            return len(recent) >= MAX_FAILURES

    def failed(self, address: str) -> None:
        with self._lock:
            if len(self._failures) >= _MAX_REMEMBERED and address not in self._failures:
                self._failures.clear()  # a flood of addresses: forget rather than grow
            self._failures.setdefault(address, []).append(self._clock())
