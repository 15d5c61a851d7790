# Two commands matter: `make dev` runs the whole system locally, `make test` runs every test suite.
# Both set up .venv from a bare machine (Debian, Python 3.11, Node 20) on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8080
# Where `make dev` listens: this machine only, unless asked on the command line
# (`make dev HOST=0.0.0.0 ALLOW_REMOTE=1`). Set with := so a HOST variable some shells export
# (tcsh's is the machine's name) cannot widen it by accident.
HOST := 127.0.0.1
ALLOW_REMOTE :=
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export AWS_ACCOUNT_ID_ENDPOINT_MODE := disabled

.PHONY: dev test lint browser synth deploy smoke soak clean venv node

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

# Node tooling (the CDK CLI, the AsyncAPI parser) pinned by package-lock.json, in ./node_modules.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

node: node_modules/.installed

# Debian's chromium for the browser test (Playwright cannot download its own browsers here).
browser:
	bash scripts/install_browser.sh

dev: $(VENV)/.installed
	PORT=$(PORT) $(PY) -m local --host $(HOST)$(if $(ALLOW_REMOTE), --allow-remote)

# Lint and types, the CDK app synthesized and checked (cdk-nag, cfn-lint), then every suite:
# unit, integration (moto), infrastructure (CDK assertions), end-to-end (local stack), browser, docs.
# Then every grant of the synthesized template must have been used by some test and no call refused.
test: $(VENV)/.installed node_modules/.installed browser lint synth
	$(PY) -m pytest
	$(PY) -m local.grant_report

# 10,000 messages among 54 devices on a local stack of its own, every fault of chat/faults.py on and
# sockets dropped at random; one summary line, exit 1 unless nothing was lost (scripts/soak.py).
# Other sizes: make soak SOAK_ARGS="--messages 2000".
SOAK_ARGS ?=
soak: $(VENV)/.installed
	$(PY) scripts/soak.py $(SOAK_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) node_modules cdk.out build .pytest_cache .mypy_cache .ruff_cache

# --- AWS: the CDK app (app.py, infrastructure/) -------------------------------------------------
# The CDK CLI comes from npm into ./node_modules (ignored by git); no global install needed.
CDK := node_modules/.bin/cdk
CDK_ENV := CDK_DISABLE_CLI_TELEMETRY=true CDK_DISABLE_VERSION_CHECK=true

$(CDK): node_modules/.installed

# Synthesizes the environment-agnostic ChatStack without AWS credentials, then lints the template.
# cdk-nag runs inside the synth: an unacknowledged finding fails it. cfn-lint's W3005 is ignored
# because CDK makes every function DependsOn its role's default policy and role on purpose.
synth: $(VENV)/.installed $(CDK)
	$(PY) scripts/package_lambdas.py
	$(CDK_ENV) $(CDK) synth --quiet --no-notices
	$(VENV)/bin/cfn-lint --ignore-checks W3005 -- cdk.out/ChatStack.template.json
	@echo "synth OK: cdk.out/ChatStack.template.json (cdk-nag AwsSolutions and cfn-lint clean)"

# Needs AWS credentials and a bootstrapped account/region (`npx cdk bootstrap` once), and every
# topology handler module in functions/ (synth only warns about a missing one; deploy refuses).
# Stack outputs (WebSocketUrl, CallbackUrl, UserPoolId, UserPoolClientId) land in build/cdk-outputs.json.
deploy: $(VENV)/.installed $(CDK)
	$(PY) scripts/package_lambdas.py --strict
	$(CDK_ENV) $(CDK) deploy ChatStack --no-notices --require-approval broadening --outputs-file build/cdk-outputs.json

# After `make deploy`: three throwaway Cognito users (signed up, confirmed, deleted at the end) exercise
# the deployed WebSocket API: direct message, receipts, a group, sync. One line per step; see README.
# Needs AWS credentials allowed cognito-idp:AdminConfirmSignUp and AdminDeleteUser on the pool.
# Against a running local stack instead: make smoke SMOKE_LOCAL=http://127.0.0.1:8080
SMOKE_LOCAL ?=
smoke: $(VENV)/.installed
	$(PY) scripts/smoke.py $(if $(SMOKE_LOCAL),--local $(SMOKE_LOCAL))
