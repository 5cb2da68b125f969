"""The admin app's texts: the shared catalogues of :mod:`pages`.

Templates and views call ``_("English text", name=value)``; the English text is the message
id and ``{name}`` placeholders are filled after translating, so every string is readable where
it is used and a missing translation falls back to English. A text defined in one place and
translated where it is shown is marked with ``N_("...")`` where it is defined.
"""

from __future__ import annotations

from pages import LANGUAGES, N_, translate

#: Texts the admin shows from values rather than from literals in its code: day and role
#: names from the configuration and the database, and a form error built from a constant.
#: Listed here so that the catalogue extractor finds them (``tests/admin/test_i18n.py``
#: checks that the list is complete).
RUNTIME_TEXTS = (
    N_("mon"), N_("tue"), N_("wed"), N_("thu"), N_("fri"), N_("sat"), N_("sun"),
    N_("owner"), N_("parent"), N_("teacher"), N_("safeguarding"),
    N_("Use at least 10 characters."),
)

__all__ = ["LANGUAGES", "N_", "RUNTIME_TEXTS", "translate"]
