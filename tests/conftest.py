"""Suite-wide options and fixtures.

Databases on every supported backend: ``database_url`` gives an empty SQLite file, then a new
database on a real PostgreSQL server that the run starts itself (``postgres_server_url``).

``--at=ISO-TIME`` runs the suite as if the system clock had been set to that moment before it
started (the clock keeps ticking from there), so that it can be shown to pass on any day: across
a daylight-saving change, at midnight, on 29 February. ``make test-dates`` runs the suite that
way at several moments. A process that a test starts (a real proxy, the command line) would keep
the real clock and disagree with the test about the date, so such tests are skipped in that run;
the ordinary run covers them.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import postgres
from tests.support.process import skip_unless_available


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--at", metavar="ISO-TIME", default=None,
                     help="run the suite with the clock moved to this moment "
                          "(for example 2027-03-28T00:59:30+00:00)")


def _moment(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise pytest.UsageError(f"--at: expected an ISO date and time, got {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


class _RealClockProcess(subprocess.Popen):  # type: ignore[type-arg]
    """Stands in for ``subprocess.Popen`` while the clock is moved."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pytest.skip("starts a process, which keeps the real clock")


def pytest_configure(config: pytest.Config) -> None:
    text = config.getoption("--at")
    if not text:
        return
    import time_machine  # only needed for this run

    # Started before collection, so that module-level "now" constants agree with the code.
    travel = time_machine.travel(_moment(text), tick=True)
    travel.start()
    config.add_cleanup(travel.stop)
    subprocess.Popen = _RealClockProcess  # type: ignore[misc]
    config.add_cleanup(lambda: setattr(subprocess, "Popen", _RealClockProcess.__mro__[1]))


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A real PostgreSQL server for the whole run. Skipped only outside CI."""
    skip_unless_available(postgres.unavailable_reason(), "the PostgreSQL tests")
    with postgres.postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """An empty database: a SQLite file, then a new database on the PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'kidgate.db'}"
    return postgres.fresh_database(request.getfixturevalue("postgres_server_url"))
