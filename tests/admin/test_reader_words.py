"""The admin app's fixed words and internal keys reach the reader in their language: a block
found after reading the page, an answered request's scope, what found a block (the dashboard's
chart, the event log's filter, the test page) and the audit log's actions. The keys stay where
no one reads them (an option's value, a data attribute) for scripts."""

from __future__ import annotations

import re

import pytest

import pages
from admin import accounts, audit, configedit
from kidgate import stats
from reporting import access
from reporting.store import Store
from tests.admin.helpers import Env, csrf, decision, visible_text, write_log

LANGS = ("en", "ro")


def _tagged(page: str, attribute: str, tag: str = "[a-z]+") -> dict[str, str]:
    """The visible text of each element with ``attribute``, by the attribute's value."""
    return {m.group(2): visible_text(m.group(3)) for m in re.finditer(
        rf'<({tag})[^>]*\b{attribute}="([^"]+)"[^>]*>(.*?)</\1>', page, re.S)}


def _in_reader_words(lang: str, shown: str, english: str) -> None:
    """``shown`` is the reader's words: in Romanian, neither the English words nor a key."""
    if lang == "ro":
        assert english not in shown, (english, shown)


@pytest.mark.parametrize("lang", LANGS)
def test_the_event_log_says_a_block_came_after_reading_the_page(sqlite_env: Env,
                                                                 lang: str) -> None:
    env = sqlite_env
    write_log(env.data_dir, [decision("late.test", phase="response", sources=["classifier"],
                                      category="violence", reasons=["classifier 0.97"]),
                             decision("early.test")])
    page = env.reader(lang).get("/events").text
    rows = dict(re.findall(r'class="host">([^<]+)</td>\s*<td data-label="[^"]*">([^<]*)</td>',
                           page))
    blocked = pages.translate(lang, "blocked")
    after = pages.translate(lang, "(after reading the page)")
    assert rows == {"late.test": f"{blocked} {after}", "early.test": blocked}
    text = visible_text(page)
    assert "(page)" not in text
    if lang == "ro":
        assert "(după citirea paginii)" in text and "reading" not in text


@pytest.mark.parametrize("lang", LANGS)
def test_the_event_log_filters_by_source_in_words(sqlite_env: Env, lang: str) -> None:
    env = sqlite_env
    write_log(env.data_dir, [decision("late.test", sources=["schedule"], category=None,
                                      reasons=["bedtime"]),
                             decision("listed.test")])
    reader = env.reader(lang)
    page = reader.get("/events").text
    select = page.split('id="f-source"')[1].split("</select>")[0]
    options = dict(re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select))
    assert options == {"": pages.translate(lang, "any"),
                       **{k: pages.source_name(lang, k).replace("'", "&#39;")
                          for k in stats.SOURCES}}
    for key in stats.SOURCES:  # a name, never the key, in either language
        assert options[key] != key
        _in_reader_words(lang, options[key], pages.source_name("en", key))
    page = reader.get("/events?source=schedule").text  # the value sent is still the key
    assert "late.test" in page and "listed.test" not in page
    assert re.search(r'<option value="schedule" selected>'
                     + re.escape(pages.source_name(lang, "schedule")) + "<", page)


@pytest.mark.parametrize("lang", LANGS)
def test_the_dashboard_names_what_found_each_block(sqlite_env: Env, lang: str) -> None:
    env = sqlite_env
    write_log(env.data_dir, [
        decision("a.test", sources=["list"]), decision("b.test", sources=["list"]),
        decision("c.test", sources=["classifier"], category="offensive"),
        decision("d.test", sources=["label"], category="sexual"),
        decision("e.test", sources=["policy"], category=None),
        decision("f.test", sources=["schedule"], category=None),
        decision("g.test", sources=["error"], category=None),
        decision("h.test", sources=["mystery"])])
    page = env.reader(lang).get("/").text
    chart = page.split('data-chart="sources"')[1].split("</figure>")[0]
    bars = {m.group(1): m.group(2) for m in re.finditer(
        r'data-label="([^"]+)" data-value="\d+">\s*<title>([^<]*): \d+</title>', chart)}
    expected = {k: pages.source_name(lang, k)
                for k in ("list", "classifier", "label", "policy", "schedule", "error", "other")}
    assert {k: v.replace("&#39;", "'") for k, v in bars.items()} == expected
    text = visible_text(chart)
    for key, name in expected.items():
        assert name[:10] in text  # a long label is cut in the chart, whole in its tooltip
        _in_reader_words(lang, text, pages.source_name("en", key))
    rest = text
    for name in sorted(expected.values(), key=len, reverse=True):
        rest = rest.replace(name, " ")
    assert not re.search(r"\b(list|classifier|label|policy|schedule|error|other|mystery)\b",
                         rest), rest


@pytest.mark.parametrize("lang", LANGS)
def test_answered_requests_say_what_was_opened_in_words(sqlite_env: Env, lang: str) -> None:
    env = sqlite_env
    store = Store(env.db)
    site = access.request_access(store, profile="anna", url="http://site.test/a",
                                 category="gambling", reason="list ut1")
    one = access.request_access(store, profile="anna", url="http://page.test/b",
                                category="gambling", reason="list ut1")
    access.approve(store, site.id, "1h", "mama", scope="host")
    access.approve(store, one.id, "1h", "mama", scope="url")
    page = env.reader(lang).get("/requests").text
    answered = page.split('id="answered"')[1].split("</table>")[0]
    scopes = _tagged(answered, "data-scope", "span")
    assert scopes == {"host": "(" + pages.translate(lang, "the whole site") + ")",
                      "url": "(" + pages.translate(lang, "this page") + ")"}
    text = visible_text(answered)
    assert "(host)" not in text and "(url)" not in text
    if lang == "ro":
        assert "the whole site" not in text and "this page" not in text


@pytest.mark.parametrize("lang", LANGS)
def test_the_audit_log_names_every_action_in_words(sqlite_env: Env, lang: str) -> None:
    env = sqlite_env
    reader = env.reader(lang)  # signing in is recorded: a real action among the rest
    for action in audit.ACTION_NAMES:
        audit.record(env.db, account=None, address="192.168.1.2", action=action)
    audit.record(env.db, account=None, address="192.168.1.2", action="old action")
    page = reader.get("/audit").text
    cells = {m.group(1): visible_text(m.group(2)) for m in re.finditer(
        r'<td data-action="([^"]+)">(.*?)</td>', page, re.S)}
    assert cells == {**{a: audit.action_name(lang, a) for a in audit.ACTION_NAMES},
                     "old action": "old action"}  # an action without words: as recorded
    assert cells["sign-in"] == {"en": "signed in", "ro": "s-a autentificat"}[lang]
    for action, shown in cells.items():
        if lang == "ro" and action != "old action":
            assert shown not in (action, audit.ACTION_NAMES[action]), action


def test_every_action_the_admin_records_has_words() -> None:
    """Each action a view records (a literal or one of a few built from a choice) is named."""
    from pathlib import Path

    import admin
    root = Path(admin.__file__).parent
    source = "\n".join(p.read_text() for p in root.rglob("*.py"))
    literals = set(re.findall(r'action="([^"]+)"', source))
    literals |= set(re.findall(r'action, notice = "([^"]+)"', source))
    literals |= set(re.findall(r'_write\(profile, "([^"]+)"', source))
    literals |= {f"{d} request" for d in ("approve", "deny", "revoke")}
    literals |= {"allow site", "deny site", "new group", "edit group"}
    assert len(literals) > 25
    assert literals - set(audit.ACTION_NAMES) == set()
    for action, words in audit.ACTION_NAMES.items():
        assert audit.action_name("ro", action) != words, action  # translated


@pytest.mark.parametrize("lang", LANGS)
def test_the_test_page_names_what_found_the_block(sqlite_env: Env, lang: str) -> None:
    reader = sqlite_env.reader(lang)
    token = csrf(reader.get("/test").text)
    page = reader.post("/test", data={"csrf": token, "who": "profile", "profile": "anna",
                                      "url": "https://www.tiktok.com/@someone"}).text
    reasons = page.split('id="reasons"', 1)[1].split("</ul>")[0]
    found = _tagged(reasons, "data-source", "strong")
    assert found and found == {k: pages.source_name(lang, k) for k in found}, reasons
    for key in found:
        assert found[key] != key
        _in_reader_words(lang, found[key], pages.source_name("en", key))


def _notice(page: str) -> str:
    return visible_text(page.split("<main", 1)[1].split("</main>", 1)[0])


@pytest.mark.parametrize("lang", LANGS)
def test_an_error_page_speaks_the_readers_language(sqlite_env: Env, lang: str) -> None:
    reader = sqlite_env.reader(lang)
    r = reader.get("/no-such-page")
    assert r.status_code == 404
    text = visible_text(r.text)
    assert pages.translate(lang, "There is no such page here.") in text
    assert "The requested URL was not found" not in text  # the web framework's English


@pytest.mark.parametrize("lang", LANGS)
def test_refusals_of_the_log_requests_and_accounts_speak_the_readers_language(
        sqlite_env: Env, lang: str) -> None:
    env = sqlite_env
    reader = env.reader(lang)
    nothing = pages.translate(lang, "Nothing was changed: {error}", error="")
    # The event log: a decision that cannot be turned into an entry.
    token = csrf(reader.get("/events").text)
    r = reader.post("/events/wrong", data={"csrf": token, "profile": "anna", "host": "x.test",
                                           "action": "maybe", "scope": "profile"})
    assert r.status_code == 400
    words = {"en": "this decision cannot be changed from the log",
             "ro": "această decizie nu poate fi schimbată din jurnal"}[lang]
    assert nothing + words in _notice(r.text)
    # A request answered twice (another adult, a link or the CLI was first).
    store = Store(env.db)
    req = access.request_access(store, profile="anna", url="http://site.test/",
                                category="gambling", reason="list ut1")
    access.approve(store, req.id, "1h", "dad")
    token = csrf(reader.get("/requests").text)
    r = reader.post(f"/requests/{req.id}/approve", data={"csrf": token, "duration": "1h",
                                                        "scope": "url"})
    assert r.status_code == 400
    words = {"en": f"request #{req.id} is already approved",
             "ro": f"cererea #{req.id} este deja aprobată"}[lang]
    assert nothing + words in _notice(r.text)
    # The last owner.
    name = {"en": "owner", "ro": "mama"}[lang]  # the reader's account
    owners = [a for a in accounts.list_accounts(env.db) if a.role == "owner"]
    me = next(a for a in owners if a.username == name)
    for other in owners:
        if other is not me:
            accounts.remove_account(env.db, other.id)
    token = csrf(reader.get("/accounts").text)
    r = reader.post(f"/accounts/{me.id}/remove", data={"csrf": token})
    assert r.status_code == 400
    words = {"en": "the last owner cannot be removed",
             "ro": "ultimul proprietar nu poate fi șters"}[lang]
    assert nothing + words in _notice(r.text)
    if lang == "ro":
        assert "cannot" not in _notice(r.text)


def test_refusals_of_access_requests_marked_for_translation_are_the_ones_it_raises() -> None:
    import ast
    from pathlib import Path

    from admin.views import requests as requests_view
    tree = ast.parse(Path(access.__file__).read_text())
    literals = {n.value for n in ast.walk(tree)
                if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    assert set(requests_view.ACCESS_TEXTS) <= literals
    for text in requests_view.ACCESS_TEXTS:
        assert pages.translate("ro", text) != text


@pytest.mark.parametrize("lang", LANGS)
def test_answered_requests_say_who_answered_and_how_in_words(sqlite_env: Env,
                                                             lang: str) -> None:
    env = sqlite_env
    store = Store(env.db)
    asked = [access.request_access(store, profile="anna", url=f"http://{n}.test/",
                                   category="gambling", reason="list ut1")
             for n in ("kept", "refused", "taken")]
    reader = env.reader(lang)
    token = csrf(reader.get("/requests").text)
    for req, answer in zip(asked, ("approve", "deny", "approve")):
        assert reader.post(f"/requests/{req.id}/{answer}", data={
            "csrf": token, "duration": "1h", "scope": "url"}).status_code == 302
    assert reader.post(f"/requests/{asked[2].id}/revoke",
                       data={"csrf": token}).status_code == 302
    cli = access.request_access(store, profile="anna", url="http://cli.test/",
                                category="gambling", reason="list ut1")
    access.deny(store, cli.id, "dad")  # answered elsewhere: the name as it was given
    page = reader.get("/requests").text
    shown = {m.group(1): visible_text(m.group(2)) for m in re.finditer(
        r'<tr data-request="(\d+)">.*?<span class="answer">(.*?)</span>',
        page.split('id="answered"')[1], re.S)}
    name = {"en": "owner", "ro": "mama"}[lang]
    expected = {"en": (f"approved by {name} in the admin app",
                       f"denied by {name} in the admin app",
                       f"revoked by {name} in the admin app", "denied by dad"),
                "ro": (f"aprobată de {name} în aplicația de administrare",
                       f"refuzată de {name} în aplicația de administrare",
                       f"retrasă de {name} în aplicația de administrare", "refuzată de dad")}
    assert shown == dict(zip((str(r.id) for r in (*asked, cli)), expected[lang]))
    text = visible_text(page.split('id="answered"')[1].split("</table>")[0])
    assert "(admin app)" not in text and "(revoked)" not in text


@pytest.mark.parametrize("lang", LANGS)
def test_a_profiles_choices_are_offered_and_listed_in_words(sqlite_env: Env, lang: str) -> None:
    env = sqlite_env
    configedit.update_profile(env.config_path, "anna", {"safe_search": "moderate"})
    reader = env.reader(lang)
    cells = _tagged(reader.get("/profiles").text, "data-value", "td")
    assert cells == {"moderate": pages.translate(lang, "moderate"),
                     "strict": pages.translate(lang, "strict")}  # ben's default
    page = reader.get("/profiles/anna").text
    options = {}
    for key in ("language", "safe_search", "youtube", "fail_safe"):
        select = page.split(f'id="f-{key}"')[1].split("</select>")[0]
        options[key] = dict(re.findall(r'<option value="([^"]+)"[^>]*>([^<]*)</option>', select))
    words = {"en": {"off": "off", "block": "block the page", "allow": "let the page through"},
             "ro": {"off": "oprit", "block": "blochează pagina",
                    "allow": "lasă pagina să treacă"}}[lang]
    assert options["language"] == {"en": "English", "ro": "Română"}
    assert options["safe_search"]["off"] == options["youtube"]["off"] == words["off"]
    assert options["fail_safe"] == {"block": words["block"], "allow": words["allow"]}
    assert options["safe_search"]["moderate"] == {"en": "moderate", "ro": "moderat"}[lang]


@pytest.mark.parametrize("lang", LANGS)
def test_a_check_that_cannot_answer_says_so_in_words(sqlite_env: Env, lang: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from admin.views import tools
    monkeypatch.setattr(tools, "CHECK_TIMEOUT", 0.01)  # the real check cannot start that fast
    reader = sqlite_env.reader(lang)
    token = csrf(reader.get("/test").text)
    page = reader.post("/test", data={"csrf": token, "who": "profile", "profile": "anna",
                                      "url": "https://www.tiktok.com/@someone"}).text
    error = visible_text(page.split('id="result"', 1)[1].split("</p>", 1)[0].split(">", 1)[1])
    words = {"en": "no answer within 0 s", "ro": "niciun răspuns în 0 s"}[lang]
    assert error.endswith(words), error
    assert pages.translate(lang, "The test could not run:") in error
