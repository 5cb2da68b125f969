"""The internal web app: report and ask flows, refusals, hostile input (test client and a
real local HTTP server)."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from werkzeug.serving import make_server

from reporting.links import block_links
from reporting.web import CSP, create_app

BASE = "http://kidgate.internal"
URL = "https://bad.example/p?q=1&r=2"


@pytest.fixture
def app(store, signer):
    return create_app(store, signer, {"country": "RO", "requests_per_minute": 1000})


@pytest.fixture
def client(app):
    return app.test_client()


def _links(signer, category="sexual", url=URL, language="en", **kw):
    return block_links(url=url, category=category, profile_name="ana", reason="list ut1",
                       signer=signer, language=language, **kw)


def _path(link: str) -> str:
    assert link.startswith(BASE + "/")
    return link[len(BASE):]


def _reports(store):
    return [dict(r._mapping) for r in store.query("SELECT * FROM reports")]


def _no_inline_script(body: str) -> None:
    for tag in re.findall(r"<script[^>]*>.*?</script>", body, re.S | re.I):
        assert 'src="/static/' in tag and tag.endswith("></script>"), tag
    assert " on" not in re.sub(r'"[^"]*"', '""', " ".join(re.findall(r"<[^>]+>", body))).lower()


def test_report_records_and_names_the_romanian_hotline(client, store, signer):
    r = client.get(_path(_links(signer, language="ro").report_url), base_url=BASE)
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert "esc_ABUZ" in body and 'href="https://oradenet.ro/esc-abuz"' in body
    assert 'value="https://bad.example/p?q=1&amp;r=2"' in body
    assert "capturi de ecran" in body and 'lang="ro"' in body  # do-not-screenshot, in Romanian
    assert '<script src="/static/copy.js"></script>' in body and "data-copy-target" in body
    _no_inline_script(body)
    assert r.headers["Content-Security-Policy"] == CSP and "Location" not in r.headers
    assert r.headers["Cache-Control"] == "no-store"
    [rep] = _reports(store)
    assert (rep["url"], rep["category"], rep["profile"], rep["reason"], rep["hotline_country"]) == (
        URL, "sexual", "ana", "list ut1", "RO")


def test_report_for_the_uk_names_the_iwf(store, signer):
    c = create_app(store, signer, {"country": "GB"}).test_client()
    r = c.get(_path(_links(signer, category="csam").report_url), base_url=BASE)
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "Internet Watch Foundation" in body
    assert 'href="https://report.iwf.org.uk/en"' in body and "screenshots" in body
    assert _reports(store)[0]["hotline_country"] == "UK"


def test_unknown_country_uses_the_inhope_directory(store, signer):
    c = create_app(store, signer, {}).test_client()
    body = c.get(_path(_links(signer).report_url), base_url=BASE).get_data(as_text=True)
    assert "https://www.inhope.org/EN/our-members" in body


def test_replayed_report_is_refused_and_not_recorded_twice(client, store, signer):
    path = _path(_links(signer).report_url)
    assert client.get(path, base_url=BASE).status_code == 200
    r = client.get(path, base_url=BASE)
    assert r.status_code == 403 and "already used" in r.get_data(as_text=True)
    assert len(_reports(store)) == 1


def test_forged_expired_missing_and_wrong_action_tokens(client, store, signer):
    from reporting.tokens import Signer
    forged = _links(Signer(b"f" * 32)).report_url
    expired = f"{BASE}/report?t=" + signer.issue("report", url=URL, category="sexual",
                                                   profile="ana", ttl=1, now=time.time() - 10)
    ask_token = _links(signer).ask_url.split("t=")[1]
    tampered = _path(_links(signer).report_url)[:-3] + "AAA"
    cases = {_path(forged): "not valid", _path(expired): "expired", "/report": "not valid",
             "/report?t=": "not valid", f"/report?t={ask_token}": "not valid",
             tampered: "not valid", "/report?t=" + "A" * 20000: "not valid"}
    for path, text in cases.items():
        r = client.get(path, base_url=BASE)
        assert r.status_code == 403, path
        assert text in r.get_data(as_text=True) and r.headers["Content-Security-Policy"] == CSP
    assert _reports(store) == []


def test_hostile_url_in_token_is_escaped(client, signer):
    url = 'https://x.example/"><script>alert(1)</script>'
    body = client.get(_path(_links(signer, url=url).report_url), base_url=BASE).get_data(as_text=True)
    assert "<script>alert(1)" not in body and "&lt;script&gt;alert(1)" in body
    _no_inline_script(body)


def test_no_open_redirect(client, signer):
    for extra in ["&next=https://evil.example/", "&url=https://evil.example/",
                  "&redirect=//evil.example"]:
        r = client.get(_path(_links(signer).report_url) + extra, base_url=BASE)
        assert r.status_code == 200 and "Location" not in r.headers
        assert "evil.example" not in r.get_data(as_text=True)
    for path in ["//evil.example/", "/https://evil.example", "/report/../../evil"]:
        r = client.get(path, base_url=BASE)
        # "//evil.example/" reaches the home page ("/"): still no redirect, no echo.
        assert r.status_code in (200, 403, 404) and "Location" not in r.headers
        assert "evil.example" not in r.get_data(as_text=True)


def test_only_the_internal_host_is_served(client, signer):
    r = client.get(_path(_links(signer).report_url), base_url="http://evil.example")
    assert r.status_code == 400


def test_rate_limit_per_client(store, signer):
    c = create_app(store, signer, {"country": "RO", "requests_per_minute": 3}).test_client()
    codes = [c.get("/report?t=bad", base_url=BASE).status_code for _ in range(5)]
    assert codes == [403, 403, 403, 429, 429]
    other = c.get("/report?t=bad", base_url=BASE, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 403


def test_reports_per_profile_are_capped(store, signer):
    c = create_app(store, signer, {"reports_per_hour_per_profile": 2}).test_client()
    codes = [c.get(_path(_links(signer).report_url), base_url=BASE).status_code for _ in range(3)]
    assert codes == [200, 200, 429] and len(_reports(store)) == 2


def test_ask_form_then_post_creates_a_request(client, store, signer):
    ask = _links(signer, category="gambling", language="ro").ask_url
    r = client.get(_path(ask), base_url=BASE)
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and 'action="/ask"' in body and "Cere acces" in body
    token = re.search(r'name="t" value="([^"]+)"', body)[1]
    assert store.query("SELECT count(*) FROM access_requests")[0][0] == 0  # GET writes nothing
    r = client.post("/ask", data={"t": token, "message": "for homework " + "x" * 900},
                    base_url=BASE, headers={"Origin": BASE})
    assert r.status_code == 200
    [req] = store.query("SELECT * FROM access_requests")
    assert (req.profile, req.url, req.category, req.status) == (
        "ana", URL, "gambling", "pending")
    assert req.message.startswith("for homework") and len(req.message) == 500
    # Served on port 443 too (the proxy hosts the app for https://kidgate.internal).
    ask2 = _links(signer, category="gambling").ask_url
    https = client.get(_path(ask2), base_url="https://kidgate.internal").get_data(as_text=True)
    token2 = re.search(r'name="t" value="([^"]+)"', https)[1]
    assert client.post("/ask", data={"t": token2}, base_url="https://kidgate.internal",
                       headers={"Origin": "https://kidgate.internal"}).status_code == 200
    again = client.post("/ask", data={"t": token}, base_url=BASE)
    assert again.status_code == 403 and "deja folosit" in again.get_data(as_text=True)


def test_ask_refuses_cross_site_posts_and_get_with_side_effects(client, store, signer):
    token = _links(signer, category="gambling").ask_url.split("t=")[1]
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        assert client.post("/ask", data={"t": token}, base_url=BASE,
                           headers=headers).status_code == 403
    assert client.post("/ask", data={"t": "forged.token"}, base_url=BASE).status_code == 403
    assert client.post("/report", base_url=BASE).status_code == 405
    assert store.query("SELECT count(*) FROM access_requests")[0][0] == 0


def test_oversized_post_is_refused(client, signer):
    token = _links(signer, category="gambling").ask_url.split("t=")[1]
    r = client.post("/ask", data={"t": token, "message": "x" * 40_000}, base_url=BASE)
    assert r.status_code == 413


def test_static_assets(client):
    css = client.get("/static/kidgate.css", base_url=BASE)
    js = client.get("/static/copy.js", base_url=BASE)
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert js.status_code == 200 and "javascript" in js.mimetype and b"clipboard" in js.data
    assert client.get("/static/../web.py", base_url=BASE).status_code == 404


# -- a real HTTP server: raw hostile requests ------------------------------------------------

@pytest.fixture
def server(app) -> Iterator[int]:
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield srv.server_port
    finally:
        srv.shutdown()


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request)
        chunks = []
        while True:
            data = s.recv(65536)
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)


def test_real_server_report_flow_and_replay(server, store, signer):
    link = _links(signer).report_url
    with httpx.Client(base_url=f"http://127.0.0.1:{server}", headers={"Host": "kidgate.internal"},
                      follow_redirects=False) as c:
        assert c.get(_path(link)).status_code == 200
        assert c.get(_path(link)).status_code == 403
    assert len(_reports(store)) == 1


def test_real_server_header_injection_in_query(server, signer):
    link = _path(_links(signer).report_url)
    resp = _raw(server, b"GET " + link.encode() + b"%0d%0aSet-Cookie:%20a=b%0d%0aX-Evil:%201"
                b" HTTP/1.1\r\nHost: kidgate.internal\r\nConnection: close\r\n\r\n")
    head = resp.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 403") and b"set-cookie" not in head and b"x-evil" not in head


def test_real_server_overlong_url(server):
    resp = _raw(server, b"GET /report?t=" + b"A" * 200_000 + b" HTTP/1.1\r\n"
                b"Host: kidgate.internal\r\nConnection: close\r\n\r\n")
    assert resp.split(b" ", 2)[1] in (b"403", b"414", b"431")  # refused, not a 5xx


def test_real_server_javascript_and_data_urls_cannot_be_reported(server, store, signer):
    import base64
    import json
    with httpx.Client(base_url=f"http://127.0.0.1:{server}",
                      headers={"Host": "kidgate.internal"}) as c:
        for url in ["javascript:alert(document.cookie)", "data:text/html,<script>x</script>"]:
            assert _links(signer, url=url).report_url is None
            body = base64.urlsafe_b64encode(json.dumps(
                {"v": 1, "a": "report", "u": url, "c": "sexual", "p": "ana", "r": "", "l": "en",
                 "x": time.time() + 60, "n": "abcdefghijklmnop"}).encode()).rstrip(b"=").decode()
            mac = base64.urlsafe_b64encode(signer._mac(body)).rstrip(b"=").decode()
            r = c.get("/report", params={"t": f"{body}.{mac}"})
            assert r.status_code == 403 and "javascript:" not in r.text and "data:" not in r.text
    assert _reports(store) == []


def test_real_server_crlf_in_header_values_is_harmless(server, signer):
    link = _path(_links(signer).report_url)
    resp = _raw(server, b"GET " + link.encode() + b" HTTP/1.1\r\nHost: kidgate.internal\r\n"
                b"X-Forwarded-For: 1.2.3.4\rSet-Cookie: x=y\r\nConnection: close\r\n\r\n")
    head = resp.split(b"\r\n\r\n", 1)[0].lower()
    assert b"set-cookie" not in head


def test_config_errors_and_user_hotline_file(store, signer, tmp_path):
    with pytest.raises(ValueError, match="colour"):
        create_app(store, signer, {"colour": "red"})
    with pytest.raises(ValueError, match="requests_per_minute"):
        create_app(store, signer, {"requests_per_minute": 0})
    path = tmp_path / "hotlines.yaml"
    path.write_text("hotlines:\n  MD:\n    name: Siguronline\n    report_url: https://siguronline.md/\n"
                    "directory:\n  name: INHOPE\n  report_url: https://www.inhope.org/EN/our-members\n")
    c = create_app(store, signer, {"country": "MD", "directory": str(path)}).test_client()
    body = c.get(_path(_links(signer).report_url), base_url=BASE).get_data(as_text=True)
    assert "Siguronline" in body and "https://siguronline.md/" in body


def test_the_reported_url_is_never_fetched(client, store, signer):
    """Report a URL served by a local server: the server must see no request at all."""
    import http.server
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *a: object) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}/abuse.html"
        r = client.get(_path(_links(signer, url=url).report_url), base_url=BASE)
        assert r.status_code == 200 and url in r.get_data(as_text=True)
        time.sleep(0.2)
        assert hits == [] and _reports(store)[0]["url"] == url
    finally:
        srv.shutdown()
        srv.server_close()

def test_home_page_names_hotline_and_helpline(tmp_path):
    from reporting import tokens, web
    from reporting.store import Store
    app = web.create_app(Store(tmp_path / "k.db"), tokens.Signer(b"k" * 32),
                         {"country": "GB", "helpline": "0800 1111"})
    r = app.test_client().get("/", headers={"Host": "kidgate.internal"})
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert "Internet Watch Foundation" in body and "0800 1111" in body and "http://mitm.it/" in body
    r = app.test_client().get("/", headers={"Host": "kidgate.internal", "Accept-Language": "ro-RO,ro;q=0.9"})
    assert "kidgate are grijă" in r.get_data(as_text=True)


def test_the_app_renders_with_the_shared_setup(app, client, signer):
    """Autoescaping and the shared catalogues; refusals in the child's language."""
    env = app.jinja_env
    assert env.autoescape is True and "jinja2.ext.InternationalizationExtension" in env.extensions
    assert env.get_template("email/footer.html") is not None  # the shared loader is searched too
    report = _path(_links(signer, language="ro").report_url)
    assert client.get(report, base_url=BASE).status_code == 200
    again = client.get(report, base_url=BASE)  # a report link works once
    body = again.get_data(as_text=True)
    assert again.status_code == 403 and 'lang="ro"' in body
    assert "Acest link nu poate fi folosit" in body
    assert "Acest link a fost deja folosit. Acțiunea ta a fost înregistrată." in body
