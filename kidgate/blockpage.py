"""The block page: a child reads why in their own words; a parent reads the exact reasons."""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from kidgate.i18n import category_name, text
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


_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f1ea;color:#222;
margin:0;padding:2rem 1rem;line-height:1.5}
main{max-width:40rem;margin:auto;background:#fff;border-radius:1rem;padding:2rem;
box-shadow:0 2px 12px rgba(0,0,0,.08)}
h1{font-size:1.7rem;margin:0 0 1rem;color:#8a3b12}
.why{font-size:1.15rem;background:#fff4e5;border-radius:.6rem;padding:.8rem 1rem}
.actions a{display:inline-block;margin:.4rem .6rem .4rem 0;padding:.6rem 1rem;border-radius:.5rem;
text-decoration:none;font-weight:600}
.report{background:#b3261e;color:#fff}.ask{background:#1d5fa8;color:#fff}
.help{background:#e8f4ea;border-radius:.6rem;padding:.8rem 1rem}
details{margin-top:1.5rem;color:#444}code{word-break:break-all}
li{margin:.2rem 0}
"""


def render(verdict: Verdict, *, url: str, profile: Profile, links: BlockLinks | None = None,
           helpline: str = "116 111", show_url: bool = True) -> str:
    """Render the block page for ``verdict`` in the profile's language."""
    lang = profile.language
    links = links or BlockLinks()
    e = html.escape
    cat = category_name(lang, verdict.category)
    if verdict.paused_until is not None:
        until = format_until(verdict.paused_until,
                             dt.datetime.now(ZoneInfo(profile.timezone)))
        lead = text(lang, "lead_pause", until=until)
        cat = text(lang, "why_pause", until=until)
    elif verdict.service:
        lead = text(lang, "lead_service", service=verdict.service)
        cat = text(lang, "why_service", service=verdict.service)
    elif any(r.source == "schedule" for r in verdict.reasons) and verdict.category is None:
        lead = text(lang, "lead_schedule")
    elif verdict.reasons and all(r.source == "error" for r in verdict.reasons):
        lead = text(lang, "lead_error")
    elif verdict.min_age is not None and verdict.min_age < NEVER and verdict.category != "bypass":
        lead = text(lang, "lead_age", age=verdict.min_age)
    else:
        lead = text(lang, "lead")
    actions = []
    if links.report_url:
        actions.append(f'<a class="report" href="{e(links.report_url)}">{e(text(lang, "report"))}</a>')
    if links.ask_url and verdict.paused_until is None:  # no approval opens a pause
        actions.append(f'<a class="ask" href="{e(links.ask_url)}">{e(text(lang, "ask"))}</a>')
    help_box = ""
    if verdict.category == "self_harm":
        help_box = f'<p class="help">{e(text(lang, "helpline", number=helpline))}</p>'
    reasons = "".join(
        f"<li><b>{e(r.source)}</b>{' · ' + e(r.category) if r.category else ''}"
        f"{' · ' + e(str(r.min_age)) + '+' if r.min_age is not None and r.min_age < NEVER else ''}"
        f": {e(r.detail)}</li>" for r in verdict.reasons)
    service_attr = f' data-service="{e(verdict.service)}"' if verdict.service else ""
    page = f'<p>{e(text(lang, "page"))}: <code>{e(url)}</code></p>' if show_url else ""
    return f"""<!doctype html>
<html lang="{e(lang)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex">
<title>{e(text(lang, "title"))}</title><style>{_STYLE}</style></head>
<body><main>
<h1>{e(text(lang, "title"))}</h1>
<p>{e(lead)}</p>
<p class="why">{e(text(lang, "category"))}: <strong data-category="{e(verdict.category or "")}"{service_attr}>{e(cat)}</strong></p>
{help_box}
<p>{e(text(lang, "not_your_fault"))}</p>
<div class="actions">{"".join(actions)}</div>
{f'<p><small>{e(text(lang, "report_hint"))}</small></p>' if links.report_url else ""}
<details><summary>{e(text(lang, "for_parents"))}</summary>
<p>{e(text(lang, "profile"))}: <b>{e(profile.name)}</b> ({profile.age})</p>
{page}
<p>{e(text(lang, "reasons"))}:</p><ul class="reasons">{reasons}</ul>
</details>
</main></body></html>
"""
