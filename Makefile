# chestx — two commands for a fresh machine:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT ?= demo_out

.PHONY: venv demo test lint docs browser system-packages bench clean

venv: $(STAMP)

# The venv is rebuilt only when pyproject.toml changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

# System packages some tests use (Debian; best effort, as root): Chromium for the web viewer's
# end-to-end test, Orthanc + its DICOMweb plugin as the PACS of the pacs tests, dcmtk to
# cross-check our DIMSE client. Each test skips with a reason where its package is missing.
SYSTEM_PACKAGES := chromium:chromium orthanc:Orthanc orthanc-dicomweb: dcmtk:findscu

system-packages:
	@missing=""; for entry in $(SYSTEM_PACKAGES); do pkg=$${entry%%:*}; cmd=$${entry#*:}; \
	  if [ -n "$$cmd" ]; then command -v $$cmd >/dev/null 2>&1 || [ -x /usr/sbin/$$cmd ] || missing="$$missing $$pkg"; \
	  else dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; fi; done; \
	if [ -n "$$missing" ]; then { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
	  || echo "note: not installed:$$missing; the tests that need them will be skipped"; }; fi

browser: system-packages

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports

# The documentation site (mkdocs.yml: docs/*.md, Material theme) into $(DOCS_OUT). Strict: a
# warning (a broken link or #anchor, a page missing from the nav) fails the build. No -q:
# with it mkdocs drops its warnings before strict mode counts them.
DOCS_OUT ?= build/docs
MKDOCS_BUILD = NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir $(DOCS_OUT)

docs: $(STAMP)
	$(MKDOCS_BUILD)

test: $(STAMP) system-packages
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports
	$(MKDOCS_BUILD)
	$(BIN)/python -m pytest -q

demo: $(STAMP) system-packages
	bash scripts/demo.sh $(DEMO_OUT)

bench: $(STAMP)
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(DEMO_OUT) $(DOCS_OUT) .pytest_cache .ruff_cache
