"""Pictures from Python: a space's picture data (ht_as_picture) and an
image's (ht_scan_picture) are the library's JSON, equal to what `htable
show --format json` writes for the same tables, and `htable show --data`
makes a page of them; errors raise."""

import json

import pytest

import htable

from conftest import run


def test_space_picture_equals_its_scan():
    with htable.Context(htable.Mode.LEVEL4) as ctx:
        sp = ctx.space()
        sp.map(0x400000, 0x20000000, 0x5000, htable.Attr.W | htable.Attr.U)
        sp.map(0xffff888000000000, 0, 1 << 30, htable.Attr.W)
        a = sp.picture("mine")
        b = sp.scanned().picture("mine")
        assert a == b
        p = json.loads(a)
        assert p["htable_picture"] == 1 and p["name"] == "mine"
        assert p["mode"] == "4level"
        assert p["stats"]["ranges"] == 2
        assert p["stats"]["leaves"] == 5 + 1     # one 1 GiB page
        # the ranges as [vpn, pages, ppn, level, eff, attr]
        assert p["ranges"][0][:4] == [0x400, 5, 0x20000, 0]
        assert p["ranges"][1][1] == (1 << 30) >> 12


def test_image_picture_is_the_commands(kimg, htable_cmd, tmp_path):
    img, mode, cr3 = kimg
    with htable.Image.open(img) as im:
        data = im.space(cr3=cr3, mode=mode).picture("kernel-4level.img")
    out = tmp_path / "k.json"
    run([htable_cmd, "show", img, "--cr3", hex(cr3), "--mode", mode,
         "--format", "json", "-o", str(out)])
    cmd = json.loads(out.read_text())
    assert cmd == [json.loads(data)]
    # the command makes a page of the data
    (tmp_path / "mine.json").write_text(data)
    page = tmp_path / "p.html"
    run([htable_cmd, "show", "--data", str(tmp_path / "mine.json"), "-o",
         str(page)])
    assert '"name":"kernel-4level.img"' in page.read_text()


def test_picture_errors():
    with htable.Context(htable.Mode.LEVEL4) as ctx:
        sp = ctx.space(htable.constants.AsFlag.COPIED)
        with pytest.raises(htable.InvalidArgument) as e:
            sp.picture()
        assert "COPIED" in str(e.value)
    raw = bytes(0x3000)
    s = htable.ScannedSpace(lambda pa, n: raw[pa:pa + n],
                            htable.Mode.LEVEL4, 0x1000, max_leaves=1)
    assert json.loads(s.picture())["stats"]["leaves"] == 0

    def boom(pa, n):
        raise KeyError("reader")

    with pytest.raises(KeyError):
        htable.ScannedSpace(boom, htable.Mode.LEVEL4, 0x1000).picture()
