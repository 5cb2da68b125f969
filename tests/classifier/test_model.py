"""Training on a tiny dataset, manifest checks, the public API and the jsonl CLI."""

from __future__ import annotations

import argparse
import io
import json
import shutil
import threading
from pathlib import Path

import pytest

import classifier
from classifier.batch import classify_jsonl
from classifier.cli import register
from policies.core import Evidence, Profile, decide


def test_tiny_training_writes_card_manifest_and_artifacts(tiny_models: Path) -> None:
    names = {p.name for p in tiny_models.iterdir()}
    assert {"text_model.joblib", "url_model.joblib", "terms.joblib", "MODEL_CARD.md",
            "MANIFEST.json", "meta.json", "eval.json", "pr_curves.png", "meaning_model.joblib",
            "word_vectors.npz"} <= names
    manifest = json.loads((tiny_models / "MANIFEST.json").read_text())
    assert set(manifest["files"]) == names - {"MANIFEST.json"}
    card = (tiny_models / "MODEL_CARD.md").read_text()
    assert "Known gaps" in card and "licence" in card.lower() and "under_blocking" in card


def test_loaded_model_separates_tiny_classes(tiny_models: Path) -> None:
    clf = classifier.load(tiny_models)
    bad = clf.classify(text="i am going to kill myself, no reason to live 7")
    good = clf.classify(text="the weather in paris is sunny today 9")
    assert bad.scores["self_harm"] > good.scores["self_harm"]
    assert bad.features["self_harm"], "a verdict must say why"
    u = clf.classify_url("http://casinobest77.com/")
    assert set(u.scores) <= set(clf.url_model.categories)
    assert u.scores["gambling"] > clf.classify_url("http://jobstop77.com/").scores["gambling"]


def test_terms_explain_and_evidence_reaches_decide(tiny_models: Path) -> None:
    clf = classifier.load(tiny_models)
    c = clf.classify(text="Watch free porn videos: hardcore xxx sex cams, horny girls live")
    assert c.scores["sexual"] >= 0.5
    assert any("porn" in f for f in c.features["sexual"])
    ev = c.to_evidence()
    assert all(isinstance(e, Evidence) and e.source == "classifier" for e in ev)
    sexual = next(e for e in ev if e.category == "sexual")
    assert sexual.detail == classifier.TERMS_DETAIL and sexual.features
    verdict = decide(Profile("kid", 10), ev)
    assert verdict.blocked and verdict.category == "sexual"
    assert not decide(Profile("adult", 30), ev).blocked


def test_sex_education_is_not_sexual(tiny_models: Path) -> None:
    clf = classifier.load(tiny_models)
    c = clf.classify(text="Sex education: puberty, consent and contraception explained by a doctor")
    assert c.scores["sexual"] < 0.5


def test_cache_and_threads(tiny_models: Path) -> None:
    clf = classifier.load(tiny_models, cache_size=8)
    html = b"<html><title>casino bonus</title><body>free spins and slots</body></html>"
    first = clf.classify(url="http://example.org/", html=html)
    assert clf.classify(url="http://example.org/", html=html) is first
    assert clf.classify(url="http://example.org/", html=html + b" ") is not first
    results: list[dict] = []
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for j in range(30):
                results.append(clf.classify(text=f"thread {i} text {j % 12}").scores)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 120
    assert len(clf._cache) <= 8


def test_search_query_is_classified(tiny_models: Path) -> None:
    clf = classifier.load(tiny_models)
    c = clf.classify(url="https://www.google.com/search?q=free+porn+xxx+videos+hardcore+sex")
    assert c.scores["sexual"] >= 0.5


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_tampered_model_is_refused(tiny_models: Path, tmp_path: Path) -> None:
    d = _copy(tiny_models, tmp_path / "m")
    p = d / "text_model.joblib"
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0xFF
    p.write_bytes(bytes(data))
    with pytest.raises(classifier.ModelIntegrityError, match="SHA-256"):
        classifier.load(d)


def test_unknown_file_and_missing_manifest_refused(tiny_models: Path, tmp_path: Path) -> None:
    d = _copy(tiny_models, tmp_path / "m")
    (d / "evil.joblib").write_bytes(b"not in the manifest")
    with pytest.raises(classifier.ModelIntegrityError, match="unknown"):
        classifier.load(d)
    (d / "evil.joblib").unlink()
    (d / "MANIFEST.json").unlink()
    with pytest.raises(classifier.ModelIntegrityError, match="missing"):
        classifier.load(d)


def test_manifest_entry_removed_is_refused(tiny_models: Path, tmp_path: Path) -> None:
    d = _copy(tiny_models, tmp_path / "m")
    m = json.loads((d / "MANIFEST.json").read_text())
    m["files"]["../outside.joblib"] = "0" * 64
    (d / "MANIFEST.json").write_text(json.dumps(m))
    with pytest.raises(classifier.ModelIntegrityError):
        classifier.load(d)


def test_jsonl_errors_do_not_stop_the_run(tiny_models: Path) -> None:
    clf = classifier.load(tiny_models)
    lines = [
        json.dumps({"id": "a", "text": "the weather in paris is sunny today"}),
        "{not json",
        json.dumps([1, 2]),
        json.dumps({"id": "b"}),
        json.dumps({"id": "c", "html": 5}),
        "",
        json.dumps({"id": "d", "url": "http://casinobest1.com/", "html": "<title>hi</title>"}),
    ]
    out = io.StringIO()
    classify_jsonl(clf, [ln + "\n" for ln in lines], out)
    recs = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [r.get("id") for r in recs if "scores" in r] == ["a", "d"]
    assert [r["line"] for r in recs if "error" in r] == [2, 3, 4, 5]
    assert all(isinstance(v, float) for v in recs[0]["scores"].values())


def test_cli_register_parses_and_runs(tiny_models: Path, tiny_data: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["train", "--data", str(tiny_data), "--seed", "5"])
    assert args.func.__name__ == "cmd_train" and args.seed == 5
    inp = tmp_path / "in.jsonl"
    inp.write_text(json.dumps({"id": 1, "text": "free porn xxx hardcore sex videos"}) + "\nbad\n")
    args = parser.parse_args(["classify", "--jsonl", "--models", str(tiny_models), "--input", str(inp)])
    assert args.func(args) == 0
    out = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert out[0]["id"] == 1 and out[0]["scores"]["sexual"] >= 0.5
    assert out[1] == {"line": 2, "error": out[1]["error"]}
    args = parser.parse_args(["train", "--data", str(tmp_path / "nope")])
    with pytest.raises(SystemExit, match="not found"):
        args.func(args)
