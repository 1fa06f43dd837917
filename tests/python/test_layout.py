"""The ctypes structures against the C ones: the size of each struct
and the offset of each field, as the compiler lays them out."""

import ctypes

from htable import _lib

from conftest import compile_run


def test_struct_layouts(tmp_path):
    lines = []
    for cname, cls in sorted(_lib.C_STRUCTS.items()):
        lines.append('\tprintf("%s sizeof %%zu\\n", sizeof (%s));'
                     % (cname, cname))
        for field, _ in cls._fields_:
            lines.append('\tprintf("%s %s %%zu\\n", offsetof(%s, %s));'
                         % (cname, field, cname, field))
    src = ("#include <stddef.h>\n#include <stdio.h>\n#include \"htable.h\"\n"
           "#include \"himage.h\"\nint\nmain(void)\n{\n%s\n\treturn (0);\n}\n"
           % "\n".join(lines))
    got = {}
    for line in compile_run(src, tmp_path).splitlines():
        s, f, v = line.split()
        got[s, f] = int(v)
    for cname, cls in _lib.C_STRUCTS.items():
        assert got[cname, "sizeof"] == ctypes.sizeof(cls), cname
        for field, _ in cls._fields_:
            assert got[cname, field] == getattr(cls, field).offset, \
                "%s.%s" % (cname, field)

