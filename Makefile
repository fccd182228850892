# voicesafety: `make demo` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch (on local disk here); an unpinned torch would pull a multi-GB CUDA build.
TORCH_SPEC ?= torch==2.13.0
PIP := $(PY) -m pip --disable-pip-version-check -q

.PHONY: setup sysdeps demo test lint train-mini eval-real bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install "$(TORCH_SPEC)"
	$(PIP) install -e ".[dev]"
	touch $@

# espeak-ng and sox make test and training speech; tests that need them skip without them.
sysdeps:
	@if command -v espeak-ng >/dev/null && command -v sox >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng sox >/dev/null) \
	  || echo "warning: could not install espeak-ng/sox; speech-synthesis tests will skip"; \
	else echo "note: espeak-ng/sox not installed (need root + apt-get); speech-synthesis tests will skip"; fi

setup: $(VENV)/.installed sysdeps

demo: setup
	$(PY) examples/demo.py

test: setup
	$(PY) -m pytest -q -p no:cacheprovider

lint: setup
	$(VENV)/bin/ruff check voicesafety tests benchmarks examples training
	$(VENV)/bin/mypy voicesafety

train-mini: setup
	$(PIP) install -e ".[train-mini]"
	$(PY) -m training.train_mini

# The embedded models on real held-out data, side by side with alt-profanity-check and
# better-profanity (benchmarks/results/real_eval.md).
eval-real: setup
	$(PIP) install -e ".[train-mini,compare]"
	$(PY) benchmarks/eval_real.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
