"""A parent is told about an access request and decides with one click: alert on a new
request (local SMTP server and webhook), decision links (GET confirms, POST decides), refusals,
flood protection and config errors. Real SQLite throughout."""

from __future__ import annotations

import email
import re
import time

import pytest

from reporting import access
from reporting.access import ApprovalIndex
from reporting.alerts import AlertConfig, AlertEvent, Alerter
from reporting.links import block_links
from reporting.tokens import DECIDE_TTL, Signer
from reporting.web import CSP, create_app
from storage import tables as t
from tests.reporting.conftest import alert_config, mail_part

BASE = "http://kidgate.internal"
URL = "https://bets.example/games/poker?user=ana&q=secret#top"
LINK = re.compile(r"http://kidgate\.internal/decide\?t=[A-Za-z0-9_.-]+")


def _config(smtp_port: int | None, hook: str | None, **rule: object) -> dict[str, object]:
    return alert_config(smtp_port, hook, {"name": "parents", "profiles": ["ana"],
                                          "access_requests": True, **rule},
                        "kidgate@home.example", "mum@home.example")


@pytest.fixture
def make(store, signer):
    """``make(config)`` -> (alerter, test client) wired as the proxy wires them."""
    made: list[Alerter] = []

    def build(cfg: dict[str, object]):
        alerter = Alerter(cfg, store, signer=signer)
        made.append(alerter)
        app = create_app(store, signer, {"requests_per_minute": 1000},
                         on_access_request=alerter.notify_access_request)
        return alerter, app.test_client()

    yield build
    for a in made:
        a.close()


@pytest.fixture
def asked(make, signer, webhook_server):
    """A child asked for URL and the parent's webhook got the message: (client, request id,
    decision links by name)."""
    hook, hooks = webhook_server
    alerter, client = make(_config(None, hook))
    rid = _ask(client, signer)
    assert alerter.wait_idle(10)
    return client, rid, _links_from_hook(hooks)


def _ask(client, signer, url: str = URL, message: str = "for homework", profile: str = "ana",
         reason: str = "list ut1; features: roulette, jackpot") -> int:
    """The child's side: open the ask link from the block page, send the form."""
    ask = block_links(url=url, category="gambling", profile_name=profile, reason=reason,
                      signer=signer, language="en").ask_url
    token = ask.split("t=")[1]
    r = client.post("/ask", data={"t": token, "message": message}, base_url=BASE,
                    headers={"Origin": BASE})
    assert r.status_code == 200, r.get_data(as_text=True)
    return max(req.id for req in access.list_requests(client.application.extensions[
        "kidgate_reporting"].store, status=None))


def _token(link: str) -> str:
    return link.split("t=", 1)[1]


def _post(client, link: str, **headers: str):
    return client.post("/decide", data={"t": _token(link)}, base_url=BASE,
                       headers={"Origin": BASE, **headers})


def _links_from_hook(hooks) -> dict[str, str]:
    [(_, payload)] = hooks.posts
    return payload["links"]


def _swapped(token: str) -> str:
    """``token`` with its decision changed to approve_always, keeping the old signature."""
    import base64
    import json
    body, mac = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["d"] = "approve_always"
    new = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"{new}.{mac}"


def _state(store) -> tuple[list[str], int]:
    """Request statuses and the number of approvals: what a decision would change."""
    statuses = [r.status for r in store.query("SELECT status FROM access_requests ORDER BY id")]
    return statuses, store.query("SELECT count(*) FROM approvals")[0][0]


# -- the alert ---------------------------------------------------------------------------------

def test_new_request_sends_one_email_and_one_webhook_with_working_links(
        make, store, signer, smtp_server, webhook_server):
    port, inbox = smtp_server
    hook, hooks = webhook_server
    alerter, client = make(_config(port, hook))
    rid = _ask(client, signer, message="for homework\r\nBcc: spy@evil.example")
    assert alerter.wait_idle(10)
    assert len(inbox.messages) == 1 and len(hooks.posts) == 1
    _, rcpts, raw = inbox.messages[0]
    assert rcpts == ["mum@home.example"]
    msg = email.message_from_bytes(raw)
    assert msg["Subject"] == "kidgate: ana asks for access to bets.example"
    assert msg["Bcc"] is None
    body = mail_part(raw)
    assert "Profile: ana" in body and "Site: https://bets.example/games/poker\n" in body
    assert "Blocked as: betting and gambling (list ut1)" in body
    assert "Message from ana: for homework Bcc: spy@evil.example" in body
    assert f"kidgate requests approve {rid}" in body
    mail_links = LINK.findall(body)
    assert len(mail_links) == 4 and set(mail_links) == set(_links_from_hook(hooks).values())
    assert "Always allow the whole site bets.example: http://" in body
    for link in mail_links:  # each one opens its confirmation page
        r = client.get(link[len(BASE):], base_url=BASE)
        assert r.status_code == 200 and 'action="/decide"' in r.get_data(as_text=True)
        assert "<dd>betting and gambling (list ut1)</dd>" in r.get_data(as_text=True)
    rows = store.query("SELECT status, url, category FROM alert_log")
    assert [(r.status, r.url, r.category) for r in rows] == [
        ("sent", "https://bets.example/games/poker", "gambling")]

    # The child presses "ask" again for the same page: same request, no second message.
    assert _ask(client, signer, message="please") == rid
    assert alerter.wait_idle(10)
    assert len(inbox.messages) == 1 and len(hooks.posts) == 1


def test_webhook_payload_carries_the_facts_and_no_page_content(make, signer, webhook_server):
    hook, hooks = webhook_server
    alerter, client = make(_config(None, hook))
    rid = _ask(client, signer, message="need it\x00 for school")
    assert alerter.wait_idle(10)
    [(headers, payload)] = hooks.posts
    assert headers["Content-Type"] == "application/json"
    assert set(payload) == {"kind", "rule", "request_id", "profile", "category", "url", "host",
                            "time", "reason", "message", "links", "suppressed_since_last"}
    assert payload["kind"] == "kidgate.access_request" and payload["rule"] == "parents"
    assert (payload["request_id"], payload["profile"], payload["category"], payload["host"]) == (
        rid, "ana", "gambling", "bets.example")
    assert payload["url"] == "https://bets.example/games/poker"
    assert payload["reason"] == "list ut1" and payload["message"] == "need it for school"
    assert set(payload["links"]) == {"approve_1h", "approve_1d", "approve_always", "deny"}
    text = str(payload)
    for leaked in ("roulette", "jackpot", "secret", "user=ana", "#top"):
        assert leaked not in text


def test_only_rules_asking_for_requests_and_covering_the_profile_are_told(
        make, store, signer, webhook_server):
    hook, hooks = webhook_server
    cfg = {"rules": [{"name": "safeguarding", "categories": ["self_harm"], "webhook": hook},
                     {"name": "parents", "profiles": ["ben"], "access_requests": True,
                      "webhook": hook}]}
    alerter, client = make(cfg)
    _ask(client, signer)  # ana: neither rule
    assert alerter.wait_idle(10) and hooks.posts == []
    _ask(client, signer, profile="ben")
    assert alerter.wait_idle(10)
    assert [p["profile"] for _, p in hooks.posts] == ["ben"]
    # An access-request-only rule is no category rule.
    assert alerter.notify(AlertEvent("ben", "https://x.example/", "self_harm", "", time.time())) == 1


def test_asking_never_waits_for_the_mail_server(store, signer):
    from tests.reporting.conftest import free_port
    cfg = _config(free_port(), None)
    cfg["smtp"]["timeout"] = 3  # type: ignore[index]
    alerter = Alerter(cfg, store, signer=signer)
    client = create_app(store, signer, {"requests_per_minute": 1000},
                        on_access_request=alerter.notify_access_request).test_client()
    start = time.monotonic()
    for i in range(3):
        _ask(client, signer, url=f"https://bets.example/{i}")
    assert time.monotonic() - start < 1.5
    alerter.close(0.1)


def test_a_failing_notifier_does_not_lose_the_childs_request(store, signer):
    def broken(event: object) -> None:
        raise RuntimeError("alerter gone")
    client = create_app(store, signer, on_access_request=broken).test_client()
    _ask(client, signer)
    assert _state(store) == (["pending"], 0)


# -- decision links ----------------------------------------------------------------------------

def test_get_of_a_link_changes_nothing(make, store, signer, webhook_server):
    hook, hooks = webhook_server
    alerter, client = make(_config(None, hook))
    _ask(client, signer)
    assert alerter.wait_idle(10)
    nonces = store.query("SELECT count(*) FROM used_tokens")[0][0]
    for _ in range(2):  # a mail scanner, then a link preview
        for decision, link in _links_from_hook(hooks).items():
            r = client.get(link[len(BASE):], base_url=BASE)
            body = r.get_data(as_text=True)
            assert r.status_code == 200 and r.headers["Content-Security-Policy"] == CSP
            assert "https://bets.example/games/poker?user=ana&amp;q=secret" in body
            assert 'method="post"' in body and "Location" not in r.headers
            expected = {"approve_1h": "allow this page for 1 hour",
                        "approve_1d": "allow this page for 1 day",
                        "approve_always": "always allow the whole site bets.example",
                        "deny": "say no"}[decision]
            assert expected in body
    assert _state(store) == (["pending"], 0)
    assert store.query("SELECT count(*) FROM used_tokens")[0][0] == nonces
    assert client.head(_links_from_hook(hooks)["approve_1h"][len(BASE):],
                       base_url=BASE).status_code == 200
    assert _state(store) == (["pending"], 0)


@pytest.mark.parametrize("decision, seconds, scope", [
    ("approve_1h", 3600, "url"), ("approve_1d", 86400, "url"), ("approve_always", None, "host")])
def test_post_approves_and_the_index_sees_it(make, store, signer, webhook_server,
                                             decision, seconds, scope):
    hook, hooks = webhook_server
    alerter, client = make(_config(None, hook))
    rid = _ask(client, signer)
    assert alerter.wait_idle(10)
    index = ApprovalIndex(store, check_interval=0)
    assert index.is_approved("ana", URL) is None
    before = time.time()
    r = _post(client, _links_from_hook(hooks)[decision])
    assert r.status_code == 200 and "Done" in r.get_data(as_text=True)
    req = access.get_request(store, rid)
    assert (req.status, req.decided_by, req.scope) == ("approved", "link", scope)
    if seconds is None:
        assert req.expires is None
    else:
        assert before + seconds <= req.expires <= time.time() + seconds
    approval = index.is_approved("ana", URL)
    assert approval is not None and approval.approved_by == "link"
    other_page = index.is_approved("ana", "https://bets.example/other")
    assert (other_page is not None) == (scope == "host")
    assert index.is_approved("ben", URL) is None
    index.close()


def test_post_denies(make, store, signer, webhook_server):
    hook, hooks = webhook_server
    alerter, client = make(_config(None, hook))
    rid = _ask(client, signer, message="")
    assert alerter.wait_idle(10)
    r = _post(client, _links_from_hook(hooks)["deny"])
    assert r.status_code == 200 and "say no" in r.get_data(as_text=True)
    req = access.get_request(store, rid)
    assert (req.status, req.decided_by) == ("denied", "link")
    assert _state(store) == (["denied"], 0)


def test_romanian_confirmation_page(make, store, signer, webhook_server):
    hook, hooks = webhook_server
    alerter, client = make(_config(None, hook))
    ask = block_links(url=URL, category="gambling", profile_name="ana", reason="list ut1",
                      signer=signer, language="ro").ask_url
    client.post("/ask", data={"t": _token(ask)}, base_url=BASE)
    assert alerter.wait_idle(10)
    body = client.get(_links_from_hook(hooks)["approve_always"][len(BASE):],
                      base_url=BASE).get_data(as_text=True)
    assert 'lang="ro"' in body and "permite mereu tot site-ul bets.example" in body
    assert "Confirmă" in body and "<dd>pariuri și jocuri de noroc (list ut1)</dd>" in body


def test_replayed_tampered_expired_and_wrong_action_tokens_are_refused(asked, store, signer):
    client, rid, links = asked

    tampered = _token(links["deny"])[:-3] + ("AAA" if not links["deny"].endswith("AAA")
                                              else "BBB")
    expired = signer.issue("decide", url=URL, category="gambling", profile="ana",
                           request_id=rid, decision="approve_always", ttl=DECIDE_TTL,
                           now=time.time() - DECIDE_TTL - 10)
    forged = Signer(b"f" * 32).issue("decide", url=URL, category="gambling", profile="ana",
                                     request_id=rid, decision="approve_always")
    ask_token = _token(block_links(url=URL, category="gambling", profile_name="ana",
                                   signer=signer).ask_url)
    cases = {tampered: "not valid", _swapped(_token(links["approve_1h"])): "not valid",
             expired: "expired", forged: "not valid", ask_token: "not valid", "": "not valid"}
    for token, text in cases.items():
        for r in (client.get(f"/decide?t={token}", base_url=BASE),
                  client.post("/decide", data={"t": token}, base_url=BASE,
                              headers={"Origin": BASE})):
            assert r.status_code == 403, token
            assert text in r.get_data(as_text=True)
    # A decision token is no ask or report token either.
    decide_token = _token(links["approve_always"])
    assert client.post("/ask", data={"t": decide_token}, base_url=BASE).status_code == 403
    assert client.get(f"/report?t={decide_token}", base_url=BASE).status_code == 403
    # Cross-site POSTs are refused (a page elsewhere cannot make a parent's browser approve).
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        assert _post(client, links["approve_always"], **headers).status_code == 403
    assert _state(store) == (["pending"], 0)

    # Replayed: the link worked once; the second use, GET or POST, is refused as used.
    assert _post(client, links["approve_1h"]).status_code == 200
    for r in (_post(client, links["approve_1h"]),
              client.get(links["approve_1h"][len(BASE):], base_url=BASE)):
        assert r.status_code == 403 and "already used" in r.get_data(as_text=True)
    assert store.query("SELECT count(*) FROM approvals")[0][0] == 1


def test_a_link_for_a_request_answered_elsewhere_says_so(asked, store, signer):
    client, rid, links = asked
    access.deny(store, rid, "cli")  # the parent used the command line
    for r in (client.get(links["approve_1d"][len(BASE):], base_url=BASE),
              _post(client, links["approve_1d"])):
        body = r.get_data(as_text=True)
        assert r.status_code == 200 and "already answered (denied)" in body
        assert 'method="post"' not in body
    assert _state(store) == (["denied"], 0)
    # Another link still says "already answered", not "already used": its token was not spent.
    r = _post(client, links["approve_1d"])
    assert r.status_code == 200 and "already answered" in r.get_data(as_text=True)


def test_second_link_after_the_first_decided(asked, store, signer):
    client, rid, links = asked
    assert _post(client, links["approve_1h"]).status_code == 200
    r = _post(client, links["deny"])
    assert r.status_code == 200 and "already answered (approved)" in r.get_data(as_text=True)
    assert access.get_request(store, rid).status == "approved"
    assert _state(store) == (["approved"], 1)


def test_a_link_for_another_database_does_nothing(make, store, signer, webhook_server):
    """kidgate.db deleted while the secret stayed: request ids start again at 1, and an old
    link must not decide the new request with the same id."""
    hook, hooks = webhook_server
    alerter, client = make(_config(None, hook))
    _ask(client, signer)
    stale = signer.issue("decide", url="https://other.example/", category="gambling",
                         profile="ana", request_id=1, decision="approve_always")
    for r in (client.get(f"/decide?t={stale}", base_url=BASE),
              client.post("/decide", data={"t": stale}, base_url=BASE)):
        assert r.status_code == 403
    r = client.get("/decide?t=" + signer.issue("decide", url=URL, category="gambling",
                                               profile="ana", request_id=99, decision="deny"),
                   base_url=BASE)
    assert r.status_code == 404
    assert _state(store) == (["pending"], 0)


# -- flood protection --------------------------------------------------------------------------

def test_a_child_cannot_flood_the_parent(make, store, signer, webhook_server):
    hook, hooks = webhook_server
    alerter, client = make(_config(None, hook, access_requests_per_hour=3))
    for i in range(5):
        _ask(client, signer, url=f"https://bets.example/{i}")
    _ask(client, signer, url="https://bets.example/ben", profile="ben")  # no rule for ben
    assert alerter.wait_idle(10)
    assert [p["url"] for _, p in hooks.posts] == [f"https://bets.example/{i}" for i in range(3)]
    statuses = [r[0] for r in store.query("SELECT status FROM alert_log ORDER BY id")]
    assert statuses == ["sent"] * 3 + ["suppressed"] * 2
    assert len(access.list_requests(store)) == 6  # every request is kept, pending
    # An hour later the next message goes out and says how many were held back.
    with store.transaction() as conn:
        conn.execute(t.alert_log.update().values(created=t.alert_log.c.created - 3601))
    _ask(client, signer, url="https://bets.example/later")
    assert alerter.wait_idle(10)
    assert hooks.posts[-1][1]["suppressed_since_last"] == 2
    assert len(hooks.posts) == 4


def test_the_flood_limit_is_per_profile(make, store, signer, webhook_server):
    hook, hooks = webhook_server
    alerter, client = make(_config(None, hook, profiles=["*"], access_requests_per_hour=1))
    for profile in ("ana", "ana", "ben"):
        _ask(client, signer, url=f"https://bets.example/{len(hooks.posts)}{profile}",
             profile=profile)
        assert alerter.wait_idle(10)
    assert sorted(p["profile"] for _, p in hooks.posts) == ["ana", "ben"]


# -- configuration -----------------------------------------------------------------------------

@pytest.mark.parametrize("rule, key", [
    ({"access_requests": "yes", "webhook": "http://h/"}, r"rules\[0\]\.access_requests:"),
    ({"access_requests": True, "access_requests_per_hour": 0, "webhook": "http://h/"},
     r"rules\[0\]\.access_requests_per_hour"),
    ({"access_requests": True, "access_requests_per_hour": "10", "webhook": "http://h/"},
     r"rules\[0\]\.access_requests_per_hour"),
    ({"categories": ["self_harm"], "access_requests_per_hour": 5, "webhook": "http://h/"},
     r"rules\[0\]\.access_requests_per_hour: only with"),
    ({"webhook": "http://h/"}, r"rules\[0\]: needs 'categories' and/or 'access_requests"),
    ({"access_requests": True}, r"rules\[0\]: needs 'email' and/or 'webhook'"),
    ({"access_requests": True, "categories": [], "webhook": "http://h/"},
     r"rules\[0\]\.categories"),
    ({"access_requests": True, "email": ["mum@home.example"]}, r"rules\[0\]\.email: needs"),
])
def test_config_errors_name_the_key(rule, key):
    with pytest.raises(ValueError, match=key):
        AlertConfig.from_mapping({"rules": [rule]})


def test_config_defaults():
    [rule] = AlertConfig.from_mapping(
        {"rules": [{"access_requests": True, "webhook": "http://h/"}]}).rules
    assert rule.access_requests and rule.access_requests_per_hour == 10
    assert rule.profiles == frozenset({"*"}) and rule.categories == frozenset()
    [old] = AlertConfig.from_mapping(
        {"rules": [{"categories": ["self_harm"], "webhook": "http://h/"}]}).rules
    assert not old.access_requests and not old.wants_access_request("ana")


def test_the_proxy_config_validates_the_new_keys(tmp_path):
    from kidgate.settings import load  # the core's loader with the alerts section checked
    from policies.config import ConfigError
    path = tmp_path / "k.yaml"
    path.write_text("profiles:\n  ana: {age: 11}\nalerts:\n  rules:\n    - {access_requests: maybe, webhook: 'http://h/'}\n")
    with pytest.raises(ConfigError, match="access_requests"):
        load(path)


def test_decide_tokens_bind_one_request_and_one_known_decision(signer):
    fields = dict(url=URL, category="gambling", profile="ana")
    for bad in ({}, {"request_id": 3}, {"decision": "deny"},
                {"request_id": 0, "decision": "deny"}, {"request_id": 3, "decision": "approve_1y"}):
        with pytest.raises(ValueError):
            signer.issue("decide", **fields, **bad)
    with pytest.raises(ValueError):
        signer.issue("ask", **fields, request_id=3, decision="deny")
    claims = signer.verify(signer.issue("decide", **fields, request_id=3, decision="deny"),
                           "decide")
    assert (claims.request_id, claims.decision, claims.profile) == (3, "deny", "ana")
    assert signer.verify(signer.issue("ask", **fields), "ask").request_id is None
