"""Issue 14: every password form of a database or service URL is masked wherever a URL is shown
(`codedesk.review.db.describe_url`, the one masking function, is `codedesk.settings.redact_url`), and queued
log records carry a destination fingerprint that holds no credential."""

from __future__ import annotations

import pytest

from codedesk.review.db import describe_url, destination_of
from codedesk.settings import redact_text, redact_url

SECRET = "s3cr3t-Pw"


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://coder:{SECRET}@db.example:5432/codedesk",
        f"postgresql+psycopg://coder@db.example/codedesk?password={SECRET}",
        f"postgresql+psycopg://db.example/codedesk?sslmode=require&sslpassword={SECRET}",
        f"postgresql://db.example/codedesk?pwd={SECRET}&connect_timeout=3",
        f"postgresql://db.example/codedesk?PASSWORD={SECRET}",
        f"postgresql://db.example/codedesk?pass%77ord={SECRET}",  # percent-encoded key
        f"postgresql://db.example/codedesk?options=-csearch_path%3Dx;password={SECRET}",
        f"postgresql://coder:{SECRET}@db.example/codedesk#password={SECRET}",
        f"postgresql://coder:p@ss{SECRET}@db.example/codedesk",  # an @ inside the password
        f"host=db.example dbname=codedesk password={SECRET}",  # libpq key/value
        f"https://chroma.example:8000/?token={SECRET}",
    ],
)
def test_every_password_form_is_masked(url: str) -> None:
    shown = describe_url(url)
    assert SECRET not in shown
    assert "***" in shown
    assert "db.example" in shown or "chroma.example" in shown  # where it points is still said


def test_what_is_not_a_secret_is_kept_as_written() -> None:
    url = "postgresql+psycopg://coder@db.example:5432/codedesk?options=-csearch_path%3Dx&connect_timeout=3"
    assert describe_url(url) == url
    assert (
        describe_url("sqlite:////srv/codedesk/codedesk.db") == "sqlite:////srv/codedesk/codedesk.db"
    )


def test_urls_inside_a_message_are_masked_and_the_message_kept() -> None:
    msg = f"the code index at https://u:{SECRET}@chroma:8000?token={SECRET}:8000 cannot be opened (ConnectError)"
    shown = redact_text(msg)
    assert SECRET not in shown and shown.endswith("cannot be opened (ConnectError)")
    assert redact_url(None) == ""


def test_destination_fingerprint_names_the_database_not_the_credentials() -> None:
    a = destination_of(f"postgresql+psycopg://coder:{SECRET}@db.example/codedesk")
    assert a == destination_of(
        "postgresql://coder@db.example:5432/codedesk?password=other&connect_timeout=2"
    )
    assert SECRET not in a
    assert a != destination_of("postgresql+psycopg://coder@db.example/other_db")
    assert a != destination_of("postgresql+psycopg://coder@db2.example/codedesk")
    assert a != destination_of(
        "postgresql+psycopg://coder@db.example/codedesk?options=-csearch_path%3Dx"
    )
    assert destination_of("sqlite:////tmp/a.db") != destination_of("sqlite:////tmp/b.db")
