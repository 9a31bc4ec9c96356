# The two commands of the quick start: `make report` and `make test`.
# Each creates the virtual environment when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= 2
# Snakemake's SLURM executor, outside the environment's site-packages (see pyproject.toml, extra slurm)
SLURM_PLUGIN := $(VENV)/slurm-plugin

.PHONY: report test lint bench clean lab cluster-test

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps --upgrade --target $(SLURM_PLUGIN) \
	  'snakemake-executor-plugin-slurm>=2.8' 'snakemake-executor-plugin-slurm-jobstep>=0.6'
	touch $(STAMP)

# JupyterLab gets an environment of its own, made by the first `make lab`: its dependencies make every
# Python start that imports jsonschema about 1 s slower (rfc3987-syntax builds a parser at import),
# which the pipeline's environment, started for every Snakemake run and every job, should not pay.
LAB := .venv-lab
$(LAB)/.installed: pyproject.toml
	test -x $(LAB)/bin/python || $(PYTHON) -m venv $(LAB)
	$(LAB)/bin/python -m pip install --quiet --upgrade pip
	$(LAB)/bin/python -m pip install --quiet -e '.[lab]'
	touch $@

# A killed run leaves a lock and incomplete outputs behind: `emmie unlock` clears a lock no live run
# holds, and --rerun-incomplete redoes what was cut off, so `make report` recovers on its own.
report: $(STAMP)
	@$(BIN)/python -m emmie unlock . || exit 1; \
	$(BIN)/snakemake --cores $(CORES) --keep-going --rerun-incomplete --quiet rules; rc=$$?; \
	  $(BIN)/python -m emmie status config/config.yaml && exit $$rc

test: $(STAMP)
	$(BIN)/python -m pytest -q

# JupyterLab on the notebooks (they run on the bundled reviews; see notebooks/README.md)
lab: $(LAB)/.installed
	$(LAB)/bin/jupyter lab --notebook-dir=notebooks $(LAB_ARGS)

# A real one-node SLURM cluster on this machine (root; installs Debian's SLURM when missing): the bundled
# reviews through profiles/slurm, checked against SLURM's accounting and byte for byte against a local run.
cluster-test: $(STAMP)
	bash cluster/test.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf results reports/*/ reports/index.html .snakemake
