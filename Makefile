# Thin wrapper around the two README commands and the benchmarks.
.PHONY: all demo check bench clean

all: demo

# The main job: build the library and run the shipped example.
demo:
	@bash scripts/deps.sh
	@[ -d build ] || meson setup build >/dev/null
	@ninja -C build >/dev/null
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
