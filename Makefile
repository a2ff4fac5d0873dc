# flexpersona — two commands do all the set-up: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/flexpersona demo --out demo-run

test: install
	$(BIN)/ruff check src tests benchmarks
	# two worker processes, one test file each at a time (module fixtures built once)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

bench: install
	$(BIN)/flexpersona bench --scale 0.1

clean:
	rm -rf $(VENV) demo-run .pytest_cache
