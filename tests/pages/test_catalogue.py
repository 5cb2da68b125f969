"""One set of catalogues: every text the templates and code show has its Romanian, and the
catalogue keeps nothing that is no longer shown."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog

import pages
from pages import catalogue

ROOT = Path(catalogue.__file__).resolve().parents[1]
OWN = ("kidgate", "reporting", "admin", "classifier", "lists", "proxy_addons", "policies",
       "storage", "bench")


@pytest.fixture(scope="module")
def texts() -> Catalog:
    return catalogue.extract()


def test_every_text_is_translated_and_none_is_stale(texts: Catalog) -> None:
    assert catalogue.problems("ro", texts) == []


def test_extraction_reaches_every_kind_of_page(texts: Catalog) -> None:
    found = {(m.id if isinstance(m.id, str) else m.id[0]) for m in texts if m.id}
    assert len(found) > 300
    for text, where in [
        ("This page is blocked", "the block page template"),
        ("betting and gambling", "N_() in kidgate/blockpage.py"),
        ("Report this page", "the internal pages' titles (N_ in reporting/web.py)"),
        ("Send the request", "an internal page template"),
        ("Not found.", "translate() in reporting/web.py"),
        ("Page {n} of {total}", "an admin template's _()"),
        ("Choose one of your profiles.", "an admin form error marked N_()"),
        ("kidgate: request for access", "an e-mail template"),
        ("kidgate alert: %(category)s (%(profile)s)", "an e-mail subject in Python"),
        ("kidgate daily digest: %(num)s event", "ngettext in Python"),
    ]:
        assert text in found, f"not extracted from {where}"
    button = texts.get("Report this page", context="button injected into pages")
    assert button is not None  # ptranslate(): the same English with its own Romanian


def test_a_new_text_without_translation_and_a_stale_one_are_reported(texts: Catalog) -> None:
    changed = Catalog(domain=pages.DOMAIN)
    for m in texts:
        if m.id and m.id != "Send the request":
            changed.add(m.id, None, m.locations, context=m.context)
    changed.add("A text nobody translated yet", None, [("kidgate/x.py", 1)])
    found = catalogue.problems("ro", changed)
    assert found == ["ro: no entry for 'A text nobody translated yet' (kidgate/x.py)",
                     "ro: 'Send the request' is translated but used nowhere (stale)"]


def test_the_runtime_reads_the_po_and_falls_back_to_english() -> None:
    assert pages.translate("ro", "Ask for access") == "Cere acces"
    assert pages.translate("ro-RO", "Ask for access") == "Cere acces"
    assert pages.translate("de", "Ask for access") == "Ask for access"
    assert pages.translate("ro", "A text not in any catalogue") == "A text not in any catalogue"
    assert pages.translate("ro", "Unknown service: {name}", name="x") == "Serviciu necunoscut: x"
    assert pages.ptranslate("ro", "button injected into pages", "Report this page") == \
        "Raportează pagina"
    assert pages.translate("ro", "Report this page") == "Raportează această pagină"
    ro = pages.translations("ro")
    assert ro.ngettext("kidgate daily digest: %(num)s event",
                       "kidgate daily digest: %(num)s events", 1) % {"num": 1} == \
        "kidgate: rezumatul zilei, 1 eveniment"
    assert ro.ngettext("kidgate daily digest: %(num)s event",
                       "kidgate daily digest: %(num)s events", 25) % {"num": 25} == \
        "kidgate: rezumatul zilei, 25 de evenimente"


def test_the_configuration_accepts_exactly_the_languages_there_are_texts_for() -> None:
    from policies.config import LANGUAGES
    assert pages.LANGUAGES == LANGUAGES
    assert all(pages.catalogue_path(lang).is_file() for lang in LANGUAGES if lang != "en")


def test_the_catalogue_command_checks(capsys: pytest.CaptureFixture[str]) -> None:
    assert catalogue.main(["check"]) == 0
    assert "every one translated" in capsys.readouterr().out


@pytest.mark.parametrize("path", sorted((ROOT / "pages").rglob("*.py")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_pages_imports_nothing_of_kidgates_own(path: Path) -> None:
    """Every package renders with it, so it may depend on none of them (no cycles)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module for n in ast.walk(tree)
              if isinstance(n, ast.ImportFrom) and n.module and not n.level]
    assert [n for n in names if n.split(".")[0] in OWN] == []
