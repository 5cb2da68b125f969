"""Stance markers: the frame around harmful words, EN and RO."""

from __future__ import annotations

import pytest

from classifier.features import describe_feature, normalize, stance_tokens, text_features, tokens


def marks(text: str) -> list[str]:
    return stance_tokens(tokens(normalize(text)))


@pytest.mark.parametrize("text, want", [
    ("I will find you tonight and I'm going to hurt you", "~threat2p"),
    ("you will die tomorrow", "~threat2p"),
    ("O să te bat mâine după școală", "~threat2p"),
    ("I want to die, I will end it tonight", "~intent1p"),
    ("Vreau să mor", "~intent1p"),
    ("going to kill myself", "~intent1p"),
    ("the most painless way to kill yourself", "~instruct"),
    ("Jews are rats", "~dehuman"),
])
def test_harmful_frames_are_marked(text: str, want: str) -> None:
    assert want in marks(text)


@pytest.mark.parametrize("text, absent, present", [
    ("If you want to die, please call a helpline", "~intent1p", None),
    ("I killed you in the game, gg", "~threat2p", "~game&violent"),
    ("Police said the man was stabbed", "~threat2p", "~report&violent"),
    ("Saying jews are rats is antisemitism", None, "~counter&dehuman"),
    ("I do not hate anyone", None, "~not_hate"),
])
def test_look_alikes_get_their_frame(text: str, absent: str | None, present: str | None) -> None:
    m = marks(text)
    if absent:
        assert absent not in m
    if present:
        assert present in m


def test_ordinary_text_has_no_markers_and_markers_are_features() -> None:
    assert marks("The library opens at nine and closes at five on weekdays.") == []
    feats = text_features("I will stab you after school")
    assert "w ~threat2p" in feats
    assert "threat" in describe_feature("w ~threat2p")
    assert describe_feature("w ~not_kill") == "'not ... kill' (negated)"


def test_markers_never_collide_with_words() -> None:
    """Normalised text has no "~": a page cannot spell a marker."""
    assert "~" not in normalize("~threat2p ~~ ~not_kill")
    assert "~threat2p" not in marks("~threat2p")
