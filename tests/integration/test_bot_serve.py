"""`codedesk serve` (bot.serve / bot.cli): fail fast on missing settings; HTTP mode end to end."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from bot.config import BotSettings
from bot.serve import serve
from codedesk.settings import Settings
from tests.fake_slack import BOT_USER_ID, FakeSlack, SlackSigner

REPO = Path(__file__).resolve().parents[2]


def test_missing_settings_fail_fast_naming_every_one(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CODEDESK_"))}
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.run([sys.executable, "-m", "bot.cli"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2
    assert "SLACK_BOT_TOKEN" in proc.stderr and "SLACK_SIGNING_SECRET" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_serve_http_mode_answers_a_signed_mention(tmp_path: Path) -> None:
    from retrieval.service import build_answerer
    from review.log import QueryLogger

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with FakeSlack() as fake:
        settings = Settings(_env_file=None, home=tmp_path / "home", database_url=None, cms_data_dir=None,
                            port=port, slack_api_url=fake.api_url)
        bot = BotSettings(_env_file=None, slack_bot_token="xoxb-serve", slack_signing_secret="serve-secret",
                          slack_app_token=None)
        answerer = build_answerer(Settings(_env_file=None, home=Path(tempfile.gettempdir()) / "codedesk-test-answerer",
                                           cms_data_dir=None), dense=False)
        ready, stop = threading.Event(), threading.Event()
        thread = threading.Thread(target=serve, args=(settings,), daemon=True,
                                  kwargs=dict(bot_settings=bot, host="127.0.0.1", answerer=answerer,
                                              query_logger=QueryLogger(settings), ready=ready, stop=stop))
        thread.start()
        try:
            assert ready.wait(60)
            signer = SlackSigner("serve-secret", f"http://127.0.0.1:{port}/slack/events")
            message = fake.add_message("C0SERVE", text=f"<@{BOT_USER_ID}> code for essential hypertension")
            event = {"type": "app_mention", "channel": "C0SERVE", "user": "U0ASKER", "text": message["text"],
                     "ts": message["ts"]}
            assert signer.event(event, event_id="Ev0SERVE")[0] == 200
            [post] = fake.wait_for("chat.postMessage", channel="C0SERVE", thread_ts=message["ts"])
            assert "I10" in str(post.params["blocks"])
            assert post.headers["authorization"] == "Bearer xoxb-serve"
        finally:
            stop.set()
            thread.join(30)
        assert not thread.is_alive()
