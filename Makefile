# One target a chore. Every target installs what it needs into .venv first, so each works on a new machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install generate check-generated lint test fuzz demo bench docs clean

install: $(STAMP)

# The SDK in editable mode with every extra, and the dev and docs tools of [dependency-groups] (pip 25.1+ reads them).
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[testing,images]' --group dev --group docs
	touch $(STAMP)

generate: install
	$(PY) scripts/generate.py

check-generated: install
	$(PY) scripts/generate.py --check

lint: install
	$(PY) -m ruff check nai_sdk scripts tests examples bench
	$(PY) -m ruff format --check nai_sdk scripts tests examples bench
	$(PY) -m mypy --strict nai_sdk generated/nai_client scripts examples bench/run.py bench/make_corpus.py bench/_proto.py bench/worker_ours.py bench/_http_runs.py bench/http_server.py bench/bench_http.py bench/bench_sse.py bench/bench_budgets.py

test: check-generated lint
	$(PY) -m pytest

# The decoder properties of `make test`, run much longer; FUZZ_ARGS="--examples 20000 --seed 3" to change.
fuzz: install
	$(PY) scripts/fuzz.py $(FUZZ_ARGS)

demo: install
	$(PY) -m nai_sdk.demo

bench: install
	$(PY) bench/run.py

docs: install
	$(PY) -m mkdocs build --strict

clean:
	rm -rf $(VENV) node_modules build dist .mypy_cache .ruff_cache .pytest_cache
