# Two commands do all set-up: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install migrate seed lint clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

## The web server on 127.0.0.1:8000 with a Celery worker and beat, on SQLite and the
## filesystem broker unless DATABASE_URL / CELERY_BROKER_URL say otherwise.
run: seed
	$(BIN)/honcho start -f Procfile

## The whole suite. DATABASE_URL and CELERY_BROKER_URL switch it to PostgreSQL and Redis.
## The browser tests drive Debian's Chromium: installed here if missing (needs apt and root);
## without it they are skipped, saying why.
test: install
	@command -v chromium >/dev/null || { echo "== installing Chromium for the browser tests"; \
	  apt-get install -y -q chromium >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; } || \
	  echo "== Chromium could not be installed: the browser tests will be skipped"; }
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf var
