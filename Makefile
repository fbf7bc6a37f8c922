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
# observability, examples, all against real redis-server processes.
unit:
	$(GO) test -race -count=1 ./...

# The side-by-side benchmark harness (its own module, with asynq): every
# row once on both systems at a tiny size, every message counted.
peers:
	cd bench/peers && $(GO) vet ./... && $(GO) test -count=1 ./...

# Observability end to end, in its own module: a real Jaeger (built as a Go
# tool), a real Prometheus scraping the demo, compose and dashboard checks.
e2e:
	bash e2e/run.sh
