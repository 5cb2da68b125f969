"""Readers for list formats: plain domains, hosts files, AdBlock domain rules, URL lists,
expressions. Every reader is lenient: a bad line is counted and skipped, never fatal.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from lists.normalize import (PLAIN_DOMAIN_RE, InvalidURL, normalize_host, normalize_url,
                             path_prefixes)
from lists.regexguard import UnsafePattern, compile_safe

__all__ = ["ParseStats", "Entry", "FORMATS", "read_entries", "parse_token"]

log = logging.getLogger("kidgate.lists")

MAX_LINE = 2048
#: Host names found in hosts files that are not blocking entries.
_HOSTS_IGNORED = frozenset({
    "localhost", "localhost.localdomain", "local", "broadcasthost", "ip6-localhost",
    "ip6-loopback", "ip6-localnet", "ip6-mcastprefix", "ip6-allnodes", "ip6-allrouters",
    "ip6-allhosts", "0.0.0.0",
})
#: Options that keep a ``||domain^`` rule meaning "block the site". ``third-party`` rules only
#: block embedded resources, so they are counted as unsupported rather than over-block.
_ADBLOCK_OK_OPTIONS = frozenset({"important", "all", "document", "doc", "popup", "first-party",
                                 "1p"})

_CTRL_RE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")

FORMATS = ("domains", "hosts", "adblock", "urls", "expressions")

#: (kind, text, path) with kind "domain" | "ip" | "url" | "expression"; path only for urls.
Entry = tuple[str, str, str]


@dataclass(slots=True)
class ParseStats:
    """Counts of what a reader kept and skipped, for the build report."""

    lines: int = 0
    entries: int = 0
    blank: int = 0
    invalid: int = 0
    too_long: int = 0
    binary: int = 0
    latin1: int = 0
    unsupported: int = 0
    unsafe_regex: int = 0
    examples: list[str] = field(default_factory=list)

    def skip(self, counter: str, line: str) -> None:
        setattr(self, counter, getattr(self, counter) + 1)
        if len(self.examples) < 5:
            self.examples.append(f"{counter}: {line[:80]!r}")

    def merge(self, other: ParseStats) -> None:
        for name in ("lines", "entries", "blank", "invalid", "too_long", "binary", "latin1",
                     "unsupported", "unsafe_regex"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.examples.extend(other.examples[: max(0, 5 - len(self.examples))])

    @property
    def skipped(self) -> int:
        return self.invalid + self.too_long + self.binary + self.unsupported + self.unsafe_regex

    def to_dict(self) -> dict[str, object]:
        d = {name: getattr(self, name) for name in (
            "lines", "entries", "blank", "invalid", "too_long", "binary", "latin1",
            "unsupported", "unsafe_regex")}
        d["examples"] = list(self.examples)
        return d


def iter_lines(f: BinaryIO, stats: ParseStats) -> Iterator[str]:
    """Decoded, stripped lines. Overlong lines, lines with NUL/control bytes and undecodable
    lines are counted and skipped; non-UTF-8 lines are read as Latin-1 (counted)."""
    while True:
        raw = f.readline(MAX_LINE + 1)
        if not raw:
            return
        stats.lines += 1
        if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
            # Drain the rest of the overlong line in bounded chunks.
            while True:
                rest = f.readline(1 << 16)
                if not rest or rest.endswith(b"\n"):
                    break
            stats.skip("too_long", raw[:40].decode("latin-1"))
            continue
        raw = raw.strip()
        if not raw:
            stats.blank += 1
            continue
        if _CTRL_RE.search(raw):
            stats.skip("binary", raw[:40].decode("latin-1"))
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            line = raw.decode("latin-1")
            stats.latin1 += 1
        yield line


def _ip_text(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def parse_token(token: str) -> Entry:
    """One domain, IP or URL written in a list, as a canonical entry. Raises InvalidURL.

    ``*.example.com`` and ``.example.com`` mean the domain and its subdomains, as every domain
    entry does. A token with a path is a URL entry; a URL with an empty path is a domain entry.
    """
    if PLAIN_DOMAIN_RE.match(token):
        return ("domain", token, "")  # the common case: already canonical
    token = token.strip()
    if token.startswith("*."):
        token = token[2:]
    elif token.startswith("."):
        token = token[1:]
    if "/" in token or "?" in token or "@" in token:
        url = normalize_url(token)
        prefixes = path_prefixes(url.match_path, url.query)
        if prefixes:
            return ("url", url.host, prefixes[-1])
        return ("ip" if url.is_ip else "domain", url.host, "")
    if "*" in token or " " in token:
        raise InvalidURL(f"unsupported wildcard or space in {token!r}")
    host, is_ip = normalize_host(token)
    return ("ip" if is_ip else "domain", host, "")


def _domains(lines: Iterator[str], stats: ParseStats) -> Iterator[Entry]:
    for line in lines:
        if line[0] in "#;!":
            stats.blank += 1
            continue
        if "#" not in line and " " not in line and "\t" not in line:
            tokens = [line]
        else:
            tokens = line.split("#", 1)[0].split()
        if not tokens:
            stats.blank += 1
            continue
        if len(tokens) == 2 and _ip_text(tokens[0]) is not None:
            tokens = tokens[1:]  # a hosts-style line in a domain list
        if len(tokens) != 1:
            stats.skip("invalid", line)
            continue
        try:
            yield parse_token(tokens[0])
        except InvalidURL:
            stats.skip("invalid", line)


def _hosts(lines: Iterator[str], stats: ParseStats) -> Iterator[Entry]:
    for line in lines:
        fields = line.split("#", 1)[0].split()
        if not fields:
            stats.blank += 1
            continue
        if len(fields) == 1:
            names = fields
        elif _ip_text(fields[0]) is not None:
            names = fields[1:]
        else:
            stats.skip("invalid", line)
            continue
        for name in names:
            if name.lower() in _HOSTS_IGNORED:
                stats.blank += 1
                continue
            try:
                yield parse_token(name)
            except InvalidURL:
                stats.skip("invalid", line)


def _adblock(lines: Iterator[str], stats: ParseStats) -> Iterator[Entry]:
    for line in lines:
        if line[0] in "![#" and not line.startswith("||"):
            stats.blank += 1
            continue
        if line.startswith("@@") or "##" in line or "#@#" in line or "#?#" in line:
            stats.skip("unsupported", line)
            continue
        rule, _, options = line.partition("$")
        if options and not set(options.lower().split(",")) <= _ADBLOCK_OK_OPTIONS:
            stats.skip("unsupported", line)
            continue
        if rule.startswith("||"):
            body = rule[2:]
            if body.endswith("^|"):
                body = body[:-2]
            elif body.endswith("^"):
                body = body[:-1]
            if "^" in body or "*" in body:
                stats.skip("unsupported", line)
                continue
        elif not rule or rule[0] in "|/" or "*" in rule or "^" in rule:
            stats.skip("unsupported", line)
            continue
        else:
            body = rule
        try:
            yield parse_token(body)
        except InvalidURL:
            stats.skip("invalid", line)


def _urls(lines: Iterator[str], stats: ParseStats) -> Iterator[Entry]:
    for line in lines:
        if line[0] == "#":
            stats.blank += 1
            continue
        words = line.split()  # a line of Unicode spaces (U+00A0) is blank too
        if not words:
            stats.blank += 1
            continue
        try:
            url = normalize_url(words[0])
        except InvalidURL:
            stats.skip("invalid", line)
            continue
        prefixes = path_prefixes(url.match_path, url.query)
        if prefixes:
            yield ("url", url.host, prefixes[-1])
        else:
            yield ("ip" if url.is_ip else "domain", url.host, "")


def _expressions(lines: Iterator[str], stats: ParseStats) -> Iterator[Entry]:
    for line in lines:
        if line.startswith("#"):
            stats.blank += 1
            continue
        try:
            compile_safe(line)
        except UnsafePattern as e:
            stats.skip("unsafe_regex", f"{line[:60]} ({e})")
            continue
        yield ("expression", line, "")


_READERS = {"domains": _domains, "hosts": _hosts, "adblock": _adblock, "urls": _urls,
            "expressions": _expressions}


def read_entries(f: BinaryIO, fmt: str, stats: ParseStats) -> Iterator[Entry]:
    """Entries of one list file in format ``fmt`` (see :data:`FORMATS`)."""
    try:
        reader = _READERS[fmt]
    except KeyError:
        raise ValueError(f"unknown list format {fmt!r}; expected one of {', '.join(FORMATS)}")
    for entry in reader(iter_lines(f, stats), stats):
        stats.entries += 1
        yield entry
