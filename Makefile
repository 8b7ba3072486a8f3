# Two set-up commands (see README): `make demo` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
MEDIA ?= ../shared/data/media

.PHONY: install demo test bench clean

$(VENV)/.installed: setup.py constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e ".[train,dev]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/repose demo

test: install
	$(PY) -m pytest -q

bench: install
	$(PY) scripts/benchmark.py

clean:
	rm -rf $(VENV) build *.egg-info
