# The two commands a newcomer needs: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The booth's and trustee page's JavaScript (js/, @noble/curves from the npm registry, bundled by
# esbuild into ballot/static/build/) and the English catalogue of the interface (Flask-Babel).
NODE_STAMP := node_modules/.installed
JS_BUILD   := ballot/static/build/booth-worker.js
CATALOGUE  := ballot/translations/en/LC_MESSAGES/messages.mo

.PHONY: demo demo-reset demo-election test test-fast lint assets bench bench-electionguard translations clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[service,authority,test]'
	touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

$(JS_BUILD): $(NODE_STAMP) $(wildcard js/*.js js/tally/*.js js/pages/*.js)
	npm run --silent build

$(CATALOGUE): ballot/translations/en/LC_MESSAGES/messages.po | $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d ballot/translations -l en

assets: $(JS_BUILD) $(CATALOGUE)

# The 2026 sample conference (docs/examples/hoi-nghi-2026.toml; `ballot demo --sample 2023` for the
# 2023 one) set up and served on 127.0.0.1:$(PORT) (make demo PORT=5080 for another port):
# prints the operator, booth and board addresses and where the printable slips are.
PORT ?= 5000
demo: $(STAMP) assets
	$(BIN)/ballot demo --port $(PORT)

# Remove the demo's database and files together (refused while its server runs).
demo-reset: $(STAMP)
	$(BIN)/ballot demo --reset

# A complete synthetic poll (15 subjects, 60 voters, 3 trustees) through the counting core, then
# the auditor's verifier on its bundle: no server needed.
demo-election: $(STAMP)
	mkdir -p out
	$(BIN)/tally demo-election --subjects 15 --voters 60 --trustees 3 --seed 2023 --out out/demo-bundle.zip
	$(BIN)/tally verify out/demo-bundle.zip

# Style, types (both packages, strict) and the layers' import contract (pyproject.toml:
# web and cli over services over tally; tally imports no part of the service).
lint: $(STAMP)
	$(BIN)/ruff check tally ballot tests
	$(BIN)/ruff format --check tally ballot tests
	$(BIN)/mypy --strict tally ballot
	$(BIN)/lint-imports --no-cache

# Everything: lint, the core, both databases, the node tests and the browser tests (Chromium).
test: lint assets
	$(BIN)/python -m pytest

# The edit loop: the core and the service on SQLite, no PostgreSQL, no browser, no slow scenario.
test-fast: $(STAMP) assets
	$(BIN)/python -m pytest -m "not postgres and not slow and not browser" -x

# After changing user-visible text: extract the Vietnamese source strings and update the English
# catalogue (then translate the new entries in messages.po).
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _ -k gettext -k lazy_gettext -k N_ --no-location \
		-o ballot/translations/messages.pot .
	$(BIN)/pybabel update -i ballot/translations/messages.pot -d ballot/translations -l en --no-fuzzy-matching

# Figures, not pass/fail: per-ballot costs, 60- and 500-ballot polls, ElectionGuard 1.4 side by
# side, interleaved (in its own Python 3.10 virtualenv, .venv-eg), the booth's encryption in
# headless Chromium with 4x CPU throttling, the trustee page's whole share on a 500-ballot board
# (DevTools throttling, and a 4x slower device by a CPU cgroup), the time from count finish to a signed record, and casts through
# `ballot serve` on 127.0.0.1: 300 tablets over 30 s (SQLite; PostgreSQL with two server
# processes), then 300 ballots from 100 concurrent clients (PostgreSQL).
bench: $(STAMP) assets bench-electionguard
	$(BIN)/tally bench
	$(BIN)/python bench/booth_browser.py
	timeout -s INT 2400 $(BIN)/python bench/trustee_browser.py --ballots 500
	$(BIN)/python bench/count_finish.py --ballots 500 --subjects 15
	$(BIN)/python bench/endpoints.py --repeat 20
	$(BIN)/python bench/ceremony.py --throttle 4
	timeout -s INT 600 $(BIN)/python bench/load_service.py --db sqlite
	timeout -s INT 600 $(BIN)/python bench/load_service.py --db postgres --servers 2
	timeout -s INT 300 $(BIN)/python bench/load_service.py --db postgres --servers 2 --mode burst --clients 100 --no-audit

bench-electionguard:
	bench/setup-electionguard.sh || echo "ElectionGuard not installed: its figures are skipped"

clean:
	if [ -x $(BIN)/ballot ]; then $(BIN)/ballot demo --reset; fi
	rm -rf $(VENV) .venv-eg out .pytest_cache .mypy_cache .ruff_cache node_modules ballot/static/build
