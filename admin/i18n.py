"""The admin app's texts: the shared catalogues of :mod:`pages`.

Templates and views call ``_("English text", name=value)``; the English text is the message
id and ``{name}`` placeholders are filled after translating, so every string is readable where
it is used and a missing translation falls back to English. A text defined in one place and
translated where it is shown is marked with ``N_("...")`` where it is defined; when it also
quotes a value (a form error that repeats what was typed), it is a :class:`Message`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pages import LANGUAGES, N_, translate


class Message:
    """A text and its values, translated where it is shown rather than where it is made.

    A form error is written before the page's language is known (in a validator that has
    none), and the value it quotes must be filled in after translating, never glued to
    translated fragments: ``Message(N_("No such profile: {names}."), names="x")``. ``str()``
    gives the English text (logs, exceptions). A value that is itself a :class:`Message` is
    translated in the same language; a tuple is shown as a list, its messages translated.
    """

    __slots__ = ("text", "values")

    def __init__(self, text: str, /, **values: object) -> None:
        self.text = text
        self.values: Mapping[str, object] = values

    def __str__(self) -> str:
        return show("en", self)

    def __repr__(self) -> str:
        return f"Message({self.text!r}, **{dict(self.values)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Message) and (self.text, dict(self.values)) == \
            (other.text, dict(other.values))

    def __hash__(self) -> int:
        return hash(self.text)


#: A form's errors: field name -> a text marked with ``N_`` or a :class:`Message`.
FormErrors = dict[str, "str | Message"]


def _value(lang: str, value: object) -> object:
    if isinstance(value, Message):
        return show(lang, value)
    if isinstance(value, tuple):
        return ", ".join(str(_value(lang, v)) for v in value)
    return value


def show(lang: str | None, text: str | Message, /, **values: Any) -> str:
    """``text`` in ``lang``: a plain text (``{name}`` filled with ``values``) or a
    :class:`Message` with its own values. The result is plain text, so a template escapes
    it, values included."""
    if isinstance(text, Message):
        values = {**text.values, **values}
        text = text.text
    lang = lang or "en"
    return translate(lang, text, **{k: _value(lang, v) for k, v in values.items()})


#: Texts the admin shows from values rather than from literals in its code: day and role
#: names from the configuration and the database. Listed here so that the catalogue
#: extractor finds them (``tests/admin/test_i18n.py`` checks that the list is complete).
RUNTIME_TEXTS = (
    N_("mon"), N_("tue"), N_("wed"), N_("thu"), N_("fri"), N_("sat"), N_("sun"),
    N_("owner"), N_("parent"), N_("teacher"), N_("safeguarding"),
)

__all__ = ["FormErrors", "LANGUAGES", "Message", "N_", "RUNTIME_TEXTS", "show", "translate"]
