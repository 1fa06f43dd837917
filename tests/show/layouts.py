"""The large layout that the browser test of `htable show` and its
benchmark (bench/show.py) both open: the size the issue names."""


def write_big_spec(path):
    """Write a 4-level layout of a 1 GiB mapping in 4 KiB pages (262,144
    leaves, one range) and 65,536 one-page ranges of alternating rights
    (65,536 leaves more) to path."""
    with open(path, "w") as f:
        f.write("mode 4level\npool 0x100000 8m\n"
                "map 0xffffc90000000000 0x40000000 1g w g page=4k\n")
        for i in range(65536):
            f.write("map 0x%x 0x%x 4k u%s\n" % (
                0x10000000 + i * 0x2000, 0x80000000 + i * 0x1000,
                " w" if i % 2 else " x"))
