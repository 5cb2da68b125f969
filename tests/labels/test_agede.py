"""Site label files: age-de.xml scopes, default age, revisit-after, MIRACLE v2, hostile XML."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from policies.core import Profile, decide
from policies.labels import LabelError, parse_age_de_xml

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "labels"
AGES = (6, 10, 15, 18)


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def verdicts(evidence) -> str:
    return "".join("B" if decide(Profile(f"a{a}", a), evidence).blocked else "A" for a in AGES)


def test_age_de_scopes_default_and_revisit():
    decl = parse_age_de_xml(load("age-de.xml"))
    assert decl.kind == "age-de"
    assert decl.default_age == 0
    assert decl.revisit_after == 7 * 86400
    assert decl.age_for("https://www.shop.example.org/filme/horror") == 16
    assert decl.age_for("https://shop.example.org/") == 16  # "*." covers the bare domain
    assert decl.age_for("https://www.shop.example.org/kinder/spiele") == 6  # most specific
    assert decl.age_for("https://other.example.com/") == 0  # default age
    assert decl.age_for("HTTPS://WWW.SHOP.EXAMPLE.ORG/Filme") == 16


@pytest.mark.parametrize("url,age,expected", [
    ("https://www.shop.example.org/filme", 16, "BBBA"),
    ("https://www.shop.example.org/kinder/", 6, "AAAA"),
    ("https://elsewhere.example.net/", 0, "AAAA"),
])
def test_age_de_verdicts(url, age, expected):
    ev = parse_age_de_xml(load("age-de.xml")).evidence(url)
    assert ev is not None and ev.min_age == age and ev.kind == "age-de"
    assert ev.category is None and "age-de.xml declares age" in ev.detail
    assert verdicts([ev]) == expected


def test_default_only_file():
    decl = parse_age_de_xml(load("age-de-default-18.xml"))
    assert decl.age_for("https://any.example/x") == 18
    assert decl.revisit_after == 86400
    assert verdicts([decl.evidence("https://any.example/x")]) == "BBBA"


def test_miracle_v2():
    decl = parse_age_de_xml(load("miracle.xml"), source="miracle.xml")
    assert decl.kind == "miracle"
    assert decl.age_for("https://www.miracle.example.eu/videos/1") == 12
    assert decl.age_for("https://miracle.example.eu/videos/1") == 12
    assert decl.age_for("https://www.miracle.example.eu/after-dark/x") == 18
    assert decl.age_for("https://unrelated.example/") is None
    assert decl.evidence("https://unrelated.example/") is None
    assert verdicts([decl.evidence("https://www.miracle.example.eu/videos/1")]) == "BBAA"
    assert verdicts([decl.evidence("https://www.miracle.example.eu/after-dark/")]) == "BBBA"


@pytest.mark.parametrize("name,message", [
    ("billion_laughs.xml", "refused"),
    ("external_entity.xml", "refused"),
    ("malformed.xml", "not well-formed"),
    ("wrong_root.xml", "is not <age-declaration>"),
    ("not_xml.xml", "refused"),  # an HTML 404 page with a doctype
])
def test_hostile_or_broken_files_are_refused(name, message):
    t = time.perf_counter()
    with pytest.raises(LabelError, match=message):
        parse_age_de_xml(load(name))
    assert time.perf_counter() - t < 0.5


def test_ten_megabyte_file_is_refused_quickly():
    body = b'<?xml version="1.0"?><age-declaration>' + b"<label><age>0</age><scope>*</scope></label>" \
        * (10_500_000 // 43) + b"</age-declaration>"
    assert len(body) > 10_000_000
    t = time.perf_counter()
    with pytest.raises(LabelError, match="exceeds the 50000 byte limit"):
        parse_age_de_xml(body)
    assert time.perf_counter() - t < 0.1


@pytest.mark.parametrize("data", [b"", b"\xff\xfe\x00", b"<age-declaration>", "<age-declaration/>",
                                  b"<age-declaration><default-age>999</default-age></age-declaration>",
                                  b"<age-declaration><default-age>sixteen</default-age></age-declaration>"])
def test_junk_is_a_label_error(data):
    with pytest.raises(LabelError):
        parse_age_de_xml(data)
