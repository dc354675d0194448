# Two commands for a new user: `make demo` runs the whole pipeline locally, `make test` runs the tests.
# Both create .venv and install the pinned dependencies on first use.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export PYTHON

.DEFAULT_GOAL := help
.PHONY: help install demo demo-clean test test-unit test-integration test-e2e test-glue-spark lint typecheck bench \
        sam-validate sam-build checkov clean

help: ## list the targets
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@scripts/check-prereqs.sh
	@echo "Setting up $(VENV) (first run on a fresh machine downloads Spark and friends: a few minutes)..."
	@# A failed venv (Debian's python3.11 without python3.11-venv) must not leave a half-made .venv behind.
	@test -x $(BIN)/pip || { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); } || { rm -rf $(VENV); exit 1; }
	@$(BIN)/pip install -q --upgrade pip
	@$(BIN)/pip install -q -c constraints.txt -e '.[local,dev]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv with the pinned dependencies

demo: $(STAMP) ## run the whole event-driven pipeline locally (emulated AWS, local Spark, DuckDB)
	$(BIN)/ecom-pipeline demo $(ARGS)

demo-clean: ## remove the local state the demo left in .local/
	rm -rf .local

test: $(STAMP) ## run every test (unit, integration, e2e)
	@scripts/check-prereqs.sh tests
	$(BIN)/pytest $(PYTEST_ARGS)

test-unit: $(STAMP) ## fast tests only
	$(BIN)/pytest -m unit $(PYTEST_ARGS)

test-integration: $(STAMP) ## integration tests (local Spark, DuckDB, PostgreSQL, moto)
	@scripts/check-prereqs.sh tests
	$(BIN)/pytest -m integration $(PYTEST_ARGS)

test-e2e: $(STAMP) ## the end-to-end local flow
	@scripts/check-prereqs.sh tests
	$(BIN)/pytest -m e2e $(PYTEST_ARGS)

# The Spark release AWS Glue 5.0 runs; .venv pins the latest 3.5 patch release.
GLUE_SPARK := 3.5.4

test-glue-spark: ## the job's Spark tests again on Glue 5.0's Spark release (own venv)
	@scripts/check-prereqs.sh tests
	scripts/test-on-spark.sh $(GLUE_SPARK) $(PYTEST_ARGS)

lint: $(STAMP) ## ruff over the repo
	$(BIN)/ruff check .

typecheck: $(STAMP) ## mypy over the shared package
	$(BIN)/mypy layers/shared/ecom_pipeline

bench: $(STAMP) ## run the benchmarks recorded in docs/benchmarks.md (about 30 minutes)
	$(BIN)/python benchmarks/bench_generator.py --rows 1000000 --baseline-rows 100000 --repeats 5
	$(BIN)/python benchmarks/bench_job.py --repeats 5
	$(BIN)/python benchmarks/bench_upsert.py --repeats 3
	$(BIN)/python benchmarks/bench_demo.py --days 3 --rows 20000 --repeats 5

# --- template checks (sam CLI and checkov pin conflicting libraries: each gets its own venv) ---------
.PHONY: tools template-check
TOOLS       := .venv-tools
SAM         := SAM_CLI_TELEMETRY=0 $(TOOLS)/sam/bin/sam
CHECKOV     := $(TOOLS)/checkov/bin/checkov
TOOLS_STAMP := $(TOOLS)/.installed-stamp

$(TOOLS_STAMP): requirements-tools.txt constraints-tools-sam.txt constraints-tools-checkov.txt
	@for tool in sam=aws-sam-cli checkov=checkov; do \
	  name=$${tool%%=*}; package=$${tool#*=}; \
	  test -x $(TOOLS)/$$name/bin/pip || { rm -rf $(TOOLS)/$$name && $(PYTHON) -m venv $(TOOLS)/$$name; } || { rm -rf $(TOOLS)/$$name; exit 1; }; \
	  $(TOOLS)/$$name/bin/pip install -q --upgrade pip; \
	  $(TOOLS)/$$name/bin/pip install -q -c constraints-tools-$$name.txt \
	    "$$(grep -i "^$$package==" requirements-tools.txt)" || exit 1; \
	done
	@touch $@

tools: $(TOOLS_STAMP) ## install the sam CLI and checkov (pins in requirements-tools.txt)

sam-validate: $(TOOLS_STAMP) ## sam validate --lint (cfn-lint) on template.yaml
	$(SAM) validate --lint --template template.yaml

# sam build looks for a python3.11 with pip on PATH for the python3.11 runtime: sam's own venv has one
# (Debian's /usr/bin/python3.11 has no pip without python3-pip).
sam-build: $(TOOLS_STAMP) ## sam build without a container (shared layer, functions); ARGS="..." are passed on
	PATH="$(abspath $(TOOLS)/sam/bin):$$PATH" $(SAM) build --template template.yaml $(ARGS)

checkov: $(TOOLS_STAMP) ## checkov on template.yaml: zero failed checks, skips carry reasons in the template
	$(CHECKOV) --file template.yaml --framework cloudformation --quiet --compact --skip-download

template-check: sam-validate sam-build checkov ## the three template checks CI runs

clean: ## remove build output and caches (keeps .venv)
	rm -rf .aws-sam build dist .pytest_cache .mypy_cache .ruff_cache spark-warehouse
