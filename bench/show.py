#!/usr/bin/python3
"""bench/show.py - how fast the page of `htable show` opens.

usage: bench/show.py [HTABLE] [RUNS]     (default build-release/tools/htable, 5)

Builds two layouts with HTABLE: examples/kernel-4level.spec (6 ranges:
the floor, what Chromium costs to load any page of ours) and one with
65,536 ranges and a 1 GiB mapping in 4 KiB pages (262,144 leaves: the
size the issue names); with HTABLE_SHOW_DUMP=FILE also that dump's
--all-roots.  For each it prints the time `htable show` takes to write
the page (best of RUNS), the page's size, and the time from navigation
start to the page drawn and ready (htShow.openMs, measured by the page
itself in Debian's Chromium, headless), min and median of RUNS fresh
loads after one not counted, with its ratio to the floor's.  Figures, not a test: run it on a
quiet machine.
"""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "show"))
import cdp  # noqa: E402 (the path above)
import layouts  # noqa: E402

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def build(htable, spec, img):
    out = subprocess.run([htable, "build", spec, "-o", img], check=True,
                         capture_output=True, text=True).stdout
    last = out.strip().splitlines()[-1]
    return ["--cr3", last.split("cr3=")[1].split()[0], "--mode",
            last.split("mode=")[1].split()[0]]


def main():
    htable = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        TOP, "build-release", "tools", "htable")
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    if cdp.CHROMIUM is None or cdp.websocket is None:
        sys.exit("bench/show.py: needs chromium and python3-websocket "
                 "(scripts/deps.sh --tests installs them)")
    tmp = tempfile.mkdtemp(prefix="htable-bench-show.")
    cases = []
    img = os.path.join(tmp, "k.img")
    cases.append(("kernel-4level (floor)", img, build(
        htable, os.path.join(TOP, "examples", "kernel-4level.spec"), img)))
    spec = os.path.join(tmp, "big.spec")
    layouts.write_big_spec(spec)
    img = os.path.join(tmp, "big.img")
    cases.append(("65,536 ranges, 262,144+65,536 leaves", img,
                  build(htable, spec, img)))
    dump = os.environ.get("HTABLE_SHOW_DUMP")
    if dump:
        cases.append(("%s --all-roots" % os.path.basename(dump), dump,
                      ["--all-roots"]))
    b = cdp.Browser(tmp)
    floor = None
    try:
        print("%-40s %10s %10s %12s %12s %8s" % (
            "page", "show ms", "size KiB", "open ms min", "open ms med",
            "x floor"))
        for name, img, args in cases:
            html = os.path.join(tmp, "p.html")
            best = None
            for _ in range(runs):
                t0 = time.perf_counter()
                subprocess.run([htable, "show", img] + args + ["-o", html],
                               check=True, capture_output=True)
                dt = time.perf_counter() - t0
                best = dt if best is None else min(best, dt)
            opens = []
            # one load first, not counted: Chromium's own warm-up
            b.call("Page.navigate", url="about:blank")
            b.load(html)
            for _ in range(runs):
                b.call("Page.navigate", url="about:blank")
                b.load(html)
                opens.append(b.eval("htShow.openMs"))
            opens.sort()
            med = opens[len(opens) // 2]
            if floor is None:
                floor = med
            print("%-40s %10.1f %10.0f %12.1f %12.1f %8.2f" % (
                name, best * 1000, os.path.getsize(html) / 1024,
                opens[0], med, med / floor))
    finally:
        b.close()
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
