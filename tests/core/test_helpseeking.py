"""Help-seeking search queries stay reachable; harmful ones do not match."""

import pytest

from policies.helpseeking import help_seeking


@pytest.mark.parametrize("query", [
    "suicide prevention hotline", "how to help a friend who self harms", "eating disorder support",
    "quit vaping", "alcohol addiction treatment near me", "Samaritans phone number",
    "warning signs of suicide", "linia de ajutor pentru copii", "cum să mă las de fumat",
    "consiliere depresie", "Telefonul Copilului 116 111",
])
def test_help_seeking(query):
    assert help_seeking(query)


@pytest.mark.parametrize("query", [
    "how to kill myself", "painless ways to die", "buy weed online", "thinspiration tips",
    "cum sa ma sinucid", "", "x" * 10_000,
])
def test_not_help_seeking(query):
    assert help_seeking(query) is None
