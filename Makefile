# The two commands: `make demo` (set up and run the demo) and `make test` (the whole test suite).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test test-training install browser dashboard lint clean

demo: install
	$(VENV)/bin/undertow demo

test: install browser
	$(PY) -m pytest

# The training recipe end to end on a tiny sample (left out of `make test`).
test-training: install
	$(PY) -m pytest -m training

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, pinned: the CPU wheel; anything looser may fetch a CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

browser:
	bash scripts/install-browser.sh

dashboard: install
	$(VENV)/bin/undertow dashboard

lint: install
	$(VENV)/bin/ruff check listener nlp graph dashboard tests bench

clean:
	rm -rf $(VENV) build *.egg-info
