#!/usr/bin/env bash
# End-to-end tests of Red Ghost against real programs: its observability
# with redis-server, Jaeger (built from its Go module as a tool of
# e2e/tools) and Prometheus (Debian's package); its web UI (redghost serve)
# in Debian's headless Chromium; its Redis topologies
# (e2e/topology: Cluster, Sentinel, TLS and ACL) with redis-server and
# redis-cli; and the fault suite (e2e/chaos, short form: about two minutes
# on two cores). Installs what is missing, then runs `go test ./...` in
# e2e/, the fault suite verbose so that its one line per scenario shows.
# Called from the repository's .ci/run; runs on its own as well:
#
#	bash e2e/run.sh [go test flags...]
#
# The first Jaeger build takes several minutes on two cores; later runs take
# it from the Go build cache. The fault suite's long form (100k messages,
# repeated crashes, two Redis restarts, network flaps) runs on its own:
#
#	cd e2e && CHAOS_LONG=1 go test -run Chaos -v -timeout 60m ./chaos
set -euo pipefail
cd "$(dirname "$0")"

apt_install() {
	if [ "$(id -u)" != 0 ]; then
		echo "e2e/run.sh: $* missing and not root; install it" >&2
		exit 1
	fi
	if [ -z "${APT_UPDATED:-}" ]; then
		apt-get update -qq
		APT_UPDATED=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

command -v redis-server >/dev/null || apt_install redis-server
# redis-cli (redis-tools) joins the cluster of e2e/topology.
command -v redis-cli >/dev/null || apt_install redis-tools
# Debian's package would also start a service on :9090 where systemd runs;
# the tests start their own Prometheus on a free loopback port either way.
command -v prometheus >/dev/null || apt_install prometheus
# Debian's chromium drives the web UI's browser tests (headless, through chromedp).
command -v chromium >/dev/null || apt_install chromium

# The shipped alerting rules (Debian's prometheus package has promtool):
# their syntax, and their unit tests. TestAlertRules runs them too; here a
# broken rule fails before the long part of the run.
promtool check rules ../deploy/prometheus/alerts.yml
promtool test rules ../deploy/prometheus/alerts_test.yml

echo "e2e: building jaeger (go tool, cached after the first build)..."
start=$(date +%s)
JAEGER_BIN=$(cd tools && go tool -n jaeger)
export JAEGER_BIN
echo "e2e: jaeger ready in $(($(date +%s) - start))s: $JAEGER_BIN"

# CI=1 makes a missing program fail the tests instead of skipping them.
CI=${CI:-1} go test -count=1 -timeout 15m "$@" $(go list ./... | grep -v '/chaos$')
CI=${CI:-1} go test -count=1 -timeout 15m -v "$@" ./chaos
