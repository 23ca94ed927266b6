# The two commands a newcomer needs: `make demo` and `make test`. Both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint setup messages clean

$(BIN)/workshopbot: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

setup: $(BIN)/workshopbot

demo: setup
	$(BIN)/workshopbot demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/workshopbot i18n check
	$(BIN)/pytest -q -n 2 --dist worksteal

# After changing user-visible strings: re-extract, merge into every catalog, then translate
# what `workshopbot i18n check` lists (docs/translating.md).
messages: setup
	$(BIN)/workshopbot i18n extract
	$(BIN)/workshopbot i18n update

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
