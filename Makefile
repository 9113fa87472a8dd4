# The two commands of the Quickstart: `make up` and `make test`. Each creates .venv and
# installs the project into it when needed (again only when pyproject.toml changes).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# The suite runs on two pytest-xdist workers: its tests mostly wait on the servers they start
# (each worker starts Postgres, Redis and the AWS endpoint of its own, on free ports), so two
# at once take about half the time on CI's two cores. `make test PYTEST_XDIST=` runs it in one
# process; a plain `pytest tests/unit/test_x.py` runs in one process too.
PYTEST_XDIST ?= -n 2 --dist worksteal

.PHONY: up test unit demo bench reliability install clean-state

up: $(STAMP)
	exec $(PY) -m local up

# The console's test drives a real browser: where the machine is Debian and we are root (as in
# CI), Debian's chromium is installed when missing; elsewhere that test says why it skipped.
test: $(STAMP)
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null \
		|| { [ "$$(id -u)" = 0 ] && [ -f /etc/debian_version ] && echo "installing Debian's chromium for the console's browser test" \
		     && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; } \
		|| echo "note: Chromium is not installed; tests/integration/test_web_console.py will say why it skips"
	$(PY) -m pytest $(PYTEST_XDIST) $(PYTEST_ARGS)

# The tests that need no service (tests/unit/), in about half a minute.
unit: $(STAMP)
	$(PY) -m pytest tests/unit $(PYTEST_XDIST) $(PYTEST_ARGS)

install: $(STAMP)

# The long reliability runs: 100 generated cases per operation, with and without a credential,
# the hostile-input, token-attack and concurrency suites, and a 60 s load run with faults
# injected (its figures printed; tests/load/run.py).
reliability: $(STAMP)
	FUZZ_EXAMPLES=100 LOAD_SECONDS=60 $(PY) -m pytest -s tests/integration/test_fuzz_api.py tests/integration/test_hostile_input.py \
		tests/integration/test_token_attacks.py tests/integration/test_load_faults.py

# Every pattern's demo against the stack, with a summary; DEMO_ARGS=--keep leaves it running.
demo: $(STAMP)
	$(PY) demos/run_all.py $(DEMO_ARGS)

# The benchmarks, each printing figures measured side by side. The gateway's needs wrk
# (Debian's package) and the servers it is compared with (the `bench` extra).
bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq wrk; } \
		|| { echo "error: wrk is needed: sudo apt-get install wrk"; exit 1; }
	$(PY) bench/runtime.py
	$(PY) bench/gateway.py
	$(PY) bench/api.py
	$(PY) bench/patterns.py
	$(PY) bench/auth.py
	$(PY) bench/events.py
	$(PY) bench/startup.py

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "error: Python 3.11 or newer is needed; set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

# Forget every row, key and log the embedded services kept (stop `make up` first).
clean-state:
	rm -rf .local
