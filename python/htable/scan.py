"""Tables in someone else's memory: ht_scan, ht_scan_translate and
ht_scan_access over an image or a Python read callback.

Theory of operation.  A ScannedSpace is a root (cr3), a paging mode and
a way to read physical memory; every call builds an ht_scan_cfg_t and
makes one C call, which trusts nothing it reads.  The reader is either
a C function (an Image passes libhtimage's hti_read and its handle, so
the scan reads with no Python call at all) or a Python callable
read(pa, length) -> bytes or None, wrapped once in a ctypes callback:
None, or fewer bytes than asked, means "not backed" (the rest reads as
zeros and the callback answers 1, as ht_phys_read_fn says).

An exception raised inside the callback cannot cross the C frames: the
wrapper keeps it (per thread), answers a negative code that ends the
C call, and the Python call re-raises it as it was, before looking at
the code.  A callback that returns something else than bytes, or more
bytes than asked, raises TypeError or ValueError the same way.

ht_scan has no starting point, so a scan cannot be resumed in chunks as
a walk of our own spaces is: leaves() runs the whole scan first into a
LeafBuffer (48 bytes a leaf, no Python object per leaf) and yields from
it; max_leaves bounds it (OutOfRange past it).
"""

import collections
import ctypes
import threading

from . import _lib
from . import records
from .constants import Err, ScanStop
from .errors import NonCanonical, NotMapped
from ._lib import check, ht, u32, u64
from .space import mode_name, mode_of

# What the read wrapper answers when the callback raised: no library
# code is this large, so it can only be ours.
_RAISED = -0x7f00

ScanStats = collections.namedtuple(
    "ScanStats", "leaves tables unbacked first_unbacked reserved")


class ScannedSpace:
    """The tables under cr3 in paging mode `mode`, read through `read`
    (a callable (pa, length) -> bytes or None).  pa_bits: MAXPHYADDR
    (0: the mode's widest); flags: ScanFlag bits; max_leaves: the most
    leaves a scan may report (0: no bound)."""

    def __init__(self, read, mode, cr3, *, pa_bits=0, flags=0,
                 max_leaves=0):
        if not callable(read):
            raise TypeError("read: a callable (pa, length) -> bytes, "
                            "not %s" % type(read).__name__)
        self._setup(mode, cr3, pa_bits, flags, max_leaves)
        self._py_read = read
        self._c_read = _lib.READ_FN(self._read)
        self._read_arg = None
        self._owner = None

    @classmethod
    def _over(cls, c_read, arg, owner, mode, cr3, pa_bits=0, flags=0,
              max_leaves=0):
        """A view read by the C function c_read(arg, ...), valid while
        owner (which has .closed) is open."""
        self = cls.__new__(cls)
        self._setup(mode, cr3, pa_bits, flags, max_leaves)
        self._py_read = None
        self._c_read = c_read
        self._read_arg = arg
        self._owner = owner
        return self

    def _setup(self, mode, cr3, pa_bits, flags, max_leaves):
        self.mode = mode_of(mode)
        self.cr3 = u64("cr3", cr3)
        self.pa_bits = u32("pa_bits", pa_bits)
        self.flags = u32("flags", flags)
        self.max_leaves = u64("max_leaves", max_leaves)
        self.last_stats = None
        self._pending = threading.local()

    def _read(self, arg, pa, buf, length):
        try:
            data = self._py_read(pa, length)
            if data is None:
                ctypes.memset(buf, 0, length)
                return 1
            if not isinstance(data, (bytes, bytearray, memoryview)):
                raise TypeError("read(0x%x, %d) returned %s, not bytes or "
                                "None" % (pa, length, type(data).__name__))
            data = bytes(data)
            if len(data) > length:
                raise ValueError("read(0x%x, %d) returned %d bytes"
                                 % (pa, length, len(data)))
            ctypes.memmove(buf, data, len(data))
            if len(data) < length:
                ctypes.memset(buf + len(data), 0, length - len(data))
                return 1
            return 0
        except BaseException as e:  # re-raised by _done in the caller
            self._pending.exc = e
            return _RAISED

    def _cfg(self):
        if self._owner is not None and self._owner.closed:
            raise ValueError("the image of this view is closed")
        self._pending.exc = None
        c = _lib.ScanCfg_t()
        c.mode = self.mode
        c.cr3 = self.cr3
        c.pa_bits = self.pa_bits
        c.flags = self.flags
        c.max_leaves = self.max_leaves
        c.read = self._c_read
        c.read_arg = self._read_arg
        return c

    def _done(self, rc, failed=()):
        """Raise what a callback raised, then the code's error."""
        exc = getattr(self._pending, "exc", None)
        self._pending.exc = None
        if exc is not None:
            raise exc
        if failed:
            raise failed[0]
        return check(rc)

    def leaves(self):
        """An iterator of every Leaf the tables map, ascending VA (the
        scan runs at the call: errors raise here)."""
        cfg = self._cfg()
        buf = records.LeafBuffer()
        failed = []

        def take(arg, leaf):
            try:
                buf.add(leaf)
                return 0
            except BaseException as e:  # re-raised by _done
                failed.append(e)
                return 1

        st = _lib.ScanStats_t()
        rc = ht.ht_scan(ctypes.byref(cfg), _lib.WALK_FN(take), None,
                        ctypes.byref(st))
        self.last_stats = ScanStats(st.leaves, st.tables, st.unbacked,
                                    st.first_unbacked, st.reserved)
        self._done(rc, failed)
        return iter(buf)

    walk = leaves

    def picture(self, name=""):
        """The data of a picture of these tables (ht_scan_picture): one
        JSON object as a str, which `htable show --data FILE` makes a
        page of."""
        cfg = self._cfg()
        fn, parts = _lib.picture_writer()
        rc = ht.ht_scan_picture(ctypes.byref(cfg), name.encode(), fn, None)
        self._done(rc)
        return b"".join(parts).decode("ascii")

    def __iter__(self):
        return self.leaves()

    def translate(self, va):
        """Translate va through the tables: a ScanTranslation, or
        NotMapped / NonCanonical carrying it in .translation."""
        cfg = self._cfg()
        x = _lib.ScanXlate_t()
        va = u64("va", va)
        self._done(ht.ht_scan_translate(ctypes.byref(cfg), va,
                                        ctypes.byref(x)))
        t = records.scan_translation_of(x)
        if t.stop == ScanStop.MAPPED:
            return t
        if t.stop == ScanStop.NONCANON:
            e = NonCanonical(Err.ENONCANON, "va 0x%x is not canonical in "
                             "%s paging" % (va, mode_name(self.mode)))
        else:
            last = t.steps[-1] if t.steps else None
            why = ("is not present" if t.stop == ScanStop.NOTPRESENT
                   else "has reserved bits set")
            e = NotMapped(Err.ENOTMAPPED, "va 0x%x: the level-%s entry %s"
                          % (va, last.level if last else "?", why))
        e.translation = t
        raise e

    def va2pa(self, va):
        """The physical address of va; errors as translate."""
        return self.translate(va).pa

    def access(self, va, acc="read", cpl=0, cpu=None):
        """Decide one access as the MMU does (ht_scan_access): an
        AccessResult.  cpu: a Cpu (default Cpu.default(mode))."""
        cfg = self._cfg()
        cpu = cpu if cpu is not None else records.Cpu.default(self.mode)
        c = cpu.to_c()
        r = _lib.Access_t()
        self._done(ht.ht_scan_access(ctypes.byref(cfg), ctypes.byref(c),
                                     u64("va", va), records.acc_of(acc),
                                     u32("cpl", cpl), ctypes.byref(r)))
        return records.access_of(r)

    def __repr__(self):
        return "<htable.ScannedSpace %s cr3=0x%x>" % (mode_name(self.mode),
                                                      self.cr3)
