"""Devices: which profile each phone, tablet or computer gets, and the devices seen lately
that no entry names (they get the default profile), each assignable in one click.

Entries are written into the configuration file's ``devices`` list with the same checks and
messages as the loader's (see :mod:`admin.configedit`); the proxy applies them within seconds.
"""

from __future__ import annotations

import ipaddress
import re
import time
from typing import Any

from flask import Blueprint, abort, g, redirect, render_template, request, url_for

from admin import audit, configedit
from admin.app import require_role
from admin.i18n import FormErrors, N_
from kidgate import stats
from kidgate.devices import ArpTable
from policies.devices import client_address, device_for

bp = Blueprint("devices", __name__)

EDITORS = ("owner", "parent")
FIELDS = ("kind", "value", "profile", "name", "groups")
KIND_LABELS = {"ip": N_("IP address"), "cidr": N_("network (CIDR)"), "mac": N_("MAC address"),
               "user": N_("proxy user name")}
#: Listed, not offered in the form: a tunnel is set up with kidgate wireguard (README).
SHOWN_KINDS = {**KIND_LABELS, "wireguard": N_("WireGuard tunnel")}
#: How far back "seen lately" looks in the decision log.
RECENT = 86_400.0


def unknown_clients(now: float | None = None) -> list[dict[str, Any]]:
    """Clients of the last day that no device entry recognises, most active first (the log
    names a known device by its entry's name; an unknown one by its address)."""
    now = time.time() if now is None else now
    summary = stats.collect(stats.log_source(g.ctx.data_dir, g.ctx.db), since=now - RECENT,
                            now=now, tz=g.ctx.tz)
    cfg, arp = g.ctx.config(), ArpTable()
    out = []
    for row in sorted(summary["by_client"], key=lambda r: -r["requests"]):
        ip = row["client"]
        if client_address(ip) is None:
            continue  # a named device or a proxy user: known
        mac = arp.mac(ip)
        if device_for(cfg, ip, None, mac) is None:
            out.append({"ip": ip, "mac": mac or "", "requests": row["requests"],
                        "blocked": row["blocked"]})
    return out[:50]


def _page(form: dict[str, str], errors: FormErrors, status: int = 200) -> Any:
    cfg = g.ctx.config()
    return render_template("devices.html", entries=configedit.read_devices(g.ctx.config_path), unknown=unknown_clients(),
                           profiles=sorted(cfg.profiles), groups=sorted(cfg.groups),
                           default=cfg.default_profile, kinds=KIND_LABELS,
                           shown_kinds=SHOWN_KINDS, form=form,
                           errors=errors, done=request.args.get("done")), status


def _editable() -> None:
    require_role(*EDITORS)
    if g.ctx.config_path is None:
        abort(404)


@bp.route("/devices")
def index() -> Any:
    _editable()
    return _page({"kind": "ip", "value": "", "profile": "", "name": "", "groups": ""}, {})


_FIELD_OF_KEY = {**{k: "value" for k in configedit.DEVICE_KINDS},
                 "profile": "profile", "name": "name", "groups": "groups"}


def _field_of(err: configedit.EditError) -> str:
    """The form field next to which the loader's message goes (``devices[3].mac`` → value)."""
    m = re.match(r"devices\[\d+\](?:\.(\w+))?", err.key)
    if not m:
        return "_form"
    return _FIELD_OF_KEY.get(m.group(1) or "", "value")


@bp.route("/devices/add", methods=["POST"])
def add() -> Any:
    _editable()
    account = g.account
    form = {k: request.form.get(k, "").strip()[:200] for k in FIELDS}
    errors: FormErrors = {}
    if form["kind"] not in configedit.DEVICE_KINDS:
        errors["kind"] = N_("Choose how the device is recognised.")
    if not form["value"]:
        errors["value"] = N_("Write the device's address, network, MAC address or user name.")
    elif form["kind"] == "ip":
        try:
            form["value"] = str(ipaddress.ip_address(form["value"]))
        except ValueError:
            errors["value"] = N_("Write an IP address such as 192.168.1.23.")
    if form["profile"] not in g.ctx.config().profiles:
        errors["profile"] = N_("Choose one of your profiles.")
    groups = [x.strip() for x in form["groups"].split(",") if x.strip()]
    if errors:
        return _page(form, errors, 400)
    try:
        configedit.add_device(g.ctx.config_path, kind=form["kind"], value=form["value"],
                              profile=form["profile"], name=form["name"], groups=groups)
    except configedit.EditError as e:
        field = _field_of(e)
        return _page(form, {field: e.detail if field != "_form" else e.shown}, 400)
    audit.record(g.ctx.db, account=account, address=g.address, action="device",
                 target=f"{form['kind']} {form['value']}",
                 detail={"profile": form["profile"], "name": form["name"], "groups": groups})
    return redirect(url_for("devices.index", done="saved"))


@bp.route("/devices/remove", methods=["POST"])
def remove() -> Any:
    _editable()
    index = request.form.get("index", "")
    kind, value = request.form.get("kind", ""), request.form.get("value", "")
    if not index.isdigit():
        abort(400)
    try:
        configedit.remove_device(g.ctx.config_path, int(index), kind, value)
    except configedit.EditError as e:
        return _page({"kind": "ip", "value": "", "profile": "", "name": "", "groups": ""},
                     {"_form": e.shown}, 409)
    audit.record(g.ctx.db, account=g.account, address=g.address, action="remove device",
                 target=f"{kind} {value}", detail={})
    return redirect(url_for("devices.index", done="removed"))
