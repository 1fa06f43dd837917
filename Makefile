# Thin wrapper around the two README commands and the benchmarks.
.PHONY: all demo check bench clean

all: demo

# The main job: build everything, build the page tables of the shipped
# 64-bit kernel-style layout into an image, and run the library example.
demo:
	@bash scripts/deps.sh
	@[ -d build ] || meson setup build >/dev/null
	@ninja -C build >/dev/null
	@echo "== htable build examples/kernel-4level.spec -o build/kernel-4level.img"
	@./build/tools/htable build examples/kernel-4level.spec -o build/kernel-4level.img
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

clean:
	rm -rf build build-gcc build-clang build-asan build-tsan build-release build-*.log
