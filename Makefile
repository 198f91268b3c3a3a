# respawn: the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export RESPAWN_HOME ?= $(CURDIR)/data

.PHONY: install demo test lint fmt dev bench clean client-demo

# Installs exactly the pinned set in constraints.txt, so a fresh clone gets what CI tested.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "==> installing respawn and its pinned dependencies into $(VENV) (first time: ~2 min)"
	@$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/respawn demo

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

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
