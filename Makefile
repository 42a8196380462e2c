# mmnlab: a thin wrapper over CMake.
#   make        build (build/)
#   make test   build, run every test through CTest; then again under
#               ASan+UBSan (build-asan/), and the threaded tests under TSan
#               (build-tsan/)
#   make demo   build, run the demo
#   make bench  build the benchmarks and run them (docs/BENCHMARKS.md)
#   make kernel-check  record the notifier callbacks of real Debian 6.1 and
#               6.12 kernels under QEMU (TCG) and compare them with the lab
#               (docs/validation.md; needs root and the Debian archive)
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE ?= cmake
CTEST ?= ctest
CTEST_FLAGS ?= --output-on-failure -j$(JOBS)

FUZZ_SECONDS ?= 60

.PHONY: all build test test-plain test-asan test-tsan demo bench fuzz kernel-check clean

all: build

build:
	@$(CMAKE) -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@$(CMAKE) --build build -j$(JOBS)

build-asan:
	@$(CMAKE) -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMMN_SANITIZE=address,undefined >/dev/null
	@$(CMAKE) --build build-asan -j$(JOBS)

build-tsan:
	@$(CMAKE) -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMMN_SANITIZE=thread >/dev/null
	@$(CMAKE) --build build-tsan -j$(JOBS)

test: test-plain test-asan test-tsan

test-plain: build
	cd build && $(CTEST) $(CTEST_FLAGS)

test-asan: build-asan
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 $(CTEST) $(CTEST_FLAGS) -LE catalogue

test-tsan: build-tsan
	cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  $(CTEST) $(CTEST_FLAGS) -L threads

# The scenario parser under libFuzzer (clang), a bounded run from the
# committed corpus; new inputs go to a scratch directory.
fuzz:
	@CC=clang $(CMAKE) -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DMMN_FUZZ=ON \
	  -DMMN_SANITIZE=address,undefined >/dev/null
	@$(CMAKE) --build build-fuzz -j$(JOBS) --target fuzz_scenario
	@mkdir -p build-fuzz/corpus
	ASAN_OPTIONS=detect_leaks=1 ./build-fuzz/fuzz_scenario build-fuzz/corpus \
	  fuzz/corpus/scenario -max_total_time=$(FUZZ_SECONDS) -seed=1 -max_len=4096 \
	  -print_final_stats=1

# The seed catalogue: every case of the 2010 thread, every driver form,
# every era; one line per instance with its verdict and a one-line cause.
DEMO_RUNS ?= 1000
demo: build
	./build/mmnlab run scenarios/seed --runs $(DEMO_RUNS) --jobs $(JOBS) --why --no-time

bench: build
	@if [ -x build/bench/run-bench ]; then ./build/bench/run-bench; \
	 else echo "bench: no benchmarks built yet"; fi

kernel-check:
	bash tools/kernel-check/kernel-check

clean:
	rm -rf build build-asan build-tsan build-fuzz
