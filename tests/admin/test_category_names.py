"""Every admin page names a category in words, in the reader's language (``pages.category_name``),
never by its key: dashboard, event log, access requests, schedules, pause and extra time, lists.
A key stays only where no one reads it (an option's value, a data attribute)."""

from __future__ import annotations

import re

import pytest
from markupsafe import escape

import pages
from admin import configedit
from kidgate import stats
from policies.categories import CATEGORIES
from reporting import access
from reporting.store import Store
from tests.admin.helpers import Env, csrf, decision, visible_text, write_log

LANGS = ("en", "ro")
#: The keys an admin page may show: the vocabulary and the statistics' decision without one.
KEYS = (*CATEGORIES, stats.UNCATEGORISED)


def assert_in_words(page: str, lang: str, shown: list[str]) -> str:
    """The categories ``shown`` are on ``page`` by their names in ``lang``, and no key of the
    vocabulary is left in the visible text once the names are taken out (``weapons`` is its
    own English name, ``gambling`` part of one). Returns the visible text."""
    text = visible_text(page)
    for key in shown:
        assert pages.category_name(lang, key) in text, (key, text)
        if lang != "en":  # in the reader's language, not in English
            english = pages.category_name("en", key)
            assert english == key or english not in text, (key, text)
    rest = text
    for name in sorted({pages.category_name(lang, k) for k in pages.CATEGORY_NAMES},
                       key=len, reverse=True):
        rest = rest.replace(name, " ")
    left = [k for k in KEYS if re.search(rf"\b{k}\b", rest)]
    assert left == [], f"keys shown as text: {left}\n{rest}"
    return text


def _cells(page: str) -> dict[str, str]:
    """Category key (a cell's ``data-category``) -> the text the cell shows."""
    return {k: visible_text(v) for k, v in
            re.findall(r'<td[^>]*data-category="([^"]+)"[^>]*>(.*?)</td>', page, re.S)}


@pytest.mark.parametrize("lang", LANGS)
def test_the_dashboard_names_categories_in_its_chart_and_top_sites(sqlite_env: Env,
                                                                   lang: str) -> None:
    env = sqlite_env
    write_log(env.data_dir, [
        decision("cut.test", category="self_harm", reasons=["list ut1"]),
        decision("cut.test", category="self_harm", reasons=["list ut1"]),
        decision("rude.test", category="offensive", reasons=["classifier 0.93"]),
        decision("late.test", category=None, sources=["schedule"], reasons=["bedtime"]),
        decision("ok.test", action="allow")])
    page = env.reader(lang).get("/").text
    text = assert_in_words(page, lang, ["self_harm", "offensive", stats.UNCATEGORISED])
    self_harm = pages.category_name(lang, "self_harm")
    chart = page.split('data-chart="categories"')[1].split("</figure>")[0]
    # The bar keeps its key for scripts; the reader sees the words, whole in the tooltip.
    assert re.search(r'data-label="self_harm" data-value="2">\s*<title>'
                     + re.escape(str(escape(self_harm))) + ": 2</title>", chart), chart
    assert self_harm in visible_text(chart) and "self_harm" not in visible_text(chart)
    assert _cells(page) == {"self_harm": self_harm,
                            "offensive": pages.category_name(lang, "offensive"),
                            stats.UNCATEGORISED: pages.category_name(lang, stats.UNCATEGORISED)}
    assert "cut.test" in text


@pytest.mark.parametrize("lang", LANGS)
def test_the_event_log_names_categories_in_its_rows_and_its_filter(sqlite_env: Env,
                                                                   lang: str) -> None:
    env = sqlite_env
    write_log(env.data_dir, [decision("cut.test", category="self_harm", reasons=["list ut1"]),
                             decision("ok.test", action="allow")])
    reader = env.reader(lang)
    page = reader.get("/events").text
    assert_in_words(page, lang, ["self_harm", stats.UNCATEGORISED])
    assert _cells(page) == {"self_harm": pages.category_name(lang, "self_harm"),
                            stats.UNCATEGORISED: pages.category_name(lang, stats.UNCATEGORISED)}
    # Every category can be chosen by its name; the value sent is still the key.
    select = page.split('id="f-category"')[1].split("</select>")[0]
    options = dict(re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select))
    assert options == {"": pages.translate(lang, "any"),
                       **{k: str(escape(pages.category_name(lang, k))) for k in KEYS}}
    # A filter by a key still works, and the chosen option is the one by that key's name.
    page = reader.get(f"/events?category={stats.UNCATEGORISED}").text
    assert "cut.test" not in page and "ok.test" in page
    assert re.search(rf'<option value="{stats.UNCATEGORISED}" selected>'
                     rf'{re.escape(pages.category_name(lang, stats.UNCATEGORISED))}<', page)


@pytest.mark.parametrize("lang", LANGS)
def test_access_requests_and_reports_name_their_categories(sqlite_env: Env, lang: str) -> None:
    env = sqlite_env
    store = Store(env.db)
    access.request_access(store, profile="anna", url="http://cut.test/", category="self_harm",
                          reason="list ut1", message="for a school project")
    access.request_access(store, profile="anna", url="http://late.test/", category=None,
                          reason="bedtime", message="just one more")
    store.add_report(url="http://bad.test/", category="sexual", profile="anna", reason="list",
                     hotline_country="RO", hotline_name="esc_ABUZ")
    page = env.reader(lang).get("/requests").text
    assert_in_words(page, lang, ["self_harm", "sexual"])
    pending = page.split('id="pending"')[1].split("</table>")[0]
    assert f"{pages.category_name(lang, 'self_harm')} (list ut1)" in visible_text(pending)
    assert pages.translate(lang, "no category (a rule of the profile)") + " (bedtime)" in \
        visible_text(pending)
    reports = page.split('id="reports"')[1].split("</table>")[0]
    assert _cells(reports) == {"sexual": pages.category_name(lang, "sexual")}


@pytest.mark.parametrize("lang", LANGS)
def test_schedules_offer_and_list_categories_by_name(sqlite_env: Env, lang: str) -> None:
    env = sqlite_env
    configedit.add_schedule(env.config_path, "ben", name="homework", days=["mon"],
                            start="15:00", end="17:00", categories=["social", "self_harm"])
    reader = env.reader(lang)
    page = reader.get("/profiles/ben/schedules").text
    assert_in_words(page, lang, ["social", "self_harm", "gambling"])
    row = page.split('data-schedule="homework"')[1].split("</tr>")[0]
    assert visible_text(row).count(pages.category_name(lang, "social")) == 1
    assert f"{pages.category_name(lang, 'social')}, {pages.category_name(lang, 'self_harm')}" \
        in visible_text(row)
    boxes = dict(re.findall(r'name="categories" value="([^"]+)"[^>]*> ([^<]*)</label>', page))
    assert boxes == {k: str(escape(pages.category_name(lang, k)))
                     for k in CATEGORIES if k not in ("csam", "malware")}
    # Ticking a box by its name sends its key.
    token = csrf(page)
    r = reader.post("/profiles/anna/schedules", data={
        "csrf": token, "name": "evening", "start": "18:00", "end": "20:00", "days": ["tue"],
        "categories": ["gambling"]})
    assert r.status_code == 302, r.text
    page = reader.get("/profiles/anna/schedules").text
    row = page.split('data-schedule="evening"')[1].split("</tr>")[0]
    assert pages.category_name(lang, "gambling") in visible_text(row)


@pytest.mark.parametrize("lang", LANGS)
def test_extra_time_is_offered_and_shown_by_category_name(sqlite_env: Env, lang: str) -> None:
    env = sqlite_env
    reader = env.reader(lang)
    page = reader.get("/profiles/anna/controls").text
    select = page.split('id="f-extra-what"')[1].split("</select>")[0]
    options = dict(re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select))
    assert options.pop("all") == pages.translate(lang, "the whole internet")
    assert options == {k: str(escape(pages.category_name(lang, k)))
                       for k in ("sexual", "violence", "hate", "offensive", "self_harm", "drugs",
                                 "gambling", "weapons", "dating", "social")}
    r = reader.post("/profiles/anna/extra", data={"csrf": csrf(page), "length": "1h",
                                                  "what": "social"})
    assert r.status_code == 302, r.text
    page = reader.get("/profiles/anna/controls").text
    now = re.search(r'<ul id="extra-now"><li>(.*?)</li></ul>', page, re.S)
    assert now, page
    assert visible_text(now.group(1)).startswith(pages.category_name(lang, "social") + " ")
    assert_in_words(page, lang, ["social", "gambling"])


@pytest.mark.parametrize("lang", LANGS)
def test_the_lists_page_names_what_each_list_holds(sqlite_env: Env, lang: str) -> None:
    page = sqlite_env.reader(lang).get("/lists").text
    names = {**{k: pages.category_name(lang, k) for k in CATEGORIES},
             "allow": pages.translate(lang, "sites always allowed"),
             "known": pages.translate(lang, "known sites, not harmful")}
    # Lists are named after what they hold ("gambling"): only the category cells are words.
    for table in ("categories", "list-table"):
        cells = _cells(page.split(f'id="{table}"')[1].split("</table>")[0])
        assert len(cells) >= 3, f"few categories in the shipped lists: {cells}"
        assert cells == {k: names[k] for k in cells}
        assert_in_words("".join(f"<td>{v}</td>" for v in cells.values()), lang,
                        [k for k in cells if k in CATEGORIES])


def test_a_key_outside_the_vocabulary_is_shown_as_it_is_and_escaped(sqlite_env: Env) -> None:
    env = sqlite_env
    hostile = "<img src=x onerror=alert(1)>"
    store = Store(env.db)
    access.request_access(store, profile="anna", url="http://odd.test/", category=hostile,
                          reason="list old", message="")
    store.add_report(url="http://odd.test/", category=hostile, profile="anna", reason="list",
                     hotline_country="RO", hotline_name="esc_ABUZ")
    page = env.reader("ro").get("/requests").text
    assert "<img src=x" not in page
    assert visible_text(page).count(f"{hostile} (list old)") == 1  # as text, never markup
    assert _cells(page.split('id="reports"')[1].split("</table>")[0]) == {
        str(escape(hostile)): hostile}
