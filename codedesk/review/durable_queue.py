"""A durable local queue for log records the database could not take.

A SQLite file in CODEDESK_HOME (``log-queue.sqlite3``), WAL with ``synchronous=FULL`` so every
`put` is fsync'd before it returns. Records are already scrubbed when they arrive here. Several
threads and processes may share one file: SQLite's locking serialises them, and each record
carries its client-generated uid, so two flushers racing on the same record still store it once
(the database's unique uid decides).

Each record carries its destination (`codedesk.review.db.destination_of`: a fingerprint of the database
URL without its password) and is written only there: several CLI runs and workers may share one
home with different CODEDESK_DATABASE_URLs, and a record queued while one PostgreSQL was down must
never land in another database. Records for another destination stay queued. Records queued by an
older version (no destination recorded) are taken by the first destination that flushes, as before.

A record that keeps failing for a reason other than "database unavailable" is moved aside
(status ``dead``) after `max_attempts`, kept in the file for an operator, and logged.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from codedesk.state import private_file

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pending (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    uid TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    queued_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    attempts INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending',
    last_error TEXT,
    dest TEXT
);
CREATE INDEX IF NOT EXISTS pending_status_seq ON pending (status, seq);
"""
_ADD_DEST = "ALTER TABLE pending ADD COLUMN dest TEXT"  # queue files written before destinations
_MINE = "(dest = ? OR dest IS NULL OR ? IS NULL)"  # ? = this queue's destination, twice


@dataclass(frozen=True)
class QueueItem:
    seq: int
    uid: str
    kind: str
    payload: str
    attempts: int
    queued_at: str  # ISO 8601 UTC
    dest: str | None = None


class DurableQueue:
    """FIFO of (uid, kind, JSON payload) for one destination `dest` (the file may hold records of
    others, which this queue never returns, counts or changes). `dest=None` is an operator's view of
    every record (and puts records anyone may take). The file is created on the first `put`."""

    def __init__(self, path: Path, dest: str | None = None) -> None:
        self.path = Path(path)
        self.dest = dest
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = os.getpid()

    def _connect(self, create: bool) -> sqlite3.Connection | None:
        if self._conn is not None and self._pid != os.getpid():
            self._conn = (
                None  # inherited across fork: SQLite connections must not be shared; open anew
            )
        if self._conn is not None:
            return self._conn
        if not create and not self.path.exists():
            return None
        private_file(self.path)  # 0600 before SQLite opens it: its -wal file takes the same mode
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(
            "PRAGMA synchronous=FULL"
        )  # fsync on every commit: a queued record survives a crash
        conn.executescript(_SCHEMA)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(pending)")}
        if "dest" not in columns:
            try:
                conn.execute(_ADD_DEST)
            except sqlite3.OperationalError:  # another process added it first
                pass
        self._conn, self._pid = conn, os.getpid()
        return conn

    def put(self, *, uid: str, kind: str, payload: str) -> None:
        """Append a record (a second put of the same uid is ignored). Durable when it returns."""
        with self._lock:
            conn = self._connect(create=True)
            assert conn is not None
            conn.execute(
                "INSERT OR IGNORE INTO pending (uid, kind, payload, dest) VALUES (?, ?, ?, ?)",
                (uid, kind, payload, self.dest),
            )

    def peek(self, limit: int = 100) -> list[QueueItem]:
        """The oldest pending records, without removing them."""
        with self._lock:
            conn = self._connect(create=False)
            if conn is None:
                return []
            rows = conn.execute(
                f"SELECT seq, uid, kind, payload, attempts, queued_at, dest FROM pending "
                f"WHERE status = 'pending' AND {_MINE} ORDER BY seq LIMIT ?",
                (self.dest, self.dest, limit),
            ).fetchall()
        return [QueueItem(*row) for row in rows]

    def done(self, seq: int) -> None:
        with self._lock:
            conn = self._connect(create=False)
            if conn is not None:
                conn.execute(
                    f"DELETE FROM pending WHERE seq = ? AND {_MINE}", (seq, self.dest, self.dest)
                )

    def failed(self, seq: int, error: str, *, max_attempts: int) -> bool:
        """Count a failed attempt; returns True when the record was moved aside as dead."""
        with self._lock:
            conn = self._connect(create=False)
            if conn is None:
                return False
            conn.execute(
                "UPDATE pending SET attempts = attempts + 1, last_error = ?, "
                f"status = CASE WHEN attempts + 1 >= ? THEN 'dead' ELSE status END WHERE seq = ? AND {_MINE}",
                (error[:500], max_attempts, seq, self.dest, self.dest),
            )
            row = conn.execute("SELECT status FROM pending WHERE seq = ?", (seq,)).fetchone()
        return bool(row and row[0] == "dead")

    def pending_count(self) -> int:
        return self._count("pending")

    def dead_count(self) -> int:
        return self._count("dead")

    def _count(self, status: str) -> int:
        with self._lock:
            conn = self._connect(create=False)
            if conn is None:
                return 0
            return conn.execute(
                f"SELECT count(*) FROM pending WHERE status = ? AND {_MINE}",
                (status, self.dest, self.dest),
            ).fetchone()[0]

    def other_destinations_count(self) -> int:
        """Records waiting for another database (another CODEDESK_DATABASE_URL sharing this home)."""
        with self._lock:
            conn = self._connect(create=False)
            if conn is None:
                return 0
            return conn.execute(
                "SELECT count(*) FROM pending WHERE status = 'pending' AND dest IS NOT NULL "
                "AND dest != ?",
                (self.dest,),
            ).fetchone()[0]

    def has_pending(self) -> bool:
        with self._lock:
            conn = self._connect(create=False)
            if conn is None:
                return False
            return (
                conn.execute(
                    f"SELECT 1 FROM pending WHERE status = 'pending' AND {_MINE} LIMIT 1",
                    (self.dest, self.dest),
                ).fetchone()
                is not None
            )

    def retry_dead(self) -> int:
        """Put dead records back in line (after the cause was fixed)."""
        with self._lock:
            conn = self._connect(create=False)
            if conn is None:
                return 0
            return conn.execute(
                f"UPDATE pending SET status = 'pending', attempts = 0 WHERE status = 'dead' AND {_MINE}",
                (self.dest, self.dest),
            ).rowcount

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
