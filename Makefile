# Guanxi — `make demo` runs the app on SQLite with demo data; `make test` runs the suite.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy
PORT ?= 8000
# A Python >= 3.12: the one on PATH, else pyenv's 3.13 / 3.12.
# (The interpreter's real path, not a pyenv shim, so that it works from any directory.)
PYTHON ?= $(shell for p in python3.13 python3.12 python3 \
	  $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.13*/bin/python3 $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.12*/bin/python3; do \
	  $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { $$p -c 'import sys; print(sys.executable)'; exit 0; }; done)
# A working uv on PATH, else one installed into var/tools.
UV := $(shell uv --version >/dev/null 2>&1 && command -v uv || echo var/tools/bin/uv)
PY := .venv/bin/python
MANAGE := $(PY) manage.py

.PHONY: setup demo run test test-sqlite test-postgres test-redis test-browser lint typecheck check worker beat messages clean

var/tools/bin/uv:
	@test -n "$(PYTHON)" || { echo "Python >= 3.12 not found"; exit 1; }
	$(PYTHON) -m venv var/tools
	var/tools/bin/pip install --quiet uv

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

setup: .venv/.synced node_modules/.installed
	@if command -v msgfmt >/dev/null; then $(MANAGE) compilemessages -v0 --ignore=.venv --ignore=node_modules; else echo "msgfmt not found: using the committed .mo catalogues"; fi

var/guanxi.sqlite3: | setup
	$(MANAGE) migrate --no-input -v0
	$(MANAGE) load_regions --if-empty
	$(MANAGE) demo_data

demo: setup var/guanxi.sqlite3
	$(MANAGE) migrate --no-input -v0
	$(MANAGE) collectstatic --no-input -v0
	@echo ""
	@echo "  Guanxi is running at http://127.0.0.1:$(PORT)/"
	@echo "  Demo logins (password: guanxi-demo): admin, manager, rep1, rep2, agent1, marketer1, exec1"
	@echo ""
	$(MANAGE) runserver 127.0.0.1:$(PORT) --noreload

test: setup
	@$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$DATABASE_URL" ]; then $(MAKE) --no-print-directory test-postgres; fi

# scripts/pytest-run treats pytest's exit code 5 (no test collected) as a failure.
test-sqlite:
	env -u DATABASE_URL -u REDIS_URL scripts/pytest-run -n 2 -m "not browser and not redis" -q

test-postgres:
	@test -n "$$DATABASE_URL" || { echo "Set DATABASE_URL=postgres://..."; exit 1; }
	env -u REDIS_URL scripts/pytest-run -n 2 -m "not browser and not redis" -q

# Needs REDIS_URL (and a database a worker process can share: DATABASE_URL).
test-redis: setup
	scripts/pytest-run -m redis -q -p no:randomly

test-browser: setup
	scripts/pytest-run -m browser -q -p no:randomly

lint:
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck:
	$(PY) -m mypy guanxi

check: lint typecheck
	$(MANAGE) makemigrations --check --dry-run
	$(MANAGE) check

worker:
	.venv/bin/celery -A guanxi worker -l info

beat:
	.venv/bin/celery -A guanxi beat -l info

messages:
	$(MANAGE) makemessages -l zh_Hans --ignore=.venv --ignore=node_modules --ignore=bench
	$(MANAGE) compilemessages --ignore=.venv --ignore=node_modules

clean:
	rm -rf .venv var node_modules
