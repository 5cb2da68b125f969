"""School account headers go only to the hosts that read them."""

from __future__ import annotations

import pytest

from policies.school import school_headers, validate

SCHOOL = {
    "google_allowed_domains": ["school.example", "pupils.school.example"],
    "microsoft_tenants": ["school.onmicrosoft.com", "school.example"],
    "microsoft_context": "72f988bf-86f1-41af-91ab-2d7cd011db47",
    "block_consumer_microsoft": True,
}


@pytest.mark.parametrize("host,expected", [
    ("accounts.google.com", [("X-GoogApps-Allowed-Domains", "school.example,pupils.school.example")]),
    ("www.google.com", [("X-GoogApps-Allowed-Domains", "school.example,pupils.school.example")]),
    ("mail.google.com", [("X-GoogApps-Allowed-Domains", "school.example,pupils.school.example")]),
    ("www.google.de", [("X-GoogApps-Allowed-Domains", "school.example,pupils.school.example")]),
    ("login.microsoftonline.com", [
        ("Restrict-Access-To-Tenants", "school.onmicrosoft.com,school.example"),
        ("Restrict-Access-Context", "72f988bf-86f1-41af-91ab-2d7cd011db47")]),
    ("login.microsoft.com", [
        ("Restrict-Access-To-Tenants", "school.onmicrosoft.com,school.example"),
        ("Restrict-Access-Context", "72f988bf-86f1-41af-91ab-2d7cd011db47")]),
    ("LOGIN.WINDOWS.NET", [
        ("Restrict-Access-To-Tenants", "school.onmicrosoft.com,school.example"),
        ("Restrict-Access-Context", "72f988bf-86f1-41af-91ab-2d7cd011db47")]),
    ("login.live.com", [("sec-Restrict-Tenant-Access-Policy", "restrict-msa")]),
    # Nobody else learns the school's domains or tenant.
    ("www.example.com", []),
    ("google.com.evil.example", []),
    ("notgoogle.com", []),
    ("www.bing.com", []),
    ("login.microsoftonline.com.evil.example", []),
    ("www.youtube.com", []),
    ("outlook.live.com", []),
])
def test_headers_only_on_their_hosts(host, expected):
    assert school_headers(host, SCHOOL) == expected


def test_nothing_configured_nothing_added():
    for host in ("accounts.google.com", "login.microsoftonline.com", "login.live.com"):
        assert school_headers(host, {}) == []
        assert school_headers(host, {"block_consumer_microsoft": False}) == []


def test_validate():
    assert validate(SCHOOL) == []
    errors = validate({"google_allowed_domains": "school example", "microsoft_tenants": ["a.b"],
                       "block_consumer_microsoft": "yes", "tenant": 1})
    text = "\n".join(errors)
    assert "unknown setting 'tenant'" in text
    assert "'school example' is not a domain name" in text
    assert "microsoft_context: required" in text
    assert "block_consumer_microsoft: expected true or false" in text
