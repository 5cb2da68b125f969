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


def _rows(texts: list[str], source: str) -> list:
    return [r for t in texts if (r := _text_row(t, ("hate",), source)) is not None]


def test_the_label_audit_counts_verdicts_and_notices_rows_that_left_the_data(tmp_path) -> None:
    from classifier.card import label_audit, row_key

    rows = _rows(["first row that is long enough", "second row that is long enough"], "src")
    audit = tmp_path / "audit.tsv"
    audit.write_text("# comment\nsource\tkey\tverdict\tnote\n"
                     f"src\t{row_key(rows[0])}\thate\ta note\n"
                     f"src\t{row_key(rows[1])}\tneither\tanother\n"
                     "src\t0123456789ab\toffensive\tgone from the data\n"
                     "other\t0123456789ab\thate\tsource not loaded: not shown\n", encoding="utf-8")
    table = [ln for ln in label_audit(rows, audit) if ln.startswith("| src")]
    assert table == ["| src | 3 | 1 | 1 | 1 | 1 |"]
    assert not any(ln.startswith("| other") for ln in label_audit(rows, audit))


@pytest.mark.parametrize("bad", ["src\tshort\thate\tnote", "src\t0123456789ab\tmaybe\tnote",
                                 "src\t0123456789ab\thate"])
def test_a_malformed_audit_line_is_named(tmp_path, bad: str) -> None:
    from classifier.card import read_label_audit

    audit = tmp_path / "audit.tsv"
    audit.write_text(f"source\tkey\tverdict\tnote\n{bad}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="audit.tsv line 2"):
        read_label_audit(audit)


def test_the_shipped_audit_reads() -> None:
    from classifier.card import VERDICTS, read_label_audit

    audit = read_label_audit()
    assert len(audit) >= 40 and {v for _, _, v in audit} <= set(VERDICTS)
