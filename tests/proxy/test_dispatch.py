"""The hook table dispatches events exactly as mitmproxy's own ``trigger_event`` does: same
hooks, same order, same arguments, same handling of errors and ``AddonHalt``, and it notices
addons added, removed and reloaded."""

from __future__ import annotations

import asyncio
import logging
import os
import types
from pathlib import Path

import pytest
from mitmproxy import addonmanager, exceptions, hooks
from mitmproxy.addons import script
from mitmproxy.test import taddons, tflow

from proxy_addons import dispatch


class Recorder:
    """An addon that notes each hook it answers in a shared journal."""

    def __init__(self, name: str, journal: list, *, children: list | None = None) -> None:
        self.name = name
        self.journal = journal
        if children is not None:
            self.addons = children

    def request(self, flow) -> None:
        self.journal.append((self.name, "request", flow.id))

    async def response(self, flow) -> None:
        await asyncio.sleep(0)
        self.journal.append((self.name, "response", flow.id))


class Silent:
    """Answers nothing: must cost nothing and never appear."""

    name = "silent"


class Failing(Recorder):
    def request(self, flow) -> None:
        self.journal.append((self.name, "request", flow.id))
        raise ValueError("broken addon")


class Halting(Recorder):
    def request(self, flow) -> None:
        self.journal.append((self.name, "request", flow.id))
        raise exceptions.AddonHalt()


class ModuleNamedLikeAHook:
    """``from mitmproxy import log`` in a script: an attribute named like a hook that is a
    module, which mitmproxy skips instead of calling."""

    name = "modulish"
    request = types.ModuleType("request")


def _events(flow) -> list[hooks.Hook]:
    from mitmproxy.proxy.layers import http
    return [http.HttpRequestHook(flow), http.HttpResponseHook(flow), hooks.UpdateHook([flow])]


def _journal_of(build, *, fast: bool) -> tuple[list, list[str]]:
    """Run the same events through a manager built by ``build``, with mitmproxy's dispatch or
    the hook table; returns the journal and the error messages logged."""
    journal: list = []
    errors: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR:
                errors.append(record.getMessage())

    handler = Catch()
    logging.getLogger("mitmproxy.addonmanager").addHandler(handler)
    async def run() -> None:  # the master logs through its event loop: one loop throughout
        with taddons.context(loadcore=False) as tctx:
            manager = tctx.master.addons
            manager.add(*build(journal))
            if fast:
                dispatch.install(manager)
            flow = tflow.tflow(resp=True)
            for event in _events(flow):
                await manager.handle_lifecycle(event)
            await tctx.master.done()  # its log handler goes with its loop

    try:
        asyncio.run(run())
        return [(n, h) for n, h, _ in journal], errors
    finally:
        logging.getLogger("mitmproxy.addonmanager").removeHandler(handler)


CHAINS = {
    "flat": lambda j: [Recorder("a", j), Silent(), Recorder("b", j)],
    "nested": lambda j: [Recorder("top", j, children=[Recorder("kid1", j),
                                                      Recorder("kid2", j, children=[
                                                          Recorder("grandkid", j)])]),
                         Recorder("after", j)],
    "error": lambda j: [Failing("bad", j, children=[Recorder("skipped", j)]),
                        Recorder("still runs", j)],
    "halt": lambda j: [Recorder("first", j), Halting("halt", j), Recorder("never", j)],
    "module attribute": lambda j: [ModuleNamedLikeAHook(), Recorder("real", j)],
}


@pytest.mark.parametrize("chain", CHAINS)
def test_same_hooks_order_and_errors_as_mitmproxy(chain: str) -> None:
    reference = _journal_of(CHAINS[chain], fast=False)
    assert reference[0], "the reference run called no hook: the test would prove nothing"
    assert _journal_of(CHAINS[chain], fast=True) == reference


def test_an_error_is_logged_and_the_next_addon_runs() -> None:
    journal, errors = _journal_of(CHAINS["error"], fast=True)
    assert ("still runs", "request") in journal and ("skipped", "request") not in journal
    assert any("broken addon" in e for e in errors)


def test_halt_stops_the_event_but_not_the_next_one() -> None:
    journal, _ = _journal_of(CHAINS["halt"], fast=True)
    assert ("never", "request") not in journal
    assert ("never", "response") in journal


class Refusing(Recorder):
    def request(self, flow) -> None:
        raise exceptions.OptionsError("refused")


@pytest.mark.parametrize("fast", [False, True])
def test_an_options_error_goes_on_up_as_in_mitmproxy(fast: bool) -> None:
    with pytest.raises(exceptions.OptionsError, match="refused"):
        _journal_of(lambda j: [Refusing("refusing", j), Recorder("after", j)], fast=fast)


def test_only_answering_addons_are_planned() -> None:
    with taddons.context(loadcore=False) as tctx:
        journal: list = []
        tctx.master.addons.add(Silent(), Recorder("a", journal))
        table = dispatch.install(tctx.master.addons)
        assert [top.name for top, _ in table.plan("request")] == ["a"]
        assert table.plan("server_connect") == []


def test_addons_added_removed_and_their_children_changed_are_seen() -> None:
    with taddons.context(loadcore=False) as tctx:
        manager = tctx.master.addons
        journal: list = []
        parent = Recorder("parent", journal, children=[])
        manager.add(Recorder("a", journal), parent)
        table = dispatch.install(manager)
        flow = tflow.tflow()

        def names() -> list[str]:
            journal.clear()
            asyncio.run(manager.trigger_event(hooks.UpdateHook([flow])))  # nobody answers
            asyncio.run(manager.trigger_event(_events(flow)[0]))
            return [n for n, _, _ in journal]

        assert names() == ["a", "parent"]
        manager.add(Recorder("late", journal))
        assert names() == ["a", "parent", "late"]
        manager.remove(manager.get("a"))
        assert names() == ["parent", "late"]
        parent.addons.append(Recorder("child", journal))  # grown in place
        assert names() == ["parent", "child", "late"]
        parent.addons = [Recorder("other", journal)]  # replaced
        assert names() == ["parent", "other", "late"]
        assert table.plan("request")  # the same table answered throughout


async def _loaded(loader: script.ScriptLoader, previous: object) -> types.ModuleType:
    """The script's module once mitmproxy's watcher has (re)loaded it (it polls each second)."""
    for _ in range(100):
        ns = loader.addons[0].ns if loader.addons else None
        if ns is not None and ns is not previous:
            return ns
        await asyncio.sleep(0.05)
    raise AssertionError("mitmproxy did not (re)load the script within 5 s")


def test_a_reloaded_script_is_seen(tmp_path: Path) -> None:
    """A script edited while the proxy runs is reloaded by mitmproxy into a new module: the
    table must call the new module's hooks, not the old ones."""
    path = tmp_path / "probe.py"
    path.write_text("seen = []\ndef request(flow):\n    seen.append('old')\n")

    async def run() -> None:
        with taddons.context(loadcore=False) as tctx:
            loader = script.ScriptLoader()
            tctx.master.addons.add(loader)
            tctx.configure(loader, scripts=[str(path)])
            dispatch.install(tctx.master.addons)
            flow = tflow.tflow()
            first = await _loaded(loader, previous=None)
            await tctx.master.addons.trigger_event(_events(flow)[0])
            assert first.seen == ["old"]
            path.write_text("seen = []\ndef request(flow):\n    seen.append('new')\n")
            later = path.stat().st_mtime + 5
            os.utime(path, (later, later))  # mitmproxy's watcher compares modification times
            second = await _loaded(loader, previous=first)
            await tctx.master.addons.trigger_event(_events(flow)[0])
            assert second.seen == ["new"] and first.seen == ["old"]
            await tctx.master.done()

    asyncio.run(run())


def test_this_mitmproxy_still_dispatches_as_the_table_assumes() -> None:
    """The table stands in for ``trigger_event`` and reuses ``safecall``; fail here if
    mitmproxy renames them or stops routing flow events through ``trigger_event``."""
    import inspect
    assert callable(addonmanager.safecall)
    source = inspect.getsource(addonmanager.AddonManager.handle_lifecycle)
    assert "self.trigger_event(" in source
    assert "traverse" in inspect.getsource(addonmanager.AddonManager._iter_hooks)
