# Borgerting — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
UV     := $(VENV)/bin/uv
UV_VERSION := 0.13.9

.PHONY: setup demo test browser lock stack clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.lock requirements-dev.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet "uv==$(UV_VERSION)"
	$(UV) pip install --quiet --python $(PY) --require-hashes -r requirements-dev.lock
	$(UV) pip install --quiet --python $(PY) --no-deps -e .
	touch $@

## The main job: a whole simulated assembly on the embedded stack. KEEP=1 leaves it running.
demo: setup
	$(PY) -m borgerting.demo $(if $(KEEP),--keep,) $(DEMO_ARGS)

## Unit, contract, integration and end-to-end tests (starts the embedded stack itself).
test: setup browser
	$(PY) -m pytest -q $(PYTEST_ARGS)

## Headless Chromium for the ballot page's browser test (Debian's packages; installed when missing
## and we are root, as in CI; otherwise that test skips and says why).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
	    || echo "chromium not installed: the ballot page's browser test will be skipped"; }

## Start the embedded stack in the foreground (PostgreSQL, Valkey, Tansu) and print its URLs.
stack: setup
	$(VENV)/bin/borgerting stack up

## Re-resolve the lockfiles from pyproject.toml (needs network): requirements.lock is what the
## services run with (the image); requirements-dev.lock adds the test tools, pinned to the same versions.
lock:
	$(UV) pip compile --quiet --python-version 3.11 --generate-hashes pyproject.toml -o requirements.lock
	$(UV) pip compile --quiet --python-version 3.11 --extra dev --generate-hashes -c requirements.lock pyproject.toml -o requirements-dev.lock

clean:
	rm -rf $(VENV) .state out
