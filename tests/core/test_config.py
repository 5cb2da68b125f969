"""Configuration: the shipped default, every section, and located errors for bad input."""

import datetime as dt
import ipaddress
import textwrap

import pytest

from policies import config
from policies.categories import NEVER
from policies.config import ConfigError

FULL = textwrap.dedent("""\
    listen: {host: 127.0.0.1, port: 3128}
    language: ro
    hotline_country: gb
    category_ages: {social: 11}
    classifier:
      thresholds: {default: 0.6, hate: 0.4}
    profiles:
      anna:
        age: 9
        allow: [Scoala.Example.RO., "*.wikipedia.org"]
        deny: [tiktok.com]
        categories: {gambling: block, offensive: allow}
        youtube: moderate
        safe_search: off
        schedules:
          - {name: bedtime, days: [mon, tue, wed, thu, fri, sat, sun], start: "21:00", end: "07:00"}
          - {name: homework, days: "mon,tue", start: 15:00, end: "17:30", categories: [social]}
        timezone: Europe/Bucharest
        school: {google_allowed_domains: [school.example], block_consumer_microsoft: true}
      parent: {age: 40, language: en}
    devices:
      - {ip: 192.168.1.20, profile: anna}
      - {cidr: "10.0.0.0/24", profile: anna}
      - {mac: AA-BB-CC-DD-EE-FF, profile: parent}
      - {user: dad, profile: parent}
    default_profile: anna
    passthrough: [bank.example]
    """)


def test_shipped_default_is_a_ten_year_old_child():
    c = config.load()
    p = c.profile(None)
    assert p.name == "child" and p.age == 10 and p.is_child
    assert p.safe_search == "strict" and p.youtube == "strict" and p.fail_safe == "block"
    assert c.listen_port == 8080 and not c.allow_public_clients


def test_full_config():
    c = config.parse(FULL, "k.yaml")
    anna = c.profiles["anna"]
    assert anna.language == "ro" and c.hotline_country == "GB" and c.listen_port == 3128
    assert anna.allow_domains == ("scoala.example.ro", "wikipedia.org")
    assert anna.min_age("social") == 11 and anna.min_age("gambling") == NEVER
    assert anna.min_age("offensive") == 0 and anna.threshold("hate") == 0.4
    assert anna.threshold("sexual") == 0.6
    assert anna.safe_search == "off" and anna.youtube == "moderate"
    assert anna.schedules[0].start == dt.time(21) and anna.schedules[1].days == frozenset({0, 1})
    assert anna.schedules[1].start == dt.time(15)
    assert anna.school["google_allowed_domains"] == ["school.example"]
    assert c.devices[1].network == ipaddress.ip_network("10.0.0.0/24")
    assert c.devices[2].mac == "aa:bb:cc:dd:ee:ff" and c.devices[3].user == "dad"
    assert c.profiles["parent"].safe_search == "off" and c.passthrough == ("bank.example",)


@pytest.mark.parametrize("text,line,key,words", [
    ("profiles: {a: {age: ten}}", 1, "profiles.a.age", "whole number"),
    ("profiles:\n  a:\n    age: 10\n    colour: red\n", 4, "profiles.a.colour", "unknown key"),
    ("profiles:\n  a: {age: 10}\ndefault_profile: b\n", 3, "default_profile", "no profile named"),
    ("profiles:\n  a: {age: 10}\ndevices:\n  - {ip: 300.1.1.1, profile: a}\n", 4, "devices[0].ip", "not an IP"),
    ("profiles:\n  a: {age: 10}\ndevices:\n  - {ip: 10.0.0.1, mac: aa:bb:cc:dd:ee:ff, profile: a}\n", 4, "devices[0]", "exactly one"),
    ("profiles:\n  a:\n    age: 10\n    categories: {csam: allow}\n", 4, "profiles.a.categories.csam", "cannot be allowed"),
    ("profiles:\n  a:\n    age: 10\n    categories: {porn: 18}\n", 4, "profiles.a.categories.porn", "unknown category"),
    ("profiles:\n  a:\n    age: 10\n    timezone: Mars/Olympus\n", 4, "profiles.a.timezone", "time zone"),
    ("profiles:\n  a:\n    age: 10\n    schedules: [{start: '25:00', end: '07:00'}]\n", 4, "profiles.a.schedules[0].start", "time of day"),
    ("profiles:\n  a:\n    age: 10\n    youtube: extreme\n", 4, "profiles.a.youtube", "strict, moderate, off"),
    ("profiles:\n  a: {age: 10}\nclassifier: {thresholds: {hate: 2}}\n", 3, "classifier.thresholds.hate", "probability"),
    ("profiles:\n  a: {age: 10}\nprofiles: {}\n", 3, "profiles", "duplicate key"),
    ("profiles: {}\n", 1, "profiles", "at least one profile"),
    ("profiles: [1, 2]\n", 1, "profiles", "mapping"),
    ("hotline_country: Romania\nprofiles: {a: {age: 1}}\n", 1, "hotline_country", "two-letter"),
    ("profiles:\n  a:\n    age: 10\n    deny: ['http://bad.example/page']\n", 4, "profiles.a.deny[0]", "domain"),
])
def test_errors_name_file_line_and_key(text, line, key, words):
    with pytest.raises(ConfigError) as exc:
        config.parse(text, "kidgate.yaml")
    e = exc.value
    assert (e.file, e.line, e.key) == ("kidgate.yaml", line, key), str(e)
    assert words in str(e)
    assert str(e).startswith(f"kidgate.yaml:{line}: {key}: ")


@pytest.mark.parametrize("garbage", [
    "profiles: [", "\x00\x01\x02", "- just\n- a list\n", "key: value: other", "{{{{",
    "a: &x [*x]", "profiles: !!python/object:os.system {}",
])
def test_garbage_gives_a_clear_error(garbage):
    with pytest.raises(ConfigError) as exc:
        config.parse(garbage, "bad.yaml")
    assert str(exc.value).startswith("bad.yaml")


def test_unreadable_files(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        config.load(tmp_path / "missing.yaml")
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="cannot read"):
        config.load(binary)


def test_alias_bomb_is_refused():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi")) + "profiles: {a: {age: 1}}\n"
    with pytest.raises(ConfigError, match="expands too much"):
        config.parse(bomb, "bomb.yaml")


# -- log: retention of the decision log -----------------------------------------------------

def test_log_retention_defaults_and_values():
    from kidgate.decisionlog import MB, Retention
    shipped = config.load().log
    assert shipped == Retention(days=30, max_bytes=200 * MB) and shipped.enabled
    assert config.parse("profiles: {a: {age: 1}}\n").log == Retention()  # no section
    assert config.parse("profiles: {a: {age: 1}}\nlog:\n").log == Retention()  # empty section
    c = config.parse("profiles: {a: {age: 1}}\nlog: {retention_days: 7, max_mb: 50}\n")
    assert c.log == Retention(days=7, max_bytes=50 * MB)
    off = config.parse("profiles: {a: {age: 1}}\nlog:\n  retention_days: 0\n").log
    assert off.days == 0 and not off.enabled and off.max_bytes == 200 * MB


@pytest.mark.parametrize("section,line,key,words", [
    ("log:\n  retention_days: -1\n", 3, "log.retention_days", "whole number from 0"),
    ("log:\n  retention_days: thirty\n", 3, "log.retention_days", "whole number"),
    ("log:\n  retention_days: 1.5\n", 3, "log.retention_days", "whole number"),
    ("log:\n  retention_days: yes\n", 3, "log.retention_days", "whole number"),
    ("log:\n  retention_days: 100000\n", 3, "log.retention_days", "to 3650"),
    ("log:\n  max_mb: 0\n", 3, "log.max_mb", "whole number from 1"),
    ("log:\n  max_mb: -5\n", 3, "log.max_mb", "whole number from 1"),
    ("log:\n  max_mb: 200MB\n", 3, "log.max_mb", "whole number"),
    ("log:\n  retention_days: 30\n  keep_forever: true\n", 4, "log.keep_forever",
     "unknown key; expected one of: max_mb, retention_days"),
    ("log: 30\n", 2, "log", "mapping"),
    ("log: [30]\n", 2, "log", "mapping"),
])
def test_log_section_errors_name_file_line_and_key(section, line, key, words):
    with pytest.raises(ConfigError) as exc:
        config.parse("profiles: {a: {age: 1}}\n" + section, "kidgate.yaml")
    e = exc.value
    assert (e.file, e.line, e.key) == ("kidgate.yaml", line, key), str(e)
    assert words in str(e) and str(e).startswith(f"kidgate.yaml:{line}: {key}: ")


def test_shipped_default_documents_the_log_section():
    text = config.DEFAULT_CONFIG_PATH.read_text()
    assert "retention_days: 30" in text and "max_mb: 200" in text
    assert "0 = keep no decision log" in text


@pytest.mark.parametrize("text", ["=", "profiles: =\n", "profiles: {child: {age: =}}\n"])
def test_a_value_yaml_cannot_build_is_a_located_error(text: str) -> None:
    """PyYAML's value tag ("=") has no safe constructor: a clear error, not a traceback."""
    with pytest.raises(config.ConfigError, match="not valid YAML") as e:
        config.parse(text, "kidgate.yaml")
    assert str(e.value).startswith("kidgate.yaml:1")
