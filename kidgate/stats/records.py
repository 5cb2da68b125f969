"""One line of the decision log as statistics see it: checked field by field, reduced to
what is counted, hotline hosts replaced before anything else sees them."""

from __future__ import annotations

from dataclasses import dataclass

from policies.categories import CATEGORIES


HOTLINE_ENTRY = "hotline entry"
UNCATEGORISED = "uncategorised"
OTHER = "other"
UNKNOWN = "(unknown)"
SOURCES: tuple[str, ...] = ("list", "label", "classifier", "policy", "schedule", "error", OTHER)
CATEGORY_KEYS: tuple[str, ...] = (*CATEGORIES, UNCATEGORISED, OTHER)

#: Timestamps outside 2000..2100 are corrupt, not decisions.
_MIN_TS, _MAX_TS = 946_684_800.0, 4_102_444_800.0
_MAX_KEY = 253  # longest DNS name; longer strings are cut so one key stays small


@dataclass(slots=True)
class Decision:
    """One valid log record, reduced to what statistics need (no reasons, no hashes)."""

    ts: float
    client: str
    profile: str
    host: str
    phase: str
    action: str
    category: str
    sources: tuple[str, ...]


class BadRecord(ValueError):
    """A line that is not a decision record; the message says why (never the content)."""


_CATEGORY_SET = frozenset(CATEGORIES)
_SOURCE_SET = frozenset(SOURCES)
#: Source lists seen so far -> their normalised tuple; a log has only a handful of them.
_SOURCES_SEEN: dict[tuple[str, ...], tuple[str, ...]] = {(): ()}


def _text(value: object, name: str) -> str:
    if value is None or value == "":
        return UNKNOWN
    if type(value) is not str:
        raise BadRecord(f"{name} is not a string")
    return value[:_MAX_KEY]


def parse_record(obj: object) -> Decision:
    """Validate one decoded line. Missing optional fields become ``(unknown)``; a field of
    the wrong type makes the whole line bad, since its other fields cannot be trusted.
    Exact ``type`` checks (JSON yields no subclasses) keep this cheap: it runs per line."""
    if type(obj) is not dict:
        raise BadRecord("not a JSON object")
    get = obj.get
    ts = get("ts")
    kind = type(ts)
    if kind is not float and kind is not int:  # bool is neither
        raise BadRecord("ts is not a number")
    if not _MIN_TS <= ts <= _MAX_TS:  # also false for NaN
        raise BadRecord("ts out of range")
    action = get("action")
    if action != "allow" and action != "block":
        raise BadRecord("action is not allow or block")
    cat = get("category")
    if cat is None:
        category = UNCATEGORISED
    elif type(cat) is str:
        category = cat if cat in _CATEGORY_SET else OTHER
    else:
        raise BadRecord("category is not a string")
    client = _text(get("client"), "client")
    profile = _text(get("profile"), "profile")
    host = _text(get("host"), "host")
    phase = _text(get("phase"), "phase")
    raw = get("sources")
    if raw is None:
        sources: tuple[str, ...] = ()
    elif type(raw) is not list or not all(type(x) is str for x in raw):
        raise BadRecord("sources is not a list of strings")
    else:
        key = tuple(raw)
        cached = _SOURCES_SEEN.get(key)
        if cached is None:
            cached = tuple(sorted({x if x in _SOURCE_SET else OTHER for x in raw}))
            if len(_SOURCES_SEEN) < 256:
                _SOURCES_SEEN[key] = cached
        sources = cached
    if category == "csam" or host.startswith("sha256:"):
        host = HOTLINE_ENTRY  # never the hash, nor a clear host an older version may have logged
    return Decision(float(ts), client, profile, host, phase, action, category, sources)


