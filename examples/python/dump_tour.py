#!/usr/bin/env python3
"""Open a dump, list its mappings, translate an address.

usage: dump_tour.py DUMP [VA...]

DUMP is a dump file that recorded CPU state (QEMU's dump-guest-memory,
a kdump file): its CPU 0 gives the root and the paging mode.
"""
import sys

import htable


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    with htable.Image.open(argv[1]) as image:
        print("%s: %s, %d CPU(s)" % (image.path, image.description,
                                     len(image.cpus)))
        for warning in image.warnings:
            print("warning:", warning)
        space = image.space()       # CPU 0's CR3 and paging mode
        print("CPU 0: %s paging, cr3 0x%x" % (htable.mode_name(space.mode),
                                               space.cr3))
        for leaf in space.leaves():
            rights = "".join(c if leaf.eff & bit else "-" for c, bit in (
                ("w", htable.Attr.W), ("x", htable.Attr.X),
                ("u", htable.Attr.U)))
            print("  %016x-%016x -> %#x %s" % (leaf.va, leaf.last, leaf.pa,
                                               rights))
        for va in (int(a, 0) for a in argv[2:]):
            try:
                x = space.translate(va)
            except htable.NotMapped as e:
                print("%#x: not mapped (%s)" % (va, e.detail))
            else:
                print("%#x -> %#x (a %d KiB page)" % (va, x.pa,
                                                     x.page_size >> 10))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
