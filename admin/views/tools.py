"""Lists and classifier: what the block-lists hold and when they were last updated, an update
now with its progress, and "test a URL or text".

A test is decided by ``kidgate check`` itself, in a child process: the answer is the proxy's
(same configuration, lists in use, approvals, classifier), and the models are not loaded a
second time into the proxy's process, whose event loop this app shares a machine with.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, g, redirect, render_template, request, url_for

import lists as list_engine
from lists.store import list_role
from admin import audit
from admin.app import AdminContext, require_role
from admin.i18n import N_, Message
from lists.autoupdate import ALREADY_RUNNING, AutoUpdater, parse_auto_update, read_state

bp = Blueprint("tools", __name__)

VIEWERS = ("owner", "parent")
TESTERS = ("owner", "parent", "teacher")
MAX_URL = 2000
MAX_TEXT = 20_000
#: A test loads the lists and models afresh; on a Raspberry Pi that takes a few seconds.
CHECK_TIMEOUT = 120.0
#: A list's role when it is not a category (:func:`lists.store.list_role`), in words; a
#: category is shown by its name (``pages.CATEGORY_NAMES``).
LIST_ROLE_NAMES = {"allow": N_("sites always allowed"), "known": N_("known sites, not harmful")}


# -- the lists ------------------------------------------------------------------------------------

def store_paths(ctx: AdminContext) -> tuple[Path, Path]:
    """(the store the proxy reads now, where an update writes): the proxy's own rule, a
    configured ``lists.path`` else the downloaded store, the shipped one until the first."""
    configured = ctx.config().lists.get("path")
    if configured:
        path = Path(configured).expanduser()
        return path, path
    target = list_engine.updated_store_path(ctx.data_dir)
    return (target if target.exists() else list_engine.default_store_path()), target


@dataclass
class UpdateJob:
    """An update started from this app: its thread and the latest line of its progress."""

    started: float
    line: str = "starting"
    done: bool = False
    result: str = ""
    ok: bool | None = None
    thread: threading.Thread | None = field(default=None, repr=False)


_jobs: dict[Path, UpdateJob] = {}
_jobs_lock = threading.Lock()


def start_update(ctx: AdminContext, target: Path) -> UpdateJob:
    """Start an update of ``target`` unless this app already runs one; the update itself is
    ``kidgate lists update`` in a low-priority child process, as the daily one is."""
    with _jobs_lock:
        job = _jobs.get(target)
        if job is not None and not job.done:
            return job
        job = _jobs[target] = UpdateJob(started=time.time())
    plan = parse_auto_update(ctx.config().lists.get("auto_update"))
    updater = AutoUpdater(target, plan, config=ctx.config_path)

    def run() -> None:
        state = updater.run_once(progress=lambda line: setattr(job, "line", line))
        if state.result != ALREADY_RUNNING:
            updater.record(state)
        job.result, job.ok, job.done = state.result or "", state.ok, True

    job.thread = threading.Thread(target=run, name="kidgate-admin-lists-update", daemon=True)
    job.thread.start()
    return job


@bp.route("/lists")
def lists_page() -> Any:
    account = require_role(*VIEWERS)
    in_use, target = store_paths(g.ctx)
    info: dict[str, Any] | None = None
    error = None
    try:
        with list_engine.ListStore.open(in_use) as store:
            info = store.info()
    except (list_engine.StoreError, OSError) as e:
        error = str(e)
    state = read_state(target)
    job = _jobs.get(target)
    return render_template(
        "lists.html", info=info, error=error, in_use=in_use,
        shipped=in_use == list_engine.default_store_path(), state=state, job=job,
        auto_update=parse_auto_update(g.ctx.config().lists.get("auto_update")),
        may_update=account.role == "owner",
        roles={d["name"]: list_role(d["category"], d["allow"])
               for d in (info or {}).get("lists", [])}, role_names=LIST_ROLE_NAMES)


@bp.route("/lists/update", methods=["POST"])
def lists_update() -> Any:
    account = require_role("owner")
    _, target = store_paths(g.ctx)
    job = start_update(g.ctx, target)
    audit.record(g.ctx.db, account=account, address=g.address, action="lists update",
                 target=str(target), detail={"started": job.started})
    return redirect(url_for("tools.lists_page"))


# -- test a URL or text ----------------------------------------------------------------------------

def _choices(account: Any) -> list[str]:
    names = sorted(g.ctx.config().profiles)
    return [p for p in names if account.role != "teacher" or p in account.profiles]


def validate(form: dict[str, str], profiles: list[str], may_use_device: bool) -> dict[str, str]:
    """Errors by field, in the words shown next to it; empty when the test can run."""
    errors: dict[str, str] = {}
    url, text = form["url"], form["text"]
    if not url and not text:
        errors["url"] = N_("Give a page address, a text, or both.")
    if url:
        parts = urlsplit(url)
        if len(url) > MAX_URL or parts.scheme not in ("http", "https") or not parts.hostname:
            errors["url"] = N_("Write a full address such as https://example.org/page.")
    if len(text) > MAX_TEXT:
        errors["text"] = N_("The text is too long: at most 20,000 characters.")
    if form["who"] == "device":
        if not may_use_device:
            errors["client"] = N_("You may not do this.")
        else:
            try:
                ipaddress.ip_address(form["client"])
            except ValueError:
                errors["client"] = N_("Write the device's IP address, such as 192.168.1.23.")
    elif form["profile"] not in profiles:
        errors["profile"] = N_("Choose one of your profiles.")
    return errors


def run_check(ctx: AdminContext, *, url: str, text: str, profile: str | None = None,
              client: str | None = None) -> dict[str, Any]:
    """What the proxy would decide, from ``kidgate check --jsonl``; ``error`` says why not
    (in the reader's language, but for the check's own last line of error output)."""
    cmd = [sys.executable, "-m", "kidgate", "check", "--jsonl", "--data-dir", str(ctx.data_dir)]
    if ctx.config_path is not None:
        cmd += ["--config", str(ctx.config_path)]
    cmd += ["--client", client] if client else ["--profile", str(profile)]
    record = {k: v for k, v in (("url", url), ("text", text)) if v}
    try:
        done = subprocess.run(cmd, input=json.dumps(record) + "\n", capture_output=True,
                              text=True, timeout=CHECK_TIMEOUT)
    except subprocess.TimeoutExpired:
        return {"error": Message(N_("no answer within {seconds} s"),
                                 seconds=f"{CHECK_TIMEOUT:.0f}")}
    lines = [ln for ln in done.stdout.splitlines() if ln.strip()]
    if done.returncode != 0 or not lines:
        last = done.stderr.strip().splitlines()
        return {"error": last[-1][:300] if last else
                Message(N_("the check stopped with exit code {code}"), code=done.returncode)}
    try:
        result = json.loads(lines[-1])
    except ValueError:
        return {"error": Message(N_("the check's answer could not be read"))}
    return result if isinstance(result, dict) else \
        {"error": Message(N_("the check's answer could not be read"))}


@bp.route("/test", methods=["GET", "POST"])
def test_page() -> Any:
    account = require_role(*TESTERS)
    profiles = _choices(account)
    may_use_device = account.role in VIEWERS
    form = {"url": "", "text": "", "who": "profile", "client": "",
            "profile": profiles[0] if profiles else ""}
    errors: dict[str, str] = {}
    result = None
    if request.method == "POST":
        form.update({k: request.form.get(k, "").strip() for k in form})
        form["text"] = request.form.get("text", "")[: MAX_TEXT + 1].strip()
        errors = validate(form, profiles, may_use_device)
        if not errors:
            by_device = form["who"] == "device"
            result = run_check(g.ctx, url=form["url"], text=form["text"],
                               profile=None if by_device else form["profile"],
                               client=form["client"] if by_device else None)
            scores = result.get("scores") or {}
            result["top_scores"] = sorted(scores.items(), key=lambda kv: -kv[1])[:5]
    return render_template("test.html", form=form, errors=errors, result=result,
                           profiles=profiles, may_use_device=may_use_device), \
        400 if errors else 200
