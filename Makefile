# leafbox build, test and benchmark entry points. `make help` lists the targets.

SHELL := /bin/bash
.DEFAULT_GOAL := help

GO       ?= go
GOFMT    ?= $(shell $(GO) env GOROOT)/bin/gofmt
# staticcheck as scripts/deps.sh installs it (GOBIN, or GOPATH/bin).
STATICCHECK ?= $(or $(shell $(GO) env GOBIN),$(firstword $(subst :, ,$(shell $(GO) env GOPATH)))/bin)/staticcheck
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
BUILD    := CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)'
PKG      := ./cmd/leafbox
BIN      := bin
FUZZTIME ?= 30s
# Hard upper bound for one package's `go test` binary; CI must finish well under 30
# minutes. The emulated board (board/qemu) is the longest: about 7–10 min on a loaded
# 2-core machine, 4–6 min on a quiet one.
TESTTIMEOUT ?= 20m
# 1: a test whose program, port or kernel feature is missing fails instead of
# skipping (internal/testenv). scripts/deps.sh installs what the tests need
# or stops, so `make test` can insist; set it to 0 to allow skips.
LEAFBOX_REQUIRE_INTEGRATION ?= 1
export LEAFBOX_REQUIRE_INTEGRATION
# The concurrent core, run under the race detector by `make test-race-core`.
RACEPKGS := ./broker ./broker/leaf ./storage/forward ./bridge/mqtt
# Extra arguments for `make run`, e.g. make run ARGS='-p 4333 -D'.
ARGS ?=
# `make image`: the board (rpi3, rpi4, rpi5, zero2w, qemu_aarch64) and a
# Buildroot 2026.05.x checkout (BUILDROOT=...).
BOARD ?= rpi4
BUILDROOT ?=

.PHONY: help build run test test-race test-race-core bench microbench fuzz size cross clean fmt vet dist image qemu-image

help: ## List the targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z-]*:.*## / {printf "  %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## Build bin/leafbox for the host (static, stripped).
	$(BUILD) -o $(BIN)/leafbox $(PKG)

run: build ## Build, then run the daemon on its embedded default config (ARGS=... for flags).
	$(BIN)/leafbox $(ARGS)

test: ## Install test dependencies, vet, and run all tests (the CI command).
	bash scripts/deps.sh test
	$(GO) mod download
	@unformatted=$$($(GOFMT) -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...
	$(GO) test -count=1 -timeout $(TESTTIMEOUT) ./...

test-race: ## Run all tests with the race detector (needs cgo and a C compiler).
	bash scripts/deps.sh test
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout $(TESTTIMEOUT) ./...

test-race-core: ## Race detector on broker, broker/leaf, storage/forward, bridge/mqtt (CI; needs a C compiler).
	bash scripts/deps.sh test
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout $(TESTTIMEOUT) $(RACEPKGS)

bench: ## Side-by-side benchmark against nats-server (ROUNDS, SCALE, OUT; see scripts/bench.sh).
	bash scripts/bench.sh

microbench: ## Go micro-benchmarks of the broker packages with allocation counts.
	$(GO) test -run '^$$' -bench . -benchmem ./broker/...

fuzz: ## Run every Fuzz* target for FUZZTIME each (default 30s).
	FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

size: ## Stripped binary sizes per platform, the build-tag presets and each omit tag on linux/arm64, the largest packages.
	bash scripts/size.sh

cross: ## Build bin/leafbox-linux-{arm64,armv6,armv7,amd64}.
	GOOS=linux GOARCH=arm64 $(BUILD) -o $(BIN)/leafbox-linux-arm64 $(PKG)
	GOOS=linux GOARCH=arm GOARM=6 $(BUILD) -o $(BIN)/leafbox-linux-armv6 $(PKG)
	GOOS=linux GOARCH=arm GOARM=7 $(BUILD) -o $(BIN)/leafbox-linux-armv7 $(PKG)
	GOOS=linux GOARCH=amd64 $(BUILD) -o $(BIN)/leafbox-linux-amd64 $(PKG)

dist: ## Source tarball with vendored Go modules in bin/dist (offline builds, Buildroot).
	bash scripts/image/dist.sh -v $(VERSION) $(BIN)/dist

image: ## SD card image for BOARD with Buildroot (BUILDROOT=DIR; see README).
	BUILDROOT=$(BUILDROOT) VERSION=$(VERSION) bash scripts/image/br-image.sh $(BOARD)

qemu-image: ## The emulated board from Debian arm64 packages, in bin/qemu.
	bash scripts/deps.sh test
	bash scripts/image/qemu-image.sh -v $(VERSION) $(BIN)/qemu

clean: ## Remove build outputs and benchmark results.
	rm -rf $(BIN) bench-results.md

fmt: ## Format all Go files in place (gofmt -s).
	$(GOFMT) -s -l -w $$(find . -name '*.go' -not -path './.git/*' -not -path '*/testdata/*')

vet: ## Run go vet on all packages.
	$(GO) vet ./...
