"""The configuration keys of the admin app and the database, with located errors."""

from __future__ import annotations

import pytest

from policies import config
from policies.config import ConfigError

PROFILES = "profiles: {kid: {age: 9}}\n"


def test_defaults_and_values() -> None:
    cfg = config.parse(PROFILES)
    assert (cfg.admin.enabled, cfg.admin.host, cfg.admin.port) == (True, "0.0.0.0", 8081)
    assert cfg.database_url is None
    cfg = config.parse("admin: {enabled: false, listen: {host: 127.0.0.1, port: 9081},"
                       " hosts: [Kidgate.School.LAN]}\n"
                       "database: {url: 'postgresql+psycopg://kidgate@db.school/kidgate'}\n"
                       + PROFILES)
    assert (cfg.admin.enabled, cfg.admin.host, cfg.admin.port) == (False, "127.0.0.1", 9081)
    assert cfg.admin.hosts == ("kidgate.school.lan",)
    assert cfg.database_url == "postgresql+psycopg://kidgate@db.school/kidgate"


def test_where_decisions_go() -> None:
    """A home keeps its log in files; a shared database takes the log of every proxy."""
    cfg = config.parse(PROFILES)
    assert (cfg.decisions_to, cfg.drop_queries) == ("file", False)
    cfg = config.parse("database: {url: 'postgresql+psycopg://k@db/k'}\n" + PROFILES)
    assert cfg.decisions_to == "database"
    cfg = config.parse("database: {url: 'postgresql+psycopg://k@db/k', decisions: both,"
                       " drop_queries: true}\n" + PROFILES)
    assert (cfg.decisions_to, cfg.drop_queries) == ("both", True)
    cfg = config.parse("database: {decisions: database}\n" + PROFILES)  # kidgate.db rows
    assert (cfg.database_url, cfg.decisions_to) == (None, "database")


@pytest.mark.parametrize("text,where", [
    ("admin: {enabled: sometimes}", "admin.enabled: expected true or false"),
    ("admin: {listen: {port: 70000}}", "admin.listen.port: expected a whole number"),
    ("admin: {listen: {hostname: x}}", "admin.listen.hostname: unknown key"),
    ("admin: {password: secret}", "admin.password: unknown key"),
    ("admin: {hosts: ['http://kidgate.lan/']}", "admin.hosts[0]: not a valid domain name"),
    ("database: {url: 'mysql://x/y'}", "database.url: expected sqlite:///PATH"),
    ("database: {url: 5}", "database.url: expected a text value"),
    ("database: {decisions: syslog}", "database.decisions: expected one of file, database, both"),
    ("database: {drop_queries: maybe}", "database.drop_queries: expected true or false"),
    ("database: {urls: x}", "database.urls: unknown key"),
])
def test_mistakes_are_located(text: str, where: str) -> None:
    with pytest.raises(ConfigError) as e:
        config.parse(text + "\n" + PROFILES, "family.yaml")
    assert str(e.value).startswith("family.yaml:1: ") and where in str(e.value)
