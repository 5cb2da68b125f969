"""What an alert says: the subject, plain text and HTML of each message, in one language.

Rendered with the shared templates of :mod:`pages`: ``email/*.txt`` without escaping (a
reader would otherwise see ``&amp;``), ``email/*.html`` autoescaped, so a hostile address,
profile name, reason or message cannot add markup or links to the HTML part. The facts are
already cleaned (one line each, bounded, no page content) by :mod:`reporting.alerts.events`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pages

@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    text: str
    html: str


def _render(name: str, lang: str, subject: str, **values: object) -> Message:
    return Message(subject, pages.render_text(f"email/{name}.txt", lang, **values),
                   pages.render(f"email/{name}.html", lang, **values))


def alert(facts: Mapping[str, object], suppressed: int, lang: str) -> Message:
    """One safeguarding alert: a child hit a category a rule watches."""
    _ = pages.gettext_callables(lang, autoescape=False)["_"]
    subject = _("kidgate alert: %(category)s (%(profile)s)",
                category=pages.category_name(lang, facts["category"]),  # type: ignore[arg-type]
                profile=facts["profile"])
    return _render("alert", lang, subject, facts=facts, suppressed=suppressed)


def digest(events: Sequence[Mapping[str, object]], lang: str) -> Message:
    """A rule's queued events of the day in one message."""
    ngettext = pages.gettext_callables(lang, autoescape=False)["ngettext"]
    subject = ngettext("kidgate daily digest: %(num)s event",
                       "kidgate daily digest: %(num)s events", len(events))
    return _render("digest", lang, subject, events=events)


def access_request(facts: Mapping[str, object], links: Mapping[str, str], suppressed: int,
                   lang: str) -> Message:
    """A child asks for access: who, for what, why it was blocked, and one-click decisions."""
    _ = pages.gettext_callables(lang, autoescape=False)["_"]
    subject = _("kidgate: %(profile)s asks for access to %(host)s", profile=facts["profile"],
                host=facts["host"])
    return _render("access_request", lang, subject, facts=facts, links=list(links.items()),
                   suppressed=suppressed)
