# parbench: the two commands of the README, and what they need.
#   make bench   set up .venv, run the whole suite (real sizes) with asv, publish html/
#   make test    set up .venv, run the tests
# Options: QUICK=1 (small sizes, one sample: minutes), BENCH=regex, PYTHON=python3.11

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.parbench-installed
RUN_ARGS := $(if $(QUICK),--quick) $(if $(BENCH),--bench '$(BENCH)')

# Debian packages the tests drive: headless Chromium and its WebDriver (tests/test_site.py).
SYSTEM_PACKAGES := chromium chromium-driver
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup system bench test preview site clean

setup: $(STAMP)

system:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  echo "installing $(SYSTEM_PACKAGES) (apt)"; \
	  $(SUDO) apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(SYSTEM_PACKAGES); }

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

bench: setup
	$(BIN)/python -m bench_lib run $(RUN_ARGS)

test: setup system
	$(BIN)/python -m pytest $(ARGS)

preview: setup
	$(BIN)/python -m asv preview

site: setup
	$(BIN)/python -m bench_lib site

clean:
	rm -rf $(VENV) .asv
