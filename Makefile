# The front door. `make demo` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
PRESET ?= release
BUILD_DIR := build
JOBS ?= $(shell nproc)

.PHONY: all setup configure build test test-unit test-integration test-dataplane demo demo-ci cluster cluster-dataplane bench asan format tidy clean controlplane tools helm image

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

asan: setup
	cmake --preset asan && cmake --build build/asan -j $(JOBS)
	cd build/asan && ctest -L unit --output-on-failure -j $(JOBS)

format:
	git ls-files '*.cc' '*.h' | xargs clang-format -i

tidy: configure
	git ls-files 'src/*.cc' | xargs clang-tidy -p $(BUILD_DIR) --quiet

clean:
	rm -rf $(BUILD_DIR)
