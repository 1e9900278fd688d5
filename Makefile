# Two commands do all set-up: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-deep install migrate seed lint clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

# On PostgreSQL the application connects as its own role (DATABASE_URL, e.g.
# postgres://editorial_app@…) and migrations, the demo data and the tests run as the tables'
# owner (DATABASE_OWNER_URL, e.g. postgres://postgres@…): `make migrate` then (re)creates the
# application's role and its grants (`manage.py create_app_role`). Without DATABASE_OWNER_URL
# everything runs as DATABASE_URL (SQLite: one file, no roles).
OWNER_URL := $(or $(DATABASE_OWNER_URL),$(DATABASE_URL))
AS_OWNER := $(if $(OWNER_URL),DATABASE_URL="$(OWNER_URL)")
APP_ROLE = $(shell $(PYTHON) -c 'import sys, urllib.parse as u; print(u.urlsplit(sys.argv[1]).username or "")' "$(DATABASE_URL)")

migrate: install
	$(AS_OWNER) $(BIN)/python manage.py create_database
	$(AS_OWNER) $(BIN)/python manage.py migrate --noinput
	@if [ -n "$(DATABASE_OWNER_URL)" ] && [ "$(DATABASE_OWNER_URL)" != "$(DATABASE_URL)" ]; then \
	  $(AS_OWNER) $(BIN)/python manage.py create_app_role "$(APP_ROLE)"; fi

seed: migrate
	$(AS_OWNER) $(BIN)/python manage.py seed_demo

## The web server on 127.0.0.1:8000 with a Celery worker and beat, on SQLite and the
## filesystem broker unless DATABASE_URL / CELERY_BROKER_URL say otherwise.
run: seed
	$(BIN)/honcho start -f Procfile

## The whole suite. DATABASE_URL and CELERY_BROKER_URL switch it to PostgreSQL and Redis
## (as the owner: DATABASE_OWNER_URL when set; one test connects as the application's role).
## The browser tests drive Debian's Chromium: installed here if missing (needs apt and root);
## without it they are skipped, saying why.
test: install
	@command -v chromium >/dev/null || { echo "== installing Chromium for the browser tests"; \
	  apt-get install -y -q chromium >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; } || \
	  echo "== Chromium could not be installed: the browser tests will be skipped"; }
	$(AS_OWNER) $(BIN)/pytest

## The model-based lifecycle test at length (1,000 random sequences of 60 steps; see README.md).
test-deep: install
	$(BIN)/pytest -q -p no:cacheprovider tests/editorial/workflow/test_lifecycle_machine.py --deep

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf var
