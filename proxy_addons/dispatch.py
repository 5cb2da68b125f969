"""Event dispatch that asks only the addons that answer an event.

mitmproxy's ``AddonManager.trigger_event`` walks the whole addon tree for every event of every
flow: for each top-level addon a coroutine, a generator over its children, a ``getattr`` per
child and a ``safecall`` context, whether or not any of them has a hook for the event. A
request raises some eight events (four hooks, each followed by an ``update``), and most
addons answer none of them. :class:`HookTable` finds each event's hooks once and calls only
those, with mitmproxy's own semantics:

- top-level addons in chain order, each one's children after it (depth first);
- per top-level addon, an error is logged by mitmproxy's ``safecall``, its later children
  are skipped, and the next top-level addon still runs; ``AddonHalt`` stops the event;
- a hook's awaitable result is awaited before the next hook runs.

The table is rebuilt whenever the tree can have changed: the chain list replaced or grown
(``add``/``remove``), or the children of any addon that has them (scripts reloaded, an addon
managing others). Installed by the runtime addon at start-up unless ``kidgate_lean`` is
false; the sync ``trigger`` (options, configure) is mitmproxy's own, untouched.
"""

from __future__ import annotations

import inspect
import operator
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from mitmproxy import exceptions, hooks
from mitmproxy.addonmanager import safecall

#: One event's hooks: per top-level addon that answers it, its callables in tree order.
Plan = list[tuple[object, list[Callable[..., Any]]]]


def _walk(addon: object, containers: list[object]) -> list[object]:
    """``addon`` and its descendants, depth first, as mitmproxy's ``traverse``; notes every
    node that has children, so that a change below it can be noticed."""
    out = [addon]
    if hasattr(addon, "addons"):
        containers.append(addon)
        for child in addon.addons:
            out.extend(_walk(child, containers))
    return out


def _hook(node: object, name: str) -> Callable[..., Any] | None:
    """The callable ``node`` answers event ``name`` with, as ``AddonManager._iter_hooks``:
    modules imported under a hook's name (``from mitmproxy import log``) are not hooks."""
    func = getattr(node, name, None)
    return func if func and callable(func) else None


class HookTable:
    """Per event name, the hooks of ``manager``'s addon tree; see the module docstring."""

    def __init__(self, manager: Any) -> None:
        self.manager = manager
        self._plans: dict[str, Plan] = {}
        self._trees: list[tuple[object, list[object]]] = []
        self._chain: list[object] | None = None
        self._chain_len = 0
        self._containers: list[object] = []
        self._children: list[list[object]] = []
        self._arg_names: dict[type, tuple[str, ...]] = {}

    def _unchanged(self) -> bool:
        """Whether the tree is the one the plans were made from: the same chain list, as long,
        and every container with the same children (identity, in order)."""
        chain = self.manager.chain
        if chain is not self._chain or len(chain) != self._chain_len:
            return False
        for container, before in zip(self._containers, self._children):
            now = container.addons  # a script's is a new list each time: compare its items
            if len(now) != len(before) or not all(map(operator.is_, now, before)):
                return False
        return True

    def _rebuild(self) -> None:
        containers: list[object] = []
        chain = self.manager.chain
        self._trees = [(top, _walk(top, containers)) for top in chain]
        self._chain, self._chain_len = chain, len(chain)
        self._containers = containers
        self._children = [list(c.addons) for c in containers]
        self._plans = {}

    def plan(self, name: str) -> Plan:
        """The hooks for event ``name``, rebuilt first if the tree changed."""
        if not self._unchanged():
            self._rebuild()
        plan = self._plans.get(name)
        if plan is None:
            plan = []
            for top, nodes in self._trees:
                funcs = [f for f in (_hook(n, name) for n in nodes) if f is not None]
                if funcs:
                    plan.append((top, funcs))
            self._plans[name] = plan
        return plan

    def _args(self, event: hooks.Hook) -> list[Any]:
        """``event.args()`` without asking ``dataclasses.fields`` on every event."""
        names = self._arg_names.get(type(event))
        if names is None:
            if type(event).args is not hooks.Hook.args:  # a hook that says its own arguments
                return event.args()
            names = self._arg_names[type(event)] = tuple(f.name for f in fields(event))
        return [getattr(event, n) for n in names]

    async def trigger_event(self, event: hooks.Hook) -> None:
        """Stands in for ``AddonManager.trigger_event``."""
        plan = self.plan(event.name)
        if not plan:
            return
        args = self._args(event)
        for _top, funcs in plan:
            try:
                for func in funcs:
                    result = func(*args)
                    if result is not None and inspect.isawaitable(result):
                        await result
            except exceptions.AddonHalt:
                return
            except Exception:
                # mitmproxy's own handler logs it (OptionsError goes on up, as there); entered
                # only on an error, so that the usual path pays for no context manager.
                with safecall():
                    raise


def install(manager: Any) -> HookTable:
    """Route ``manager``'s asynchronous events through a :class:`HookTable`."""
    table = HookTable(manager)
    manager.trigger_event = table.trigger_event
    return table
