# Holdfast — make targets. Everything needs only Go: the Temporal CLI (for
# its dev server) is built from source into ./bin on first use.

GO       ?= go
BIN      := $(CURDIR)/bin
TEMPORAL := $(BIN)/temporal
# v1.5.1 is the newest Temporal CLI that builds with `go install`.
TEMPORAL_CLI_VERSION := v1.5.1

.PHONY: all build test bench demo up down vet clean

all: build

$(TEMPORAL):
	@echo "building the Temporal CLI $(TEMPORAL_CLI_VERSION) into ./bin (first time only, a few minutes)"
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

build:
	$(GO) build -o $(BIN)/holdfast ./starter
	$(GO) build -o $(BIN)/holdfast-worker ./worker
	$(GO) build -o $(BIN)/graphsim ./graphsim
	$(GO) build -o $(BIN)/holdfast-dev ./tools/holdfast-dev

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || (echo "gofmt would change:"; gofmt -l .; exit 1)

# Every test: unit, catalog (PostgreSQL too when HOLDFAST_TEST_POSTGRES is a
# URL), m365 against graphsim, and end-to-end on the Temporal dev server.
test: $(TEMPORAL) vet
	$(GO) test -timeout 45m ./...

# Benchmarks of the pieces, then the backup benchmark against a raw fetch
# of the same tenant; figures go to bench/results.json.
bench: $(TEMPORAL) build
	$(GO) test -run '^$$' -bench . -benchtime 2x ./internal/vault ./internal/quickxor
	$(GO) test -run '^$$' -bench . -benchtime 1x ./internal/graphsim
	$(BIN)/holdfast-dev bench -out bench/results.json

# The whole product on embedded defaults, checked against the simulator.
demo: $(TEMPORAL) build
	$(BIN)/holdfast-dev demo

# Leave a stack (Temporal dev server with its UI on :8233, graphsim, a
# worker) running for exploration; `make down` stops it.
up: $(TEMPORAL) build
	$(BIN)/holdfast-dev up

down:
	$(BIN)/holdfast-dev down

clean:
	rm -rf $(BIN)/holdfast $(BIN)/holdfast-worker $(BIN)/graphsim $(BIN)/holdfast-dev .holdfast-dev .holdfast-demo
