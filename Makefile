# respawn: the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export RESPAWN_HOME ?= $(CURDIR)/data
# Dagster's run history lives beside the data it describes; dagster_home/dagster.yaml is the
# instance config (the warehouse concurrency pool), copied there on every start.
export DAGSTER_HOME ?= $(RESPAWN_HOME)/dagster

.PHONY: install demo test lint fmt dev bench clean client-demo dbt-manifest

# Installs exactly the pinned set in constraints.txt, so a fresh clone gets what CI tested.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "==> installing respawn and its pinned dependencies into $(VENV) (first time: ~2 min)"
	@$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# dbt's manifest is generated (never committed), once per change of the dbt project.
MANIFEST := dbt_project/target/manifest.json
DBT_SOURCES := $(shell find dbt_project \( -name target -o -name logs -o -name dbt_packages \) -prune -o \( -name '*.sql' -o -name '*.yml' \) -print 2>/dev/null)
$(MANIFEST): $(STAMP) $(DBT_SOURCES)
	@echo "==> parsing the dbt project (manifest for Dagster)"
	@$(BIN)/dagster-dbt project prepare-and-package --file orchestration/dbt_project.py >/dev/null
	@touch $(MANIFEST)

dbt-manifest: $(MANIFEST)

demo: install $(MANIFEST)
	$(BIN)/respawn demo

# The Dagster UI (webserver + daemon, so schedules and sensors run) on the same data as the demo.
dev: install $(MANIFEST)
	@mkdir -p $(DAGSTER_HOME) && cp dagster_home/dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	@echo "==> Dagster UI on http://127.0.0.1:3000 (data: $(RESPAWN_HOME); Ctrl-C stops)"
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

test: install $(MANIFEST)
	$(BIN)/python -m pytest

# ruff, and the dependency rule: ingestion/ and ml/ never import orchestration/ (pyproject.toml).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache

client-demo: install  ## example.html against a local ingestor
	@echo "==> open http://127.0.0.1:8000/example.html?url=ws://127.0.0.1:8765/  (Ctrl-C stops)"
	@trap 'kill $$pid 2>/dev/null; wait $$pid' EXIT INT TERM; \
	$(BIN)/respawn serve --host 127.0.0.1 --port 8765 --allowed-origin http://127.0.0.1:8000 --shard-max-age 5 & pid=$$!; \
	$(BIN)/python -m http.server 8000 --bind 127.0.0.1 --directory ingestion/client
