"""Issue 14: state on disk. The state folder is created 0700 and the SQLite log and queue 0600; a
pickle cache is verified (HMAC-SHA256 keyed by a per-folder secret, 0600) before it is unpickled,
and a file that fails is a cache miss logged without its content. Also: a huge question is
truncated before it is stored, and an absurd review period is a clear error."""

from __future__ import annotations

import logging
import os
import pickle
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codedesk.cache import KEY_FILE, read_pickle, write_pickle
from codedesk.retrieval.schema import Answer
from codedesk.review import log as qlog
from codedesk.review.report import MAX_DAYS, PeriodError, resolve_period
from codedesk.settings import Settings


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ------------------------------------------------------------------------------------ permissions


def test_state_folder_log_and_queue_are_private_on_creation(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask: files would be world-readable
    try:
        home = tmp_path / "home" / "state"
        logger = qlog.QueryLogger(Settings(_env_file=None, home=home, database_url=None))
        answer = Answer(question="q", answer="Use I10.", confidence="high", fiscal_year="2026")
        assert (
            logger.log_answer(
                question="essential hypertension",
                answer=answer,
                surface="cli",
                user_id="u1",
                channel=None,
                latency_ms=1.0,
                index_version=None,
            )
            is not None
        )
        logger.queue.put(uid="x", kind="query", payload="{}")
        logger.close()
    finally:
        os.umask(old)
    assert _mode(home) == 0o700
    assert _mode(home / "codedesk.db") == 0o600
    for extra in ("codedesk.db-wal", qlog.QUEUE_FILE, f"{qlog.QUEUE_FILE}-wal", qlog.SALT_FILE):
        if (home / extra).exists():
            assert _mode(home / extra) & 0o077 == 0, extra


# ------------------------------------------------------------------------------------ caches


class _Planted:
    """What an attacker would plant: unpickling it runs code (here: writes a marker file)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "pwned"))


def test_a_cache_is_verified_before_it_is_unpickled(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = tmp_path / "cache"
    write_pickle(
        cache / "codebook-abc.pickle", {"E11.22": "Type 2 diabetes mellitus with diabetic CKD"}
    )
    assert read_pickle(cache / "codebook-abc.pickle") == {
        "E11.22": "Type 2 diabetes mellitus with diabetic CKD"
    }
    assert _mode(cache) == 0o700 and _mode(cache / KEY_FILE) == 0o600
    assert _mode(cache / "codebook-abc.pickle") & 0o077 == 0

    marker = tmp_path / "pwned"
    planted = cache / "searcher-abc.pickle"
    planted.write_bytes(
        pickle.dumps(_Planted(marker))
    )  # a plain pickle, as the caches were written before
    with caplog.at_level(logging.WARNING, logger="codedesk.cache"):
        assert read_pickle(planted) is None
    assert not marker.exists()  # never unpickled
    assert "rebuilding" in caplog.text and "pwned" not in caplog.text

    # a signed file changed by one byte, or copied under another cache's name, is a miss too
    good = cache / "codebook-abc.pickle"
    data = bytearray(good.read_bytes())
    data[-2] ^= 1
    (cache / "tampered.pickle").write_bytes(bytes(data))
    assert read_pickle(cache / "tampered.pickle") is None
    (cache / "copied.pickle").write_bytes(good.read_bytes())
    assert read_pickle(cache / "copied.pickle") is None


def test_a_key_others_can_read_is_not_trusted(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    write_pickle(cache / "a.pickle", [1, 2, 3])
    os.chmod(cache / KEY_FILE, 0o644)
    assert read_pickle(cache / "a.pickle") is None  # a key others could read signs nothing
    write_pickle(cache / "a.pickle", [1, 2, 3])  # a fresh private key, the cache rebuilt
    assert _mode(cache / KEY_FILE) == 0o600
    assert read_pickle(cache / "a.pickle") == [1, 2, 3]


# ------------------------------------------------------------------------------------ stored questions


def test_a_huge_question_is_truncated_before_it_is_stored() -> None:
    question = "type 2 diabetes with CKD stage 3a " * 32_000  # ~1 MB
    record = qlog.build_query_record(
        question=question,
        answer=None,
        surface="cli",
        user_hash=None,
        channel=None,
        latency_ms=None,
        index_version=None,
    )
    assert len(record.question) <= qlog.MAX_QUESTION_CHARS + len(qlog.TRUNCATED_MARK)
    assert record.question.endswith(qlog.TRUNCATED_MARK)
    assert len(record.normalized) <= qlog.MAX_QUESTION_CHARS
    short = qlog.build_query_record(
        question="essential hypertension",
        answer=None,
        surface="cli",
        user_hash=None,
        channel=None,
        latency_ms=None,
        index_version=None,
    )
    assert short.question == "essential hypertension"


# ------------------------------------------------------------------------------------ periods


@pytest.mark.parametrize("days", [0, -3, MAX_DAYS + 1, 99_999_999])
def test_absurd_days_are_a_clear_error(days: int) -> None:
    with pytest.raises(PeriodError, match="--days must be between 1 and"):
        resolve_period(None, None, days)


def test_a_period_past_the_calendar_is_a_clear_error() -> None:
    with pytest.raises(PeriodError):
        resolve_period(None, "9999-12-31", None)
    with pytest.raises(PeriodError):
        resolve_period("0001-01-01", "2026-01-01", None)  # longer than ten years


def test_codedesk_review_with_absurd_days_exits_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from codedesk.cli import app

    monkeypatch.setenv("CODEDESK_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(app, ["review", "--days", "99999999"])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output and "--days must be between 1 and" in result.output
