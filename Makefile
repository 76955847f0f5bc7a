# vault: the README's quick start is `make serve` and `make test`. Both need
# only Node.js and npm: Bun $(BUN_VERSION) is installed with npm when `bun` is
# missing or another version (scripts/ensure-bun.sh). `make test` and
# `make e2e` also install the system tools the tests drive when missing
# (tmux, openssl, git, Chromium and its fonts, libfaketime: apt-get as root;
# otherwise they say what to install; scripts/ensure-test-deps.sh).
#
# Two test suites:
#   unit  test/**/*.test.ts  plain `bun test` (the end of `bun run check`); no binary needed.
#   e2e   test/e2e/*.e2e.ts  the compiled binary, copied alone into a temporary
#                            directory outside the repository. `bun test` only
#                            picks files named *.test.ts / *_test.ts / *.spec.ts,
#                            so plain `bun test` skips these; they run only when
#                            named as paths: `bun test ./test/e2e/x.e2e.ts ...`
#                            (`make e2e`, after `make compile`).
# `make test` runs both, in the order CI does: check (typecheck, biome, unit
# tests), compile (which runs the binary), e2e. .ci/run runs `make test`.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

BUN_VERSION := 1.4.5
# Used only when npm cannot install globally (not root, no user prefix); first on PATH either way.
BUN_PREFIX := $(if $(HOME),$(HOME),/tmp)/.cache/vault/bun-$(BUN_VERSION)
export PATH := $(BUN_PREFIX)/bin:$(PATH)

DATA ?= ./vault-data
E2E_TESTS := $(addprefix ./,$(sort $(wildcard test/e2e/*.e2e.ts)))
# With no file named, `bun test` would run the unit suite again and call it e2e.
E2E_RUN := test -n "$(E2E_TESTS)" || { echo "make: no test/e2e/*.e2e.ts files" >&2; exit 1; }; bun test --timeout 120000 $(E2E_TESTS)

.PHONY: help setup test-deps serve test check compile e2e bench clean docker-smoke

help:
	@echo "make serve    install Bun $(BUN_VERSION) if needed, compile, run dist/vault serve --data $(DATA)"
	@echo "make test     everything CI runs: typecheck, biome, unit tests, compile, end-to-end tests"
	@echo "make test-deps  install the system tools the tests need (tmux, openssl, git, chromium, libfaketime)"
	@echo "make check    typecheck, biome check, unit tests (bun run check)"
	@echo "make compile  build dist/vault (and dist/vault.sha256)"
	@echo "make e2e      compile, then the end-to-end tests against dist/vault"
	@echo "make bench    compile, then the benchmarks (bun run bench)"
	@echo "make docker-smoke  compile, build the Dockerfile with podman and run the container flow (root)"
	@echo "make clean    remove build outputs (never the data directory)"

setup:
	@scripts/ensure-bun.sh $(BUN_VERSION) $(BUN_PREFIX)
	bun install --frozen-lockfile

test-deps:
	@scripts/ensure-test-deps.sh

serve: setup
	bun scripts/compile.ts
	exec dist/vault serve --data $(DATA)

test: setup test-deps
	bun run check
	bun scripts/compile.ts
	$(E2E_RUN)

check: setup
	bun run check

compile: setup
	bun scripts/compile.ts

e2e: compile test-deps
	$(E2E_RUN)

bench: compile
	bun run bench

docker-smoke: compile
	scripts/docker-smoke

# Build outputs only: vault-data/ holds keys and secrets and is never removed here.
clean:
	rm -rf dist bench/out
