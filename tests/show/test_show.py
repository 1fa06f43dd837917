#!/usr/bin/python3
"""The page of `htable show` in a real browser.

test_show.py HTABLE EXAMPLES CLI_DIR OUT_DIR

Builds images of the shipped layouts in every mode (and two large ones:
a 1 GiB mapping in 4 KiB pages, 262,144 leaves; 65,536 ranges), makes
their pages with `htable show`, and opens each in Debian's Chromium,
headless, driven through the DevTools protocol (python3-websocket).  It
checks through the DOM what the page shows: the number of ranges drawn
against the lines of `htable dump`; after moving the mouse onto the map
(a real mouse event at the pixel the page says holds a VA), the walk it
prints against `htable translate` of the VA it names, byte for byte,
and its range line against dump's; the same for addresses typed into
its "go to" box, mapped or not, canonical or not.  It saves screenshots
in OUT_DIR and prints how long each page took to open (not a pass/fail
test: the benchmarks' business).  Bad input: a data file that is not
picture data is refused and leaves nothing behind; data that passes the
command's check but is not version 1, or would make the page go wrong
(links to no table, ranges out of order, entries past a table's end), is
said on the page, which then draws nothing.

Without chromium or python3-websocket it says so and skips (exit 77).
The last line on stderr is the Criterion-style synthesis that
scripts/check.sh counts.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

PASS = FAIL = 0


def synthesis():
    print("[====] Synthesis: Tested: %d | Passing: %d | Failing: %d | "
          "Crashing: 0" % (PASS + FAIL, PASS, FAIL), file=sys.stderr)


def check(ok, what):
    global PASS, FAIL
    if ok:
        PASS += 1
    else:
        FAIL += 1
        print("FAIL: " + what, file=sys.stderr)
    return ok


def skip(why):
    print("test_show: skipped: " + why, file=sys.stderr)
    synthesis()
    sys.exit(77)


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cdp  # noqa: E402 (the path above)
import layouts  # noqa: E402

if cdp.CHROMIUM is None:
    skip("no chromium (Debian's package chromium: scripts/deps.sh --tests "
         "installs it)")
if cdp.websocket is None:
    skip("no python3-websocket (scripts/deps.sh --tests installs it)")


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def main():
    htable, examples, cli_dir, out_dir = sys.argv[1:5]
    tmp = tempfile.mkdtemp(prefix="htable-show.")
    try:
        browser = cdp.Browser(tmp)
    except Exception as e:
        shutil.rmtree(tmp, ignore_errors=True)
        skip("chromium would not start here: %s" % e)
    try:
        cases(browser, htable, examples, cli_dir, out_dir, tmp)
    finally:
        browser.close()
        shutil.rmtree(tmp, ignore_errors=True)


def build(htable, spec, img):
    """Build spec into img: [(name, cr3, mode, ept)] of its roots."""
    r = run([htable, "build", spec, "-o", img])
    if not check(r.returncode == 0, "build %s: %s" % (spec, r.stderr)):
        return []
    last = r.stdout.strip().splitlines()[-1]
    mode = re.search(r"mode=(\S+)", last).group(1)
    m = re.search(r" ept=(\S+)", last)
    ept = m.group(1) if m else None
    roots = re.findall(r"^root (\S+) cr3=(0x[0-9a-f]+)", r.stdout, re.M)
    if not roots:
        roots = [("", re.search(r"cr3=(0x[0-9a-f]+)", last).group(1))]
    return [(n, c, mode, ept) for n, c in roots]


def root_args(root):
    name, cr3, mode, ept = root
    a = ["--cr3", cr3, "--mode", mode]
    if ept:
        a += ["--ept", ept]
    return a


def dump_lines(htable, img, root):
    r = run([htable, "dump", img] + root_args(root))
    check(r.returncode == 0, "dump %s: %s" % (img, r.stderr))
    return r.stdout.splitlines()


def translate(htable, img, root, va):
    r = run([htable, "translate", img] + root_args(root) + [va])
    return r.stdout


def walk_va(text):
    m = re.match(r"va (0x[0-9a-f]+): ", text or "")
    return m.group(1) if m else None


def check_walk(b, htable, img, root, what):
    """The page's walk and range line against translate and dump."""
    text = b.eval("document.getElementById('walk').textContent")
    va = walk_va(text)
    if not check(va is not None, "%s: the walk names no VA: %r" %
                 (what, text)):
        return None
    want = translate(htable, img, root, va)
    check(text == want, "%s: walk of %s:\npage:\n%s\ntranslate:\n%s" %
          (what, va, text, want))
    line = b.eval("document.getElementById('rangeline').textContent")
    if want.split("\n")[0].split(": ", 1)[1].startswith("pa "):
        v = int(va, 16)
        hits = [l for l in dump_lines(htable, img, root)
                if int(l[0:16], 16) <= v <= int(l[17:33], 16)]
        check(hits == [line], "%s: range line %r, dump has %r" %
              (what, line, hits))
    else:
        check(line == "not mapped", "%s: range line %r for an unmapped "
              "VA" % (what, line))
    return va


def check_diff(b, htable, imgs, roots, i, j, what):
    """The page's diff of space i to j against htable diff's output."""
    b.eval("htShow.select(%d)" % i)
    if b.eval("htShow.spaces()[%d].mode !== htShow.spaces()[%d].mode" %
              (i, j)):
        return
    b.eval("htShow.compare(%d)" % j)
    page = b.eval("htShow.diffText()")
    ri, rj = roots[i], roots[j]
    if len(imgs) == 1:
        args = [htable, "diff", imgs[0], "--cr3", ri[1], "--cr3", rj[1],
                "--mode", ri[2]]
    else:
        args = [htable, "diff", imgs[0], imgs[1], "--cr3", ri[1], "--mode",
                ri[2]]
    r = run(args)
    check(r.returncode in (0, 3) and page == r.stdout,
          "%s: diff on the page:\n%s\nhtable diff (rc %d):\n%s%s" %
          (what, page, r.returncode, r.stdout, r.stderr))
    shown = b.eval("document.getElementById('difftext').dataset.lines")
    check(shown == str(len(r.stdout.splitlines()) - 1),
          "%s: %s lines shown" % (what, shown))
    b.eval("htShow.compare(-1)")


def hover_at(b, va):
    """Move the mouse onto the pixel holding va; False if not shown."""
    b.eval("htShow.unpin()")
    p = b.eval("htShow.pointOf('%s')" % va)
    if p is None:
        return False
    # away first, so that a move onto the same pixel is an event too
    b.hover(1, 1)
    b.hover(p["x"], p["y"])
    return True


def page_case(b, htable, img, roots, html, out_dir, tag, shot=None,
              extra_vas=()):
    t = b.load(html)
    print("%s: page ready in %.0f ms (load to ready, wall clock); "
          "script %.0f ms after navigation start" %
          (tag, t * 1000, b.eval("htShow.openMs")), file=sys.stderr)
    if not check(b.eval("htShow.error === undefined"),
                 "%s: the page says %s" % (tag, b.eval("htShow.error"))):
        return
    spaces = b.eval("htShow.spaces()")
    check(len(spaces) == len(roots), "%s: %d spaces on the page, %d roots"
          % (tag, len(spaces), len(roots)))
    lines0 = dump_lines(htable, img, roots[0])[0]
    for i, root in enumerate(roots[:len(spaces)]):
        b.eval("htShow.select(%d)" % i)
        lines = dump_lines(htable, img, root)
        n = int(b.eval("document.getElementById('nranges').textContent"))
        drawn = int(b.eval("document.getElementById('ndrawn')"
                           ".textContent"))
        check(n == len(lines), "%s space %d: %d ranges on the page, dump "
              "prints %d" % (tag, i, n, len(lines)))
        check(drawn == n, "%s space %d: %d ranges drawn of %d in the whole"
              " space" % (tag, i, drawn, n))
        # the mouse on ranges: the first, the last and some between,
        # seen whole (the pixel's first mapped byte) and close up
        picks = sorted(set([0, len(lines) - 1, len(lines) // 2,
                            len(lines) // 3]))
        for k in picks:
            if k < 0:
                continue
            start = "0x" + lines[k][0:16]
            b.eval("htShow.view(0, Infinity)")
            if check(hover_at(b, start), "%s: range %d (%s) is not on the "
                     "whole map" % (tag, k, start)):
                check_walk(b, htable, img, root, "%s space %d range %d, "
                           "whole view" % (tag, i, k))
            # close up: 64 pages around the range's start, the mouse on
            # a byte in its middle page
            mid = int(lines[k][0:16], 16) + min(
                (int(lines[k][17:33], 16) - int(lines[k][0:16], 16)) // 2,
                0x3fff) + 0x123
            b.eval("htShow.goTo('%x')" % mid)
            b.eval("htShow.unpin()")
            if check(hover_at(b, "0x%x" % mid), "%s: 0x%x not on the map "
                     "after going there" % (tag, mid)):
                check_walk(b, htable, img, root, "%s space %d range %d, "
                           "close up" % (tag, i, k))
        # typed addresses: mapped, unmapped, outside the space
        for va in list(extra_vas) + ["0x" + lines[0][0:16], "0x1234"]:
            b.eval("htShow.goTo('%s')" % va)
            check_walk(b, htable, img, root, "%s space %d go to %s" %
                       (tag, i, va))
    if shot:
        b.eval("htShow.select(0); htShow.view(0, Infinity)")
        b.screenshot(os.path.join(out_dir, shot + ".png"))
        # close up: the first range, the mouse on it
        b.eval("htShow.goTo('%s'); htShow.unpin()" % ("0x" + lines0[0:16]))
        b.eval("htShow.view(Math.max(0, parseInt('%s', 16) / 4096 - 512),"
               " 3072)" % lines0[0:16])
        if hover_at(b, "0x" + lines0[0:16]):
            b.screenshot(os.path.join(out_dir, shot + "-zoom.png"))


def cases(b, htable, examples, cli_dir, out_dir, tmp):
    specs = [("kernel-4level", ["0xffff800000000000", "0x7fffffffe123",
                                "0xffffffff81234567"]),
             ("la57-5level", ["0x0100000000000000", "0xff00000000000000"]),
             ("pae", ["0x100000000", "0xfffff000"]),
             ("flat-32bit", ["0x100000000", "0xc0000000"]),
             ("ept4", ["0x1000000000000", "0x7fffffffffff"])]
    for name, vas in specs:
        img = os.path.join(tmp, name + ".img")
        roots = build(htable, os.path.join(examples, name + ".spec"), img)
        if not roots:
            continue
        html = os.path.join(tmp, name + ".html")
        r = run([htable, "show", img] + root_args(roots[0]) + ["-o", html])
        if check(r.returncode == 0, "show %s: %s" % (name, r.stderr)):
            page_case(b, htable, img, roots, html, out_dir, name,
                      shot="show-%s" % name if name ==
                      "kernel-4level" else None, extra_vas=vas)

    # several roots: --roots, one space each, shared tables between them
    img = os.path.join(tmp, "multi.img")
    r = run([htable, "build", os.path.join(cli_dir, "multi.spec"), "-o",
             img])
    if check(r.returncode == 0, "build multi: " + r.stderr):
        rootsf = os.path.join(tmp, "multi.roots")
        with open(rootsf, "w") as f:
            f.write(r.stdout)
        roots = build(htable, os.path.join(cli_dir, "multi.spec"), img)
        html = os.path.join(tmp, "multi.html")
        r = run([htable, "show", img, "--roots", rootsf, "-o", html])
        if check(r.returncode == 0, "show multi: " + r.stderr):
            page_case(b, htable, img, roots, html, out_dir, "multi")
            # the page's diff of every pair against htable diff
            for i in range(len(roots)):
                for j in range(len(roots)):
                    if i != j:
                        check_diff(b, htable, [img], roots, i, j,
                                   "multi %d->%d" % (i, j))
            b.eval("htShow.select(0)")
            txt = b.eval("document.getElementById('levels').textContent")
            check("in other spaces" in txt, "multi: no sharing column")
            others = b.eval("[...document.querySelectorAll('#levels tr')]"
                            ".slice(1).map(r => +r.children[3]"
                            ".textContent).reduce((a, b) => a + b, 0)")
            check(others > 0, "multi: kern shares no table with the "
                  "CPU root that runs it")

    # big: a 1 GiB mapping in 4 KiB pages, and 65,536 ranges
    big = os.path.join(tmp, "big.spec")
    layouts.write_big_spec(big)
    img = os.path.join(tmp, "big.img")
    roots = build(htable, big, img)
    if roots:
        html = os.path.join(tmp, "big.html")
        r = run([htable, "show", img] + root_args(roots[0]) + ["-o", html])
        if check(r.returncode == 0, "show big: " + r.stderr):
            page_case(b, htable, img, roots, html, out_dir,
                      "65,536 ranges + 262,144 leaves",
                      extra_vas=["0xffffc90012345678"])
            leaves = int(b.eval("document.getElementById('nleaves')"
                                ".textContent"))
            check(leaves == 262144 + 65536, "big: %d leaves on the page"
                  % leaves)

    # data files: two snapshots of one space, side by side in one page
    img = os.path.join(tmp, "kernel-4level.img")
    roots = build(htable, os.path.join(examples, "kernel-4level.spec"), img)
    if roots:
        a = os.path.join(tmp, "a.json")
        r = run([htable, "show", img] + root_args(roots[0]) +
                ["--format", "json", "-o", a])
        check(r.returncode == 0, "show --format json: " + r.stderr)
        html = os.path.join(tmp, "data.html")
        r = run([htable, "show", "--data", a, "--data", a, "-o", html])
        if check(r.returncode == 0, "show --data: " + r.stderr):
            page_case(b, htable, img, roots * 2, html, out_dir, "data")
        # two snapshots: the page's diff against htable diff's
        spec2 = os.path.join(tmp, "k2.spec")
        with open(os.path.join(examples, "kernel-4level.spec")) as f:
            t = f.read()
        t = t.replace("map 0x600000 0x20100000 132k u w",
                      "map 0x600000 0x20100000 132k u")
        t = t.replace("map 0x7fffffffd000 0x20200000 12k u w",
                      "map 0x7fffffffd000 0x20300000 12k u w")
        t = re.sub(r"(?m)^unmap 0x610000 4k.*$", "", t)
        t += "map 0x800000 0x30000000 8k u w\nmap 0xffff888000000000 0 " \
             "1g w\n"
        with open(spec2, "w") as f:
            f.write(t)
        img2 = os.path.join(tmp, "k2.img")
        b2 = os.path.join(tmp, "b.json")
        if build(htable, spec2, img2) and check(run(
                [htable, "show", img2] + root_args(roots[0]) +
                ["--format", "json", "-o", b2]).returncode == 0,
                "show k2 --format json"):
            html = os.path.join(tmp, "snap.html")
            r = run([htable, "show", "--data", a, "--data", b2, "-o", html])
            if check(r.returncode == 0, "show snapshots: " + r.stderr):
                b.load(html)
                check_diff(b, htable, [img, img2], roots * 2, 0, 1,
                           "snapshots")
                check_diff(b, htable, [img2, img], roots * 2, 1, 0,
                           "snapshots back")
        # not picture data: refused, nothing written
        bad = os.path.join(tmp, "bad.json")
        with open(bad, "w") as f:
            f.write('{"htable_picture":1,"name":"</script><b>x"}')
        out = os.path.join(tmp, "bad.html")
        r = run([htable, "show", "--data", bad, "-o", out])
        check(r.returncode == 2 and "'<'" in r.stderr and
              not os.path.exists(out), "a data file with '<': rc %d, %r, "
              "output left: %s" % (r.returncode, r.stderr,
                                   os.path.exists(out)))
        left = [f for f in os.listdir(tmp) if f.startswith("bad.html")]
        check(left == [], "temporary files left behind: %r" % left)
        # the command's check passes, the page's reading does not: a
        # version it does not know, and data from elsewhere that would
        # make it go wrong (a link to a table that is not there, to one
        # of another level, ranges out of order, an entry past the
        # table's end, no root): it says so and draws nothing
        with open(a) as f:
            good = f.read().strip()[1:-1].strip()   # the object
        p = json.loads(good)
        crafted = [('{"htable_picture":2}', "version 1")]

        def mutate(fn, what):
            q = json.loads(good)
            fn(q)
            crafted.append((json.dumps(q, separators=(",", ":")), what))

        def link_to(q, k):
            for e in q["tables"][0][4]:
                if e[2] == 1:
                    e[4] = k
                    return

        mutate(lambda q: link_to(q, 999), "table 0")
        mutate(lambda q: link_to(q, 0), "table 0")
        mutate(lambda q: q["ranges"].reverse(), "range 1")
        mutate(lambda q: q["tables"][0][4][-1].__setitem__(0, 600),
               "table 0")
        mutate(lambda q: q.__setitem__("tables", []), "no root")
        mutate(lambda q: q["geometry"].__setitem__("levels", 9),
               "geometry")
        check(len(p["tables"]) > 1, "kernel-4level's data has no links")
        for data, what in crafted:
            with open(bad, "w") as f:
                f.write(data)
            r = run([htable, "show", "--data", bad, "-o", out])
            if not check(r.returncode == 0, "crafted data: " + r.stderr):
                continue
            b.load(out)
            err = b.eval("document.getElementById('error') && "
                         "document.getElementById('error').textContent")
            check(err is not None and what in err and
                  b.eval("document.getElementById('map') === null"),
                  "crafted data (%s): the page says %r" % (what, err))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:
        check(False, "test_show: %s: %s" % (type(e).__name__, e))
    synthesis()
    sys.exit(1 if FAIL else 0)
