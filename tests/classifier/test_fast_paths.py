"""The fast inference paths give the same results as the plain definitions they replace.

Normalisation, tokens, the page-text vector, the weighted-term matcher and parts of extraction
were rewritten for speed (bytes tables, numpy, set intersections, fewer regex passes); the
reference versions below are the original straightforward code, kept here so that any drift
between the two is caught.
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import classifier
from classifier import features as F
from classifier.linear import ANALYZERS
from classifier.terms import TermScorer, _present

from .conftest import REAL_PAGES

_REPEAT = re.compile(r"(\w)\1{2,}")
_NONWORD = re.compile(r"[^\w']+")

TEXTS = [
    "", " ", "a", "Hello, World!", "I’m SOOOO tired... ‘really’ “tired”", "e-mail: kid@example.com $$$",
    "Şcoală, ţară, ăîâ ȘȚĂÎÂ ș ț", "ﬁne ² ℌello ＡＢＣ＠＄", "Привет, мир!!! ааааа", "中文字符 ツツツ",
    "free porn xxx videos, hot sex cams; horny girls live", "sex education and consent at school",
    "cazinou online: rotiri gratuite, bonus fara depunere", "I want to kill myself tonight",
    "a_b__c ___ 'quoted' '''", "wwwwww.example.com loooool", "x\u0301y\u0327z\u20d0", "\x00\x1f\u2028\u00a0",
    "fete goale si filme porno", "buy weed and cocaine, smoke a blunt", "aa meeting for recovery",
]


def ref_normalize(text: str) -> str:
    t = F._AGE_PLUS.sub(r" \1plus ", text.lower()).translate(F._FOLD)
    if not t.isascii():
        t = F._COMBINING.sub("", unicodedata.normalize("NFKD", t))
    t = _REPEAT.sub(r"\1\1", t)
    return _NONWORD.sub(" ", t).strip()


def _random_texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    pool = ["18+", "+", "21 +", "c++"] + list("aAbBzZ09_'@$ \t\n-.,!?ăâîșşțţĂÂÎȘŞȚŢ’‘“”éÉßæœøØ\u0301\u0327ﬁ²ℌＡ＠\u00a0ПривітツÆ") + [
        "aaa", "XXXX", "ééé", "__", "''", "\ud800"]
    out = []
    for _ in range(n):
        out.append("".join(rng.choice(pool) for _ in range(rng.randrange(0, 25))))
        out.append("".join(chr(rng.randrange(0, 0x3000)) for _ in range(rng.randrange(0, 8))))
    return out


def _corpus(n_random: int) -> list[str]:
    texts = TEXTS + _random_texts(n_random)
    if REAL_PAGES.exists():
        from classifier.extract import extract

        texts += [extract(p.read_bytes(), content_type="text/html").text
                  for p in sorted(REAL_PAGES.glob("*.html"))[:20]]
    return texts


CORPUS = _corpus(3000)
SAMPLE = _corpus(150)  # for the slower model checks


def test_normalize_and_tokens_match_the_regex_definitions() -> None:
    for t in CORPUS:
        norm = F.normalize(t)
        assert norm == ref_normalize(t), t
        assert F.tokens(norm) == F.TOKEN.findall(norm), norm


def _models(tiny_models: Path) -> list[classifier.Classifier]:
    out = [classifier.load(tiny_models)]
    if (classifier.DEFAULT_MODELS_DIR / "MANIFEST.json").exists():
        out.append(classifier.load())
    return out


def test_text_vector_matches_string_features(tiny_models: Path) -> None:
    for clf in _models(tiny_models):
        tm = clf.text_model
        for t in SAMPLE:
            norm = F.normalize(t)
            ia, va = tm.text_vector(norm)
            ib, vb = tm._vector(ANALYZERS[tm.analyzer](norm, normalized=True))
            assert np.array_equal(ia, ib), t
            assert np.allclose(va, vb, atol=1e-6), t
            words = F.tokens(norm) if len(norm) <= F.MODEL_CHARS else None
            ic, _ = tm.text_vector(norm, words)
            assert np.array_equal(ia, ic)
            assert np.allclose(tm.decision_vector(ia, va), tm.predict_proba([t])[0], atol=1e-5)


def _ref_vector(model, feats: list[str]) -> tuple[np.ndarray, np.ndarray]:
    counts = Counter(feats)
    idx = np.array([model.vocabulary_.get(f, -1) for f in counts], dtype=np.intp)
    cnt = np.array(list(counts.values()), dtype=np.float32)
    keep = idx >= 0
    order = np.argsort(idx[keep])
    ia = idx[keep][order]
    va = ((1.0 + np.log(cnt[keep])) * model.idf_[idx[keep]])[order]
    n = float(np.sqrt(va @ va))
    return ia, va / n if n else va


def test_generic_vector_matches_counter_definition(tiny_models: Path) -> None:
    for clf in _models(tiny_models):
        for model, docs in ((clf.text_model, SAMPLE),
                            (clf.url_model, ["http://casino-best77.com/slots?x=1", "example.org",
                                             "https://www.xn--80axidybz2ag.xn--p1ai/a/b"])):
            for d in docs:
                feats = model.features(d)
                ia, va = model._vector(feats)
                ib, vb = _ref_vector(model, feats)
                assert np.array_equal(ia, ib) and np.allclose(va, vb, atol=1e-6)


def _ref_ngrams(toks: list[str], longest: int = 8) -> Counter[str]:
    """Every word n-gram of the tokens, up to ``longest`` words."""
    return Counter(" ".join(toks[i:i + k]) for k in range(1, longest + 1)
                   for i in range(len(toks) - k + 1))


def ref_term_raw(scorer: TermScorer, text: str) -> dict[str, float]:
    """The definition: every word n-gram of the text, intersected with each list."""
    norm = ref_normalize(text)
    grams = _ref_ngrams(F.TOKEN.findall(norm))
    stems_all = {s for tl in scorer.lists.values() for s in tl.stems}
    lengths = sorted({len(s) for s in stems_all})
    stem_hits: Counter[str] = Counter()
    for tok, n in grams.items():
        if " " in tok:
            # A multi-word stem: the words before its last match whole, the last as a prefix.
            head, _, tail = tok.rpartition(" ")
            for stem in stems_all:
                if " " in stem and stem.rpartition(" ")[0] == head and \
                        tail.startswith(stem.rpartition(" ")[2]):
                    stem_hits[stem] += n
            continue
        for k in lengths:
            if k > len(tok):
                break
            if tok[:k] in stems_all:
                stem_hits[tok[:k]] += n
    out = {}
    for cat, tl in scorer.lists.items():
        found = Counter({g: grams[g] for g in grams.keys() & tl.exact.keys()})
        for stem in stem_hits.keys() & tl.stems.keys():
            found[stem + "*"] = stem_hits[stem]
        contrib = []
        for term, count in found.items():
            w = tl.stems[term[:-1]] if term.endswith("*") else tl.exact[term]
            contrib.append(w * (1.0 + 0.3 * math.log(count)) if w > 0 else w)
        if found and tl.rules:
            padded = " " + norm + " "
            contrib += [w for terms, w in tl.rules if all(_present(t, padded) for t in terms)]
        out[cat] = sum(sorted(contrib, reverse=True))
    return out


def test_term_matcher_matches_ngram_definition(tiny_models: Path) -> None:
    from classifier.train import EVALDATA, read_lines

    texts = SAMPLE + [ln for name in ("sexual.txt", "sex_education.txt", "gambling.txt")
                      for ln in read_lines(EVALDATA / name)]
    # Repeated terms and phrases: counts matter (log-scaled weights).
    texts += ["porn porn porn free porn hot sex hot sex cams " * 3, "sex " * 50 + "sex education"]
    # Real pages and odd text; stems in upper case, with "_" and diacritics (not plain words).
    texts += _page_texts() + ["Casinos CASINO casino_bonus cazinouri cazinoul bonusuri Pariuri",
                              "pariuri sportive, cazinou online şi păcănele " * 5, "porn_hub pornhub porno"]
    for clf in _models(tiny_models):
        scorer = clf.terms
        for t in texts:
            got = scorer.score(t)
            ref = ref_term_raw(scorer, t)
            for cat, (p, raw, feats) in got.items():
                assert raw == pytest.approx(ref[cat], abs=1e-9), (t, cat)
                assert p == pytest.approx(scorer.lists[cat].proba(ref[cat]))
                assert all(f.startswith("term '") for f in feats)


def test_rule_presence_matches_substring_definition(tiny_models: Path) -> None:
    """The scorer's shared presence test answers every rule term as ``_present`` does, also
    for text that is not single-spaced (the whole-word shortcut needs no normalised input)."""
    odd = ["", " ", "  porn  free ", "free\tporn", "free  porn", "porn", " free porn ",
           "mai tare mai tare", "fuck harder", "fuckers harder deeper"]
    for clf in _models(tiny_models):
        scorer = clf.terms
        terms = {t for tl in scorer.lists.values() for rule, _w in tl.rules for t in rule}
        terms |= {"", "*", "a|", "|b", "x y|z*"}  # odd spellings take the plain path
        assert terms
        hits = 0
        odd += ["o sa te omor", "voi o sa te bat", "o sa", "o  sa te omor", "i will kill you o",
                "free porn o", "O sa te omor", "o_sa te omor"]
        for text in SAMPLE + odd + _page_texts():
            for norm in (F.normalize(text), text):
                padded = " " + norm + " "
                # Without the tokens, and with their set (used where the tokens are the
                # text's words of two or more characters).
                for present in (scorer.presence(norm), scorer.presence(norm, set(F.tokens(norm)))):
                    for term in sorted(terms):
                        expected = _present(term, padded)
                        assert present(term) == expected, (term, norm[:80])
                        assert present(term) == expected  # answered again from its memo
                        hits += expected
        assert hits  # the texts do contain rule terms


def test_features_are_lazy_but_complete(tiny_models: Path) -> None:
    clf = classifier.load(tiny_models, cache_size=0)
    c = clf.classify(text="i am going to kill myself, no reason to live 7",
                     url="http://casinobest77.com/")
    assert all(callable(v) or isinstance(v, tuple) for v in c._features.values())
    feats = c.features
    assert feats["self_harm"] and all(isinstance(v, tuple) for v in feats.values())
    assert c.features is feats  # computed once
    assert c == clf.classify(text="i am going to kill myself, no reason to live 7",
                             url="http://casinobest77.com/")
    with pytest.raises(AttributeError):
        c.scores = {}  # type: ignore[misc]
    assert c.to_dict()["features"]["self_harm"]


def test_text_index_sorted_key_fallback_matches_tables(tiny_models: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from classifier import linear

    for clf in _models(tiny_models):
        tables = clf.text_model._text_index()
        monkeypatch.setattr(linear, "_MAX_PREFIXES", 0)
        fallback = linear._TextIndex(clf.text_model.feature_names_)
        monkeypatch.undo()
        assert tables.keys is None and fallback.keys is not None
        for t in SAMPLE:
            s = " " + F.normalize(t)[: F.MODEL_CHARS] + " "
            words = F.tokens(s.strip())
            assert np.array_equal(np.sort(tables.lookup(s, words)), np.sort(fallback.lookup(s, words)))


def _ref_windows(norm: str) -> list[str]:
    """The definition of the page-text windows: up to TEXT_WINDOWS pieces of at most
    MODEL_CHARS characters, each ended at its last space; a short last piece is not scored."""
    out: list[str] = []
    rest = norm
    while rest and len(out) < classifier.TEXT_WINDOWS:
        if len(rest) <= F.MODEL_CHARS:
            piece, rest = rest, ""
        else:
            cut = rest.rfind(" ", 0, F.MODEL_CHARS)
            cut = cut if cut > 0 else F.MODEL_CHARS
            piece, rest = rest[:cut], rest[cut:].removeprefix(" ")
        if out and len(piece) < classifier.MIN_WINDOW:
            break
        out.append(piece)
    return out


def test_windows_scored_together_match_one_by_one(tiny_models: Path) -> None:
    """The page's windows scored in one pass give each window's ``text_decision``: the same
    indices, values and probabilities (not merely close: the same arithmetic per window)."""
    texts = [x for x in CORPUS if x.strip()] + ["word " * 199 + "abcdefgh " * 10, "x" * 999 + " yy zz",
                                                "a_b " * 400, "zzzz qqqq " * 300, "ab"]
    for clf in _models(tiny_models):
        tm = clf.text_model
        checked = 0
        for t in texts:
            norm = F.normalize(t)
            spans = classifier._windows(norm)
            cases = [spans]
            if len(norm) > 12:  # spans that do not start and end at spaces: one by one
                cases.append([(0, 5), (5, len(norm) // 2), (len(norm) // 2 + 1, len(norm))])
            if len(spans) > 1:  # out of order or overlapping: one by one too
                cases += [spans[::-1], [spans[0], spans[0]]]
            for sp in cases:
                words = [F.tokens(norm[a:b]) for a, b in sp]
                got = tm.windows_decision(norm, sp, words)
                assert len(got) == len(sp)
                for (a, b), w, (p, ia, va) in zip(sp, words, got):
                    rp, ria, rva = tm.text_decision(norm[a:b], w)
                    assert np.array_equal(ia, ria), t[:60]
                    assert np.array_equal(va, rva), t[:60]
                    assert p == pytest.approx(rp, abs=1e-12), t[:60]
                    checked += 1
        assert checked > len(texts)
        assert tm.windows_decision("", [], []) == []


def test_counts_is_unique_with_counts() -> None:
    from classifier.linear import _counts

    rng = np.random.default_rng(0)
    for keys in [np.zeros(0, np.int32), np.array([5], np.int64), rng.integers(0, 50, 1000),
                 rng.integers(0, 1 << 20, 3000).astype(np.int32)]:
        u, c = _counts(keys)
        ru, rc = np.unique(keys, return_counts=True)
        assert np.array_equal(u, ru) and np.array_equal(c, rc)


def test_long_text_is_tokenised_once_for_both_models(tiny_models: Path) -> None:
    """The page-text model keeps its strongest window per category; the terms read the
    tokens of the whole text."""
    for clf in _models(tiny_models):
        text_only = classifier.Classifier(clf.text_model, None, None)
        terms_only = classifier.Classifier(None, None, clf.terms)
        for t in [x for x in SAMPLE if len(F.normalize(x)) > F.MODEL_CHARS] + [
                "word " * 199 + "abcdefgh " * 10, "x" * 999 + " yy zz", "a_b " * 400,
                "calm words " * 150 + "i want to end my life tonight " * 20,
                # A word longer than a window is cut in two tokens: the rules read the text.
                "o sa te omor " + "xy" * 600 + " buy weed free porn", "xy" * 1250 + " o sa te omor",
                "yz" * 503 + " buy weed o sa te omor " * 30, "buy " + "zy" * 500 + "weed"]:
            scores: dict[str, float] = {}
            text_only._add_text(t, scores, {}, {})
            wins = _ref_windows(F.normalize(t))
            analyze = ANALYZERS[clf.text_model.analyzer]
            ref = np.max([clf.text_model.decision(analyze(w, normalized=True))[0]
                          for w in wins], axis=0)
            assert np.allclose([scores[c] for c in clf.text_model.categories], ref, atol=1e-5), t[:60]
            scores = {}
            terms_only._add_text(t, scores, {}, {})
            # The terms read the windows' tokens and the rest's: the text's tokens, except that
            # a word longer than a window is cut in two where the window ends.
            norm = F.normalize(t)
            spans = classifier._windows(norm)
            toks = [x for a, b in spans for x in F.tokens(norm[a:b])] + F.tokens(norm[spans[-1][1]:])
            if toks == F.tokens(norm):
                assert scores == {c: p for c, (p, _r, _f) in clf.terms.score(t).items()}
            assert scores == {c: p for c, (p, _r, _f) in
                              clf.terms.score(norm, normalized=True, toks=toks).items()}, t[:60]


# The plain spellings of patterns that extract.py spells for speed.
PLAIN_TAG = re.compile(r"<[^<>]*>")
PLAIN_META = re.compile(r"<meta\s[^<>]{0,2000}>", re.I)
PLAIN_BLOCK_OPEN = re.compile("<(?:(script)|(style)|(!--)|(noscript)|(svg)|(template))", re.I)

#: Markup pieces for random documents; the second pool makes them non-ASCII (wider str kinds).
TAG_ATOMS = ["<", ">", "<p>", "</p>", "<b >", "word ", "  ", "\n", "&amp;", "< x", "<img alt='a'>",
             "text " * 5, "<a href='x'>link</a>", "<<", ">>", "<a <b>", "x" * 700]
WIDE_ATOMS = ["é", "ț", "中", "\U0001f600", "\u017f", "\u0130"]


def _docs(rng: random.Random, atoms: list[str], n: int, longest: int) -> list[str]:
    pools = (atoms, atoms + WIDE_ATOMS)
    return ["".join(rng.choice(pools[i % 2]) for _ in range(rng.randrange(0, longest))) for i in range(n)]


def test_tag_text_is_tag_removal_cut_short() -> None:
    from classifier import extract as E

    rng = random.Random(3)
    for v in _docs(rng, TAG_ATOMS, 3000, 600):
        need = rng.randrange(0, 4000)
        want = " ".join(E._OPEN_TAG.sub(" ", PLAIN_TAG.sub(" ", v)).split())[:need]
        assert E._tag_text(v, need) == want


#: Odd and hostile markup (str): empty, no <body>, unclosed tags, comments and scripts, entities
#: huge and bogus, NUL bytes, stray angle brackets, a 1 MB single-line page, wide characters.
HOSTILE_HTML = [
    "", " ", "<", ">", "<>", "<body>", "<html><head><title>Casino</title></head><p>free spins</p>",
    "<html><body><p>hello</p><!-- " + "x" * 5000, "<body><p>hi</p><script>var a='<p>s</p>';" + "y" * 3000,
    "<body><p>before <a href='" + "z" * 10000, "<body>" + "a < b > c " * 3000, "a>b" * 5000,
    "<body><p>" + "&amp;&lt;&#x41;&nbsp;&eacute;&#128512;&bogus; " * 2000 + "</p>",
    "<body><p>&" + "a" * 100000 + ";</p>", "<body>" + "&#0;&#x110000;&#55296;&#9;&#133;" * 500,
    "<body>\x00\x00<p>nul\x00bytes\x00 here</p>" + "\x00" * 2000,
    "<html><head><title>one line</title></head><body>" + ("<div class=a>word sex drugs</div>" * 32000)[:1 << 20],
    "word " * 210000, "<body>" + "\u4e2d\u6587 \u30c4\u30c4 \U0001f600 " * 3000,
    "<div>" * 50000 + "deep" + "</div>" * 50000, "<body>" + "<h1>t <img alt='x y'> </h1><img alt='p'>" * 300,
    "<body>\r\n\t<p>tabs\tand\r\nlines\u2028sep\u00a0nbsp</p>" * 500,
    "<body>" + "w" * 3000 + ">" + "v" * 3000 + "<b>" + "u" * 3000,  # a word runs on across a stray ">"
    "<body>" + ("text " * 200 + "x>y ") * 40, "<body>" + "<p>" + "\u00a0" * 5000 + "</p>words",
]


def _page_texts() -> list[str]:
    """Extracted text of the 60 real pages, HOSTILE_HTML as text and as extracted, and texts
    with few or many distinct non-ASCII characters (marks, symbols, surrogates)."""
    from classifier.extract import extract

    texts = list(HOSTILE_HTML) + [extract(h, content_type="text/html").text for h in HOSTILE_HTML]
    texts += [extract(p.read_bytes(), content_type="text/html").text for p in sorted(REAL_PAGES.glob("*.html"))]
    wide = "".join(chr(c) for c in range(0x80, 0x3000, 7))  # hundreds of distinct characters
    texts += ["Ş\u0327a\u0301\u20d0b \u2014\u2013\u00a0\u201c\u201d x" * k for k in (1, 30, 300)]
    texts += [wide, wide[:40] + " ascii words", "\ud800\udfff a\ud800b", "é" * 2000, "—" * 600 + "a",
              "x\u0301" * 33 + "".join(chr(0x2010 + i) for i in range(33))]
    return texts


def test_normalize_on_real_and_hostile_text() -> None:
    texts = _page_texts()
    assert len(texts) > 100
    for t in texts:
        norm = F.normalize(t)
        assert norm == ref_normalize(t), t[:80]
        assert F.tokens(norm) == F.TOKEN.findall(norm)


def _visible_texts() -> list[str]:
    """Block-free markup of the real pages' body windows and of HOSTILE_HTML."""
    from classifier import extract as E

    docs = list(HOSTILE_HTML)
    for path in sorted(REAL_PAGES.glob("*.html")):
        view = E.read_body(path.read_bytes(), content_type="text/html")
        docs.append(E.decode(b"".join(view.parts), "text/html")[0])
    return [E._strip_blocks(d, limit=18000)[0] for d in docs]


def test_tag_text_on_real_and_hostile_pages() -> None:
    from classifier import extract as E

    visible = _visible_texts()
    assert len(visible) > 60
    for v in visible:
        plain = " ".join(E._OPEN_TAG.sub(" ", PLAIN_TAG.sub(" ", v)).split())
        for need in (0, 1, 100, 1024, 3391, 20000):
            assert E._tag_text(v, need) == plain[:need], (v[:80], need)


def test_body_text_cleaned_as_any_text() -> None:
    """``_clean_words`` of what ``_body_text`` makes is ``_clean`` of it."""
    from classifier import extract as E

    rng = random.Random(8)
    visible = _visible_texts() + [E._strip_blocks(d)[0] for d in _docs(rng, TAG_ATOMS + ["&amp;", "&#32;"], 500, 400)]
    checked = 0
    for v in visible:
        for need in (0, 5, 300, 3391):
            body = E._body_text(v, v, len(v), need + need // 8 + 16, 18000, 36000)
            for limit in (0, 1, need, 3000):
                assert E._clean_words(body, limit) == E._clean(body, limit), (body[:80], limit)
                checked += 1
    assert checked > 1000


def test_tag_patterns_match_their_plain_spelling() -> None:
    from classifier import extract as E

    rng = random.Random(5)
    for v in _docs(rng, TAG_ATOMS, 3000, 300):
        assert [m.span() for m in E._TAG.finditer(v)] == [m.span() for m in PLAIN_TAG.finditer(v)], v
        assert E._strip_tags(v) == PLAIN_TAG.sub(" ", v), v
    meta_atoms = ["<meta a=b>", "<META name=x content=y>", "<meta\n>", "<meta", "<metax >", "<meta>",
                  ">", "<", " ", "c" * 1995, "<meta " + "d" * 1993, "<meta b='1'>", "\u212a"]
    edges = ["<meta " + "d" * k + end for k in range(1997, 2003) for end in (">", "<b>")]
    for h in edges + _docs(rng, meta_atoms, 2000, 40):
        assert [m.span() for m in E._META.finditer(h)] == [m.span() for m in PLAIN_META.finditer(h)], h
        n = rng.choice([64, 3, 1, 0])
        assert E._meta_tags(h, n) == [m.group() for _, m in zip(range(n), PLAIN_META.finditer(h))], h
    block_atoms = ["<script", "<SCRIPT", "<Style", "<!--", "<noscript", "<NoScr\u0130pt", "<svg", "<sVg",
                   "<template", "<\u017fcript", "<scr", "<st", "<s", "<n", "<t", "<!-", "<!", "x", "<"]
    for v in _docs(rng, block_atoms, 2000, 40):
        want = [(m.span(), m.lastindex) for m in PLAIN_BLOCK_OPEN.finditer(v)]
        assert [(m.span(), m.lastindex) for m in E._BLOCK_OPEN.finditer(v)] == want, v


def test_utf8_fast_path_decodes_as_the_whole() -> None:
    """When _strict_utf8 answers, decode() of head + body reads UTF-8, and the texts are
    what extract_view's general path makes of the two parts."""
    from classifier import extract as E

    rng = random.Random(6)
    heads = [b"", b"<html><head>", "<title>Știri</title>".encode(), b"\xef\xbb\xbf<p>", b"\xff\xfe<",
             b"<meta charset=utf-8>", b"<meta charset='latin-1'>", b"<meta charset=utf-16>",
             b"<meta charset=bogus>", b"\xc8", b"\xe9t\xe9", "ţ".encode() * 3, b"x" * 4093]
    bodies = [b"<body>", "<body>ăîș".encode(), b"<body>\xe9", b"<body>\xc8", b"<body>" + b"y" * 5000]
    types = [None, "text/html", "text/html; charset=utf-8", "text/html; charset=windows-1250",
             "text/html; charset=nope"]
    answered = 0
    for _ in range(3000):
        head = b"".join(rng.choice(heads) for _ in range(rng.randrange(0, 4)))
        body = b"".join(rng.choice(bodies) for _ in range(rng.randrange(1, 3)))
        ct = rng.choice(types)
        texts = E._strict_utf8(head, body, ct)
        if texts is not None:
            answered += 1
            assert E.decode(head + body, ct) == (texts[0] + texts[1], "utf-8")
            assert texts == (head.decode("utf-8", "replace"), body.decode("utf-8", "replace"))
    assert answered > 500


def test_str_body_reads_like_encoding_everything() -> None:
    from classifier.extract import MAX_BYTES, read_body, str_body

    head = "<html><head><title>t</title>" + "<script>" + "é" * 40_000 + "</script></head>"
    for doc in [head + "<body>" + "x" * 400_000, head + "<BODY>" + "ü" * 10, "<p>" + "ț" * 300_000,
                "a" * 120_000 + "<body>" + "b" * 200_000, "<body" + "ş" * 200_000, "\ud800<body>" * 30_000]:
        want = read_body(doc[:MAX_BYTES].encode("utf-8", "replace"), content_type="text/html")
        got = read_body(str_body(doc), content_type="text/html")
        assert (got.kind, got.parts) == (want.kind, want.parts)


def test_cache_key_is_what_extraction_reads(tiny_models: Path) -> None:
    clf = classifier.load(tiny_models, cache_size=16)
    from classifier.extract import MAX_CHARS

    # Past the markup window extraction reads (16 x MAX_CHARS bytes of one unbroken word).
    page = b"<html><head><title>casino</title></head><body><p>free spins</p>" + b"x" * (MAX_CHARS * 20)
    first = clf.classify(url="http://a.example/", html=page)
    # Beyond the window extraction reads: the same verdict, from the cache.
    assert clf.classify(url="http://a.example/", html=page + b"<p>more</p>") is first
    assert clf.classify(url="http://a.example/", html=page.replace(b"spins", b"spinz")) is not first
    cp = clf.classify(url="http://a.example/", html=page, headers={"Content-Type": "text/html; charset=cp1250"})
    assert cp is not first
    assert clf.classify(url="http://b.example/", html=page) is not first
    assert clf.classify(url="http://a.example/", html=page.decode()) is not None
    t = clf.classify(text="hello " * 1000)
    assert clf.classify(text="hello " * 1000 + "beyond what is read") is t


def test_body_tag_in_any_letter_case() -> None:
    from classifier.extract import extract

    ex = extract(b"<html><head><title>T</title></head><bOdY><p>inside</p></BoDy>", content_type="text/html")
    assert ex.title == "T" and ex.body == "inside"


def test_find_body_is_the_case_insensitive_search() -> None:
    from classifier import extract as E

    rng = random.Random(9)
    atoms = ["<b>", "<br>", "<body>", "<BODY>", "<bOdY>", "<Body", "<bod", "x", "<", "b", "ody", "<B",
             "<bo", "<b" * 20, "é", "<bodyx"]
    for _ in range(5000):
        s = "".join(rng.choice(atoms) for _ in range(rng.randrange(0, 40)))
        end = rng.choice([None, rng.randrange(0, len(s) + 2)])
        for x, rx in ((s, re.compile("<body", re.I)), (s.encode(), re.compile(b"<body", re.I))):
            m = rx.search(x, 0, len(x) if end is None else min(end, len(x)))
            assert E._find_body(x, end) == (m.start() if m else -1), (x, end)


def test_lookalike_block_names_do_not_crash() -> None:
    from classifier import extract as E

    # re.I takes a long s for "s" and a dotless i for "i": such a block opens and closes.
    assert E._strip_blocks("a<\u017fcript>x</script>b<noscr\u0131pt>y</noscript>c")[0] == "a b c"


def test_headings_and_images_in_one_scan_match_two_scans() -> None:
    from classifier import extract as E

    rng = random.Random(4)
    atoms = ["<h1>", "</h1>", "<H2 class=x>", "</h2>", "<h3>", "</H3>", "<h4>", "<img alt='a'>",
             "<IMG src=x>", "<\u0130mg alt=b>", "<img>", "x", "y ", "<", ">", "<b>", "</b>",
             "<img alt=\"q\" ", "\n", "<h1 ", "<himg>", "<h1><img alt=z></h1>", "</h", "</h5",
             "t" * 130, "<h2 " + "a" * 395 + ">"]  # heading texts and tags about 400 long
    for v in _docs(rng, atoms, 3000, 120):
        nh, ni = rng.choice([(12, 24), (1, 1), (3, 0), (0, 3), (2, 5)])
        want = ([m.group(1) for _, m in zip(range(nh), E._HEADING.finditer(v))],
                [m.group(0) for _, m in zip(range(ni), E._IMG.finditer(v))])
        assert E._headings_and_images(v, nh, ni) == want, v


def test_page_reuses_the_url_verdict(tiny_models: Path) -> None:
    clf = classifier.load(tiny_models, cache_size=8)
    url = "http://casinobest77.com/slots"
    u = clf.classify_url(url)
    c = clf.classify(url=url, text="the weather in paris is sunny today")
    assert clf._cache[("url", url)] is u  # scored once
    for cat, p in u.scores.items():
        assert c.scores[cat] >= p
        if c.sources[cat] == classifier.URL_DETAIL:
            assert c.scores[cat] == p and c.features[cat] == u.features[cat]
    uncached = classifier.load(tiny_models, cache_size=0)
    assert uncached.classify(url=url, text="the weather in paris is sunny today") == c


def test_url_model_kind_is_set_as_replacing_the_evidence(tiny_models: Path) -> None:
    """``to_evidence`` with kinds gives the evidence that replacing each one's kind gave."""
    import dataclasses

    from kidgate.engine import _mark_url_model
    from policies.core import URL_MODEL

    for clf in _models(tiny_models):
        for url, text in [("http://casino-best77.com/slots?x=1", None), ("example.org", None),
                          ("https://www.google.com/search?q=free+porn", None),
                          ("http://casinobest77.com/", "i am going to kill myself"),
                          ("http://news.example.org/a", "sex education and consent at school")]:
            for found in (clf.classify_url(url), clf.classify(url=url, text=text)):
                want = [dataclasses.replace(e, kind=URL_MODEL) if e.detail == classifier.URL_DETAIL
                        else e for e in found.to_evidence()]
                assert _mark_url_model(found) == want
                assert found.to_evidence() == found.to_evidence({})
        mixed = clf.classify(url="http://casinobest77.com/", text="i am going to kill myself")
        assert {e.kind for e in _mark_url_model(mixed)} == {"", URL_MODEL}


def test_word_lookups_built_in_idf_order_are_the_same_dict(tiny_models: Path) -> None:
    """The page-text words are inserted common words first (for memory locality only): the
    same words map to the same indices as in the plain dict of the vocabulary."""
    from classifier import linear

    for clf in _models(tiny_models):
        tm = clf.text_model
        plain = {f[2:]: i for i, f in enumerate(map(str, tm.feature_names_)) if f.startswith("w ")}
        ordered = linear._TextIndex(tm.feature_names_, tm.idf_).words
        assert ordered == plain and len(plain) > 50
        idf = [float(tm.idf_[i]) for i in ordered.values()]
        assert idf == sorted(idf) and idf[0] < idf[-1]
        assert tm._text_index().words == plain


def test_windows_beyond_the_tf_table_match_one_by_one(tiny_models: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A window with more features than the sublinear-tf table holds takes the logarithm
    (a page's windows never do with the shipped sizes): a short table sends some windows of
    one page that way and leaves the others on the table, one by one as together."""
    from classifier import linear

    monkeypatch.setattr(linear, "_TF", linear._TF[:60])
    texts = [" ".join(["ab"] * 25 + ["free porn xxx videos hot sex cams"] * 40),
             "word " * 30 + "x " * 300 + "kill kill kill you " * 60 + "zz " * 20,
             " ".join(t for t in SAMPLE if t.strip()), "i will kill you"]
    for clf in _models(tiny_models):
        tm = clf.text_model
        windows = 0
        for t in texts:
            norm = F.normalize(t)
            spans = classifier._windows(norm)
            words = [F.tokens(norm[a:b]) for a, b in spans]
            for (a, b), w, (p, ia, va) in zip(spans, words, tm.windows_decision(norm, spans, words)):
                rp, ria, rva = tm.text_decision(norm[a:b], w)
                assert np.array_equal(ia, ria) and np.array_equal(va, rva), t[:40]
                assert p == pytest.approx(rp, abs=1e-12)
                windows += 1
        assert windows > len(texts)


def test_age_plus_shortcut_never_skips_a_match() -> None:
    """``_age_plus_possible`` may say yes in vain, never no where ``_AGE_PLUS`` matches."""
    rng = random.Random(3)
    pool = list("0123456789+ a.x_\t\n\u00a0\u2003\u0661") + ["18+", "21 +", "c++", "+40", "10\u00a0+"]
    texts = ["".join(rng.choice(pool) for _ in range(rng.randrange(0, 30))) for _ in range(20000)]
    texts += [t.lower() for t in _page_texts()]
    texts += ["+" * 40 + " 18+", "a+" * 20 + "21 +", "x18+", "18++", "only 18 + over", "+18"]
    said_no = 0
    for t in texts:
        if F._AGE_PLUS.search(t):
            assert F._age_plus_possible(t), repr(t[:80])
        elif not F._age_plus_possible(t):
            said_no += 1
    assert said_no > 1000  # and it does skip the regex on most texts with a "+"


def _ref_to_evidence(found: classifier.Classification, kinds: dict[str, str] | None = None) -> list:
    """The plain definition: one Evidence per score, highest first."""
    from policies.core import Evidence

    out = []
    for cat, score in sorted(found.scores.items(), key=lambda kv: -kv[1]):
        detail = found.sources.get(cat, classifier.TEXT_DETAIL)
        out.append(Evidence(source="classifier", category=cat, detail=detail, score=float(score),
                            kind=(kinds or {}).get(detail, ""), features=found.features.get(cat, ())))
    return out


def test_evidence_fields_are_the_evidence_taken_apart(tiny_models: Path) -> None:
    """What a worker sends (the fields of each Evidence, in the dataclass's order) is the
    evidence the plain definitions make: for URLs, search queries (help-seeking ones too),
    texts and the real pages."""
    import dataclasses

    from kidgate import engine
    from policies.core import URL_MODEL, Evidence
    from policies.helpseeking import PROTECTED

    names = [f.name for f in dataclasses.fields(Evidence)]
    pages = [p.read_bytes() for p in sorted(REAL_PAGES.glob("*.html"))[:20]]
    urls = ["http://casino-best77.com/slots?x=1", "example.org", "https://www.google.com/search?q=free+porn",
            "https://www.google.com/search?q=suicide+hotline+number",
            "https://www.bing.com/search?q=how+to+stop+self+harm", "https://duckduckgo.com/?q=buy+weed"]
    for clf in _models(tiny_models):
        kinds = {classifier.URL_DETAIL: URL_MODEL}
        found = [clf.classify_url(u) for u in urls] + [clf.classify(text=t) for t in SAMPLE[:40]]
        found += [clf.classify(html=p, headers={"content-type": "text/html"}) for p in pages]
        for c in found:
            for k in (None, kinds):
                fields = c.evidence_fields(k)
                want = _ref_to_evidence(c, k)
                assert [Evidence(*f) for f in fields] == want == c.to_evidence(k)
                assert fields == [tuple(getattr(e, n) for n in names) for e in want]
        for u in urls:
            want = _ref_to_evidence(clf.classify_url(u), kinds)
            q = engine._search_query(u)
            if q:
                qs = _ref_to_evidence(clf.classify(text=q))
                if engine.help_seeking(q):
                    qs = [e for e in qs if e.category not in PROTECTED]
                want += [dataclasses.replace(e, kind="search-query") for e in qs]
            assert engine.url_findings(clf, u) == want, u
            assert engine.url_findings_fields(clf, u) == [
                tuple(getattr(e, n) for n in names) for e in want]
        for p in pages[:5]:
            plain = engine.page_findings(clf, "http://example.org/", {"content-type": "text/html"}, p)
            flat = engine.page_findings(clf, "http://example.org/", {"content-type": "text/html"}, p,
                                        fields=True)
            assert [Evidence(*f) for f in flat.classifier] == plain.classifier
            assert flat.labels == plain.labels and flat.errors == plain.errors


def test_short_feature_lists_count_every_index(tiny_models: Path) -> None:
    """The URL path's counting keeps vocabulary index 0 (a falsy index) and drops unknown
    features, as the Counter definition does; remembered URL splits are the splits."""
    for clf in _models(tiny_models):
        um = clf.url_model
        names = [str(f) for f in um.feature_names_]
        for feats in ([names[0], names[0], "not a feature", names[5]], [names[0]], ["nope"], [],
                      names[:128], names[7:9] * 60):
            ia, va = um._vector(feats)
            ib, vb = _ref_vector(um, feats)
            assert np.array_equal(ia, ib) and np.allclose(va, vb, atol=1e-6)
        assert 0 in um._vector([names[0], "x"])[0]
    for u in ["http://casino-best77.com/slots?x=1", "example.org", "HTTP://Ex.ORG./A%20b?q=1",
              "https://[::1]/x", "http://bad[host/", ""] * 3:
        assert F.split_url(u) == F.split_url.__wrapped__(u)


def test_intent_phrases_found_through_their_anchor_words() -> None:
    """``extra_harms`` searches only the first-person intent phrases that can be there (their
    anchor word is a token): it finds one exactly where searching every phrase does."""
    from classifier import stance

    rng = random.Random(5)
    filler = ["the", "all", "you", "life", "we", "cu", "termin", "sa", "tot", "ma", "it", "end",
              "my", "take", "next", "te", "omor", "rope", "viata", "own", "iau", "imi", "totul"]
    found = 0
    for _ in range(5000):
        words = [rng.choice(filler) for _ in range(rng.randrange(0, 12))]
        if rng.random() < 0.5:
            k = rng.randrange(0, len(words) + 1)
            words[k:k] = rng.choice(stance._INTENT).split()
        present = F._TRIGGERS2.intersection(words)
        joined = " " + " ".join(words) + " "
        want = bool(present & stance._INTENT_WORDS) and any(p in joined for p in stance._INTENT)
        assert ("intent1p" in stance.extra_harms(words, present)) == want, words
        found += want
    assert 500 < found < 4500
