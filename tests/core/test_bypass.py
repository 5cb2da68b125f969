"""DNS-over-HTTPS requests are recognised by their shape, on any host."""

from __future__ import annotations

import pytest

from policies.bypass import doh_evidence
from policies.core import Profile, decide


@pytest.mark.parametrize("path, headers", [
    ("/dns-query?dns=q80BAAABAAAAAAAAA3d3dwdleGFtcGxlA2NvbQAAAQAB", {}),
    ("/dns-query", {"content-type": "application/dns-message"}),
    ("/anything", {"accept": "application/dns-message"}),
    ("/resolve?name=example.com&type=A", {}),
    ("/dns-query?name=example.com&type=AAAA", {"accept": "application/dns-json"}),
    ("/abc123/dns-query", {}),  # NextDNS-style profile paths
    ("/DNS-QUERY/?dns=AAAB", {}),
])
def test_doh_requests_are_bypass(path, headers):
    ev = doh_evidence(path, headers)
    assert ev is not None and ev.category == "bypass" and ev.kind == "doh"
    assert decide(Profile("kid", 10), [ev]).blocked
    assert not decide(Profile("mum", 40), [ev]).blocked  # adults are never blocked by bypass


@pytest.mark.parametrize("path, headers", [
    ("/", {}), ("/search?q=dns-query", {}), ("/resolve-conflicts", {}),
    ("/api/resolve?id=4", {}), ("/docs/dns-query-explained", {}),
    ("/", {"accept": "text/html,application/xhtml+xml"}),
])
def test_ordinary_requests_are_not(path, headers):
    assert doh_evidence(path, headers) is None
