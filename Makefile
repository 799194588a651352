# The two commands of the README:
#   make demo   the researcher's main job on the shipped default table
#   make test   everything the tests need (venv, packages, local SLURM), then the tests
# Both work on a fresh Debian machine with Python 3.10+ and pip.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
OUT    ?= out/demo
# pytest workers; tests train real (small) models with one torch thread each.
WORKERS ?= 2

.PHONY: demo test lint setup-core setup-dev slurm browser data clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The main job needs only the light core and matplotlib (no torch).
$(VENV)/.core: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[plot]'
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps 'dehb>=0.1.2'  # see the dehb extra in pyproject.toml
	touch $@ $(VENV)/.core

setup-core: $(VENV)/.core
setup-dev: $(VENV)/.dev

# Hyperband over z, over epochs and over both, ASHA along the linear diagonal (thinned to the
# rungs 144 configs can fill), against random search at full fidelity: 20 seeds each, 4
# simulated workers, 10x the median full-fidelity cost (--budget is in those units), on the
# shipped default table.
demo: $(VENV)/.core
	$(BIN)/frozenbench simulate mnist-resnet --optimizers hyperband:z \
		hyperband:epoch hyperband:z+epoch-geometric asha:z+epoch-linear random:full --runs 20 --workers 4 \
		--budget 10 --out $(OUT)
	$(BIN)/frozenbench report mnist-resnet --out $(OUT)   # writes $(OUT)/report.html

slurm:
	bash scripts/slurm_local.sh start

# headless Chromium for the HTML report's rendering test (apt; sudo when not root)
browser:
	bash scripts/install_test_deps.sh

# the suite's offline data sources from Debian's archive (frozenbench/tasks/sources.py)
data:
	bash scripts/install_data.sh

test: $(VENV)/.dev slurm browser data
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -n $(WORKERS) --junitxml=out/junit.xml $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check . && $(BIN)/mypy

clean:
	rm -rf $(VENV) out
