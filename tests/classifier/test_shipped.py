"""Acceptance checks on the shipped model in models/ (issue 6 "done when")."""

from __future__ import annotations

from pathlib import Path

import pytest

import classifier
from classifier.train import EVALDATA, read_lines
from policies.core import Profile, decide

from .conftest import REAL_DATA, REAL_PAGES

SHIPPED = classifier.DEFAULT_MODELS_DIR
pytestmark = pytest.mark.skipif(not (SHIPPED / "MANIFEST.json").exists(), reason="no shipped model")


@pytest.fixture(scope="module")
def clf() -> classifier.Classifier:
    return classifier.load()


@pytest.mark.skipif(not REAL_PAGES.exists(), reason="real pages not available")
def test_real_pages_allowed_for_age_15(clf: classifier.Classifier) -> None:
    pages = sorted(REAL_PAGES.glob("*.html"))
    assert len(pages) >= 60
    for p in pages:
        c = clf.classify(html=p.read_bytes(), headers={"Content-Type": "text/html"})
        assert max(c.scores.values()) < 0.5, (p.name, c.scores)
        assert not decide(Profile("teen", 15), c.to_evidence()).blocked


@pytest.mark.skipif(not REAL_DATA.exists(), reason="datasets not available")
def test_support_posts_rarely_blocked(clf: classifier.Classifier) -> None:
    from classifier.data import load_text
    from classifier.train import _blocked, score_text_rows

    rows = [r for r in load_text(REAL_DATA, cap=None) if r.kind == "support"]
    assert len(rows) > 1000
    scores = score_text_rows(clf, rows)
    rate = sum(_blocked(s, 15) for s in scores) / len(rows)
    assert rate < 0.05, rate


def test_weighted_terms_catch_sexual_text(clf: classifier.Classifier) -> None:
    texts = read_lines(EVALDATA / "sexual.txt")
    caught = sum(clf.classify(text=t).scores.get("sexual", 0) >= 0.5 for t in texts)
    assert caught / len(texts) >= 0.75
    safe = read_lines(EVALDATA / "sex_education.txt")
    assert all(clf.classify(text=t).scores.get("sexual", 0) < 0.5 for t in safe)


def test_explanations_name_words(clf: classifier.Classifier) -> None:
    c = clf.classify(text="I want to kill myself tonight, I have the pills ready and no reason to live")
    assert c.scores["self_harm"] >= 0.5
    assert c.features["self_harm"] and all(isinstance(f, str) for f in c.features["self_harm"])
    u = clf.classify_url("https://best-online-casino-bonus.example/")
    assert u.scores["gambling"] >= 0.5 and u.features["gambling"]


def test_model_size_under_budget() -> None:
    total = sum(p.stat().st_size for p in Path(SHIPPED).iterdir() if p.is_file())
    assert total < 25 * 1024 * 1024
