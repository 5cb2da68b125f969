"""Event dispatch that asks only the addons that answer an event.

mitmproxy's ``AddonManager.trigger_event`` walks the whole addon tree for every event of every
flow: for each top-level addon a coroutine, a generator over its children, a ``getattr`` per
child and a ``safecall`` context, whether or not any of them has a hook for the event. A
request raises some eight events (four hooks, each followed by an ``update``), and most
addons answer none of them. :class:`HookTable` finds each event's hooks once and calls only
those, with mitmproxy's own semantics:

- top-level addons in chain order, each one's children after it (depth first);
- one ``safecall`` per top-level addon: an error is logged, its later children are skipped,
  and the next top-level addon still runs; ``AddonHalt`` stops the event;
- a hook's awaitable result is awaited before the next hook runs.

The table is rebuilt whenever the tree can have changed: the chain list replaced or grown
(``add``/``remove``), or the children of any addon that has them (scripts reloaded, an addon
managing others). Installed by the runtime addon at start-up unless ``kidgate_lean`` is
false; the sync ``trigger`` (options, configure) is mitmproxy's own, untouched.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
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
        self._containers: list[object] = []
        self._shape: tuple = ()

    def _current_shape(self) -> tuple:
        chain = self.manager.chain
        return (id(chain), len(chain),
                *(tuple(map(id, c.addons)) for c in self._containers))

    def _rebuild(self) -> None:
        containers: list[object] = []
        self._trees = [(top, _walk(top, containers)) for top in self.manager.chain]
        self._containers = containers
        self._plans = {}
        self._shape = self._current_shape()

    def plan(self, name: str) -> Plan:
        """The hooks for event ``name``, rebuilt first if the tree changed."""
        if self._current_shape() != self._shape:
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

    async def trigger_event(self, event: hooks.Hook) -> None:
        """Stands in for ``AddonManager.trigger_event``."""
        plan = self.plan(event.name)
        if not plan:
            return
        args = event.args()
        for _top, funcs in plan:
            try:
                with safecall():
                    for func in funcs:
                        result = func(*args)
                        if result is not None and inspect.isawaitable(result):
                            await result
            except exceptions.AddonHalt:
                return


def install(manager: Any) -> HookTable:
    """Route ``manager``'s asynchronous events through a :class:`HookTable`."""
    table = HookTable(manager)
    manager.trigger_event = table.trigger_event
    return table
