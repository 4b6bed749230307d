# The README's two commands are `make run` and `make test`; the rest are for developers.
CARGO ?= cargo
# CI passes --locked so a drifting lockfile fails instead of resolving anew.
CARGOFLAGS ?=

.PHONY: run test lint fmt bench-backbone clean-data

## Build and start what the platform has so far: the embedded Kafka-protocol broker
## on 127.0.0.1:19092, keeping its data under data/broker. (`casework up`, which
## starts every service, arrives with the service runtime.)
run:
	$(CARGO) run $(CARGOFLAGS) -p casework-broker -- --data-dir data/broker --listen 127.0.0.1:19092

## Every test. PostgreSQL cases run when CASEWORK_TEST_DATABASE_URL is set
## (.ci/run sets it) and say they were skipped when it is not.
test:
	$(CARGO) build $(CARGOFLAGS) -p casework-broker
	$(CARGO) test $(CARGOFLAGS) --workspace

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy $(CARGOFLAGS) --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## Events/s through outbox -> relay -> broker -> inbox against raw rdkafka, on
## SQLite and (with CASEWORK_TEST_DATABASE_URL) PostgreSQL. Release build.
bench-backbone:
	$(CARGO) build $(CARGOFLAGS) --release -p casework-broker
	$(CARGO) bench $(CARGOFLAGS) -p casework-bus --bench backbone

clean-data:
	rm -rf data
