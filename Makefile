# hookproof: the Makefile is the index of what a developer can do.
#   make demo         the whole story on embedded defaults (reference receiver, chaos, conform, load, report.html)
#   make test         every test (what CI runs; see .ci/run for the machine setup)
#   make bench        benchmarks: signature verify, receiver vs bare handler, chaos proxy, load generator, then a summary table
#   make lint         gofmt, go vet, go mod tidy check
#   make build        the hookproof binary in ./bin
#   make conformance  the receiver suite against the reference receiver (strict), results, JUnit and HTML in ./out
#   make fuzz         every fuzz target for FUZZTIME each (default 20s)
#   make image        the hookproof container image (FROM scratch)

GO        ?= go
BIN       ?= bin/hookproof
FUZZTIME  ?= 20s
BENCHTIME ?= 1x
export TESTCONTAINERS_RYUK_DISABLED ?= true
export TESTCONTAINERS_HOST_OVERRIDE ?= 127.0.0.1

# Packages whose tests run under the race detector; the suites run real load and timing-bound
# conformance cases, so they run without it (their engines are race-tested in their own packages).
RACE_PKGS = ./reference/... ./chaos/... ./reports/... ./cmd/...
SUITE_PKGS = ./suites/...

.PHONY: all build test test-race test-suites bench lint demo conformance fuzz image clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/hookproof

test: lint test-race test-suites

test-race:
	$(GO) test -race -count=1 -timeout 10m $(RACE_PKGS)

test-suites:
	$(GO) test -count=1 -timeout 12m $(SUITE_PKGS) ./testdata/exampleapp/

# The benchmarks' output as it comes, then a summary table of the issue's figures (each a ratio
# measured side by side in this run, with the absolute numbers); HOOKPROOF_BENCH_LONG=1 makes the
# load memory benchmark a 5-minute run instead of 60 s.
bench:
	$(GO) build -o bin/benchsummary ./cmd/hookproof/internal/benchsummary
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -benchmem -timeout 20m ./... 2>&1 | bin/benchsummary

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@cp go.mod /tmp/hookproof.go.mod.bak; cp go.sum /tmp/hookproof.go.sum.bak; \
	$(GO) mod tidy; \
	if ! cmp -s go.mod /tmp/hookproof.go.mod.bak || ! cmp -s go.sum /tmp/hookproof.go.sum.bak; then \
	  cp /tmp/hookproof.go.mod.bak go.mod; cp /tmp/hookproof.go.sum.bak go.sum; \
	  echo "go mod tidy changes go.mod/go.sum: run it and commit"; exit 1; fi

demo:
	$(GO) run ./cmd/hookproof demo

conformance: build
	mkdir -p out
	$(BIN) conform receiver --builtin reference --strict --out out/conform-receiver.json \
	  --junit out/conform-receiver.xml --html out/conform-receiver.html

fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

image:
	rm -rf bin/image && mkdir -p bin/image/data
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o bin/image/hookproof ./cmd/hookproof
	docker build -t hookproof:dev -f Dockerfile bin/image

clean:
	rm -rf bin out
