"""One Jinja2 set-up for every page and e-mail: autoescaping everywhere HTML is made, texts in
the reader's language, hostile facts shown as text."""

from __future__ import annotations

import jinja2
import pytest

import pages
from reporting.alerts import messages

EVIL = "\"'><script>alert(1)</script>&amp;<img src=x onerror=alert(2)>"


def _request_facts(**over: object) -> dict[str, object]:
    facts: dict[str, object] = {
        "request_id": 7, "profile": "ana", "category": "gambling",
        "url": "https://bets.example/games", "host": "bets.example",
        "time": "2026-12-07T18:00:00+00:00", "reason": "list ut1", "message": ""}
    facts.update(over)
    return facts


LINKS = {"approve_1h": "http://kidgate.internal/decide?t=a", "approve_1d":
         "http://kidgate.internal/decide?t=b", "approve_always": "http://kidgate.internal/decide?t=c",
         "deny": "http://kidgate.internal/decide?t=d"}


def test_every_html_template_is_autoescaped_whatever_its_name() -> None:
    env = pages.environment()
    assert env.autoescape is True
    for name in ("blockpage.html", "email/decisions.txt", "x.txt"):
        assert env.from_string("{{ v }}").render(v="<b>") == "&lt;b&gt;", name
    assert pages.text_environment().from_string("{{ v }}").render(v="<b>") == "<b>"


@pytest.mark.parametrize("lang", ["en", "ro"])
def test_bound_gettext_renders_like_the_installed_one(lang: str) -> None:
    """The per-language functions passed to a render (fast path) and the installed ones that
    read ``lang`` from the context give the same text and the same escaping."""
    source = ('{{ _("Reports go to %(hotline)s, the hotline for illegal content online.", '
              'hotline=h) }}|{{ _("Copy") }}|{{ ngettext("kidgate daily digest: %(num)s event", '
              '"kidgate daily digest: %(num)s events", 3) }}')
    template = pages.environment().from_string(source)
    installed = template.render(lang=lang, h=EVIL)
    bound = template.render(lang=lang, h=EVIL, **pages.gettext_callables(lang))
    assert installed == bound
    assert "<script>" not in bound and "&lt;script&gt;" in bound
    assert ("Copiază" in bound) == (lang == "ro")


def test_a_text_with_a_percent_sign_and_no_values_renders_as_jinja_does() -> None:
    template = pages.environment().from_string('{{ _("100%% safe") }}')
    assert template.render(lang="en") == template.render(
        lang="en", **pages.gettext_callables("en")) == "100% safe"


def test_a_missing_value_is_an_error_not_an_empty_string() -> None:
    with pytest.raises(jinja2.UndefinedError):
        pages.render("email/alert.html", "en", suppressed=0)


# -- e-mails ---------------------------------------------------------------------------------

def test_access_request_mail_escapes_hostile_facts_in_html() -> None:
    facts = _request_facts(profile=EVIL, url="https://x.example/" + EVIL, host=EVIL,
                           reason=EVIL, message=EVIL)
    mail = messages.access_request(facts, LINKS, 2, "en")
    assert "<script>" not in mail.html and "<img" not in mail.html
    assert "&lt;script&gt;" in mail.html and "&amp;amp;" in mail.html
    assert "&#34;&#39;&gt;" in mail.html  # quotes cannot end an attribute
    # Only kidgate's own links are links: one per decision.
    assert mail.html.count("<a href=") == 4
    assert 'href="http://kidgate.internal/decide?t=c">Always allow the whole site &#34;' in mail.html
    # The text part shows the same facts as they are (a mail reader shows no markup).
    assert f"Message from {EVIL}: {EVIL}" in mail.text
    assert f"Always allow the whole site {EVIL}: http://kidgate.internal/decide?t=c" in mail.text


def test_alert_and_digest_mails_escape_hostile_facts_in_html() -> None:
    facts = {"profile": EVIL, "category": "self_harm", "url": "https://x.example/" + EVIL,
             "time": "2026-12-07T18:00:00+00:00", "reason": EVIL}
    for mail in (messages.alert(facts, 3, "en"), messages.digest([facts, facts], "en")):
        assert "<script>" not in mail.html and "<img" not in mail.html
        assert "&lt;script&gt;" in mail.html and mail.html.count("&lt;script&gt;") >= 2
        assert EVIL in mail.text


def test_mails_in_romanian() -> None:
    mail = messages.access_request(_request_facts(message="te rog"), LINKS, 1, "ro")
    assert mail.subject == "kidgate: ana cere acces la bets.example"
    for part in (mail.text, mail.html):
        assert "ana cere acces la o pagină blocată." in part
        assert "Permite mereu tot site-ul bets.example" in part
        assert "Încă 1 cerere de la acest profil" in part
    assert "Mesaj de la ana: te rog" in mail.text and '<html lang="ro">' in mail.html
    facts = {"profile": "ana", "category": "self_harm", "url": "https://x.example/",
             "time": "2026-12-07T18:00:00+00:00", "reason": "list"}
    alert = messages.alert(facts, 21, "ro")
    assert alert.subject == "Alertă kidgate: conținut despre a-ți face rău (ana)"
    assert "Profil: ana" in alert.text and "21 de evenimente similare" in alert.text
    digest = messages.digest([facts] * 2, "ro")
    assert digest.subject == "kidgate: rezumatul zilei, 2 evenimente"
    assert "S-a înregistrat doar adresa" in digest.text


@pytest.mark.parametrize("lang,self_harm,gambling,none", [
    ("en", "content about hurting yourself", "betting and gambling",
     "no category (a rule of the profile)"),
    ("ro", "conținut despre a-ți face rău", "pariuri și jocuri de noroc",
     "nicio categorie (o regulă a profilului)")])
def test_mails_name_the_category_in_words_in_the_readers_language(
        lang: str, self_harm: str, gambling: str, none: str) -> None:
    facts = {"profile": "ana", "category": "self_harm", "url": "https://x.example/",
             "time": "2026-12-07T18:00:00+00:00", "reason": "list"}
    alert, digest = messages.alert(facts, 0, lang), messages.digest([facts], lang)
    assert self_harm in alert.subject
    for part in (alert.text, alert.html, digest.text, digest.html):
        assert self_harm in part and "self_harm" not in part
    mail = messages.access_request(_request_facts(), {}, 0, lang)
    assert f"{gambling} (list ut1)" in mail.text and f"{gambling} (list ut1)" in mail.html
    mail = messages.access_request(_request_facts(category=None), {}, 0, lang)
    assert none in mail.text and none in mail.html


def test_every_category_has_words_and_an_unknown_key_is_shown_as_it_is() -> None:
    from kidgate.stats import CATEGORY_KEYS, OTHER, UNCATEGORISED
    from policies.categories import CATEGORIES
    # The vocabulary, and the two keys statistics add (shown on the admin's dashboard and log).
    assert set(CATEGORY_KEYS) == {*CATEGORIES, UNCATEGORISED, OTHER}
    assert set(pages.CATEGORY_NAMES) == {*CATEGORY_KEYS, None}
    for key in pages.CATEGORY_NAMES:  # every name in English and in Romanian words
        english, romanian = pages.category_name("en", key), pages.category_name("ro", key)
        assert english != key or key == "weapons"
        assert romanian not in (english, key), key
    assert pages.category_name("en", UNCATEGORISED) == "no category"
    assert pages.category_name("ro", UNCATEGORISED) == "nicio categorie"
    assert pages.category_name("ro", "weapons") == "arme"
    assert pages.category_name("ro", "no_such_key") == "no_such_key"
    env = pages.environment()
    assert env.from_string("{{ c | category_name }}").render(c="self_harm", lang="ro") == \
        "conținut despre a-ți face rău"
    assert env.from_string("{{ c | category_name }}").render(c="<b>", lang="en") == "&lt;b&gt;"


def test_plain_text_mail_has_no_stray_blank_lines() -> None:
    text = messages.access_request(_request_facts(), {}, 0, "en").text
    assert text == (
        "kidgate: request for access\n\nana asks for access to a blocked page.\n\n"
        "Profile: ana\nSite: https://bets.example/games\nBlocked as: betting and gambling (list ut1)\n"
        "Time: 2026-12-07T18:00:00+00:00\n\n"
        "Or on the kidgate computer: kidgate requests approve 7 --for 1h   /   "
        "kidgate requests deny 7\n")


def test_every_source_of_a_block_has_words_and_an_unknown_one_is_shown_as_it_is() -> None:
    from kidgate.stats import SOURCES
    from policies.core import SOURCES as DECISION_SOURCES
    # What a decision names, and the statistics' key for a source outside these.
    assert set(pages.SOURCE_NAMES) == set(SOURCES) >= set(DECISION_SOURCES)
    for key in pages.SOURCE_NAMES:  # every name in English and in Romanian words
        english, romanian = pages.source_name("en", key), pages.source_name("ro", key)
        assert english != key and romanian not in (english, key), key
    assert pages.source_name("ro", "classifier") == "o verificare automată a conținutului"
    assert pages.source_name("ro", "no_such_source") == "no_such_source"
    env = pages.environment()
    assert env.from_string("{{ s | source_name }}").render(s="list", lang="ro") == \
        "o listă de site-uri"
    assert env.from_string("{{ s | source_name }}").render(s="<b>", lang="en") == "&lt;b&gt;"
