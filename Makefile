# The two commands of the README: `make demo` and `make test`. Both build their own virtualenv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint format install install-dev serve bench bench-local clean

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

# The benchmarks, one after the other (bench/*.py; each prints its figures and exits 1 when it
# misses a target, 2 when it cannot run); all run even when one fails, and `make bench` fails
# then. import_bench and corpus_quality need no service (import_bench: a throw-away SQLite file,
# or a test database beside DATABASE_URL when it is set; corpus_quality: ../shared/corpus).
# label_throughput, review_latency and export_bench need PostgreSQL: DATABASE_URL (postgres://)
# names the server, on which they create and drop their own databases; label_throughput also
# needs Redis: REDIS_URL. `bash .ci/run` shows how to start both. `make bench-local` runs the
# two that need no service.
BENCHES_LOCAL := import_bench corpus_quality
BENCHES_SERVICES := label_throughput review_latency export_bench

define run_benches
	@failed=""; for bench in $(1); do \
	  printf '\n== bench/%s.py\n' "$$bench"; \
	  $(BIN)/python bench/$$bench.py || failed="$$failed $$bench"; \
	done; \
	if [ -n "$$failed" ]; then \
	  echo "make bench: missed a target or could not run:$$failed" >&2; exit 1; fi
endef

bench: $(VENV)/.installed-dev
	@case "$$DATABASE_URL" in postgres://*|postgresql://*) ;; *) \
	  echo "make bench: set DATABASE_URL to a PostgreSQL server," \
	    "e.g. postgres://postgres@127.0.0.1:5432/reviewapp" >&2; \
	  echo "  ($(BENCHES_SERVICES) need it; make bench-local runs the others)" >&2; \
	  exit 2;; esac
	@[ -n "$$REDIS_URL" ] || { \
	  echo "make bench: set REDIS_URL to a Redis server, e.g. redis://127.0.0.1:6379/0" >&2; \
	  echo "  (label_throughput needs it; make bench-local runs the benchmarks without services)" >&2; \
	  exit 2; }
	$(call run_benches,$(BENCHES_LOCAL) $(BENCHES_SERVICES))

bench-local: $(VENV)/.installed-dev
	$(call run_benches,$(BENCHES_LOCAL))

clean:
	rm -rf $(VENV) db.sqlite3 .pytest_cache .ruff_cache
