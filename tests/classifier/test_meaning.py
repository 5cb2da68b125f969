"""The word-meaning model: per-word scores equal the head on mean word vectors, unseen words
score by their vectors, explanations name words, and the word table round-trips as plain arrays."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

import classifier
from classifier.meaning import WordMeaningModel, WordTable

# A toy table: "kill"-like words point one way, everyday words another; "slay" and "stab" are
# never in a training text, so only their vectors can tell the model anything about them.
WORDS = ["kill", "murder", "hurt", "slay", "stab", "cake", "garden", "music", "tea", "walk",
         "the", "and", "you", "will"]
HARM = {"kill", "murder", "hurt", "slay", "stab"}
FUNCTION = {"the", "and", "you", "will"}


@pytest.fixture(scope="module")
def table() -> WordTable:
    rng = np.random.default_rng(0)
    vecs = rng.normal(0, 0.3, (len(WORDS), 8)).astype(np.float32)
    for i, w in enumerate(WORDS):
        vecs[i, 0] += 2.0 if w in HARM else (0.0 if w in FUNCTION else -2.0)
    weights = np.array([0.1 if w in FUNCTION else 1.0 for w in WORDS], dtype=np.float32)
    return WordTable(WORDS, vecs, weights, {"encoder": "toy"})


def _data(rng: np.random.Generator, n: int) -> tuple[list[str], np.ndarray]:
    seen_harm = ["kill", "murder", "hurt"]
    safe = ["cake", "garden", "music", "tea", "walk"]
    texts, y = [], []
    for i in range(n):
        bad = i % 2 == 0
        pool = seen_harm if bad else safe
        words = list(rng.choice(pool, 3)) + list(rng.choice(sorted(FUNCTION), 3))
        rng.shuffle(words)
        texts.append(" ".join(words))
        y.append(int(bad))
    return texts, np.array(y).reshape(-1, 1)


@pytest.fixture(scope="module")
def model(table: WordTable) -> WordMeaningModel:
    rng = np.random.default_rng(1)
    X, Y = _data(rng, 200)
    Xc, Yc = _data(rng, 60)
    return WordMeaningModel(("violence",)).fit(table, X, Y, Xc, Yc)


def test_per_word_scores_equal_the_head_on_the_mean_vector(table: WordTable,
                                                            model: WordMeaningModel) -> None:
    text = "you will walk the garden and kill"
    p, idx, w = model.decision(text.split())
    d = table.doc_vectors([text])[0]
    # The same decision value computed the long way: per-word scores are vectors times head.
    coef = np.linalg.lstsq(table.vectors.astype(np.float64), model.scores_[:, 0], rcond=None)[0]
    z = float(d @ coef + model.intercept_[0])
    a, b = model.platt_[0]
    assert p[0] == pytest.approx(1 / (1 + np.exp(-(a * z + b))), abs=1e-4)
    assert np.isclose(w.sum(), 1.0)


def test_words_never_seen_in_training_score_by_meaning(model: WordMeaningModel) -> None:
    unseen_harm = model.decision(["slay", "stab", "the", "you"])[0][0]
    safe = model.decision(["tea", "cake", "the", "you"])[0][0]
    assert unseen_harm > 0.5 > safe


def test_explanations_name_the_contributing_words(model: WordMeaningModel) -> None:
    words = ["the", "garden", "stab", "tea"]
    p, idx, w = model.decision(words)
    names = model.explain(0, idx, w)
    assert names and names[0] == "word 'stab' (by meaning)"
    assert not any("garden" in n or "tea" in n for n in names)


def test_text_without_known_words_scores_the_intercept_alone(model: WordMeaningModel) -> None:
    p, idx, w = model.decision(["zzz", "qqq"])
    assert len(idx) == 0 and 0.0 <= p[0] <= 1.0
    assert model.explain(0, idx, w) == ()


def test_pickle_round_trip_keeps_scores(model: WordMeaningModel) -> None:
    m2 = pickle.loads(pickle.dumps(model))
    words = ["you", "will", "stab", "garden"]
    assert m2.decision(words)[0] == model.decision(words)[0]


def test_word_table_saves_and_loads_without_pickles(table: WordTable, tmp_path: Path) -> None:
    p = tmp_path / "word_vectors.npz"
    table.save(p)
    t2 = WordTable.load(p)
    assert t2.words == table.words and t2.meta["encoder"] == "toy"
    assert np.allclose(t2.vectors, table.vectors, atol=2e-3)  # stored as float16
    with np.load(p, allow_pickle=False) as z:
        assert all(z[k].dtype != object for k in z.files)


def test_word_table_of_another_format_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "word_vectors.npz"
    np.savez(p, format=np.int32(99), words=np.array(["a"]), vectors=np.zeros((1, 2)),
             weights=np.ones(1), encoder=np.array("x"))
    with pytest.raises(ValueError, match="format 99"):
        WordTable.load(p)


def test_a_category_without_positives_is_a_clear_error(table: WordTable) -> None:
    with pytest.raises(ValueError, match="positive and negative"):
        WordMeaningModel(("violence",)).fit(table, ["tea cake"] * 4, np.zeros((4, 1), int),
                                            ["tea"], np.zeros((1, 1), int))


def test_classifier_names_the_word_meaning_model(model: WordMeaningModel) -> None:
    clf = classifier.Classifier(None, None, None, meaning=model)
    c = clf.classify(text="you will stab and slay the music")
    assert c.scores["violence"] >= 0.5
    assert c.sources["violence"] == classifier.MEANING_DETAIL
    assert "word 'stab' (by meaning)" in c.features["violence"]


# -- the shipped model ---------------------------------------------------------------------

SHIPPED = classifier.DEFAULT_MODELS_DIR

#: French is never trained on (MLMA-FR is evaluation only) and German only from two tweet
#: collections: insults and threats against harmless sentences with the same grammar.
UNSEEN_LANGUAGE_PAIRS = [
    ("offensive", "Ferme ta gueule, espèce de connard, t'es qu'un pauvre débile.",
     "Ferme la fenêtre, s'il te plaît, il fait un peu froid ce soir."),
    ("offensive", "T'es une grosse salope et un déchet, personne ne veut de toi.",
     "Tu es une grande sœur formidable et tout le monde t'aime bien."),
    ("offensive", "Du bist ein widerlicher Idiot, halt endlich die Fresse, du Versager.",
     "Du bist ein wunderbarer Freund, danke für die schöne Zeit im Garten."),
    ("violence", "Je vais te tuer, je vais te poignarder et tu vas saigner.",
     "Je vais te voir demain, on va cuisiner et tu vas adorer."),
]


@pytest.mark.skipif(not (SHIPPED / "meaning_model.joblib").exists(), reason="no shipped model")
@pytest.mark.parametrize("category, harmful, harmless", UNSEEN_LANGUAGE_PAIRS)
def test_shipped_meaning_model_ranks_insults_in_unseen_languages_above_look_alikes(
        category: str, harmful: str, harmless: str) -> None:
    from classifier.features import normalize, tokens

    mm = classifier.load().meaning
    j = mm.categories.index(category)
    bad = mm.decision(tokens(normalize(harmful)))
    ok = mm.decision(tokens(normalize(harmless)))
    assert bad[0][j] > ok[0][j], (bad[0][j], ok[0][j])
    assert mm.explain(j, bad[1], bad[2]), "a score must name the words behind it"
