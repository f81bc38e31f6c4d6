# Two commands on a fresh machine: `make demo` and `make test`.
# Both build the local virtual environment from the pinned lock file first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean system-packages screenshots translations

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

system-packages:
	bash scripts/system-packages.sh

demo: $(STAMP)
	$(BIN)/safeground demo

test: $(STAMP) system-packages
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n 2 --timeout 900 $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports

# The README tour's screenshots (docs/img/*.png, 1200 x 800), taken by the browser test.
screenshots: $(STAMP)
	SAFEGROUND_SCREENSHOTS=docs/img $(BIN)/python -m pytest -n 0 -p no:cacheprovider \
		tests/web/test_browser.py -k tour

# Extract the marked strings into the catalogues (src/safeground/locale) and compile them.
translations: $(STAMP)
	BIN=$(BIN) bash scripts/translations.sh

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
