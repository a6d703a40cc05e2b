# The two set-up commands: `make run` and `make test`. Both create the virtual environment on first use.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: run test venv ingest eval bench clean

$(BIN)/codedesk: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $(BIN)/codedesk

venv: $(BIN)/codedesk

# No Slack tokens: ingest the embedded default (a no-op when nothing changed) and chat in the terminal.
# With SLACK_BOT_TOKEN set: serve the Slack bot.
run: venv
	@if [ -n "$$SLACK_BOT_TOKEN" ]; then $(BIN)/codedesk ingest && $(BIN)/codedesk serve; \
	else $(BIN)/codedesk ingest && $(BIN)/codedesk chat; fi

test: venv
	CODEDESK_CMS_DATA_DIR=$${CODEDESK_CMS_DATA_DIR:-$(abspath ../shared/data)} $(BIN)/python -m pytest $(PYTEST_ARGS)

ingest: venv
	$(BIN)/codedesk ingest

eval: venv
	$(BIN)/codedesk eval

bench: venv
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .codedesk
