#!/usr/bin/env bash
# The department stack without Docker: what docker-compose.yml runs, on one machine.
#
#   deploy/run-stack.sh            # up: Chroma server, PostgreSQL check + migrations, ingest, serve (foreground)
#   deploy/run-stack.sh chroma     # only (re)start the Chroma server in the background and wait for it
#   deploy/run-stack.sh ingest     # only ingest into the Chroma server
#   deploy/run-stack.sh serve      # only `codedesk serve --workers N` (foreground)
#   deploy/run-stack.sh stop       # stop what `up`/`chroma` started (from the pid files)
#
# Every setting comes from the environment (the same CODEDESK_* / SLACK_* variables as the compose
# file and .env.example). Defaults:
#   CODEDESK_HOME=.codedesk-stack           state: caches, durable log queue, metrics/, run/ (logs, pids)
#   CODEDESK_CHROMA_HOST=127.0.0.1  CODEDESK_CHROMA_PORT=8000
#   CHROMA_PATH=$CODEDESK_HOME/chroma-server   where the Chroma server keeps the index
#   CODEDESK_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/codedesk   (must exist)
#   CODEDESK_WORKERS=4   CODEDESK_PORT=3000   CODEDESK_BIND=0.0.0.0
#   CODEDESK_PYTHON=.venv/bin/python   CHROMA_BIN=<python's bin>/chroma
# SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are required by `serve` (or SLACK_APP_TOKEN for Socket Mode).
# `serve` is uvicorn with CODEDESK_WORKERS worker processes (the serving part of `codedesk serve`).
# Ctrl-C / SIGTERM stops the bot workers (each finishes its answers in progress), then Chroma.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
PY="${CODEDESK_PYTHON:-$REPO/.venv/bin/python}"
CHROMA_BIN="${CHROMA_BIN:-$(dirname "$PY")/chroma}"

export CODEDESK_HOME="${CODEDESK_HOME:-$REPO/.codedesk-stack}"
export CODEDESK_CHROMA_HOST="${CODEDESK_CHROMA_HOST:-127.0.0.1}"
export CODEDESK_CHROMA_PORT="${CODEDESK_CHROMA_PORT:-8000}"
export CODEDESK_DATABASE_URL="${CODEDESK_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/codedesk}"
export CODEDESK_WORKERS="${CODEDESK_WORKERS:-4}"
export CODEDESK_PORT="${CODEDESK_PORT:-3000}"
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}" TRANSFORMERS_OFFLINE="${TRANSFORMERS_OFFLINE:-1}"
export ANONYMIZED_TELEMETRY="${ANONYMIZED_TELEMETRY:-False}"
CHROMA_PATH="${CHROMA_PATH:-$CODEDESK_HOME/chroma-server}"
BIND="${CODEDESK_BIND:-0.0.0.0}"
RUN_DIR="$CODEDESK_HOME/run"
WAIT_S="${STACK_WAIT_S:-60}"
mkdir -p "$RUN_DIR" "$CHROMA_PATH"

say() { printf 'run-stack: %s\n' "$*" >&2; }

chroma_up() {  # the heartbeat answers
  "$PY" - "$CODEDESK_CHROMA_HOST" "$CODEDESK_CHROMA_PORT" <<'EOF' >/dev/null 2>&1
import sys, urllib.request
urllib.request.urlopen(f"http://{sys.argv[1]}:{sys.argv[2]}/api/v2/heartbeat", timeout=2).read()
EOF
}

start_chroma() {
  if [ -f "$RUN_DIR/chroma.pid" ] && kill -0 "$(cat "$RUN_DIR/chroma.pid")" 2>/dev/null; then
    say "chroma already running (pid $(cat "$RUN_DIR/chroma.pid"))"
  else
    say "starting chroma on $CODEDESK_CHROMA_HOST:$CODEDESK_CHROMA_PORT (data $CHROMA_PATH)"
    "$CHROMA_BIN" run --path "$CHROMA_PATH" --host "$CODEDESK_CHROMA_HOST" --port "$CODEDESK_CHROMA_PORT" \
      >>"$RUN_DIR/chroma.log" 2>&1 &
    echo $! >"$RUN_DIR/chroma.pid"
  fi
  for _ in $(seq 1 $((WAIT_S * 5))); do
    if chroma_up; then say "chroma is up"; return 0; fi
    kill -0 "$(cat "$RUN_DIR/chroma.pid")" 2>/dev/null || { say "chroma exited; see $RUN_DIR/chroma.log"; return 1; }
    sleep 0.2
  done
  say "chroma did not answer within ${WAIT_S}s; see $RUN_DIR/chroma.log"
  return 1
}

check_postgres() {  # the compose file's `postgres` service: here the local server must already run
  say "checking the database and migrating the query log"
  for _ in $(seq 1 "$WAIT_S"); do
    if "$PY" -m codedesk db upgrade >/dev/null 2>>"$RUN_DIR/db.log"; then return 0; fi
    sleep 1
  done
  say "the database at CODEDESK_DATABASE_URL cannot be reached or migrated; see $RUN_DIR/db.log"
  return 1
}

ingest() {
  say "ingesting into the chroma server (a no-op when nothing changed)"
  "$PY" -m codedesk ingest -q
}

serve_fg() {
  say "serving: uvicorn, $CODEDESK_WORKERS workers on $BIND:$CODEDESK_PORT (metrics: $CODEDESK_HOME/metrics)"
  "$PY" -m codedesk serve --workers "$CODEDESK_WORKERS" --host "$BIND" --port "$CODEDESK_PORT" &
  local pid=$!
  echo "$pid" >"$RUN_DIR/serve.pid"
  trap 'kill -TERM "$pid" 2>/dev/null || true' TERM INT
  local rc=0
  wait "$pid" || rc=$?
  if [ "$rc" -gt 128 ]; then  # `wait` was interrupted by our signal: wait for the workers to finish
    rc=0
    wait "$pid" || rc=$?
  fi
  rm -f "$RUN_DIR/serve.pid"
  return "$rc"
}

stop_all() {
  for name in serve chroma; do
    if [ -f "$RUN_DIR/$name.pid" ]; then
      pid="$(cat "$RUN_DIR/$name.pid")"
      if kill -0 "$pid" 2>/dev/null; then
        say "stopping $name (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 450); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
      fi
      rm -f "$RUN_DIR/$name.pid"
    fi
  done
}

case "${1:-up}" in
  chroma) start_chroma ;;
  ingest) ingest ;;
  serve) serve_fg ;;
  stop) stop_all ;;
  up)
    trap stop_all EXIT
    start_chroma
    check_postgres
    ingest
    serve_fg
    ;;
  *) echo "usage: $0 [up|chroma|ingest|serve|stop]" >&2; exit 64 ;;
esac
