# Two commands on a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench fuzz mutate venv clean

venv: $(STAMP)

# One install step for everything: the package with its emulator and test
# extras (all from PyPI), then the DuckDB extension files that bqemulator would
# otherwise try to download, copied from their wheels into the venv.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[emulator,test]'
	$(PY) -m healthcare_emulator.stack --prepare
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m pulumi_offline.demo

# pytest exits 5 when it collected nothing: that is a failure here, not a pass.
test: $(STAMP)
	$(PY) -m pytest -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

bench: $(STAMP)
	$(PY) -m benchmarks

fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest -q tests/test_fuzz_check.py

# Mutation testing of the modules that decide behaviour (tools/mutate.py, docs/mutation.md).
mutate: $(STAMP)
	$(PY) tools/mutate.py

clean:
	rm -rf $(VENV) .pulumi-offline .pytest_cache .hypothesis .mutate
