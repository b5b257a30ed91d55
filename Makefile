# Leadflow: `make run` starts the local stack with a demo; `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-cli.txt requirements-dev.txt pyproject.toml | sha1sum | cut -c1-12)

.PHONY: install run test lint format package deploy destroy bench bench-quick bench-full bench-scoring bench-lifecycle bench-imports clean

install: $(STAMP)

$(STAMP): requirements.txt requirements-cli.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip<26.3"
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

# make run PORT=8000 AWS_PORT=5000 PAGE_PORT=8080: the API, moto (the AWS endpoint), the sample landing page
PORT ?= 8000
AWS_PORT ?= 5000
PAGE_PORT ?= 8080

run: install  ## the local stack (moto, tables, queues, API, pump) with demo forms, submissions and the landing page
	$(BIN)/leadflow local --demo --port $(PORT) --aws-port $(AWS_PORT) --page-port $(PAGE_PORT) $(ARGS)

test: install  ## unit, integration (moto), infra (packaged template) and end-to-end (local stack) tests
	$(BIN)/pytest -q -p no:logging

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports --no-cache  # the layers' contracts: [tool.importlinter] in pyproject.toml

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

package: install  ## out/sam.json, out/deployment.zip and out/training-layer.zip (python3.12, arm64)
	$(BIN)/python -m leadflow_local.packaging --stage $${STAGE:-dev} out/

deploy: install  ## package, upload and create/update the stack leadflow-$(STAGE) (docs/deploy.md); ARGS="--param K=V --dry-run ..."
	$(BIN)/leadflow deploy --stage $${STAGE:?set STAGE, e.g. make deploy STAGE=prod} $(ARGS)

destroy: install  ## delete the stack leadflow-$(STAGE) (tables, dead-letter queues and the imports bucket are kept)
	$(BIN)/leadflow destroy --stage $${STAGE:?set STAGE, e.g. make destroy STAGE=dev} $(ARGS)

.PHONY: training-layer
training-layer: install  ## the training function's layer (numpy, scipy, scikit-learn) in out/training-layer.zip, sizes printed
	$(BIN)/python infra/build_training_layer.py $(ARGS)

bench: install  ## cold start, units per submission and per lead, ingest, engine, zip: a table and bench/results/bench.json
	$(BIN)/python -m bench.run $(ARGS)

bench-quick: install  ## the budgets CI checks (bench/budgets.json): ratios and counts, under a minute
	$(BIN)/python -m bench.run --quick $(ARGS)

bench-full: install  ## every section, with 500-lead latency and 20,000-lead rescoring and import (long)
	$(BIN)/python -m bench.run --full $(ARGS)

bench-scoring: install  ## engine vs hand-coded, POST-to-score pipeline and 10,000-lead rescoring on the local stack
	$(BIN)/python bench/scoring.py --leads $${LEADS:-10000}

bench-lifecycle: install  ## units and cost per lead from capture to hand-off; form-to-queue delay over 200 leads
	$(BIN)/python bench/lifecycle.py --leads $${LEADS:-200}

bench-imports: install  ## the X Education file (../shared/data) imported on the local stack: rows/s and calls per row
	$(BIN)/python -m bench.imports $${ROWS:+--rows $$ROWS}

clean:
	rm -rf $(VENV) out .mypy_cache .ruff_cache .pytest_cache .import_linter_cache

# predictive scoring
.PHONY: bench-predictive
bench-predictive: install  ## trees, logistic, HistGB, naive Bayes on X Education and Caravan (time split), gate, speed; bench/results/
	$(BIN)/python bench/predictive.py --dataset both --scale $${LEADS:-50000} --csv $${CSV:-../shared/data/x-education-leads.csv}
