# Borgerting — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
UV     := $(VENV)/bin/uv
UV_VERSION := 0.13.9

.PHONY: setup assets messages demo test browser tools lock stack clean

setup: $(VENV)/.installed assets

## Front-end assets from npm (package-lock.json): Det Fælles Designsystem (dkfds) for the pages and
## axe-core for the accessibility tests. Copied to shared/ui/static/vendor and served by every
## service under /ui-static; nothing is fetched from a CDN at run time.
UI_VENDOR := shared/ui/static/vendor
assets: $(UI_VENDOR)/.installed

$(UI_VENDOR)/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	sh shared/ui/vendor.sh

## The translations (Babel/gettext): extract the messages of shared/ and services/ into
## shared/ui/locale/messages.pot (N_ and NP_ marks in Python, _ and the plural n_ everywhere) and
## merge them into the Danish and English catalogues (read as .po at start-up; tests/unit/test_ui.py
## fails on a message, or a plural form, missing from either).
messages: setup
	$(VENV)/bin/pybabel -q extract -F shared/ui/babel.cfg -k N_ -k n_:1,2 -k NP_:1,2 -w 120 --no-location --sort-output -o shared/ui/locale/messages.pot shared services
	$(VENV)/bin/pybabel -q update -w 120 --no-fuzzy-matching --ignore-obsolete -i shared/ui/locale/messages.pot -d shared/ui/locale

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
test: setup browser tools
	$(PY) -m pytest -q $(PYTEST_ARGS)

## Headless Chromium for the ballot page's browser test (Debian's packages; installed when missing
## and we are root, as in CI; otherwise that test skips and says why).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
	    || echo "chromium not installed: the ballot page's browser test will be skipped"; }

## promtool, which checks the alert rules and runs their unit tests, and PgBouncer, which the services
## are tested behind in transaction mode (Debian's prometheus and pgbouncer packages; installed when
## missing and we are root, as in CI; otherwise those tests skip and say why).
tools:
	@{ command -v promtool && test -x /usr/sbin/pgbouncer; } >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus pgbouncer >/dev/null) \
	    || echo "promtool or pgbouncer not installed: the alert rule and PgBouncer tests will be skipped"; }

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
