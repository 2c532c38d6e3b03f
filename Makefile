# The project's front door. Each target creates the virtual environment and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.txt layers/shared/requirements.txt | cksum | cut -d' ' -f1)
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
# sam build runs the layer's build with the Lambda runtime's Python (3.12).
SAM_PYTHON ?= $(shell (command -v pyenv >/dev/null && PYENV_VERSION=$$(pyenv versions --bare | grep '^3\.12' | tail -1) pyenv which python 2>/dev/null) || command -v python3.12 2>/dev/null)
# sam build runs the build-* targets below from a scratch copy: paths start from this Makefile's folder.
ROOT := $(dir $(abspath $(firstword $(MAKEFILE_LIST))))

export PYTHONPATH := $(CURDIR)/layers/shared:$(CURDIR)

.PHONY: venv test test-pgbouncer lint security migrate dev bench soak openapi redrive sam-validate sam-build clean

$(STAMP): requirements-dev.txt layers/shared/requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is required (PYTHON=$(PYTHON))" >&2; exit 1; }
	rm -f $(VENV)/.installed-*
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(STAMP)

test: $(STAMP)  ## run the tests (embedded PostgreSQL unless DATABASE_URL is set)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The integration tests again with the code under test behind PgBouncer in transaction mode (tools/pgbouncer.py), as
# behind RDS Proxy in AWS; needs Debian's pgbouncer and a PostgreSQL server reachable over TCP.
PGBOUNCER_BACKEND ?= postgresql://postgres@127.0.0.1:5432/postgres
test-pgbouncer: $(STAMP)  ## the integration tests behind PgBouncer (transaction mode, small pool)
	DATABASE_URL="$(PGBOUNCER_BACKEND)" DB_PREPARE_THRESHOLD=off $(BIN)/python -m tools.pgbouncer \
		--backend "$(PGBOUNCER_BACKEND)" -- $(BIN)/python -m pytest tests/integration $(PYTEST_ARGS)

lint: $(STAMP)  ## ruff and mypy --strict
	$(BIN)/ruff check .
	$(BIN)/mypy layers/shared functions tools tests bench

security: $(STAMP)  ## bandit on the code, pip-audit on the layer's dependencies
	$(BIN)/bandit -q -r layers/shared functions tools
	$(BIN)/pip-audit --progress-spinner off -r layers/shared/requirements.txt

migrate: $(STAMP)  ## apply sql/ to DATABASE_URL
	@test -n "$$DATABASE_URL" || { echo "set DATABASE_URL (make dev starts its own database)" >&2; exit 2; }
	$(BIN)/python -m tour_booking.migrations sql

dev: $(STAMP)  ## run the whole system locally
	$(BIN)/python -m tools.dev

bench: $(STAMP)  ## run the benchmarks (not part of the tests)
	$(BIN)/python -m bench

soak: $(STAMP)  ## mixed load through the local API, checked in SQL (SOAK_ARGS="--clients 20 --seconds 60 --properties 50")
	$(BIN)/python -m bench.load_mix $(SOAK_ARGS)

openapi: $(STAMP)  ## regenerate the checked-in OpenAPI document
	$(BIN)/python -m tools.openapi > openapi.json

redrive: $(STAMP)  ## move the dead-letter queue's messages back: make redrive QUEUE=<dlq name or url> [DESTINATION=...]
	@test -n "$(QUEUE)" || { echo "set QUEUE to the dead-letter queue's name or URL" >&2; exit 2; }
	$(BIN)/python -m tools.redrive --queue "$(QUEUE)" $(if $(DESTINATION),--destination "$(DESTINATION)") $(REDRIVE_ARGS)

$(SAM):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet aws-sam-cli==1.170.0 cfn-lint-serverless==0.3.6

sam-validate: $(SAM)
	SAM_CLI_TELEMETRY=0 $(SAM) validate --lint
	$(SAM_VENV)/bin/cfn-lint --append-rules cfn_lint_serverless.rules -- template.yaml

sam-build: $(SAM)
	@test -n "$(SAM_PYTHON)" || { echo "sam build needs Python 3.12 on PATH" >&2; exit 1; }
	PATH="$(dir $(SAM_PYTHON)):$$PATH" SAM_CLI_TELEMETRY=0 $(SAM) build

# The X-Ray SDK requires botocore, which pulls in dateutil, six and urllib3: the Lambda runtime ships all four
# (with boto3), so the layer leaves them out rather than carry 25 MB that the runtime's copies shadow anyway.
RUNTIME_PROVIDED := botocore botocore-*.dist-info dateutil python_dateutil-*.dist-info six.py six-*.dist-info \
	urllib3 urllib3-*.dist-info

# Called by `sam build` (BuildMethod: makefile). The layer is precompiled: Lambda's /opt is read-only,
# so without .pyc files every cold start compiles it again.
build-SharedLayer:
	$(SAM_PYTHON) -m pip install --quiet --target "$(ARTIFACTS_DIR)/python" --platform manylinux2014_x86_64 \
		--implementation cp --python-version 3.12 --only-binary=:all: -r "$(ROOT)layers/shared/requirements.txt"
	cd "$(ARTIFACTS_DIR)/python" && rm -rf $(RUNTIME_PROVIDED)
	cp -r "$(ROOT)layers/shared/tour_booking" "$(ARTIFACTS_DIR)/python/"
	find "$(ARTIFACTS_DIR)/python/tour_booking" -name __pycache__ -prune -exec rm -rf {} +
	$(SAM_PYTHON) -m compileall -q -j 0 --invalidation-mode unchecked-hash "$(ARTIFACTS_DIR)/python"

build-MigrateFunction:
	cp "$(ROOT)functions/migrate/app.py" "$(ARTIFACTS_DIR)/"
	mkdir -p "$(ARTIFACTS_DIR)/sql"
	cp "$(ROOT)"sql/*.sql "$(ARTIFACTS_DIR)/sql/"

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
