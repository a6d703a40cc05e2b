"""Database plumbing for the query log: one engine per URL, SQLite tuned for concurrent writers.

SQLite (the default, a file in CODEDESK_HOME) runs in WAL mode with a busy timeout, and every
transaction starts with ``BEGIN IMMEDIATE`` so that concurrent writers queue on the write lock
instead of failing with "database is locked" when a read transaction tries to upgrade.
PostgreSQL (``postgresql+psycopg://…``) gets pre-ping and a short connect timeout so a database
that is down fails fast and the caller can fall back to the local queue.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from codedesk.settings import redact_url
from codedesk.state import private_file

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_S = 30.0
PG_CONNECT_TIMEOUT_S = 5

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """A new engine for `url`, configured for the dialect. Extra kwargs go to `create_engine`."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, **kwargs)
    connect_args = dict(kwargs.pop("connect_args", {}))
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        connect_args.setdefault("connect_timeout", PG_CONNECT_TIMEOUT_S)
    kwargs.setdefault("pool_pre_ping", True)  # connections dropped while the server restarted
    kwargs.setdefault("hide_parameters", True)  # error messages never carry row values
    return sa.create_engine(url, connect_args=connect_args, **kwargs)


def _sqlite_engine(url: str, database: str | None, **kwargs: Any) -> Engine:
    if database and database != ":memory:" and not database.startswith("file:"):
        private_file(Path(database))
    connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}
    connect_args.update(kwargs.pop("connect_args", {}))
    if database and database != ":memory:":
        # Threads each hold their own connection; the default pool (5 + 10) would make the
        # 16th concurrent writer wait on the pool rather than on SQLite's own lock.
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 30)
    kwargs.setdefault("hide_parameters", True)  # error messages never carry row values
    engine = sa.create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy's "begin" hook below (pysqlite's own
        # implicit BEGIN is deferred, which is what makes concurrent writers fail).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable across app crashes in WAL mode
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def get_engine(url: str) -> Engine:
    """The process-wide engine for `url` (created on first use; engines are thread-safe)."""
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url)
            log.debug("engine created backend=%s", engine.dialect.name)
        return engine


def engine_for(settings: Any) -> Engine:
    """The shared engine of `settings.db_url` (SQLite file in home unless CODEDESK_DATABASE_URL)."""
    return get_engine(settings.db_url)


def _after_fork_in_child() -> None:
    # A forked worker must open its own connections; the parent keeps using the inherited ones.
    global _engines_lock
    _engines_lock = threading.Lock()
    for engine in _engines.values():
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_after_fork_in_child)


def dispose_engines() -> None:
    """Close every cached engine (tests, and forks: a child must not reuse the parent's sockets)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def is_unavailable(exc: BaseException) -> bool:
    """True when `exc` means "cannot reach the database" rather than "bad data"."""
    if isinstance(
        exc,
        (
            sa.exc.OperationalError,
            sa.exc.InterfaceError,
            sa.exc.DisconnectionError,
            sa.exc.TimeoutError,
        ),
    ):
        return True
    return isinstance(exc, sa.exc.DBAPIError) and bool(exc.connection_invalidated)


def describe_url(url: str) -> str:
    """The URL without any password (userinfo, `?password=`, `sslpassword=`, `pwd=`…), for logs,
    /readyz and CLI messages: the one masking function (`codedesk.settings.redact_url`)."""
    return redact_url(url)


def destination_of(url: str) -> str:
    """A fingerprint of the database a URL points at, never of its credentials: the same for
    `postgresql+psycopg://u:pw@h/db` and `postgresql://u@h:5432/db?password=…`, different for another
    host, port, database, user or `options` (schema). Stored beside queued log records so they are
    written only to the database they were meant for (`codedesk.review.durable_queue`)."""
    try:
        parsed = make_url(url)
    except Exception:
        return "url:" + hashlib.sha256(redact_url(url).encode()).hexdigest()[:16]
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        db = parsed.database or ""
        where = db if db in ("", ":memory:") or db.startswith("file:") else str(Path(db).resolve())
        key = f"sqlite|{where}"
    else:
        port = parsed.port or {"postgresql": 5432, "mysql": 3306}.get(backend)
        query = sorted(
            (k, v if isinstance(v, str) else ",".join(v))
            for k, v in parsed.query.items()
            if k.lower() not in _NOT_DESTINATION
            and "pass" not in k.lower()
            and "pwd" not in k.lower()
        )
        key = f"{backend}|{(parsed.host or '').lower()}|{port}|{parsed.database or ''}|{parsed.username or ''}|{query}"
    return f"{backend}:" + hashlib.sha256(key.encode()).hexdigest()[:16]


# Query keys that change how we connect, not where to.
_NOT_DESTINATION = {
    "connect_timeout",
    "application_name",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "keepalives",
    "keepalives_idle",
    "target_session_attrs",
    "client_encoding",
}
