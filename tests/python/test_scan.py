"""Scans of images the htable command built: the leaves agree with
`htable dump`, line for line once coalesced as it prints them, and the
translations with `htable translate`; a Python read callback over the
same bytes gives the same leaves; a callback's exception comes back
out of the C call."""

import re

import pytest

import htable
from htable import Attr, ScanStop

from conftest import X86_SPECS, run

PAGE_NAMES = {1 << 12: "4k", 1 << 21: "2m", 1 << 22: "4m", 1 << 30: "1g"}
RANGE_ATTRS = (Attr.G | Attr.A | Attr.D | Attr.PWT | Attr.PCD | Attr.PAT |
               htable.constants.SW_MASK | Attr.SW_BIT9)


def dump_lines(leaves):
    """The leaves as `htable dump --format text` prints them: runs of
    leaves that continue in VA and PA with equal size, effective rights
    and G/A/D/memory type/software bits, one line a run."""
    runs = []
    for lf in leaves:
        if runs:
            first, last = runs[-1]
            if (lf.va == last + 1 and lf.pa == first.pa + (last -
                                                            first.va + 1)
                    and lf.size == first.size and lf.eff == first.eff
                    and lf.attr & RANGE_ATTRS == first.attr & RANGE_ATTRS):
                runs[-1] = (first, lf.last)
                continue
        runs.append((lf, lf.last))
    out = []
    for lf, last in runs:
        e, a = lf.eff, lf.attr
        mt = ((4 if a & Attr.PAT else 0) | (2 if a & Attr.PCD else 0) |
              (1 if a & Attr.PWT else 0))
        line = "%016x-%016x %016x %s r%s%s %s %s%s%s pat%d" % (
            lf.va, last, lf.pa, PAGE_NAMES[lf.size], "w" if e & Attr.W
            else "-", "x" if e & Attr.X else "-", "u" if e & Attr.U
            else "s", "G" if a & Attr.G else "-", "A" if a & Attr.A
            else "-", "D" if a & Attr.D else "-", mt)
        sw = (a & (htable.constants.SW_MASK | Attr.SW_BIT9)) >> 16
        out.append(line + (" sw=0x%x" % sw if sw else ""))
    return out


@pytest.mark.parametrize("name", sorted(X86_SPECS))
def test_leaves_equal_htable_dump(name, built, htable_cmd):
    img, mode, cr3 = built[name]
    ref = run([htable_cmd, "dump", img, "--cr3", hex(cr3), "--mode",
               mode]).stdout.splitlines()
    assert ref
    with htable.Image.open(img) as im:
        view = im.space(cr3, mode)
        leaves = list(view.leaves())
    assert dump_lines(leaves) == ref
    assert view.last_stats.leaves == len(leaves)
    assert view.last_stats.unbacked == 0


STEP = re.compile(r"^\s+L(\d)\s+\S+\s+\[\s*(\d+)\] at 0x([0-9a-f]+): "
                  r"0x([0-9a-f]+)$")


def parse_translate(text):
    """`htable translate` output: va -> (pa or None, page, steps)."""
    out = {}
    cur = None
    for line in text.splitlines():
        m = re.match(r"^va 0x([0-9a-f]+): (?:pa 0x([0-9a-f]+), (\w+) "
                     r"page|not mapped)", line)
        if m:
            cur = int(m.group(1), 16)
            out[cur] = (int(m.group(2), 16) if m.group(2) else None,
                        m.group(3), [])
            continue
        m = STEP.match(line)
        assert m and cur is not None, line
        out[cur][2].append(tuple(int(g, 16) if i > 1 else int(g)
                                 for i, g in enumerate(m.groups())))
    return out


def test_translate_equals_htable_translate(kimg, htable_cmd):
    img, mode, cr3 = kimg
    vas = [0xffffffff81000000, 0xffffffff81234567, 0x400000, 0x401abc,
           0x610000, 0x7fffffffdfff, 0xffff888012345678, 0x12345000]
    out = run([htable_cmd, "translate", img, "--cr3", hex(cr3), "--mode",
               mode] + [hex(v) for v in vas]).stdout
    ref = parse_translate(out)
    assert sorted(ref) == sorted(vas)
    with htable.Image.open(img) as im:
        view = im.space(cr3, mode)
        for va in vas:
            pa, page, steps = ref[va]
            try:
                x = view.translate(va)
            except htable.NotMapped as e:
                assert pa is None, hex(va)
                x = e.translation
                assert x.stop == ScanStop.NOTPRESENT
                assert e.code == htable.Err.ENOTMAPPED
            else:
                assert (x.pa, PAGE_NAMES[x.page_size]) == (pa, page)
                assert view.va2pa(va) == pa
            assert [(s.level, s.index, s.addr, s.pte) for s in x.steps] \
                == steps


def test_python_reader_equals_file(built):
    for name, (img, mode, cr3) in sorted(built.items()):
        data = open(img, "rb").read()
        reads = []

        def read(pa, n):
            reads.append((pa, n))
            return data[pa:pa + n] if pa < len(data) else None

        py = htable.ScannedSpace(read, mode, cr3)
        with htable.Image.open(img) as im:
            c = im.space(cr3, mode)
            assert list(py.leaves()) == list(c.leaves()), name
            assert py.last_stats == c.last_stats
            for lf in list(c.leaves())[::7]:
                assert py.translate(lf.va) == c.translate(lf.va)
                assert py.access(lf.va, "read", 0) == \
                    c.access(lf.va, "read", 0)
        assert reads and all(n > 0 for _, n in reads)


class Boom(Exception):
    pass


def test_raising_reader_reraises(kimg):
    img, mode, cr3 = kimg
    data = open(img, "rb").read()
    state = {"reads": 0, "fail_at": 3}

    def read(pa, n):
        state["reads"] += 1
        if state["reads"] == state["fail_at"]:
            raise Boom(pa)
        return data[pa:pa + n]

    view = htable.ScannedSpace(read, mode, cr3)
    with pytest.raises(Boom) as ei:
        view.leaves()
    assert isinstance(ei.value.args[0], int)
    # the scan stopped there: no read after the one that raised
    assert state["reads"] == 3
    state["fail_at"] = None
    assert len(list(view.leaves())) == 52
    state.update(reads=0, fail_at=2)
    with pytest.raises(Boom):
        view.translate(0x400000)
    assert state["reads"] == 2

    def stop(pa, n):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        htable.ScannedSpace(stop, mode, cr3).access(0x400000, "read", 3)


def test_reader_contract(kimg):
    img, mode, cr3 = kimg
    data = open(img, "rb").read()
    with pytest.raises(TypeError, match="not bytes"):
        htable.ScannedSpace(lambda pa, n: "text", mode, cr3).leaves()
    with pytest.raises(ValueError, match="returned 8192 bytes"):
        htable.ScannedSpace(lambda pa, n: b"\0" * (2 * n), mode,
                            cr3).leaves()
    with pytest.raises(TypeError):
        htable.ScannedSpace(None, mode, cr3)
    # nothing backed: no leaf, the root counted as beyond the image
    view = htable.ScannedSpace(lambda pa, n: None, mode, cr3)
    assert list(view.leaves()) == []
    assert view.last_stats.unbacked == 1
    assert view.last_stats.first_unbacked == cr3
    # short reads are zeros after what was given
    half = htable.ScannedSpace(lambda pa, n: data[pa:pa + n // 2], mode,
                               cr3)
    assert len(list(half.leaves())) < 52
    # bytearray and memoryview are bytes enough
    mv = memoryview(data)
    assert len(list(htable.ScannedSpace(
        lambda pa, n: mv[pa:pa + n], mode, cr3).leaves())) == 52


def test_scan_bounds(kimg):
    img, mode, cr3 = kimg
    with htable.Image.open(img) as im:
        with pytest.raises(htable.OutOfRange):
            im.space(cr3, mode, max_leaves=10).leaves()
        with pytest.raises(htable.InvalidArgument):
            im.space(cr3, mode, pa_bits=20).leaves()
        with pytest.raises(htable.InvalidArgument):
            im.space(cr3, mode, flags=0x80).leaves()
        with pytest.raises(htable.NonCanonical) as ei:
            im.space(cr3, mode).translate(0x0000800000000000)
        assert ei.value.translation.stop == ScanStop.NONCANON
        view = im.space(cr3, mode)
    with pytest.raises(ValueError, match="closed"):
        view.leaves()
