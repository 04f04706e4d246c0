# Sluice: developer and CI entry points.
#
#   make deps          install the Debian 12 packages below that are missing (root or sudo)
#   make build         configure and build everything in build/
#   make test          deps, build/ + build-asan/, unit tests (ASan), throwaway servers,
#                      integration tests, servers stopped whatever happens
#   make fuzz          build the libFuzzer targets in build-fuzz/ (clang) and run each for
#                      FUZZ_SECONDS (300); FUZZ_MERGE=1 adds what they find to tests/fuzz/corpus/
#   make servers-up    start PostgreSQL, MariaDB and the Kafka broker in .servers/ for manual
#                      runs; then: set -a; . .servers/servers.env; set +a
#   make servers-down  stop them
#   make chaos         the chaos suite at length (200 faults per path, target outages of 30-60 s)

SHELL := /bin/bash
.DEFAULT_GOAL := build

BUILD_DIR ?= build
SERVERS_DIR ?= .servers
CMAKE_BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)

# Debian 12 packages for building and testing. Append with `DEBIAN_PACKAGES += name`.
DEBIAN_PACKAGES := g++ make cmake pkg-config libpq-dev libssl-dev libmariadb-dev librdkafka-dev \
  libboost-dev nlohmann-json3-dev libgtest-dev libgmock-dev libsqlite3-dev \
  libspdlog-dev libfmt-dev libcli11-dev postgresql-15 mariadb-server-core mariadb-client kcat \
  curl ca-certificates procps iproute2 zlib1g-dev libdeflate-dev libre2-dev ccache \
  clang libclang-rt-14-dev \
  libjs-chart.js chromium chromium-driver python3-selenium
# Reference tools the benchmarks compare against (make bench only).
BENCH_PACKAGES := pgcopydb pgloader time

.PHONY: deps build test bench fuzz servers-up servers-down

deps:
	@integration/servers/install_deps.sh $(DEBIAN_PACKAGES)

build:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(CMAKE_BUILD_TYPE)
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: deps
	@SLUICE_BUILD_DIR=$(BUILD_DIR) SLUICE_JOBS=$(JOBS) CMAKE_BUILD_TYPE=$(CMAKE_BUILD_TYPE) \
	  integration/servers/run_tests.sh

# Every benchmark under integration/bench/*/run.sh, each printing ratios against a reference
# measured in the same run (small default sizes; see each script for its arguments).
bench: deps build
	@integration/servers/install_deps.sh $(BENCH_PACKAGES)
	@rm -f $(BUILD_DIR)/bench-results.jsonl
	@set -e; for script in integration/bench/*/run.sh; do \
	  echo "==== $$script"; BUILD=$(abspath $(BUILD_DIR)) \
	  BENCH_RESULTS=$(abspath $(BUILD_DIR))/bench-results.jsonl $$script; done
	@echo "==== integration/bench/incremental/run.sh (SOURCE=mariadb)"; \
	  SOURCE=mariadb BUILD=$(abspath $(BUILD_DIR)) \
	  BENCH_RESULTS=$(abspath $(BUILD_DIR))/bench-results.jsonl integration/bench/incremental/run.sh
	@echo "==== every ratio (load average: $$(cut -d' ' -f1-3 /proc/loadavg))"
	@integration/bench/summary.py $(BUILD_DIR)/bench-results.jsonl $(BUILD_DIR)/bench-results.json

# Decoder and parser fuzzing (tests/fuzz/README.md): libFuzzer with ASan+UBSan, each target for
# FUZZ_SECONDS on a copy of its corpus; what runs find accumulates in $(FUZZ_BUILD_DIR)/fuzz-work.
FUZZ_BUILD_DIR ?= build-fuzz
FUZZ_SECONDS ?= 300
fuzz: deps
	@tests/fuzz/run_fuzzers.sh --seconds $(FUZZ_SECONDS) --jobs $(JOBS) \
	  --work $(FUZZ_BUILD_DIR)/fuzz-work $(if $(filter 1,$(FUZZ_MERGE)),--merge) $(FUZZ_BUILD_DIR)

servers-up:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(CMAKE_BUILD_TYPE)
	cmake --build $(BUILD_DIR) -j $(JOBS) --target sluice_mock_broker
	integration/servers/up.sh $(SERVERS_DIR) $(abspath $(BUILD_DIR))/integration/broker/sluice_mock_broker
	@echo "export the servers' variables with: set -a; . $(SERVERS_DIR)/servers.env; set +a"

servers-down:
	integration/servers/down.sh $(SERVERS_DIR)

# PostgreSQL -> MariaDB through the REST API: servers, `sluice serve`, a connector, a write
# workload with live progress and lag, target == source, curl examples, then the web console's
# URL; keeps running until Ctrl-C when stdin is a terminal (DEMO_KEEP=0: exit at once,
# DEMO_KEEP=1: keep even without a terminal). Builds only `sluice` and the test broker.
.PHONY: demo
demo: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(CMAKE_BUILD_TYPE)
	cmake --build $(BUILD_DIR) -j $(JOBS) --target sluice sluice_mock_broker
	@SLUICE_BUILD_DIR=$(BUILD_DIR) integration/demo/demo.sh

# The chaos suite (integration/chaos/) at length: PG -> PG, PG -> MariaDB and MariaDB -> PG under
# a write load with seeded faults, on scratch servers of its own (no servers-up needed). `make test`
# runs it with 22 faults per path; knobs (environment): SLUICE_CHAOS_FAULTS (per path),
# SLUICE_CHAOS_OUTAGES, SLUICE_CHAOS_OUTAGE_S (N or MIN-MAX seconds), SLUICE_CHAOS_SEED,
# SLUICE_CHAOS_ROWS.
.PHONY: chaos
chaos: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(CMAKE_BUILD_TYPE)
	cmake --build $(BUILD_DIR) -j $(JOBS) --target sluice chaos_test
	SLUICE_BIN=$(abspath $(BUILD_DIR))/api/sluice \
	  SLUICE_CHAOS_FAULTS=$${SLUICE_CHAOS_FAULTS:-200} SLUICE_CHAOS_OUTAGES=$${SLUICE_CHAOS_OUTAGES:-6} \
	  SLUICE_CHAOS_OUTAGE_S=$${SLUICE_CHAOS_OUTAGE_S:-30-60} \
	  $(BUILD_DIR)/integration/chaos/chaos_test

# The incremental-snapshot suite at the issue's size (a 200k-row table; `make test` runs 20k), on
# servers of its own, stopped whatever happens.
.PHONY: test-incremental-deep
test-incremental-deep: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(CMAKE_BUILD_TYPE)
	cmake --build $(BUILD_DIR) -j $(JOBS) --target sluice sluice_mock_broker incremental_snapshot_test
	@set -e; dir=$(SERVERS_DIR)-incremental; \
	  trap 'integration/servers/down.sh '$$dir EXIT; \
	  integration/servers/up.sh $$dir $(abspath $(BUILD_DIR))/integration/broker/sluice_mock_broker; \
	  set -a; . $$dir/servers.env; set +a; \
	  SLUICE_INCR_ROWS=200000 ctest --test-dir $(BUILD_DIR) -R '^incremental_snapshot_test$$' \
	    --timeout 1200 --output-on-failure
