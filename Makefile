# `make run` and `make test` work from a fresh clone: they create .venv and install first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-postgres install migrate bench lint clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

var/config.toml:
	mkdir -p var
	sed -e "s/change-me-to-a-long-random-string/$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(32))')/" \
		config.example.toml > var/config.toml

migrate: $(STAMP) var/config.toml
	LOYALTY_CONFIG=$${LOYALTY_CONFIG:-var/config.toml} $(BIN)/loyalty db upgrade

run: migrate
	LOYALTY_CONFIG=$${LOYALTY_CONFIG:-var/config.toml} $(BIN)/loyalty serve

test: $(STAMP)
	$(BIN)/python -m pytest

test-postgres: $(STAMP)
	LOYALTY_TEST_DATABASE=postgresql $(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/pip install --quiet ruff
	$(BIN)/ruff check .
	$(BIN)/lint-imports --config setup.cfg

clean:
	rm -rf $(VENV) var build *.egg-info
