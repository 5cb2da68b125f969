"""``kidgate check``: the proxy's decision path, offline, for one URL or JSON lines."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap

import pytest

from kidgate.cli import check_jsonl, main
from kidgate.engine import Engine
from policies import config
from tests.support.proxy import build_test_lists

CONFIG = textwrap.dedent("""\
    profiles:
      kid: {age: 9, deny: [mine.test], allow: [good.adult.test]}
      teen: {age: 16}
    """)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("check")
    lists = build_test_lists(tmp, {"sexual": ["adult.test"], "social": ["chat.test"]})
    cfg = tmp / "k.yaml"
    cfg.write_text(CONFIG)
    return cfg, lists


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kidgate.cli", *args], input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_single_url_json(setup):
    cfg, lists = setup
    p = run("check", "--config", str(cfg), "--lists", str(lists), "--no-classifier",
            "http://www.adult.test/x")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["action"] == "block" and out["category"] == "sexual" and out["min_age"] == 18
    assert out["reasons"][0]["source"] == "list" and "adult.test" in out["reasons"][0]["detail"]


@pytest.mark.parametrize("who,url,action", [
    (["--profile", "kid"], "http://chat.test/", "block"),
    (["--profile", "teen"], "http://chat.test/", "allow"),
    (["--age", "18"], "http://adult.test/", "allow"),
    (["--profile", "kid"], "http://good.adult.test/", "allow"),
    (["--profile", "kid"], "http://mine.test/", "block"),
])
def test_profiles_and_ages(setup, who, url, action):
    cfg, lists = setup
    p = run("check", "--config", str(cfg), "--lists", str(lists), "--no-classifier", *who, url)
    assert json.loads(p.stdout)["action"] == action, p.stdout


def test_unknown_profile_and_bad_config_are_clear(setup, tmp_path):
    cfg, lists = setup
    p = run("check", "--config", str(cfg), "--profile", "nobody", "http://x.test/")
    assert p.returncode != 0 and "no profile named 'nobody'" in p.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("profiles:\n  kid: {age: -3}\n")
    p = run("check", "--config", str(bad), "http://x.test/")
    assert p.returncode == 2 and f"{bad}:2: profiles.kid.age" in p.stderr
    assert "Traceback" not in p.stderr


def test_jsonl_records_and_errors_keep_going(setup):
    cfg, lists = setup
    records = [
        json.dumps({"id": 1, "url": "http://adult.test/"}),
        "not json at all",
        json.dumps({"id": "b", "url": "http://garden.test/",
                    "headers": {"Rating": "RTA-5042-1996-1400-1577-RTA"}}),
        json.dumps([1, 2]),
        json.dumps({"id": 3, "html": "<meta name='rating' content='adult'><p>hi</p>"}),
        json.dumps({"id": 4, "url": 5}),
        json.dumps({"id": 5, "colour": "red"}),
        "",
        json.dumps({"id": 6, "text": "the weather is nice today"}),
        json.dumps({"id": 7}),
    ]
    p = run("check", "--config", str(cfg), "--lists", str(lists), "--no-classifier", "--jsonl",
            stdin="\n".join(records) + "\n")
    assert p.returncode == 0, p.stderr
    out = [json.loads(line) for line in p.stdout.splitlines()]
    assert [o.get("id") for o in out] == [1, None, "b", None, 3, 4, 5, 6, 7]
    assert out[0]["action"] == "block" and out[0]["category"] == "sexual"
    assert out[1]["line"] == 2 and "error" in out[1]
    assert out[2]["action"] == "block" and out[2]["reasons"][0]["source"] == "label"
    assert out[3]["line"] == 4
    assert out[4]["action"] == "block" and out[4]["min_age"] == 18
    assert out[5]["line"] == 6 and "url must be a string" in out[5]["error"]
    assert out[6]["line"] == 7 and "unknown keys" in out[6]["error"]
    assert out[7]["action"] == "allow"
    assert out[8]["line"] == 10 and "at least one of" in out[8]["error"]
    for o in out:
        if "error" not in o:
            assert set(o) == {"id", "action", "category", "min_age", "reasons", "scores"}


def test_jsonl_hostile_lines(setup):
    cfg, lists = setup
    engine = Engine.from_config(config.load(cfg), with_classifier=False, lists_path=lists)
    profile = config.load(cfg).profile("kid")
    lines = ["[" * 100_000, '{"url": "http://' + "a" * 100_000 + '.test/"}',
             '{"html": "\\u0000\\udc80 binary"}', '{"url": "http://[::1/"}',
             '{"headers": {"Rating": 5}}', '{"url": "javascript:alert(1)"}']
    out = io.StringIO()
    check_jsonl(engine, profile, io.StringIO("\n".join(lines) + "\n"), out)
    results = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(results) == len(lines)
    assert "error" in results[0] and "error" in results[4]
    assert all("error" in r or r["action"] in ("allow", "block") for r in results)


def test_config_command(setup, capsys):
    cfg, _ = setup
    assert main(["config", str(cfg)]) == 0
    assert "valid" in capsys.readouterr().out


def test_run_never_opens_the_proxy_to_the_internet(setup):
    from kidgate.cli import build_parser, mitmdump_args
    cfg, _ = setup
    args = build_parser().parse_args(["run", "--config", str(cfg), "--", "--mode", "regular"])
    out = mitmdump_args(args, config.load(cfg))
    assert out[out.index("--listen-port") + 1] == "8080"
    assert "block_global=true" in out and "connection_strategy=lazy" in out
    assert out[-2:] == ["--mode", "regular"]
    open_cfg = config.parse("allow_public_clients: true\nprofiles: {a: {age: 5}}\n")
    assert "block_global=false" in mitmdump_args(args, open_cfg)


def test_known_hosts_are_not_judged_by_the_url_model(tmp_path):
    """A host a list knows as harmless is not guessed about; an unknown look-alike still is."""
    cfg = tmp_path / "k.yaml"
    cfg.write_text(CONFIG)
    known = build_test_lists(tmp_path, {"known": ["casinobest77.com"]})
    results = {}
    for url in ("http://casinobest77.com/", "http://casinobest78.com/"):
        p = run("check", "--config", str(cfg), "--lists", str(known), "--profile", "kid", url)
        assert p.returncode == 0, p.stderr
        results[url] = json.loads(p.stdout)
    assert results["http://casinobest77.com/"]["action"] == "allow"
    unknown = results["http://casinobest78.com/"]
    assert unknown["action"] == "block" and unknown["category"] == "gambling"
    assert any(r["source"] == "classifier" for r in unknown["reasons"])


@pytest.mark.parametrize(("profile_yaml", "url", "action"), [
    ("{age: 9}", "http://93.184.216.34/", "block"),
    ("{age: 9}", "http://1572395042/page", "block"),               # the same address in decimal
    ("{age: 9}", "https://[2606:2800:220:1:248:1893:25c8:1946]/", "block"),
    ("{age: 9}", "http://192.168.1.1/", "allow"),                  # the router stays reachable
    ("{age: 9}", "http://10.0.0.7:8080/printer", "allow"),
    ("{age: 9, ip_urls: allow}", "http://93.184.216.34/", "allow"),
    ("{age: 9, allow: [93.184.216.34]}", "http://93.184.216.34/", "allow"),
    ("{age: 40}", "http://93.184.216.34/", "allow"),               # bypass blocks children only
])
def test_bare_ip_addresses_are_bypass_for_children(tmp_path, profile_yaml, url, action):
    cfg = tmp_path / "k.yaml"
    cfg.write_text(f"profiles:\n  p: {profile_yaml}\n")
    lists = build_test_lists(tmp_path, {"social": ["chat.test"]})
    p = run("check", "--config", str(cfg), "--lists", str(lists), "--no-classifier", url)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["action"] == action, out
    if action == "block":
        assert out["category"] == "bypass" and "bare IP address" in out["reasons"][0]["detail"]


def test_ip_urls_setting_is_checked(tmp_path):
    cfg = tmp_path / "k.yaml"
    cfg.write_text("profiles:\n  p:\n    age: 9\n    ip_urls: sometimes\n")
    p = run("config", str(cfg))
    assert p.returncode != 0 and "k.yaml:4: profiles.p.ip_urls" in p.stderr


DEVICES = textwrap.dedent("""\
    profiles:
      kid: {age: 9}
      teen: {age: 16}
      parent: {age: 40}
    default_profile: kid
    devices:
      - {cidr: 192.168.1.0/24, profile: teen, name: upstairs}
      - {ip: 192.168.1.23, profile: parent, name: dads-laptop}
      - {user: ana, profile: kid}
    """)


@pytest.mark.parametrize("who,profile,device", [
    (["--client", "192.168.1.23"], "parent", "dads-laptop"),       # most specific network
    (["--client", "192.168.1.50"], "teen", "upstairs"),
    (["--client", "10.0.0.9"], "kid", "10.0.0.9"),                  # nobody listed: default
    (["--client", "::ffff:192.168.1.23"], "parent", "dads-laptop"),  # IPv4-mapped
    (["--client", "192.168.1.23", "--user", "ana"], "kid", "user:ana"),  # a user name wins
])
def test_client_resolves_a_device_as_the_proxy_does(tmp_path, setup, who, profile, device):
    _, lists = setup
    cfg = tmp_path / "devices.yaml"
    cfg.write_text(DEVICES)
    p = run("check", "--config", str(cfg), "--lists", str(lists), "--no-classifier",
            "--data-dir", str(tmp_path), *who, "http://chat.test/")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert (out["profile"], out["device"]) == (profile, device)
    assert out["action"] == ("block" if profile == "kid" else "allow")


def test_client_must_be_an_address(setup, tmp_path):
    cfg, lists = setup
    p = run("check", "--config", str(cfg), "--lists", str(lists), "--no-classifier",
            "--client", "not-an-ip", "http://chat.test/")
    assert p.returncode != 0 and "--client needs an IP address" in p.stderr


def test_check_sees_approved_access_requests(setup, tmp_path):
    """An approval a parent gave in the proxy's database counts, as in the proxy."""
    from reporting import access
    from reporting.store import Store, default_path
    cfg, lists = setup
    args = ["check", "--config", str(cfg), "--lists", str(lists), "--no-classifier",
            "--profile", "kid", "--data-dir", str(tmp_path), "http://chat.test/page"]
    assert json.loads(run(*args).stdout)["action"] == "block"
    assert not default_path(tmp_path).exists()  # a check never creates a database
    store = Store(default_path(tmp_path))
    req = access.request_access(store, profile="kid", url="http://chat.test/page",
                                category="social")
    access.approve(store, req.id, "1h", "mum")
    store.close()
    out = json.loads(run(*args).stdout)
    assert out["action"] == "allow", out
    assert any("approv" in r["detail"].lower() for r in out["reasons"]), out


def test_a_bad_alerts_section_is_reported_with_its_line(tmp_path):
    """The core's loader leaves the alerts section to the reporting package; its mistakes are
    still reported with file, line and key."""
    cfg = tmp_path / "alerts.yaml"
    cfg.write_text("profiles:\n  kid: {age: 9}\nalerts:\n  rules:\n    - {profiles: ['*'], "
                   "categories: [self_harm], webhook: 'not a url'}\n")
    p = run("config", str(cfg))
    assert p.returncode == 2
    # The message names its own key, so the line is the rule's, not the section's.
    assert f"{cfg}:5: alerts.rules[0].webhook: must be an http(s) URL" in p.stderr, p.stderr


def test_kidgate_run_starts_a_wireguard_server_per_phone_beside_the_proxy(tmp_path) -> None:
    """``mitmdump_args`` keeps the ordinary proxy and adds one tunnel per WireGuard device,
    its keys made private; an explicit --mode of the parent's is left as given."""
    import argparse

    from kidgate import cli as kcli
    from policies import config as config_mod
    cfg = config_mod.parse("profiles: {kid: {age: 9}}\ndevices:\n"
                           "  - {wireguard: kid-phone, port: 51820, profile: kid}\n", "k.yaml")
    ns = argparse.Namespace(listen_host=None, port=None, verbose=False, config=None,
                            data_dir=tmp_path, lists=None, no_classifier=False,
                            mitmproxy_args=[])
    args = kcli.mitmdump_args(ns, cfg)
    keys = tmp_path / "wireguard" / "kid-phone.json"
    assert args[-4:] == ["--mode", "regular", "--mode", f"wireguard:{keys}@51820"]
    assert keys.stat().st_mode & 0o077 == 0
    ns.mitmproxy_args = ["--", "--mode", "transparent"]
    assert kcli.mitmdump_args(ns, cfg)[-4:] == ["--mode", f"wireguard:{keys}@51820",
                                                "--mode", "transparent"]
