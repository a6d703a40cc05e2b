"""PostgreSQL for the integration tests: a throw-away schema per use, failing (not skipping) under CI when the
server is down."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest

from codedesk.review.db import make_engine
from codedesk.review.migrate import upgrade_engine
from tests.support import pg_base_url, pg_reachable, temporary_pg_schema


@contextlib.contextmanager
def _pg_schema(prefix: str = "codedesk_test", migrated: bool = False) -> Iterator[str]:
    if not pg_reachable():
        message = f"PostgreSQL not reachable at {pg_base_url()} (set CODEDESK_TEST_PG_URL)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with temporary_pg_schema(prefix=prefix) as url:
        if migrated:
            engine = make_engine(url)
            upgrade_engine(engine)
            engine.dispose()
        yield url


@pytest.fixture(scope="session")
def pg_schema() -> Callable[..., AbstractContextManager[str]]:
    """For modules that keep one schema for several tests: `with pg_schema(prefix=…) as url`."""
    return _pg_schema


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, migrated schema for one test."""
    with _pg_schema(migrated=True) as url:
        yield url
