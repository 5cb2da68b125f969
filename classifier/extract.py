"""Bounded-cost text extraction from HTTP bodies for the classifier.

The proxy hands us whatever a server sent, including hostile or huge bodies, so every step has a
hard cap: decompressed bytes (a decompression bomb is cut at ``max_bytes``), characters of text,
and no step is worse than linear in the capped input (no recursive parser, no backtracking regex).
Title, meta description/keywords and headings come first because they say most per character.
"""

from __future__ import annotations

import codecs
import html as _html
import re
import zlib
from dataclasses import dataclass, field
from itertools import islice
from typing import NamedTuple
from urllib.parse import parse_qs, urlsplit

MAX_BYTES = 256 * 1024
MAX_CHARS = 3000
#: Markup read for body text, in parts of ``6 * max_chars`` visible characters: a page whose
#: first part is mostly menus reads on, at a cost (each part is ~0.1 ms of regex scanning).
_READ_STEPS = 2

__all__ = ["Extracted", "BodyView", "extract", "extract_view", "read_body", "str_body", "decompress",
           "decode", "search_query", "MAX_BYTES", "MAX_CHARS"]


@dataclass(frozen=True, slots=True)
class Extracted:
    """Text pieces of one body; ``text`` is the capped concatenation the models read."""

    title: str = ""
    description: str = ""
    keywords: str = ""
    headings: tuple[str, ...] = ()
    alt: tuple[str, ...] = ()
    body: str = ""
    charset: str | None = None
    truncated: bool = False
    binary: bool = False
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        parts = [self.title, self.description, self.keywords, " ".join(self.headings),
                 " ".join(self.alt), self.body]
        return " \n".join(p for p in parts if p)


# ---------------------------------------------------------------------------------------------
# Decompression with a hard output cap


class _Truncated(Exception):
    pass


def decompress(data: bytes, encoding: str | None, max_bytes: int = MAX_BYTES) -> tuple[bytes, bool]:
    """Decode a Content-Encoding chain; returns (at most ``max_bytes`` bytes, truncated?).

    Unknown or broken encodings return what could be decoded so far (possibly nothing) rather
    than raising: a body we cannot read is classified on its URL alone.
    """
    if not encoding:
        return data[:max_bytes], len(data) > max_bytes
    truncated = False
    # Encodings are listed in the order they were applied; undo them in reverse.
    for enc in reversed([e.strip().lower() for e in encoding.split(",") if e.strip()]):
        if enc in ("identity", ""):
            continue
        try:
            if enc in ("gzip", "x-gzip"):
                data, t = _zlib(data, 16 + zlib.MAX_WBITS, max_bytes)
            elif enc == "deflate":
                try:
                    data, t = _zlib(data, zlib.MAX_WBITS, max_bytes)
                except zlib.error:
                    data, t = _zlib(data, -zlib.MAX_WBITS, max_bytes)
            elif enc == "br":
                data, t = _brotli(data, max_bytes)
            elif enc == "zstd":
                data, t = _zstd(data, max_bytes)
            else:
                return b"", True
        except Exception:  # noqa: BLE001 - corrupt streams are common and never fatal
            return b"", True
        truncated = truncated or t
    return data[:max_bytes], truncated or len(data) > max_bytes


def _zlib(data: bytes, wbits: int, cap: int) -> tuple[bytes, bool]:
    d = zlib.decompressobj(wbits)
    out = d.decompress(data, cap + 1)
    return out[:cap], len(out) > cap


def _brotli(data: bytes, cap: int) -> tuple[bytes, bool]:
    import brotli

    d = brotli.Decompressor()
    out = bytearray()
    # Feed small input slices: output per call is bounded by output_buffer_limit.
    step = 4096
    for i in range(0, len(data), step):
        chunk = data[i:i + step]
        out += d.process(chunk, output_buffer_limit=cap + 1 - len(out))
        while len(out) <= cap and not d.can_accept_more_data():
            more = d.process(b"", output_buffer_limit=cap + 1 - len(out))
            if not more:
                break
            out += more
        if len(out) > cap:
            return bytes(out[:cap]), True
        if d.is_finished():
            break
    return bytes(out), False


def _zstd(data: bytes, cap: int) -> tuple[bytes, bool]:
    from backports import zstd

    d = zstd.ZstdDecompressor()
    out = d.decompress(data, max_length=cap + 1)
    return out[:cap], len(out) > cap


# ---------------------------------------------------------------------------------------------
# Charset


_META_CHARSET = re.compile(rb"""<meta[^>]{0,300}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]{1,40})""", re.I)
_CT_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:\-]{1,40})", re.I)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF32_LE, "utf-32-le"),
         (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be"))
_BOM_PREFIXES = tuple(bom for bom, _ in _BOMS)
_BINARY_MAGIC = (b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"%PDF", b"PK\x03\x04", b"\x1f\x8b",
                 b"RIFF", b"\x00\x00\x00", b"OggS", b"wOFF", b"wOF2", b"\x7fELF", b"MZ")


def _lookup(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None


_CTRL = bytes(b for b in range(32) if b not in (9, 10, 12, 13))


def looks_binary(data: bytes) -> bool:
    """Binary bodies mislabelled text/html: magic numbers or many control bytes up front."""
    head = data[:1024]
    if not head:
        return False
    if head.startswith(_BINARY_MAGIC) and not head.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return True
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False  # UTF-16 text has many NULs
    ctrl = len(head) - len(head.translate(None, _CTRL))
    return ctrl > len(head) // 20


def _declared(data: bytes, content_type: str | None) -> list[str]:
    """Known charsets declared by the Content-Type header, then by a <meta> in the first 4 kB."""
    names = []
    if content_type:
        m = _CT_CHARSET.search(content_type)
        if m:
            names.append(_lookup(m.group(1)))
    m = _META_CHARSET.search(data[:4096])
    if m:
        names.append(_lookup(m.group(1).decode("ascii", "replace")))
    # A declared UTF-16 without BOM in an ASCII-compatible page is a lie.
    return [cs for cs in names if cs and not cs.startswith(("utf-16", "utf-32"))]


def decode(data: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Bytes to text: BOM, then header charset, then <meta charset>, then UTF-8, then cp1252."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(name, "replace"), name
    for cs in _declared(data, content_type):
        try:
            return data.decode(cs), cs
        except UnicodeDecodeError:
            # Declared charset is wrong; fall through to detection.
            continue
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as e:
        # A cut in the middle of a multi-byte sequence at the cap is not a wrong charset.
        if e.start >= len(data) - 3:
            return data[:e.start].decode("utf-8", "replace"), "utf-8"
    # Detection: Romanian legacy pages use cp1250 (ş ţ ă î â); otherwise cp1252.
    if sum(data.count(b) for b in (b"\xba", b"\xfe", b"\xe3", b"\xaa", b"\xde", b"\xc3")) > \
            sum(data.count(b) for b in (b"\xe9", b"\xe8", b"\xfc", b"\xf6", b"\xe4", b"\xf1")):
        return data.decode("cp1250", "replace"), "cp1250"
    return data.decode("cp1252", "replace"), "cp1252"


def _strict_utf8(head: bytes, body: bytes, content_type: str | None) -> tuple[str, str] | None:
    """The texts of ``head`` and ``body`` when :func:`decode` reads ``head + body`` as UTF-8
    without error because no BOM leads and the first charset declared, if any, is UTF-8;
    else None.

    ``body`` starts with "<", which is no part of a multi-byte sequence, so the parts decode
    as the whole does, without joining ~36 kB and slicing the text apart again.
    """
    data4 = (head[:4096] + body[:4096])[:4096]  # what decode() reads declarations from
    if data4.startswith(_BOM_PREFIXES) or _declared(data4, content_type)[:1] not in ([], ["utf-8"]):
        return None
    try:
        return head.decode("utf-8"), body.decode("utf-8")
    except UnicodeDecodeError:
        return None


# ---------------------------------------------------------------------------------------------
# HTML to text, linear time


# The rest of a tag, "[^<>]{0,n}>", is spelt "(?=[^<]{0,n}>)[^>]{0,n}>" in the patterns that
# scan whole pages: the same matches (the first "<" or ">" ahead is a ">"), but sre runs a
# class of one character in a tight loop and calls a class test per character for "[^<>]",
# several times slower. Both loops stop at the next "<": still linear on unclosed tags.
_TAG = re.compile(r"<(?=[^<]*>)[^>]*>")  # "<[^<>]*>": cannot cross another "<"
_TAG_OR_MORE = re.compile(r"<[^>]*>")  # may cross a "<": see _strip_tags
_OPEN_TAG = re.compile(r"<[^<>]*$")
_TITLE = re.compile(r"<title[^<>]{0,400}>([^<]{0,1000})", re.I)
_META = re.compile(r"<meta\s(?=[^<]{0,2000}>)[^>]{0,2000}>", re.I)
_ATTR = re.compile(r"""([a-zA-Z_:\-]{1,40})\s*=\s*(?:"([^"]{0,2000})"|'([^']{0,2000})'|([^\s"'>]{1,400}))""")
#: Meta names worth parsing (description, keywords, titles, age labels for other detectors);
#: _html_fields spells them out as substring tests.
_META_KEYS = ("description", "keywords", "title", "rating", "label", "restrictions")
_TITLE_BLOCK = re.compile(r"<title[^<>]{0,400}>[^<]{0,1000}</title\s*>", re.I)
_HEADING = re.compile(r"<h[1-3][^<>]{0,400}>(.{0,400}?)</h[1-3]", re.I | re.S)
_IMG = re.compile(r"<img\s[^<>]{0,2000}>", re.I)
#: The opening tag of a _HEADING (group 1 set) or an _IMG. The leading lookahead rejects
#: most "<" at once: sre tries a case-blind alternation's branches one by one.
_HEADING_OPEN_OR_IMG = re.compile(r"<(?=[hi])(?:(h)[1-3](?=[^<]{0,400}>)[^>]{0,400}>"
                                  r"|img\s(?=[^<]{0,2000}>)[^>]{0,2000}>)", re.I)
_HEADING_CLOSE = re.compile(r"</h[1-3]", re.I)


_BLOCKS = ("script", "style", "!--", "noscript", "svg", "template")
#: One group per block kind: ``lastindex`` says which. (re.I also matches look-alikes such as
#: "ſcript", whose lower() is no key of a name-keyed table.) The lookahead on the first two
#: letters rejects nearly every other "<" in one step instead of six failed branches.
_BLOCK_OPEN = re.compile(
    "<(?=[{}][{}])".format(*("".join(sorted({re.escape(b[i]) for b in _BLOCKS})) for i in (0, 1)))
    + "(?:" + "|".join(f"({re.escape(b)})" for b in _BLOCKS) + ")", re.I)
_BLOCK_END = tuple(re.compile("-->" if name == "!--" else rf"</{name}\s*>", re.I) for name in _BLOCKS)
_BODY = re.compile(r"<body", re.I)
_BODY_BYTES = re.compile(rb"<body", re.I)


def _strip_blocks(s: str, limit: int | None = None, start: int = 0) -> tuple[str, int]:
    """Remove script/style/comment blocks: one forward regex scan, linear even when unclosed.

    Stops after the first block end past ``limit`` characters of output, so huge pages cost no
    more than their beginning. Returns the visible part and where the scan stopped (``len(s)``
    when nothing is left), from which a later call can go on.
    """
    out: list[str] = []
    produced = 0
    pos = start
    n = len(s)
    while pos < n:
        m = _BLOCK_OPEN.search(s, pos)
        if m is None:
            out.append(s[pos:])
            break
        out.append(s[pos:m.start()])
        produced += m.start() - pos
        e = _BLOCK_END[m.lastindex - 1].search(s, m.end())
        if e is None:
            break  # unclosed script/comment: the rest is not visible text
        pos = e.end()
        out.append(" ")
        if limit is not None and produced > limit:
            return "".join(out), pos
    return "".join(out), n


def _find_body(raw: bytes | str, end: int | None = None) -> int:
    """Start of the first <body tag (any letter case) before ``end``, or -1.

    One regex scan that jumps from "<" to "<": cheaper than ``find``/``count`` calls for the
    usual spellings (measured), which matters on pages without <body> in the part read
    (huge inline scripts in <head>).
    """
    n = len(raw) if end is None else min(end, len(raw))
    m = (_BODY if isinstance(raw, str) else _BODY_BYTES).search(raw, 0, n)
    return -1 if m is None else m.start()


def _decode_as(data: bytes, charset: str | None) -> str:
    return data.decode(charset or "utf-8", "replace")


def _attrs(tag: str) -> dict[str, str]:
    # findall: tuples of strings ("" for a quote style not used) cost less than match objects.
    return {name.lower(): dq or sq or bare for name, dq, sq, bare in _ATTR.findall(tag)}


def _clean(s: str, limit: int) -> str:
    s = s[: limit * 2]
    if "&" in s:
        s = _html.unescape(s)
    # split() and re's \s agree on what is whitespace; no regex match per space.
    return " ".join(s.split())[:limit]


def _clean_words(s: str, limit: int) -> str:
    """:func:`_clean` of words separated by spaces (" " only), such as :func:`_body_text`
    makes: without entities and double spaces, splitting and joining again only drops the
    trailing spaces."""
    s = s[: limit * 2]
    if "&" in s or "  " in s or s[:1] == " ":
        return _clean(s, limit)
    return s.rstrip(" ")[:limit]


def _meta_tags(head: str, n: int) -> list[str]:
    """The first ``n`` _META matches in ``head``.

    ``findall`` makes no match object per tag (pages often have dozens of meta tags), but it
    cannot stop after ``n``: it reads ``head`` in pieces of about 4 kB that end just after a
    ">", which no match can cross, until it has ``n``.
    """
    tags: list[str] = []
    pos = 0
    while len(tags) < n and pos < len(head):
        cut = head.find(">", pos + 4096) + 1 or len(head)
        tags += _META.findall(head, pos, cut)
        pos = cut
    return tags[:n]


def _strip_tags(s: str) -> str:
    """``_TAG.sub(" ", s)``, usually by the cheaper _TAG_OR_MORE.

    That one scans up to the next ">" only, not on to the next "<", and its matches are
    _TAG's when none holds a second "<", which is when it made as many as there are "<".
    It gets the text up to the last ">" only, where each "<" has a ">" ahead: past it, each
    "<" would make it scan to the end in vain (quadratic), and no tag ends there anyway.
    """
    end = s.rfind(">") + 1
    t, n = _TAG_OR_MORE.subn(" ", s[:end])
    if n != s.count("<", 0, end):
        t = _TAG.sub(" ", s[:end])
    return t + s[end:]


def _tag_text(v: str, need: int) -> str:
    """The words of ``v`` without its tags, one space apart, reading until ``need`` characters.

    ``" ".join(_OPEN_TAG.sub(" ", _TAG.sub(" ", v)).split())`` cut at ``need``, computed piece
    by piece: a cut just after a ">" ends no tag early, and ``_OPEN_TAG`` can only change the
    text from a "<" left in it on, so while there is none the pieces are final. Whitespace is
    not counted: indentation must not use up the budget of words. (A piece's words are counted
    as if a word could run on into the next piece: a count that is never too high.)

    Each piece's words are joined once, which also counts them; the joined pieces are the
    joined whole when no word runs on from one piece into the next (a piece nearly always ends
    with the space that replaced its last tag), else the pieces are split again as one.
    """
    end = len(v)
    step = max(need, 1024)
    pieces: list[str] = []
    joined: list[str] = []
    have = 0
    pos = 0
    while have < need:
        cut = v.rfind(">", pos, min(pos + step, end)) + 1
        if cut <= 0 or pos + step >= end:
            break  # no ">" in the next step, or the end is near: do the rest in one go
        t = _strip_tags(v[pos:cut])
        if "<" in t:
            break
        pieces.append(t)
        j = " ".join(t.split())
        joined.append(j)
        have += len(j)
        pos = cut
    else:
        return _join_pieces(pieces, joined, need)
    t = _OPEN_TAG.sub(" ", _strip_tags(v[pos:]))
    pieces.append(t)
    joined.append(" ".join(t.split()))
    return _join_pieces(pieces, joined, need)


def _join_pieces(pieces: list[str], joined: list[str], need: int) -> str:
    """``" ".join("".join(pieces).split())[:need]`` from the pieces' own joined words."""
    pieces = [t for t in pieces if t]
    for a, b in zip(pieces, pieces[1:]):
        if not (a[-1].isspace() or b[0].isspace()):  # a word may run on from a into b
            return " ".join("".join(pieces).split())[:need]
    return " ".join([j for j in joined if j])[:need]


def _body_text(rest: str, visible: str, resume: int, need: int, step: int, reach: int) -> str:
    """Text of the body window until ``need`` characters, from at most ``reach`` characters of
    markup: ``visible`` (the window's first part, already without blocks) first, then further
    parts from ``resume`` on when that was mostly markup (menus, forms, inline data)."""
    text = _tag_text(visible[:reach], need)
    seen = len(visible)
    while len(text) < need and resume < len(rest) and seen < reach:
        more, resume = _strip_blocks(rest, limit=step, start=resume)
        found = _tag_text(more[:reach - seen], need - len(text) - 1)
        seen += len(more)
        if found:
            text = f"{text} {found}" if text else found
    return text


#: What :func:`read_body` found: how the parts are to be read.
BINARY, PLAIN, PAGE, HEAD_BODY = range(4)


class BodyView(NamedTuple):
    """The bytes of a body that extraction reads (after decompression and the caps).

    The result of :func:`extract` depends on nothing else (with the content type), so the
    classifier's cache key hashes these parts instead of the whole body.
    """

    kind: int  # BINARY (nothing to read), PLAIN (text), PAGE (HTML, no <body>), HEAD_BODY
    parts: tuple[bytes, ...]
    truncated: bool


def read_body(body: bytes | bytearray | memoryview, *, content_type: str | None = None,
              content_encoding: str | None = None, max_bytes: int = MAX_BYTES,
              max_chars: int = MAX_CHARS) -> BodyView:
    """Decompress (capped) and cut out the parts of a body that :func:`extract` reads."""
    if not content_encoding or content_encoding.strip().lower() in ("identity", ""):
        # No copy of up to max_bytes: searches stop at n, only the parts read are copied.
        raw = body if isinstance(body, bytes) else bytes(body)
        truncated = len(raw) > max_bytes
    else:
        raw, truncated = decompress(bytes(body), content_encoding, max_bytes)
    n = min(len(raw), max_bytes)
    if looks_binary(raw[: min(n, 1024)]):
        return BodyView(BINARY, (), truncated)
    ct = (content_type or "").split(";")[0].strip().lower()
    if ct and "html" not in ct and "xml" not in ct:
        if not (ct.startswith("text/") or ct == "application/json"):
            return BodyView(BINARY, (), truncated)
        return BodyView(PLAIN, (raw[: min(n, max_chars * 4)],), truncated)
    # Only the head (title, meta) and a window at the start of <body> are decoded: finding
    # "<body" in bytes is a fast scan, decoding the whole page is not needed.
    bpos = _find_body(raw, n)
    window = max_chars * 16
    if bpos == -1:
        return BodyView(PAGE, (raw[: min(n, window + 16384)],), truncated)
    return BodyView(HEAD_BODY, (raw[: min(bpos, 65536)], raw[bpos: min(n, bpos + window)]), truncated)


def str_body(html: str, max_bytes: int = MAX_BYTES, max_chars: int = MAX_CHARS) -> bytes:
    """UTF-8 of a str HTML body, as far as :func:`read_body` reads it.

    The same view as ``html[:max_bytes].encode("utf-8", "replace")`` gives, but encoding only
    up to the end of the <body> window: a character is at least one byte, so the first
    "<body" in the text is the first in the bytes and its window ends within ``window``
    characters after it. A long page's tail is never encoded.
    """
    window = max_chars * 16
    bpos = _find_body(html, max_bytes)
    # No <body> in the text means none in the bytes read either: only the first
    # window + 16 kB are read then.
    n = window + 16384 if bpos == -1 else bpos + window
    return html[: min(n, max_bytes)].encode("utf-8", "replace")[:max_bytes]


def extract_view(view: BodyView, *, content_type: str | None = None,
                 max_chars: int = MAX_CHARS) -> Extracted:
    """:func:`extract` of a body already read by :func:`read_body`."""
    truncated = view.truncated
    if view.kind == BINARY:
        return Extracted(binary=True, truncated=truncated)
    if view.kind == PLAIN:
        s, charset = decode(view.parts[0], content_type)
        return Extracted(body=_clean(s, max_chars), charset=charset, truncated=truncated)
    if view.kind == PAGE:
        s, charset = decode(view.parts[0], content_type)
        return _html_fields(s[:16384], s, charset, truncated, max_chars)
    head_raw, body_raw = view.parts
    head4 = head_raw[:4096]
    texts = _strict_utf8(head4, body_raw, content_type)
    if texts is None:
        # Detect once on head + body window, then decode both with the same charset.
        _, charset = decode(head4 + body_raw, content_type)
        head, rest = _decode_as(head_raw, charset), _decode_as(body_raw, charset)
    else:
        charset = "utf-8"
        head, rest = texts
        if len(head_raw) > 4096:
            head = _decode_as(head_raw, charset)
    return _html_fields(head, rest, charset, truncated, max_chars)


def extract(body: bytes | str | None, *, content_type: str | None = None,
            content_encoding: str | None = None, url: str | None = None,
            max_bytes: int = MAX_BYTES, max_chars: int = MAX_CHARS) -> Extracted:
    """Extract title, description, keywords, headings, alt text and visible text from a body.

    Cost is bounded by ``max_bytes`` (decompressed bytes read) and ``max_chars`` (text kept).
    Non-HTML text types are returned as body text; binary bodies yield an empty result.
    """
    del url  # reserved: base-URL dependent extraction is not needed for classification
    if body is None:
        return Extracted()
    if isinstance(body, bytes | bytearray | memoryview):
        view = read_body(body, content_type=content_type, content_encoding=content_encoding,
                         max_bytes=max_bytes, max_chars=max_chars)
        return extract_view(view, content_type=content_type, max_chars=max_chars)
    ct = (content_type or "").split(";")[0].strip().lower()
    if ct and "html" not in ct and "xml" not in ct:
        return Extracted(body=_clean(body[: max_chars * 4], max_chars), truncated=len(body) > max_chars * 4)
    s = body[:max_bytes]
    truncated = len(body) > max_bytes
    bpos = _find_body(s)
    window = max_chars * 16
    if bpos == -1:
        head, rest = s[:16384], s[: window + 16384]
    else:
        head, rest = s[: min(bpos, 65536)], s[bpos: bpos + window]
    return _html_fields(head, rest, None, truncated, max_chars)


def _headings_and_images(visible: str, n_head: int = 12, n_img: int = 24
                         ) -> tuple[list[str], list[str]]:
    """The first ``n_head`` _HEADING texts and ``n_img`` _IMG tags, as two separate
    ``finditer`` scans would find them, in one scan.

    At any "<" at most one of the two can match. A heading's text cannot hide an image from
    the image scan: such images are looked for inside it, and no image tag can reach past it
    (the heading ends at a "<"). The lazy ``(.{0,400}?)</h[1-3]`` of _HEADING is a search
    for the first "</h" in reach instead: sre tries a lazy repeat one character at a time.
    """
    heads: list[str] = []
    imgs: list[str] = []
    pos = 0
    while len(heads) < n_head or len(imgs) < n_img:
        m = _HEADING_OPEN_OR_IMG.search(visible, pos)
        if m is None:
            break
        pos = m.end()
        if m.group(1) is None:
            if len(imgs) < n_img:
                imgs.append(m.group())
            continue
        close = _HEADING_CLOSE.search(visible, pos, pos + 404)  # text of at most 400 characters
        if close is None:
            continue  # no heading starts here; no match can start inside the opening tag
        text = visible[pos:close.start()]
        pos = close.end()
        if len(heads) < n_head:
            heads.append(text)
        if len(imgs) < n_img and "<" in text:
            imgs += [mm.group() for mm in islice(_IMG.finditer(text), n_img - len(imgs))]
    return heads, imgs


def _html_fields(head: str, rest: str, charset: str | None, truncated: bool,
                 max_chars: int) -> Extracted:
    """Title, meta, headings, alt text and visible text from a decoded head and body window."""
    if "<" not in rest[:2048] and "<" not in head[:2048]:
        return Extracted(body=_clean(rest, max_chars), charset=charset, truncated=truncated)

    m = _TITLE.search(head) or _TITLE.search(rest[:16384])
    title = _clean(m.group(1), 300) if m else ""
    meta: dict[str, str] = {}
    for tag in _meta_tags(head, 64):
        low = tag.lower()
        # The names of _META_KEYS spelt out: six substring tests beat one alternation regex.
        # "content" last: nearly every tag has it, and most have none of the names.
        if not ("description" in low or "keywords" in low or "title" in low or "rating" in low
                or "label" in low or "restrictions" in low) or "content" not in low:
            continue
        a = _attrs(tag)
        key = (a.get("name") or a.get("property") or a.get("http-equiv") or "").lower()
        if key and "content" in a and key not in meta:
            meta[key] = _clean(a["content"], 500)
    description = meta.get("description") or meta.get("og:description") or ""
    keywords = meta.get("keywords", "")
    if not title:
        title = meta.get("og:title", "")

    if rest is head or not _BODY.match(rest):
        rest = _TITLE_BLOCK.sub(" ", rest)
    step = max_chars * 6  # visible characters taken at a time: a page's first part usually suffices
    visible, resume = _strip_blocks(rest, limit=step)
    inner, imgs = _headings_and_images(visible)
    headings = tuple(h for h in (_clean(_strip_tags(x), 200) for x in inner) if h)
    alts: list[str] = []
    for tag in imgs:
        alt = _attrs(tag).get("alt", "")
        if alt.strip():
            alts.append(_clean(alt, 120))
    budget = max(0, max_chars - len(title) - len(description) - len(keywords)
                 - sum(len(h) for h in headings) - sum(len(a) for a in alts))
    # Entities ("&amp;") shrink when unescaped: a little more than the budget is read.
    body_text = _clean_words(_body_text(rest, visible, resume, budget + budget // 8 + 16, step,
                                        _READ_STEPS * step), budget)
    if len(body_text) >= budget:
        truncated = True
    return Extracted(title=title, description=description, keywords=keywords, headings=headings,
                     alt=tuple(alts), body=body_text, charset=charset, truncated=truncated,
                     meta=meta)


# ---------------------------------------------------------------------------------------------
# Search queries


#: registrable-domain label (without TLD) -> (path prefix, query parameter names)
_SEARCH_ENGINES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "google": (("/search", "/webhp", "/images", "/"), ("q",)),
    "bing": (("/search", "/images/search", "/videos/search", "/news/search"), ("q",)),
    "duckduckgo": (("/",), ("q",)),
    "yandex": (("/search", "/images/search", "/video/search"), ("text",)),
    "youtube": (("/results",), ("search_query", "q")),
    "ecosia": (("/search", "/images", "/videos", "/news"), ("q",)),
    "brave": (("/search", "/images", "/videos", "/news"), ("q",)),
    "yahoo": (("/search",), ("p", "q")),
    "startpage": (("/search", "/do/search", "/sp/search"), ("query", "q")),
    "qwant": (("/",), ("q",)),
    "baidu": (("/s",), ("wd", "word")),
    "ask": (("/web",), ("q",)),
    "search": (("/",), ("q",)),  # search.brave.com-style hosts are caught by the label check
}


def search_query(url: str | None) -> str | None:
    """The query typed into a known search engine, or None."""
    if not url:
        return None
    try:
        parts = urlsplit(url if "//" in url else "http://" + url)
    except ValueError:
        return None
    host = (parts.hostname or "").lower().rstrip(".")
    labels = host.split(".")
    engine = None
    for lab in labels[:-1]:
        if lab in _SEARCH_ENGINES and lab != "search":
            engine = lab
            break
    if engine is None:
        return None
    prefixes, params = _SEARCH_ENGINES[engine]
    path = parts.path or "/"
    if not any(path == p or path.startswith(p.rstrip("/") + "/") or p == "/" for p in prefixes):
        return None
    qs = parse_qs(parts.query[:8192], keep_blank_values=False)
    if engine in ("google", "ecosia", "brave", "qwant") and not qs.get("q") and parts.fragment:
        qs = parse_qs(parts.fragment[:8192])
    for p in params:
        vals = qs.get(p)
        if vals and vals[0].strip():
            return vals[0].strip()[:500]
    return None
