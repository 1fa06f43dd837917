"""htable: x86 page tables from Python, over the C library libhtable.

Build and change page tables of our own (Context, Space), read the
tables of an image or a dump file (Image) or of any memory a Python
function can read (ScannedSpace), and ask what the MMU would do with
an access.  Every operation is one call of the C library (ctypes);
nothing of its logic is repeated here.  Errors raise HtableError
subclasses carrying the library's code, name and detail.

    import htable
    with htable.Context("4level") as ctx:
        space = ctx.space()
        space.map(0x400000, 0x20000000, 0x5000, htable.Attr.U | htable.Attr.X)
        print(hex(space.translate(0x401abc).pa))
        for leaf in space.walk():
            print(leaf)

The shared libraries are found through HTABLE_LIBRARY and
HTABLE_IMAGE_LIBRARY (paths), the directory meson installed them in,
or the dynamic linker's search path.
"""

from .constants import (Acc, AdFlag, AsFlag, Attr, CpuFlag, EPTQ, EptFlag,
                        EptType, Err, Fault, MapFlag, Mode, PF, PageSize,
                        ScanFlag, ScanStop, UnmapFlag, ept_mt, ept_mt_of,
                        map_size, sw, PAGE_SIZE, VERSION_STRING)
from .errors import (HtableError, ImageError, InvalidArgument, NoMemory,
                     NoFrame, NonCanonical, OutOfRange, Misaligned,
                     PageSizeError, PaBitsError, NotMapped, AlreadyMapped,
                     Locked, NotLocked, ProviderError, BadTable, Corrupt,
                     Busy, NotSupported, SharedRange)
from .records import (AccessResult, Cpu, Geometry, Leaf, ScanTranslation,
                      Step, Translation)
from .space import Context, Space, geometry, mode_name, mode_of
from .scan import ScannedSpace, ScanStats
from .image import BadPages, DumpCpu, Image, Root

__version__ = VERSION_STRING

__all__ = [
    "Acc", "AdFlag", "AsFlag", "Attr", "CpuFlag", "EPTQ", "EptFlag",
    "EptType", "Err", "Fault", "MapFlag", "Mode", "PF", "PageSize",
    "ScanFlag", "ScanStop", "UnmapFlag", "ept_mt", "ept_mt_of", "map_size",
    "sw", "PAGE_SIZE", "VERSION_STRING",
    "HtableError", "ImageError", "InvalidArgument", "NoMemory", "NoFrame",
    "NonCanonical", "OutOfRange", "Misaligned", "PageSizeError",
    "PaBitsError", "NotMapped", "AlreadyMapped", "Locked", "NotLocked",
    "ProviderError", "BadTable", "Corrupt", "Busy", "NotSupported",
    "SharedRange",
    "AccessResult", "Cpu", "Geometry", "Leaf", "ScanTranslation", "Step",
    "Translation",
    "Context", "Space", "geometry", "mode_name", "mode_of",
    "ScannedSpace", "ScanStats",
    "BadPages", "DumpCpu", "Image", "Root",
]
