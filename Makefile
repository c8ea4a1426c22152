# gridmint — make targets. `make test` is the README's test command: it
# installs what the tests need (scripts/setup-test-deps) and runs them.

GO        ?= go
PKGS      ?= ./...
BIN       ?= bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
FUZZTIME  ?= 30s
SIMSEEDS  ?= 1000

.PHONY: all build test test-only deps bench fuzz lint cross cross-test sim mutate testnet-test bench-chain clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/gridmint ./cmd/gridmint

# The README's test command: set up what is missing, then run every test.
test: deps lint test-only

deps:
	./scripts/setup-test-deps

test-only:
	GRIDMINT_REQUIRE_EXTERNAL=1 $(GO) test -count=1 -timeout 15m $(PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 6 $(PKGS) | tee bench/latest.txt

# Runs every fuzz target for FUZZTIME each and copies what the fuzzer found
# interesting into the package's testdata/fuzz corpus.
fuzz:
	./scripts/fuzz-all $(FUZZTIME)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	./scripts/check-no-float

cross:
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/gridmint-linux-arm64 ./cmd/gridmint
	GOOS=linux GOARCH=arm GOARM=7 CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/gridmint-linux-armv7 ./cmd/gridmint

# The deterministic packages' tests, cross-compiled and run under
# qemu-user-static, so that amd64 and arm64 are shown to agree.
cross-test: deps
	./scripts/cross-test

# The long consensus simulation: SIMSEEDS seeds per fault scenario.
sim:
	$(GO) test -count=1 -timeout 0 -run 'TestSim' ./consensus/sim/ -sim.seeds=$(SIMSEEDS)

# Consensus mutation testing: every mutation of a rule of Algorithm 1 must
# be killed by a test; the table goes to consensus/MUTATIONS.md.
mutate:
	./scripts/mutate-consensus

# The multi-process testnet: builds the binary, runs `testnet init` with 4
# validators and a full node, 4 `gridmint run` validators on 127.0.0.1-4;
# a site registers and sends readings through the status sockets, one
# validator is SIGKILLed and restarted, and the full node starts last and
# block-syncs from zero (about 30 s); and a node with [meter] enabled whose
# site agent signs and commits readings of 60 s intervals across a restart
# (about 3 min). The build tag testnet keeps them out of test-only.
testnet-test:
	$(GO) test -count=1 -tags testnet -run 'TestTestnetProcesses|TestServiceSiteAgent' -v ./cmd/gridmint ./node

# The chain benchmark against CometBFT v1.0.1 (bench/chain, about 10
# minutes; not part of test). CHAINFLAGS go to the driver.
bench-chain:
	./bench/chain/run $(CHAINFLAGS)

clean:
	rm -rf $(BIN)
