"""The C libraries through ctypes: loading, structures, prototypes.

Theory of operation: libhtable is loaded when the package is imported,
libhtimage the first time an image is opened (a program that builds
tables needs no image reader).  Each is looked for, in order: the path
in an environment variable (HTABLE_LIBRARY, HTABLE_IMAGE_LIBRARY: when
set, nothing else is tried), the directory `meson install` put it in
(_paths.LIBDIR, a file meson writes at install time), then the dynamic
linker's search (ctypes.util.find_library, then the soname).  libhtable
is loaded first, so libhtimage's dependency on libhtable.so.0 resolves
to the very same copy.

Every structure mirrors one of include/htable.h or himage.h field by
field (tests/python/test_layout.py compares sizeof and offsetof with a
compiled C program), and every function gets its argtypes and restype,
so that ctypes checks the Python side of each call.

Invariants: nothing here raises for a C call's failure (check() does,
for the callers); the GIL is released during every C call (CDLL), so
the library's thread-local error detail is read on the thread that
failed, before any other call of that thread.
"""

import ctypes
import ctypes.util
import os
import threading

from . import errors

c_int = ctypes.c_int
c_uint = ctypes.c_uint
c_u32 = ctypes.c_uint32
c_u64 = ctypes.c_uint64
c_long = ctypes.c_long
c_size = ctypes.c_size_t
c_vp = ctypes.c_void_p
c_char_p = ctypes.c_char_p
MAX_LEVELS = 5


class Geometry_t(ctypes.Structure):
    _fields_ = [
        ("mode", c_int), ("levels", c_uint), ("pte_size", c_uint),
        ("ptes_per_table", c_uint), ("top_level_count", c_uint),
        ("level_shift", c_uint * MAX_LEVELS), ("va_bits", c_uint),
        ("pa_bits_max", c_uint), ("pagesizes", c_uint), ("has_nx", c_int),
        ("hole_start", c_u64), ("hole_end", c_u64), ("link_mask", c_u64),
        ("root_mask", c_u64), ("ps_bit", c_u64),
    ]


class Range_t(ctypes.Structure):
    _fields_ = [("base", c_u64), ("len", c_u64)]


class Config_t(ctypes.Structure):
    _fields_ = [
        ("mode", c_int), ("pagesizes", c_uint), ("pa_bits", c_uint),
        ("no_nx", c_int), ("ept", c_uint), ("frame_ops", c_vp),
        ("frame_arg", c_vp), ("pools", Range_t * 8), ("npools", c_uint),
        ("tlb", c_vp), ("tlb_info", c_vp), ("tlb_arg", c_vp),
        ("rmap", c_int), ("kpti", c_int), ("reserve_amount", c_uint),
        ("steal_passes", c_uint), ("throttle", c_u64),
        ("force_steal", c_uint), ("hash_buckets", c_uint),
    ]


class Stats_t(ctypes.Structure):
    _fields_ = [(n, c_u64) for n in (
        "ptable_allocs", "ptable_frees", "htable_rgets", "htable_rputs",
        "reap_attempts", "reaped", "steals", "stolen", "cache_hits",
        "splits", "lpage_fallbacks", "tlb_calls")] + [
        ("tables", c_u64 * MAX_LEVELS), ("leaves", c_u64 * MAX_LEVELS),
        ("reserve_count", c_u64), ("address_spaces", c_u64),
        ("rmap_extents", c_u64), ("rmap_bytes", c_u64),
        ("hash_chains", c_u64),
    ]


class Xlate_t(ctypes.Structure):
    _fields_ = [
        ("va", c_u64), ("pa", c_u64), ("page_size", c_u64),
        ("level", c_uint), ("attr", c_uint), ("nlevels", c_uint),
        ("entries", c_u64 * MAX_LEVELS), ("entry_pa", c_u64 * MAX_LEVELS),
    ]


class Leaf_t(ctypes.Structure):
    _fields_ = [
        ("va", c_u64), ("pa", c_u64), ("size", c_u64), ("level", c_uint),
        ("attr", c_uint), ("eff", c_uint), ("pte", c_u64),
    ]


class ScanStep_t(ctypes.Structure):
    _fields_ = [
        ("addr", c_u64), ("pte", c_u64), ("level", c_uint),
        ("index", c_uint), ("unbacked", c_int),
    ]


class ScanXlate_t(ctypes.Structure):
    _fields_ = [
        ("va", c_u64), ("stop", c_int), ("pa", c_u64), ("page_size", c_u64),
        ("level", c_uint), ("attr", c_uint), ("eff", c_uint),
        ("nsteps", c_uint), ("step", ScanStep_t * MAX_LEVELS),
    ]


class ScanStats_t(ctypes.Structure):
    _fields_ = [
        ("leaves", c_u64), ("tables", c_u64), ("unbacked", c_u64),
        ("first_unbacked", c_u64), ("reserved", c_u64),
    ]


# int (*ht_phys_read_fn)(void *arg, ht_pa_t pa, void *buf, size_t len)
READ_FN = ctypes.CFUNCTYPE(c_int, c_vp, c_u64, c_vp, c_size)
# int (*ht_walk_fn)(void *arg, const ht_leaf_t *leaf)
WALK_FN = ctypes.CFUNCTYPE(c_int, c_vp, c_vp)
# ht_write_fn: (arg, buf, len) -> 0 or a negative code
WRITE_FN = ctypes.CFUNCTYPE(c_int, c_vp, c_vp, c_size)


class ScanCfg_t(ctypes.Structure):
    _fields_ = [
        ("mode", c_int), ("cr3", c_u64), ("pa_bits", c_uint),
        ("flags", c_uint), ("max_leaves", c_u64), ("read", READ_FN),
        ("read_arg", c_vp),
    ]


class Cpu_t(ctypes.Structure):
    _fields_ = [("flags", c_uint), ("pkru", c_u32), ("pa_bits", c_uint)]


class Access_t(ctypes.Structure):
    _fields_ = [
        ("fault", c_int), ("error_code", c_u32), ("pa", c_u64),
        ("page_size", c_u64), ("nsteps", c_uint),
        ("step", ScanStep_t * MAX_LEVELS), ("set_a", c_uint),
        ("set_d", c_int),
    ]


class HtiCpu_t(ctypes.Structure):
    _fields_ = [
        ("paging", c_int), ("mode", c_int), ("long_unknown", c_int),
        ("cr0", c_u64), ("cr3", c_u64), ("cr4", c_u64),
        ("source", c_char_p),
    ]


class HtiRoot_t(ctypes.Structure):
    _fields_ = [
        ("mode", c_int), ("cr3", c_u64), ("present", c_uint),
        ("leaves", c_u64), ("user_bytes", c_u64), ("kernel_bytes", c_u64),
        ("shared", c_uint), ("selfmap", c_int), ("confidence", c_uint),
    ]


# Which C struct each of these mirrors (for the layout test).
C_STRUCTS = {
    "ht_geometry_t": Geometry_t, "ht_range_t": Range_t,
    "ht_config_t": Config_t, "ht_stats_t": Stats_t,
    "ht_xlate_t": Xlate_t, "ht_leaf_t": Leaf_t,
    "ht_scan_step_t": ScanStep_t, "ht_scan_xlate_t": ScanXlate_t,
    "ht_scan_stats_t": ScanStats_t, "ht_scan_cfg_t": ScanCfg_t,
    "ht_cpu_t": Cpu_t, "ht_access_t": Access_t,
    "hti_cpu_t": HtiCpu_t, "hti_root_t": HtiRoot_t,
}

P = ctypes.POINTER
_HT_PROTOS = {
    "ht_strerror": (c_char_p, [c_int]),
    "ht_err_name": (c_char_p, [c_int]),
    "ht_errdetail": (c_char_p, []),
    "ht_mode_name": (c_char_p, [c_int]),
    "ht_mode_parse": (c_int, [c_char_p, P(c_int)]),
    "ht_geometry": (P(Geometry_t), [c_int]),
    "ht_arena_create": (c_int, [c_u64, c_u64, c_u64, P(c_vp)]),
    "ht_arena_destroy": (None, [c_vp]),
    "ht_arena_ops": (c_vp, []),
    "ht_arena_ptr": (c_vp, [c_vp, c_u64]),
    "ht_arena_base": (c_u64, [c_vp]),
    "ht_arena_size": (c_u64, [c_vp]),
    "ht_arena_frames_used": (c_u64, [c_vp]),
    "ht_arena_set_limit": (None, [c_vp, c_u64]),
    "ht_ctx_create": (c_int, [P(Config_t), P(c_vp)]),
    "ht_ctx_destroy": (c_int, [c_vp]),
    "ht_ctx_pagesizes": (c_uint, [c_vp]),
    "ht_ctx_pa_bits": (c_uint, [c_vp]),
    "ht_ctx_swbits": (c_uint, [c_vp]),
    "ht_ctx_reap": (c_long, [c_vp]),
    "ht_ctx_stats": (None, [c_vp, P(Stats_t)]),
    "ht_as_create": (c_int, [c_vp, c_uint, P(c_vp)]),
    "ht_as_destroy": (None, [c_vp]),
    "ht_as_root": (c_u64, [c_vp]),
    "ht_as_eptp": (c_int, [c_vp, c_uint, P(c_u64)]),
    "ht_as_stats": (None, [c_vp, P(Stats_t)]),
    "ht_as_purge": (c_long, [c_vp]),
    "ht_map": (c_int, [c_vp, c_u64, c_u64, c_u64, c_uint, c_uint]),
    "ht_unmap": (c_int, [c_vp, c_u64, c_u64, c_uint]),
    "ht_protect": (c_int, [c_vp, c_u64, c_u64, c_uint]),
    "ht_chattr": (c_int, [c_vp, c_u64, c_u64, c_uint, c_uint]),
    "ht_lock": (c_int, [c_vp, c_u64, c_u64]),
    "ht_unlock": (c_int, [c_vp, c_u64, c_u64]),
    "ht_translate": (c_int, [c_vp, c_u64, P(Xlate_t)]),
    "ht_va2pa": (c_int, [c_vp, c_u64, P(c_u64)]),
    "ht_walk": (c_int, [c_vp, c_u64, c_u64, WALK_FN, c_vp]),
    "ht_audit": (c_int, [c_vp]),
    "ht_access": (c_int, [c_vp, P(Cpu_t), c_u64, c_uint, c_uint,
                          P(Access_t)]),
    "ht_scan": (c_int, [P(ScanCfg_t), WALK_FN, c_vp, P(ScanStats_t)]),
    "ht_scan_translate": (c_int, [P(ScanCfg_t), c_u64, P(ScanXlate_t)]),
    "ht_scan_picture": (c_int, [P(ScanCfg_t), c_char_p, WRITE_FN, c_vp]),
    "ht_as_picture": (c_int, [c_vp, c_char_p, WRITE_FN, c_vp]),
    "ht_scan_access": (c_int, [P(ScanCfg_t), P(Cpu_t), c_u64, c_uint,
                               c_uint, P(Access_t)]),
}

_HTI_PROTOS = {
    "hti_open": (c_int, [c_char_p, P(c_vp), ctypes.c_char_p, c_size]),
    "hti_close": (None, [c_vp]),
    "hti_strerror": (c_char_p, [c_int]),
    "hti_read": (c_int, [c_vp, c_u64, c_vp, c_size]),
    "hti_path": (c_char_p, [c_vp]),
    "hti_format": (c_char_p, [c_vp]),
    "hti_description": (c_char_p, [c_vp]),
    "hti_size": (c_u64, [c_vp]),
    "hti_is_dump": (c_int, [c_vp]),
    "hti_is_data": (c_int, [c_vp, c_u64]),
    "hti_ncpus": (c_uint, [c_vp, P(c_uint)]),
    "hti_cpu": (c_int, [c_vp, c_uint, P(HtiCpu_t)]),
    "hti_nwarnings": (c_uint, [c_vp, P(c_uint)]),
    "hti_warning": (c_char_p, [c_vp, c_uint]),
    "hti_bad_pages": (c_u64, [c_vp, P(c_u64), P(c_char_p)]),
    "hti_roots_find": (c_int, [c_vp, P(c_int), c_int, c_uint,
                               P(P(HtiRoot_t)), P(c_size)]),
    "hti_roots_free": (None, [P(HtiRoot_t)]),
}


def _candidates(env, soname, name):
    """Where to look for a library, in order (see the module's text)."""
    given = os.environ.get(env)
    if given:
        return [given]
    out = []
    try:
        from . import _paths
        out.append(os.path.join(_paths.LIBDIR, soname))
    except ImportError:
        pass
    found = ctypes.util.find_library(name)
    if found:
        out.append(found)
    out.append(soname)
    return out


def _load(env, soname, name, protos):
    tried = []
    for path in _candidates(env, soname, name):
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
            continue
        for fn, (restype, argtypes) in protos.items():
            f = getattr(lib, fn)
            f.restype = restype
            f.argtypes = argtypes
        return lib
    raise OSError("htable: cannot load %s; tried: %s.  Set %s to its path."
                  % (soname, "; ".join(tried), env))


ht = _load("HTABLE_LIBRARY", "libhtable.so.0", "htable", _HT_PROTOS)
_hti = None
_hti_lock = threading.Lock()


def hti():
    """libhtimage, loaded on first use."""
    global _hti
    with _hti_lock:
        if _hti is None:
            _hti = _load("HTABLE_IMAGE_LIBRARY", "libhtimage.so.0",
                         "htimage", _HTI_PROTOS)
    return _hti


def _s(b):
    return b.decode("utf-8", "replace") if b is not None else ""


for _code in range(1, 19):
    errors._strings[("name", _code)] = _s(ht.ht_err_name(_code))
    errors._strings[("message", _code)] = _s(ht.ht_strerror(_code))


def detail():
    """The calling thread's ht_errdetail()."""
    return _s(ht.ht_errdetail())


def check(rc, detail_text=None):
    """rc if it is >= 0; else raise the error of code -rc, with the
    library's detail (or detail_text when the call sets none)."""
    if rc >= 0:
        return rc
    d = detail() if detail_text is None else detail_text
    raise errors.error_for(-rc, d)


U64_MAX = (1 << 64) - 1


class Closeable:
    """`with` support, and close() at garbage collection, for the
    classes that own a C object (close() must be idempotent)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:   # at interpreter exit, modules may be gone
            pass


def u64(name, v):
    """v as a C uint64_t argument: an int in 0..2^64-1, else
    InvalidArgument naming the argument (ctypes would wrap it)."""
    try:
        i = v.__index__()
    except AttributeError:
        raise TypeError("%s: an integer, not %s" % (name, type(v).__name__))
    if not 0 <= i <= U64_MAX:
        raise errors.InvalidArgument(errors.Err.EINVAL,
                                     "%s %d is not in 0..2^64-1" % (name, i))
    return i


def u32(name, v):
    """v as a C unsigned argument (0..2^32-1), as u64 does."""
    i = u64(name, v)
    if i > 0xffffffff:
        raise errors.InvalidArgument(errors.Err.EINVAL,
                                     "%s 0x%x is not in 0..2^32-1" % (name, i))
    return i


def picture_writer():
    """A WRITE_FN that gathers the picture's bytes, and the list they
    go into (keep both alive for the call)."""
    parts = []

    def write(arg, buf, length):
        parts.append(ctypes.string_at(buf, length))
        return 0

    return WRITE_FN(write), parts
