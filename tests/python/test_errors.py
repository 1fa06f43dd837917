"""Bad input raises an HtableError (or TypeError/OSError) with the
library's code, name and detail; never a crash, never a wrapped value."""

import pytest

import htable
from htable import Attr, Err, PageSize

K4 = 1 << 12


@pytest.fixture
def space():
    with htable.Context("4level") as c:
        yield c.space()


def test_bad_modes():
    with pytest.raises(htable.InvalidArgument) as ei:
        htable.Context("6level")
    e = ei.value
    assert (e.code, e.name) == (Err.EINVAL, "HT_EINVAL")
    assert "6level" in e.detail and "4level" in e.detail
    assert isinstance(e, ValueError) and isinstance(e, htable.HtableError)
    with pytest.raises(htable.InvalidArgument):
        htable.Context(99)
    with pytest.raises(htable.InvalidArgument):
        htable.geometry("sideways")
    with pytest.raises(htable.InvalidArgument):
        htable.ScannedSpace(lambda pa, n: None, "bogus", 0)


def test_bad_configs():
    # the library names the field
    with pytest.raises(htable.InvalidArgument, match="pa_bits") as ei:
        htable.Context("4level", pa_bits=70)
    assert ei.value.code == Err.EINVAL
    with pytest.raises(htable.PageSizeError) as ei:
        htable.Context("pae", pagesizes=PageSize.PS_4K | PageSize.PS_1G)
    assert ei.value.code == Err.EPAGESIZE
    with pytest.raises(htable.Misaligned):
        htable.Context("4level", pools=[(0x100800, 0x10000)])
    with pytest.raises(htable.Misaligned):
        htable.Context("4level", arena_size=12345)
    with pytest.raises(htable.InvalidArgument):
        htable.Context("4level", pools=[(0, 4096)] * 9)
    with pytest.raises(htable.InvalidArgument):
        htable.Context("4level", hash_buckets=3)


def test_bad_addresses(space):
    with pytest.raises(htable.Misaligned) as ei:
        space.map(0x1001, 0, K4)
    assert ei.value.code == Err.EALIGN and "0x1001" in ei.value.detail
    assert str(ei.value).startswith("HT_EALIGN: ")
    with pytest.raises(htable.Misaligned):
        space.unmap(0x1000, 0x800)
    with pytest.raises(htable.NonCanonical) as ei:
        space.map(0x0000800000000000, 0, K4)
    assert ei.value.code == Err.ENONCANON
    with pytest.raises(htable.NonCanonical):
        space.translate(0x0000900000000000)
    with pytest.raises(htable.PaBitsError):
        space.map(0x1000, 1 << 60, K4)
    with pytest.raises(htable.InvalidArgument):
        space.map(0x1000, 0, 0)
    with pytest.raises(htable.InvalidArgument):
        space.map(0x1000, 0, K4, 1 << 30)     # an unknown attribute
    with pytest.raises(htable.OutOfRange):
        space.map(0xfffffffffffff000, 0, 2 * K4)
    with htable.Context("32bit") as c:
        with pytest.raises(htable.OutOfRange):
            c.space().translate(1 << 32)


def test_nullish_arguments(space):
    # numbers that do not fit, or are no numbers: refused before C
    for bad in (-1, 1 << 64):
        with pytest.raises(htable.InvalidArgument, match="0..2"):
            space.map(bad, 0, K4)
    with pytest.raises(htable.InvalidArgument):
        space.map(0, 0, K4, -1)
    with pytest.raises(TypeError):
        space.map(None, 0, K4)
    with pytest.raises(TypeError):
        space.translate("0x1000")
    with pytest.raises(TypeError):
        space.translate(1.5)
    with pytest.raises(htable.InvalidArgument, match="not a paging mode"):
        htable.Context(None)


def test_detail_is_never_stale(space):
    with pytest.raises(htable.Misaligned):
        space.map(0x1001, 0, K4)
    # ht_translate sets no detail for "not mapped": ours, not the
    # misalignment's above
    with pytest.raises(htable.NotMapped) as ei:
        space.translate(0x5000)
    assert "0x5000" in ei.value.detail and "align" not in ei.value.detail
    with pytest.raises(htable.NotMapped) as ei:
        space.va2pa(0x6000)
    assert "0x6000" in ei.value.detail


def test_error_objects():
    e = htable.HtableError(Err.EBUSY)
    assert (e.code, e.name, e.detail) == (Err.EBUSY, "HT_EBUSY", "")
    assert str(e) == "HT_EBUSY: object is in use"
    assert isinstance(htable.errors.error_for(9), htable.NotMapped)
    assert isinstance(htable.errors.error_for(9), LookupError)
    unknown = htable.errors.error_for(1000, "odd")
    assert type(unknown) is htable.HtableError and unknown.code == 1000
    assert unknown.name == "HT_UNKNOWN"
    with pytest.raises(htable.HtableError):
        raise htable.Corrupt(Err.ECORRUPT, "x")


def test_attributes_in_ept():
    with htable.Context("ept4") as c:
        s = c.space()
        with pytest.raises(htable.InvalidArgument) as ei:
            s.map(0, 0, K4, Attr.W | Attr.NOREAD)
        assert "write without read" in ei.value.detail
        with pytest.raises(htable.InvalidArgument):
            s.eptp(memtype=3)
    with htable.Context("4level") as c:
        with pytest.raises(htable.InvalidArgument):
            c.space().eptp()
