"""The block page: a child reads why in their own words; a parent reads the exact reasons.

The page is the ``blockpage.html`` template of :mod:`pages` (autoescaped, texts in the shared
catalogues). It is rendered on the proxy's event loop for every block, so the template is
compiled once, at import, and only rendered per request.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pages
from policies.categories import NEVER
from policies.core import Profile, Verdict, format_until

#: Our own page: no scripts at all, styles inline, forms only to the internal host.
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
       "form-action http://kidgate.internal; base-uri 'none'; frame-ancestors 'none'")

@dataclass(frozen=True, slots=True)
class BlockLinks:
    """Where the block page's buttons lead; ``None`` hides a button."""

    report_url: str | None = None
    ask_url: str | None = None


_TEMPLATE = pages.environment().get_template("blockpage.html")
pages.preload()


def _lead(verdict: Verdict) -> str:
    """Which explanation the child reads first."""
    if verdict.paused_until is not None:
        return "pause"
    if verdict.service:
        return "service"
    if any(r.source == "schedule" for r in verdict.reasons) and verdict.category is None:
        return "schedule"
    if verdict.reasons and all(r.source == "error" for r in verdict.reasons):
        return "error"
    if verdict.min_age is not None and verdict.min_age < NEVER and verdict.category != "bypass":
        return "age"
    return "default"


def render(verdict: Verdict, *, url: str, profile: Profile, links: BlockLinks | None = None,
           helpline: str = "116 111", show_url: bool = True) -> str:
    """Render the block page for ``verdict`` in the profile's language."""
    lang = pages.language(profile.language)
    links = links or BlockLinks()
    until = None
    if verdict.paused_until is not None:
        until = format_until(verdict.paused_until, dt.datetime.now(ZoneInfo(profile.timezone)))
    return _TEMPLATE.render(
        lang=lang, **pages.gettext_callables(lang), verdict=verdict, profile=profile,
        lead=_lead(verdict), until=until,
        why=pages.category_name(lang, verdict.category), help=verdict.category == "self_harm",
        helpline=helpline, report_url=links.report_url or None,
        # no approval opens a pause
        ask_url=(links.ask_url or None) if verdict.paused_until is None else None,
        url=url if show_url else None, never=NEVER)
