"""The admin app's texts are in the shared catalogues: every form error is marked for
translation where it is written, and texts shown from values (days, roles) are listed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from markupsafe import escape

from admin import accounts, i18n
from pages import catalogue
from policies.config import DAYS
from reporting import access
from reporting.store import Store
from storage import ROLES
from tests.admin.helpers import PASSWORD, Env, csrf

ADMIN = Path(i18n.__file__).parent
# A form error written as a bare string would reach the page untranslated: ``_(errors[k])``
# finds it in no catalogue. Marked ones read ``errors[k] = N_("...")``.
_BARE_ERROR = re.compile(r'errors\[[^\]]+\] = \(?f?"')
_BARE_FIELD_ERROR = re.compile(r'FieldErrors\(\{"\w+": f?"')


def test_every_form_error_is_marked_for_translation() -> None:
    sources = [ADMIN / "accounts.py", ADMIN / "events.py",
               *sorted((ADMIN / "views").glob("*.py"))]
    bare = [f"{p.name}: {line.strip()}" for p in sources
            for line in p.read_text(encoding="utf-8").splitlines()
            if _BARE_ERROR.search(line) or _BARE_FIELD_ERROR.search(line)]
    # One that quotes a value is an ``i18n.Message(N_("... {value} ..."), value=...)``.
    assert bare == []


def test_a_message_is_translated_where_shown_with_its_values_filled_in_after() -> None:
    m = i18n.Message(i18n.N_("Use at least {n} characters."), n=12)
    assert str(m) == "Use at least 12 characters."
    assert i18n.show("ro", m) == "Folosiți cel puțin 12 caractere."
    # A value that looks like a placeholder or a catalogue text stays as it was typed.
    m = i18n.Message(i18n.N_("No such profile: {names}."), names="{names} Dashboard")
    assert i18n.show("ro", m) == "Nu există profilul: {names} Dashboard."
    # Nested messages and lists of them are translated in the same language.
    roles = i18n.Message(i18n.N_("“{role}” is not a role: choose one of {roles}."), role="x",
                         roles=(i18n.Message("owner"), i18n.Message("parent")))
    assert i18n.show("ro", roles) == \
        f"„x” nu este un rol: alegeți unul dintre {i18n.translate('ro', 'owner')}, " \
        f"{i18n.translate('ro', 'parent')}."
    assert i18n.translate("ro", "owner") != "owner"
    errors = accounts.validate_new_account("dad", "x" * 12, None, role="x")
    assert str(accounts.FieldErrors(errors)) == \
        "role: “x” is not a role: choose one of owner, parent, teacher, safeguarding."


def test_texts_shown_from_values_are_listed_for_the_catalogue() -> None:
    assert set(DAYS) | set(ROLES) <= set(i18n.RUNTIME_TEXTS)


def test_the_admin_texts_are_in_the_shared_catalogue_in_romanian() -> None:
    used = {m.id for m in catalogue.extract() if m.id}
    # Texts of templates (``_("...")``), views (``translate``) and marked errors (``N_``).
    assert {"Dashboard", "Page {n} of {total}", "Nothing was changed: {error}",
            "Choose one of your profiles.", "sun"} <= used
    assert i18n.translate("ro", "Page {n} of {total}", n=2, total=5) == "Pagina 2 din 5"
    assert i18n.translate("ro", "Choose one of your profiles.") == \
        "Alegeți unul dintre profilurile dvs."
    assert i18n.translate("xx", "Dashboard") == "Dashboard"


_TYPED = "<script>alert(1)</script>"
_ALWAYS = i18n.translate("ro", "always")


@pytest.mark.parametrize("page,field,data,romanian", [
    ("/accounts", "role", {"role": _TYPED},
     f"„{_TYPED}” nu este un rol: alegeți unul dintre proprietar, părinte, profesor, "
     "responsabil de protecție."),
    ("/accounts", "profiles", {"profiles": f"ben, nobody, {_TYPED}"},
     f"Nu există profilul: nobody, {_TYPED}."),
    ("/requests", "site", {"site": _TYPED},
     f"„{_TYPED}” nu este un site sau adresa unei pagini (nu este un nume de site). "
     "Scrieți un site, de exemplu scoala.example, sau adresa unei pagini."),
    ("/requests", "site", {"site": "javascript://alert(1)"},
     "„javascript://alert(1)” nu este un site sau adresa unei pagini (se acceptă doar adrese "
     "http și https). Scrieți un site, de exemplu scoala.example, sau adresa unei pagini."),
    ("/requests", "duration", {"duration": _TYPED},
     f"„{_TYPED}” nu este o durată: alegeți una dintre 15m, 1h, 1d, {_ALWAYS}."),
])
def test_a_form_error_that_quotes_what_was_typed_is_in_romanian_and_escaped(
        sqlite_env: Env, page: str, field: str, data: dict[str, str], romanian: str) -> None:
    env = sqlite_env
    mama = env.romanian_owner_client()
    token = csrf(mama.get(page).text)
    if page == "/accounts":
        form = {"username": "tata", "password": PASSWORD, "role": "parent", "profiles": "",
                "language": "ro"}
    else:
        page = "/requests/unblock"
        form = {"profile": "ben", "site": "video.example", "duration": "1h", "scope": "host"}
    r = mama.post(page, data={"csrf": token, **form, **data})
    assert r.status_code == 400
    shown = re.search(rf'<p class="error" id="e-{field}">(.*?)</p>', r.text, re.S)
    assert shown, r.text
    assert shown.group(1) == str(escape(romanian))
    assert "<script>alert" not in r.text
    assert len(accounts.list_accounts(env.db)) == 2  # nothing was added
    assert access.list_requests(Store(env.db), None) == []


def test_a_bad_event_log_filter_is_explained_in_romanian(sqlite_env: Env) -> None:
    env = sqlite_env
    mama = env.romanian_owner_client()
    r = mama.get("/events?since=last+tuesday&category=sweets")
    assert r.status_code == 400
    assert '<p class="error" id="e-since">Scrieți un moment, de exemplu 24h' in r.text
    assert '<p class="error" id="e-category">Alegeți o categorie din listă.</p>' in r.text
