"""The one evidence-gathering path, shared by the proxy and ``kidgate check``.

Detectors (profile lists, category lists, age labels, classifier, approvals) each turn a URL,
headers or a body into :class:`~policies.core.Evidence`; :func:`policies.core.decide` turns it
into a verdict. A detector that raises becomes ``error`` evidence, so the profile's fail-safe
decides instead of a crash or a silent allow.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import ipaddress
import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from lists.normalize import InvalidURL, normalize_host
from policies.config import Config
from policies.helpseeking import PROTECTED as HELP_PROTECTED
from policies.helpseeking import help_seeking
from policies.core import URL_MODEL, Evidence, Profile, Verdict, decide
from policies.labels import enforced
from lists.carried import carried_urls
from policies.bypass import doh_evidence
from policies.safesearch import bypass_evidence
from policies.services import service_evidence

log = logging.getLogger("kidgate.engine")


class Classifier(Protocol):
    def classify(self, *, url: str | None = None, text: str | None = None,
                 html: bytes | str | None = None,
                 headers: Mapping[str, str] | None = None) -> Any: ...

    def classify_url(self, url: str) -> Any: ...


def host_of(url: str) -> str:
    """The URL's host, lower case, without a final dot ("" when it has none or is invalid)."""
    return _host_and_target(url)[0]


#: A URL as the proxy writes it: scheme, "//", then the authority up to its first "/?#". URLs
#: with anything urlsplit would strip or remove (spaces, controls) take the general path.
_PLAIN_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#\x00-\x20\x7f]*")


def _host_and_target(url: str) -> tuple[str, str]:
    """(host, request target) of an absolute URL, as :func:`urlsplit` gives them. Every request
    asks, and urlsplit costs ~10 µs a time: the authority's host is parsed once per authority
    (hosts repeat) and the target is the rest of the URL."""
    m = _PLAIN_URL.match(url)
    end = m.end() if m is not None else 0
    if m is None or url[end:end + 1] not in ("", "/", "?", "#") or "\t" in url \
            or "\r" in url or "\n" in url:
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").rstrip(".").lower()
        except ValueError:
            return "", ""
        return host, f"{parts.path}?{parts.query}" if parts.query else parts.path
    host = _authority_host(url[:end])
    if host is None:
        return "", ""
    path, _, query = url[end:].partition("#")[0].partition("?")
    return host, f"{path}?{query}" if query else path


@functools.lru_cache(maxsize=4096)
def _authority_host(prefix: str) -> str | None:
    """The host of ``scheme://authority``; None when urlsplit refuses it."""
    try:
        return (urlsplit(prefix).hostname or "").rstrip(".").lower()
    except ValueError:
        return None


def domain_matches(host: str, domains: Iterable[str]) -> str | None:
    """The first entry of ``domains`` that is ``host`` or one of its parent domains."""
    for d in domains:
        if host == d or host.endswith("." + d):
            return d
    return None


def profile_evidence(profile: Profile, host: str) -> list[Evidence]:
    """The profile's own allow and deny entries: they beat every list and detector."""
    out = []
    if d := domain_matches(host, profile.allow_domains):
        out.append(Evidence("policy", None, f"on {profile.name}'s allow list ({d})", allow=True,
                            kind="profile-allow"))
    if d := domain_matches(host, profile.deny_domains):
        out.append(Evidence("policy", None, f"on {profile.name}'s deny list ({d})",
                            kind="profile-deny"))
    out += service_evidence(profile, host)  # services switched off (TikTok, Roblox, ...)
    return out


def address_evidence(profile: Profile, host: str) -> list[Evidence]:
    """``bypass`` evidence for a bare public IP address, when the profile blocks those.

    Lists, labels and the host model judge names; typing a site's IP number would walk round
    all of them. Addresses on the local network (router, printer) and kidgate's own are fine.
    """
    if profile.ip_urls != "block" or not host or not (host[0].isdigit() or ":" in host):
        return []  # global IPv6 addresses start with a digit too (2000::/3)
    try:
        canonical, is_ip = normalize_host(host)
    except InvalidURL:
        return []
    if not is_ip or not ipaddress.ip_address(canonical).is_global:
        return []
    return [Evidence("list", "bypass", f"{canonical} is a bare IP address: no list or label can "
                     "judge it", kind="ip-address")]


@dataclass
class Engine:
    """Everything a decision needs besides the flow: config and loaded detectors."""

    config: Config
    lists: Any = None            # lists.ListWatcher: .current() -> ListStore
    classifier: Classifier | None = None
    site_labels: Any = None      # policies.labels.sitefile.SiteLabelCache
    approvals: Any = None        # reporting.access.ApprovalIndex
    load_errors: dict[str, str] = field(default_factory=dict)
    _list_cache: tuple[Any, OrderedDict[str, list[Evidence]]] | None = field(default=None, repr=False)

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_config(cls, config: Config, *, with_classifier: bool = True,
                    lists_path: Path | None = None, data_dir: Path | None = None) -> "Engine":
        """Load the detectors the configuration asks for; a detector that cannot load is
        recorded in ``load_errors`` and reported as ``error`` evidence on child profiles.
        ``data_dir`` holds downloaded lists (default: the configured or standard one)."""
        engine = cls(config)
        engine.lists = engine._load("lists", lambda: _load_lists(config, lists_path, data_dir))
        if with_classifier and config.classifier.get("enabled", True):
            engine.classifier = engine._load("classifier", _load_classifier)
        return engine

    def _load(self, name: str, loader: Callable[[], Any]) -> Any:
        try:
            return loader()
        except Exception as e:  # noqa: BLE001 - any failure becomes fail-safe evidence
            log.warning("kidgate: %s not loaded: %s", name, e)
            self.load_errors[name] = f"{type(e).__name__}: {e}"
            return None

    # -- detectors ----------------------------------------------------------------------
    def _guard(self, name: str, fn: Callable[[], list[Evidence]]) -> list[Evidence]:
        try:
            return fn()
        except Exception as e:  # noqa: BLE001
            log.warning("kidgate: detector %s failed: %s", name, e, exc_info=True)
            return [Evidence("error", None, f"{name} detector failed ({type(e).__name__})",
                             kind=name)]

    def _load_error_evidence(self, names: Iterable[str]) -> list[Evidence]:
        return [Evidence("error", None, f"{n} unavailable: {self.load_errors[n]}", kind=n)
                for n in names if n in self.load_errors]

    def list_evidence(self, url: str) -> list[Evidence]:
        """List entries for ``url``, cached per URL for as long as the same compiled list file
        is in use (a store never changes; an update swaps in a new one)."""
        if self.lists is None:
            return []
        import lists as list_engine
        store = self.lists.current()
        cache = self._list_cache
        if cache is None or cache[0] is not store:
            cache = self._list_cache = (store, OrderedDict())
        hits = cache[1]
        found = hits.get(url)
        if found is None:
            found = list_engine.to_evidence(store.lookup(url))
            if len(hits) >= LIST_CACHE:
                # OrderedDict: a plain dict's next(iter()) after many deletions from its front
                # walks every deleted slot (~10 µs a request once the cache is full).
                hits.popitem(last=False)
            hits[url] = found
        return list(found)

    def approval_evidence(self, profile: Profile, url: str) -> list[Evidence]:
        if self.approvals is None:
            return []
        approval = self.approvals.is_approved(profile.name, url)
        if not approval:
            return []
        return [approval.evidence()]

    def request_evidence(self, profile: Profile, url: str,
                         headers: Mapping[str, str] | None = None) -> list[Evidence]:
        """Evidence known before contacting the upstream: URL, host, lists, approvals, the
        sites that the URL carries (translation proxies, caches, archives, redirectors) and
        requests shaped like DNS over HTTPS. ``headers``: the request's, lower-case names."""
        host, target = _host_and_target(url)
        ev = profile_evidence(profile, host)
        ev += self._guard("approvals", lambda: self.approval_evidence(profile, url))
        ev += self._guard("lists", lambda: self.list_evidence(url))
        ev += self._guard("lists", lambda: self.carried_evidence(profile, url, host))
        if (unlockable := bypass_evidence(host, profile.safe_search)) is not None:
            ev.append(unlockable)
        if (doh := doh_evidence(target, headers)) is not None:
            ev.append(doh)
        ev += address_evidence(profile, host)
        ev += self._load_error_evidence(["lists"])
        return ev

    def carried_evidence(self, profile: Profile, url: str, host: str) -> list[Evidence]:
        """What blocks the sites that ``url`` carries, as if each were requested itself.

        Only blocking evidence counts: an allow-listed site inside a blocked page must not
        unblock the page, and a known one must not vouch for the service's own host."""
        out = []
        for carried in carried_urls(url):
            inner = host_of(carried if "://" in carried else f"http://{carried}")
            found = [e for e in profile_evidence(profile, inner) if not e.allow]
            found += [e for e in self.list_evidence(carried) if e.category and not e.allow]
            found += address_evidence(profile, inner)
            out += [dataclasses.replace(e, detail=f"{e.detail}; carried in {host or url[:60]}")
                    for e in found]
        return out

    def site_label_evidence(self, profile: Profile, found: list[Evidence]) -> list[Evidence]:
        """A site's label file (fetched in the background by the proxy), if the policy counts it."""
        return enforced(profile, found)

    def url_model_evidence(self, url: str, known: list[Evidence]) -> list[Evidence]:
        """The URL/host model and the search query, for hosts no list knows. CPU work: the
        proxy runs :func:`url_findings` in a worker process instead."""
        if self.classifier is None or not needs_url_model(known):
            return []
        clf = self.classifier
        return self._guard("url model", lambda: url_findings(clf, url))

    def content_evidence(self, profile: Profile, url: str, headers: Mapping[str, str],
                         body: bytes | str | None = None, text: str | None = None) -> list[Evidence]:
        """Evidence from a response: age labels in headers and HTML, and the page classifier."""
        try:
            found = page_findings(self.classifier, url, headers, body, text)
        except Exception as e:  # noqa: BLE001
            log.warning("kidgate: page detectors failed: %s", e, exc_info=True)
            found = PageFindings(errors=(("classifier",
                                          f"page detectors failed ({type(e).__name__})"),))
        return self.page_evidence(profile, found)

    def page_evidence(self, profile: Profile, found: "PageFindings") -> list[Evidence]:
        """The profile's view of what the page detectors found (cheap: no body is read)."""
        ev = enforced(profile, found.labels)
        ev += found.classifier
        ev += [Evidence("error", None, detail, kind=kind) for kind, detail in found.errors]
        ev += self._load_error_evidence(["classifier"])
        return ev

    # -- whole decisions ------------------------------------------------------------------
    def decide(self, profile: Profile, evidence: Iterable[Evidence],
               now: dt.datetime | None = None) -> Verdict:
        return decide(profile, evidence, now or dt.datetime.now(dt.timezone.utc))

    def check(self, profile: Profile, *, url: str | None = None, text: str | None = None,
              html: bytes | str | None = None, headers: Mapping[str, str] | None = None,
              now: dt.datetime | None = None) -> Verdict:
        """The whole decision path offline: what the proxy would decide for this record."""
        ev: list[Evidence] = []
        if url:
            ev += self.request_evidence(profile, url)
            ev += self.url_model_evidence(url, ev)
        if text is not None or html is not None or headers:
            ev += self.content_evidence(profile, url or "", headers or {}, html, text)
        return self.decide(profile, ev, now)


@dataclass(frozen=True, slots=True)
class PageFindings:
    """What the page detectors found, the same for every profile: raw age labels (each
    profile's ``labels`` setting picks which count), classifier scores, or why they failed."""

    labels: list[Evidence] = field(default_factory=list)
    classifier: list[Evidence] = field(default_factory=list)
    errors: tuple[tuple[str, str], ...] = ()  # (detector, what went wrong)


def needs_url_model(known: Iterable[Evidence]) -> bool:
    """The URL/host model guesses only about hosts that no list knows."""
    return not any(e.source == "list" for e in known)


def url_findings(clf: Classifier, url: str) -> list[Evidence]:
    """URL/host model and search-query evidence for one URL (CPU work, profile-independent)."""
    return [Evidence(*fields) for fields in url_findings_fields(clf, url)]


def url_findings_fields(clf: Classifier, url: str) -> list[tuple]:
    """:func:`url_findings` as the fields of each Evidence (``Evidence(*fields)``): what a
    worker process sends back."""
    ev = clf.classify_url(url).evidence_fields(_url_model_kinds())
    query = _search_query(url)
    if query:
        found = clf.classify(text=query).evidence_fields()
        if phrase := help_seeking(query):
            # Looking for help with a harmful topic is not harmful.
            found = [f for f in found if f[1] not in HELP_PROTECTED]
            log.debug("kidgate: help-seeking query (%r): %s", phrase, query)
        ev += [(*f[:6], "search-query", f[7]) for f in found]  # kind="search-query"
    return ev


def page_findings(clf: Classifier | None, url: str, headers: Mapping[str, str],
                  body: bytes | str | None = None, text: str | None = None, *,
                  fields: bool = False) -> PageFindings:
    """Age labels and classifier scores of one response (CPU work, profile-independent: the
    proxy runs it in a worker process, ``kidgate check`` in its own). With ``fields``, the
    classifier's evidence is given as the fields of each Evidence (as
    :func:`url_findings_fields`), which is what a worker sends back."""
    from policies.labels import read_labels
    encoding = headers.get("content-encoding", "").strip().lower()
    if isinstance(body, bytes) and encoding and encoding != "identity":
        # Decompress once, capped: a compression bomb stops at the cap.
        body = _decompress(body, encoding)
        headers = {k: v for k, v in headers.items() if k != "content-encoding"}
    errors = []
    try:
        labels = read_labels(url, headers, body)
    except Exception as e:  # noqa: BLE001 - a detector bug becomes fail-safe evidence
        log.warning("kidgate: detector labels failed: %s", e, exc_info=True)
        labels, errors = [], [("labels", f"labels detector failed ({type(e).__name__})")]
    scores: list[Any] = []
    if clf is not None and (body or text):
        try:
            # The page alone: the URL model and the search query were judged on the request.
            found = clf.classify(text=text, html=body if text is None else None, headers=headers)
            scores = found.evidence_fields() if fields else found.to_evidence()
        except Exception as e:  # noqa: BLE001
            log.warning("kidgate: detector classifier failed: %s", e, exc_info=True)
            errors.append(("classifier", f"classifier detector failed ({type(e).__name__})"))
    return PageFindings(labels, scores, tuple(errors))


BODY_CAP = 512 * 1024
#: URLs whose list evidence is kept (a few MB at most).
LIST_CACHE = 8192


def _target(url: str) -> str:
    """The request target (path and query) of an absolute URL."""
    return _host_and_target(url)[1]


def _url_model_kinds() -> dict[str, str]:
    """Scores that come from the URL/host model get its stricter threshold in the core."""
    from classifier import URL_DETAIL
    return {URL_DETAIL: URL_MODEL}


def _mark_url_model(found: Any) -> list[Evidence]:
    """The evidence of a classification, the URL/host model's marked (:func:`_url_model_kinds`)."""
    return found.to_evidence(_url_model_kinds())


def _decompress(body: bytes, encoding: str) -> bytes:
    from classifier.extract import decompress
    return decompress(body, encoding, BODY_CAP)[0]


def _search_query(url: str) -> str | None:
    try:
        from classifier.extract import search_query
    except ImportError:
        return None
    return search_query(url)


def _load_lists(config: Config, override: Path | None, data_dir: Path | None) -> Any:
    """An explicit list file, else the configured ``lists.path``, else the downloaded lists in
    the data directory (the shipped snapshot until the first update)."""
    import lists as list_engine
    from kidgate.paths import default_data_dir
    path = override or config.lists.get("path")
    watcher = list_engine.watch_lists(Path(path).expanduser() if path else None,
                                      data_dir or config.data_dir or default_data_dir())
    watcher.current()  # fail now, not on the first request
    return watcher


def _load_classifier() -> Any:
    import classifier
    return classifier.load()
