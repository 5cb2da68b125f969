"""Stance markers: the frame around harmful words, EN and RO."""

from __future__ import annotations

import pytest

from classifier.features import (describe_feature, normalize, stance2_tokens, stance_tokens,
                                 text2_features, text_features, tokens)


def marks(text: str) -> list[str]:
    return stance2_tokens(tokens(normalize(text)))


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


@pytest.mark.parametrize("text, want", [
    ("Jews deserve to die, every last one of them.", "~wishdeath"),
    ("Romii trebuie să moară toți.", "~wishdeath"),
    ("He needs a bullet between the eyes.", "~wishdeath"),
    ("We are coming for you and your family.", "~threat2p"),
    ("You will be shot the moment you show your face.", "~threat2p"),
    ("Keep talking and you'll be found dead in a ditch.", "~threat2p"),
    ("Your days are numbered.", "~threat2p"),
    ("You're next. Sleep with one eye open.", "~threat2p"),
    ("Tell the teacher and you will pay for it.", "~threat2p"),
    ("Venim după tine și familia ta.", "~threat2p"),
    ("Următorul ești tu.", "~threat2p"),
    ("Am hotărât, weekendul ăsta îmi iau viața.", "~intent1p"),
    ("I'm going to take my own life on Friday.", "~intent1p"),
])
def test_death_wishes_and_threats_are_marked(text: str, want: str) -> None:
    assert want in marks(text)


@pytest.mark.parametrize("text, absent", [
    ("You are next in line at the counter, please.", "~threat2p"),
    ("You're next to play, grab the dice.", "~threat2p"),
    ("You should be proud, the team deserves a rest.", "~wishdeath"),
    # a writer's own despair is self-harm talk, not a death wish for others
    ("Some days I feel I deserve to die.", "~wishdeath"),
    ("I'm so tired, maybe I should just die.", "~wishdeath"),
    ("We are coming home for the holidays.", "~threat2p"),
    ("He said he was tired and went home.", "~quote"),
])
def test_ordinary_phrases_with_threat_words_are_not_threats(text: str, absent: str) -> None:
    assert absent not in marks(text)


@pytest.mark.parametrize("text, present", [
    # quoted or reported hate: the harm is marked inside a "quote" frame
    ("The court heard that he shouted that jews are rats, police said.", "~quote&dehuman"),
    ("Posts saying refugees deserve to die were removed.", "~quote&wishdeath"),
    ("Cineva a scris că romii trebuie să moară. E rasism.", "~quote&wishdeath"),
    # a predicate that rejects what was said
    ("It is wrong to call muslims vermin.", "~counter&dehuman"),
    ("People who claim jews are rats are spreading hate.", "~counter&dehuman"),
    # help offered on a condition, and sport or games around a threat
    ("If you want to die, please call 116 123, you are not alone.", "~helpif"),
    ("Dacă vrei să mori, sună la 116 123.", "~helpif"),
    ("We are coming for you in the final, see you at the tennis tournament!", "~game&threat2p"),
    ("I will beat you at chess next time.", "~game&threat2p"),
])
def test_quotes_denunciations_help_and_sport_get_their_frame(text: str, present: str) -> None:
    assert present in marks(text)


def test_help_offer_needs_a_condition_aimed_at_the_reader() -> None:
    assert "~helpif" not in marks("Call me if the train is late.")
    assert "~helpif" not in marks("If it rains, we will talk inside.")


def test_new_markers_explain_themselves() -> None:
    assert "death" in describe_feature("w ~wishdeath")
    assert "help offered" in describe_feature("w ~helpif")
    assert "quoted" in describe_feature("w ~quote&dehuman")


def test_first_markers_stay_as_trained_and_extended_ones_add_to_them() -> None:
    """A model trained with the first markers ("text") keeps exactly them; "text2" models see
    the first markers plus the extended frames."""
    text = "The court heard that he shouted that jews deserve to die; we are coming for you."
    first = stance_tokens(tokens(normalize(text)))
    assert not any(m.startswith(("~quote", "~wishdeath", "~helpif")) for m in first)
    assert set(first) <= set(marks(text))
    assert "~quote&dehuman" in marks(text) and "~wishdeath" in marks(text)
    assert "w ~quote" in text2_features(text) and "w ~quote" not in text_features(text)
