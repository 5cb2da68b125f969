"""Links the proxy puts on block pages and, optionally, into ordinary pages.

The "report this page" button injected into pages is a single ``<a>`` element, no script
(a page's CSP ``script-src`` would block it, and a script could break the page). It carries
an inline ``style`` attribute to sit fixed in a corner; where the page's CSP ``style-src``
forbids inline styles the browser drops only the style, and the link degrades to a plain
text link at the end of the body: still visible, still working, the page untouched. No
external stylesheet or image is loaded (CSP ``style-src``/``img-src`` would block them, and
they would tell the site a filter is present). Navigation to ``kidgate.internal`` is not
subject to CSP. ``target=_top`` leaves the reported page in the same tab (a new tab would be
refused by a CSP ``sandbox`` without ``allow-popups``, and the internal pages refuse to be
framed); ``rel``/``referrerpolicy`` keep the page from learning where the child went.
"""

from __future__ import annotations

import html
import re
import urllib.parse
from dataclasses import dataclass

import pages
from policies.categories import ALWAYS_BLOCKED, REPORTABLE
from reporting import INTERNAL_ORIGIN
from reporting.tokens import DECIDE_TTL, DECISIONS, Signer
from reporting.urls import check_url, without_content

DEFAULT_HELPLINE = "116 111"
MARKER = "data-kidgate-report"

_BUTTON_STYLE = ("position:fixed;right:8px;bottom:8px;z-index:2147483647;"
                 "background:#fff;color:#b00020;border:1px solid #b00020;border-radius:4px;"
                 "padding:2px 6px;font:12px/1.4 sans-serif;text-decoration:none;opacity:.85")


@dataclass(frozen=True, slots=True)
class Helpline:
    number: str
    name: str = "child helpline"


@dataclass(frozen=True, slots=True)
class BlockLinks:
    """``report_url`` only for reportable categories; ``ask_url`` unless the block is
    absolute (csam, malware); ``helpline`` for self-harm blocks. Any may be ``None``."""

    report_url: str | None
    ask_url: str | None
    helpline: Helpline | None = None
    stylesheet_url: str = f"{INTERNAL_ORIGIN}/static/kidgate.css"


def _signer(secret: bytes | None, signer: Signer | None) -> Signer:
    if signer is not None:
        return signer
    if secret is None:
        raise ValueError("block_links needs a secret or a signer")
    return Signer(secret)


def _url(action: str, token: str) -> str:
    return f"{INTERNAL_ORIGIN}/{action}?{urllib.parse.urlencode({'t': token})}"


def block_links(*, url: str, category: str | None, profile_name: str, reason: str = "",
                min_age: int | None = None, secret: bytes | None = None,
                signer: Signer | None = None, language: str = "en",
                helpline: str | None = DEFAULT_HELPLINE) -> BlockLinks:
    """Links for one block page. URLs that kidgate will not report (not http(s), overlong,
    control characters) get no report or ask link."""
    del min_age  # part of the contract; the internal pages do not need it
    s = _signer(secret, signer)
    line = Helpline(helpline) if helpline and category == "self_harm" else None
    try:
        check_url(url)
    except ValueError:
        return BlockLinks(None, None, line)
    fields = dict(url=url, category=category, profile=profile_name,
                  reason=without_content(reason), language=language)
    report = _url("report", s.issue("report", **fields)) if category in REPORTABLE else None
    ask = None if category in ALWAYS_BLOCKED else _url("ask", s.issue("ask", **fields))
    return BlockLinks(report, ask, line)


def decision_links(*, signer: Signer, request_id: int, url: str, category: str | None,
                   profile_name: str, reason: str = "", language: str = "en",
                   ttl: float = DECIDE_TTL) -> dict[str, str]:
    """One signed ``/decide`` link per decision (see :data:`reporting.tokens.DECISIONS`) for
    the message that tells a parent about an access request. Each link opens a confirmation
    page; only its button changes anything, and each token works once."""
    fields = dict(url=url, category=category, profile=profile_name,
                  reason=without_content(reason), language=language, ttl=ttl,
                  request_id=request_id)
    return {d: _url("decide", signer.issue("decide", decision=d, **fields))  # type: ignore[arg-type]
            for d in DECISIONS}


def report_link_snippet(*, url: str, profile_name: str, secret: bytes | None = None,
                        signer: Signer | None = None, language: str = "en") -> str | None:
    """The HTML of the injected button for ``url``, or ``None`` if ``url`` is not reportable."""
    try:
        check_url(url)
    except ValueError:
        return None
    token = _signer(secret, signer).issue("report", url=url, category=None,
                                          profile=profile_name, reason="report button",
                                          language=language)
    text = pages.ptranslate(language, "button injected into pages", "Report this page")
    # ASCII only (non-ASCII as character references): the bytes are valid in any
    # ASCII-compatible charset the page may use.
    label = html.escape(text).encode("ascii", "xmlcharrefreplace").decode("ascii")
    return (f'<a {MARKER}="1" href="{html.escape(_url("report", token))}" target="_top" '
            f'rel="noopener noreferrer nofollow" referrerpolicy="no-referrer" '
            f'style="{_BUTTON_STYLE}">{label}</a>')


_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)
_HTML_END = re.compile(rb"</html\s*>", re.IGNORECASE)
_DOC_START = re.compile(rb"<(?:html|body|head|!doctype)[\s>]", re.IGNORECASE)


def inject_report_button(html_bytes: bytes, charset: str | None, link: str) -> bytes:
    """Insert ``link`` (from :func:`report_link_snippet`) before the document's last
    ``</body>`` (else ``</html>``, else at the end). Pure; returns the input unchanged when
    it is not a full HTML document, already has the button, or cannot be handled."""
    codec = _codec(charset, html_bytes)
    if codec is None:
        return html_bytes
    if codec != "ascii-compatible":
        try:
            text = html_bytes.decode(codec)
        except UnicodeDecodeError:
            return html_bytes
        out = _inject_ascii(text.encode("utf-8"), link.encode("ascii"))
        return html_bytes if out is None else out.decode("utf-8").encode(codec)
    out = _inject_ascii(html_bytes, link.encode("ascii"))
    return html_bytes if out is None else out


def _inject_ascii(data: bytes, snippet: bytes) -> bytes | None:
    if MARKER.encode() in data or not _DOC_START.search(data):
        return None
    pos = _insertion_point(data)
    return data[:pos] + snippet + data[pos:]


def _insertion_point(data: bytes) -> int:
    for pattern in (_BODY_END, _HTML_END):
        matches = list(pattern.finditer(data))
        for m in reversed(matches):
            if not _inside_raw(data, m.start()):
                return m.start()
    return len(data)


def _inside_raw(data: bytes, pos: int) -> bool:
    """True when ``pos`` is inside an unclosed comment, script or style before it."""
    head = data[:pos].lower()
    if head.rfind(b"<!--") > head.rfind(b"-->"):
        return True
    for tag in (b"script", b"style", b"template", b"textarea"):
        if head.rfind(b"<" + tag) > head.rfind(b"</" + tag):
            return True
    return False


def _codec(charset: str | None, data: bytes) -> str | None:
    """``"ascii-compatible"``, a UTF-16/32 codec with its byte order, or ``None`` (skip)."""
    # The BOM stays in the decoded text, so the round trip keeps every byte.
    for bom, codec in ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
                       (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if data.startswith(bom):
            return codec
    name = (charset or "").strip().lower().replace("_", "-")
    if name.startswith(("utf-16", "utf-32", "ucs-2", "ucs2", "utf16", "utf32")):
        return None  # no BOM: byte order unknown; leave the page alone
    return "ascii-compatible"
