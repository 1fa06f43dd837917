# Thin wrapper around the two README commands and the benchmarks.
.PHONY: all demo check bench model-long fuzz-long clean

all: demo

# The main job: build everything, build the page tables of the shipped
# 64-bit kernel-style layout into an image, dump and translate them, check
# them on a real MMU (skipped when the machine has neither KVM nor QEMU),
# and run the library example.
demo:
	@bash scripts/deps.sh
	@[ -d build ] || meson setup build >/dev/null
	@ninja -C build >/dev/null
	@echo "== htable build examples/kernel-4level.spec -o build/kernel-4level.img"
	@./build/tools/htable build examples/kernel-4level.spec -o build/kernel-4level.img | tee build/kernel-4level.sum
	@cr3=$$(tail -n 1 build/kernel-4level.sum | sed 's/.*cr3=//'); \
	echo "== htable dump build/kernel-4level.img --cr3 $$cr3 --mode 4level"; \
	./build/tools/htable dump build/kernel-4level.img --cr3 $$cr3 --mode 4level && \
	echo "== htable dump ... --format qemu-mem   (QEMU's 'info mem', byte for byte)" && \
	./build/tools/htable dump build/kernel-4level.img --cr3 $$cr3 --mode 4level --format qemu-mem && \
	echo "== htable translate build/kernel-4level.img --cr3 $$cr3 --mode 4level 0x400123 0xffffffff80001000" && \
	./build/tools/htable translate build/kernel-4level.img --cr3 $$cr3 --mode 4level 0x400123 0xffffffff80001000 && \
	echo "== htable verify build/kernel-4level.img --cr3 $$cr3 --mode 4level   (on a real MMU: KVM, else QEMU)" && \
	{ ./build/tools/htable verify build/kernel-4level.img --cr3 $$cr3 --mode 4level; rc=$$?; \
	  [ $$rc -eq 0 ] || [ $$rc -eq 4 ]; }
	@echo "== examples/quickstart.c (the library API)"
	@./build/examples/quickstart

# Every test: gcc and clang, ASan+UBSan, TSan; last line "N passed, N failed".
check:
	@bash scripts/check.sh

# Benchmarks (release build, never part of check).
bench:
	@bash scripts/deps.sh
	@[ -d build-release ] || meson setup -Dbuildtype=release -Ddebug_checks=false -Dtests=false build-release >/dev/null
	@ninja -C build-release bench/bench_htable >/dev/null
	@./build-release/bench/bench_htable

# The model test at 10^6 operations per mode (OPS=, HT_SEED=, AUDIT_EVERY=,
# JOBS=), release build with the debug checks on; never part of check.
model-long:
	@bash scripts/model-long.sh

# The libFuzzer targets at 10^7 executions each (TARGETS=, RUNS=, JOBS=,
# WORK=), clang with ASan; never part of check.
fuzz-long:
	@bash scripts/fuzz-long.sh

clean:
	rm -rf build build-gcc build-clang build-asan build-tsan build-release build-long build-*.log
