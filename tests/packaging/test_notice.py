"""NOTICE names every licence that the model card and the lists' attribution name."""

from __future__ import annotations

import pytest

from kidgate import notice


def test_notice_is_generated_from_the_model_card_and_list_attribution() -> None:
    text = (notice.ROOT / "NOTICE").read_text(encoding="utf-8")
    assert text == notice.current(), "NOTICE is stale: python -m kidgate.notice > NOTICE"


def test_every_source_in_the_card_and_attribution_is_in_the_notice() -> None:
    card = notice.table_rows(notice.MODEL_CARD.read_text(encoding="utf-8"), "## Sources")
    lists = notice.table_rows(notice.LIST_ATTRIBUTION.read_text(encoding="utf-8"))
    text = notice.current()
    assert card and lists
    for row in [*card, *lists]:
        assert row[0].replace("`", "") in text


def test_a_card_without_a_sources_table_is_an_error() -> None:
    with pytest.raises(ValueError, match="Sources"):
        notice.render("# card\n\nno table here\n", "| a | b | c |\n|---|---|---|\n| x | y | z |\n")
