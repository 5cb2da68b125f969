"""Term files: checked with file:line errors, every shipped term can match, age gates count."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifier.features import normalize, tokens
from classifier.terms import TERMS_DIR, TermList, TermScorer
from policies.config import ConfigError

GOOD = """category: sexual
threshold: 4
terms:
  porn*: 3
  18+: 2
  Fete Goale: 3
negative:
  sex education: -4
rules:
  - all: [18+, Video*]
    weight: 1
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "t.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_terms_rules_and_phrases_are_normalised_like_the_text(tmp_path: Path) -> None:
    tl = TermList.from_yaml(write(tmp_path, GOOD))
    assert tl.exact == {"18plus": 2.0, "fete goale": 3.0, "sex education": -4.0}
    assert tl.stems == {"porn": 3.0}
    assert tl.rules == [(("18plus", "video*"), 1.0)]
    scorer = TermScorer({"sexual": tl})
    _p, raw, feats = scorer.score("Only 18+ VIDEOS here, fete goale")["sexual"]
    assert raw == pytest.approx(2 + 3 + 1) and "term '18plus'" in feats
    assert scorer.score("c++ and 2+2 and call +18 555")["sexual"][1] == 0


@pytest.mark.parametrize("text, where, message", [
    ("category: sexual\nterms:\n  porn: 2\n  porn: 3\n", ":4", "duplicate key"),
    ("category: nudity\n", ":1", "not a kidgate category"),
    ("category: sexual\nterms:\n  porn: lots\n", ":3", "expected a number"),
    ("category: sexual\nterms:\n  porn: .nan\n", ":3", "expected a number"),
    ("category: sexual\nterms:\n  porn: -2\n", ":3", "must be positive"),
    ("category: sexual\nnegative:\n  health: 2\n", ":3", "must be negative"),
    ("category: sexual\nterms:\n  '+++': 2\n", ":3", "no letters or digits"),
    ("category: sexual\nterms: [porn]\n", ":2", "expected a mapping"),
    ("category: sexual\nrules:\n  - all: porn\n    weight: 2\n", ":3", "expected {all"),
    ("category: sexual\nrules:\n  - all: [porn, '!!']\n    weight: 2\n", ":3", "no letters"),
    ("category: sexual\nweights: {}\n", ":2", "unknown key"),
    ("- a\n- b\n", "", "expected a mapping"),
    ("category: sexual\nterms: {a: [\n", "", "not valid YAML"),
])
def test_bad_term_files_say_where(tmp_path: Path, text: str, where: str, message: str) -> None:
    p = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as e:
        TermList.from_yaml(p)
    assert str(e.value).startswith(str(p) + where)


def test_every_shipped_term_can_match_its_own_text() -> None:
    """A term the matcher can never see (as "18+" once was) is a silent hole in a list."""
    scorer = TermScorer.from_dir(TERMS_DIR)
    for cat, tl in scorer.lists.items():
        for term in tl.exact:
            found, _ = scorer.hits(term, tokens(normalize(term)))
            assert found[term] >= 1, (cat, term)
        for stem in tl.stems:
            text = stem + "ing"
            _, stem_found = scorer.hits(text, tokens(normalize(text)))
            assert stem_found[stem] >= 1, (cat, stem)


def test_rule_alternatives_match_any_and_explain_the_one_found(tmp_path: Path) -> None:
    tl = TermList.from_yaml(write(tmp_path, """category: hate
terms:
  jews: 0
  roma: 0
negative:
  racism: -4
rules:
  - all: ["Jews|Roma", "rats|vermin*|Șobolani"]
    weight: 6
"""))
    assert tl.rules == [(("jews|roma", "rats|vermin*|sobolani"), 6.0)]
    scorer = TermScorer({"hate": tl})
    _p, raw, feats = scorer.score("Roma are vermins")["hate"]
    assert raw == 6 and feats == ("term 'roma+vermin*'",)
    assert scorer.score("romii sunt șobolani")["hate"][1] == 0  # "romii" is not "roma"
    assert scorer.score("Calling Roma vermin is racism")["hate"][1] == 2
    with pytest.raises(ConfigError, match="no letters"):
        TermList.from_yaml(write(tmp_path, "category: hate\nrules:\n  - all: ['jews|!!']\n    weight: 2\n"))
