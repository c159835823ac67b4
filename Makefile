# Clickstream platform: the embedded runtime on one machine.
#   make run     install everything and start the whole platform (idempotent)
#   make test    install everything and run the test suite
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_BIN ?= python3.11
UV_VERSION := 0.13.8
TOOLS      := .tools
UV         := $(TOOLS)/bin/uv
VENV       := .venv
PY         := $(VENV)/bin/python
STACK      := $(PY) -m embedded

export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
export PYTHONPATH := $(CURDIR)

# Debian packages the embedded runtime needs: Java 17 for Spark and Kafka, Maven for their jars,
# PostgreSQL for Airflow's metadata DB, and Chromium for the dashboard's browser tests.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help install system-deps run stop status logs airflow beeline test test-unit test-restarts lint bench screenshots clean docker-requirements

help:
	@echo "make run      start the embedded platform (installs what it needs)"
	@echo "make test     run the test suite (installs what it needs)   make test-unit   the tests that start no service"
	@echo "make test-restarts   the slow tests: make stop / make run cycles, hourly and streaming on YARN (about 20 min)"
	@echo "make status   health of every service     make stop   stop everything"
	@echo "make airflow CMD=\"dags list\"   any Airflow CLI command against the stack"
	@echo "make beeline SQL=\"SELECT …\"   a query on the stack's HiveServer2 (make beeline: interactive)"
	@echo "make lint     ruff (incl. AIR3)            make bench  run the benchmarks"
	@echo "make screenshots   re-take the dashboard's screenshots in docs/screenshots/ (about 25 min)"

$(UV):
	$(PYTHON_BIN) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON_BIN)
	@touch $@

# JVM artifacts the pyspark wheel does not carry (Apache Kafka, Spark's Kafka connector), pinned in
# jvm/*/pom.xml and copied by Maven into jvm/lib/<module>/ (git-ignored), and the one class of the
# project's own (jvm/hive-auth: production HiveServer2's password check). Nothing is fetched otherwise.
JVM_POMS := jvm/pom.xml $(wildcard jvm/*/pom.xml) $(shell find jvm -name '*.java' -not -path '*/target/*')
JVM_LIB  := jvm/lib

$(JVM_LIB)/.installed: $(JVM_POMS) | system-deps
	rm -rf $(JVM_LIB)
	mvn --batch-mode --quiet --no-transfer-progress -f jvm/pom.xml package
	@touch $@

# Spark's JVM classes, archived by a training run (Java class-data sharing): every spark-submit of
# the embedded stack starts several seconds sooner (embedded/cds.py).
SPARK_CDS := $(VENV)/share/clickstream/spark-classes.jsa

$(SPARK_CDS): $(VENV)/.installed | system-deps
	$(PY) -m embedded.cds

# The Spark jobs' Python environment for YARN containers in cluster mode (CLICKSTREAM_CLUSTER=yarn):
# docker/airflow/job-requirements.txt in a virtualenv packed with venv-pack, as the production image
# packs it. The stack puts it on HDFS once; every job then ships it with --archives …#environment.
JOBENV := build/jobenv.tar.gz

$(JOBENV): docker/airflow/job-requirements.txt $(VENV)/.installed
	rm -rf build/jobenv $@
	$(UV) venv --quiet --python $(PYTHON_BIN) build/jobenv
	$(UV) pip install --quiet --python build/jobenv/bin/python -r docker/airflow/job-requirements.txt
	$(VENV)/bin/venv-pack --quiet -p build/jobenv -o $@

install: system-deps $(VENV)/.installed $(JVM_LIB)/.installed $(SPARK_CDS) $(JOBENV)

system-deps:
	@missing=""; \
	command -v java >/dev/null || missing="$$missing openjdk-17-jre-headless"; \
	command -v javac >/dev/null || missing="$$missing openjdk-17-jdk-headless"; \
	command -v mvn >/dev/null || missing="$$missing maven"; \
	ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# CLUSTER=yarn: HDFS and YARN too, every Spark job a YARN application (docs/cluster-mode.md).
run: install
	@$(if $(CLUSTER),CLICKSTREAM_CLUSTER=$(CLUSTER) )$(STACK) up

stop:
	@if [ -x $(PY) ]; then $(STACK) down; else echo "Nothing installed, nothing running."; fi

status:
	@$(STACK) status

logs:
	@ls -1 $${CLICKSTREAM_DATA_DIR:-data}/logs

airflow:
	@$(STACK) airflow $(CMD)

# beeline on the stack's HiveServer2 (its port, the platform's database, Spark's launcher environment):
# make beeline SQL="SELECT …" runs one statement (SQL reaches the command through the environment).
beeline:
	@$(STACK) beeline

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

test: install
	$(VENV)/bin/pytest -m "not slow" $(PYTEST_ARGS)

# The slow tests (about 20 minutes), outside make test's budget: three make stop / make run cycles
# under load; on YARN, the hourly DAG and the streaming application surviving its ApplicationMaster's death.
test-restarts: install
	$(VENV)/bin/pytest -m slow tests/integration $(PYTEST_ARGS)

# The fast loop: tests/unit, which starts no service (no broker, HiveServer2, Airflow or stack).
test-unit: install
	$(VENV)/bin/pytest tests/unit $(PYTEST_ARGS)

bench: install
	$(PY) -m bench.run_all

# The dashboard's screenshots in docs/screenshots/, from a private stack holding a backfilled week
# with the simulation running (about 25 minutes on two cores).
screenshots: install
	$(PY) -m bench.screenshots

# The production image's pinned requirements, from uv.lock (docker/airflow/Dockerfile).
docker-requirements: $(UV)
	$(UV) export --frozen --no-dev --no-hashes --no-emit-project --no-header -q -o docker/airflow/requirements.txt

clean: stop
	rm -rf data artifacts
