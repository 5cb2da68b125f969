"""Alert rules: which events an adult is told about, where, how often (YAML ``alerts``).

Every error is a ``ValueError`` naming the offending key, so ``kidgate check`` can point at
the line.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pages import LANGUAGES
from policies.categories import CATEGORIES
from reporting.alerts.events import CONTROL
from reporting.links import DEFAULT_HELPLINE

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_DURATION = re.compile(r"^(\d+)\s*([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
DEFAULT_ACCESS_REQUESTS_PER_HOUR = 10


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    sender: str
    port: int = 25
    starttls: bool = False
    ssl: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class AlertRule:
    name: str
    profiles: frozenset[str]
    categories: frozenset[str]
    email: tuple[str, ...] = ()
    webhook: str | None = None
    digest: bool = False
    min_interval: float = 600.0
    access_requests: bool = False
    access_requests_per_hour: int = DEFAULT_ACCESS_REQUESTS_PER_HOUR

    def matches(self, profile: str, category: str | None) -> bool:
        return (category is not None and ("*" in self.categories or category in self.categories)
                and self.covers(profile))

    def covers(self, profile: str) -> bool:
        return "*" in self.profiles or profile in self.profiles

    def wants_access_request(self, profile: str) -> bool:
        return self.access_requests and self.covers(profile)


@dataclass(frozen=True, slots=True)
class AlertConfig:
    rules: tuple[AlertRule, ...] = ()
    smtp: SmtpConfig | None = None
    helpline: str = DEFAULT_HELPLINE
    digest_time: dt.time = dt.time(18, 0)
    digest_timezone: str = "UTC"
    #: The language of every message; ``None``: access requests in the child's profile
    #: language (that of the decision pages their links open), alerts and digests in English.
    language: str | None = None

    @classmethod
    def from_mapping(cls, m: Mapping[str, object] | None) -> AlertConfig:
        """Validate; every error is a ``ValueError`` naming the offending key."""
        m = _mapping(m or {}, "alerts")
        _known(m, "alerts", {"smtp", "rules", "helpline", "digest_time", "digest_timezone",
                             "language"})
        smtp = _smtp(m["smtp"]) if m.get("smtp") is not None else None
        rules_raw = m.get("rules", [])
        if not isinstance(rules_raw, list):
            raise ValueError("alerts.rules: must be a list")
        rules = tuple(_rule(r, i) for i, r in enumerate(rules_raw))
        for i, r in enumerate(rules):
            if r.email and smtp is None:
                raise ValueError(f"alerts.rules[{i}].email: needs an 'alerts.smtp' section")
        if len({r.name for r in rules}) != len(rules):
            raise ValueError("alerts.rules: rule names must be unique")
        helpline = _text(m.get("helpline", DEFAULT_HELPLINE), "alerts.helpline", 40)
        try:
            digest_time = dt.time.fromisoformat(str(m.get("digest_time", "18:00")))
        except ValueError:
            raise ValueError("alerts.digest_time: must be HH:MM") from None
        tz = str(m.get("digest_timezone", "UTC"))
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"alerts.digest_timezone: unknown time zone {tz!r}") from None
        language = m.get("language")
        if language is not None and language not in LANGUAGES:
            raise ValueError(f"alerts.language: must be one of {', '.join(LANGUAGES)}")
        return cls(rules, smtp, helpline, digest_time, tz, language)  # type: ignore[arg-type]


def _mapping(v: object, key: str) -> Mapping[str, object]:
    if not isinstance(v, Mapping):
        raise ValueError(f"{key}: must be a mapping")
    return v


def _known(m: Mapping[str, object], key: str, allowed: set[str]) -> None:
    unknown = sorted(set(m) - allowed)
    if unknown:
        raise ValueError(f"{key}: unknown key(s) {', '.join(map(str, unknown))}")


def _text(v: object, key: str, limit: int = 200) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ValueError(f"{key}: must be a non-empty string")
    if CONTROL.search(v) or len(v) > limit:
        raise ValueError(f"{key}: must be one line of at most {limit} characters")
    return v.strip()


def _address(v: object, key: str) -> str:
    text = v if isinstance(v, str) else ""
    if not _EMAIL.fullmatch(text) or len(text) > 254:
        raise ValueError(f"{key}: {v!r} is not a plain e-mail address (no names, commas or "
                         "line breaks)")
    return text


def _bool(v: object, key: str) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f"{key}: must be true or false")
    return v


def parse_interval(v: object, key: str = "min_interval") -> float:
    """``"10m"``, ``"1h"``, ``"30s"``, ``"1d"`` or a number of seconds."""
    if isinstance(v, bool):
        raise ValueError(f"{key}: must be a duration like 10m")
    if isinstance(v, (int, float)):
        seconds = float(v)
    else:
        match = _DURATION.fullmatch(str(v).strip().lower())
        if not match:
            raise ValueError(f"{key}: {v!r} is not a duration like 30s, 10m, 1h or 1d")
        seconds = float(int(match[1]) * _UNITS[match[2]])
    if seconds < 0:
        raise ValueError(f"{key}: must not be negative")
    return seconds


def _smtp(v: object) -> SmtpConfig:
    m = _mapping(v, "alerts.smtp")
    _known(m, "alerts.smtp", {"host", "port", "from", "starttls", "ssl", "username",
                              "password", "timeout"})
    host = _text(m.get("host"), "alerts.smtp.host", 253)
    port = m.get("port", 25)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise ValueError("alerts.smtp.port: must be a port number")
    user, password = m.get("username"), m.get("password")
    if (user is None) != (password is None):
        raise ValueError("alerts.smtp.username: username and password go together")
    starttls = _bool(m.get("starttls", False), "alerts.smtp.starttls")
    use_ssl = _bool(m.get("ssl", False), "alerts.smtp.ssl")
    if starttls and use_ssl:
        raise ValueError("alerts.smtp.starttls: choose starttls or ssl, not both")
    return SmtpConfig(host, _address(m.get("from"), "alerts.smtp.from"), port, starttls, use_ssl,
                      None if user is None else _text(user, "alerts.smtp.username"),
                      None if password is None else _text(password, "alerts.smtp.password"),
                      parse_interval(m.get("timeout", 10), "alerts.smtp.timeout"))


def _rule(v: object, i: int) -> AlertRule:
    key = f"alerts.rules[{i}]"
    m = _mapping(v, key)
    _known(m, key, {"name", "profiles", "categories", "email", "webhook", "digest",
                    "min_interval", "access_requests", "access_requests_per_hour"})
    name = _text(m.get("name", f"rule{i}"), f"{key}.name", 60)
    asks = _bool(m.get("access_requests", False), f"{key}.access_requests")
    per_hour = m.get("access_requests_per_hour", DEFAULT_ACCESS_REQUESTS_PER_HOUR)
    if "access_requests_per_hour" in m and not asks:
        raise ValueError(f"{key}.access_requests_per_hour: only with 'access_requests: true'")
    if not isinstance(per_hour, int) or isinstance(per_hour, bool) or not 0 < per_hour <= 1000:
        raise ValueError(f"{key}.access_requests_per_hour: must be a whole number from 1 to 1000")

    def names(field: str, default: list[str] | None) -> frozenset[str]:
        raw = m.get(field, default)
        if not isinstance(raw, list) or not raw or not all(isinstance(x, str) for x in raw):
            raise ValueError(f"{key}.{field}: must be a non-empty list of names ('*' for all)")
        return frozenset(raw)

    profiles = names("profiles", ["*"])
    if "categories" not in m and not asks:
        raise ValueError(f"{key}: needs 'categories' and/or 'access_requests: true'")
    categories = names("categories", None) if "categories" in m else frozenset()
    bad = sorted(c for c in categories if c != "*" and c not in CATEGORIES)
    if bad:
        raise ValueError(f"{key}.categories: unknown category {bad[0]!r}; "
                         f"known: {', '.join(CATEGORIES)}")
    emails_raw = m.get("email", [])
    if isinstance(emails_raw, str):
        emails_raw = [emails_raw]
    if not isinstance(emails_raw, list):
        raise ValueError(f"{key}.email: must be a list of addresses")
    emails = tuple(_address(e, f"{key}.email") for e in emails_raw)
    webhook = m.get("webhook")
    if webhook is not None:
        webhook = _text(webhook, f"{key}.webhook", 2000)
        if not re.match(r"^https?://[^\s/]+", webhook):
            raise ValueError(f"{key}.webhook: must be an http(s) URL")
    if not emails and webhook is None:
        raise ValueError(f"{key}: needs 'email' and/or 'webhook'")
    return AlertRule(name, profiles, categories, emails, webhook,
                     _bool(m.get("digest", False), f"{key}.digest"),
                     parse_interval(m.get("min_interval", "10m"), f"{key}.min_interval"),
                     asks, per_hour)
