#!/usr/bin/env python3
"""make_corpus.py - regenerates the CSV and IDX seed corpora of the fuzz
targets (tests/fuzz/corpus/csv, tests/fuzz/corpus/idx) from the fixtures
in tests/fixtures, in the input layouts that fuzz_csv.c and fuzz_idx.c
decode. The model seeds (corpus/model) are fixtures/model plus files that
syn_net_save wrote; they are kept as they are.

Run from anywhere: python3 tests/fuzz/make_corpus.py
Deterministic: rerunning it changes nothing unless this script or the
fixtures change.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures")


def fixture(kind, name):
    with open(os.path.join(FIXTURES, kind, name), "rb") as f:
        return f.read()


def write(target, name, data):
    path = os.path.join(HERE, "corpus", target, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def csv_options(delim=0, header=0, regression=0, no_target=0, n_classes=0, select=0,
                index0=0, index1=0, limit=0):
    """The 4 option bytes of fuzz_csv.c. delim: index into ',', ';', tab,
    '|', ' ', ':'; header: 0 detect, 1 present, 2 absent; select: 0 last
    column, 1 index0, 2 by name, 3 index0 and index1; limit: 0 none, 4 to 7
    a memory limit of 1, 40, 1000, 4096 bytes. Unless select is 3, bits 4-6
    of index1 are a category limit, and bit 0 of index0 is always strict."""
    b0 = delim | header << 3 | regression << 5 | no_target << 6 | (1 << 7 if n_classes else 0)
    b1 = select | (max(n_classes - 1, 0) << 2) | limit << 5
    return bytes([b0, b1, index0 & 0xff, index1 & 0xff])


def csv_corpus():
    directory = os.path.join(FIXTURES, "csv")
    for name in sorted(os.listdir(directory)):
        write("csv", name, csv_options() + fixture("csv", name))
    special = {
        "opt_semicolon.csv": (csv_options(delim=1), "semicolon.csv"),
        "opt_regression2.csv": (csv_options(regression=1, select=3, index0=-2, index1=-1),
                                "regression2.csv"),
        "opt_target_first.csv": (csv_options(select=1, index0=0), "target_first.csv"),
        "opt_classes.csv": (csv_options(n_classes=5), "str_labels.csv"),
        "opt_no_target.csv": (csv_options(no_target=1), "range.csv"),
        "opt_header.csv": (csv_options(header=1), "numeric_header.csv"),
        "opt_limit.csv": (csv_options(limit=5), "int_labels.csv"),
        "opt_no_header.csv": (csv_options(header=2), "int_labels.csv"),
        # Byte 3 bits 4-6: a category limit (here 2); byte 2 bit 0: strict.
        "opt_max_categories.csv": (csv_options(index1=0x20), "mixed_types.csv"),
        "opt_strict.csv": (csv_options(index0=1, index1=0x70), "mixed_types.csv"),
    }
    for name, (options, source) in sorted(special.items()):
        write("csv", name, options + fixture("csv", source))
    write("csv", "opt_by_name.csv",
          csv_options(select=2) + b"a,\"label\",b\n1,x,2\n3,y,4\n")
    write("csv", "opt_tab.csv", csv_options(delim=2) + b"a\tb\tc\n1\t2\tz\r\n3\t4\tw\r\n")


def idx_input(images, labels=b"", labelled=False, gzip_images=False, gzip_labels=False):
    """fuzz_idx.c's layout: flags, little-endian image length, images, labels."""
    flags = (1 if labelled else 0) | (2 if gzip_images else 0) | (4 if gzip_labels else 0)
    return bytes([flags]) + struct.pack("<I", len(images)) + images + labels


def idx_corpus():
    images, labels = fixture("idx", "images.idx"), fixture("idx", "labels.idx")
    images_gz, labels_gz = fixture("idx", "images.idx.gz"), fixture("idx", "labels.idx.gz")
    write("idx", "pair.bin", idx_input(images, labels, labelled=True))
    write("idx", "pair_gz.bin", idx_input(images_gz, labels_gz, labelled=True))
    write("idx", "pair_gzip_in_target.bin",
          idx_input(images, labels, labelled=True, gzip_images=True, gzip_labels=True))
    write("idx", "images_only.bin", idx_input(images))
    write("idx", "images_1d_pixels.bin",
          idx_input(bytes([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 1, 5, 6])))
    write("idx", "images_3d.bin",
          idx_input(bytes([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4]),
                    bytes([0, 0, 8, 1, 0, 0, 0, 1, 255]), labelled=True))
    for name in sorted(os.listdir(os.path.join(FIXTURES, "idx"))):
        if name.endswith(".py") or name in ("images.idx", "labels.idx"):
            continue
        data = fixture("idx", name)
        write("idx", "images_" + name + ".bin", idx_input(data))
        if name.startswith("labels") or name in ("bad_magic.idx", "truncated_data.idx"):
            write("idx", "labels_" + name + ".bin", idx_input(images, data, labelled=True))


if __name__ == "__main__":
    csv_corpus()
    idx_corpus()
