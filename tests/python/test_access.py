"""The access checker (ht_access, ht_scan_access): which accesses
complete, and the fault and error-code bits of those that do not."""

import pytest

import htable
from htable import Acc, Attr, Cpu, CpuFlag, EPTQ, Fault, PF

K4 = 1 << 12
USER_RWX, USER_RO, KERNEL, USER_NX = 0x400000, 0x500000, 0x600000, 0x700000


@pytest.fixture
def space():
    with htable.Context("4level") as c:
        s = c.space()
        s.map(USER_RWX, 0x20000000, K4, Attr.U | Attr.W | Attr.X)
        s.map(USER_RO, 0x20100000, K4, Attr.U | Attr.X)
        s.map(KERNEL, 0x20200000, K4, Attr.W | Attr.X)
        s.map(USER_NX, 0x20300000, K4, Attr.U | Attr.W)
        yield s


def test_completes(space):
    r = space.access(USER_RWX + 0x123, "read", 3)
    assert r.ok and r.fault == Fault.NONE
    assert (r.pa, r.page_size) == (0x20000123, K4)
    assert len(r.steps) == 4 and r.steps[0].level == 3
    assert r.set_a == 0b1111 and not r.set_d
    w = space.access(USER_RWX, Acc.WRITE, 3)
    assert w.ok and w.set_d
    # what ht_translate read, the checker read too
    x = space.translate(USER_RWX)
    assert [s.pte for s in r.steps] == list(x.entries)
    assert [s.addr for s in r.steps] == list(x.entry_pa)


@pytest.mark.parametrize("va,acc,cpl,cpu,code", [
    # U/S: a user access to a supervisor page
    (KERNEL, "read", 3, None, PF.P | PF.U),
    # R/W: a user write to a read-only page; supervisor with CR0.WP
    (USER_RO, "write", 3, None, PF.P | PF.W | PF.U),
    (USER_RO, "write", 0, None, PF.P | PF.W),
    # NX with EFER.NXE: a fetch
    (USER_NX, "fetch", 3, None, PF.P | PF.I | PF.U),
    # not present: no P
    (0x900000, "read", 0, None, PF(0)),
    (0x900000, "write", 3, None, PF.W | PF.U),
    # SMEP: a supervisor fetch from a user page
    (USER_RWX, "fetch", 0, Cpu(CpuFlag.WP | CpuFlag.NXE | CpuFlag.SMEP),
     PF.P | PF.I),
    # SMAP without AC: a supervisor read of a user page
    (USER_RWX, "read", 0, Cpu(CpuFlag.WP | CpuFlag.NXE | CpuFlag.SMAP),
     PF.P),
])
def test_page_faults(space, va, acc, cpl, cpu, code):
    r = space.access(va, acc, cpl, cpu)
    assert r.fault == Fault.PF and not r.ok
    assert r.error_code == code
    assert isinstance(r.error_code, PF)


def test_cpu_flags_lift_faults(space):
    # CR0.WP off: the supervisor writes to a read-only page
    assert space.access(USER_RO, "write", 0, Cpu(CpuFlag.NXE)).ok
    # EFLAGS.AC lifts SMAP
    smap_ac = Cpu(CpuFlag.WP | CpuFlag.NXE | CpuFlag.SMAP | CpuFlag.AC)
    assert space.access(USER_RWX, "read", 0, smap_ac).ok
    # without EFER.NXE bit 63 is reserved: the NX page faults RSVD
    r = space.access(USER_NX, "read", 3, Cpu(CpuFlag.WP))
    assert r.fault == Fault.PF and r.error_code & PF.RSVD


def test_non_canonical_is_gp(space):
    r = space.access(0x0000800000000000, "read", 3)
    assert r.fault == Fault.GP and r.error_code == 0


def test_bad_arguments(space):
    with pytest.raises(htable.InvalidArgument):
        space.access(USER_RWX, "read", 4)
    with pytest.raises(htable.InvalidArgument):
        space.access(USER_RWX, 7, 0)
    with pytest.raises(ValueError):
        space.access(USER_RWX, "jump", 0)
    with pytest.raises(htable.InvalidArgument) as ei:
        space.access(USER_RWX, "read", 0, Cpu(0x8000))
    assert ei.value.code == htable.Err.EINVAL and ei.value.detail
    with pytest.raises(htable.InvalidArgument):
        space.access(USER_RWX, "read", 0, Cpu(pa_bits=60))


def test_ept_violation():
    with htable.Context("ept4") as c:
        s = c.space()
        s.map(0x40000000, 0x1000000, K4, Attr.X)    # read + execute
        r = s.access(0x40000000, "write", 0)
        assert r.fault == Fault.EPT_VIOLATION
        assert r.error_code == EPTQ.WRITE | EPTQ.R | EPTQ.X
        r = s.access(0x50000000, "read", 0)
        assert r.fault == Fault.EPT_VIOLATION
        assert r.error_code == EPTQ.READ
        assert s.access(0x40000fff, "fetch", 0).ok


def test_scanned_access(kimg):
    """ht_scan_access on the command's image: its user text is r-x."""
    img, mode, cr3 = kimg
    with htable.Image.open(img) as im:
        view = im.space(cr3, mode)
        assert view.access(0x400000, "read", 3).pa == 0x20000000
        r = view.access(0x400000, "write", 3)
        assert (r.fault, r.error_code) == (Fault.PF, PF.P | PF.W | PF.U)
        r = view.access(0xffffffff81000000, "read", 3)
        assert (r.fault, r.error_code) == (Fault.PF, PF.P | PF.U)
        r = view.access(0x610000, "read", 3)
        assert (r.fault, r.error_code) == (Fault.PF, PF.U)
