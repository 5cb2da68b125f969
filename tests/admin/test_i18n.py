"""The admin app's texts are in the shared catalogues: every form error is marked for
translation where it is written, and texts shown from values (days, roles) are listed."""

from __future__ import annotations

import re
from pathlib import Path

from admin import accounts, i18n
from pages import catalogue
from policies.config import DAYS
from storage import ROLES

ADMIN = Path(i18n.__file__).parent
# A form error written as a bare string would reach the page untranslated: ``_(errors[k])``
# finds it in no catalogue. Marked ones read ``errors[k] = N_("...")``.
_BARE_ERROR = re.compile(r'errors\[[^\]]+\] = \(?f?"')
_BARE_FIELD_ERROR = re.compile(r'FieldErrors\(\{"\w+": f?"')


def test_every_form_error_is_marked_for_translation() -> None:
    sources = [ADMIN / "accounts.py", *sorted((ADMIN / "views").glob("*.py"))]
    bare = [f"{p.name}: {line.strip()}" for p in sources
            for line in p.read_text(encoding="utf-8").splitlines()
            if _BARE_ERROR.search(line) or _BARE_FIELD_ERROR.search(line)]
    # Built from a constant: listed in RUNTIME_TEXTS instead.
    # Built from what was typed or configured: English only, known (they quote values).
    assert bare == [
        'accounts.py: errors["password"] = f"Use at least {MIN_PASSWORD} characters."',
        'accounts.py: errors["role"] = f"Choose one of: {\', \'.join(ROLES)}."',
        'manage.py: errors["profiles"] = f"No such profile: {\', \'.join(unknown)}."',
        'requests.py: errors["site"] = f"Write a site like school.example or a page address '
        '({e})."',
        'requests.py: errors["duration"] = f"Choose one of {\', \'.join(access.DURATIONS)}."']
    assert f"Use at least {accounts.MIN_PASSWORD} characters." in i18n.RUNTIME_TEXTS


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
