# The two commands of the README: `make demo` and `make test`. Both build their own virtualenv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint format install install-dev serve bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Runs the product on its embedded defaults: SQLite, tasks in-process, DEBUG on, port 8000.
demo: export DEBUG = 1
demo: $(VENV)/.installed
	$(BIN)/python manage.py migrate --verbosity 0
	$(BIN)/python manage.py import_plans seeds/
	$(BIN)/python manage.py label --all --labeler rules
	$(BIN)/python manage.py demo_accounts
	$(BIN)/python manage.py runserver 127.0.0.1:8000

test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/import_bench.py

clean:
	rm -rf $(VENV) db.sqlite3 .pytest_cache .ruff_cache
