# The README's two commands are `make run` and `make test`; the rest are for developers.
CARGO ?= cargo
# CI passes --locked so a drifting lockfile fails instead of resolving anew.
CARGOFLAGS ?=
# Where cargo builds (CI keeps it outside the clone, in CARGO_TARGET_DIR).
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)

.PHONY: run test test-containers cluster-check k8s-dev lint fmt fuzz api-fuzz chromium screenshots bench-web bench-audit bench-backbone bench-intake bench-pipeline bench-topology bench-matching bench-screening matching-model clean-data vendor-diff

## Build and start the whole platform: every service on http://127.0.0.1:8080,
## the embedded broker on 127.0.0.1:19092, data under ./data. Ctrl-C stops it.
## One cargo invocation builds both binaries, so shared dependencies are
## compiled once with one set of features.
run: node_modules/.package-lock.json
	$(CARGO) build $(CARGOFLAGS) --release -p casework -p casework-broker
	$(TARGET_DIR)/release/casework up

## Every test. PostgreSQL cases run when CASEWORK_TEST_DATABASE_URL is set
## (.ci/run sets it) and say they were skipped when it is not. The first
## command builds the binaries the end-to-end tests start and every test
## target with the features `cargo test` uses, so the second compiles nothing
## again.
test: node_modules/.package-lock.json chromium
	tests/cluster/validate.sh
	$(CARGO) build $(CARGOFLAGS) --workspace --bins --tests
	$(CARGO) test $(CARGOFLAGS) --workspace

## The product scenarios against Apache Kafka and PostgreSQL in containers
## (testcontainers), on a machine with a Docker engine; without one the
## suite prints "not run: no Docker engine" and runs nothing.
test-containers:
	$(CARGO) build $(CARGOFLAGS) -p casework -p casework-broker
	$(CARGO) test $(CARGOFLAGS) -p casework-e2e --features docker-tests --test containers

## The cluster path, offline: helm lint, the chart rendered with each values
## file and the dev overlay, validated against the Kubernetes and CRD schemas.
cluster-check:
	tests/cluster/validate.sh

## The dev namespace's manifests (k8s/overlays/dev), on standard output:
##   make k8s-dev > casework-dev.yaml && kubectl apply -n casework-dev -f casework-dev.yaml
k8s-dev:
	@tests/cluster/validate.sh >&2
	@"$${XDG_CACHE_HOME:-$$HOME/.cache}/casework/cluster-tools/2.2.2/kubectl/kubectl" kustomize k8s/overlays/dev

## The web front end's packages, pinned by package-lock.json: govuk-frontend
## (served at /assets), and for the browser tests playwright-core and
## axe-core. Never a browser download: the tests use Debian's chromium.
node_modules/.package-lock.json: package.json package-lock.json
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund

## Debian's chromium for the browser tests (tests/browser.rs), installed when missing.
chromium:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "install Debian's chromium (sudo apt-get install chromium) for the browser tests"; exit 1; fi; }

## Regenerate the README's screenshots (docs/screenshots) from the browser tests.
screenshots: node_modules/.package-lock.json chromium
	$(CARGO) build $(CARGOFLAGS) -p casework -p casework-broker
	SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(CARGO) test $(CARGOFLAGS) -p casework-e2e --test browser

## Formatting, and clippy on every target, the Docker-only suite
## (tests/containers.rs, feature docker-tests) included, so it always compiles.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy $(CARGOFLAGS) --workspace --all-targets --features casework-e2e/docker-tests -- -D warnings

fmt:
	$(CARGO) fmt --all

## schemathesis (PyPI, installed when missing) against every service's
## openapi.json on a running `casework up`, every check, fixed seed; the
## failures accepted for now are in tests/schemathesis-baseline.json.
api-fuzz:
	$(CARGO) build $(CARGOFLAGS) --workspace --bins --tests
	CARGO_TARGET_DIR=$(TARGET_DIR) tests/api-fuzz.sh

## Fuzz each target for FUZZ_SECONDS (60) with libFuzzer, starting from the
## committed corpus (fuzz/corpus/<target>; new inputs it finds land there:
## commit the ones worth keeping, and CI replays them). cargo-fuzz wants
## nightly features: RUSTC_BOOTSTRAP=1 lets the installed stable toolchain
## build them. Installs cargo-fuzz when missing.
FUZZ_SECONDS ?= 60
fuzz:
	@command -v cargo-fuzz >/dev/null 2>&1 || $(CARGO) install --locked cargo-fuzz
	cd fuzz && for target in mrz cloudevent rule_set application; do \
	  RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $$target corpus/$$target -- \
	    -max_total_time=$(FUZZ_SECONDS) -max_len=4096 || exit 1; \
	done

## Events/s through outbox -> relay -> broker -> inbox against raw rdkafka, on
## SQLite and (with CASEWORK_TEST_DATABASE_URL) PostgreSQL. Release build.
bench-backbone:
	$(CARGO) build $(CARGOFLAGS) --release -p casework-broker
	$(CARGO) bench $(CARGOFLAGS) -p casework-bus --bench backbone

clean-data:
	rm -rf data

## Intake latency and throughput (open loop) and footprint of `casework up`. Release build.
bench-intake:
	$(CARGO) build $(CARGOFLAGS) --release -p casework -p casework-broker
	$(CARGO) bench $(CARGOFLAGS) -p casework-e2e --bench intake

## The whole platform: auto-granted visit visas from intake to closed case,
## latency at 20 cases/s and the maximum sustained rate. Release build.
bench-pipeline:
	$(CARGO) build $(CARGOFLAGS) --release -p casework -p casework-broker
	$(CARGO) bench $(CARGOFLAGS) -p casework-e2e --bench pipeline

## What the split topology costs: the pipeline on PostgreSQL as `casework up`
## against a process per service (casework-broker, serve x7, serve web), in
## one run. Release build; the machine's PostgreSQL unless
## CASEWORK_TEST_DATABASE_URL names another.
bench-topology:
	$(CARGO) build $(CARGOFLAGS) --release -p casework -p casework-broker
	CASEWORK_TEST_DATABASE_URL=$${CASEWORK_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres} \
	  BENCH_TOPOLOGY=compare $(CARGO) bench $(CARGOFLAGS) -p casework-e2e --bench pipeline

## What the audit trail costs: a case read and intake with the trail on
## against the same binary with its appends skipped (the `bench-switch`
## feature, built here only), and `casework audit verify` per million
## records. Release build; `make bench-*` afterwards rebuilds without it.
bench-audit:
	$(CARGO) build $(CARGOFLAGS) --release -p casework -p casework-broker --features casework/bench-switch
	$(CARGO) bench $(CARGOFLAGS) -p casework-e2e --bench audit
	$(CARGO) bench $(CARGOFLAGS) -p casework-audit --bench verify

## The matching engine: FEBRL4 linked by it and by Splink (PyPI, DuckDB) in
## the same run, then matching one applicant against 100k and 1M people.
bench-matching:
	CARGO="$(CARGO)" libs/matching/bench/run.sh

## Screening at border scale (issue #31): a million-entry warnings index,
## 1,000 variants of indexed subjects and 1,000 people not indexed,
## screened by the matching engine beside today's exact lookup: recall,
## precision, single-screening p50/p99, a 1,000-traveller manifest, build
## time and memory. SIZES=100000,1000000 for more than one size.
bench-screening:
	$(CARGO) bench $(CARGOFLAGS) -p casework-matching --bench screening -- $(or $(SIZES),1000000)

## The person model shipped in config/matching/ (seeded: the same file
## unless the engine or the synthetic population changed). LABELS=FILE adds
## caseworkers' decisions (GET /api/identify/v1/match-labels) to it.
matching-model:
	$(CARGO) run $(CARGOFLAGS) --release -q -p casework-matching --example person_model -- --labels "$(LABELS)" > config/matching/person-model.json.new
	mv config/matching/person-model.json.new config/matching/person-model.json

## The web front end: a form page's server time at 50/s open loop against
## GET /livez, and the bytes of a first visit. Release build.
bench-web: node_modules/.package-lock.json
	$(CARGO) build $(CARGOFLAGS) --release -p casework -p casework-broker
	$(CARGO) bench $(CARGOFLAGS) -p casework-e2e --bench web

## Rewrite vendor/tansu-storage.patch: our changes to the published crate (vendor/README.md).
vendor-diff:
	$(CARGO) fetch $(CARGOFLAGS)
	rm -rf target/vendor-orig && mkdir -p target/vendor-orig
	for crate in tansu-broker tansu-storage; do \
	  tar -xzf "$$(find $${CARGO_HOME:-$$HOME/.cargo}/registry/cache -name "$$crate-0.6.0.crate" | head -n1)" -C target/vendor-orig; \
	  diff -ruN --exclude=Cargo.lock --exclude=.cargo_vcs_info.json --exclude=.cargo-ok target/vendor-orig/$$crate-0.6.0 vendor/$$crate \
	    | sed -E -e "s|target/vendor-orig/$$crate-0.6.0/|a/|" -e "s|vendor/$$crate/|b/|" -e 's/^((---|\+\+\+) [^\t]+)\t.*/\1/' \
	    > vendor/$$crate.patch || true; \
	done
