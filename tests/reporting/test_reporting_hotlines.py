"""Hotline directory: national hotlines, aliases, IWF portals, INHOPE fallback, validation."""

from __future__ import annotations

import pytest

from reporting import hotlines
from reporting.hotlines import Directory, for_country

REQUIRED = ["RO", "UK", "US", "DE", "NL", "FR", "IT", "ES", "PL", "IE", "BE", "AT", "CA", "AU"]


def test_romania():
    h = for_country("RO")
    assert h.name.startswith("esc_ABUZ") and h.report_url == "https://oradenet.ro/esc-abuz"
    assert "ro" in h.languages and h.anonymous is True and h.kind == "national"


@pytest.mark.parametrize("cc", ["UK", "GB", "gb", " uk "])
def test_united_kingdom_and_its_alias(cc):
    h = for_country(cc)
    assert h.country == "UK" and h.report_url == "https://report.iwf.org.uk/en"


@pytest.mark.parametrize("cc", REQUIRED)
def test_every_required_country_has_an_https_national_hotline(cc):
    h = for_country(cc)
    assert h.kind == "national" and h.report_url.startswith("https://") and h.languages


def test_spain_anonymity_is_unconfirmed():
    assert for_country("ES").anonymous is None


def test_germany_lists_the_second_complaint_office():
    assert [a.report_url for a in for_country("DE").also] == [
        "https://www.internet-beschwerdestelle.de/en/complaint.html"]


def test_iwf_portal_for_country_without_hotline():
    h = for_country("KE")
    assert h.kind == "iwf_portal" and h.report_url == "https://report.iwf.org.uk/ke/"


@pytest.mark.parametrize("cc", ["ZZ", "", None, "ROU", "../etc"])
def test_unknown_falls_back_to_inhope_directory(cc):
    h = for_country(cc)
    assert h.kind == "directory" and h.report_url == "https://www.inhope.org/EN/our-members"


def test_user_edited_file(tmp_path):
    path = tmp_path / "hotlines.yaml"
    path.write_text("hotlines:\n  MD:\n    name: Siguronline\n    report_url: https://siguronline.md/\n"
                    "    languages: [ro]\n    anonymous: true\n"
                    "directory:\n  name: INHOPE\n  report_url: https://www.inhope.org/EN/our-members\n")
    d = hotlines.load(path)
    assert for_country("MD", d).name == "Siguronline"
    assert for_country("RO", d).kind == "directory"


@pytest.mark.parametrize("data, key", [
    ({"hotlines": {"RO": {"name": "x", "report_url": "javascript:alert(1)"}}, "directory": {}},
     "hotlines.RO.report_url"),
    ({"hotlines": {"ROU": {"name": "x", "report_url": "https://x"}}}, "ROU"),
    ({"hotlines": {}}, "directory"),
    ({"hotlines": {"RO": {"name": "x", "report_url": "https://x", "anonymous": "yes"}},
      "directory": {}}, "anonymous"),
])
def test_invalid_directory_names_the_key(data, key):
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        Directory(data)
