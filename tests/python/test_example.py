"""examples/python/dump_tour.py, the README's example, runs on a dump
and says what the dump holds; docs/python.md shows it as it is."""

import os
import re
import sys

from conftest import SRC, run

SCRIPT = os.path.join(SRC, "examples", "python", "dump_tour.py")


def test_dump_tour(kcore):
    r = run([sys.executable, SCRIPT, kcore, "0xffffffff81234567",
             "0x610000", "0x400abc"], preload=True)
    lines = r.stdout.splitlines()
    assert lines[0] == "%s: ELF64 dump, 1 CPU(s)" % kcore
    assert lines[1] == "CPU 0: 4level paging, cr3 0x100000"
    maps = [ln for ln in lines if ln.startswith("  ")]
    assert len(maps) == 52
    assert "  0000000000400000-0000000000400fff -> 0x20000000 -xu" in maps
    assert "  ffff888000000000-ffff88803fffffff -> 0x0 w--" in maps
    assert lines[-3:] == [
        "0xffffffff81234567 -> 0x1234567 (a 2048 KiB page)",
        "0x610000: not mapped (va 0x610000: the level-0 entry is not "
        "present)",
        "0x400abc -> 0x20000abc (a 4 KiB page)"]
    assert r.stderr == ""


def test_usage():
    r = run([sys.executable, SCRIPT], preload=True, check=False)
    assert r.returncode == 2 and r.stderr.startswith("usage: dump_tour.py")


def test_docs_show_the_script():
    doc = open(os.path.join(SRC, "docs", "python.md")).read()
    blocks = re.findall(r"```python\n(.*?)```", doc, re.S)
    assert open(SCRIPT).read() in blocks
