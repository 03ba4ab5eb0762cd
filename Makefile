# Two commands for a new user:  `make demo` (run the whole job on the local lab) and `make test`.
SHELL := /bin/bash
VENV  := .venv
BIN   := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
PYTEST_ARGS ?= -n 2 --dist loadfile --durations=15

.PHONY: setup lint unit interop integration molecule test demo lab-up lab-down clean collection ee-context

setup:
	@bash scripts/setup.sh

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ansible-lint --profile production --offline -q playbooks roles

test: setup lint
	$(BIN)/python -m pytest $(PYTEST_ARGS) tests

demo: setup
	@bash scripts/demo.sh

# The Ansible collection apigee_mtls.doctor (galaxy.yml) as dist/apigee_mtls-doctor-<version>.tar.gz
collection: setup
	$(BIN)/python scripts/build_collection.py --out dist

# The execution environment's build context (execution-environment.yml) in dist/ee-context; build the image from it
# with `ansible-builder build` where podman or docker runs.
ee-context: collection
	$(BIN)/ansible-builder create -f execution-environment.yml -c dist/ee-context

lab-up: setup
	$(BIN)/python lab/labctl up --scenario all

lab-down:
	-$(BIN)/python lab/labctl down

clean: lab-down
	rm -rf reports dist .pytest_cache .ruff_cache
