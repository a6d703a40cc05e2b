# The two set-up commands: `make run` and `make test`. Both create the virtual environment on first use.
# The newest supported Python found on the machine (3.13, 3.12, then 3.11), on PATH or under pyenv
# (a pyenv shim for a version that is not selected is on PATH but does not run, so each one is tried).
PYTHON ?= $(shell for v in 3.13 3.12 3.11; do \
	  pyenv_python="$$(pyenv root 2>/dev/null)/versions/$$(pyenv whence python$$v 2>/dev/null | tail -n1)/bin/python$$v"; \
	  for p in python$$v "$$pyenv_python"; do \
	    "$$p" -c 'import sys' >/dev/null 2>&1 && { echo "$$p"; exit 0; }; \
	  done; done; echo python3)
VENV ?= .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: run test lint venv system-deps ingest eval bench clean

$(BIN)/codedesk: pyproject.toml
	@test -x $(BIN)/python || { echo "creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $(BIN)/codedesk

venv: $(BIN)/codedesk

# Ingest the embedded default (a no-op when nothing changed), then `codedesk start`: the Slack bot
# when SLACK_BOT_TOKEN is set (environment or .env), otherwise the terminal chat.
run: venv
	$(BIN)/codedesk ingest
	$(BIN)/codedesk start

# Debian's chromium renders the HTML review report in a test (screenshot saved under test-artifacts/).
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "notice: chromium is not installed; the HTML report screenshot test will be skipped"; fi; }

# Static checks: the layer contracts (import-linter), ruff (lint and format) and mypy (strict on the CMS
# records and the answer object); contracts and settings in pyproject.toml.
lint: venv
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: venv system-deps lint
	CODEDESK_CMS_DATA_DIR=$${CODEDESK_CMS_DATA_DIR:-$(abspath ../shared/data)} $(BIN)/python -m pytest $(PYTEST_ARGS)

ingest: venv
	$(BIN)/codedesk ingest

eval: venv
	$(BIN)/codedesk eval

bench: venv
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .codedesk
