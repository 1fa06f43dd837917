"""What the calls give back: immutable records built from C structs.

Theory of operation: every C answer is copied out of its ctypes struct
into a named tuple at once, so nothing the caller keeps points into C
memory.  Leaves come in bulk (a walk's chunk, a scan's run) as raw
ht_leaf_t bytes; LeafBuffer unpacks them one at a time with a struct
format whose offsets are checked against the ctypes struct at import,
so an iterator holds 48 bytes a leaf, not a Python object.
"""

import collections
import ctypes
import struct

from . import _lib
from .constants import Acc, Attr, CpuFlag, Fault, Mode, PF, ScanStop


class Leaf(collections.namedtuple(
        "Leaf", "va pa size level attr eff pte")):
    """One leaf mapping (ht_leaf_t): [va, va + size) maps [pa, ...);
    level 0 is a 4 KiB page; attr the leaf's own attributes, eff the
    effective W/U/X over the walk; pte the entry's value."""
    __slots__ = ()

    @property
    def last(self):
        """The last VA the leaf maps."""
        return self.va + self.size - 1


Step = collections.namedtuple("Step", "addr pte level index unbacked")
Step.__doc__ = """An entry a walk read: its physical address, value,
level (0 = 4 KiB entries), index in its table, and whether it lay
beyond the image (read as zero)."""

Translation = collections.namedtuple(
    "Translation", "va pa page_size level attr entries entry_pa")
Translation.__doc__ = """ht_translate's answer: pa of va itself; attr
the effective attributes; entries and entry_pa the entries read, root
first, and where each was read."""

ScanTranslation = collections.namedtuple(
    "ScanTranslation", "va stop pa page_size level attr eff steps")
ScanTranslation.__doc__ = """ht_scan_translate's answer: stop says why
the walk ended (ScanStop.MAPPED: pa, page_size, level, attr, eff hold);
steps the entries read, root first."""


class AccessResult(collections.namedtuple(
        "AccessResult",
        "fault error_code pa page_size steps set_a set_d")):
    """ht_access's answer: fault (Fault.NONE when the access completes,
    at pa); error_code the PF bits of a #PF (or the EPT qualification);
    steps the entries read; set_a the levels whose A bit the MMU sets,
    set_d whether it sets D."""
    __slots__ = ()

    @property
    def ok(self):
        return self.fault == Fault.NONE


Geometry = collections.namedtuple(
    "Geometry", "mode levels pte_size ptes_per_table top_level_count "
    "level_shift va_bits pa_bits_max pagesizes has_nx hole_start hole_end "
    "link_mask root_mask ps_bit")


class Cpu(collections.namedtuple("Cpu", "flags pkru pa_bits")):
    """The CPU an access runs on (ht_cpu_t): CpuFlag bits, PKRU (with
    CpuFlag.PKE) and MAXPHYADDR (0: the mode's widest)."""
    __slots__ = ()

    def __new__(cls, flags=0, pkru=0, pa_bits=0):
        return super().__new__(cls, CpuFlag(flags), pkru, pa_bits)

    @classmethod
    def default(cls, mode):
        """A present-day CPU: CR0.WP and EFER.NXE on, no SMEP, SMAP or
        PKE; in EPT no flag (EPT reads none of those)."""
        if Mode(mode) in (Mode.EPT4, Mode.EPT5):
            return cls()
        return cls(CpuFlag.WP | CpuFlag.NXE)

    def to_c(self):
        return _lib.Cpu_t(_lib.u32("cpu.flags", self.flags),
                          _lib.u32("cpu.pkru", self.pkru),
                          _lib.u32("cpu.pa_bits", self.pa_bits))


_ATTRS = {}


def _attr(v):
    """Attr(v), from a cache: a walk meets few distinct values, and an
    IntFlag costs microseconds to make (bounded: images are hostile)."""
    a = _ATTRS.get(v)
    if a is None:
        a = Attr(v)
        if len(_ATTRS) < 4096:
            _ATTRS[v] = a
    return a


def leaf_of(c):
    """A Leaf from an ht_leaf_t."""
    return Leaf(c.va, c.pa, c.size, c.level, _attr(c.attr), _attr(c.eff),
                c.pte)


def steps_of(arr, n):
    return tuple(Step(s.addr, s.pte, s.level, s.index, bool(s.unbacked))
                 for s in arr[:n])


def translation_of(x):
    n = x.nlevels
    return Translation(x.va, x.pa, x.page_size, x.level, _attr(x.attr),
                       tuple(x.entries[:n]), tuple(x.entry_pa[:n]))


def scan_translation_of(x):
    return ScanTranslation(x.va, ScanStop(x.stop), x.pa, x.page_size,
                           x.level, _attr(x.attr), _attr(x.eff),
                           steps_of(x.step, x.nsteps))


def access_of(a):
    fault = Fault(a.fault)
    code = a.error_code
    if fault in (Fault.PF, Fault.NPF):
        code = PF(code)
    return AccessResult(fault, code, a.pa, a.page_size,
                        steps_of(a.step, a.nsteps), a.set_a, bool(a.set_d))


def geometry_of(g):
    return Geometry(Mode(g.mode), g.levels, g.pte_size, g.ptes_per_table,
                    g.top_level_count, tuple(g.level_shift[:g.levels]),
                    g.va_bits, g.pa_bits_max, g.pagesizes, bool(g.has_nx),
                    g.hole_start, g.hole_end, g.link_mask, g.root_mask,
                    g.ps_bit)


def acc_of(acc):
    """An access kind from Acc, its value or its name ("write")."""
    if isinstance(acc, str):
        try:
            return Acc[acc.upper()]
        except KeyError:
            raise ValueError("access %r: not read, write or fetch" % acc)
    acc = _lib.u32("acc", acc)
    try:
        return Acc(acc)
    except ValueError:
        return acc      # the library refuses it, with its detail


# ht_leaf_t as bytes: the ctypes struct's own offsets, checked here
_F = _lib.Leaf_t
LEAF_SIZE = ctypes.sizeof(_F)
_LEAF = struct.Struct("=QQQIII%dxQ" % (_F.pte.offset - _F.eff.offset - 4))
assert _LEAF.size == LEAF_SIZE, "ht_leaf_t layout"
assert (_F.level.offset, _F.attr.offset, _F.eff.offset) == (24, 28, 32)


class LeafBuffer:
    """ht_leaf_t records appended as bytes; iterates as Leaf tuples."""

    __slots__ = ("data",)

    def __init__(self):
        self.data = bytearray()

    def add(self, ptr):
        self.data += ctypes.string_at(ptr, LEAF_SIZE)

    def __len__(self):
        return len(self.data) // LEAF_SIZE

    def last(self):
        return Leaf(*_LEAF.unpack_from(self.data, len(self.data) -
                                       LEAF_SIZE))

    def __iter__(self):
        # the bytearray itself: it no longer grows once iterated
        get = _ATTRS.get
        for va, pa, size, level, attr, eff, pte in _LEAF.iter_unpack(
                self.data):
            yield Leaf(va, pa, size, level, get(attr) or _attr(attr),
                       get(eff) or _attr(eff), pte)
