"""Contexts and spaces of our own: map, unmap, protect, chattr, lock,
translate, va2pa, walk, audit; their lifetimes."""

import gc
import types

import pytest

import htable
from htable import Attr, Err, Mode, PageSize

K4, M2, G1 = 1 << 12, 1 << 21, 1 << 30


@pytest.fixture
def ctx():
    with htable.Context("4level") as c:
        yield c


@pytest.fixture
def space(ctx):
    return ctx.space()


def test_map_translate(space):
    space.map(0x400000, 0x20000000, 5 * K4, Attr.U | Attr.X)
    x = space.translate(0x401abc)
    assert x.pa == 0x20001abc
    assert x.page_size == K4 and x.level == 0
    assert x.attr & (Attr.U | Attr.X) == Attr.U | Attr.X
    assert not x.attr & Attr.W
    # one entry per level, root first, each read where the walk says
    assert len(x.entries) == 4 and len(x.entry_pa) == 4
    assert x.entry_pa[0] == space.root + 8 * ((0x401abc >> 39) & 511)
    assert x.entry_pa[3] & 0xfff == 8 * ((0x401abc >> 12) & 511)
    assert x.entries[3] & 0x000ffffffffff000 == 0x20001000
    assert space.va2pa(0x404fff) == 0x20004fff
    # the walk reports exactly these five leaves
    leaves = list(space.walk())
    assert [(lf.va, lf.pa, lf.size, lf.level) for lf in leaves] == [
        (0x400000 + i * K4, 0x20000000 + i * K4, K4, 0) for i in range(5)]
    assert leaves[1].pte == x.entries[3]
    assert all(lf.eff == Attr.U | Attr.X for lf in leaves)


def test_large_pages(space):
    space.map(0xffff888000000000, 0, 2 * G1, Attr.W | Attr.G)
    space.map(0xffffffff81000000, 0x1000000, 4 * M2, Attr.X | Attr.G)
    x = space.translate(0xffff888012345678)
    assert (x.pa, x.page_size, x.level) == (0x12345678, G1, 2)
    assert x.attr & Attr.G and x.attr & Attr.W
    x = space.translate(0xffffffff81234567)
    assert (x.pa, x.page_size, x.level) == (0x1234567, M2, 1)
    sizes = [lf.size for lf in space.walk()]
    assert sizes == [G1, G1, M2, M2, M2, M2]


def test_unmap_then_not_mapped(space):
    space.map(0x600000, 0x20100000, 0x21000, Attr.U | Attr.W)
    space.unmap(0x610000, K4)
    with pytest.raises(htable.NotMapped) as ei:
        space.translate(0x610123)
    e = ei.value
    assert e.code == Err.ENOTMAPPED == 9
    assert e.name == "HT_ENOTMAPPED"
    assert "0x610123" in str(e)
    # the walk got down to the level-0 entry, which is empty
    assert len(e.translation.entries) == 4
    assert e.translation.entries[3] == 0
    with pytest.raises(htable.NotMapped):
        space.va2pa(0x610000)
    assert space.va2pa(0x611000) == 0x20111000
    assert len(list(space.walk())) == 0x20
    # a hole is no error for unmap
    space.unmap(0x10000000, 16 * K4)


def test_protect_changes_eff(space):
    space.map(0x400000, 0x20000000, 4 * K4, Attr.W | Attr.U | Attr.X)
    assert {lf.eff for lf in space.walk()} == {Attr.W | Attr.U | Attr.X}
    space.protect(0x401000, 2 * K4, Attr.U)
    effs = [lf.eff for lf in space.walk()]
    assert effs == [Attr.W | Attr.U | Attr.X, Attr.U, Attr.U,
                    Attr.W | Attr.U | Attr.X]
    assert not space.translate(0x401000).attr & (Attr.W | Attr.X)
    with pytest.raises(htable.InvalidArgument):
        space.protect(0x400000, K4, Attr.G)


def test_protect_splits_large_page(space):
    space.map(0x200000, 0x400000, M2, Attr.W)
    space.protect(0x201000, K4, 0)
    leaves = list(space.walk())
    assert len(leaves) == 512
    assert leaves[1].eff == 0 and leaves[0].eff == Attr.W
    assert all(lf.size == K4 for lf in leaves)


def test_chattr(space):
    space.map(0x400000, 0x20000000, 2 * K4, Attr.W)
    space.chattr(0x400000, K4, clear=Attr.W, set=Attr.G | Attr.PCD)
    a, b = list(space.walk())
    assert a.attr & (Attr.W | Attr.G | Attr.PCD) == Attr.G | Attr.PCD
    assert b.attr & (Attr.W | Attr.G | Attr.PCD) == Attr.W
    with pytest.raises(htable.InvalidArgument):
        space.chattr(0x400000, K4, clear=Attr.G, set=Attr.G)


def test_lock_noreplace_page_size(space):
    space.map(0x400000, 0x20000000, 2 * K4, Attr.W, lock=True)
    assert space.translate(0x400000).attr & Attr.LOCKED
    with pytest.raises(htable.Locked) as ei:
        space.unmap(0x400000, K4)
    assert ei.value.code == Err.ELOCKED
    with pytest.raises(htable.AlreadyMapped):
        space.map(0x401000, 0x30000000, K4, noreplace=True)
    space.unlock(0x400000, 2 * K4)
    with pytest.raises(htable.NotLocked):
        space.unlock(0x400000, K4)
    space.lock(0x400000, K4)
    space.unmap(0x400000, 2 * K4, unlock=True)
    assert list(space.walk()) == []
    space.map(0x200000, 0x200000, M2, page_size=K4)
    assert len(list(space.walk())) == 512
    space.map(0x200000, 0x200000, M2, page_size=PageSize.PS_2M)
    assert [lf.size for lf in space.walk()] == [M2]
    with pytest.raises(htable.Misaligned):
        space.map(0x201000, 0x200000, M2, page_size=M2)
    with pytest.raises(htable.InvalidArgument):
        space.map(0x200000, 0x200000, M2, page_size=3 << 20)


def test_walk_is_every_leaf_mapped(space):
    """A mix of sizes and holes: the walk gives each leaf once, in
    order, and translate agrees with each of them at both ends."""
    ranges = [(0x1000, 0x9000, 3 * K4), (0x200000, 0x40000000, 3 * M2),
              (0x40000000, 0x80000000, G1),
              (0x7ffffffff000, 0x5000, K4),
              (0xffff800000000000, 0x100000, 17 * K4)]
    for va, pa, n in ranges:
        space.map(va, pa, n, Attr.W)
    leaves = list(space.walk())
    assert [lf.va for lf in leaves] == sorted(lf.va for lf in leaves)
    covered = sum(lf.size for lf in leaves)
    assert covered == sum(n for _, _, n in ranges)
    for lf in leaves:
        for va in (lf.va, lf.last):
            x = space.translate(va)
            assert x.pa == lf.pa + (va - lf.va)
            assert x.page_size == lf.size and x.level == lf.level
    for va, pa, n in ranges:
        inside = [lf for lf in leaves if va <= lf.va < va + n]
        assert inside[0].va == va and inside[0].pa == pa
        assert inside[-1].last == va + n - 1
    # a window: the leaves inside [start, last] only
    win = list(space.walk(0x200000, 0x5fffff))
    assert [lf.va for lf in win] == [0x200000, 0x400000]
    assert space.stats()["leaves"][:3] == (21, 3, 1)


def test_walk_in_chunks(space):
    """More leaves than a chunk, with a chunk ending where the canonical
    hole begins: the walk resumes past the hole, and the iterator never
    holds them all."""
    chunk = htable.space.CHUNK
    low = (chunk - 3) * K4
    space.map(0x800000000000 - low, 0x1000000, low, Attr.W, page_size=K4)
    space.map(0xffff800000000000, 0x90000000, 7 * K4, Attr.W)
    space.map(0x10000000, 0x100000000, (chunk + 3) * K4, Attr.W,
              page_size=K4)
    it = space.walk()
    assert isinstance(it, types.GeneratorType)
    vas = [lf.va for lf in it]
    assert len(vas) == 2 * chunk + 7
    assert vas == sorted(vas) and len(set(vas)) == len(vas)
    assert vas[-7] == 0xffff800000000000
    # a window that ends inside the second chunk
    part = list(space.walk(0x10000000, 0x10000000 + (chunk + 1) * K4 - 1))
    assert len(part) == chunk + 1


def test_walk_arguments_fail_at_the_call(space):
    with pytest.raises(htable.NonCanonical):
        space.walk(0x800000000000)
    with pytest.raises(htable.OutOfRange):
        space.walk(0x2000, 0x1000)
    with pytest.raises(htable.InvalidArgument):
        space.walk(-1)


def test_audit_stats_purge(ctx, space):
    space.map(0x400000, 0x20000000, 64 * K4, Attr.W)
    space.audit()
    st = space.stats()
    assert st["leaves"][0] == 64 and st["tables"][:4] == (1, 1, 1, 1)
    space.unmap(0x400000, 64 * K4)
    assert space.purge() >= 0
    assert ctx.stats()["address_spaces"] == 1


def test_scanned_view_of_own_tables(ctx, space):
    """The tables read back out of the arena through a Python reader
    (ht_scan) give the same leaves as the walk (ht_walk)."""
    space.map(0x400000, 0x20000000, 9 * K4, Attr.U | Attr.X)
    space.map(0xffffffff80000000, 0x1000000, 2 * M2, Attr.G)
    view = space.scanned()
    scanned = list(view.leaves())
    walked = list(space.walk())
    assert [lf[:4] + lf[5:] for lf in scanned] == \
        [lf[:4] + lf[5:] for lf in walked]
    x = view.translate(0x401234)
    assert x.pa == space.va2pa(0x401234) and x.stop == htable.ScanStop.MAPPED


def test_other_modes():
    for mode, va, size in (("32bit", 0xc0000000, 4 << 20),
                           ("pae", 0xc0000000, M2),
                           ("5level", 0xff11000000000000, G1),
                           ("npt4", 0x40000000, G1),
                           ("ept4", 0x40000000, G1)):
        with htable.Context(mode) as c:
            assert c.mode == htable.mode_of(mode)
            assert htable.mode_name(c.mode) == mode
            s = c.space()
            s.map(va, 0x40000000, size, Attr.W | Attr.X)
            x = s.translate(va + 0x1234)
            assert (x.pa, x.page_size) == (0x40001234, size)
            assert len(x.entries) == c.geometry.levels - x.level
            assert [lf.va for lf in s.walk()] == [va]
            assert [lf[:4] for lf in s.scanned()] == \
                [lf[:4] for lf in s.walk()]
    assert htable.geometry("pae").levels == 3
    assert htable.geometry(Mode.LEVEL5).va_bits == 57


def test_no_frame():
    with htable.Context("4level", frame_limit=2) as c:
        s = c.space()
        with pytest.raises(htable.NoFrame) as ei:
            s.map(0x400000, 0, K4)
        assert ei.value.code == Err.ENOFRAME
        assert list(s.walk()) == []
        c.set_frame_limit(0)
        s.map(0x400000, 0, K4)
        assert c.frames_used == 4


def test_lifetimes():
    c = htable.Context("4level")
    s = c.space()
    s.map(0x1000, 0x1000, K4)
    del c
    gc.collect()
    # the space holds its context
    assert s.va2pa(0x1000) == 0x1000
    ctx = s.context
    s2 = ctx.space()
    it = s2.walk()
    ctx.close()
    assert s.closed and s2.closed and ctx.closed
    with pytest.raises(ValueError):
        s.translate(0x1000)
    with pytest.raises(ValueError):
        ctx.space()
    assert list(it) == []   # its one chunk was read at the call
    with pytest.raises(ValueError):
        s2.walk()
    ctx.close()
    s.close()
    with htable.Context() as c2:
        with c2.space() as s3:
            s3.map(0, 0, K4)
        assert s3.closed and not c2.closed
        assert c2.stats()["address_spaces"] == 0
