# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ORCH := $(VENV)/bin/orchestrate
WRANGLER_VERSION := 4.86.0
WRANGLER := .tools/node_modules/.bin/wrangler
export WRANGLER_SEND_METRICS := false
export ORCHESTRATE_WRANGLER := $(CURDIR)/$(WRANGLER)

.PHONY: setup demo test lint typecheck unit bench clean

setup: $(VENV)/.installed $(WRANGLER)

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(WRANGLER):
	mkdir -p .tools
	[ -f .tools/package.json ] || printf '{"name":"orchestrate-tools","private":true}\n' > .tools/package.json
	cd .tools && npm install --no-audit --no-fund --loglevel=error wrangler@$(WRANGLER_VERSION)
	$(WRANGLER) --version

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

unit: setup
	$(PY) -m pytest -q -n 2

test: setup lint typecheck unit

bench: setup
	$(PY) bench/plan_bench.py
	$(PY) bench/apply_bench.py
	$(PY) bench/status_bench.py
	$(PY) bench/check_bench.py
	$(PY) bench/remote_bench.py
	$(PY) bench/fleet_bench.py

clean:
	rm -rf $(VENV) .tools .demo .pytest_cache .mypy_cache .ruff_cache
