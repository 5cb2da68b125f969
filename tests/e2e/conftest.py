"""Fixtures shared by the end-to-end tests that build a network of namespaces."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.support import netns
from tests.support.process import skip_unless_available


@pytest.fixture(scope="module")
def netns_tools() -> tuple[str, ...]:
    """Commands a module needs besides ``ip`` and ``iptables``; a module overrides it."""
    return ()


@pytest.fixture(scope="module")
def lab(request: pytest.FixtureRequest, netns_tools: tuple[str, ...]) -> Iterator[netns.Lab]:
    """A gateway, devices and "the internet" in network namespaces (tests/support/netns.py),
    made once per module and removed afterwards. Skipped where they cannot be made (not
    root, a tool missing); in CI a missing tool fails instead, as CI installs them all."""
    what = f"{request.module.__name__.rsplit('.', 1)[-1]}"
    reason = netns.unavailable()
    for tool in netns_tools:
        if reason is None and shutil.which(tool) is None:
            reason = f"{tool!r} not installed (`make test` installs it when run as root)"
    skip_unless_available(reason, what, ci_exempt=("root",))
    try:
        with netns.lab() as net:
            yield net
    except netns.Unavailable as e:
        pytest.skip(f"{what}: {e}")
