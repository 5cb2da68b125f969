"""The loader's refusal of an edit reaches the reader in their language: the profile, group,
device and schedule forms show the checker's message translated, its values (what was typed)
quoted as they were, while the loader's English text stays what logs and the CLI print. A
message without a translation is shown in English, as the loader wrote it."""

from __future__ import annotations

import ast
import html
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

import pages
import policies.config
from admin import configedit
from admin.i18n import show
from policies import config
from tests.admin.helpers import Env, assert_mistake_shown_and_file_unchanged, csrf, visible_text

LANGS = ("en", "ro")


def _error_at(page: str, field: str) -> str:
    """The visible text of the error shown next to ``field``."""
    m = re.search(rf'<p class="error" id="e-{re.escape(field)}">(.*?)</p>', page, re.S)
    assert m, page
    return visible_text(m.group(1))


def _refused(env: Env, lang: str, send: Callable[[FlaskClient], TestResponse], field: str,
             english: str, romanian: str, reader: FlaskClient | None = None) -> str:
    """``send`` (a form post by a reader of ``lang``) is refused with the loader's message at
    ``field``: the English one for an English reader; for a Romanian reader the Romanian one,
    with no English words of the message left. Returns the message shown."""
    reader = reader or env.reader(lang)
    words = english if lang == "en" else romanian
    r = assert_mistake_shown_and_file_unchanged(env, lambda: send(reader), field, words)
    shown = _error_at(r.text, field)
    assert words in shown, shown
    if lang == "ro":
        assert english not in shown and "expected" not in shown and "got" not in shown, shown
    return shown


def _profile_post(field: str, value: str) -> Callable[[FlaskClient], TestResponse]:
    def send(c: FlaskClient) -> TestResponse:
        token = csrf(c.get("/profiles/anna").text)
        data = {"age": "9", "language": "", "safe_search": "", "youtube": "", "fail_safe": "",
                "allow": "", "deny": "tiktok.com", field: value}
        return c.post("/profiles/anna", data={**data, "csrf": token})
    return send


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("field,value,english,romanian", [
    ("age", "150", "expected a whole number from 0 to 120, got 150",
     "se aștepta un număr întreg de la 0 la 120, s-a primit 150"),
    ("age", "ten", "expected a whole number from 0 to 120, got 'ten'",
     "se aștepta un număr întreg de la 0 la 120, s-a primit 'ten'"),
    ("language", "fr", "expected one of en, ro, got 'fr'",
     "se aștepta una dintre valorile en, ro, s-a primit 'fr'"),
    ("allow", "http://bad/path", "not a valid domain name: 'http://bad/path' (write example.org",
     "nu este un nume de domeniu valid: 'http://bad/path' (scrieți example.org"),
])
def test_the_profile_form_shows_the_loaders_refusal_in_the_readers_language(
        sqlite_env: Env, lang: str, field: str, value: str, english: str, romanian: str) -> None:
    _refused(sqlite_env, lang, _profile_post(field, value), field, english, romanian)


def _group_post(page: str, **fields: str) -> Callable[[FlaskClient], TestResponse]:
    def send(c: FlaskClient) -> TestResponse:
        token = csrf(c.get(f"/groups/{page}").text)
        data = {"name": "", "networks": "", "allow": "", "deny": "", **fields}
        return c.post(f"/groups/{page}", data={**data, "csrf": token})
    return send


@pytest.mark.parametrize("lang", LANGS)
def test_the_group_form_refuses_a_bad_network_and_a_name_in_use_in_words(sqlite_env: Env,
                                                                         lang: str) -> None:
    env = sqlite_env
    configedit.update_group(env.config_path, "class-5b", {"networks": ["10.20.5.0/24"]},
                            create=True)
    reader = env.reader(lang)
    _refused(env, lang, _group_post("class-5b", networks="10.20.300.0/24"), "networks",
             "not an IP network such as 10.20.5.0/24: '10.20.300.0/24'",
             "nu este o rețea IP precum 10.20.5.0/24: '10.20.300.0/24'", reader)
    shown = _refused(env, lang, _group_post("new", name="class-5b"), "name",
                     "there is a group named 'class-5b' already",
                     "există deja un grup numit 'class-5b'", reader)
    assert lang == "en" or "already" not in shown


def _device_post(kind: str, value: str) -> Callable[[FlaskClient], TestResponse]:
    def send(c: FlaskClient) -> TestResponse:
        token = csrf(c.get("/devices").text)
        return c.post("/devices/add", data={"csrf": token, "kind": kind, "value": value,
                                            "profile": "anna", "name": "", "groups": ""})
    return send


@pytest.mark.parametrize("lang", LANGS)
def test_the_device_form_refuses_a_bad_mac_and_network_in_words(sqlite_env: Env,
                                                                lang: str) -> None:
    env = sqlite_env
    reader = env.reader(lang)
    _refused(env, lang, _device_post("mac", "aa:bb:cc"), "value",
             "expected a MAC address such as aa:bb:cc:dd:ee:ff, got 'aa:bb:cc'",
             "se aștepta o adresă MAC precum aa:bb:cc:dd:ee:ff, s-a primit 'aa:bb:cc'", reader)
    _refused(env, lang, _device_post("cidr", "10.0.0.0/33"), "value",
             "not an IP address or network: '10.0.0.0/33'",
             "nu este o adresă IP sau o rețea: '10.0.0.0/33'", reader)


@pytest.mark.parametrize("lang", LANGS)
def test_the_schedule_form_refuses_a_time_that_is_not_one_in_words(sqlite_env: Env,
                                                                   lang: str) -> None:
    def send(c: FlaskClient) -> TestResponse:
        token = csrf(c.get("/profiles/anna/schedules").text)
        return c.post("/profiles/anna/schedules", data={
            "csrf": token, "name": "bedtime", "start": "25:00", "end": "07:00",
            "days": ["mon"]})
    _refused(sqlite_env, lang, send, "start",
             "expected a time of day such as \"21:30\", got '25:00'",
             "se aștepta o oră precum „21:30”, s-a primit '25:00'")


@pytest.mark.parametrize("lang", LANGS)
def test_a_refusal_not_at_a_field_keeps_its_place_in_the_file(sqlite_env: Env,
                                                              lang: str) -> None:
    """Removing a group a device still names: the page says where, then why, in words."""
    env = sqlite_env
    configedit.update_group(env.config_path, "class-5b", {"networks": None}, create=True)
    configedit.add_device(env.config_path, kind="ip", value="192.168.1.50", profile="anna",
                          groups=["class-5b"])
    reader = env.reader(lang)
    token = csrf(reader.get("/groups").text)
    r = reader.post("/groups/class-5b/remove", data={"csrf": token})
    assert r.status_code == 409
    shown = _error_at(r.text, "_form")
    assert f"{env.config_path}:" in shown and "devices[0].groups[0]: " in shown
    words = {"en": "no group named 'class-5b'; groups are: none",
             "ro": "nu există niciun grup numit 'class-5b'; nu există grupuri"}[lang]
    assert shown.endswith(words), shown


def _checker_error(text: str) -> config.ConfigError:
    with pytest.raises(config.ConfigError) as caught:
        config.parse(text, "kidgate.yaml")
    return caught.value


def test_categories_in_a_refusal_are_named_in_words_and_keys_as_typed() -> None:
    blocked = _checker_error("profiles:\n  anna:\n    age: 9\n    categories: {csam: allow}\n")
    assert blocked.message == "csam is blocked for everyone and cannot be allowed"  # the log's
    message = configedit.checker_message(blocked)
    for lang in LANGS:
        name = pages.category_name(lang, "csam")
        assert show(lang, message).startswith(
            {"en": name, "ro": f"„{name}”"}[lang]), show(lang, message)
    assert show("ro", message) == \
        "„conținut ilegal care face rău copiilor” este blocat pentru toți și nu poate fi permis"
    unknown = _checker_error("profiles:\n  anna: {age: 9, categories: {casino: 12}}\n")
    shown = show("ro", configedit.checker_message(unknown))
    assert shown.startswith("categorie necunoscută; categoriile sunt: csam, sexual")
    kind = _checker_error("profiles:\n  anna: {age: 9, allow: 5}\n")
    assert show("ro", configedit.checker_message(kind)) == "se aștepta o listă, s-a primit un număr"


def test_a_refusal_without_a_translation_is_shown_in_english_as_written() -> None:
    error = _checker_error("profiles:\n  anna: {age: 9}\n  anna: {age: 10}\n")
    assert error.message == "duplicate key"
    assert show("ro", configedit.checker_message(error)) == "duplicate key"
    hostile = _checker_error("profiles:\n  anna: {age: 9, language: '{lo} <b>'}\n")
    assert show("ro", configedit.checker_message(hostile)).endswith("s-a primit '{lo} <b>'")


def test_the_loaders_english_is_its_template_filled_in() -> None:
    """Logs and the CLI print what they printed: the message is the template with its values."""
    for text in ("profiles:\n  anna: {age: 150}\n",
                 "profiles:\n  anna: {age: 9, deny: ['http://x/y']}\n",
                 "profiles:\n  anna: {age: 9}\ndevices: [{mac: 'zz', profile: anna}]\n",
                 "profiles:\n  anna: {age: 9}\ndevices: [{ip: 1.2.3.4, profile: bob}]\n"):
        error = _checker_error(text)
        assert error.values and error.template.format(**error.values) == error.message
        assert show("en", configedit.checker_message(error)) == error.message
        assert str(error).endswith(f": {error.message}") and "{" not in error.message


def test_every_checker_text_is_one_the_loader_writes() -> None:
    """The translated templates are the loader's own (a reworded one would lose its words)."""
    tree = ast.parse(Path(policies.config.__file__).read_text())
    literals = {n.value for n in ast.walk(tree)
                if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    missing = [t for t in configedit.CHECKER_TEXTS if t not in literals]
    assert missing == []
    for text in configedit.CHECKER_TEXTS:
        assert pages.translate("ro", text) != text, text


def test_an_english_reader_sees_the_english_words_of_the_log(sqlite_env: Env) -> None:
    """The English page shows exactly the loader's text (the CLI's wording)."""
    env = sqlite_env
    r = _profile_post("age", "150")(env.owner_client())
    assert html.unescape(r.text).count("expected a whole number from 0 to 120, got 150") == 1
