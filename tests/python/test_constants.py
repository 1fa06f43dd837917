"""constants.py against the C headers: every value it mirrors equals
the compiled header's, and every value the headers define is mirrored
(a #define added to htable.h and not to constants.py fails here)."""

import os
import re

import htable
from htable import constants
from htable.constants import C_NAMES, Attr, MapFlag

from conftest import SRC, compile_run

HEADERS = [os.path.join(SRC, "include", "htable.h"),
           os.path.join(SRC, "tools", "image", "himage.h")]
# object-like macros that are not values
NOT_VALUES = {"HT_EXTERN", "HT_MUST_CHECK", "HTABLE_H", "HTABLE_HIMAGE_H"}


def header_names():
    """The value names the headers define: object-like #defines and
    enum members (HT_MODE_*, HT_FAULT_*, HT_STOP_*, and the errors of
    HT_ERRNO_MAP)."""
    names = set()
    for h in HEADERS:
        text = open(h).read()
        names |= set(re.findall(r"^#define\s+(HTI?_[A-Z0-9_]+)[ \t]",
                                text, re.M))
        names |= set(re.findall(r"^\s+(HT_[A-Z0-9_]+)\s*(?:=|,|/\*|$)",
                                text, re.M))
        names |= {"HT_" + n for n in re.findall(r"^\s+XX\((E[A-Z]+),",
                                                text, re.M)}
    return {n for n in names if not n.startswith("HT__")} - NOT_VALUES


def test_every_header_value_is_mirrored():
    missing = header_names() - set(C_NAMES)
    assert not missing, "not in constants.py: %s" % sorted(missing)
    # and nothing is mirrored that the headers do not define
    extra = set(C_NAMES) - header_names()
    assert not extra, "not in the headers: %s" % sorted(extra)


def test_values_equal_the_compiled_headers(tmp_path):
    lines = []
    for name, value in sorted(C_NAMES.items()):
        if isinstance(value, str):
            lines.append('\tprintf("%s %%s\\n", %s);' % (name, name))
        else:
            lines.append('\tprintf("%s %%llu\\n", (unsigned long long)'
                         '(%s));' % (name, name))
    for n in range(9):
        lines.append('\tprintf("HT_SW(%d) %%llu\\n", (unsigned long long)'
                     'HT_SW(%d));' % (n, n))
    for ps in (1, 2, 4, 8):
        lines.append('\tprintf("HT_MAP_SIZE(%d) %%llu\\n", (unsigned long '
                     'long)HT_MAP_SIZE(%d));' % (ps, ps))
    for t in range(8):
        lines.append('\tprintf("HT_EPT_MT(%d) %%llu\\n", (unsigned long '
                     'long)HT_EPT_MT(%d));' % (t, t))
        lines.append('\tprintf("HT_EPT_MT_OF(%d) %%llu\\n", (unsigned '
                     'long long)HT_EPT_MT_OF(%du << 4 | 0x8u));' % (t, t))
    src = ("#include <stdio.h>\n#include \"htable.h\"\n"
           "#include \"himage.h\"\nint\nmain(void)\n{\n%s\n\treturn (0);\n}\n"
           % "\n".join(lines))
    got = dict(line.split(" ", 1) for line in
               compile_run(src, tmp_path).splitlines())
    for name, value in C_NAMES.items():
        if isinstance(value, str):
            assert got[name] == value, name
        else:
            # negative values (HTI_E*) print as their 64-bit pattern
            assert int(got[name]) == value % (1 << 64), name
    for n in range(9):
        assert int(got["HT_SW(%d)" % n]) == constants.sw(n)
    for ps in (1, 2, 4, 8):
        assert int(got["HT_MAP_SIZE(%d)" % ps]) == constants.map_size(ps)
    for t in range(8):
        assert int(got["HT_EPT_MT(%d)" % t]) == constants.ept_mt(t)
        assert int(got["HT_EPT_MT_OF(%d)" % t]) == \
            constants.ept_mt_of(t << 4 | 0x8)


def test_error_names_and_messages():
    for code in htable.Err:
        e = htable.errors.error_for(int(code), "why")
        assert e.code == code and e.name == "HT_" + code.name
        assert e.message and "unknown" not in e.message
        assert str(e) == "%s: %s (why)" % (e.name, e.message)
    assert htable.sw(3) == Attr.SW3
    assert htable.map_size(htable.PageSize.PS_2M) == MapFlag(0x200)
    assert htable.VERSION_STRING == htable.__version__
