# The two commands a newcomer needs: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench bench-electionguard clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[service,test]'
	touch $(STAMP)

# A complete synthetic poll (15 subjects, 60 voters, 3 trustees) through the real code path,
# then the auditor's verifier on its bundle. The conference web service comes with issue #3.
demo: $(STAMP)
	mkdir -p out
	$(BIN)/tally demo-election --subjects 15 --voters 60 --trustees 3 --seed 2023 --out out/demo-bundle.zip
	$(BIN)/tally verify out/demo-bundle.zip
	@echo
	@echo "Gói kiểm toán mẫu / demo audit bundle: out/demo-bundle.zip"
	@echo "Thử xếp loại / what-if grading: $(BIN)/tally grade --counts 10,20,13,2"

lint: $(STAMP)
	$(BIN)/ruff check tally ballot tests
	$(BIN)/ruff format --check tally ballot tests
	$(BIN)/mypy --strict tally

test: lint
	$(BIN)/python -m pytest

# Figures, not pass/fail: per-ballot costs, 60- and 500-ballot polls, ElectionGuard 1.4 side by
# side (in its own Python 3.10 virtualenv, .venv-eg), and casts through `ballot serve` from 100
# concurrent clients on 127.0.0.1 (SQLite, then PostgreSQL).
bench: $(STAMP) bench-electionguard
	$(BIN)/tally bench
	$(BIN)/python bench/load_service.py --db sqlite --clients 100 --ballots 300
	$(BIN)/python bench/load_service.py --db postgres --clients 100 --ballots 300

bench-electionguard:
	bench/setup-electionguard.sh || echo "ElectionGuard not installed: its figures are skipped"

clean:
	rm -rf $(VENV) .venv-eg out .pytest_cache .mypy_cache .ruff_cache
