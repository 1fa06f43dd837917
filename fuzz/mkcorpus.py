#!/usr/bin/env python3
# mkcorpus.py - write the seed corpora of the fuzz targets: fuzz_scan
# (fuzz/corpus/), fuzz_spec (fuzz/corpus_spec/), fuzz_import
# (fuzz/corpus_import/).
#
# The seeds are hand-made page-table images in the target's input format,
# [mode][cr3: 8 bytes LE][flags][image], one per situation the scanner must
# handle: plain chains with every page size, self-maps, a sharing bomb,
# PAE's 32-byte-aligned root, PSE-36, reserved bits, frames beyond the
# image, a bad configuration.  They give libFuzzer valid structure to
# mutate, and run_corpus replays them in every build.  This script is the
# readable source of those binary files: run it from anywhere to rewrite
# them (the output is deterministic).
import os
import struct

MODE_32, MODE_PAE, MODE_4, MODE_5 = 0, 1, 2, 3
P, W, U, PWT, PCD, A, D, PS, G = 1, 2, 4, 8, 0x10, 0x20, 0x40, 0x80, 0x100
PATL, NX = 0x1000, 1 << 63
LINK = P | W | U

# levels, entry size, shifts, root entries
GEOM = {
    MODE_32: (2, 4, (12, 22), 1024),
    MODE_PAE: (3, 8, (12, 21, 30), 4),
    MODE_4: (4, 8, (12, 21, 30, 39), 512),
    MODE_5: (5, 8, (12, 21, 30, 39, 48), 512),
}
# flags byte: bit 0 QEMU reading, bits 1..3 index of pa_bits in
# { 0, 32, 36, 40, 46, 48, 52, 53 }, bits 4..7 all set: unknown flag
QEMU = 1
PAB48 = 5 << 1


class Image:
    """Physical memory from address 0; build() takes frames from `free`."""

    def __init__(self, mode, size, free):
        self.mode = mode
        self.mem = bytearray(size)
        self.free = free

    def put(self, pa, v):
        esz = GEOM[self.mode][1]
        self.mem[pa:pa + esz] = v.to_bytes(esz, 'little')

    def get(self, pa):
        esz = GEOM[self.mode][1]
        return int.from_bytes(self.mem[pa:pa + esz], 'little')

    def ent(self, table, va, level):
        levels, esz, shift, top = GEOM[self.mode]
        n = top if level == levels - 1 else (1024 if esz == 4 else 512)
        return table + ((va >> shift[level]) & (n - 1)) * esz

    def build(self, root, va, leaf_level, leaf, links=None):
        """Map va by leaf (an entry at leaf_level), making tables."""
        levels, esz, _, _ = GEOM[self.mode]
        amask = 0xfffff000 if esz == 4 else 0x000ffffffffff000
        table = root
        for level in range(levels - 1, leaf_level, -1):
            e = self.ent(table, va, level)
            old = self.get(e)
            if old & P:
                nxt = old & amask
            else:
                nxt = self.free
                self.free += 0x1000
            bits = (links or {}).get(level)
            if bits is None:
                bits = P if self.mode == MODE_PAE and level == 2 else LINK
            self.put(e, nxt | bits)
            table = nxt
        self.put(self.ent(table, va, leaf_level), leaf)


def write(corpus, name, data):
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, corpus, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data)


def seed(name, mode, cr3, flags, img):
    write('corpus', name,
          bytes([mode]) + struct.pack('<Q', cr3) + bytes([flags]) + img)


def trim(mem):
    """The image up to its last non-zero byte (the rest reads as zeros)."""
    return bytes(mem).rstrip(b'\0')


# 4-level: 4 KiB, 2 MiB, 1 GiB leaves in both halves; CR3 with a PCID
im = Image(MODE_4, 0x10000, 0x2000)
im.build(0x1000, 0x00007f1234567000, 0, 0x12345000 | P | W | U | A | D)
im.build(0x1000, 0x0000000040200000, 1, 0x80000000 | PS | P | W | G | PATL)
im.build(0x1000, 0x0000000080000000, 2, 0x1c0000000 | PS | P | U | NX)
im.build(0x1000, 0xffff800000201000, 0, 0x6789a000 | P | G | NX)
seed('4level_chains', MODE_4, 0x1000 | 0x5, 0, trim(im.mem))

# Windows-style self-maps: root entry 510 names the root
for mode, name in ((MODE_4, '4level_selfmap'), (MODE_5, '5level_selfmap')):
    im = Image(mode, 0x10000, 0x2000)
    im.build(0x1000, 0, 0, 0x7000000 | LINK)
    im.put(0x1000 + 510 * 8, 0x1000 | P | W | A)
    seed(name, mode, 0x1000, 0, trim(im.mem))

# sharing bomb: every entry of every table names the next table, one leaf
# in the PT: 2^27 paths, max_leaves stops it
im = Image(MODE_4, 0x5000, 0)
for t in (0x1000, 0x2000, 0x3000):
    for i in range(512):
        im.put(t + i * 8, (t + 0x1000) | LINK)
im.put(0x4000, 0x5000 | P | W)
seed('4level_sharebomb', MODE_4, 0x1000, 0, trim(im.mem))

# the same with an empty PT, 5-level, QEMU's reading: nothing, at once
im = Image(MODE_5, 0x6000, 0)
for t in (0x1000, 0x2000, 0x3000, 0x4000):
    for i in range(512):
        im.put(t + i * 8, (t + 0x1000) | LINK)
seed('5level_shareempty', MODE_5, 0x1000, QEMU, trim(im.mem))

# PAE: the PDPT at a 32-byte boundary (a decoy one at the frame's start)
im = Image(MODE_PAE, 0x10000, 0x2000)
im.build(0x1000, 0, 0, 0x66000 | P)
im.build(0x1020, 0xc0005000, 0, 0x55000 | P | U)
im.build(0x1020, 0x40200000, 1, 0x3c00000000 | PS | P | W | NX)
im.build(0x1020, 0x80000000, 0, 0x77000 | P, {2: P | PWT | PCD})
seed('pae_32byte_root', MODE_PAE, 0x1020 | PWT, 0, trim(im.mem))

# 32-bit with PSE-36 (a 4 MiB page above 4 GiB) and a 4 KiB chain,
# QEMU's reading
im = Image(MODE_32, 0x4000, 0x2000)
im.build(0x1000, 0x80400000, 1, 0xc0000000 | (0x5a << 13) | PS | P | W)
im.build(0x1000, 0xdeadb000, 0, 0x12345000 | P | U)
seed('32bit_pse36', MODE_32, 0x1000, QEMU, trim(im.mem))

# reserved bits with MAXPHYADDR 48: a PML4E with PS, a PDE with bit 51
im = Image(MODE_4, 0x10000, 0x2000)
im.build(0x1000, 0, 0, 0xa000 | P | W)
im.build(0x1000, 0x200000, 0, 0xb000 | P | W)
im.build(0x1000, 1 << 39, 0, 0xc000 | P | W, {3: LINK | PS})
pdpt = im.get(0x1000) & 0x000ffffffffff000
pd = im.get(pdpt) & 0x000ffffffffff000
im.put(pd, im.get(pd) | (1 << 51))
seed('4level_reserved', MODE_4, 0x1000, PAB48, trim(im.mem))

# a PDPT beyond the image and a chain that is inside it
im = Image(MODE_4, 0x8000, 0x2000)
im.put(0x1000, 0x40000000 | LINK)
im.build(0x1000, 1 << 39, 0, 0x3000 | P | W | U)
seed('4level_unbacked', MODE_4, 0x1000, 0, trim(im.mem))

# a bad configuration: an unknown flag bit
seed('bad_flags', MODE_4, 0x1000, 0xf0, bytes(16))


# fuzz_spec: .spec texts.  Pools of at most 2 MiB are applied (built) too.
SPECS = {
    'spec_4level': """mode 4level
pagesizes 4k 2m 1g
pool 0x100000 1m   # tables
map 0x400000 0x400000 4m w x
map 0xffffffff80000000 0x40000000 1g page=1g g
map 0x7fff0000 0x12340000 64k u w pat
protect 0x400000 8k x
unmap 0x401000 4k
""",
    'spec_32bit': """mode 32bit
pool 0x10000 256k
map 0 0 8m w
map 0xc0000000 0x100000000 4m page=4m
unmap 0x1000 0x2000
protect 0 4m u
""",
    'spec_pae': """mode pae
pagesizes 4k 2m
pool 1m 1m
map 0xc0000000 0x80000000 6m pcd pwt
map 0x1000 0x3c00000000 4k page=4k
""",
    'spec_5level': """mode 5level
pool 0x200000 512k
pool 0x100000 512k
map 0xff00000000000000 0x1000 12k w u x g
map 0x100000000000000 0x200000 2m page=2m
unmap 0xff00000000001000 4k
""",
    'spec_np': """mode 4level
pool 1m 256k
map 0x400000 0x800000 2m w sw=3
np 0x401000 8k 0x1000 0x1000
np 0x600000 4k 0x2
""",
    'spec_ept4': """mode ept4
ept ad mbec xonly
pool 0x100000 1m
map 0 0x40000000 1g w x xu mt=wb ipat
map 0x40000000 0x80000000 4m w mt=wc sve vgp pw sw=0x7c
map 0xe0000000 0x120000000 16k x noread mt=6
protect 0x40001000 4k xu
unmap 0x40002000 4k
""",
    'spec_ept5': """mode ept5
ept xonly
pool 0x100000 512k
map 0x00ffffffffe00000 0x80000000 2m w mt=uc
map 0x1000 0x2000 8k x noread page=4k
map 0x3000 0x3000 4k w noread
""",
    'spec_errors_overlap': "pool 1m 1m\npool 1m 4k\nmap 0 0 4k\n",
    'spec_errors_pabits': "mode pae\npool 0x20000000000 1m\n",
    'spec_errors_syntax': "pool 1m 1m\nmap 0x1000 0x1000\nmap zz 0 4k\n",
    'spec_errors_nopool': "mode 5level\nmap 0 0 4k\n",
    'spec_errors_order': "pool 1m 1m\nmode pae\n",
    'spec_errors_apply': "pool 1m 64k\nmap 0x1001 0 4k\nmap 0 0 1t\n",
}
for name, text in SPECS.items():
    write('corpus_spec', name, text.encode())

# fuzz_import: [mode][cfg][nwrites] records [frame][entry lo][entry hi]
# [value 8] (bit 7 of hi: the value's address keeps bits 12..14 only),
# then operations [op][idx lo][idx hi][len][attr].
MAP, UNMAP, PROTECT, LOCK, AD, WALK, XLATE = 0, 2, 3, 4, 5, 6, 7
HT_X = 4      # HT_X in an operation's attr byte


def rec(frame, entry, value, link=False):
    hi = (entry >> 8) | (0x80 if link else 0)
    return bytes([frame, entry & 0xff, hi]) + struct.pack('<Q', value)


def op(kind, gran, idx, ln, attr, var=0):
    return bytes([kind | (gran << 3) | (var << 6), idx & 0xff, idx >> 8,
                  ln, attr])


def chain(mode):
    """A root (frame 0) linking down to a page table with a few leaves."""
    levels = GEOM[mode][0]
    recs = []
    for lvl in range(levels - 1, 0, -1):
        frame = levels - 1 - lvl
        bits = P if mode == MODE_PAE and lvl == 2 else LINK
        recs.append(rec(frame, 0, ((frame + 1) << 12) | bits, link=True))
    last = levels - 1
    for e in (0, 1, 7):
        recs.append(rec(last, e, (0x100000 + e * 0x1000) | P | W | A | D))
    recs.append(rec(last, 9, 0x200000 | P | W | 0x200))    # locked
    return recs


OPS = (op(XLATE, 0, 1, 0, 0) + op(MAP, 0, 3, 2, W) + op(LOCK, 0, 3, 0, 0) +
       op(UNMAP, 0, 0, 15, 0) + op(UNMAP, 0, 0, 15, 0, var=1) +
       op(MAP, 1, 2, 0x13, W | U, var=2) + op(PROTECT, 1, 2, 0x10, 0) +
       op(AD, 0, 0, 0x1f, 0, var=1) + op(WALK, 0, 0, 0, 0) +
       op(MAP, 2, 5, 0x20, HT_X | 0x80 | (1 << 5)) + op(UNMAP, 3, 0, 0x30, 0))
for mode, name in ((MODE_32, 'import_32bit'), (MODE_PAE, 'import_pae'),
                   (MODE_4, 'import_4level'), (MODE_5, 'import_5level')):
    recs = chain(mode)
    write('corpus_import', name,
          bytes([mode, 0, len(recs)]) + b''.join(recs) + OPS)
# hostile: a self-map, a shared table, reserved bits, a non-present entry
# with garbage in it, a table beyond the physical width
HOSTILE = {
    'import_selfmap': [rec(0, 0, 0x1000 | LINK, True),
                       rec(0, 510, LINK, True)],
    'import_shared': [rec(0, 0, 0x1000 | LINK, True),
                      rec(0, 1, 0x1000 | LINK, True)],
    'import_reserved': [rec(0, 0, 0x1000 | LINK | PS, True)],
    'import_notpresent': [rec(0, 0, 0x1000 | LINK, True),
                          rec(1, 3, 0xdeadbeef000 | W | U),
                          rec(1, 4, 0x2000 | LINK, True)],
    'import_beyond': [rec(0, 5, (1 << 40) | LINK)],
}
for name, recs in HOSTILE.items():
    write('corpus_import', name,
          bytes([MODE_4, 3 << 2, len(recs)]) + b''.join(recs) +
          op(MAP, 2, 0, 0, W) + op(MAP, 3, 0, 0x10, W) + op(WALK, 0, 0, 0, 0))
