"""Compiled store semantics: each list format, matching rules, allow-lists, hotline, reload."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import pytest

import lists
from lists import ListStore, ListWatcher, Source, StoreError, build_store, to_evidence
from policies.core import Profile, decide
from tests.lists.conftest import make_tarball, write


def _cats(hits: list[lists.ListHit]) -> set[tuple[str | None, bool]]:
    return {(h.category, h.allow) for h in hits}


@pytest.fixture
def ut1_store(ut1_tree: Path, tmp_path: Path) -> ListStore:
    out = tmp_path / "ut1.kglist"
    build_store([Source("ut1", str(ut1_tree), "ut1")], out)
    with ListStore.open(out, verify=True) as store:
        yield store


def test_ut1_tree_mapping_and_layout(ut1_store: ListStore) -> None:
    s = ut1_store
    assert _cats(s.lookup("http://porn.example/")) == {("sexual", False)}
    assert _cats(s.lookup("https://www.casino.example/x")) == {("gambling", False)}
    # Categories known to be harmless are kept without a category (the URL model need not
    # guess about them); ignored ones are left out; white categories are allow-lists.
    news, = s.lookup("http://www.news.example/today")
    assert (news.category, news.allow, news.list_name) == (None, False, "ut1/press")
    assert s.lookup("http://blogs.example/") == []
    assert _cats(s.lookup("http://sexed.example/")) == {(None, True)}
    assert _cats(s.lookup("http://school.example/")) == {(None, True)}
    assert _cats(s.lookup("http://museum.example/")) == {(None, True)}   # by usage: white
    names = {d["name"] for d in s.info()["lists"]}
    assert "ut1/blog" not in names and "ut1/press" in names
    # Aliases are not loaded twice.
    assert not any(n in names for n in ("ut1/porn", "ut1/violence"))
    info = s.info()
    assert info["report"]["aliases"] == {"porn": "adult", "violence": "gambling"}
    assert info["categories"]["sexual"] == 5 and info["categories"]["known"] == 1
    assert "blog" in info["report"]["ignored"]
    # IP entry in a domains file.
    hit, = s.lookup("http://10.1.2.3/")
    assert (hit.kind, hit.entry, hit.list_name) == ("ip", "10.1.2.3", "ut1/adult")
    # Expression (UT1 matches host/path?query).
    hit, = s.lookup("http://8.8.4.4/search?q=42")
    assert (hit.kind, hit.category) == ("expression", "malware")
    assert s.lookup("http://8.8.4.4/search?q=42x") == []


def test_ut1_tarball_same_as_tree(ut1_tree: Path, tmp_path: Path) -> None:
    tarball = make_tarball(ut1_tree, tmp_path / "blacklists.tar.gz")
    out = tmp_path / "t.kglist"
    report = build_store([Source("ut1", str(tarball), "ut1")], out)
    assert report.aliases == {"porn": "adult", "violence": "gambling"}
    with ListStore.open(out) as s:
        assert _cats(s.lookup("http://bet.example/")) == {("gambling", False)}
        assert s.lookup("http://photos.example/gallery/nsfw/1.jpg")[0].kind == "url"


def test_mapping_override(ut1_tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.kglist"
    build_store([Source("ut1", str(ut1_tree), "ut1")], out,
                mapping={"press": "violence", "gambling": "ignore"})
    with ListStore.open(out) as s:
        assert _cats(s.lookup("http://news.example/")) == {("violence", False)}
        assert s.lookup("http://casino.example/") == []
    with pytest.raises(ValueError, match="not a kidgate category"):
        build_store([Source("ut1", str(ut1_tree), "ut1")], out, mapping={"press": "news"})


def test_mapping_file_override(ut1_tree: Path, tmp_path: Path) -> None:
    yml = write(tmp_path / "map.yaml", "categories:\n  press: hate\n")
    out = tmp_path / "m.kglist"
    build_store([Source("ut1", str(ut1_tree), "ut1")], out, mapping=str(yml))
    with ListStore.open(out) as s:
        assert _cats(s.lookup("http://news.example/")) == {("hate", False)}


@pytest.fixture
def formats_store(tmp_path: Path) -> ListStore:
    src = tmp_path / "src"
    sources = [
        Source("plain", str(write(src / "plain.txt",
               "# comment\nexample.com\n*.wild.test\n.dot.test\nBÜCHER.de\n\n2001:db8::1\n")),
               "domains", "sexual"),
        Source("hosts", str(write(src / "hosts",
               "127.0.0.1 localhost\n0.0.0.0 tracker.test ads.test # inline\n::1 ip6-localhost\n"
               "0.0.0.0 0.0.0.0\n")), "hosts", "malware"),
        Source("adblock", str(write(src / "ab.txt",
               "[Adblock Plus 2.0]\n! title\n||dating.test^\n||chat.test^$important\n"
               "||cdn.test^$script\n@@||ok.test^\nexample.org##.ad\n")), "adblock", "dating"),
        Source("urls", str(write(src / "urls.txt",
               "http://host.test/bad/path\nhost.test/other/\nhttps://whole.test/\n"
               "HOST.test/Mixed?Q=1\n1.2.3.4/ip/path\n")), "urls", "violence"),
        Source("allow", str(write(src / "allow.txt", "good.example.com\n")), "domains", "allow"),
    ]
    out = tmp_path / "f.kglist"
    report = build_store(sources, out)
    assert report.lists["adblock"]["stats"]["unsupported"] == 3
    with ListStore.open(out) as s:
        yield s


def test_domain_entries_match_subdomains_only(formats_store: ListStore) -> None:
    s = formats_store
    for url in ("http://example.com/", "http://a.b.example.com/x", "http://EXAMPLE.COM./",
                "http://x.wild.test/", "http://wild.test/", "http://dot.test/",
                "http://www.bücher.de/", "http://[2001:db8::1]/"):
        assert _cats(s.lookup(url)) == {("sexual", False)}, url
    for url in ("http://notexample.com/", "http://example.com.evil.test/",
                "http://examplecom/", "http://com/", "http://[2001:db8::2]/"):
        assert s.lookup(url) == [], url


def test_hosts_and_adblock(formats_store: ListStore) -> None:
    s = formats_store
    assert _cats(s.lookup("http://ads.test/")) == {("malware", False)}
    assert _cats(s.lookup("http://tracker.test/")) == {("malware", False)}
    assert s.lookup("http://localhost/") == []
    assert _cats(s.lookup("http://m.dating.test/")) == {("dating", False)}
    assert _cats(s.lookup("http://chat.test/")) == {("dating", False)}
    assert s.lookup("http://cdn.test/") == []   # rule with unsupported option skipped
    assert s.lookup("http://ok.test/") == []    # exception rules are not global allows


def test_url_entries_prefix_at_segment_boundaries(formats_store: ListStore) -> None:
    s = formats_store
    for url in ("http://host.test/bad/path", "http://host.test/bad/path/", "http://host.test/"
                "bad/path/more?x=1", "https://www.host.test/BAD/path", "http://sub.host.test/"
                "bad/path", "http://host.test/other", "http://host.test/other/x",
                "http://host.test/mixed?q=1", "http://host.test/%62ad/path",
                "http://1.2.3.4/ip/path/x", "http://0x01020304/ip/path"):
        hits = s.lookup(url)
        assert _cats(hits) == {("violence", False)}, url
        assert hits[0].kind == "url"
    for url in ("http://host.test/", "http://host.test/bad", "http://host.test/bad/pathology",
                "http://host.test/mixed?q=2", "http://host.test/mixed", "http://1.2.3.4/",
                "http://other.test/bad/path"):
        assert s.lookup(url) == [], url
    assert _cats(s.lookup("http://whole.test/anything")) == {("violence", False)}


def test_lookup_host_for_sni(formats_store: ListStore) -> None:
    s = formats_store
    assert _cats(s.lookup_host("WWW.Example.com.")) == {("sexual", False)}
    assert s.lookup_host("host.test") == []  # URL entries need the path: not an SNI decision
    assert _cats(s.lookup_host("2001:db8::1")) == {("sexual", False)}


def test_allow_list_precedence(formats_store: ListStore) -> None:
    hits = formats_store.lookup("https://good.example.com/page")
    assert {(h.category, h.allow, h.list_name) for h in hits} == {
        ("sexual", False, "plain"), (None, True, "allow")}
    child = Profile("kid", 10)
    verdict = decide(child, to_evidence(hits))
    assert verdict.action == "allow"
    blocked = decide(child, to_evidence(formats_store.lookup("https://example.com/")))
    assert blocked.blocked and blocked.category == "sexual"
    ev = to_evidence(hits)
    assert {e.source for e in ev} == {"list"}
    assert any(e.allow and e.kind == "allow" for e in ev)
    assert any("example.com" in e.detail for e in ev)


def test_known_lists_neither_block_nor_allow(tmp_path: Path) -> None:
    out = tmp_path / "k.kglist"
    build_store([Source("news", str(write(tmp_path / "news.txt", "news.test\n")), "domains", "known"),
                 Source("bad", str(write(tmp_path / "bad.txt", "news.test\n")), "domains", "gambling")],
                out)
    with ListStore.open(out) as s:
        ev = to_evidence(s.lookup("https://news.test/a"))
        assert {(e.category, e.allow) for e in ev} == {(None, False), ("gambling", False)}
        assert any("known, not harmful" in e.detail for e in ev)
        known_only = [e for e in ev if e.category is None]
        assert decide(Profile("kid", 8), known_only).action == "allow"
        assert decide(Profile("kid", 8), ev).category == "gambling"  # known never allows
        assert s.info()["categories"] == {"known": 1, "gambling": 1}
    with pytest.raises(ValueError, match="'allow' or 'known'"):
        build_store([Source("x", str(tmp_path / "news.txt"), "domains", "ignore")], out)


def test_hotline_always_blocks_and_is_masked(tmp_path: Path) -> None:
    src = tmp_path / "src"
    out = tmp_path / "h.kglist"
    report = build_store([
        Source("hotline", str(write(src / "hl.txt", "abuse.test/gallery/\nhidden.test\n"
                                    "not a domain!\n")), "urls", hotline=True),
        Source("allow", str(write(src / "a.txt", "hidden.test\n")), "domains", "allow"),
    ], out)
    assert report.lists["hotline"]["category"] == "csam"
    assert "not a domain" not in report.format()
    with ListStore.open(out) as s:
        hits = s.lookup("http://www.hidden.test/x")
        hot = [h for h in hits if h.hotline]
        assert hot and hot[0].category == "csam" and not hot[0].allow
        assert hot[0].entry.startswith("sha256:") and "hidden" not in hot[0].entry
        url_hit, = s.lookup("http://abuse.test/gallery/1")
        assert "abuse" not in url_hit.entry
        evidence = to_evidence(hits)
        assert all("hidden" not in e.detail for e in evidence if e.category == "csam")
        # Hotline beats the allow-list and every age.
        assert decide(Profile("adult", 40), evidence).category == "csam"
        assert "hidden" not in str(s.info())
    assert b"hidden.test" not in out.read_bytes()


def test_store_file_is_compact_and_checked(tmp_path: Path) -> None:
    plain = write(tmp_path / "many.txt", "".join(f"site{i}.example\n" for i in range(20000)))
    out = tmp_path / "many.kglist"
    report = build_store([Source("many", str(plain), "domains", "gambling")], out)
    assert report.entries == 20000
    assert out.stat().st_size < 20000 * 14 + 8192
    assert b"site1.example" not in out.read_bytes()
    with ListStore.open(out) as s:
        assert len(s.lookup("http://www.site19999.example/")) == 1
        assert s.lookup("http://site20000.example/") == []
    data = out.read_bytes()
    trunc = write(tmp_path / "trunc.kglist", data[: len(data) // 2])
    with pytest.raises(StoreError, match="truncated"):
        ListStore.open(trunc)
    flipped = bytearray(data)
    flipped[5000] ^= 0xFF
    bad = write(tmp_path / "flip.kglist", bytes(flipped))
    with pytest.raises(StoreError, match="checksum"):
        ListStore.open(bad, verify=True)
    with pytest.raises(StoreError):
        ListStore.open(write(tmp_path / "junk.kglist", os.urandom(9000)))
    with pytest.raises(StoreError):
        ListStore.open(tmp_path / "missing.kglist")


def test_invalid_request_url_raises(formats_store: ListStore) -> None:
    with pytest.raises(lists.InvalidURL):
        formats_store.lookup("http://exa mple.com/")


def test_watcher_reloads_replaced_file(tmp_path: Path) -> None:
    a = write(tmp_path / "a.txt", "first.test\n")
    b = write(tmp_path / "b.txt", "second.test\n")
    live = tmp_path / "live.kglist"
    build_store([Source("l", str(a), "domains", "gambling")], live)
    watcher = ListWatcher(live, interval=0.05)
    first = watcher.current()
    assert first.lookup("http://first.test/")
    build_store([Source("l", str(b), "domains", "gambling")], live)  # atomic rename
    assert watcher.current() is first      # not re-checked within the interval
    time.sleep(0.06)
    second = watcher.current()
    assert second is not first and watcher.reloads == 1
    assert second.lookup("http://second.test/") and not second.lookup("http://first.test/")
    # A broken replacement is ignored; the last good store stays.
    tmp = tmp_path / "junk"
    tmp.write_bytes(b"garbage" * 10)
    os.replace(tmp, live)
    time.sleep(0.06)
    assert watcher.current() is second


def test_default_store_ships_and_works() -> None:
    path = lists.default_store_path()
    assert path.is_file() and path.stat().st_size < 20_000_000
    start = time.perf_counter()
    with ListStore.open(path) as s:
        assert time.perf_counter() - start < 1.0
        assert _cats(s.lookup("https://www.pornhub.com/")) == {("sexual", False)}
        assert ("gambling", False) in _cats(s.lookup("https://www.pokerstars.com/"))
        assert ("social", False) in _cats(s.lookup("https://www.facebook.com/"))
        assert s.lookup("https://www.bbc.co.uk/news") == []
        info = s.info()
        assert {"sexual", "gambling", "drugs", "bypass", "malware", "allow"} <= set(
            info["categories"])
        assert dt.date.fromisoformat(info["created"][:10])


def test_global_usage_describes_and_types_categories(tmp_path: Path) -> None:
    bl = tmp_path / "blacklists"
    write(bl / "global_usage", "NAME:\tkids\nDEFAULT_TYPE: white\nDESC EN: For kids.\n\n"
                               "NAME:\tnasty\nDEFAULT_TYPE: black\nDESC EN: Nasty.\n")
    write(bl / "kids" / "domains", "kids.test\n")     # no usage file: global_usage decides
    write(bl / "nasty" / "domains", "nasty.test\n")
    out = tmp_path / "g.kglist"
    build_store([Source("ut1", str(bl), "ut1")], out, mapping={"nasty": "violence"})
    with ListStore.open(out) as s:
        assert _cats(s.lookup("http://kids.test/")) == {(None, True)}
        assert _cats(s.lookup("http://nasty.test/")) == {("violence", False)}
        desc = {d["name"]: d["description"] for d in s.info()["lists"]}
        assert desc == {"ut1/kids": "For kids.", "ut1/nasty": "Nasty."}


@pytest.mark.parametrize(("url", "expected"), [
    ("https://www.lemonde.fr/", {(None, False)}),              # UT1 press: known, not harmful
    ("https://www.citibank.co.uk/", {(None, False)}),          # UT1 bank: known
    ("https://www.youtube.com/watch?v=1", {(None, False)}),    # UT1 audio-video: known
    ("https://en.wikipedia.org/wiki/Sex_education", set()),
    ("https://masexualite.ca/", {(None, True)}),               # UT1 sexual_education: allow
    ("https://www.sexinfoonline.com/", {(None, True)}),
    ("https://lumni.fr/", {(None, True)}),                     # UT1 child: allow
])
def test_default_store_does_not_over_block(url: str, expected: set) -> None:
    with ListStore.open(lists.default_store_path()) as s:
        assert _cats(s.lookup(url)) == expected
        assert not decide(Profile("kid", 6), to_evidence(s.lookup(url))).blocked


def test_parent_domains_of_every_length_are_checked(tmp_path: Path) -> None:
    """Lookups skip parent lengths no entry has; every length an entry has must still match."""
    src = write(tmp_path / "d.txt", "xxx\nexample.com\na.b.c.d.e.f.g.h.test\n")
    urls = write(tmp_path / "u.txt", "deep.one.two.test/path\n")
    out = tmp_path / "l.kglist"
    build_store([Source("d", str(src), "domains", "sexual"),
                 Source("u", str(urls), "urls", "violence")], out)
    with ListStore.open(out) as s:
        assert [h.entry for h in s.lookup("http://site.xxx/")] == ["xxx"]
        assert [h.entry for h in s.lookup("http://1.2.3.4.example.com/")] == ["example.com"]
        deep = "http://z.y.a.b.c.d.e.f.g.h.test/"
        assert [h.entry for h in s.lookup(deep)] == ["a.b.c.d.e.f.g.h.test"]
        assert [h.entry for h in s.lookup("http://x.deep.one.two.test/path/1")] == [
            "deep.one.two.test/path"]
        assert s.lookup("http://b.c.d.e.f.g.h.test/") == []
    many = ".".join(["l"] * 70) + ".test"   # 71 labels: folded into the last mask bit
    src2 = write(tmp_path / "m.txt", many[:250].strip(".") + "\n")
    build_store([Source("m", str(src2), "domains", "sexual")], out)
    with ListStore.open(out) as s:
        assert s.lookup("http://q." + many[:250].strip(".") + "/")
