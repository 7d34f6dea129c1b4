# Yici — the two commands: `make run` and `make test`.
GO      ?= go
BIN     := bin/yici
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
# Per-target time for the short fuzz runs of `make test`; `make fuzz` runs longer.
FUZZTIME ?= 8s

.PHONY: all build run test vet lint unit fuzz fuzz-short bench postgres chromium clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/yici

## run: build, start PostgreSQL (private cluster under ./var unless DATABASE_URL is set), migrate, seed, serve on :8080
run: build postgres
	./$(BIN) serve

## test: the whole suite against a real PostgreSQL that the tests start themselves
test: postgres chromium vet lint unit fuzz-short

postgres:
	@scripts/ensure-postgres

chromium:
	@scripts/ensure-chromium

vet:
	$(GO) vet ./...

# staticcheck (honnef.co/go/tools), the version pinned here.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint:
	$(GO) run $(STATICCHECK) ./...

unit:
	$(GO) test -count=1 -p 4 -timeout 9m ./...

# Every fuzz target for FUZZTIME each.
fuzz-short:
	@scripts/fuzz-all $(FUZZTIME)

## fuzz: every fuzz target, at least 10 minutes in all
fuzz:
	@scripts/fuzz-all 60s

## bench: the benchmarks of BENCHMARKS.md
bench: postgres
	$(GO) test -run XXX -bench . -benchmem ./...

clean:
	rm -rf bin
