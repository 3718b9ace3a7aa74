#!/usr/bin/env python3
"""make_block_corpus.py CKPT... - writes the `user` section of each synapse
checkpoint (the block `synapse train` keeps there) to
tests/fuzz/corpus/train_block/<name>.bin, the seeds of fuzz_train_block.
The sections follow the 28-byte header: a 4-byte tag, a u64 length, the
payload (docs/FORMAT.md)."""
import os
import struct
import sys

out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "train_block")
os.makedirs(out_dir, exist_ok=True)
for path in sys.argv[1:]:
    data = open(path, "rb").read()
    at, end = 28, len(data) - 4
    while at + 12 <= end:
        tag = data[at:at + 4]
        (length,) = struct.unpack_from("<Q", data, at + 4)
        if tag == b"user":
            name = os.path.splitext(os.path.basename(path))[0] + ".bin"
            with open(os.path.join(out_dir, name), "wb") as f:
                f.write(data[at + 12:at + 12 + length])
            print(name, length, "bytes")
            break
        at += 12 + length
    else:
        sys.exit(f"{path}: no user section")
