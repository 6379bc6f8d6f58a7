# One target a chore. Every target installs what it needs into .venv first, so each works on a new machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo
# The highest supported Python (pyproject.toml's classifiers) for `make test-highest`, in a venv of its own. The
# interpreter is PYTHON_HIGHEST if set, else python3.13 on PATH, else the newest pyenv 3.13, whichever runs as 3.13.
HIGHEST := 3.13
VENV_HIGHEST := .venv-$(HIGHEST)
PYTHON_HIGHEST ?=
PYENV_ROOT ?= $(HOME)/.pyenv
IS_HIGHEST := import sys; sys.exit("%d.%d" % sys.version_info[:2] != "$(HIGHEST)")

.PHONY: install venv generate check-generated lint test test-highest fuzz demo dist check-sdist bench docs clean

install: $(STAMP)

# A .venv that does not run, or runs a Python older than 3.11, is made again (with it go the stamps inside it).
venv:
	@$(PY) -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null || { \
	    rm -rf $(VENV) && $(PYTHON) -m venv $(VENV) && \
	    $(PY) -c 'import sys; assert sys.version_info >= (3, 11), "nai-sdk needs Python 3.11+: make PYTHON=python3.11"'; }

# The SDK in editable mode with every extra, and the dev and docs tools of [dependency-groups] (pip 25.1+ reads them).
$(STAMP): pyproject.toml | venv
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
	$(PY) -m mypy --strict nai_sdk generated/nai_client scripts examples bench/run.py bench/make_corpus.py bench/_proto.py bench/worker_ours.py bench/_http_runs.py bench/http_server.py bench/bench_http.py bench/bench_sse.py bench/bench_budgets.py bench/bench_keystore.py bench/bench_queue.py bench/bench_backup.py bench/bench_chat.py bench/bench_context.py bench/bench_images.py

test: check-generated lint
	$(PY) -m pytest

# pytest on the highest supported Python (`make test` runs on the default python3, the lowest: 3.11), in
# $(VENV_HIGHEST), made and installed like .venv by `install`. Without a Python $(HIGHEST) it says so and tests nothing.
test-highest:
	@found=; \
	for candidate in $(PYTHON_HIGHEST) python$(HIGHEST) $$(ls -d $(PYENV_ROOT)/versions/$(HIGHEST).*/bin/python$(HIGHEST) \
	        /root/.pyenv/versions/$(HIGHEST).*/bin/python$(HIGHEST) 2>/dev/null | sort -rV); do \
	    if "$$candidate" -c '$(IS_HIGHEST)' 2>/dev/null; then found=$$(command -v "$$candidate"); break; fi; \
	done; \
	if [ -z "$$found" ]; then \
	    echo "test-highest: NO PYTHON $(HIGHEST) FOUND (PYTHON_HIGHEST, python$(HIGHEST) on PATH, $(PYENV_ROOT)/versions/$(HIGHEST).*):"; \
	    echo "test-highest: SKIPPED, the suite did NOT run on the highest supported Python"; \
	    exit 0; \
	fi; \
	echo "test-highest: $$found ($$("$$found" -c 'import sys; print(sys.version.split()[0])')) in $(VENV_HIGHEST)"; \
	$(VENV_HIGHEST)/bin/python -c '$(IS_HIGHEST)' 2>/dev/null || rm -rf $(VENV_HIGHEST); \
	$(MAKE) --no-print-directory VENV=$(VENV_HIGHEST) PYTHON="$$found" install && \
	$(VENV_HIGHEST)/bin/python -m pytest

# The decoder properties of `make test`, run much longer; FUZZ_ARGS="--examples 20000 --seed 3" to change.
fuzz: install
	$(PY) scripts/fuzz.py $(FUZZ_ARGS)

# Only what the demo needs: the SDK and the fake server (the `testing` extra), not the dev and docs tools.
$(DEMO_STAMP): pyproject.toml | venv
	@echo "Installing nai-sdk and its fake server into $(VENV)..."
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --progress-bar on -e '.[testing]'
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(PY) -m nai_sdk.demo

# The sdist and the wheel, in dist/ (`pip install dist/*.whl` installs the SDK and the nai command).
dist: install
	rm -rf dist
	$(PY) -m build --outdir dist .

# The sdist stands alone: unpacked into a fresh folder, its own `make test` (a new .venv, the generation check,
# lint and the whole suite) passes. Slow (a full install and run); not part of `make test`.
check-sdist: dist
	rm -rf build/sdist-check && mkdir -p build/sdist-check
	tar -xzf dist/nai_sdk-*.tar.gz -C build/sdist-check
	cd build/sdist-check/nai_sdk-* && { ! command -v npm >/dev/null || npm ci --no-audit --no-fund --loglevel=error; } && \
	    $(MAKE) --no-print-directory test PYTHON=$(PYTHON)

bench: install
	$(PY) bench/run.py

docs: install
	$(PY) -m mkdocs build --strict

clean:
	rm -rf $(VENV) $(VENV_HIGHEST) node_modules build dist .mypy_cache .ruff_cache .pytest_cache
