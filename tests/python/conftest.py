"""What the Python package's tests share: the paths run.sh passes in the
environment, running the htable command and mkcore, and the images they
build (once per session).

Run through meson (`meson test -C BUILD python`): run.sh sets
HTABLE_LIBRARY, HTABLE_IMAGE_LIBRARY, HTABLE_CMD, HTABLE_MKCORE,
HTABLE_SRC, HTABLE_BUILD, HTABLE_CC and, in an ASan build,
HTABLE_PRELOAD.  A test that needs one that is missing skips, saying
which.
"""

import os
import re
import subprocess

import pytest

SRC = os.environ.get("HTABLE_SRC") or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(SRC, "examples")
# the examples read in x86 paging, and their modes
X86_SPECS = {"kernel-4level": "4level", "la57-5level": "5level",
             "pae": "pae", "flat-32bit": "32bit"}


def env_path(name):
    """The path in environment variable name, or skip the test."""
    p = os.environ.get(name)
    if not p:
        pytest.skip("%s is not set: run these tests through `meson test "
                    "python` (tests/python/run.sh)" % name)
    return p


def run(args, preload=False, check=True, **kw):
    """Run a program; preload: with the sanitizer runtimes (a python
    that imports the package), else without (everything else: the
    command is instrumented itself, cc and pip are not).  env: variables
    to set, or with None to remove."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if preload and os.environ.get("HTABLE_PRELOAD", "").strip():
        env["LD_PRELOAD"] = os.environ["HTABLE_PRELOAD"].strip()
    for k, v in kw.pop("env", {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    r = subprocess.run(args, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, **kw)
    if check and r.returncode != 0:
        raise AssertionError("%s: exit %d\n%s" % (" ".join(map(str, args)),
                                                  r.returncode, r.stderr))
    return r


@pytest.fixture(scope="session")
def htable_cmd():
    return env_path("HTABLE_CMD")


@pytest.fixture(scope="session")
def mkcore():
    return env_path("HTABLE_MKCORE")


@pytest.fixture(scope="session")
def built(htable_cmd, tmp_path_factory):
    """Every x86 example built by the command: name -> (image, mode,
    cr3)."""
    d = tmp_path_factory.mktemp("img")
    out = {}
    for name, mode in X86_SPECS.items():
        img = str(d / (name + ".img"))
        r = run([htable_cmd, "build", os.path.join(EXAMPLES, name + ".spec"),
                 "-o", img])
        m = re.search(r"^mode=(\S+) cr3=0x([0-9a-f]+)$", r.stdout, re.M)
        assert m, r.stdout
        assert m.group(1) == mode
        out[name] = (img, mode, int(m.group(2), 16))
    return out


@pytest.fixture(scope="session")
def kimg(built):
    """examples/kernel-4level.spec built: (image, mode, cr3)."""
    return built["kernel-4level"]


@pytest.fixture(scope="session")
def kcore(kimg, mkcore, tmp_path_factory):
    """An ELF core of kimg as QEMU writes it (one CPU, its CR3)."""
    path = str(tmp_path_factory.mktemp("core") / "k.core")
    run([mkcore, "elf", path, kimg[0]])
    return path


def compile_run(source, tmp_path):
    """Compile C source against include/ and tools/image/ with the
    build's compiler (HTABLE_CC, else cc) and run it: its stdout.  Skips
    when there is no compiler."""
    import shutil
    cc = os.environ.get("HTABLE_CC") or "cc"
    if shutil.which(cc) is None:
        pytest.skip("no C compiler (%s) to check the C side with" % cc)
    c = tmp_path / "probe.c"
    exe = tmp_path / "probe"
    c.write_text(source)
    run([cc, "-std=c11", "-Wall", "-Werror", "-I", os.path.join(SRC,
         "include"), "-I", os.path.join(SRC, "tools", "image"), str(c),
         "-o", str(exe)])
    return run([str(exe)]).stdout
