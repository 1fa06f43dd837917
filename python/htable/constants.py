"""The constants of include/htable.h and tools/image/himage.h, by hand.

Theory of operation: every value the C headers define that a Python
caller passes or gets back is mirrored here once, as an IntEnum or an
IntFlag named after its C prefix (HT_W is Attr.W, HT_MODE_PAE is
Mode.PAE, HT_ENOTMAPPED is Err.ENOTMAPPED), so that values print with
their names.  C_NAMES maps each C name to its Python value: the tests
compile a C program that prints the header's values and compare them
with it, and parse the header so that a #define added there and not
here fails them.  Function-like macros are functions here (sw, map_size,
ept_mt, ept_mt_of).
"""

import enum

# Versions and geometry limits (plain numbers)
VERSION_MAJOR = 0
VERSION_MINOR = 1
VERSION_PATCH = 0
VERSION_STRING = "0.1.0"
PFN_INVALID = (1 << 64) - 1
PAGE_SHIFT = 12
PAGE_SIZE = 4096
MAX_LEVELS = 5
MAX_POOLS = 8
TLB_ALL = (1 << 64) - 1
TLBI_ALLCPUS = 0x1
NPF_FINAL = 1 << 32
NPF_TABLE = 1 << 33


class Err(enum.IntEnum):
    """The library's error codes, positive (calls return them negated)."""
    EINVAL = 1
    ENOMEM = 2
    ENOFRAME = 3
    ENONCANON = 4
    ERANGE = 5
    EALIGN = 6
    EPAGESIZE = 7
    EPABITS = 8
    ENOTMAPPED = 9
    EEXIST = 10
    ELOCKED = 11
    ENOTLOCKED = 12
    EPROVIDER = 13
    EBADTABLE = 14
    ECORRUPT = 15
    EBUSY = 16
    ENOTSUP = 17
    ESHARED = 18


class Mode(enum.IntEnum):
    """Paging modes (ht_mode_t); their C names are ht_mode_name's."""
    BIT32 = 0
    PAE = 1
    LEVEL4 = 2
    LEVEL5 = 3
    NPT4 = 4
    NPT5 = 5
    EPT4 = 6
    EPT5 = 7


class PageSize(enum.IntFlag):
    """Page sizes as a bit mask (HT_PS_*)."""
    PS_4K = 0x1
    PS_2M = 0x2
    PS_4M = 0x4
    PS_1G = 0x8


class Attr(enum.IntFlag):
    """Mapping attributes (map, protect, chattr, translate, walk)."""
    W = 0x001
    U = 0x002
    X = 0x004
    G = 0x008
    PWT = 0x010
    PCD = 0x020
    PAT = 0x040
    NOREAD = 0x080
    A = 0x100
    D = 0x200
    LOCKED = 0x400
    EPT_SVE = 0x800
    EPT_VGP = 0x1000
    EPT_PW = 0x2000
    SW0 = 0x10000
    SW1 = 0x20000
    SW2 = 0x40000
    SW3 = 0x80000
    SW4 = 0x100000
    SW5 = 0x200000
    SW6 = 0x400000
    SW7 = 0x800000
    SW8 = 0x1000000
    SW_BIT9 = 0x2000000
    # EPT readings of the bits above
    XU = 0x002
    EPT_IPAT = 0x008


SW_MASK = 0x1ff0000
EPT_MT_MASK = Attr.PWT | Attr.PCD | Attr.PAT


class EptType(enum.IntEnum):
    """EPT memory types (HT_EPT_UC...), for ept_mt()."""
    UC = 0
    WC = 1
    WT = 4
    WP = 5
    WB = 6


class EptFlag(enum.IntFlag):
    """ht_config_t.ept: what the EPT hardware allows (HT_EPT_AD...)."""
    AD = 0x1
    MBEC = 0x2
    XONLY = 0x4


class AsFlag(enum.IntFlag):
    """ht_as_create flags (HT_AS_*)."""
    NOSTEAL = 0x1
    COPIED = 0x2
    NOMMU = 0x4
    SERIAL = 0x8


class MapFlag(enum.IntFlag):
    """ht_map flags (HT_MAP_*); map_size() forces a page size."""
    LOCK = 0x1
    NOREPLACE = 0x2


class UnmapFlag(enum.IntFlag):
    """ht_unmap flags (HT_UNMAP_*)."""
    UNLOCK = 0x1


class AdFlag(enum.IntFlag):
    """ht_harvest_ad flags (HT_AD_*)."""
    CLEAR = 0x1
    SPLIT = 0x2


class ScanFlag(enum.IntFlag):
    """ht_scan_cfg_t flags (HT_SCAN_*)."""
    QEMU = 0x1
    EPT_MBEC = 0x2
    EPT_XONLY = 0x4


class ScanStop(enum.IntEnum):
    """Why a scanned translation stopped (ht_scan_stop_t)."""
    MAPPED = 0
    NONCANON = 1
    NOTPRESENT = 2
    RESERVED = 3


class Acc(enum.IntEnum):
    """Kinds of access (HT_ACC_*)."""
    READ = 0
    WRITE = 1
    FETCH = 2


class CpuFlag(enum.IntFlag):
    """The control bits an access depends on (HT_CPU_*)."""
    WP = 0x01
    NXE = 0x02
    SMEP = 0x04
    SMAP = 0x08
    AC = 0x10
    PKE = 0x20
    NO1G = 0x40
    EPT_MBEC = 0x80
    EPT_XONLY = 0x100


class PF(enum.IntFlag):
    """Page-fault error code bits (HT_PF_*)."""
    P = 0x01
    W = 0x02
    U = 0x04
    RSVD = 0x08
    I = 0x10  # noqa: E741 (the SDM's name)
    PK = 0x20


class EPTQ(enum.IntFlag):
    """EPT violation exit qualification bits (HT_EPTQ_*)."""
    READ = 0x01
    WRITE = 0x02
    FETCH = 0x04
    R = 0x08
    W = 0x10
    X = 0x20
    XU = 0x40
    GLA = 0x80
    FINAL = 0x100


class Fault(enum.IntEnum):
    """What an access does (ht_fault_t)."""
    NONE = 0
    GP = 13
    PF = 14
    EPT_VIOLATION = 48
    EPT_MISCONFIG = 49
    NPF = 0x400


def sw(n):
    """HT_SW(n): software bit n (0..8) as an attribute."""
    if not 0 <= n <= 8:
        raise ValueError("software bit %r: not 0..8" % (n,))
    return Attr(0x10000 << n)


def map_size(ps):
    """HT_MAP_SIZE(ps): the ht_map flag that forces page size ps."""
    return MapFlag((int(ps) & 0xffffffff) << 8)


def ept_mt(t):
    """HT_EPT_MT(t): EPT memory type t as attribute bits."""
    return Attr((int(t) & 7) << 4)


def ept_mt_of(attr):
    """HT_EPT_MT_OF(attr): the EPT memory type an attribute holds."""
    return (int(attr) >> 4) & 7


# himage.h's codes (negative, as returned)
HTI_EINVAL = -1
HTI_ENOTREG = -2
HTI_ENOMEM = -3
HTI_EDUMP = -4
HTI_EFLAT = -5
HTI_EMODE = -6


def _c_names():
    """Every C name this module mirrors, with its Python value."""
    names = {
        "HT_VERSION_MAJOR": VERSION_MAJOR,
        "HT_VERSION_MINOR": VERSION_MINOR,
        "HT_VERSION_PATCH": VERSION_PATCH,
        "HT_VERSION_STRING": VERSION_STRING,
        "HT_PFN_INVALID": PFN_INVALID,
        "HT_PAGE_SHIFT": PAGE_SHIFT,
        "HT_PAGE_SIZE": PAGE_SIZE,
        "HT_MAX_LEVELS": MAX_LEVELS,
        "HT_MAX_POOLS": MAX_POOLS,
        "HT_TLB_ALL": TLB_ALL,
        "HT_TLBI_ALLCPUS": TLBI_ALLCPUS,
        "HT_NPF_FINAL": NPF_FINAL,
        "HT_NPF_TABLE": NPF_TABLE,
        "HT_SW_MASK": SW_MASK,
        "HT_EPT_MT_MASK": int(EPT_MT_MASK),
        "HT_OK": 0,
    }
    prefixed = [
        (Err, "HT_", ""), (Mode, "HT_MODE_", ""),
        (PageSize, "HT_", ""), (EptType, "HT_EPT_", ""),
        (EptFlag, "HT_EPT_", ""), (AsFlag, "HT_AS_", ""),
        (MapFlag, "HT_MAP_", ""), (UnmapFlag, "HT_UNMAP_", ""),
        (AdFlag, "HT_AD_", ""), (ScanFlag, "HT_SCAN_", ""),
        (ScanStop, "HT_STOP_", ""), (Acc, "HT_ACC_", ""),
        (CpuFlag, "HT_CPU_", ""), (PF, "HT_PF_", ""),
        (EPTQ, "HT_EPTQ_", ""), (Fault, "HT_FAULT_", ""),
    ]
    for cls, prefix, _ in prefixed:
        for name, member in cls.__members__.items():
            names[prefix + name] = int(member)
    # Mode's C names start with a digit
    for name, c in (("BIT32", "32BIT"), ("LEVEL4", "4LEVEL"),
                    ("LEVEL5", "5LEVEL")):
        del names["HT_MODE_" + name]
        names["HT_MODE_" + c] = int(Mode[name])
    for name, member in Attr.__members__.items():
        if not name.startswith("SW") or name == "SW_BIT9":
            names["HT_" + name] = int(member)
    for name in ("HTI_EINVAL", "HTI_ENOTREG", "HTI_ENOMEM", "HTI_EDUMP",
                 "HTI_EFLAT", "HTI_EMODE"):
        names[name] = globals()[name]
    return names


C_NAMES = _c_names()
