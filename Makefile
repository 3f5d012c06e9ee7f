# Every target builds what it needs: a fresh clone needs only Python 3.11+, make, git and npm.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BUF_VERSION := 1.75.0
BUF := .tools/node_modules/.bin/buf
ARGS ?=

.PHONY: install run demo test lint protos docker clean bench soak postgres run-cluster routing-eval

$(STAMP): pyproject.toml clients/python/pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@# setuptools notes that every editable install could be shadowed by a same-named folder: noise on each install.
	PYTHONWARNINGS=ignore $(BIN)/pip install --quiet -e ./clients/python -e '.[dev,otel]'
	touch $(STAMP)

$(BUF):
	npm install --silent --no-audit --no-fund --prefix .tools @bufbuild/buf@$(BUF_VERSION)

install: $(STAMP) ## create .venv with the service, the client and the dev tools

run: $(STAMP) ## start the server on 127.0.0.1:8003 with ./data and the demo agents (ARGS="--port 9000")
	$(BIN)/python -m registry_server $(ARGS)

demo: $(STAMP) ## the demo agents as A2A services (tickets :5001, finops :5002, oxygen :8002) and the registry on :8003 pointing at them, data in data/demo (ARGS="--tickets-port 6001 --port 9000")
	$(BIN)/python -m registry_server.demo_agents.launch $(ARGS)

run-cluster: $(STAMP) postgres ## PostgreSQL in ./data/pg and two instances on 127.0.0.1:8003 and :8004 sharing it (Ctrl-C stops all)
	$(BIN)/python scripts/run_cluster.py $(ARGS)

protos: $(STAMP) ## regenerate generated/ from protos/
	$(BIN)/python scripts/generate_protos.py

lint: $(STAMP) $(BUF) ## ruff check, ruff format --check, buf lint, mypy --strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BUF) lint
	$(BIN)/python -m mypy

.PHONY: typecheck
typecheck: $(STAMP) ## mypy --strict on the service and the client (configured in pyproject.toml)
	$(BIN)/python -m mypy

test: lint postgres ## lint, then every test (the stale-stubs check is tests/test_generated_stubs.py)
	$(BIN)/pytest

# The PostgreSQL tests start a real server from its binaries; install them when they are missing and we can.
PG_FOUND = $(shell command -v initdb || ls /usr/local/bin/initdb /usr/lib/postgresql/*/bin/initdb 2>/dev/null | head -1)
postgres: ## install the PostgreSQL server binaries (apt, as root) when initdb is not found
ifeq ($(PG_FOUND),)
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	else \
		echo "PostgreSQL server binaries not found: install the postgresql package (the PostgreSQL tests need them)"; \
	fi
endif

docker: ## build the container image
	docker build -t agent-registry .

clean:
	rm -rf $(VENV) .tools .pytest_cache .ruff_cache *.egg-info

bench: $(STAMP) ## measure every performance figure of DESIGN.md; prints one JSON document (about a minute)
	@$(BIN)/python -m bench.run

SOAK_ARGS ?= --duration 300
soak: $(STAMP) ## crash soak: mixed load while the server is kill -9ed every few seconds; prints a JSON summary (SOAK_ARGS="--duration 1800")
	@$(BIN)/python -m bench.soak $(SOAK_ARGS)

CASES ?=
TARGET ?= 127.0.0.1:8003
routing-eval: $(STAMP) ## routing evaluation as JSON: CASES=file.yaml against TARGET, and ../shared/routing-dev when present
	@$(BIN)/python scripts/routing_eval.py $(if $(CASES),--cases $(CASES) --target $(TARGET))
