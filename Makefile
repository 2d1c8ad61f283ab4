# The front door. `make demo` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
PRESET ?= release
BUILD_DIR := build
JOBS ?= $(shell nproc)

.PHONY: all setup configure build test test-unit test-integration test-dataplane demo demo-ci cluster cluster-dataplane bench asan tsan test-sanitizers format tidy clean controlplane tools helm image

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

# helm, for the chart's tests (cached like the control plane).
helm: setup
	@scripts/build-helm >/dev/null

# The container image, without Docker: an OCI archive
# build/netpol-ctrl-<version>.oci.tar built with buildah (as root) from the
# release binary and Debian packages (scripts/build-image).
image: setup configure
	cmake --build $(BUILD_DIR) --target netpol-ctrl -j $(JOBS)
	scripts/build-image

# The dataplane's enforcer (kube-router) and CoreDNS, built once per version;
# only where the dataplane can run (scripts/lib/dataplane-check).
tools: setup
	@if scripts/lib/dataplane-check >/dev/null; then \
	  scripts/build-tool enforcer >/dev/null && scripts/build-tool coredns >/dev/null; \
	else echo "tools: not built: the dataplane cannot run here"; fi

# All tests: unit tests, then integration tests against one local control
# plane shared by the run (each test uses namespaces of its own), then the
# dataplane tests against a cluster whose pods run (real packets).
test: build controlplane helm tools
	cd $(BUILD_DIR) && ctest -L unit --output-on-failure -j $(JOBS) --timeout 600
	scripts/with-cluster bash -c 'cd $(BUILD_DIR) && ctest -L integration --output-on-failure --timeout 900'
	@$(MAKE) --no-print-directory test-dataplane

# Real packets (README "Dataplane"): as root, where network namespaces,
# veth pairs and iptables work (scripts/lib/dataplane-check); skipped, saying
# why, elsewhere.
test-dataplane: build controlplane tools
	@if why=$$(scripts/lib/dataplane-check); then \
	  scripts/with-cluster --dataplane bash -c 'cd $(BUILD_DIR) && ctest -L dataplane -E dataplane_teardown --output-on-failure --timeout 1800' && \
	  cd $(BUILD_DIR) && ctest -R dataplane_teardown --output-on-failure; \
	else echo "SKIPPED: the dataplane tests: $$why"; fi

test-unit: build controlplane helm
	cd $(BUILD_DIR) && ctest -L unit --output-on-failure -j $(JOBS)

test-integration: build controlplane helm
	scripts/with-cluster bash -c 'cd $(BUILD_DIR) && ctest -L integration --output-on-failure'

# The main job, interactive: start a local cluster and walk through the demo;
# it waits for Enter before tearing the cluster down.
demo: build controlplane tools
	scripts/demo

# The same demo, non-interactive: exits by itself (CI, scripted checks).
demo-ci: build controlplane tools
	DEMO_NONINTERACTIVE=1 scripts/demo

# A cluster that stays up for interactive use; prints the KUBECONFIG to use.
cluster: controlplane
	scripts/with-cluster --keep

# The same with running pods, kube-proxy, the enforcer and DNS (root).
cluster-dataplane: build controlplane tools
	scripts/with-cluster --dataplane --keep

bench: build controlplane
	mkdir -p $(BUILD_DIR)/bench
	scripts/run-benchmarks $(BUILD_DIR)

# Sanitizer builds (CMake presets asan and tsan, each in build/<preset>):
# `make asan` / `make tsan` build one and run the unit tests;
# `make test-sanitizers` runs both, each with the unit tests and the
# controller, informer, leader-election and fault integration tests (one control
# plane per preset). A sanitizer report fails the test that caused it.
export ASAN_OPTIONS ?= detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS ?= halt_on_error=1:second_deadlock_stack=1:history_size=4:suppressions=$(CURDIR)/cmake/tsan.supp
# A sanitizer build makes only the programs its tests run: the unit tests and
# the integration programs marked SANITIZED in their CMakeLists.txt (label
# `integration-sanitized`: the controller, informer, leader-election and fault tests).
define sanitizer_build
	cmake --preset $(1) && cmake --build build/$(1) -j $(JOBS) --target tests-unit tests-sanitized
endef
define sanitizer_unit
	cd build/$(1) && ctest -L unit --output-on-failure -j $(JOBS) --timeout 1800
endef
define sanitizer_integration
	scripts/with-cluster bash -c 'cd build/$(1) && ctest -L sanitized --no-tests=error --output-on-failure --timeout 900'
endef

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
	$(call sanitizer_build,asan)
	$(call sanitizer_unit,asan)

tsan: setup
	$(call sanitizer_build,tsan)
	$(call sanitizer_unit,tsan)

test-sanitizers: setup controlplane
	$(call sanitizer_build,tsan)
	$(call sanitizer_unit,tsan)
	$(call sanitizer_integration,tsan)
	$(call sanitizer_build,asan)
	$(call sanitizer_unit,asan)
	$(call sanitizer_integration,asan)

format:
	git ls-files '*.cc' '*.h' | xargs clang-format -i

tidy: configure
	git ls-files 'src/*.cc' | xargs clang-tidy -p $(BUILD_DIR) --quiet

clean:
	rm -rf $(BUILD_DIR)
