"""Accounts, sign-in sessions, the brute-force limit and the one-time setup code.

Everything here is plain functions over the database, so the web views stay thin and the rules
(no default password, slow salted hashes, 5 failures from an address lock it for 15 minutes,
sessions rotated at sign-in) are tested without a browser.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass

import pyotp
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from admin.i18n import FormErrors, Message
from pages import N_
from storage import ROLES, Database
from storage import tables as t

MAX_FAILURES = 5
LOCKOUT_SECONDS = 15 * 60
#: A signed-in session lasts a working day without use, at most a week in all.
IDLE_SECONDS = 12 * 3600
SESSION_SECONDS = 7 * 86400
#: A session made for a sign-in form only (it carries the form's CSRF token).
ANONYMOUS_SECONDS = 3600
MIN_PASSWORD = 10
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
#: Setup-code letters: no 0/O or 1/I/L to misread from a terminal.
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_SETUP_KEY = "setup_code_sha256"

_hasher = PasswordHasher()
#: Compared against when the user name is unknown, so that answers take as long either way.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    username: str
    role: str
    profiles: tuple[str, ...]
    language: str
    totp: bool = False


@dataclass(frozen=True, slots=True)
class Session:
    id: int
    token: str
    csrf: str
    account: Account | None


class FieldErrors(ValueError):
    """Form input that cannot be used: field name -> message, shown next to the field."""

    def __init__(self, errors: FormErrors) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _account(row: sa.Row) -> Account:
    return Account(row.id, row.username, row.role, tuple(json.loads(row.profiles or "[]")),
                   row.language, bool(row.totp_secret))


# -- setup ---------------------------------------------------------------------------------

def has_owner(db: Database) -> bool:
    with db.engine.connect() as conn:
        return conn.execute(sa.select(t.accounts.c.id).where(t.accounts.c.role == "owner")
                            .limit(1)).first() is not None


def new_setup_code(db: Database) -> str | None:
    """A fresh one-time code for the first visit (replacing any earlier one); None once an
    owner exists. Only its hash is stored."""
    if has_owner(db):
        return None
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
    code = "-".join(raw[i:i + 4] for i in range(0, 12, 4))
    with db.engine.begin() as conn:
        conn.execute(t.settings.delete().where(t.settings.c.key == _SETUP_KEY))
        conn.execute(t.settings.insert().values(key=_SETUP_KEY, value=_sha(raw)))
    return code


def _normalise_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code).upper()


def validate_new_account(username: str, password: str, confirm: str | None = None,
                         role: str = "owner") -> FormErrors:
    errors: FormErrors = {}
    if not USERNAME_RE.fullmatch(username):
        errors["username"] = N_("Use 1 to 64 lower-case letters, digits, dots, dashes or "
                                "underscores, starting with a letter or digit.")
    if len(password) < MIN_PASSWORD:
        errors["password"] = Message(N_("Use at least {n} characters."), n=MIN_PASSWORD)
    elif len(password) > 1024:
        errors["password"] = N_("Use at most 1024 characters.")
    elif password.lower() == username.lower():
        errors["password"] = N_("The password must not be the user name.")
    if confirm is not None and "password" not in errors and confirm != password:
        errors["confirm"] = N_("The two passwords differ.")
    if role not in ROLES:
        errors["role"] = Message(N_("“{role}” is not a role: choose one of {roles}."), role=role,
                                 roles=tuple(Message(r) for r in ROLES))
    return errors


def complete_setup(db: Database, *, code: str, username: str, password: str, confirm: str,
                   language: str = "en", now: float | None = None) -> Account:
    """Check the setup code and create the owner, in one transaction: two visitors racing
    cannot both become owner, and a used code is gone."""
    errors = validate_new_account(username, password, confirm)
    now = time.time() if now is None else now
    with db.engine.begin() as conn:
        stored = conn.execute(sa.select(t.settings.c.value)
                              .where(t.settings.c.key == _SETUP_KEY)).scalar()
        owner = conn.execute(sa.select(t.accounts.c.id)
                             .where(t.accounts.c.role == "owner").limit(1)).first()
        if owner is not None or stored is None:
            raise FieldErrors({"code": N_("kidgate is already set up: sign in instead.")})
        if not hmac.compare_digest(stored, _sha(_normalise_code(code))):
            errors = {"code": N_("This is not the setup code kidgate printed."), **errors}
            raise FieldErrors(errors)
        if errors:
            raise FieldErrors(errors)
        aid = conn.execute(t.accounts.insert().values(
            username=username, password_hash=_hasher.hash(password), role="owner",
            profiles="[]", language=language, created=now)).inserted_primary_key[0]
        conn.execute(t.settings.delete().where(t.settings.c.key == _SETUP_KEY))
    return Account(int(aid), username, "owner", (), language)


def create_account(db: Database, *, username: str, password: str, role: str,
                   profiles: tuple[str, ...] = (), language: str = "en",
                   now: float | None = None) -> Account:
    errors = validate_new_account(username, password, None, role)
    if errors:
        raise FieldErrors(errors)
    try:
        with db.engine.begin() as conn:
            aid = conn.execute(t.accounts.insert().values(
                username=username, password_hash=_hasher.hash(password), role=role,
                profiles=json.dumps(list(profiles)), language=language,
                created=time.time() if now is None else now)).inserted_primary_key[0]
    except sa.exc.IntegrityError:
        raise FieldErrors({"username": N_("This user name is taken.")}) from None
    return Account(int(aid), username, role, profiles, language)


def change_password(db: Database, account: Account, *, current: str, new: str, confirm: str,
                    keep_session: int | None = None) -> None:
    """Check the current password, set the new one and end every other session of the
    account: a password changed because it leaked also signs the intruder out."""
    errors = {k: v for k, v in validate_new_account(account.username, new, confirm).items()
              if k != "username"}
    if errors.get("password"):
        errors["new"] = errors.pop("password")
    if check_password(db, account.username, current) is None:
        errors = {"current": N_("This is not your current password."), **errors}
    if errors:
        raise FieldErrors(errors)
    with db.engine.begin() as conn:
        conn.execute(t.accounts.update().where(t.accounts.c.id == account.id)
                     .values(password_hash=_hasher.hash(new)))
        conn.execute(t.sessions.delete().where(t.sessions.c.account_id == account.id,
                                               t.sessions.c.id != (keep_session or -1)))


def remove_account(db: Database, account_id: int) -> None:
    """Delete an account and, through the foreign key, its sessions. The last owner stays."""
    with db.engine.begin() as conn:
        row = conn.execute(sa.select(t.accounts).where(t.accounts.c.id == account_id)).first()
        if row is None:
            raise KeyError(account_id)
        if row.role == "owner":
            owners = conn.execute(sa.select(sa.func.count()).select_from(t.accounts)
                                  .where(t.accounts.c.role == "owner")).scalar()
            if owners <= 1:
                raise ValueError(N_("the last owner cannot be removed"))
        conn.execute(t.sessions.delete().where(t.sessions.c.account_id == account_id))
        conn.execute(t.accounts.delete().where(t.accounts.c.id == account_id))


def list_accounts(db: Database) -> list[Account]:
    with db.engine.connect() as conn:
        return [_account(r) for r in conn.execute(sa.select(t.accounts)
                                                  .order_by(t.accounts.c.username))]


# -- brute-force limit ---------------------------------------------------------------------

def locked_for(db: Database, address: str, now: float | None = None) -> float:
    """Seconds this address must still wait; 0 when it may try."""
    now = time.time() if now is None else now
    with db.engine.connect() as conn:
        times = [r.ts for r in conn.execute(
            sa.select(t.sign_in_failures.c.ts)
            .where(t.sign_in_failures.c.address == address,
                   t.sign_in_failures.c.ts > now - LOCKOUT_SECONDS)
            .order_by(t.sign_in_failures.c.ts.desc()).limit(MAX_FAILURES))]
    if len(times) < MAX_FAILURES:
        return 0.0
    return max(0.0, times[0] + LOCKOUT_SECONDS - now)


def record_failure(db: Database, address: str, now: float | None = None) -> None:
    now = time.time() if now is None else now
    with db.engine.begin() as conn:
        conn.execute(t.sign_in_failures.insert().values(address=address, ts=now))
        conn.execute(t.sign_in_failures.delete()
                     .where(t.sign_in_failures.c.ts < now - LOCKOUT_SECONDS))


def check_password(db: Database, username: str, password: str) -> Account | None:
    with db.engine.connect() as conn:
        row = conn.execute(sa.select(t.accounts).where(t.accounts.c.username == username,
                                                       t.accounts.c.disabled.is_(False))).first()
    try:
        _hasher.verify(row.password_hash if row is not None else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None:
        return None
    if _hasher.check_needs_rehash(row.password_hash):
        with db.engine.begin() as conn:
            conn.execute(t.accounts.update().where(t.accounts.c.id == row.id)
                         .values(password_hash=_hasher.hash(password)))
    return _account(row)


# -- two-step sign-in (TOTP) ----------------------------------------------------------------

TOTP_STEP = 30


def new_totp_secret() -> str:
    return pyotp.random_base32()


def valid_totp_secret(secret: str) -> bool:
    return re.fullmatch(r"[A-Z2-7]{16,64}", secret) is not None


def totp_uri(secret: str, username: str) -> str:
    """What an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name="kidgate")


def _totp_step(secret: str, code: str, after: int | None, now: float) -> int | None:
    """The time step ``code`` belongs to (this one or a neighbour, for clock drift), if it is
    later than ``after``: a code works once."""
    code = re.sub(r"\s", "", code)
    if not re.fullmatch(r"\d{6}", code):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now // TOTP_STEP)
    for step in (current - 1, current, current + 1):
        if (after is None or step > after) and \
                hmac.compare_digest(totp.at(step * TOTP_STEP), code):
            return step
    return None


def enable_totp(db: Database, account: Account, *, secret: str, code: str,
                now: float | None = None) -> None:
    """Turn two-step sign-in on once the app shows a right code for ``secret``."""
    now = time.time() if now is None else now
    if not valid_totp_secret(secret):
        raise FieldErrors({"code": N_("Start again: the secret was damaged.")})
    step = _totp_step(secret, code, None, now)
    if step is None:
        raise FieldErrors({"code": N_("This is not the code the app shows now.")})
    with db.engine.begin() as conn:
        conn.execute(t.accounts.update().where(t.accounts.c.id == account.id)
                     .values(totp_secret=secret, totp_last_step=step))


def disable_totp(db: Database, account: Account, *, password: str) -> None:
    if check_password(db, account.username, password) is None:
        raise FieldErrors({"password": N_("This is not your current password.")})
    with db.engine.begin() as conn:
        conn.execute(t.accounts.update().where(t.accounts.c.id == account.id)
                     .values(totp_secret=None, totp_last_step=None))


def check_totp(db: Database, account: Account, code: str, now: float | None = None) -> bool:
    """True for an account without two-step sign-in, or for a right, unused code."""
    if not account.totp:
        return True
    now = time.time() if now is None else now
    with db.engine.begin() as conn:
        row = conn.execute(sa.select(t.accounts.c.totp_secret, t.accounts.c.totp_last_step)
                           .where(t.accounts.c.id == account.id)).first()
        if row is None or not row.totp_secret:
            return row is not None
        step = _totp_step(row.totp_secret, code, row.totp_last_step, now)
        if step is None:
            return False
        # Compare-and-set: two sign-ins racing with one code cannot both win.
        return conn.execute(t.accounts.update().where(
            t.accounts.c.id == account.id,
            sa.or_(t.accounts.c.totp_last_step.is_(None), t.accounts.c.totp_last_step < step))
            .values(totp_last_step=step)).rowcount == 1


# -- sessions ------------------------------------------------------------------------------

def start_session(db: Database, account: Account | None, address: str,
                  now: float | None = None) -> Session:
    """A new session with a new cookie value and CSRF token. Called at every sign-in, so a
    cookie planted before sign-in is never the signed-in one."""
    now = time.time() if now is None else now
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = now + (IDLE_SECONDS if account else ANONYMOUS_SECONDS)
    with db.engine.begin() as conn:
        conn.execute(t.sessions.delete().where(t.sessions.c.expires < now))
        sid = conn.execute(t.sessions.insert().values(
            token_hash=_sha(token), account_id=account.id if account else None, csrf=csrf,
            address=address[:64], created=now, last_seen=now,
            expires=expires)).inserted_primary_key[0]
    return Session(int(sid), token, csrf, account)


def load_session(db: Database, token: str | None, now: float | None = None) -> Session | None:
    """The live session of a cookie value, its idle time extended; None if none."""
    if not token or len(token) > 128:
        return None
    now = time.time() if now is None else now
    with db.engine.connect() as conn:
        row = conn.execute(sa.select(t.sessions).where(
            t.sessions.c.token_hash == _sha(token), t.sessions.c.expires >= now)).first()
        if row is None:
            return None
        account = None
        if row.account_id is not None:
            arow = conn.execute(sa.select(t.accounts).where(
                t.accounts.c.id == row.account_id, t.accounts.c.disabled.is_(False))).first()
            if arow is None:
                return None
            account = _account(arow)
    if account is not None and now - row.last_seen > 60:
        with db.engine.begin() as conn:
            conn.execute(t.sessions.update().where(t.sessions.c.id == row.id).values(
                last_seen=now, expires=min(now + IDLE_SECONDS, row.created + SESSION_SECONDS)))
    return Session(row.id, token, row.csrf, account)


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: int
    address: str
    created: float
    last_seen: float


def list_sessions(db: Database, account: Account, now: float | None = None) -> list[SessionInfo]:
    """The account's live sessions, most recently used first (to see and end them)."""
    now = time.time() if now is None else now
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(t.sessions).where(t.sessions.c.account_id == account.id,
                                                        t.sessions.c.expires >= now)
                            .order_by(t.sessions.c.last_seen.desc()))
        return [SessionInfo(r.id, r.address, r.created, r.last_seen) for r in rows]


def end_own_session(db: Database, account: Account, session_id: int) -> bool:
    """End one of the account's sessions; False when it is not theirs (or gone)."""
    with db.engine.begin() as conn:
        return conn.execute(t.sessions.delete().where(
            t.sessions.c.id == session_id, t.sessions.c.account_id == account.id)).rowcount > 0


def end_session(db: Database, session_id: int) -> None:
    with db.engine.begin() as conn:
        conn.execute(t.sessions.delete().where(t.sessions.c.id == session_id))
