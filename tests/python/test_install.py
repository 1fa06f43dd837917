"""The package installs: `pip install` from the tree (offline, into a
directory) and `meson install --destdir`; the installed copy imports
and runs.  Each skips, saying why, where its tool is missing."""

import glob
import os
import shutil
import subprocess
import sys

import pytest

from conftest import SRC, env_path, run

PROBE = """
import sys, htable
assert htable.__file__.startswith(sys.argv[1]), htable.__file__
with htable.Context("4level") as c:
    s = c.space()
    s.map(0x400000, 0x20000000, 0x2000, htable.Attr.W)
    assert s.va2pa(0x401234) == 0x20001234
with htable.Image.open(sys.argv[2]) as im:
    assert im.cpus[0].cr3 == 0x100000
    print(len(list(im.space().leaves())))
"""


def has_module(name):
    r = subprocess.run([sys.executable, "-c", "import " + name],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return r.returncode == 0


def test_pip_install(tmp_path, kcore):
    for m in ("pip", "setuptools"):
        if not has_module(m):
            pytest.skip("no %s for %s (Debian: python3-%s)"
                        % (m, sys.executable, m))
    # a copy: pip builds in the tree it is given
    src = tmp_path / "src"
    shutil.copytree(os.path.join(SRC, "python"), str(src),
                    ignore=shutil.ignore_patterns("__pycache__", "build",
                                                  "*.egg-info"))
    target = tmp_path / "target"
    run([sys.executable, "-m", "pip", "install", "--no-build-isolation",
         "--no-index", "--no-cache-dir", "--disable-pip-version-check",
         "--quiet", "--target", str(target), str(src)])
    assert (target / "htable" / "__init__.py").exists()
    r = run([sys.executable, "-c", PROBE, str(target), kcore],
            preload=True, env={"PYTHONPATH": str(target)})
    assert r.stdout.strip() == "52"


def test_meson_install(tmp_path, kcore):
    build = env_path("HTABLE_BUILD")
    meson = shutil.which("meson")
    if meson is None:
        pytest.skip("no meson on PATH")
    dest = tmp_path / "dest"
    run([meson, "install", "-C", build, "--no-rebuild", "--quiet",
         "--destdir", str(dest), "--tags", "runtime,python-runtime"])
    paths = glob.glob(str(dest / "**" / "htable" / "_paths.py"),
                      recursive=True)
    assert len(paths) == 1, paths
    pkg = os.path.dirname(paths[0])
    ns = {}
    exec(open(paths[0]).read(), ns)
    libdir = ns["LIBDIR"]
    assert os.path.isabs(libdir)
    lib = str(dest) + libdir
    for so in ("libhtable.so.0", "libhtimage.so.0"):
        assert os.path.exists(os.path.join(lib, so)), so
    assert sorted(os.path.basename(p) for p in glob.glob(pkg + "/*.py")) == [
        "__init__.py", "_lib.py", "_paths.py", "constants.py", "errors.py",
        "image.py", "records.py", "scan.py", "space.py"]
    site = os.path.dirname(pkg)
    r = run([sys.executable, "-c", PROBE, site, kcore], preload=True,
            env={"PYTHONPATH": site,
                 "HTABLE_LIBRARY": os.path.join(lib, "libhtable.so.0"),
                 "HTABLE_IMAGE_LIBRARY": os.path.join(lib,
                                                      "libhtimage.so.0")})
    assert r.stdout.strip() == "52"
    # with no variable set, the package loads the libraries from the
    # directory _paths.py names (here: the one under dest)
    alt = tmp_path / "alt"
    shutil.copytree(pkg, str(alt / "htable"))
    (alt / "htable" / "_paths.py").write_text("LIBDIR = %r\n" % lib)
    r = run([sys.executable, "-c", "import htable, htable._lib as L; "
             "print(L.ht._name); print(L.hti()._name)"], preload=True,
            env={"PYTHONPATH": str(alt), "HTABLE_LIBRARY": None,
                 "HTABLE_IMAGE_LIBRARY": None})
    assert r.stdout.split() == [os.path.join(lib, "libhtable.so.0"),
                                os.path.join(lib, "libhtimage.so.0")]
