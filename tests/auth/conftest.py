from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support import ldap


@pytest.fixture(scope="session")
def ldap_url() -> Iterator[str]:
    """A real OpenLDAP server holding two pupils. Skipped only outside CI."""
    reason = ldap.unavailable_reason()
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must run the LDAP tests: {reason}")
        pytest.skip(reason)
    with ldap.ldap_server() as url:
        yield url
