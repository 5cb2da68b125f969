"""mitmproxy's optional addons that kidgate leaves out while nothing asks for them.

mitmproxy asks every addon in its chain about every event of every flow, whether or not the
addon does anything: a coroutine and a context manager per addon and event, about 2 µs each,
some ten events per request. Replay, map local/remote, header and body rewriting, sticky
cookies, credentials for an upstream proxy, saving flows, HAR export, mitmproxy's own block
list and an interactive console's commands are idle in a filtering proxy unless their options are set; leaving the idle ones
out of the chain (at start-up, after the options are read) saves ~0.4 ms of the proxy's CPU
per request, more than kidgate's own hooks cost (see README, Benchmarks).

An addon whose option is set (``--set modify_headers=...`` after ``kidgate run --``) stays.
``--set kidgate_lean=false`` keeps every addon.
"""

from __future__ import annotations

import logging
from typing import Any

from mitmproxy import hooks
from mitmproxy.addons import (anticache, anticomp, blocklist, browser, clientplayback,
                              command_history, comment, cut, dumper, export, keepserving,
                              maplocal, mapremote, modifybody, modifyheaders, readfile, save,
                              savehar, serverplayback, stickyauth, stickycookie, upstream_auth)

log = logging.getLogger("kidgate")

#: Left at its default, an option leaves its addon idle.
DEFAULT = object()

#: Each optional addon and what its options are while it has nothing to do: ``DEFAULT``, or
#: the one value that silences it. An addon without options serves console commands only,
#: which a proxy run by ``kidgate run`` or ``mitmdump`` never receives.
IDLE_WHEN: dict[type, dict[str, Any]] = {
    anticache.AntiCache: {"anticache": DEFAULT},
    anticomp.AntiComp: {"anticomp": DEFAULT},
    blocklist.BlockList: {"block_list": DEFAULT},
    clientplayback.ClientPlayback: {"client_replay": DEFAULT},
    serverplayback.ServerPlayback: {"server_replay": DEFAULT},
    mapremote.MapRemote: {"map_remote": DEFAULT},
    maplocal.MapLocal: {"map_local": DEFAULT},
    modifybody.ModifyBody: {"modify_body": DEFAULT},
    modifyheaders.ModifyHeaders: {"modify_headers": DEFAULT},
    stickyauth.StickyAuth: {"stickyauth": DEFAULT},
    stickycookie.StickyCookie: {"stickycookie": DEFAULT},
    save.Save: {"save_stream_file": DEFAULT},
    savehar.SaveHar: {"hardump": DEFAULT},
    upstream_auth.UpstreamAuth: {"upstream_auth": DEFAULT},
    readfile.ReadFileStdin: {"rfile": DEFAULT},
    keepserving.KeepServing: {"rfile": DEFAULT, "client_replay": DEFAULT,
                              "server_replay": DEFAULT},
    dumper.Dumper: {"flow_detail": 0},  # kidgate run sets 0 unless --verbose
    browser.Browser: {},
    comment.Comment: {},
    cut.Cut: {},
    export.Export: {},
    command_history.CommandHistory: {},
}


def is_idle(addon: object, options: Any) -> bool:
    """Whether ``addon`` is one of :data:`IDLE_WHEN` with every option at its idle value."""
    wanted = IDLE_WHEN.get(type(addon))
    if wanted is None:
        return False
    for name, value in wanted.items():
        if name not in options:  # another mitmproxy version: keep what we cannot judge
            return False
        if value is DEFAULT:
            if options.has_changed(name):
                return False
        elif getattr(options, name) != value:
            return False
    return True


async def leave_out_idle(manager: Any, options: Any) -> list[str]:
    """Take the idle addons out of ``manager``'s chain (each gets its ``done`` event, as on
    shutdown); returns their names. Only top-level addons are judged: scripts stay."""
    idle = [a for a in manager.chain if is_idle(a, options)]
    if not idle:
        return []
    manager.chain = [a for a in manager.chain if not any(a is b for b in idle)]
    names = []
    for addon in idle:
        name = next((k for k, v in manager.lookup.items() if v is addon), None)
        if name is not None:
            del manager.lookup[name]
            names.append(name)
        try:
            await manager.invoke_addon(addon, hooks.DoneHook())
        except Exception as e:  # noqa: BLE001 - an idle addon's clean-up must not stop the proxy
            log.warning("kidgate: %s failed to stop: %s", name or addon, e)
    log.info("kidgate: mitmproxy addons with nothing to do left out: %s", ", ".join(names))
    return names
