"""URL and host normalisation shared by list compilation and lookups.

Lists and requests go through the same functions, so a list entry and a request that a browser
would treat as the same address produce the same key. The rules follow the WHATWG URL standard
where browsers do (IPv4 number forms, backslashes, userinfo, tabs/newlines) and are stricter
where a filter must resist bypass (percent-decoding of the path, collapsed slashes, lower case).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

__all__ = ["InvalidURL", "NormalizedURL", "PLAIN_DOMAIN_RE", "normalize_url", "normalize_host", "path_prefixes"]

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}
MAX_HOST_LENGTH = 253
MAX_URL_LENGTH = 8192

_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_DOMAIN_RE = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
_STRIP_RE = re.compile(r"[\t\n\r]")
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
#: Already-canonical domains (the common case): lower-case ASCII, last label starts with a letter.
PLAIN_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
                             r"(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*"
                             r"\.[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_PCT_RE = re.compile(rb"%([0-9A-Fa-f]{2})")
#: Bytes kept percent-encoded in a normalised path: delimiters, '%', controls, space, non-ASCII.
_NEEDS_ENCODING_RE = re.compile(rb"[\x00-\x20\x7f-\xff]")
_KEEP_ENCODED = frozenset(b"/?#%") | frozenset(range(0x21)) | frozenset(range(0x7F, 0x100))


class InvalidURL(ValueError):
    """The URL or host cannot be parsed into something a browser would request."""


@dataclass(frozen=True, slots=True)
class NormalizedURL:
    """A URL in the canonical form used for matching.

    ``host`` is lower case punycode without a trailing dot, a dotted-quad IPv4 address or a
    compressed IPv6 address without brackets. ``path`` is canonical (see :func:`normalize_path`)
    and keeps its case; ``match_path`` is the lower-case form used for list matching.
    """

    scheme: str
    host: str
    port: int | None
    path: str
    query: str
    is_ip: bool

    @property
    def match_path(self) -> str:
        return self.path.lower()

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"

    @property
    def match_text(self) -> str:
        """``host/path?query`` in lower case: what expressions are matched against."""
        text = self.host + self.match_path
        return f"{text}?{self.query.lower()}" if self.query else text

    def __str__(self) -> str:
        q = f"?{self.query}" if self.query else ""
        return f"{self.scheme}://{self.netloc}{self.path}{q}"


def _parse_ipv4_number(part: str) -> int | None:
    if not part:
        return None
    try:
        if part[:2] in ("0x", "0X"):
            return int(part[2:], 16) if len(part) > 2 else 0
        if len(part) > 1 and part[0] == "0":
            return int(part[1:], 8)
        if part.isdigit():
            return int(part)
    except ValueError:
        return None
    return None


def _parse_ipv4(host: str) -> str | None:
    """WHATWG IPv4 parsing: decimal, octal, hex and short forms. None when not an IPv4 host."""
    parts = host.split(".")
    if parts and parts[-1] == "" and len(parts) > 1:
        parts.pop()
    last = parts[-1]
    ends_in_number = last.isdigit() or (last[:2] in ("0x", "0X") and all(
        c in "0123456789abcdefABCDEF" for c in last[2:]))
    if not ends_in_number:
        return None
    if len(parts) > 4:
        raise InvalidURL(f"invalid IPv4 address: {host!r}")
    numbers = [_parse_ipv4_number(p) for p in parts]
    if any(n is None for n in numbers):
        raise InvalidURL(f"invalid IPv4 address: {host!r}")
    nums: list[int] = numbers  # type: ignore[assignment]
    if any(n > 255 for n in nums[:-1]) or nums[-1] >= 256 ** (5 - len(nums)):
        raise InvalidURL(f"IPv4 address out of range: {host!r}")
    value = nums[-1]
    for i, n in enumerate(nums[:-1]):
        value += n << (8 * (3 - i))
    return str(ipaddress.IPv4Address(value))


def _idna(host: str) -> str:
    if host.isascii():
        return host
    labels = []
    for label in host.split("."):
        if label.isascii():
            labels.append(label)
            continue
        try:
            labels.append(label.encode("idna").decode("ascii"))
        except UnicodeError as e:
            raise InvalidURL(f"invalid internationalised host: {host!r}") from e
    return ".".join(labels)


def normalize_host(host: str) -> tuple[str, bool]:
    """Return ``(canonical_host, is_ip)`` or raise :class:`InvalidURL`.

    Handles case, one trailing dot, percent-escapes, IDN (to punycode), IPv4 in any WHATWG form,
    IPv6 literals with or without brackets (IPv4-mapped IPv6 becomes IPv4).
    """
    if PLAIN_DOMAIN_RE.match(host):
        return host, False
    host = host.strip()
    if "%" in host and not host.startswith("["):
        host = _PCT_RE.sub(lambda m: bytes([int(m.group(1), 16)]),
                           host.encode("utf-8")).decode("utf-8", "replace")
    if host.startswith("[") or (host.count(":") >= 2):
        inner = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        if host.startswith("[") and not host.endswith("]"):
            raise InvalidURL(f"invalid IPv6 literal: {host!r}")
        try:
            addr = ipaddress.IPv6Address(inner.split("%", 1)[0])
        except ValueError as e:
            raise InvalidURL(f"invalid IPv6 literal: {host!r}") from e
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped), True
        return addr.compressed, True
    host = host.lower()
    if host.endswith("."):
        host = host[:-1]
    if not host:
        raise InvalidURL("empty host")
    host = _idna(host).lower()
    ip = _parse_ipv4(host)
    if ip is not None:
        return ip, True
    if len(host) > MAX_HOST_LENGTH or not _DOMAIN_RE.match(host):
        raise InvalidURL(f"invalid host: {host!r}")
    return host, False


def _decode_pct(data: bytes) -> bytes:
    def repl(m: re.Match[bytes]) -> bytes:
        b = int(m.group(1), 16)
        return m.group(0).upper() if b in _KEEP_ENCODED else bytes([b])
    return _PCT_RE.sub(repl, data)


def _encode_bytes(data: bytes) -> str:
    if not _NEEDS_ENCODING_RE.search(data):
        return data.decode("ascii")
    out = []
    for b in data:
        if b in _KEEP_ENCODED and b not in b"/?#%":
            out.append(f"%{b:02X}")
        else:
            out.append(chr(b))
    return "".join(out)


def normalize_path(path: str) -> str:
    """Canonical path: percent-escapes decoded except for delimiters, non-ASCII and controls
    percent-encoded (upper-case hex), dot segments resolved, repeated slashes collapsed."""
    raw = path.encode("utf-8", "surrogateescape")
    if b"%" in raw:
        # One decoding pass, as a server does: %2562 stays "%2562" (a literal "%62").
        raw = _decode_pct(raw)
    text = _encode_bytes(raw)
    if text.startswith("/") and "//" not in text and "/." not in text:
        return text
    segments: list[str] = []
    for seg in text.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if segments:
                segments.pop()
            continue
        segments.append(seg)
    trailing = text.endswith("/") or text.endswith("/.") or text.endswith("/..")
    out = "/" + "/".join(segments)
    if trailing and segments:
        out += "/"
    return out


def normalize_url(url: str) -> NormalizedURL:
    """Parse and canonicalise ``url``. A URL without a scheme is read as ``http://``.

    ``http://good.com@bad.com/`` has host ``bad.com``; default ports are dropped; the fragment is
    dropped. Raises :class:`InvalidURL` when no host can be extracted.
    """
    if len(url) > MAX_URL_LENGTH:
        url = url[:MAX_URL_LENGTH]
    url = _STRIP_RE.sub("", url.strip())
    m = _SCHEME_RE.match(url)
    scheme = m.group(1).lower() if m else ""
    after = url[m.end():] if m else ""
    if scheme in DEFAULT_PORTS:
        # Browsers accept any run of slashes or backslashes (even none) after these schemes.
        rest = after.lstrip("/\\")
    elif m and after.startswith("//"):
        rest = after[2:]
    else:  # no scheme, or "host:port/..." read as one
        scheme = "http"
        rest = url.lstrip("/\\")
    rest = rest.replace("\\", "/")
    cut = len(rest)
    for ch in "/?#":
        i = rest.find(ch)
        if i != -1 and i < cut:
            cut = i
    authority, tail = rest[:cut], rest[cut:]
    tail = tail.split("#", 1)[0]
    path, _, query = tail.partition("?")
    if "@" in authority:
        authority = authority.rsplit("@", 1)[1]
    port: int | None = None
    if authority.startswith("["):
        end = authority.find("]")
        if end == -1:
            raise InvalidURL(f"invalid IPv6 literal in {url!r}")
        hostpart, portpart = authority[: end + 1], authority[end + 1:]
        portpart = portpart[1:] if portpart.startswith(":") else portpart
    else:
        hostpart, _, portpart = authority.partition(":")
    if portpart:
        if not portpart.isdigit() or int(portpart) > 65535:
            raise InvalidURL(f"invalid port in {url!r}")
        port = int(portpart)
    if port is not None and DEFAULT_PORTS.get(scheme) == port:
        port = None
    host, is_ip = normalize_host(hostpart)
    return NormalizedURL(scheme, host, port, normalize_path(path or "/"), query, is_ip)


def path_prefixes(match_path: str, query: str = "") -> list[str]:
    """Segment-boundary prefixes of a lower-case canonical path, shortest first, without the
    trailing slash; the path with its query string comes last. ``/`` alone has none."""
    out: list[str] = []
    end = match_path.rstrip("/")
    i = 1
    while True:
        j = end.find("/", i)
        if j == -1:
            break
        out.append(end[:j])
        i = j + 1
    if len(end) > 1:
        out.append(end)
    if query:
        out.append(f"{end or '/'}?{query.lower()}")
    return out
