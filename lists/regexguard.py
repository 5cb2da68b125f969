"""Admission of list expressions: only patterns with bounded matching cost reach the proxy.

Python's ``re`` backtracks and cannot be interrupted, so a bad pattern must be refused when lists
are compiled, not discovered on a live request. A pattern is refused when it is too long, uses
back-references or look-arounds, has an unbounded repeat whose body can itself repeat or
branch (``(a+)+``, ``(a|aa)*``: the shapes that backtrack exponentially), or repeats a body with
an unbounded repeat more than a few times (``(.*a){20}``: polynomial of high degree). Accepted patterns are
then timed on adversarial inputs of :data:`MAX_SUBJECT` characters; slow ones are refused too.
At lookup the subject is capped at :data:`MAX_SUBJECT` characters.
"""

from __future__ import annotations

import re
import time
import warnings

try:  # Python 3.11+
    from re import _constants as _c  # type: ignore[attr-defined]
    from re import _parser as _p  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _p  # type: ignore[no-redef]

MAX_PATTERN = 2000
MAX_SUBJECT = 2048
MAX_SECONDS = 0.05
_UNBOUNDED = 64
#: A bounded repeat may copy a body with an unbounded repeat at most this many times.
_MAX_COPIES = 3
_PROBES = ("a" * MAX_SUBJECT, "/" * MAX_SUBJECT, "a-" * (MAX_SUBJECT // 2),
           "a." * (MAX_SUBJECT // 2), "0" * MAX_SUBJECT, "ax/" * (MAX_SUBJECT // 3) + "!")


class UnsafePattern(ValueError):
    """The expression is invalid or its matching cost is not bounded."""


_REPEATS = tuple(getattr(_c, n) for n in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")
                 if hasattr(_c, n))


def _can_repeat(items: object) -> bool:
    """True when a parsed sub-pattern contains a repeat (max > 1) or an alternation."""
    for op, av in items:  # type: ignore[attr-defined]
        if op in _REPEATS:
            if av[1] > 1 or _can_repeat(av[2]):
                return True
        elif op == _c.BRANCH:
            return True
        elif op == _c.SUBPATTERN and _can_repeat(av[-1]):
            return True
    return False


def _has_unbounded(items: object) -> bool:
    """True when a parsed sub-pattern contains a repeat without a small upper bound."""
    for op, av in items:  # type: ignore[attr-defined]
        if op in _REPEATS:
            if av[1] > _UNBOUNDED or _has_unbounded(av[2]):
                return True
        elif op == _c.BRANCH:
            if any(_has_unbounded(alt) for alt in av[1]):
                return True
        elif op == _c.SUBPATTERN and _has_unbounded(av[-1]):
            return True
    return False


def _check(items: object) -> None:
    for op, av in items:  # type: ignore[attr-defined]
        if op in (_c.GROUPREF, _c.GROUPREF_EXISTS):
            raise UnsafePattern("back-references are not allowed")
        if op in (_c.ASSERT, _c.ASSERT_NOT):
            raise UnsafePattern("look-arounds are not allowed")
        if op in _REPEATS:
            lo, hi, body = av
            if hi > _UNBOUNDED and _can_repeat(body):
                raise UnsafePattern("nested quantifier or alternation under an unbounded repeat")
            if hi > _MAX_COPIES and _has_unbounded(body):
                # (.*a){20} is .*a repeated twenty times: polynomial backtracking of degree 20.
                raise UnsafePattern(f"unbounded repeat inside a repeat of more than "
                                    f"{_MAX_COPIES}")
            _check(body)
        elif op == _c.BRANCH:
            for alt in av[1]:
                _check(alt)
        elif op == _c.SUBPATTERN:
            _check(av[-1])


def compile_safe(pattern: str, flags: int = re.IGNORECASE) -> re.Pattern[str]:
    """Compile ``pattern`` or raise :class:`UnsafePattern` with the reason."""
    if not pattern or len(pattern) > MAX_PATTERN:
        raise UnsafePattern(f"pattern length {len(pattern)} outside 1..{MAX_PATTERN}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # FutureWarning on "[[" and similar
            compiled = re.compile(pattern, flags)
            parsed = _p.parse(pattern, flags)
    except (re.error, RecursionError, OverflowError, ValueError) as e:
        raise UnsafePattern(f"invalid expression: {e}") from e
    _check(parsed)
    for probe in _PROBES:
        # Best of three, so a busy machine does not refuse a good pattern.
        for _ in range(3):
            start = time.perf_counter()
            compiled.search(probe)
            if time.perf_counter() - start <= MAX_SECONDS:
                break
        else:
            raise UnsafePattern(f"too slow on a {len(probe)}-character input")
    return compiled


def compile_vetted(pattern: str, flags: int = re.IGNORECASE) -> re.Pattern[str]:
    """Compile a pattern that :func:`compile_safe` accepted when the store was built."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return re.compile(pattern, flags)
