"""kidgate's one YAML configuration file: load, validate, and explain mistakes.

Errors name the file, the line and the key, and say what was expected: a parent editing the file
by hand should never see a traceback. Validation builds immutable :class:`Config` objects; the
proxy swaps a whole new object in on reload and keeps the old one when the new file is invalid.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from policies.categories import ALWAYS_BLOCKED, CHILD_ALWAYS_BLOCKED, DEFAULT_MIN_AGES, NEVER
from policies.core import Calendar, ExtraTime, Pause, Profile, Schedule, ServiceBlock
from policies.labels import LABEL_KINDS
from policies.retention import MB, Retention

LANGUAGES = ("en", "ro")
SAFE_LEVELS = ("strict", "moderate", "off")
DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
DEFAULT_CONFIG_PATH = Path(__file__).with_name("default.yaml")

_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(\*\.)?([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*"
                        r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_MAC_RE = re.compile(r"^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$")


class ConfigError(ValueError):
    """A configuration mistake, located in the file: ``path:line: key: message``.

    ``message`` is English (logs, the CLI); ``template`` and ``values`` are the same message
    before its values were filled in (``message == template.format(**values)``), so that a
    page can show it in its reader's language and quote the values after translating."""

    def __init__(self, file: str, line: int | None, key: str, message: str, *,
                 template: str | None = None, values: Mapping[str, object] | None = None) -> None:
        self.file, self.line, self.key, self.message = file, line, key, message
        self.template = template if template is not None else message
        self.values: Mapping[str, object] = dict(values or {})
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {key}: {message}" if key else f"{where}: {message}")


@dataclass(frozen=True, slots=True)
class Device:
    """How a client is recognised: exactly one of ip, cidr, mac, user or wireguard."""

    profile: str
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    mac: str | None = None
    user: str | None = None
    name: str = ""
    groups: tuple[str, ...] = ()
    #: A WireGuard peer of its own (a phone away from home): its name and UDP port.
    wireguard: str | None = None
    wireguard_port: int | None = None


@dataclass(frozen=True, slots=True)
class Group:
    """Rules shared by devices: a class, a year, the whole school. Members are the devices
    that name the group and every client inside one of its ``networks``."""

    name: str
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    allow_domains: tuple[str, ...] = ()
    deny_domains: tuple[str, ...] = ()
    category_ages: Mapping[str, int] = field(default_factory=dict)
    schedules: tuple[Schedule, ...] = ()


@dataclass(frozen=True, slots=True)
class AdminSettings:
    """``admin:``: where the admin web app listens (``kidgate run`` serves it)."""

    enabled: bool = True
    host: str = "0.0.0.0"
    port: int = 8081
    #: Names besides the machine's own under which the app answers (a school's DNS name).
    hosts: tuple[str, ...] = ()


#: Password hashes kidgate reads: argon2 (``kidgate passwd``) and bcrypt (``htpasswd -B``).
PASSWORD_HASH = re.compile(r"^(\$argon2(id|i|d)\$|\$2[aby]\$\d\d\$)")


@dataclass(frozen=True, slots=True)
class LdapSettings:
    """``proxy_auth.ldap``: a user signs in by binding to the directory as themselves."""

    url: str
    #: The user's entry, ``{user}`` standing for the name typed: uid={user},ou=pupils,dc=...
    user_dn: str
    timeout: float = 5.0


@dataclass(frozen=True, slots=True)
class ProxyAuthSettings:
    """``proxy_auth:``: devices that sign in to the proxy (user name and password), so that a
    phone or a shared computer is recognised by who uses it, not by its address."""

    #: user name -> password hash (argon2 or bcrypt); never a password in clear.
    users: Mapping[str, str] = field(default_factory=dict)
    #: Every client of an explicit proxy must sign in (transparent clients cannot: see README).
    required: bool = False
    ldap: LdapSettings | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.users) or self.ldap is not None


@dataclass(frozen=True, slots=True)
class Config:
    profiles: Mapping[str, Profile]
    default_profile: str
    devices: tuple[Device, ...] = ()
    listen_host: str = "0.0.0.0"
    listen_port: int = 8080
    language: str = "en"
    hotline_country: str = "RO"
    data_dir: Path | None = None
    lists: Mapping[str, Any] = field(default_factory=dict)
    classifier: Mapping[str, Any] = field(default_factory=dict)
    alerts: Mapping[str, Any] = field(default_factory=dict)
    log: Retention = field(default_factory=Retention)
    passthrough: tuple[str, ...] = ()
    allow_public_clients: bool = False
    helpline: str = "116 111"
    admin: AdminSettings = field(default_factory=AdminSettings)
    #: ``database.url``: SQLAlchemy URL of a shared database; None = SQLite in the data dir.
    database_url: str | None = None
    #: ``database.decisions``: where the decision log goes: ``file`` (decisions.jsonl),
    #: ``database`` (rows of the ``decisions`` table) or ``both``. Default: ``database`` when a
    #: URL is configured (several proxies, one log), else ``file``.
    decisions_to: str = "file"
    #: ``database.drop_queries``: decision rows keep no query string of an address in a reason.
    drop_queries: bool = False
    #: ``metrics.token``: the bearer token for ``/metrics``; None = no metrics page (404).
    metrics_token: str | None = None
    source: str = "<default>"
    groups: Mapping[str, Group] = field(default_factory=dict)
    proxy_auth: ProxyAuthSettings = field(default_factory=ProxyAuthSettings)
    #: Profiles with their groups merged in, made once per combination (see policies.devices).
    merged: dict[tuple[str, tuple[str, ...]], Profile] = field(
        default_factory=dict, compare=False, repr=False)

    def profile(self, name: str | None) -> Profile:
        return self.profiles.get(name or self.default_profile) or self.profiles[self.default_profile]


class YamlDocument:
    """A parsed YAML document that remembers the line of every key, for error messages.

    Used for every YAML file kidgate reads (config, term lists): duplicate keys, self-referencing
    aliases and alias bombs are refused with ``file:line: key: message`` errors.
    """

    @classmethod
    def read(cls, path: str | Path) -> YamlDocument:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(str(p), None, "", "file not found") from None
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(str(p), None, "", f"cannot read the file: {e}") from None
        return cls(str(p), text)

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.lines: dict[str, int] = {}
        self._loader = yaml.SafeLoader("")
        self._open: set[int] = set()
        self._count = 0
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            raise ConfigError(file, mark.line + 1 if mark else None, "",
                              f"not valid YAML: {e.problem or e.context}") from None
        except yaml.YAMLError as e:
            raise ConfigError(file, None, "", f"not valid YAML: {e}") from None
        self.data = self._convert(node, "") if node is not None else {}

    def _convert(self, node: yaml.Node, path: str) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        # Aliases may repeat or contain a node: refuse cycles and exponential expansion.
        self._count += 1
        if self._count > 200_000:
            raise ConfigError(self.file, node.start_mark.line + 1, path,
                              "the file is too large or expands too much (YAML aliases)")
        if isinstance(node, yaml.CollectionNode):
            if id(node) in self._open:
                raise ConfigError(self.file, node.start_mark.line + 1, path,
                                  "a YAML alias refers to itself")
            self._open.add(id(node))
            try:
                return self._convert_collection(node, path)
            finally:
                self._open.discard(id(node))
        try:
            return self._loader.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as e:  # a value no safe constructor knows, such as "="
            mark = e.problem_mark or e.context_mark or node.start_mark
            raise ConfigError(self.file, mark.line + 1, path,
                              f"not valid YAML: {e.problem or e.context}") from None

    def _convert_collection(self, node: yaml.CollectionNode, path: str) -> Any:
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for knode, vnode in node.value:
                key = str(knode.value)
                sub = f"{path}.{key}" if path else key
                self.lines[sub] = knode.start_mark.line + 1
                if key in out:
                    raise ConfigError(self.file, knode.start_mark.line + 1, sub, "duplicate key")
                out[key] = self._convert(vnode, sub)
            return out
        return [self._convert(v, f"{path}[{i}]") for i, v in enumerate(node.value)]

    def error(self, key: str, message: str, /, **values: object) -> ConfigError:
        """The mistake at ``key``; with ``values``, ``message`` is a template filled with them
        (``{value!r}``), kept with them for a translation."""
        line = self.lines.get(key)
        probe = key
        while line is None and probe:
            probe = probe.rsplit(".", 1)[0] if "." in probe else probe.split("[", 1)[0]
            line = self.lines.get(probe)
            if probe == key.split(".")[0]:
                break
        text = message.format(**values) if values else message
        return ConfigError(self.file, line, key, text, template=message, values=values)


#: Checks for sections that packages above the core understand (``alerts``: the reporting
#: package). Each raises ValueError with a message; the loader adds file, line and key.
SectionChecks = Mapping[str, Callable[[Mapping[str, Any]], object]]


def load(path: str | Path | None = None, *, sections: SectionChecks | None = None) -> Config:
    """Load and validate a configuration file; ``None`` loads the shipped default."""
    doc = YamlDocument.read(Path(path) if path else DEFAULT_CONFIG_PATH)
    return _Validator(doc, sections).config()


def parse(text: str, file: str = "<config>", *, sections: SectionChecks | None = None) -> Config:
    doc = YamlDocument(file, text)
    return _Validator(doc, sections).config()


class _Validator:
    def __init__(self, doc: YamlDocument, sections: SectionChecks | None = None) -> None:
        self.doc = doc
        self.sections = sections or {}
        self._timetables: dict[str, tuple[tuple[dt.time, dt.time], ...]] = {}
        self._calendars: dict[str, Calendar] = {}

    # -- small typed getters ------------------------------------------------------------
    def _check_keys(self, data: Mapping[str, Any], path: str, allowed: set[str]) -> None:
        for key in data:
            if key not in allowed:
                sub = f"{path}.{key}" if path else key
                raise self.doc.error(sub, f"unknown key; expected one of: {', '.join(sorted(allowed))}")

    def _map(self, value: Any, path: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.doc.error(path, "expected a mapping of keys to values, got {kind}",
                                 kind=_kind(value))
        return value

    def _list(self, value: Any, path: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.doc.error(path, "expected a list, got {kind}", kind=_kind(value))
        return value

    def _int(self, value: Any, path: str, lo: int, hi: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise self.doc.error(path, "expected a whole number from {lo} to {hi}, got {value!r}",
                                 lo=lo, hi=hi, value=value)
        return value

    def _str(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.doc.error(path, "expected a text value, got {kind}", kind=_kind(value))
        return value.strip()

    def _choice(self, value: Any, path: str, choices: tuple[str, ...]) -> str:
        if isinstance(value, bool):  # YAML reads a bare off/on as a boolean
            value = "on" if value else "off"
        if value not in choices:
            raise self.doc.error(path, "expected one of {choices}, got {value!r}",
                                 choices=", ".join(choices), value=value)
        return value

    def _domains(self, value: Any, path: str) -> tuple[str, ...]:
        out = []
        for i, item in enumerate(self._list(value, path)):
            sub = f"{path}[{i}]"
            d = self._str(item, sub).lower().rstrip(".")
            try:
                d = d.encode("idna").decode("ascii") if not d.isascii() else d
            except UnicodeError:
                raise self.doc.error(sub, "not a valid domain name: {value!r}",
                                     value=item) from None
            if not _DOMAIN_RE.match(d):
                raise self.doc.error(sub, "not a valid domain name: {value!r} (write example.org, "
                                          "without http:// or a path)", value=item)
            out.append(d.removeprefix("*."))
        return tuple(out)

    # -- sections -------------------------------------------------------------------------
    def config(self) -> Config:
        d = self._map(self.doc.data, "")
        self._check_keys(d, "", {"listen", "language", "hotline_country", "data_dir",
                                 "default_profile", "category_ages", "classifier", "labels",
                                 "profiles", "devices", "lists", "alerts", "passthrough",
                                 "allow_public_clients", "helpline", "log", "timetables",
                                 "calendars", "groups", "admin", "database", "metrics",
                                 "proxy_auth"})
        language = self._choice(d.get("language", "en"), "language", LANGUAGES)
        listen = self._map(d.get("listen"), "listen")
        self._check_keys(listen, "listen", {"host", "port"})
        host = self._str(listen.get("host", "0.0.0.0"), "listen.host")
        port = self._int(listen.get("port", 8080), "listen.port", 1, 65535)
        country = self._str(d.get("hotline_country", "RO"), "hotline_country").upper()
        if not re.fullmatch(r"[A-Z]{2}", country):
            raise self.doc.error("hotline_country", f"expected a two-letter country code such as RO or GB, got {country!r}")
        ages = self._category_ages(d.get("category_ages"), "category_ages")
        thresholds = self._thresholds(d.get("classifier"), "classifier")
        labels = self._labels(d.get("labels"), "labels")
        self._timetables = {str(name): self._periods(t, f"timetables.{name}")
                            for name, t in self._map(d.get("timetables"), "timetables").items()}
        self._calendars = {str(name): self._calendar(str(name), c, f"calendars.{name}")
                           for name, c in self._map(d.get("calendars"), "calendars").items()}
        profiles_raw = self._map(d.get("profiles"), "profiles")
        if not profiles_raw:
            raise self.doc.error("profiles", "at least one profile is needed, e.g. profiles: {child: {age: 10}}")
        profiles = {name: self._profile(name, p, f"profiles.{name}", ages, thresholds, labels, language)
                    for name, p in profiles_raw.items()}
        default = d.get("default_profile", next(iter(profiles)))
        if default not in profiles:
            raise self.doc.error("default_profile", f"no profile named {default!r}; "
                                 f"profiles are: {', '.join(profiles)}")
        groups = {str(name): self._group(str(name), g, f"groups.{name}")
                  for name, g in self._map(d.get("groups"), "groups").items()}
        devices = tuple(self._device(dev, f"devices[{i}]", profiles, groups)
                        for i, dev in enumerate(self._list(d.get("devices"), "devices")))
        self._check_wireguard(devices)
        data_dir = d.get("data_dir")
        if data_dir is not None:
            data_dir = Path(self._str(data_dir, "data_dir")).expanduser()
        lists = self._map(d.get("lists"), "lists")
        self._check_keys(lists, "lists", {"path", "sources", "mapping", "hotline", "auto_update"})
        alerts = self._map(d.get("alerts"), "alerts")
        for name, section in (("lists", lists), ("alerts", alerts)):
            if section and (check := self.sections.get(name)) is not None:
                try:
                    check(section)
                except ValueError as e:
                    # "lists.auto_update.hour: expected ..." points at its own key.
                    key, sep, message = str(e).partition(": ")
                    if sep and key.startswith(f"{name}.") and " " not in key:
                        raise self.doc.error(key, message) from None
                    raise self.doc.error(name, str(e)) from None
        allow_public = d.get("allow_public_clients", False)
        if not isinstance(allow_public, bool):
            raise self.doc.error("allow_public_clients", "expected true or false")
        metrics = self._map(d.get("metrics"), "metrics")
        self._check_keys(metrics, "metrics", {"token"})
        token = None
        if "token" in metrics:
            token = self._str(metrics["token"], "metrics.token")
            if len(token) < 16 or not re.fullmatch(r"[A-Za-z0-9._~+/=-]+", token):
                raise self.doc.error("metrics.token", "expected at least 16 letters, digits or "
                                     "-._~+/= (for example from: openssl rand -hex 16)")
        retention = self._log(d.get("log"), "log")
        admin = self._admin(d.get("admin"), "admin")
        database_url, decisions_to, drop_queries = self._database(d.get("database"), "database")
        proxy_auth = self._proxy_auth(d.get("proxy_auth"), "proxy_auth")
        return Config(
            profiles=profiles, default_profile=default, devices=devices, listen_host=host,
            listen_port=port, language=language, hotline_country=country, data_dir=data_dir,
            groups=groups, metrics_token=token,
            lists=lists, classifier=self._map(d.get("classifier"), "classifier"), alerts=alerts,
            passthrough=self._domains(d.get("passthrough"), "passthrough"),
            allow_public_clients=allow_public, log=retention,
            helpline=str(d.get("helpline", "116 111")), admin=admin,
            database_url=database_url, decisions_to=decisions_to, drop_queries=drop_queries,
            proxy_auth=proxy_auth, source=self.doc.file)

    def _admin(self, value: Any, path: str) -> AdminSettings:
        """``admin: {enabled: true, listen: {host: 0.0.0.0, port: 8081}}``."""
        s = self._map(value, path)
        self._check_keys(s, path, {"enabled", "listen", "hosts"})
        enabled = s.get("enabled", True)
        if not isinstance(enabled, bool):
            raise self.doc.error(f"{path}.enabled", "expected true or false")
        listen = self._map(s.get("listen"), f"{path}.listen")
        self._check_keys(listen, f"{path}.listen", {"host", "port"})
        default = AdminSettings()
        host = self._str(listen.get("host", default.host), f"{path}.listen.host")
        port = self._int(listen.get("port", default.port), f"{path}.listen.port", 1, 65535)
        hosts = self._domains(s.get("hosts"), f"{path}.hosts")
        return AdminSettings(enabled=enabled, host=host, port=port, hosts=hosts)

    def _database(self, value: Any, path: str) -> tuple[str | None, str, bool]:
        """``database: {url: postgresql+psycopg://kidgate@db.school/kidgate,
        decisions: database, drop_queries: true}``."""
        s = self._map(value, path)
        self._check_keys(s, path, {"url", "decisions", "drop_queries"})
        url = None
        if "url" in s:
            url = self._str(s["url"], f"{path}.url")
            if not re.match(r"^(sqlite|postgresql(\+psycopg)?)://", url):
                raise self.doc.error(f"{path}.url", "expected sqlite:///PATH or "
                                     "postgresql+psycopg://USER@HOST/DATABASE")
        decisions = self._choice(s.get("decisions", "database" if url else "file"),
                                 f"{path}.decisions", ("file", "database", "both"))
        drop = s.get("drop_queries", False)
        if not isinstance(drop, bool):
            raise self.doc.error(f"{path}.drop_queries", f"expected true or false, got {drop!r}")
        return url, decisions, drop

    def _check_wireguard(self, devices: tuple[Device, ...]) -> None:
        """One peer, one name and one port: mitmproxy serves one peer per WireGuard port."""
        names: dict[str, int] = {}
        ports: dict[int, int] = {}
        for i, dev in enumerate(devices):
            if dev.wireguard is None:
                continue
            for seen, key, what in ((names, dev.wireguard, "wireguard"),
                                    (ports, dev.wireguard_port, "port")):
                if key in seen:
                    raise self.doc.error(f"devices[{i}].{what}", f"devices[{seen[key]}] has "
                                         f"this {what} already: each WireGuard device has its own")
                seen[key] = i  # type: ignore[index]

    def _proxy_auth(self, value: Any, path: str) -> ProxyAuthSettings:
        """``proxy_auth: {users: {mum: "$argon2id$..."}, required: false, ldap: {...}}``."""
        s = self._map(value, path)
        self._check_keys(s, path, {"users", "required", "ldap"})
        users: dict[str, str] = {}
        for name, hashed in self._map(s.get("users"), f"{path}.users").items():
            user = str(name)
            if not user or ":" in user or any(c.isspace() for c in user):
                raise self.doc.error(f"{path}.users", f"user names have no spaces or ':': {user!r}")
            text = self._str(hashed, f"{path}.users.{user}")
            if not PASSWORD_HASH.match(text):
                raise self.doc.error(f"{path}.users.{user}", "expected a password hash (from "
                                     "kidgate passwd, or htpasswd -B), never the password itself")
            users[user] = text
        required = s.get("required", False)
        if not isinstance(required, bool):
            raise self.doc.error(f"{path}.required", "expected true or false")
        ldap = None
        if s.get("ldap") is not None:
            m = self._map(s["ldap"], f"{path}.ldap")
            self._check_keys(m, f"{path}.ldap", {"url", "user_dn", "timeout"})
            for key in ("url", "user_dn"):
                if key not in m:
                    raise self.doc.error(f"{path}.ldap", f"missing key {key!r}")
            url = self._str(m["url"], f"{path}.ldap.url")
            if not re.fullmatch(r"ldaps?://[^/\s]+/?", url):
                raise self.doc.error(f"{path}.ldap.url", "expected ldaps://HOST[:PORT] "
                                     "(or ldap:// on a trusted network)")
            user_dn = self._str(m["user_dn"], f"{path}.ldap.user_dn")
            if user_dn.count("{user}") != 1 or "=" not in user_dn:
                raise self.doc.error(f"{path}.ldap.user_dn", "expected a DN with {user} once, "
                                     "such as uid={user},ou=pupils,dc=school,dc=example")
            timeout = self._int(m.get("timeout", 5), f"{path}.ldap.timeout", 1, 60)
            ldap = LdapSettings(url=url.rstrip("/"), user_dn=user_dn, timeout=float(timeout))
        if required and not users and ldap is None:
            raise self.doc.error(f"{path}.required", "sign-in is required but no users and no "
                                 "ldap are configured: nobody could sign in")
        return ProxyAuthSettings(users=users, required=required, ldap=ldap)

    def _log(self, value: Any, path: str) -> Retention:
        """``log: {retention_days: 30, max_mb: 200}``; 0 days keeps no decision log at all."""
        s = self._map(value, path)
        self._check_keys(s, path, {"retention_days", "max_mb"})
        default = Retention()
        days = self._int(s.get("retention_days", default.days), f"{path}.retention_days", 0, 3650)
        mb = self._int(s.get("max_mb", default.max_bytes // MB), f"{path}.max_mb", 1, 1_000_000)
        return Retention(days=days, max_bytes=mb * MB)

    def _category_ages(self, value: Any, path: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for cat, v in self._map(value, path).items():
            sub = f"{path}.{cat}"
            if cat not in DEFAULT_MIN_AGES:
                raise self.doc.error(sub, "unknown category; categories are: {categories}",
                                     categories=", ".join(DEFAULT_MIN_AGES))
            if isinstance(v, str) and v in ("block", "never"):
                out[cat] = NEVER
            elif isinstance(v, str) and v == "allow":
                out[cat] = 0
            else:
                out[cat] = self._int(v, sub, 0, 99)
            if cat in ALWAYS_BLOCKED and out[cat] < NEVER:
                raise self.doc.error(sub, "{category} is blocked for everyone and cannot be allowed",
                                     category=cat)
        return out

    def _thresholds(self, value: Any, path: str) -> dict[str, float]:
        section = self._map(value, path)
        self._check_keys(section, path, {"thresholds", "timeout_ms", "max_bytes", "enabled"})
        out: dict[str, float] = {}
        for cat, v in self._map(section.get("thresholds"), f"{path}.thresholds").items():
            sub = f"{path}.thresholds.{cat}"
            if cat not in ("default", "url") and cat not in DEFAULT_MIN_AGES:
                raise self.doc.error(sub, "unknown category (or 'default', or 'url' for the "
                                          "URL/host model)")
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 1:
                raise self.doc.error(sub, f"expected a probability between 0 and 1, got {v!r}")
            out[cat] = float(v)
        return out

    def _labels(self, value: Any, path: str) -> dict[str, str]:
        out = {}
        for kind, v in self._map(value, path).items():
            if kind not in LABEL_KINDS:
                raise self.doc.error(f"{path}.{kind}", f"unknown label kind; kinds are: {', '.join(LABEL_KINDS)}")
            out[kind] = self._choice(v, f"{path}.{kind}", ("enforce", "ignore"))
        return out

    def _profile(self, name: str, value: Any, path: str, ages: dict[str, int],
                 thresholds: dict[str, float], labels: dict[str, str], language: str) -> Profile:
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name):
            raise self.doc.error(path, "profile names use letters, digits, '_', '-' and '.' only")
        p = self._map(value, path)
        self._check_keys(p, path, {"age", "language", "allow", "deny", "categories", "safe_search",
                                   "youtube", "fail_safe", "schedules", "timezone", "report_button",
                                   "school", "thresholds", "labels", "ip_urls", "pause",
                                   "extra_time", "services"})
        if "age" not in p:
            raise self.doc.error(path, "missing key 'age' (the child's age in years, e.g. age: 10)")
        age = self._int(p["age"], f"{path}.age", 0, 120)
        own = self._category_ages(p.get("categories"), f"{path}.categories")
        cat_ages = {**ages, **own}
        th = {**thresholds, **self._thresholds({"thresholds": p.get("thresholds")}, path)}
        tz = self._str(p.get("timezone", "UTC"), f"{path}.timezone")
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.doc.error(f"{path}.timezone", "unknown time zone {value!r} (use a name "
                                 "such as Europe/Bucharest)", value=tz) from None
        schedules = tuple(self._schedule(s, f"{path}.schedules[{i}]")
                          for i, s in enumerate(self._list(p.get("schedules"), f"{path}.schedules")))
        report_button = p.get("report_button", False)
        if not isinstance(report_button, bool):
            raise self.doc.error(f"{path}.report_button", "expected true or false")
        school = self._school(p.get("school"), f"{path}.school")
        zone = ZoneInfo(tz)
        pause = self._pause(p["pause"], f"{path}.pause", zone) if "pause" in p else None
        extra = tuple(self._extra_time(x, f"{path}.extra_time[{i}]", zone) for i, x in
                      enumerate(self._list(p.get("extra_time"), f"{path}.extra_time")))
        services = self._services(p.get("services"), f"{path}.services")
        return Profile(
            name=name, age=age,
            language=self._choice(p.get("language", language), f"{path}.language", LANGUAGES),
            category_ages=cat_ages, thresholds=th,
            allow_domains=self._domains(p.get("allow"), f"{path}.allow"),
            deny_domains=self._domains(p.get("deny"), f"{path}.deny"),
            safe_search=self._choice(p.get("safe_search", "strict" if age < 18 else "off"),
                                     f"{path}.safe_search", SAFE_LEVELS),
            youtube=self._choice(p.get("youtube", "strict" if age < 13 else "moderate" if age < 18 else "off"),
                                 f"{path}.youtube", SAFE_LEVELS),
            fail_safe=self._choice(p.get("fail_safe", "block"), f"{path}.fail_safe", ("block", "allow")),
            schedules=schedules, timezone=tz, report_button=report_button, school=school,
            labels={**labels, **self._labels(p.get("labels"), f"{path}.labels")},
            ip_urls=self._choice(p.get("ip_urls", "block"), f"{path}.ip_urls", ("block", "allow")),
            own_categories=frozenset(own), pause=pause, extra_time=extra, services=services)

    def _until(self, value: Any, path: str, zone: ZoneInfo) -> dt.datetime:
        """A moment such as ``2026-12-04 20:00`` (the profile's time zone) or an ISO time with
        an offset. A bare time of day is refused: it would mean a different moment each day."""
        if isinstance(value, dt.datetime):
            moment = value
        else:
            try:
                if isinstance(value, dt.date):
                    raise ValueError
                moment = dt.datetime.fromisoformat(str(value).strip())
            except ValueError:
                raise self.doc.error(path, "expected a date and time such as "
                                     f"\"2026-12-04 20:00\", got {value!r}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        return moment

    def _pause(self, value: Any, path: str, zone: ZoneInfo) -> Pause:
        """``pause: {until: "2026-12-04 20:00", by: mum}``: everything blocked until then."""
        s = self._map(value, path)
        self._check_keys(s, path, {"until", "by"})
        if "until" not in s:
            raise self.doc.error(path, "missing key 'until' (when the pause ends, e.g. "
                                       "until: \"2026-12-04 20:00\")")
        return Pause(self._until(s["until"], f"{path}.until", zone), str(s.get("by", "")))

    def _extra_time(self, value: Any, path: str, zone: ZoneInfo) -> ExtraTime:
        """``{until: ..., categories: [social]}``; no categories: the whole internet."""
        s = self._map(value, path)
        self._check_keys(s, path, {"until", "categories", "by"})
        if "until" not in s:
            raise self.doc.error(path, "missing key 'until' (when the extra time ends, e.g. "
                                       "until: \"2026-12-04 21:30\")")
        cats = []
        for i, c in enumerate(self._list(s.get("categories"), f"{path}.categories")):
            sub = f"{path}.categories[{i}]"
            if c not in DEFAULT_MIN_AGES:
                raise self.doc.error(sub, "unknown category {value!r}; categories are: {categories}",
                                     value=c, categories=", ".join(DEFAULT_MIN_AGES))
            if c in ALWAYS_BLOCKED or c in CHILD_ALWAYS_BLOCKED:
                raise self.doc.error(sub, "{category} stays blocked: no extra time can open it",
                                     category=c)
            cats.append(c)
        return ExtraTime(self._until(s["until"], f"{path}.until", zone), frozenset(cats),
                         str(s.get("by", "")))

    def _services(self, value: Any, path: str) -> ServiceBlock:
        """``services: {block: [tiktok, roblox], schedules: [...]}`` (names from the shipped
        catalogue; with schedules, blocked only while one of them is active)."""
        s = self._map(value, path)
        if not s:
            return ServiceBlock()
        self._check_keys(s, path, {"block", "schedules"})
        from policies.services import catalogue
        known = catalogue()
        chosen = []
        for i, name in enumerate(self._list(s.get("block"), f"{path}.block")):
            if name not in known:
                raise self.doc.error(f"{path}.block[{i}]", f"unknown service {name!r}; "
                                     f"services are: {', '.join(sorted(known))}")
            if known[name] not in chosen:
                chosen.append(known[name])
        schedules = tuple(self._schedule(x, f"{path}.schedules[{i}]") for i, x in
                          enumerate(self._list(s.get("schedules"), f"{path}.schedules")))
        return ServiceBlock(tuple(chosen), schedules)

    def _school(self, value: Any, path: str) -> dict[str, object]:
        s = self._map(value, path)
        self._check_keys(s, path, {"google_allowed_domains", "microsoft_tenants",
                                   "microsoft_context", "block_consumer_microsoft"})
        out: dict[str, object] = {}
        if "google_allowed_domains" in s:
            out["google_allowed_domains"] = list(self._domains(s["google_allowed_domains"], f"{path}.google_allowed_domains"))
        if "microsoft_tenants" in s:
            out["microsoft_tenants"] = [self._str(t, f"{path}.microsoft_tenants[{i}]")
                                        for i, t in enumerate(self._list(s["microsoft_tenants"], f"{path}.microsoft_tenants"))]
        if "microsoft_context" in s:
            out["microsoft_context"] = self._str(s["microsoft_context"], f"{path}.microsoft_context")
        if "block_consumer_microsoft" in s:
            if not isinstance(s["block_consumer_microsoft"], bool):
                raise self.doc.error(f"{path}.block_consumer_microsoft", "expected true or false")
            out["block_consumer_microsoft"] = s["block_consumer_microsoft"]
        return out

    def _schedule(self, value: Any, path: str) -> Schedule:
        s = self._map(value, path)
        self._check_keys(s, path, {"name", "days", "start", "end", "categories", "periods",
                                   "timetable", "calendar"})
        sources = [k for k in ("start", "periods", "timetable") if k in s]
        if len(sources) != 1 or ("start" in s) != ("end" in s):
            raise self.doc.error(path, "give start and end (times such as \"21:00\"), or "
                                       "periods, or the name of a timetable")
        if "timetable" in s:
            name = s["timetable"]
            if name not in self._timetables:
                raise self.doc.error(f"{path}.timetable", f"no timetable named {name!r}; "
                                     f"timetables are: {', '.join(self._timetables) or 'none'}")
            periods = self._timetables[name]
        elif "periods" in s:
            periods = self._periods(s["periods"], f"{path}.periods")
        else:
            periods = ()
        calendar = None
        if "calendar" in s:
            if s["calendar"] not in self._calendars:
                raise self.doc.error(f"{path}.calendar", f"no calendar named {s['calendar']!r}; "
                                     f"calendars are: {', '.join(self._calendars) or 'none'}")
            calendar = self._calendars[s["calendar"]]
        days_raw = s.get("days", list(DAYS))
        if isinstance(days_raw, str):
            days_raw = [d.strip() for d in days_raw.split(",")]
        days = set()
        for i, d in enumerate(self._list(days_raw, f"{path}.days")):
            text = str(d).strip().lower()
            if re.fullmatch(r"[a-z]{3}[a-z]*-[a-z]{3}[a-z]*", text):  # a range: mon-fri
                a, b = (DAYS.get(x[:3]) for x in text.split("-"))
                if a is None or b is None:
                    raise self.doc.error(f"{path}.days[{i}]",
                                         "expected weekdays such as mon-fri, got {value!r}", value=d)
                days.update((a + k) % 7 for k in range((b - a) % 7 + 1))
                continue
            key = text[:3]
            if key not in DAYS:
                raise self.doc.error(f"{path}.days[{i}]",
                                     "expected a weekday such as mon or sat, got {value!r}", value=d)
            days.add(DAYS[key])
        cats = []
        for i, c in enumerate(self._list(s.get("categories"), f"{path}.categories")):
            if c not in DEFAULT_MIN_AGES:
                raise self.doc.error(f"{path}.categories[{i}]", "unknown category {value!r}", value=c)
            cats.append(c)
        if periods:
            start, end = periods[0][0], periods[-1][1]
        else:
            start, end = self._time(s["start"], f"{path}.start"), self._time(s["end"], f"{path}.end")
        return Schedule(name=str(s.get("name", "schedule")), days=frozenset(days),
                        start=start, end=end, categories=frozenset(cats), periods=periods,
                        calendar=calendar)

    def _periods(self, value: Any, path: str) -> tuple[tuple[dt.time, dt.time], ...]:
        """A timetable: lesson periods as ``{start, end}`` mappings or ``"08:00-08:45"``."""
        out = []
        items = self._list(value, path)
        if not items:
            raise self.doc.error(path, "a timetable needs at least one period, e.g. \"08:00-08:45\"")
        for i, item in enumerate(items):
            sub = f"{path}[{i}]"
            if isinstance(item, str) and "-" in item:
                a, _, b = item.partition("-")
                period = (self._time(a, sub), self._time(b, sub))
            else:
                m = self._map(item, sub)
                self._check_keys(m, sub, {"start", "end", "name"})
                if "start" not in m or "end" not in m:
                    raise self.doc.error(sub, "a period needs start and end")
                period = (self._time(m["start"], f"{sub}.start"), self._time(m["end"], f"{sub}.end"))
            if not period[0] < period[1]:
                raise self.doc.error(sub, "a lesson period ends after it starts (and within the day)")
            out.append(period)
        return tuple(sorted(out))

    def _calendar(self, name: str, value: Any, path: str) -> Calendar:
        c = self._map(value, path)
        self._check_keys(c, path, {"terms", "holidays"})
        return Calendar(name, self._date_ranges(c.get("terms"), f"{path}.terms"),
                        self._date_ranges(c.get("holidays"), f"{path}.holidays"))

    def _date_ranges(self, value: Any, path: str) -> tuple[tuple[dt.date, dt.date], ...]:
        """Dates (``2026-11-30``) and ranges (``{from: 2026-12-20, until: 2027-01-06}``)."""
        out = []
        for i, item in enumerate(self._list(value, path)):
            sub = f"{path}[{i}]"
            if isinstance(item, dict):
                self._check_keys(item, sub, {"from", "until", "name"})
                if "from" not in item or "until" not in item:
                    raise self.doc.error(sub, "a range needs from and until dates")
                a, b = self._date(item["from"], f"{sub}.from"), self._date(item["until"], f"{sub}.until")
                if b < a:
                    raise self.doc.error(sub, "until is before from")
            else:
                a = b = self._date(item, sub)
            out.append((a, b))
        return tuple(out)

    def _date(self, value: Any, path: str) -> dt.date:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        try:
            return dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise self.doc.error(path, "expected a date such as 2026-12-20, got {value!r}",
                                 value=value) from None

    def _time(self, value: Any, path: str) -> dt.time:
        if isinstance(value, int) and not isinstance(value, bool):  # YAML 1.1 reads 21:00 as 1260
            value = f"{value // 60:02d}:{value % 60:02d}"
        m = re.fullmatch(r"(\d{1,2}):(\d{2})", str(value).strip())
        if not m or int(m[1]) > 24 or int(m[2]) > 59 or (int(m[1]) == 24 and int(m[2])):
            raise self.doc.error(path, "expected a time of day such as \"21:30\", got {value!r}",
                                 value=value)
        h, mnt = int(m[1]), int(m[2])
        return dt.time(23, 59, 59, 999999) if h == 24 else dt.time(h, mnt)

    def _group(self, name: str, value: Any, path: str) -> Group:
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name):
            raise self.doc.error(path, "group names use letters, digits, '_', '-' and '.' only")
        g = self._map(value, path)
        self._check_keys(g, path, {"networks", "allow", "deny", "categories", "schedules"})
        networks = []
        for i, raw in enumerate(self._list(g.get("networks"), f"{path}.networks")):
            try:
                networks.append(ipaddress.ip_network(str(raw).strip(), strict=False))
            except ValueError:
                raise self.doc.error(f"{path}.networks[{i}]",
                                     "not an IP network such as 10.20.5.0/24: {value!r}",
                                     value=raw) from None
        schedules = tuple(self._schedule(s, f"{path}.schedules[{i}]")
                          for i, s in enumerate(self._list(g.get("schedules"), f"{path}.schedules")))
        return Group(name, tuple(networks), self._domains(g.get("allow"), f"{path}.allow"),
                     self._domains(g.get("deny"), f"{path}.deny"),
                     self._category_ages(g.get("categories"), f"{path}.categories"), schedules)

    def _device(self, value: Any, path: str, profiles: Mapping[str, Profile],
                groups: Mapping[str, Group] | None = None) -> Device:
        groups = groups or {}
        d = self._map(value, path)
        self._check_keys(d, path, {"ip", "cidr", "mac", "user", "wireguard", "port", "profile",
                                   "name", "groups"})
        prof = d.get("profile")
        if prof not in profiles:
            raise self.doc.error(f"{path}.profile", "no profile named {value!r}; profiles are: "
                                 "{profiles}", value=prof, profiles=", ".join(profiles))
        member_of = []
        for i, g in enumerate(self._list(d.get("groups"), f"{path}.groups")):
            if g not in groups:
                raise (self.doc.error(f"{path}.groups[{i}]", "no group named {value!r}; groups are: "
                                      "{groups}", value=g, groups=", ".join(groups))
                       if groups else
                       self.doc.error(f"{path}.groups[{i}]", "no group named {value!r}; groups "
                                      "are: none", value=g))
            member_of.append(str(g))
        d = {k: v for k, v in d.items() if k != "groups"}
        device = self._device_entry(d, path, prof)
        return dataclasses.replace(device, groups=tuple(member_of))

    def _device_entry(self, d: dict[str, Any], path: str, prof: str) -> Device:
        keys = [k for k in ("ip", "cidr", "mac", "user", "wireguard") if k in d]
        if len(keys) != 1:
            raise self.doc.error(path, "give exactly one of ip, cidr, mac, user or wireguard to "
                                       "recognise the device")
        k = keys[0]
        raw = self._str(str(d[k]), f"{path}.{k}")
        name = str(d.get("name", raw))
        if ("port" in d) != (k == "wireguard"):
            raise self.doc.error(f"{path}.port" if "port" in d else path,
                                 "a wireguard device needs its own UDP port (port: 51820); "
                                 "other devices have none")
        if k == "wireguard":
            if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", raw):
                raise self.doc.error(f"{path}.wireguard", "a WireGuard device's name uses "
                                     "letters, digits, '_', '-' and '.' only")
            port = self._int(d["port"], f"{path}.port", 1024, 65535)
            return Device(profile=prof, name=name, wireguard=raw, wireguard_port=port)
        if k in ("ip", "cidr"):
            try:
                net = ipaddress.ip_network(raw, strict=False)
            except ValueError:
                raise self.doc.error(f"{path}.{k}", "not an IP address or network: {value!r}",
                                     value=raw) from None
            if k == "ip" and net.num_addresses != 1:
                raise self.doc.error(f"{path}.ip", "use cidr: for a network; ip: is one address")
            return Device(profile=prof, network=net, name=name)
        if k == "mac":
            mac = raw.lower().replace("-", ":")
            if not _MAC_RE.match(mac):
                raise self.doc.error(f"{path}.mac", "expected a MAC address such as "
                                     "aa:bb:cc:dd:ee:ff, got {value!r}", value=raw)
            return Device(profile=prof, mac=mac, name=name)
        return Device(profile=prof, user=raw, name=name)


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false", int: "a number",
            float: "a number", type(None): "nothing"}.get(type(value), type(value).__name__)
