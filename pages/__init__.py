"""The words and pages kidgate shows people: one Jinja2 set-up and one set of message catalogues.

The block page, the internal pages on ``kidgate.internal``, the admin app and the alert e-mails
are all rendered with the environment this package builds (:func:`environment`, or
:func:`configure` for a Flask app's own ``jinja_env``): autoescaping on for every template,
Jinja2's ``i18n`` extension with gettext callables that read the page's language from the
template's ``lang`` variable, so one compiled template serves every language.

Texts are written in English in the templates and the code (the English text is the message
id) and translated by gettext catalogues in ``pages/locale/<lang>.po``. The catalogues are read
at start-up with Babel, so a fresh checkout runs without a compile step and a catalogue cannot
be out of date with a compiled copy. ``tests/pages`` fails when a text has no translation.

A top-level package because the block page (``kidgate``), the internal pages and e-mails
(``reporting``) and the admin app (``admin``) all render with it: it imports nothing of
kidgate's own, so no package has to import another it should not.
"""

from __future__ import annotations

import functools
import gettext
import io
from collections.abc import Callable
from pathlib import Path

import jinja2
from markupsafe import Markup
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

#: The interface languages; English is the source language and needs no catalogue.
LANGUAGES = ("en", "ro")
DEFAULT_LANGUAGE = "en"
#: The gettext domain, the name of every catalogue file.
DOMAIN = "kidgate"
LOCALE_DIR = Path(__file__).with_name("locale")
TEMPLATE_DIR = Path(__file__).with_name("templates")


def N_(message: str) -> str:  # noqa: N802 - gettext's name for a marker
    """Mark a text for translation where it is defined, translated later where it is shown
    (a table of labels, a form error); the message extractor finds it by this name."""
    return message


#: Each category of the one vocabulary (``policies.categories``, BRIEF.md) in plain words, as a
#: child reads it on the block page; adults read the same words in e-mails and the admin app.
#: ``None``: a block by the profile's own rules. The statistics' two extra keys (the admin's
#: dashboard and event log) are here too: ``uncategorised``, a decision without a category, and
#: ``other``, a logged key outside the vocabulary. ``tests/pages`` keeps the keys complete.
CATEGORY_NAMES: dict[str | None, str] = {
    "csam": N_("illegal content that hurts children"),
    "sexual": N_("grown-up content about sex or nudity"),
    "violence": N_("violent or scary content"),
    "hate": N_("content that is hateful towards people"),
    "offensive": N_("rude words, insults or bullying"),
    "self_harm": N_("content about hurting yourself"),
    "drugs": N_("drugs, alcohol or smoking"),
    "gambling": N_("betting and gambling"),
    "weapons": N_("weapons"),
    "dating": N_("dating sites for grown-ups"),
    "social": N_("social networks and chat"),
    "bypass": N_("tools that get around the filter"),
    "malware": N_("a dangerous site that may harm your device"),
    "uncategorised": N_("no category"),
    "other": N_("another category"),
    None: N_("a page your family chose to block"),
}

#: What found a block (a decision's ``sources``, the statistics' ``blocks_by_source``), in words
#: an adult reads on the admin's dashboard and event log; ``other`` is a logged source outside
#: these. ``tests/pages`` keeps the keys complete.
SOURCE_NAMES: dict[str, str] = {
    "list": N_("a list of sites"),
    "label": N_("the site's own age label"),
    "classifier": N_("an automatic check of the content"),
    "policy": N_("the profile's rules"),
    "schedule": N_("a schedule"),
    "error": N_("a check that failed"),
    "other": N_("another source"),
}


def language(code: str | None) -> str:
    """A supported language for a profile's setting or a browser's ``ro-RO``; else English."""
    base = (code or DEFAULT_LANGUAGE).replace("_", "-").split("-")[0].strip().lower()
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


def catalogue_path(lang: str) -> Path:
    return LOCALE_DIR / f"{lang}.po"


@functools.cache
def translations(lang: str) -> gettext.NullTranslations:
    """The translations of one language, read from its ``.po`` once per process.

    Fuzzy and empty entries are left out, so a text whose translation is unsure shows in
    English rather than wrong."""
    lang = language(lang)
    path = catalogue_path(lang)
    if lang == DEFAULT_LANGUAGE or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as f:
        catalog = read_po(f, locale=lang, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def translate(lang: str | None, message: str, /, **values: object) -> str:
    """``message`` in ``lang`` for text made in Python (a CLI, JSON, a form error):
    ``{name}`` placeholders are filled with ``values`` after translating. Templates use
    ``_()`` with ``%(name)s`` placeholders instead (Jinja2's i18n extension)."""
    out = translations(language(lang)).gettext(message)
    return out.format(**values) if values else out


def ptranslate(lang: str | None, context: str, message: str, /, **values: object) -> str:
    """:func:`translate` for a text whose English is also used elsewhere with another
    meaning or length (gettext's message context)."""
    out = translations(language(lang)).pgettext(context, message)
    return out.format(**values) if values else out


def category_name(lang: str | None, category: str | None) -> str:
    """``category`` (a key such as ``self_harm``) in plain words in ``lang``; a key outside
    the vocabulary is shown as it is rather than hidden."""
    name = CATEGORY_NAMES.get(category)
    return str(category) if name is None else translate(lang, name)


def source_name(lang: str | None, source: str) -> str:
    """A block's source (``list``, ``classifier``...) in words in ``lang``; a key outside
    :data:`SOURCE_NAMES` is shown as it is."""
    name = SOURCE_NAMES.get(source)
    return str(source) if name is None else translate(lang, name)


# -- gettext for templates: the language comes from the template's ``lang`` variable ---------

def _lang(context: jinja2.runtime.Context) -> str:
    return language(context.get("lang"))


@jinja2.pass_context
def _gettext(context: jinja2.runtime.Context, message: str) -> str:
    return translations(_lang(context)).gettext(message)


@jinja2.pass_context
def _ngettext(context: jinja2.runtime.Context, singular: str, plural: str, n: int) -> str:
    return translations(_lang(context)).ngettext(singular, plural, n)


@jinja2.pass_context
def _pgettext(context: jinja2.runtime.Context, ctx: str, message: str) -> str:
    return translations(_lang(context)).pgettext(ctx, message)


@jinja2.pass_context
def _npgettext(context: jinja2.runtime.Context, ctx: str, singular: str, plural: str,
               n: int) -> str:
    return translations(_lang(context)).npgettext(ctx, singular, plural, n)


@jinja2.pass_context
def _category_name(context: jinja2.runtime.Context, category: str | None) -> str:
    return category_name(_lang(context), category)


@jinja2.pass_context
def _source_name(context: jinja2.runtime.Context, source: str) -> str:
    return source_name(_lang(context), source)


@functools.cache
def gettext_callables(lang: str | None, autoescape: bool = True) -> dict[str, Callable[..., str]]:
    """The gettext functions of one language, to pass to a render as variables: they shadow
    the installed ones (which look the language up on every call) with functions bound to
    the language, about five times cheaper per text. Same semantics as Jinja2's "newstyle"
    gettext: ``%(name)s`` placeholders filled after translating, escaped when autoescaping."""
    t = translations(language(lang))
    wrap = Markup if autoescape else str

    def finish(text: str, variables: dict[str, object]) -> str:
        out = wrap(text)
        # ``%`` even without variables, as Jinja2 does: "%%" in a text is one "%".
        return out % variables if variables or "%" in out else out

    @functools.lru_cache(maxsize=4096)  # texts are few and fixed; bounded all the same
    def without_values(message: str) -> str:
        return finish(t.gettext(message), {})

    def gettext_(message: str, **variables: object) -> str:
        return finish(t.gettext(message), variables) if variables else without_values(message)

    def ngettext_(singular: str, plural: str, n: int, **variables: object) -> str:
        variables.setdefault("num", n)
        return finish(t.ngettext(singular, plural, n), variables)

    def pgettext_(ctx: str, message: str, **variables: object) -> str:
        return finish(t.pgettext(ctx, message), variables)

    def npgettext_(ctx: str, singular: str, plural: str, n: int, **variables: object) -> str:
        variables.setdefault("num", n)
        return finish(t.npgettext(ctx, singular, plural, n), variables)

    return {"_": gettext_, "gettext": gettext_, "ngettext": ngettext_, "pgettext": pgettext_,
            "npgettext": npgettext_}


def preload() -> None:
    """Read every catalogue now (about 50 ms each), at start-up, rather than on the proxy's
    event loop when the first page in a language is shown."""
    for lang in LANGUAGES:
        gettext_callables(lang)


def shared_loader() -> jinja2.BaseLoader:
    """The loader of the templates this package holds (block page, e-mails)."""
    return jinja2.FileSystemLoader(TEMPLATE_DIR)


def configure(env: jinja2.Environment, *, autoescape: bool = True,
              loader: jinja2.BaseLoader | None = None) -> jinja2.Environment:
    """Set ``env`` up the kidgate way (also a Flask app's ``jinja_env``): autoescaping, the
    ``i18n`` extension with kidgate's catalogues, and ``loader`` searched before the shared
    templates. Returns ``env``."""
    env.autoescape = autoescape
    env.add_extension("jinja2.ext.i18n")
    # ``{{ key | category_name }}``: a category in words, in the template's ``lang``.
    env.filters["category_name"] = _category_name
    env.filters["source_name"] = _source_name  # a block's source in words
    env.install_gettext_callables(  # type: ignore[attr-defined]
        _gettext, _ngettext, newstyle=True, pgettext=_pgettext, npgettext=_npgettext)
    own = loader if loader is not None else env.loader
    env.loader = jinja2.ChoiceLoader([own, shared_loader()]) if own else shared_loader()
    return env


def _new(autoescape: bool) -> jinja2.Environment:
    # Compiled templates are cached by the environment; nothing is reloaded while running.
    # Plain text has no markup to hide line breaks in: a block tag alone on its line leaves
    # no empty line behind (``+%}`` keeps the line break after a tag that ends a line).
    env = jinja2.Environment(auto_reload=False, undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, trim_blocks=not autoescape,
                             lstrip_blocks=not autoescape)
    return configure(env, autoescape=autoescape)


@functools.cache
def environment() -> jinja2.Environment:
    """The shared environment for HTML: every template autoescaped."""
    return _new(autoescape=True)


@functools.cache
def text_environment() -> jinja2.Environment:
    """The same templates and catalogues for plain text (an e-mail's text part), where
    escaping would show ``&amp;`` to the reader. Never for HTML."""
    return _new(autoescape=False)


def render(name: str, lang: str | None, /, **values: object) -> str:
    """Render a shared HTML template in ``lang`` (autoescaped)."""
    lang = language(lang)
    return environment().get_template(name).render(lang=lang, **gettext_callables(lang),
                                                   **values)


def render_text(name: str, lang: str | None, /, **values: object) -> str:
    """Render a shared plain-text template in ``lang`` (no escaping)."""
    lang = language(lang)
    return text_environment().get_template(name).render(
        lang=lang, **gettext_callables(lang, autoescape=False), **values)


__all__ = ["CATEGORY_NAMES", "DEFAULT_LANGUAGE", "LANGUAGES", "N_", "SOURCE_NAMES", "category_name",
           "configure", "environment", "gettext_callables", "language", "preload", "ptranslate",
           "render", "render_text", "source_name", "text_environment", "translate",
           "translations"]
