"""Images and dump files through libhtimage (tools/image/himage.h).

Theory of operation.  An Image is one hti_t handle: a raw physical
image or a dump file (ELF core, kdump-compressed) opened by the C
reader, which never trusts the file.  Everything hti_open settled (the
format, the CPUs the dump recorded, the reader's warnings) is copied
into Python values at open.  space() gives a ScannedSpace whose reads
are hti_read itself, handed to ht_scan as a C function pointer with the
handle as its argument: no Python runs per read.  The view holds the
Image, and refuses to run once the image is closed, so no C call ever
reads a freed handle.

Failures to open: a system error (no such file, no permission) raises
OSError with its errno; the reader's own refusals (not a regular file,
a dump it cannot read, the flattened format) raise ImageError with
HTI_E* code and the reader's words.
"""

import collections
import ctypes
import os

from . import _lib
from .constants import Err, Mode
from .errors import ImageError, InvalidArgument
from ._lib import u32, u64
from .scan import ScannedSpace
from .space import mode_name, mode_of

DumpCpu = collections.namedtuple(
    "DumpCpu", "paging mode long_unknown cr0 cr3 cr4 source")
DumpCpu.__doc__ = """A CPU whose state a dump recorded: paging (CR0.PG),
mode (a Mode; None with paging off), long_unknown (the dump does not
say whether long mode was on: mode, or pae), CR0, CR3, CR4, and where
it came from ("qemu-note", "vmcoreinfo")."""

Root = collections.namedtuple(
    "Root", "mode cr3 present leaves user_bytes kernel_bytes shared "
    "selfmap confidence")
Root.__doc__ = """A candidate page-table root (htable roots): its
mode and CR3, present root entries, leaves under it, bytes mapped in
the user and kernel parts, other candidates sharing its kernel part,
its self-map entry (or None) and a confidence 0..100."""

BadPages = collections.namedtuple("BadPages", "count first_pa why")


class Image(_lib.Closeable):
    """A physical-memory image or dump file, open for reading."""

    def __init__(self, path):
        self._h = None
        lib = _lib.hti()
        self._lib = lib
        self.path = os.fspath(path)
        msg = ctypes.create_string_buffer(256)
        h = ctypes.c_void_p()
        rc = lib.hti_open(os.fsencode(self.path), ctypes.byref(h), msg,
                          len(msg))
        words = _lib._s(msg.value)
        if rc > 0:
            raise OSError(rc, words, self.path)
        if rc < 0:
            raise ImageError(-rc, _lib._s(lib.hti_strerror(rc)), words,
                             self.path)
        self._h = h
        self.format = _lib._s(lib.hti_format(h))
        self.description = _lib._s(lib.hti_description(h))
        self.size = lib.hti_size(h)
        self.is_dump = bool(lib.hti_is_dump(h))
        lost = ctypes.c_uint()
        n = lib.hti_ncpus(h, ctypes.byref(lost))
        self.cpus_lost = lost.value
        cpus = []
        for i in range(n):
            c = _lib.HtiCpu_t()
            if lib.hti_cpu(h, i, ctypes.byref(c)) == 0:
                cpus.append(DumpCpu(
                    bool(c.paging), Mode(c.mode) if c.paging else None,
                    bool(c.long_unknown), c.cr0, c.cr3, c.cr4,
                    _lib._s(c.source)))
        self.cpus = tuple(cpus)
        n = lib.hti_nwarnings(h, ctypes.byref(lost))
        self.warnings = tuple(_lib._s(lib.hti_warning(h, i))
                              for i in range(n))
        self.warnings_lost = lost.value
        # hti_read as ht_scan takes it: a C pointer, not a Python call
        self._c_read = ctypes.cast(lib.hti_read, _lib.READ_FN)

    @classmethod
    def open(cls, path):
        """Open the image at path (raw, ELF core or kdump file)."""
        return cls(path)

    @property
    def closed(self):
        return self._h is None

    def _handle(self):
        if self._h is None:
            raise ValueError("the image is closed")
        return self._h

    def read(self, pa, length):
        """length bytes of physical memory at pa (zeros where the image
        holds nothing)."""
        h = self._handle()
        buf = ctypes.create_string_buffer(int(length))
        self._lib.hti_read(h, u64("pa", pa), buf, len(buf))
        return buf.raw

    def is_data(self, pa):
        """Does the image hold written data at pa?"""
        return bool(self._lib.hti_is_data(self._handle(), u64("pa", pa)))

    def bad_pages(self):
        """Pages of a dump that failed to read so far (they read as
        zeros): BadPages(count, first_pa, why)."""
        pa = ctypes.c_uint64()
        why = ctypes.c_char_p()
        n = self._lib.hti_bad_pages(self._handle(), ctypes.byref(pa),
                                    ctypes.byref(why))
        return BadPages(n, pa.value if n else None,
                        _lib._s(why.value) if n else "")

    def roots(self, modes=("4level", "5level"), pa_bits=0):
        """Candidate page-table roots, best first (as `htable roots`):
        a list of Root.  modes: of 32bit, pae, 4level, 5level."""
        h = self._handle()
        ms = [mode_of(m) for m in modes]
        if not 1 <= len(ms) <= 4:
            raise InvalidArgument(Err.EINVAL, "modes: 1 to 4 of 32bit, "
                                  "pae, 4level, 5level")
        arr = (ctypes.c_int * len(ms))(*ms)
        out = ctypes.POINTER(_lib.HtiRoot_t)()
        n = ctypes.c_size_t()
        rc = self._lib.hti_roots_find(h, arr, len(ms), u32("pa_bits",
                                                           pa_bits),
                                      ctypes.byref(out), ctypes.byref(n))
        if rc != 0:
            raise ImageError(-rc, _lib._s(self._lib.hti_strerror(rc)),
                             "modes %s" % ", ".join(mode_name(m)
                                                    for m in ms),
                             self.path)
        try:
            return [Root(Mode(r.mode), r.cr3, r.present, r.leaves,
                         r.user_bytes, r.kernel_bytes, r.shared,
                         r.selfmap if r.selfmap >= 0 else None,
                         r.confidence) for r in out[:n.value]]
        finally:
            self._lib.hti_roots_free(out)

    def space(self, cr3=None, mode=None, *, cpu=0, pa_bits=0, flags=0,
              max_leaves=0):
        """A ScannedSpace over the image.  What is left out comes from
        the dump's CPU `cpu` (0 by default), as the htable command does:
        its CR3 and its paging mode."""
        self._handle()
        if cr3 is None or mode is None:
            c = self._cpu_for(cpu, mode)
            if cr3 is None:
                cr3 = c.cr3
            if mode is None:
                mode = c.mode
        return ScannedSpace._over(self._c_read, self._h, self, mode, cr3,
                                  pa_bits, flags, max_leaves)

    def _cpu_for(self, i, mode):
        if not self.cpus:
            raise InvalidArgument(Err.EINVAL, "%s: %s records no CPU "
                                  "state: give cr3 and mode (roots() "
                                  "finds candidates)" % (
                                      self.path, "the dump" if self.is_dump
                                      else "a raw image"))
        if not 0 <= i < len(self.cpus):
            raise InvalidArgument(Err.EINVAL, "cpu %d: %s records CPUs 0 "
                                  "to %d" % (i, self.path,
                                             len(self.cpus) - 1))
        c = self.cpus[i]
        if not c.paging:
            raise InvalidArgument(Err.EINVAL, "%s: CPU %d has paging off "
                                  "(CR0=0x%x): give cr3 and mode"
                                  % (self.path, i, c.cr0))
        if mode is None and c.long_unknown:
            raise InvalidArgument(Err.EINVAL, "%s: CPU %d pages with PAE "
                                  "or in long mode (%s), and the dump does "
                                  "not say which: give mode" % (
                                      self.path, i, mode_name(c.mode)))
        return c

    def close(self):
        """Close the image; views over it refuse to run afterwards."""
        if self._h is not None:
            self._lib.hti_close(self._h)
            self._h = None

    def __repr__(self):
        return "<htable.Image %s %s%s>" % (self.path, self.format,
                                           " closed" if self.closed else "")
