"""Changes the admin app makes to the configuration file.

The parent's file is theirs: it is edited round-trip (ruamel.yaml keeps comments, order and
style), the result is validated by the same loader the proxy uses before anything is written,
the previous file is kept as ``NAME.bak``, and the new one replaces it atomically (written
beside it, flushed to disk, renamed), so the proxy, which re-reads the file when it changes,
sees either the old or the new file and never half of one. A lock file serialises editors.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import io
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

import pages
from admin.i18n import N_, Message
from policies import config as config_mod
from policies.config import ConfigError

#: The loader's messages (``policies.config``) a form of the admin app can bring about, as the
#: templates it fills: out-of-range numbers, a wrong choice, site, network, MAC address, time,
#: day or category, a profile or group that does not exist. Marked here for the catalogue, as
#: the core imports nothing above it; ``tests/admin`` checks each is still one of the loader's.
#: Any other message of the loader is shown in English, as it is written.
CHECKER_TEXTS = (
    N_("expected a whole number from {lo} to {hi}, got {value!r}"),
    N_("expected one of {choices}, got {value!r}"),
    N_("expected a text value, got {kind}"),
    N_("expected a list, got {kind}"),
    N_("expected a mapping of keys to values, got {kind}"),
    N_("missing key 'age' (the child's age in years, e.g. age: 10)"),
    N_("not a valid domain name: {value!r}"),
    N_("not a valid domain name: {value!r} (write example.org, without http:// or a path)"),
    N_("unknown category {value!r}"),
    N_("unknown category; categories are: {categories}"),
    N_("unknown category {value!r}; categories are: {categories}"),
    N_("{category} is blocked for everyone and cannot be allowed"),
    N_("{category} stays blocked: no extra time can open it"),
    N_("expected a time of day such as \"21:30\", got {value!r}"),
    N_("expected a date such as 2026-12-20, got {value!r}"),
    N_("expected a weekday such as mon or sat, got {value!r}"),
    N_("expected weekdays such as mon-fri, got {value!r}"),
    N_("give start and end (times such as \"21:00\"), or periods, or the name of a timetable"),
    N_("unknown time zone {value!r} (use a name such as Europe/Bucharest)"),
    N_("not an IP network such as 10.20.5.0/24: {value!r}"),
    N_("not an IP address or network: {value!r}"),
    N_("use cidr: for a network; ip: is one address"),
    N_("expected a MAC address such as aa:bb:cc:dd:ee:ff, got {value!r}"),
    N_("no profile named {value!r}; profiles are: {profiles}"),
    N_("no group named {value!r}; groups are: {groups}"),
    N_("no group named {value!r}; groups are: none"),
    N_("profile names use letters, digits, '_', '-' and '.' only"),
    N_("group names use letters, digits, '_', '-' and '.' only"),
)
#: The loader's words for a value's type (``{kind}``), translated with its message.
CHECKER_KINDS = (N_("a mapping"), N_("a list"), N_("text"), N_("true/false"), N_("a number"),
                 N_("nothing"))


def checker_message(error: ConfigError) -> Message:
    """The loader's message without its place in the file, to show in the reader's language:
    its template and values, a category key in words. A template not in
    :data:`CHECKER_TEXTS` has no translation and shows in English, as the loader wrote it."""
    values: dict[str, object] = {}
    for name, value in error.values.items():
        if name == "kind" and value in CHECKER_KINDS:
            value = Message(str(value))
        elif name == "category" and isinstance(value, str) and value in pages.CATEGORY_NAMES:
            value = Message(pages.CATEGORY_NAMES[value])
        values[name] = value
    return Message(error.template, **values)


class EditError(ValueError):
    """An edit that cannot be made; the file is unchanged. ``key`` is the configuration key
    the loader objected to (``profiles.anna.age``), when it named one; ``detail`` the mistake
    alone, for the form field it concerns, and ``where`` its place in the file. ``str()`` is
    English (logs); :attr:`shown` is for a page, translated where it is shown."""

    def __init__(self, message: str | Message, key: str = "", detail: str | Message = "", *,
                 where: str = "") -> None:
        super().__init__(str(message))
        self.key = key
        self.detail: str | Message = detail or message
        self.where = where

    @property
    def shown(self) -> str | Message:
        """The whole message for a page: its place in the file (as it is), then the mistake."""
        return Message("{where}{detail}", where=self.where, detail=self.detail) if self.where \
            else self.detail


def _yaml() -> YAML:
    y = YAML()  # round-trip
    y.preserve_quotes = True
    y.width = 100
    return y


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write_atomically(path: Path, text: str, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with _suppress():
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@contextmanager
def _suppress() -> Iterator[None]:
    try:
        yield
    except OSError:
        pass


def edit(path: Path, change: Callable[[Any], None]) -> config_mod.Config:
    """Apply ``change`` to the parsed document and write it if the result is valid.

    Raises :class:`EditError` (nothing written) when the file cannot be read or the change
    makes it invalid; the message is the loader's, located in the file."""
    with _locked(path):
        try:
            old = path.read_text(encoding="utf-8")
            mode = path.stat().st_mode & 0o777
        except OSError as e:
            raise EditError(f"cannot read {path}: {e.strerror}") from None
        y = _yaml()
        doc = y.load(old)
        if doc is None:
            doc = CommentedMap()
        change(doc)
        buf = io.StringIO()
        y.dump(doc, buf)
        new = buf.getvalue()
        try:
            cfg = config_mod.parse(new, str(path))
        except ConfigError as e:
            text = str(e)
            raise EditError(text, e.key, checker_message(e),
                            where=text[:len(text) - len(e.message)]) from None
        if new == old:
            return cfg
        backup = path.with_name(path.name + ".bak")
        shutil.copyfile(path, backup)
        os.chmod(backup, mode)
        _write_atomically(path, new, mode)
        return cfg


def read_profile(path: Path, name: str) -> dict[str, Any]:
    """The profile's settings as written in the file (not the defaults that fill them in)."""
    doc = _yaml().load(path.read_text(encoding="utf-8")) or {}
    profiles = doc.get("profiles") if isinstance(doc, dict) else None
    if not isinstance(profiles, dict) or name not in profiles:
        raise EditError(f"there is no profile named {name!r} in {path}")
    p = profiles[name]
    return dict(p) if isinstance(p, dict) else {}


def update_profile(path: Path, name: str, values: dict[str, Any]) -> config_mod.Config:
    """Set each key of ``values`` in the profile; a value of None removes the key (the
    setting then follows kidgate's default). Lists are written in flow style."""
    def change(doc: Any) -> None:
        _set_keys(_profile_entry(doc, path, name), values)
    return edit(path, change)


def _set_keys(entry: Any, values: dict[str, Any]) -> None:
    """Set each key of ``values`` in ``entry``; None removes the key; lists in flow style."""
    for key, value in values.items():
        if value is None:
            entry.pop(key, None)
        elif isinstance(value, list):
            entry[key] = _flow(value)
        else:
            entry[key] = value


def _entries(profile: Any, key: str, where: str) -> CommentedSeq:
    return _section(profile, key, CommentedSeq, where, flow=True)


def add_site_entry(path: Path, profiles: str | Sequence[str], host: str, *,
                   allow: bool) -> config_mod.Config:
    """Allow (or deny) ``host`` and its subdomains for one profile or several, in one write:
    the fix for a wrong decision. The opposite list loses the host, so the entry counts."""
    host = host.strip().lower().rstrip(".")
    if not host:
        raise EditError(Message(N_("no site given")))
    names = [profiles] if isinstance(profiles, str) else list(profiles)

    def change(doc: Any) -> None:
        for profile in names:
            p = _profile_entry(doc, path, profile)
            add, remove = ("allow", "deny") if allow else ("deny", "allow")
            target = _entries(p, add, f"profiles.{profile}")
            if host not in [str(x).lower() for x in target]:
                target.append(host)
            other = p.get(remove)
            if isinstance(other, list):
                for i in reversed(range(len(other))):
                    if str(other[i]).lower().rstrip(".") == host:
                        del other[i]
    return edit(path, change)


# -- pause, extra time, blocked services ------------------------------------------------
# Written into the profile's entry like any other setting: the proxy, ``kidgate check`` and the
# parent reading the file all see the same state, the proxy applies it on its next reload, and
# an ended pause stops applying by itself (the core compares ``until`` with the clock).

def _profile_entry(doc: Any, path: Path, name: str) -> Any:
    profiles = doc.get("profiles") if isinstance(doc, dict) else None
    if not isinstance(profiles, dict) or name not in profiles:
        raise EditError(f"there is no profile named {name!r} in {path}")
    return _section(profiles, name, CommentedMap, "profiles")


def _ended(entry: Any, now: dt.datetime) -> bool:
    """Whether a written ``{until: ...}`` entry has ended (unreadable ones are kept: the
    loader reports them)."""
    if not isinstance(entry, dict):
        return False
    until = entry.get("until")
    try:
        moment = until if isinstance(until, dt.datetime) else dt.datetime.fromisoformat(str(until))
    except ValueError:
        return False
    if moment.tzinfo is None:
        return False  # wall-clock time in the profile's zone: left for the loader to judge
    return moment <= now


def _tidy(p: Any, now: dt.datetime) -> None:
    """Remove an ended pause and ended extra time, so the file does not fill up with them."""
    if _ended(p.get("pause"), now):
        p.pop("pause", None)
    extra = p.get("extra_time")
    if isinstance(extra, list):
        for i in reversed(range(len(extra))):
            if _ended(extra[i], now):
                del extra[i]
        if not extra:
            p.pop("extra_time", None)


def _moment(until: dt.datetime) -> str:
    return until.isoformat(timespec="seconds")


def set_pause(path: Path, name: str, until: dt.datetime, by: str,
              now: dt.datetime) -> config_mod.Config:
    """Pause ``name``'s internet until ``until`` (aware), replacing any earlier pause."""
    def change(doc: Any) -> None:
        p = _profile_entry(doc, path, name)
        _tidy(p, now)
        entry = CommentedMap([("until", _moment(until)), ("by", by)])
        entry.fa.set_flow_style()
        p["pause"] = entry
    return edit(path, change)


def end_pause(path: Path, name: str, now: dt.datetime) -> config_mod.Config:
    return _end(path, name, "pause", now)


def _end(path: Path, name: str, key: str, now: dt.datetime) -> config_mod.Config:
    """End the profile's ``key`` (a pause, or all its extra time) now."""
    def change(doc: Any) -> None:
        p = _profile_entry(doc, path, name)
        p.pop(key, None)
        _tidy(p, now)
    return edit(path, change)


def add_extra_time(path: Path, name: str, until: dt.datetime, categories: Sequence[str],
                   by: str, now: dt.datetime) -> config_mod.Config:
    """Extra time until ``until`` for ``categories`` (none: the whole internet); an entry for
    the same categories is replaced, so a second "until 21:00" moves the end."""
    def change(doc: Any) -> None:
        p = _profile_entry(doc, path, name)
        _tidy(p, now)
        seq = _section(p, "extra_time", CommentedSeq, f"profiles.{name}")
        wanted = sorted(categories)
        for i in reversed(range(len(seq))):
            old = seq[i]
            if isinstance(old, dict) and sorted(old.get("categories") or []) == wanted:
                del seq[i]
        entry = CommentedMap([("until", _moment(until))])
        if wanted:
            cats = CommentedSeq(wanted)
            cats.fa.set_flow_style()
            entry["categories"] = cats
        entry["by"] = by
        entry.fa.set_flow_style()
        seq.append(entry)
    return edit(path, change)


def end_extra_time(path: Path, name: str, now: dt.datetime) -> config_mod.Config:
    return _end(path, name, "extra_time", now)


def set_services(path: Path, name: str, blocked: Sequence[str]) -> config_mod.Config:
    """Switch off exactly ``blocked`` for the profile; the entry's schedules are kept."""
    def change(doc: Any) -> None:
        p = _profile_entry(doc, path, name)
        section = _section(p, "services", CommentedMap, f"profiles.{name}")
        if not blocked and not section.get("schedules"):
            p.pop("services", None)
            return
        seq = CommentedSeq(list(blocked))
        seq.fa.set_flow_style()
        section["block"] = seq
    return edit(path, change)


# -- devices ------------------------------------------------------------------------------------
#: How a device is recognised: the keys of a ``devices`` entry that name it (exactly one).
DEVICE_KINDS = ("ip", "cidr", "mac", "user")
#: Shown and removable here, written in the file (a tunnel needs a port and keys).
_FILE_ONLY_KINDS = ("wireguard",)


def _section(parent: Any, key: str, kind: type[CommentedSeq] | type[CommentedMap],
             where: str = "", *, flow: bool = False) -> Any:
    """``parent[key]`` (a list or a mapping), made empty when missing, so that every edit finds
    or makes its place the same way; ``where`` names ``parent`` in the file for the message a
    hand-edited file of the wrong shape gets (an edit never overwrites what it cannot read)."""
    if not isinstance(parent, dict):
        raise EditError(f"{where or 'the configuration file'} is not a mapping in the file; "
                        "fix it by hand")
    value = parent.get(key)
    if value is None:
        value = parent[key] = kind()
        if flow:
            value.fa.set_flow_style()
    if not isinstance(value, list if kind is CommentedSeq else dict):
        what = "a list" if kind is CommentedSeq else "a mapping"
        raise EditError(f"{where + '.' if where else ''}{key} is not {what} in the file; "
                        "fix it by hand")
    return value


def _device_list(doc: Any) -> CommentedSeq:
    return _section(doc, "devices", CommentedSeq)


def device_key(entry: Any) -> tuple[str, str]:
    """(kind, value) of a ``devices`` entry as written, ``("", "")`` for a malformed one."""
    if isinstance(entry, dict):
        for kind in (*DEVICE_KINDS, *_FILE_ONLY_KINDS):
            if entry.get(kind) is not None:
                return kind, str(entry[kind])
    return "", ""


def read_devices(path: Path) -> list[dict[str, Any]]:
    """The ``devices`` entries as written in the file, each with its position (for removal)."""
    doc = _yaml().load(path.read_text(encoding="utf-8")) or {}
    entries = doc.get("devices") if isinstance(doc, dict) else None
    out = []
    for i, entry in enumerate(entries if isinstance(entries, list) else []):
        kind, value = device_key(entry)
        if not kind:
            continue
        groups = entry.get("groups") or []
        out.append({"index": i, "kind": kind, "value": value,
                    "profile": str(entry.get("profile", "")), "name": str(entry.get("name", "")),
                    "groups": ", ".join(str(x) for x in groups) if isinstance(groups, list)
                    else str(groups)})
    return out


def add_device(path: Path, *, kind: str, value: str, profile: str, name: str = "",
               groups: Sequence[str] = ()) -> config_mod.Config:
    """Add a ``devices`` entry, or change the profile of the entry that already names this
    device (one device, one entry: the loader would otherwise keep the first)."""
    if kind not in DEVICE_KINDS:
        raise EditError(f"a device is recognised by one of {', '.join(DEVICE_KINDS)}")

    def change(doc: Any) -> None:
        devices = _device_list(doc)
        entry = next((d for d in devices if device_key(d) == (kind, value)), None)
        if entry is None:
            entry = CommentedMap()
            entry.fa.set_flow_style()
            entry[kind] = value
            devices.append(entry)
        entry["profile"] = profile
        if name:
            entry["name"] = name
        if groups:
            entry["groups"] = _flow(groups)
    return edit(path, change)


def remove_device(path: Path, index: int, kind: str, value: str) -> config_mod.Config:
    """Remove entry ``index`` of ``devices`` if it still names (kind, value): a form shown
    before someone else's edit must not remove another device."""
    def change(doc: Any) -> None:
        devices = _device_list(doc)
        if not 0 <= index < len(devices) or device_key(devices[index]) != (kind, value):
            raise EditError(Message(N_("that device entry has changed since the page was "
                                       "shown; reload the page")))
        del devices[index]
    return edit(path, change)


# -- schedules ----------------------------------------------------------------------------------

def read_schedules(path: Path, profile: str) -> list[dict[str, Any]]:
    """A profile's ``schedules`` as written, each with its position (for removal)."""
    raw = read_profile(path, profile).get("schedules")
    out = []
    for i, entry in enumerate(raw if isinstance(raw, list) else []):
        if not isinstance(entry, dict):
            continue
        days = entry.get("days", "every day")
        out.append({"index": i, "name": str(entry.get("name", "")),
                    "days": ", ".join(str(d) for d in days) if isinstance(days, list)
                    else str(days),
                    "start": str(entry.get("start", "")), "end": str(entry.get("end", "")),
                    "timetable": str(entry.get("timetable", "")),
                    "categories": [str(c) for c in entry.get("categories") or []]})
    return out


def _flow(items: Sequence[str]) -> CommentedSeq:
    seq = CommentedSeq(list(items))
    seq.fa.set_flow_style()
    return seq


def add_schedule(path: Path, profile: str, *, name: str, days: Sequence[str], start: str,
                 end: str, categories: Sequence[str] = ()) -> config_mod.Config:
    """Add a time window to the profile: the whole internet, or only ``categories``, blocked
    from ``start`` to ``end`` (a window that ends earlier than it starts crosses midnight)."""
    def change(doc: Any) -> None:
        p = _profile_entry(doc, path, profile)
        schedules = _section(p, "schedules", CommentedSeq, f"profiles.{profile}")
        entry = CommentedMap()
        entry.fa.set_flow_style()
        entry["name"] = name
        entry["days"] = _flow(days)
        entry["start"], entry["end"] = start, end
        if categories:
            entry["categories"] = _flow(categories)
        schedules.append(entry)
    return edit(path, change)


def remove_schedule(path: Path, profile: str, index: int, name: str) -> config_mod.Config:
    """Remove schedule ``index`` of the profile if it is still the one named ``name``."""
    def change(doc: Any) -> None:
        p = _profile_entry(doc, path, profile)
        schedules = p.get("schedules")
        if not isinstance(schedules, list) or not 0 <= index < len(schedules) \
                or not isinstance(schedules[index], dict) \
                or str(schedules[index].get("name", "")) != name:
            raise EditError(Message(N_("that schedule has changed since the page was shown; "
                                       "reload the page")))
        del schedules[index]
        if not schedules:
            del p["schedules"]
    return edit(path, change)


# -- groups -------------------------------------------------------------------------------------

def _groups(doc: Any) -> CommentedMap:
    return _section(doc, "groups", CommentedMap)


def read_groups(path: Path) -> dict[str, dict[str, Any]]:
    """Each group's settings as written in the file."""
    doc = _yaml().load(path.read_text(encoding="utf-8")) or {}
    groups = doc.get("groups") if isinstance(doc, dict) else None
    return {str(k): dict(v) if isinstance(v, dict) else {} for k, v in
            (groups.items() if isinstance(groups, dict) else [])}


def update_group(path: Path, name: str, values: dict[str, list[str] | None], *,
                 create: bool = False) -> config_mod.Config:
    """Set the group's lists (``networks``, ``allow``, ``deny``; None removes one), making the
    group when ``create`` (refused if it exists: a new group never overwrites one)."""
    def change(doc: Any) -> None:
        groups = _groups(doc)
        if create:
            if name in groups:
                raise EditError(Message(N_("there is a group named {name!r} already"),
                                        name=name), f"groups.{name}")
            groups[name] = CommentedMap()
        elif name not in groups:
            raise EditError(f"there is no group named {name!r} in {path}")
        g = _section(groups, name, CommentedMap, "groups")
        _set_keys(g, values)
        if not g:
            g.fa.set_flow_style()
    return edit(path, change)


def remove_group(path: Path, name: str) -> config_mod.Config:
    """Remove a group; the loader refuses it while a device entry still names the group."""
    def change(doc: Any) -> None:
        groups = _groups(doc)
        if name not in groups:
            raise EditError(f"there is no group named {name!r} in {path}")
        del groups[name]
        if not groups:
            del doc["groups"]
    return edit(path, change)
