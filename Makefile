# parbench: the two commands of the README, and what they need.
#   make bench   set up .venv, run the whole suite (real sizes) with asv, publish html/
#   make test    set up .venv, run the tests
#   make docs    regenerate the docs pages whose figures come from results/
#   make mutation  mutation-test the measurement core and the planning code (minutes; last line: killed K of N)
# Options: QUICK=1 (smoke test: small sizes, one sample, 73 points; under 3 min here), BENCH=regex, PYTHON=python3.11

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.parbench-installed
TEST_WORKERS ?= 3
RUN_ARGS := $(if $(QUICK),--quick) $(if $(BENCH),--bench '$(BENCH)')

# Debian packages the tests drive: headless Chromium and its WebDriver (tests/test_site.py),
# shellcheck (tests/test_ec2.py). Installed with apt when a command is missing.
SYSTEM_PACKAGES := chromium chromium-driver shellcheck
SYSTEM_COMMANDS := chromium chromedriver shellcheck
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup system bench test docs mutation preview site clean

setup: $(STAMP)

system:
	@missing=; for c in $(SYSTEM_COMMANDS); do command -v $$c >/dev/null || missing="$$missing $$c"; done; \
	if [ -n "$$missing" ]; then \
	  echo "missing:$$missing -- installing $(SYSTEM_PACKAGES) (apt)"; \
	  $(SUDO) apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(SYSTEM_PACKAGES); \
	fi

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

bench: setup
	$(BIN)/python -m bench_lib run $(RUN_ARGS)

# Three pytest workers (pytest-xdist) on two cores: most tests wait on processes they start;
# a test marked alone gets the machine to itself (tests/conftest.py). TEST_WORKERS=0: one process, in file order.
test: setup system
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal $(ARGS)

# The docs pages whose figures come from results/ (tests/test_docs.py checks they are current),
# and the README's picture of the report page (Chromium: make test installs it).
docs: setup system
	$(BIN)/python docs/generate.py
	$(BIN)/python -m bench_lib site --screenshot docs/report.png

# Mutation testing of the measurement core (pyproject's [tool.mutmut]); not part of make test.
mutation: setup
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,mutation]'
	rm -rf mutants
	$(BIN)/mutmut run > mutants.log 2>&1 || { tail -20 mutants.log; exit 1; }
	$(BIN)/python tests/mutation_score.py

preview: setup
	$(BIN)/python -m asv preview

site: setup
	$(BIN)/python -m bench_lib site

clean:
	rm -rf $(VENV) .asv
