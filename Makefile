# Two commands on a fresh machine with Python 3.11+ and make:
#   make run   — set up .venv and run the bot on config.toml (SQLite, console, no network)
#   make test  — set up .venv, lint, type-check and run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Most tests wait on sockets, subprocesses and timers: two test processes (a test file each)
# halve the suite's time on a 2-core machine. `make test PYTEST_PARALLEL=` runs serially.
PYTEST_PARALLEL ?= -n 2 --dist loadfile

.PHONY: run test setup lint typecheck bench model clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("botkit needs Python 3.11+") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/botkit run --config config.toml

test: $(STAMP)
	$(BIN)/ruff check botkit classifiers adapters tests bench
	$(BIN)/ruff format --check botkit classifiers adapters tests bench
	$(BIN)/mypy botkit classifiers adapters
	$(BIN)/pytest -q $(PYTEST_PARALLEL)

lint: $(STAMP)
	$(BIN)/ruff check botkit classifiers adapters tests bench
	$(BIN)/ruff format --check botkit classifiers adapters tests bench

typecheck: $(STAMP)
	$(BIN)/mypy botkit classifiers adapters

bench: $(STAMP)
	$(BIN)/python bench/bench_models.py --plot var/bench
	$(BIN)/python bench/bench_near_duplicates.py
	$(BIN)/python bench/bench_answers.py
	$(BIN)/python bench/bench_classifier.py
	$(BIN)/python bench/bench_classify_process.py
	$(BIN)/python bench/bench_claims.py
	$(BIN)/python bench/bench_entities.py
	$(BIN)/python bench/bench_pipeline.py
	$(BIN)/python bench/bench_telegram.py
	$(BIN)/python bench/bench_faults.py
	$(BIN)/python bench/bench_fleet.py
	$(BIN)/python bench/bench_fleet_faults.py

# Retrain the shipped model from the seed corpus and promote it.
model: $(STAMP)
	$(BIN)/botkit train
	@echo "then: $(BIN)/botkit models promote <version>"

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
