# pbxcrm: `make demo` starts the product, `make test` runs every test (after `make lint`).
# Both install what they need first (Debian packages as root, a virtualenv),
# start a private PostgreSQL when DATABASE_URL is unset, and bring up the
# Asterisk sandbox.

VENV := .venv
PYTHON ?= python3
STAMP := $(VENV)/.installed-stamp

.PHONY: demo demo-call test lint bench messages deps venv sandbox-up sandbox-down cluster-up cluster-down clean

demo: venv
	scripts/with-db.sh scripts/demo.sh

# While `make demo` runs: a client of LOGIN (default ivanova) calls; the manager's phone rings.
LOGIN ?= ivanova
demo-call: venv
	scripts/with-db.sh scripts/demo-call.sh $(LOGIN)

test: venv
	scripts/test.sh $(PYTEST_ARGS)

# ruff and mypy (configured in pyproject.toml); `make test` runs this first.
lint: venv
	scripts/lint.sh

bench: venv
	scripts/bench.sh

# Extract the texts to translate and merge them into the Russian catalogue (crm/locale/).
messages: venv
	scripts/messages.sh

deps:
	scripts/install-system-deps.sh

venv: deps $(STAMP)
	scripts/vendor-js.sh

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "pbxcrm needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

sandbox-up: deps
	scripts/sandbox.sh up

sandbox-down:
	scripts/sandbox.sh down

# More than one PBX (README.md): Kamailio in front of the Asterisk nodes of cluster/nodes.
cluster-up: deps
	scripts/cluster.sh up

cluster-down:
	scripts/cluster.sh down

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
