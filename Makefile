# Two commands on a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# The floor venv: the product at the bottom of every dependency range
# (constraints/floor.txt), to test the ranges pyproject.toml promises.
FLOOR_PYTHON ?= $(PYTHON)
FLOOR_VENV := .venv-floor
FLOOR_PY := $(FLOOR_VENV)/bin/python
FLOOR_STAMP := $(FLOOR_VENV)/.installed
# What runs at the floor: the product without the offline engine's programs
# (the engine pins the SDK exactly, see offline/pyproject.toml): its layers
# (the modules beside them, api, lro, jobs), the dynamic provider through the
# SDK's real host, the plugin process, the pulumi-gcp wiring under set_mocks,
# the CLI.
FLOOR_SUITE := tests/beside tests/api tests/lro tests/jobs tests/dynamic tests/plugin tests/gcp tests/cli

# The three distributions (product, emulator, offline engine) and the test
# requirements: any change reinstalls.
INSTALL_INPUTS := pyproject.toml emulator/pyproject.toml offline/pyproject.toml tests/requirements.txt

.PHONY: demo test test-top test-floor bench fuzz mutate venv clean

venv: $(STAMP)

# One install step for everything, all from PyPI: the three distributions
# (editable) and the test requirements, then the DuckDB extension files that
# bqemulator would otherwise try to download, copied from their wheels into
# the venv.
# Quiet for a user (`make demo` on a fresh clone shows no packaging banner):
# recipes not echoed, pip at -qq (its warnings and the build backends' notes
# hidden, its errors shown), the preparation's own line dropped; any failure
# still prints its error and stops make.
PIP_QUIET := -qq --disable-pip-version-check
$(STAMP): $(INSTALL_INPUTS)
	@echo "Installing into $(VENV) (first run only; a few minutes)..."
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install $(PIP_QUIET) --upgrade pip
	@$(PY) -m pip install $(PIP_QUIET) -e . -e ./emulator -e ./offline -r tests/requirements.txt
	@$(PY) -m healthcare_emulator.stack --prepare > /dev/null
	@touch $(STAMP)

# The same, with the product's dependencies held at their floors. The offline
# engine's modules that the floor suite's harness imports (pulumi_offline.host,
# .program) come from source without its exact SDK pin (--no-deps).
# As quiet as the main venv's install (same PIP_QUIET, recipes not echoed).
$(FLOOR_STAMP): $(INSTALL_INPUTS) constraints/floor.txt
	@echo "Installing into $(FLOOR_VENV), the dependency floors (first run only; a few minutes)..."
	@test -x $(FLOOR_PY) || $(FLOOR_PYTHON) -m venv $(FLOOR_VENV)
	@$(FLOOR_PY) -m pip install $(PIP_QUIET) --upgrade pip
	@$(FLOOR_PY) -m pip install $(PIP_QUIET) -c constraints/floor.txt -e . -e ./emulator -r tests/requirements.txt
	@$(FLOOR_PY) -m pip install $(PIP_QUIET) --no-deps -e ./offline
	@$(FLOOR_PY) -m healthcare_emulator.stack --prepare > /dev/null
	@touch $(FLOOR_STAMP)

demo: $(STAMP)
	@$(PY) -m pulumi_offline.demo

# pytest exits 5 when it collected nothing: that is a failure here, not a pass.
run_pytest = $(1) -m pytest -q $(2); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

# The whole suite at the top of the ranges, then the floor suite at their
# bottom; both run even when the first fails, and either failing fails `test`.
test: $(STAMP) $(FLOOR_STAMP)
	@rc=0; $(MAKE) --no-print-directory test-top || rc=1; \
	$(MAKE) --no-print-directory test-floor || rc=1; exit $$rc

test-top: $(STAMP)
	$(call run_pytest,$(PY),)

test-floor: $(FLOOR_STAMP)
	$(call run_pytest,$(FLOOR_PY),$(FLOOR_SUITE))

bench: $(STAMP)
	$(PY) -m benchmarks

fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest -q tests/test_fuzz_check.py

# Mutation testing of the modules that decide behaviour (tools/mutate.py, docs/mutation.md);
# ONLY='pulumi_dicom_jobs.lro.*' runs part of it.
mutate: $(STAMP)
	$(PY) -m pip install -qq --disable-pip-version-check 'mutmut>=3.8,<4'
	$(PY) tools/mutate.py $(ONLY)

clean:
	rm -rf $(VENV) $(FLOOR_VENV) .pulumi-offline .pytest_cache .hypothesis .mutate
