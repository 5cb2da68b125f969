from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import ldap
from tests.support.process import skip_unless_available


@pytest.fixture(scope="session")
def ldap_url() -> Iterator[str]:
    """A real OpenLDAP server holding two pupils. Skipped only outside CI."""
    skip_unless_available(ldap.unavailable_reason(), "the LDAP tests")
    with ldap.ldap_server() as url:
        yield url
