"""End to end: a site's age-de.xml, fetched by the running proxy in the background."""

from __future__ import annotations

import textwrap
import time

import httpx
import pytest

from tests.support.proxy import Site, run_proxy

pytestmark = pytest.mark.e2e

CONFIG = textwrap.dedent("""\
    profiles:
      kid: {age: 10}
      teen: {age: 17}
    devices:
      - {user: teen, profile: teen}
    default_profile: kid
    """)
PAGE = (b"<!doctype html><html><head><title>Film reviews</title></head><body>"
        b"<p>Reviews of this week's films.</p></body></html>")
AGE_DE = b"""<?xml version="1.0" encoding="UTF-8"?>
<age-declaration>
  <ageblock-basic><revisit-after>7days</revisit-after></ageblock-basic>
  <ageblock-labeltype><default-age>16</default-age></ageblock-labeltype>
</age-declaration>"""
FILE_DELAY = 2.0  # the site answers slowly for its label file


def test_age_de_xml_blocks_kid_allows_teen_without_slowing_first_request(tmp_path):
    def age_de(handler):
        time.sleep(FILE_DELAY)
        return 200, {"Content-Type": "application/xml"}, AGE_DE

    site = Site({"/": (200, {"Content-Type": "text/html; charset=utf-8"}, PAGE),
                 "/age-de.xml": age_de}).start()
    other = Site({"/": (200, {"Content-Type": "text/html"}, PAGE)}).start()
    url = f"http://127.0.0.1:{site.port}/"
    try:
        with run_proxy(tmp_path, config=CONFIG, classifier=False) as proxy:
            kid = httpx.Client(proxy=proxy.url, timeout=15)
            teen = httpx.Client(proxy=f"http://teen:x@127.0.0.1:{proxy.port}", timeout=15)
            with kid, teen:
                # Warm the proxy up on another (unlabelled) site first.
                assert kid.get(f"http://127.0.0.1:{other.port}/").status_code == 200
                t = time.monotonic()
                first = kid.get(url)
                elapsed = time.monotonic() - t
                # Until the file is known the page is judged on its other evidence.
                assert first.status_code == 200, first.text[:300]
                assert elapsed < FILE_DELAY / 2, f"first request waited {elapsed:.2f}s"

                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    r = kid.get(url)
                    if r.status_code == 403:
                        break
                    time.sleep(0.2)
                assert r.status_code == 403, "age-de.xml of 16 did not block a 10-year-old"
                assert "age-de.xml" in r.text or r.headers.get("x-kidgate-reason") == "label"

                r = teen.get(url)
                assert r.status_code == 200 and b"Film reviews" in r.content
        fetched = [p for _, p, _ in site.requests if p == "/age-de.xml"]
        assert fetched == ["/age-de.xml"], "the label file is fetched once and cached"
    finally:
        site.stop()
        other.stop()
