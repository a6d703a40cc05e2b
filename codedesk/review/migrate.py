"""Alembic migrations of the query log, run from code (`codedesk db upgrade`, and on first use).

Several bot workers may start at once against one database: the upgrade runs under a lock
(a PostgreSQL advisory lock, or a lock file beside the SQLite database) so only one of them
migrates and the others find the schema at head.

Alembic itself (~0.3 s to import) is imported only to migrate or to read the migrations folder: a
process that finds its database at `HEAD` (every `codedesk ask` after the first) never loads it.
`tests/integration/test_review_db.py` keeps `HEAD` equal to the folder's head.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from codedesk.review.db import engine_for

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
HEAD = "0003"  # the newest revision in migrations/versions
_PG_LOCK_KEY = 0x636F6465  # "code": any constant shared by every CodeDesk process


def alembic_config() -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision stamped in the database (None before the first migration), read as Alembic
    stores it: one row of `alembic_version`."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def upgrade_engine(engine: Engine, revision: str = "head") -> str | None:
    """Bring the database behind `engine` to `revision`; returns the revision it is at."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    with _migration_lock(engine), engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        before = MigrationContext.configure(conn).get_current_revision()
        command.upgrade(cfg, revision)
        after = MigrationContext.configure(conn).get_current_revision()
    if before != after:
        log.info("query log migrated from=%s to=%s backend=%s", before, after, engine.dialect.name)
    return after


def upgrade(settings: Any, revision: str = "head") -> str | None:
    """Migrate the database of `settings.db_url` (CODEDESK_DATABASE_URL or the SQLite default)."""
    return upgrade_engine(engine_for(settings), revision)


def ensure_schema(engine: Engine) -> None:
    """Upgrade to head unless already there (cheap: one query when nothing is to do). A database
    at a revision this code does not know (a newer release migrated it) is left alone."""
    current = current_revision(engine)
    if current == HEAD:
        return
    if current is not None:
        from alembic.script import ScriptDirectory

        try:
            ScriptDirectory.from_config(alembic_config()).get_revision(current)
        except Exception:
            log.warning(
                "query log schema is newer than this release revision=%s head=%s",
                current,
                head_revision(),
            )
            return
    upgrade_engine(engine)


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
                conn.commit()
        return
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    lock_path = Path(database).with_name(Path(database).name + ".migrate.lock")
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
