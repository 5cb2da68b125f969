"""Training texts are read as their authors wrote them, whatever the upstream export did."""

from __future__ import annotations

import pytest

from classifier.data import _repair, _text_row


@pytest.mark.parametrize(("raw", "want"), [
    # UTF-8 read as Windows-1252 (HASOC's copy): apostrophes and emoji.
    ("The system hasnâ€™t collapsed, iâ€™m sure ðŸ¥´", "The system hasn’t collapsed, i’m sure 🥴"),
    # JSON escapes left as characters (MLMA): a quote, an emoji as a surrogate pair, a break.
    (r"we\u2019re both here \ud83d\ude02", "we’re both here 😂"),
    (r"first line\nsecond line", "first line\nsecond line"),
    # A lone surrogate cannot be a character: it becomes U+FFFD, not an exception.
    (r"broken \ud83d end", "broken \ufffd end"),
])
def test_mis_decoded_texts_are_repaired(raw: str, want: str) -> None:
    assert _repair(raw) == want


@pytest.mark.parametrize("text", [
    "plain ASCII text with nothing to fix",
    r"labelled as \retarded\ by the forms",  # a backslash that is no escape we know
    r"C:\Users\u12 and \x41 stay",  # too short for an escape, or another kind
    "știință și tehnologie în România",  # correct Romanian diacritics
    "Straße, Ärger, Übermut",  # correct German
    "naïve café — “quoted” … ok",
    "",
])
def test_correct_texts_are_left_alone(text: str) -> None:
    assert _repair(text) == text


def test_rows_carry_the_repaired_text_and_key() -> None:
    row = _text_row("iâ€™m going to the shop today, see you", ("offensive",), "hasoc")
    assert row is not None
    assert row.text == "i’m going to the shop today, see you"
    assert "â" not in row.group and "€" not in row.group
    assert _text_row(r"\u2019\u2019", (), "mlma") is None  # too short once decoded
