"""The audit log: who changed what, when, from where. Written in the same breath as the
change it records; read by the owner in the admin app."""

from __future__ import annotations

import json
import time
from typing import Any

import sqlalchemy as sa

from admin.accounts import Account
from storage import Database
from storage import tables as t


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
