# The two commands of the README: `make reproduce` and `make test`. Both create .venv and install
# the package when needed; the install is redone only when pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install reproduce test lab docs clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "investigate needs Python 3.11 or newer; set PYTHON=python3.11 (or newer)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

reproduce: $(STAMP)
	$(BIN)/investigate reproduce --out reports

test: $(STAMP)
	$(BIN)/python -m pytest

# The query reference, from the queries' and checks' headers (a test checks it is current).
docs: $(STAMP)
	$(BIN)/python -m investigate.library_docs > docs/queries.md

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf reports .pytest_cache
