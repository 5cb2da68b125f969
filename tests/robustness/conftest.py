"""Shared pieces for the property-based tests: example counts and one loaded engine.

Each property states how many generated cases it runs in an ordinary ``make test``; together
they are more than 10,000. ``make fuzz`` multiplies them (``KIDGATE_FUZZ_SCALE``, default 1).
Under CI the cases are derived from the test's name (``derandomize``), so a run is repeatable;
elsewhere they are random and a failure is kept in ``.hypothesis/`` and tried first next time.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from hypothesis import HealthCheck, settings

SCALE = max(1, int(os.environ.get("KIDGATE_FUZZ_SCALE", "1") or 1))


def cases(n: int, **kw: Any) -> settings:
    """Settings for a property that runs ``n`` cases (times the scale)."""
    return settings(max_examples=n * SCALE, deadline=None, derandomize=bool(os.environ.get("CI")),
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much], **kw)


@functools.cache
def engine() -> Any:
    """The shipped default: lists, labels and model, as ``kidgate check`` loads them."""
    from kidgate.engine import Engine
    from policies import config
    eng = Engine.from_config(config.load(None))
    assert not eng.load_errors, eng.load_errors
    return eng


@functools.cache
def child() -> Any:
    from policies import config
    return config.load(None).profile(None)
