# parbench: the two commands of the README, and what they need.
#   make bench   set up .venv, run the whole suite (real sizes) with asv, publish html/
#   make test    set up .venv, run the tests
# Options: QUICK=1 (small sizes, one sample: minutes), BENCH=regex, PYTHON=python3.11

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.parbench-installed
RUN_ARGS := $(if $(QUICK),--quick) $(if $(BENCH),--bench '$(BENCH)')

.PHONY: setup bench test preview clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

bench: setup
	$(BIN)/python -m bench_lib run $(RUN_ARGS)

test: setup
	$(BIN)/python -m pytest $(ARGS)

preview: setup
	$(BIN)/python -m asv preview

clean:
	rm -rf $(VENV) .asv
