"""Alembic environment for the query log. `codedesk.review.migrate` passes an open connection in
``config.attributes["connection"]``; the ``alembic`` command line gets the URL from the ini
file or, when that is empty, from CODEDESK settings."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlmodel import SQLModel

import codedesk.review.models  # noqa: F401  (registers the tables on SQLModel.metadata)

config = context.config
target_metadata = SQLModel.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from codedesk.settings import Settings

    return Settings().db_url


def _render_item(type_: str, obj: Any, autogen_context: Any) -> Any:
    """Write plain SQLAlchemy types into new revisions, not our wrappers."""
    from sqlmodel.sql.sqltypes import AutoString

    from codedesk.review.models import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String({obj.length})" if obj.length else "sa.String()"
    return False


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=target_metadata, compare_type=True, render_item=_render_item, **kwargs
    )


def run_offline() -> None:
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from codedesk.review.db import make_engine

    engine = make_engine(_url())
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


def _run(connection: Any) -> None:
    # SQLite cannot ALTER most things in place: batch mode rebuilds the table.
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
