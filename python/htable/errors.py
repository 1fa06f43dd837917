"""Errors: the library's negative codes as exceptions.

Theory of operation: a C call that fails returns -code; check() turns it
into an instance of the HtableError subclass registered for that code
(HtableError itself for the rest), carrying the positive code, its
symbolic name (ht_err_name), the library's message (ht_strerror) and the
calling thread's detail (ht_errdetail) read at once, before any other
call can replace it.  Image files have codes of their own (himage.h):
ImageError carries those.  A Python callback's exception that stopped a
C call is re-raised as it is, never wrapped.
"""

from .constants import Err


class HtableError(Exception):
    """A failure the library reported.

    code: the positive HT_E* value (an Err); name: "HT_ENOTMAPPED";
    message: ht_strerror's words; detail: ht_errdetail()'s (which
    argument, which address), or "" when the call set none.
    """

    def __init__(self, code, detail="", name=None, message=None):
        self.code = code
        self.name = name if name is not None else _name(code)
        self.message = message if message is not None else _message(code)
        self.detail = detail or ""
        super().__init__(str(self))

    def __str__(self):
        text = "%s: %s" % (self.name, self.message)
        if self.detail:
            text += " (%s)" % self.detail
        return text


class InvalidArgument(HtableError, ValueError):
    """HT_EINVAL: a bad argument."""


class NoMemory(HtableError, MemoryError):
    """HT_ENOMEM: out of host memory."""


class NoFrame(HtableError):
    """HT_ENOFRAME: no physical frame for a page table."""


class NonCanonical(HtableError):
    """HT_ENONCANON: a virtual address in the non-canonical hole."""


class OutOfRange(HtableError):
    """HT_ERANGE: address or length out of range for the mode."""


class Misaligned(HtableError):
    """HT_EALIGN: address or length not aligned."""


class PageSizeError(HtableError):
    """HT_EPAGESIZE: page size not available."""


class PaBitsError(HtableError):
    """HT_EPABITS: physical address beyond the physical width."""


class NotMapped(HtableError, LookupError):
    """HT_ENOTMAPPED: address not mapped.  .translation says where the
    walk stopped when a translation raised it."""
    translation = None


class AlreadyMapped(HtableError):
    """HT_EEXIST: something is mapped there."""


class Locked(HtableError):
    """HT_ELOCKED: the range holds locked mappings."""


class NotLocked(HtableError):
    """HT_ENOTLOCKED: a mapping is not locked."""


class ProviderError(HtableError):
    """HT_EPROVIDER: the frame provider (or a reader) misbehaved."""


class BadTable(HtableError):
    """HT_EBADTABLE: page table contents are invalid."""


class Corrupt(HtableError):
    """HT_ECORRUPT: the audit found an inconsistency."""


class Busy(HtableError):
    """HT_EBUSY: the object is in use."""


class NotSupported(HtableError):
    """HT_ENOTSUP: operation not supported."""


class SharedRange(HtableError):
    """HT_ESHARED: the range is shared from another address space."""


_BY_CODE = {
    Err.EINVAL: InvalidArgument, Err.ENOMEM: NoMemory,
    Err.ENOFRAME: NoFrame, Err.ENONCANON: NonCanonical,
    Err.ERANGE: OutOfRange, Err.EALIGN: Misaligned,
    Err.EPAGESIZE: PageSizeError, Err.EPABITS: PaBitsError,
    Err.ENOTMAPPED: NotMapped, Err.EEXIST: AlreadyMapped,
    Err.ELOCKED: Locked, Err.ENOTLOCKED: NotLocked,
    Err.EPROVIDER: ProviderError, Err.EBADTABLE: BadTable,
    Err.ECORRUPT: Corrupt, Err.EBUSY: Busy,
    Err.ENOTSUP: NotSupported, Err.ESHARED: SharedRange,
}


class ImageError(HtableError):
    """An image file that cannot be opened or searched (himage.h).

    code: the positive HTI_E* value (2 for HTI_ENOTREG); name:
    "HTI_ENOTREG"; detail: the reader's own words; path: the file.
    System errors (no such file) are OSError instead.
    """

    NAMES = {1: "HTI_EINVAL", 2: "HTI_ENOTREG", 3: "HTI_ENOMEM",
             4: "HTI_EDUMP", 5: "HTI_EFLAT", 6: "HTI_EMODE"}

    def __init__(self, code, message, detail="", path=None):
        self.path = path
        super().__init__(code, detail, self.NAMES.get(code, "HTI_UNKNOWN"),
                         message)

    def __str__(self):
        text = super().__str__()
        return "%s: %s" % (self.path, text) if self.path else text


# Filled by _lib at import: the C library's names and messages.
_strings = {}


def _name(code):
    name = _strings.get(("name", code))
    if name is None:
        try:
            name = "HT_" + Err(code).name
        except ValueError:
            name = "HT_UNKNOWN"
    return name


def _message(code):
    return _strings.get(("message", code), "error %d" % code)


def error_for(code, detail=""):
    """The exception for positive library code `code`."""
    try:
        code = Err(code)
    except ValueError:
        pass
    return _BY_CODE.get(code, HtableError)(code, detail)
