# `make test` is the project's one test command (README.md; .ci/run runs it).
# It needs redis-server on PATH (and prometheus for the e2e module);
# .ci/run installs both with apt-get when they are missing.

GO ?= go

.PHONY: test check unit peers e2e

test: check unit peers e2e

# Formatting and vet across the library module.
check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# The library: conformance suite on both backends, worker, middleware,
# observability, examples, all against real redis-server processes; then,
# without the race detector (which would swamp what it measures), the
# middleware's cost budgets against the bare worker of the same run.
unit:
	$(GO) test -race -count=1 ./...
	$(GO) test -count=1 -run TestMiddlewareBudgets ./bench

# The side-by-side benchmark harness (its own module, with asynq): every
# row once on both systems at a tiny size, every message counted.
peers:
	cd bench/peers && $(GO) vet ./... && $(GO) test -count=1 ./...

# Observability end to end, in its own module: a real Jaeger (built as a Go
# tool), a real Prometheus scraping the demo, compose and dashboard checks.
e2e:
	bash e2e/run.sh
