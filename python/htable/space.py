"""Contexts and address spaces of our own: ht_ctx_t and ht_as_t.

Theory of operation.  A Context is one ht_ctx_t with its own frame
provider, an arena (ht_arena_*: host memory standing for physical
memory [arena_base, arena_base + arena_size)), made together and
destroyed together.  A Space is one ht_as_t of a context.  Ownership
follows the C rules: a space must go before its context, a context
before its arena.  So a Space holds its Context (the context cannot be
collected while a space of it lives), and the Context knows its live
spaces weakly: Context.close() closes each of them first, and a call on
a closed object raises ValueError instead of touching freed memory.

Every call maps one C call; a negative answer raises the HtableError
subclass of its code (errors.py) with the library's detail.  Integer
arguments are checked to fit their C type first (ctypes would wrap a
negative one silently).

Walks are chunked: ht_walk runs over [start, last] until CHUNK leaves
were copied (as raw ht_leaf_t bytes), then stops; the iterator yields
them and resumes the walk after the last leaf's end (past the canonical
hole if it lands in it).  So a walk of a large space holds one chunk at
a time, and the time stays linear.  A change of the space between
chunks shows in the later chunks, as a walk racing with it would.

States: open -> closed (close(), the context's close(), or garbage
collection); close() is idempotent.  Not for two threads at once on one
object while it is being closed; other calls follow the C library's
thread rules (htable.h, "Threads").
"""

import ctypes
import threading
import weakref

from . import _lib
from . import records
from .constants import Attr, EptType, Err, MapFlag, Mode, PageSize
from .constants import UnmapFlag, map_size
from .errors import InvalidArgument, NotMapped, error_for
from ._lib import check, ht, u32, u64

CHUNK = 4096
_PAGE_SIZES = {1 << 12: PageSize.PS_4K, 1 << 21: PageSize.PS_2M,
               1 << 22: PageSize.PS_4M, 1 << 30: PageSize.PS_1G}


def mode_of(mode):
    """A Mode from a Mode, its number, or its name ("4level")."""
    if isinstance(mode, str):
        m = ctypes.c_int()
        if ht.ht_mode_parse(mode.encode(), ctypes.byref(m)) != 0:
            raise InvalidArgument(Err.EINVAL, "mode %r: not one of %s" % (
                mode, ", ".join(mode_name(x) for x in Mode)))
        return Mode(m.value)
    try:
        return Mode(mode)
    except ValueError:
        raise InvalidArgument(Err.EINVAL, "mode %r: not a paging mode"
                              % (mode,)) from None


def mode_name(mode):
    """The library's name of a mode ("32bit", "pae", "4level", ...)."""
    return _lib._s(ht.ht_mode_name(mode_of(mode)))


def geometry(mode):
    """The Geometry of a paging mode (ht_geometry)."""
    return records.geometry_of(ht.ht_geometry(mode_of(mode)).contents)


def _stats(st):
    out = {}
    for name, _ in _lib.Stats_t._fields_:
        v = getattr(st, name)
        out[name] = tuple(v) if name in ("tables", "leaves") else v
    return out


class Context(_lib.Closeable):
    """A machine: a paging mode, an arena of physical memory for the
    tables, and the address spaces made in it (ht_config_t's fields are
    keyword arguments; 0 means the library's default)."""

    def __init__(self, mode=Mode.LEVEL4, *, arena_base=0x100000,
                 arena_size=64 << 20, frame_limit=0, pools=(), pagesizes=0,
                 pa_bits=0, no_nx=False, ept=0, rmap=False, kpti=False,
                 reserve_amount=0, steal_passes=0, throttle=0,
                 force_steal=0, hash_buckets=0):
        self._ctx = None
        self._arena = None
        self._spaces = weakref.WeakSet()
        self._lock = threading.Lock()
        self.mode = mode_of(mode)
        if len(pools) > 8:
            raise InvalidArgument(Err.EINVAL, "%d pools: at most 8"
                                  % len(pools))
        arena = ctypes.c_void_p()
        check(ht.ht_arena_create(u64("arena_base", arena_base),
                                 u64("arena_size", arena_size),
                                 u64("frame_limit", frame_limit),
                                 ctypes.byref(arena)))
        self._arena = arena
        try:
            cfg = _lib.Config_t()
            cfg.mode = self.mode
            cfg.pagesizes = u32("pagesizes", pagesizes)
            cfg.pa_bits = u32("pa_bits", pa_bits)
            cfg.no_nx = 1 if no_nx else 0
            cfg.ept = u32("ept", ept)
            cfg.frame_ops = ht.ht_arena_ops()
            cfg.frame_arg = arena
            for i, (base, length) in enumerate(pools):
                cfg.pools[i].base = u64("pools[%d].base" % i, base)
                cfg.pools[i].len = u64("pools[%d].len" % i, length)
            cfg.npools = len(pools)
            cfg.rmap = 1 if rmap else 0
            cfg.kpti = 1 if kpti else 0
            cfg.reserve_amount = u32("reserve_amount", reserve_amount)
            cfg.steal_passes = u32("steal_passes", steal_passes)
            cfg.throttle = u64("throttle", throttle)
            cfg.force_steal = u32("force_steal", force_steal)
            cfg.hash_buckets = u32("hash_buckets", hash_buckets)
            ctx = ctypes.c_void_p()
            check(ht.ht_ctx_create(ctypes.byref(cfg), ctypes.byref(ctx)))
            self._ctx = ctx
        except BaseException:
            ht.ht_arena_destroy(arena)
            self._arena = None
            raise
        self.geometry = geometry(self.mode)

    def _h(self):
        if self._ctx is None:
            raise ValueError("the context is closed")
        return self._ctx

    @property
    def closed(self):
        return self._ctx is None

    @property
    def pagesizes(self):
        """The page sizes in force (PageSize bits)."""
        return PageSize(ht.ht_ctx_pagesizes(self._h()))

    @property
    def pa_bits(self):
        """The physical width in force (MAXPHYADDR)."""
        return ht.ht_ctx_pa_bits(self._h())

    @property
    def swbits(self):
        """The HT_SW bits the mode has, as sw() numbers' mask."""
        return ht.ht_ctx_swbits(self._h())

    @property
    def arena_base(self):
        self._h()
        return ht.ht_arena_base(self._arena)

    @property
    def arena_size(self):
        self._h()
        return ht.ht_arena_size(self._arena)

    @property
    def frames_used(self):
        """Frames the arena has handed out."""
        self._h()
        return ht.ht_arena_frames_used(self._arena)

    def set_frame_limit(self, frames):
        """Cap the frames handed out at once (0: none)."""
        self._h()
        ht.ht_arena_set_limit(self._arena, u64("frames", frames))

    def read(self, pa, length):
        """The bytes of physical memory [pa, pa + length) that the arena
        holds: all of them, a shorter prefix where the arena ends, or
        None where it does not hold pa (a read function for a
        ScannedSpace over the context's own tables)."""
        self._h()
        pa = u64("pa", pa)
        base = ht.ht_arena_base(self._arena)
        end = base + ht.ht_arena_size(self._arena)
        p = ht.ht_arena_ptr(self._arena, pa)
        if p is None or not base <= pa < end:
            return None
        return ctypes.string_at(p, min(int(length), end - pa))

    def stats(self):
        """The context's counters (ht_ctx_stats) as a dict."""
        st = _lib.Stats_t()
        ht.ht_ctx_stats(self._h(), ctypes.byref(st))
        return _stats(st)

    def reap(self):
        """Give back idle cached tables; the number of frames freed."""
        return ht.ht_ctx_reap(self._h())

    def space(self, flags=0):
        """A new, empty address space (ht_as_create; AsFlag bits)."""
        return Space(self, flags)

    def close(self):
        """Close every space of the context, then the context and its
        arena.  Idempotent."""
        with self._lock:
            for s in list(self._spaces):
                s.close()
            if self._ctx is not None:
                rc = ht.ht_ctx_destroy(self._ctx)
                if rc != 0:
                    raise error_for(-rc, _lib.detail())
                self._ctx = None
            if self._arena is not None:
                ht.ht_arena_destroy(self._arena)
                self._arena = None

    def __repr__(self):
        return "<htable.Context %s%s>" % (
            mode_name(self.mode), " closed" if self.closed else "")


class Space(_lib.Closeable):
    """An address space of a Context (ht_as_t).  Make it with
    Context.space(); it keeps its context alive."""

    def __init__(self, context, flags=0):
        self.context = context
        self._as = None
        h = ctypes.c_void_p()
        check(ht.ht_as_create(context._h(), u32("flags", flags),
                              ctypes.byref(h)))
        self._as = h
        context._spaces.add(self)

    def _h(self):
        if self._as is None or self.context._ctx is None:
            raise ValueError("the address space is closed")
        return self._as

    @property
    def closed(self):
        return self._as is None

    @property
    def root(self):
        """The value for CR3: the root table's physical address."""
        return ht.ht_as_root(self._h())

    def eptp(self, memtype=EptType.WB):
        """EPT modes: the EPT pointer a VMCS needs (ht_as_eptp)."""
        r = ctypes.c_uint64()
        check(ht.ht_as_eptp(self._h(), u32("memtype", memtype),
                            ctypes.byref(r)))
        return r.value

    def map(self, va, pa, length, attr=0, *, lock=False, noreplace=False,
            page_size=None, flags=0):
        """Map [va, va + length) to [pa, pa + length) with Attr bits
        attr.  lock: HT_MAP_LOCK; noreplace: HT_MAP_NOREPLACE;
        page_size: force one size (PageSize, or bytes: 2 << 20)."""
        flags = MapFlag(u32("flags", flags))
        if lock:
            flags |= MapFlag.LOCK
        if noreplace:
            flags |= MapFlag.NOREPLACE
        if page_size is not None:
            ps = _PAGE_SIZES.get(page_size, page_size)
            try:
                ps = PageSize(ps)
            except ValueError:
                raise InvalidArgument(Err.EINVAL, "page_size %r: not 4 KiB,"
                                      " 2 MiB, 4 MiB or 1 GiB"
                                      % (page_size,)) from None
            flags |= map_size(ps)
        check(ht.ht_map(self._h(), u64("va", va), u64("pa", pa),
                        u64("length", length), u32("attr", attr), flags))

    def unmap(self, va, length, *, unlock=False):
        """Remove the mappings of [va, va + length) (holes are fine);
        unlock: locked ones too."""
        check(ht.ht_unmap(self._h(), u64("va", va), u64("length", length),
                          UnmapFlag.UNLOCK if unlock else 0))

    def protect(self, va, length, attr):
        """Set W, U, X of every mapped page in the range to attr's."""
        check(ht.ht_protect(self._h(), u64("va", va), u64("length", length),
                            u32("attr", attr)))

    def chattr(self, va, length, clear=0, set=0):
        """Remove the attributes `clear` and add `set` in the range."""
        check(ht.ht_chattr(self._h(), u64("va", va), u64("length", length),
                           u32("clear", clear), u32("set", set)))

    def lock(self, va, length):
        """Lock the range's mappings (locks stack)."""
        check(ht.ht_lock(self._h(), u64("va", va), u64("length", length)))

    def unlock(self, va, length):
        """Take one lock from each mapping of the range."""
        check(ht.ht_unlock(self._h(), u64("va", va),
                           u64("length", length)))

    def translate(self, va):
        """Walk va as the MMU would: a Translation, or NotMapped (its
        .translation says where the walk stopped), NonCanonical,
        OutOfRange."""
        x = _lib.Xlate_t()
        va = u64("va", va)
        rc = ht.ht_translate(self._h(), va, ctypes.byref(x))
        if rc == -Err.ENOTMAPPED:
            e = NotMapped(Err.ENOTMAPPED, "va 0x%x: the walk stopped at a "
                          "non-present entry after %d level%s" % (
                              va, x.nlevels, "" if x.nlevels == 1 else "s"))
            e.translation = records.translation_of(x)
            raise e
        check(rc)
        return records.translation_of(x)

    def va2pa(self, va):
        """The physical address of va (ht_va2pa); errors as translate."""
        r = ctypes.c_uint64()
        va = u64("va", va)
        rc = ht.ht_va2pa(self._h(), va, ctypes.byref(r))
        check(rc, "va 0x%x is not mapped" % va
              if rc == -Err.ENOTMAPPED else None)
        return r.value

    def walk(self, start=0, last=None):
        """An iterator of the Leaf mappings in [start, last] (inclusive;
        default: to the top of the space), ascending.  Argument errors raise
        here, at the call."""
        start = u64("start", start)
        if last is None:
            # the top of the space: canonical addresses run to 2^64 - 1,
            # the others to 2^va_bits - 1
            g = self.context.geometry
            last = (_lib.U64_MAX if g.hole_start
                    else (1 << g.va_bits) - 1)
        last = u64("last", last)
        first = self._walk_chunk(start, last)
        return self._chunks(first, last)

    leaves = walk

    def __iter__(self):
        return self.walk()

    def _walk_chunk(self, start, last):
        """Up to CHUNK leaves from start: (LeafBuffer, where the next
        chunk starts or None at the end)."""
        buf = records.LeafBuffer()
        add = buf.add
        failed = []
        count = [0]

        def take(arg, leaf):
            try:
                add(leaf)
                count[0] += 1
                return 1 if count[0] >= CHUNK else 0
            except BaseException as e:  # re-raised below
                failed.append(e)
                return 2

        rc = ht.ht_walk(self._h(), start, last, _lib.WALK_FN(take), None)
        if failed:
            raise failed[0]
        check(rc)
        if rc == 0 or len(buf) == 0:
            return buf, None
        lf = buf.last()
        nxt = lf.va + lf.size
        g = self.context.geometry
        if g.hole_start and g.hole_start <= nxt <= g.hole_end:
            nxt = g.hole_end + 1
        return buf, (nxt if nxt <= last else None)

    def _chunks(self, first, last):
        buf, nxt = first
        while True:
            yield from buf
            if nxt is None:
                return
            buf, nxt = self._walk_chunk(nxt, last)

    def access(self, va, acc="read", cpl=0, cpu=None):
        """Decide one access (Acc or "read"/"write"/"fetch", at CPL cpl)
        on cpu (a Cpu; default Cpu.default(mode)) exactly as the MMU
        does: an AccessResult (a fault is an answer, not an error)."""
        cpu = cpu if cpu is not None else records.Cpu.default(
            self.context.mode)
        c = cpu.to_c()
        r = _lib.Access_t()
        check(ht.ht_access(self._h(), ctypes.byref(c), u64("va", va),
                           records.acc_of(acc), u32("cpl", cpl),
                           ctypes.byref(r)))
        return records.access_of(r)

    def audit(self):
        """Check every invariant of the space; Corrupt names the first
        problem."""
        check(ht.ht_audit(self._h()))

    def stats(self):
        """The space's counters (ht_as_stats) as a dict."""
        st = _lib.Stats_t()
        ht.ht_as_stats(self._h(), ctypes.byref(st))
        return _stats(st)

    def purge(self):
        """Free the space's cached empty tables; frames freed."""
        return ht.ht_as_purge(self._h())

    def picture(self, name=""):
        """The data of a picture of the space (ht_as_picture): one JSON
        object as a str, which `htable show --data FILE` makes a page of.
        The space must not change meanwhile."""
        fn, parts = _lib.picture_writer()
        check(ht.ht_as_picture(self._h(), name.encode(), fn, None))
        return b"".join(parts).decode("ascii")

    def scanned(self):
        """A ScannedSpace reading this space's tables out of the
        context's arena, as a debugger would read them from memory."""
        from .scan import ScannedSpace
        mode = self.context.mode
        cr3 = (self.eptp() if mode in (Mode.EPT4, Mode.EPT5)
               else self.root)
        return ScannedSpace(self.context.read, mode, cr3)

    def close(self):
        """Destroy the space (ht_as_destroy).  Idempotent."""
        if self._as is not None:
            if self.context._ctx is not None:
                ht.ht_as_destroy(self._as)
            self._as = None
            self.context._spaces.discard(self)

    def __repr__(self):
        if self.closed:
            return "<htable.Space closed>"
        return "<htable.Space %s root=0x%x>" % (mode_name(self.context.mode),
                                                self.root)


__all__ = ["Context", "Space", "mode_of", "mode_name", "geometry", "Attr"]
