# respawn: the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
export RESPAWN_HOME ?= $(CURDIR)/data
# Dagster's run history lives beside the data it describes; dagster_home/dagster.yaml is the
# instance config (the warehouse concurrency pool), copied there on every start.
export DAGSTER_HOME ?= $(RESPAWN_HOME)/dagster

.PHONY: install install-test demo test lint fmt dev bench clean client-demo dbt-manifest

# ---- install ---------------------------------------------------------------------------------
# constraints.txt is the lock: every package of every extra at one version. Both installers
# install against it, so a fresh clone gets exactly the set CI tested. Two sets, by extra:
#   make install      (demo, dev, lint): respawn + `dev`                      uv: 10-20 s
#   make install-test (test): + `test`: Postgres, Spark (460 MB of jars), S3  uv: 30-80 s
# (figures on this 2-core machine from an empty uv cache; from a warm one, 5-15 s each).
# uv does the work: the one on PATH, else uv $(UV_VERSION) bootstrapped into the venv with pip.
# Plain pip is the fallback, automatic when uv cannot be had, or forced in a new venv:
# `rm -rf .venv && make install INSTALLER=pip` (same lock; 2 min for `dev`, several for `test`).
# PIP_FLAGS go to pip (tests/install resolves with `--dry-run`). To pin a new dependency, add
# what `uv pip compile pyproject.toml --extra test -c constraints.txt` adds to constraints.txt.
INSTALLER  ?= uv
UV_VERSION := 0.13.9
PIP_FLAGS  ?=
DEV_STAMP  := $(VENV)/.installed-dev
TEST_STAMP := $(VENV)/.installed-test

# uv reads none of pip's configuration: hand it the sources pip is configured with here (extra
# indexes, find-links, the machine-wide constraints), so both installers see one set of sources.
# pip treats all indexes alike; uv does so with unsafe-best-match (by default it takes a package
# from the first index that has it, and a partial local mirror would then shadow PyPI's pins).
pip_config = $$($(PYTHON) -m pip config get global.$(1) 2>/dev/null)
define uv_sources
	set -- "$$@" --index-strategy unsafe-best-match; \
	for url in $(call pip_config,index-url); do set -- "$$@" --default-index "$$url"; done; \
	for url in $(call pip_config,extra-index-url); do set -- "$$@" --index "$$url"; done; \
	for dir in $(call pip_config,find-links); do set -- "$$@" --find-links "$$dir"; done; \
	for file in $(call pip_config,constraint); do set -- "$$@" -c "$$file"; done
endef

# $(call install_extras,EXTRA): the venv, an installer, then respawn[EXTRA] at the pins.
# uv tries its cache first (--offline), then the indexes: every version is pinned, so the cache
# is as good as the index, and the package proxy here sends no cache validators (online, uv
# would re-fetch every file and rebuild pyspark's sdist, ~25 s, on every install).
define install_extras
	@set -e; start=$$(date +%s); \
	if [ -x $(BIN)/python ]; then echo "==> [1/3] virtualenv $(VENV): present"; \
	else echo "==> [1/3] virtualenv $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); fi; \
	uv=; \
	if [ "$(INSTALLER)" = uv ]; then \
	  if command -v uv >/dev/null 2>&1; then uv=$$(command -v uv); \
	  elif [ -x $(BIN)/uv ]; then uv=$(BIN)/uv; \
	  else echo "==> [2/3] bootstrapping uv $(UV_VERSION) into $(VENV) with pip"; \
	    if $(BIN)/python -m pip install --progress-bar off --disable-pip-version-check \
	        "uv==$(UV_VERSION)"; then uv=$(BIN)/uv; \
	    else echo "==> uv could not be installed: falling back to pip (same lock, slower)"; fi; \
	  fi; \
	fi; \
	if [ -n "$$uv" ]; then \
	  echo "==> [2/3] installer: $$($$uv --version) ($$uv)"; \
	  set -- pip install --python $(BIN)/python -c constraints.txt -e '.[$(1)]'; \
	  $(uv_sources); \
	  echo "==> [3/3] respawn[$(1)] at the pins of constraints.txt, with uv"; \
	  if "$$uv" "$$@" --offline --no-progress >$(VENV)/.uv-offline.log 2>&1; then \
	    cat $(VENV)/.uv-offline.log; echo "    (all from uv's cache)"; \
	  else \
	    echo "    (not all in uv's cache: fetching from the package indexes)"; \
	    "$$uv" "$$@"; \
	  fi; \
	else \
	  echo "==> [2/3] installer: pip ($(BIN)/python -m pip)"; \
	  $(BIN)/python -m pip install --progress-bar off --disable-pip-version-check --upgrade pip; \
	  echo "==> [3/3] respawn[$(1)] at the pins of constraints.txt, with pip (first time: minutes)"; \
	  $(BIN)/python -m pip install --progress-bar off --disable-pip-version-check $(PIP_FLAGS) \
	    -c constraints.txt -e '.[$(1)]'; \
	fi; \
	echo "==> respawn[$(1)]: done in $$(( $$(date +%s) - start )) s"
	@$(if $(findstring --dry-run,$(PIP_FLAGS)),:,touch $@)
endef

$(DEV_STAMP): pyproject.toml constraints.txt
	$(call install_extras,dev)

$(TEST_STAMP): pyproject.toml constraints.txt
	$(call install_extras,test)

install: $(DEV_STAMP)

install-test: $(TEST_STAMP)

# dbt's manifest is generated (never committed), once per change of the dbt project.
MANIFEST := dbt_project/target/manifest.json
DBT_SOURCES := $(shell find dbt_project \( -name target -o -name logs -o -name dbt_packages \) -prune -o \( -name '*.sql' -o -name '*.yml' \) -print 2>/dev/null)
$(MANIFEST): $(DEV_STAMP) $(DBT_SOURCES)
	@echo "==> parsing the dbt project (manifest for Dagster)"
	@$(BIN)/dagster-dbt project prepare-and-package --file orchestration/dbt_project.py >/dev/null
	@touch $(MANIFEST)

dbt-manifest: $(MANIFEST)

demo: install $(MANIFEST)
	$(BIN)/respawn demo

# The Dagster UI (webserver + daemon, so schedules and sensors run) on the same data as the demo.
# `dagster dev` warns that `dg dev` supersedes it. `dg dev -w workspace.yaml` would serve the same
# workspace (it hands these options to the same code), but it comes in dagster-dg-cli 1.13.27,
# which adds 20 distributions to the install (dagster-cloud-cli, cryptography, httpx, github3.py,
# questionary, ...) and needs setuptools at run time, which the lock leaves to the installer:
# not worth it for one warning. workspace.yaml stays the one entry point either way.
dev: install $(MANIFEST)
	@mkdir -p $(DAGSTER_HOME) && cp dagster_home/dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	@echo "==> Dagster UI on http://127.0.0.1:3000 (data: $(RESPAWN_HOME); Ctrl-C stops)"
	@echo "    (its SupersessionWarning about \`dg dev\` is expected: see the Makefile's dev target)"
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

# Two pytest workers, one test module at a time each (a module's fixtures stay in one process):
# the suite's long parts (Spark, dbt builds, servers) mostly wait, so two took 37% less time on
# 2 cores (15.5 min against 24.6). TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 2
test: install-test $(MANIFEST)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

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
