# The front door. `make demo` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
PRESET ?= release
BUILD_DIR := build
JOBS ?= $(shell nproc)

.PHONY: all setup configure build test test-unit test-integration demo demo-ci cluster bench asan format tidy clean controlplane

all: build

setup:
	@scripts/setup

$(BUILD_DIR)/build.ninja: CMakeLists.txt CMakePresets.json | setup
	cmake --preset $(PRESET) $(CMAKE_ARGS)

configure: $(BUILD_DIR)/build.ninja

build: setup configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

controlplane: setup
	@scripts/build-controlplane >/dev/null

# All tests: unit tests, then integration tests against one local control
# plane shared by the run (each test uses namespaces of its own).
test: build controlplane
	cd $(BUILD_DIR) && ctest -L unit --output-on-failure -j $(JOBS) --timeout 600
	scripts/with-cluster bash -c 'cd $(BUILD_DIR) && ctest -L integration --output-on-failure --timeout 900'

test-unit: build
	cd $(BUILD_DIR) && ctest -L unit --output-on-failure -j $(JOBS)

test-integration: build controlplane
	scripts/with-cluster bash -c 'cd $(BUILD_DIR) && ctest -L integration --output-on-failure'

# The main job, interactive: start a local cluster and walk through the demo;
# it waits for Enter before tearing the cluster down.
demo: build controlplane
	scripts/with-cluster scripts/demo

# The same demo, non-interactive: exits by itself (CI, scripted checks).
demo-ci: build controlplane
	DEMO_NONINTERACTIVE=1 scripts/with-cluster scripts/demo

# A cluster that stays up for interactive use; prints the KUBECONFIG to use.
cluster: controlplane
	scripts/with-cluster --keep

bench: build controlplane
	mkdir -p $(BUILD_DIR)/bench
	scripts/run-benchmarks $(BUILD_DIR)

# Fuzzing (fuzz/README.md): libFuzzer targets for the parsers, built with
# clang-14, ASan and UBSan (preset `fuzz`, build/fuzz). fuzz-ci runs each
# for 60 s over the committed corpus and fails on any crash, leak or hang;
# `make fuzz FUZZ_SECONDS=3600 [FUZZ_TARGETS="decode yaml_json"]` runs them
# for long, keeping what they find in build/fuzz/corpus.
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?=
.PHONY: fuzz fuzz-build fuzz-ci
fuzz-build: setup
	cmake --preset fuzz && cmake --build --preset fuzz -j $(JOBS)

fuzz-ci: fuzz-build
	fuzz/run --ci --seconds 60 --jobs $(JOBS) $(FUZZ_TARGETS)

fuzz: fuzz-build
	fuzz/run --seconds $(FUZZ_SECONDS) --jobs $(JOBS) $(FUZZ_TARGETS)

asan: setup
	cmake --preset asan && cmake --build build/asan -j $(JOBS)
	cd build/asan && ctest -L unit --output-on-failure -j $(JOBS)

format:
	git ls-files '*.cc' '*.h' | xargs clang-format -i

tidy: configure
	git ls-files 'src/*.cc' | xargs clang-tidy -p $(BUILD_DIR) --quiet

clean:
	rm -rf $(BUILD_DIR)
