"""Find every text kidgate shows and keep the catalogues in step with them.

``python -m pages.catalogue update`` extracts the texts of the templates and Python sources
(Babel's extractors), adds the new ones to every ``pages/locale/<lang>.po`` with an empty
translation, and drops the ones no longer used; then translate the empty entries.
``python -m pages.catalogue check`` (and ``tests/pages``) fails while a text has no translation
or a catalogue keeps a text nothing uses.

What counts as a text: ``_()``, ``gettext()``, ``ngettext()``, ``pgettext()`` in templates and
code, ``N_()`` (a text marked where it is defined and translated where shown),
``translate(lang, text)`` and ``ptranslate(lang, context, text)``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po, write_po

from pages import DEFAULT_LANGUAGE, DOMAIN, LANGUAGES, catalogue_path

ROOT = Path(__file__).resolve().parents[1]
#: The packages whose templates and code show texts to people.
PACKAGES = ("kidgate", "reporting", "admin", "pages")
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None, "translate": (2,), "ptranslate": ((2, "c"), 3)}
METHODS = [("**/templates/**.html", "jinja2"), ("**/templates/**.txt", "jinja2"),
           ("**.py", "python")]
_SKIP = {"pages/catalogue.py"}  # names the keywords, shows nothing


def _messages(root: Path = ROOT) -> Iterator[tuple[str, int, str | tuple[str, ...], str | None]]:
    """(file, line, message, context) of every text in the packages."""
    for package in PACKAGES:
        for filename, line, message, _comments, context in extract_from_dir(
                root / package, METHODS, keywords=KEYWORDS, strip_comment_tags=True):
            path = f"{package}/{filename}"
            if path not in _SKIP:
                yield path, line, message, context


def extract(root: Path = ROOT) -> Catalog:
    """A template catalogue (no translations) of every text kidgate shows."""
    catalog = Catalog(domain=DOMAIN, project="kidgate", fuzzy=False)
    for path, line, message, context in _messages(root):
        if isinstance(message, tuple):  # ngettext: (singular, plural)
            message = tuple(m for m in message if m is not None)
            message = message[0] if len(message) == 1 else message
        if message:
            catalog.add(message, None, [(path, line)], context=context)
    return catalog


def read(lang: str) -> Catalog:
    with catalogue_path(lang).open("rb") as f:
        return read_po(f, locale=lang, domain=DOMAIN)


def write(lang: str, catalog: Catalog) -> None:
    with catalogue_path(lang).open("wb") as f:
        write_po(f, catalog, width=100, include_lineno=False, sort_output=True,
                 omit_header=False, no_location=False)


def _key(message: object, context: str | None) -> tuple[object, str | None]:
    return (message, context)


def problems(lang: str, template: Catalog | None = None) -> list[str]:
    """What is wrong with one language's catalogue, as readable lines (empty: all good)."""
    template = template or extract()
    catalog = read(lang)
    used = {_key(m.id, m.context) for m in template if m.id}
    have = {_key(m.id, m.context): m for m in catalog if m.id}
    out = []
    for key in sorted(used, key=str):
        m = have.get(key)
        where = ", ".join(f"{f}" for f, _ in template.get(*_lookup(key)).locations)
        if m is None:
            out.append(f"{lang}: no entry for {key[0]!r} ({where})")
        elif not m.string or (isinstance(m.string, tuple) and not all(m.string)):
            out.append(f"{lang}: no translation for {key[0]!r} ({where})")
        elif m.fuzzy:
            out.append(f"{lang}: translation of {key[0]!r} is marked fuzzy")
    out += [f"{lang}: {key[0]!r} is translated but used nowhere (stale)"
            for key in sorted(set(have) - used, key=str)]
    out += [f"{lang}: {m.id!r}: {e}" for m, errors in catalog.check() for e in errors]
    return out


def _lookup(key: tuple[object, str | None]) -> tuple[object, str | None]:
    message, context = key
    return (message[0] if isinstance(message, tuple) else message), context


def update(lang: str, template: Catalog | None = None) -> None:
    """Bring one language's catalogue in step with the texts: new texts get an empty
    translation, unused ones are dropped, translations of kept texts stay."""
    template = template or extract()
    catalog = read(lang) if catalogue_path(lang).exists() else Catalog(locale=lang,
                                                                      domain=DOMAIN)
    template.creation_date = catalog.creation_date  # no date churn on every update
    catalog.update(template, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    catalog.fuzzy = False
    catalog.header_comment = (f"# The {lang} texts of kidgate: block page, internal pages, admin "
                              "app, e-mails.\n# New texts: python -m pages.catalogue update, "
                              "then translate the empty entries.\n# Distributed under the same "
                              "license as kidgate.")
    catalog.project, catalog.version = "kidgate", ""
    catalog.copyright_holder = "the kidgate authors"
    catalog.msgid_bugs_address = catalog.last_translator = ""
    write(lang, catalog)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pages.catalogue", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("check", "update"))
    args = parser.parse_args(argv)
    template = extract()
    langs = [lang for lang in LANGUAGES if lang != DEFAULT_LANGUAGE]
    if args.command == "update":
        for lang in langs:
            update(lang, template)
    found = [p for lang in langs for p in problems(lang, template)]
    print("\n".join(found) or f"{len(template)} texts, every one translated")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
