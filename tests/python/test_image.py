"""Images and dump files (libhtimage): what a dump recorded, its leaves
against the raw image's, candidate roots, and files that are no image
or a broken one (an exception with a clear message, never a crash)."""

import errno
import os

import pytest

import htable
from htable import Mode

from conftest import run


def raw_leaves(kimg):
    img, mode, cr3 = kimg
    with htable.Image.open(img) as im:
        return list(im.space(cr3, mode).leaves())


def test_raw_image(kimg):
    img, mode, cr3 = kimg
    with htable.Image.open(img) as im:
        assert (im.format, im.is_dump, im.cpus) == ("raw", False, ())
        assert im.size == os.path.getsize(img)
        assert im.read(cr3, 8) == open(img, "rb").read()[cr3:cr3 + 8]
        # beyond the end: zeros
        assert im.read(im.size - 4, 8) == open(img, "rb").read()[-4:] + \
            b"\0" * 4
        assert im.is_data(cr3) and not im.is_data(im.size + 4096)
        assert im.bad_pages().count == 0
        with pytest.raises(htable.InvalidArgument, match="no CPU state"):
            im.space()
        best = im.roots()[0]
        assert (best.mode, best.cr3) == (Mode.LEVEL4, cr3)
        assert best.leaves == 52 and best.selfmap is None


def test_elf_core(kcore, kimg):
    with htable.Image.open(kcore) as im:
        assert im.is_dump and im.format == "elf"
        assert im.description == "ELF64 dump"
        assert im.warnings == () and im.warnings_lost == 0
        assert im.cpus == (htable.DumpCpu(True, Mode.LEVEL4, False,
                                          0x80000011, kimg[2], 0x20,
                                          "qemu-note"),)
        view = im.space()           # CPU 0's root and mode
        assert (view.cr3, view.mode) == (kimg[2], Mode.LEVEL4)
        assert list(view.leaves()) == raw_leaves(kimg)
        assert view.translate(0x401000).pa == 0x20001000
        assert im.roots()[0].cr3 == kimg[2]
        assert im.bad_pages().count == 0


def test_kdump(kimg, mkcore, tmp_path):
    path = str(tmp_path / "k.kdump")
    run([mkcore, "kdump", path, kimg[0], "--compress", "zlib"])
    with htable.Image.open(path) as im:
        assert im.is_dump and im.format == "diskdump"
        assert im.cpus[0].cr3 == kimg[2]
        assert list(im.space().leaves()) == raw_leaves(kimg)


def test_cpus_of_a_dump(built, mkcore, tmp_path):
    img = built["kernel-4level"][0]
    two = str(tmp_path / "two.core")
    run([mkcore, "elf", two, img, "--cr3", "0x100000", "--cr3",
         "0x113003", "--cr4", "0x20020"])
    with htable.Image.open(two) as im:
        assert [c.cr3 for c in im.cpus] == [0x100000, 0x113003]
        assert im.space(cpu=1).cr3 == 0x113003
        assert im.space(0x200000).cr3 == 0x200000
        assert im.space(mode="5level").mode == Mode.LEVEL5
        with pytest.raises(htable.InvalidArgument, match="CPUs 0 to 1"):
            im.space(cpu=2)
    off = str(tmp_path / "off.core")
    run([mkcore, "elf", off, img, "--cr0", "0x11"])
    with htable.Image.open(off) as im:
        assert not im.cpus[0].paging and im.cpus[0].mode is None
        with pytest.raises(htable.InvalidArgument, match="paging off"):
            im.space()
        assert len(list(im.space(0x100000, "4level").leaves())) == 52
    none = str(tmp_path / "none.core")
    run([mkcore, "elf", none, img, "--no-qemu"])
    with htable.Image.open(none) as im:
        assert im.cpus == ()
        with pytest.raises(htable.InvalidArgument, match="the dump records "
                           "no CPU state"):
            im.space()


def test_not_images(tmp_path, mkcore):
    with pytest.raises(htable.ImageError) as ei:
        htable.Image.open(str(tmp_path))
    e = ei.value
    assert (e.code, e.name) == (2, "HTI_ENOTREG")
    assert str(tmp_path) in str(e) and "not a regular file" in str(e)
    with pytest.raises(FileNotFoundError) as fi:
        htable.Image.open(str(tmp_path / "missing"))
    assert fi.value.errno == errno.ENOENT
    assert fi.value.filename == str(tmp_path / "missing")
    flat = str(tmp_path / "flat.core")
    run([mkcore, "flat", flat])
    with pytest.raises(htable.ImageError, match="makedumpfile -R") as ei:
        htable.Image.open(flat)
    assert ei.value.name == "HTI_EFLAT"
    bad = tmp_path / "bad.core"
    bad.write_bytes(b"\x7fELF" + b"\xff" * 200)
    with pytest.raises(htable.ImageError) as ei:
        htable.Image.open(str(bad))
    assert ei.value.name == "HTI_EDUMP" and ei.value.detail
    # an empty file is an empty raw image
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    with htable.Image.open(str(empty)) as im:
        assert im.size == 0
        assert list(im.space(0x1000, "4level").leaves()) == []
    with pytest.raises(TypeError):
        htable.Image.open(None)


def test_truncated_dump(kcore, tmp_path):
    data = open(kcore, "rb").read()
    # cut in the ELF header: refused, in the reader's words
    cut = tmp_path / "cut64.core"
    cut.write_bytes(data[:64])
    with pytest.raises(htable.ImageError) as ei:
        htable.Image.open(str(cut))
    assert ei.value.name == "HTI_EDUMP" and ei.value.detail
    # cut in its memory: opened, with a warning; the tables are gone
    cut = tmp_path / "cutmem.core"
    cut.write_bytes(data[:5088])
    with htable.Image.open(str(cut)) as im:
        assert any("truncated dump" in w for w in im.warnings), \
            im.warnings
        # what is missing reads as zeros (as the command reads it): the
        # root is an empty table
        view = im.space()
        assert list(view.leaves()) == []
        assert view.last_stats.tables == 1
    # every cut opens or raises: no other outcome
    for n in range(0, 1200, 37):
        cut.write_bytes(data[:n])
        try:
            with htable.Image.open(str(cut)) as im:
                if im.cpus and im.cpus[0].paging:
                    list(im.space().leaves())
        except htable.ImageError as e:
            assert e.detail


def test_roots_arguments(kcore):
    with htable.Image.open(kcore) as im:
        with pytest.raises(htable.ImageError) as ei:
            im.roots(modes=["ept4"])
        assert ei.value.name == "HTI_EMODE"
        with pytest.raises(htable.InvalidArgument):
            im.roots(modes=[])
        with pytest.raises(htable.InvalidArgument):
            im.roots(modes=["sideways"])
        assert {r.mode for r in im.roots(modes=["pae", "32bit"])} <= {
            Mode.PAE, Mode.BIT32}


def test_closed_image(kcore):
    im = htable.Image.open(kcore)
    view = im.space()
    im.close()
    im.close()
    assert im.closed
    for call in (lambda: im.read(0, 8), im.roots, im.space,
                 view.leaves, lambda: view.translate(0)):
        with pytest.raises(ValueError, match="closed"):
            call()
