"""The audit log: who changed what, when, from where. Written in the same breath as the
change it records; read by the owner in the admin app."""

from __future__ import annotations

import json
import time
from typing import Any

import sqlalchemy as sa

from admin.accounts import Account
from admin.i18n import N_, translate
from storage import Database
from storage import tables as t

#: Each action the admin app records, in words the owner reads on the audit page. The log keeps
#: the action's key (scripts and older rows read it); an action without words here, such as
#: one an older version recorded, is shown as its key. ``tests/admin`` keeps the list complete.
ACTION_NAMES: dict[str, str] = {
    "setup": N_("set up the admin app"),
    "sign-in": N_("signed in"),
    "sign-in failed": N_("sign-in failed"),
    "sign-out": N_("signed out"),
    "end session": N_("ended a session"),
    "change password": N_("changed the password"),
    "two-step sign-in on": N_("turned two-step sign-in on"),
    "two-step sign-in off": N_("turned two-step sign-in off"),
    "add account": N_("added an account"),
    "remove account": N_("removed an account"),
    "edit profile": N_("changed a profile"),
    "pause": N_("paused the internet"),
    "end pause": N_("ended a pause"),
    "extra time": N_("gave extra time"),
    "end extra time": N_("ended extra time"),
    "blocked services": N_("changed the blocked services"),
    "add schedule": N_("added a schedule"),
    "remove schedule": N_("removed a schedule"),
    "device": N_("added a device"),
    "remove device": N_("removed a device"),
    "new group": N_("added a group"),
    "edit group": N_("changed a group"),
    "remove group": N_("removed a group"),
    "allow site": N_("allowed a site"),
    "deny site": N_("blocked a site"),
    "unblock": N_("unblocked a site"),
    "approve request": N_("approved an access request"),
    "deny request": N_("refused an access request"),
    "revoke request": N_("took back an access request"),
    "export events": N_("exported the event log"),
    "lists update": N_("updated the block lists"),
}


def action_name(lang: str | None, action: str) -> str:
    """A recorded action in words in ``lang``; an unknown one as it was recorded."""
    name = ACTION_NAMES.get(action)
    return action if name is None else translate(lang or "en", name)


def record(db: Database, *, account: Account | None, address: str, action: str,
           target: str = "", detail: dict[str, Any] | None = None,
           now: float | None = None) -> None:
    with db.engine.begin() as conn:
        conn.execute(t.audit_log.insert().values(
            ts=time.time() if now is None else now,
            account_id=account.id if account else None,
            username=account.username if account else "", address=address[:64],
            action=action, target=target[:2000],
            detail=json.dumps(detail or {}, ensure_ascii=False)))


def recent(db: Database, limit: int = 200) -> list[dict[str, Any]]:
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(t.audit_log).order_by(t.audit_log.c.id.desc()).limit(limit))
        return [{**r._asdict(), "detail": json.loads(r.detail or "{}")} for r in rows]
