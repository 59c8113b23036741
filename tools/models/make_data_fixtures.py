#!/usr/bin/python3
"""Write CIFAR-10 batches and NumPy .npy data sets, good and damaged, for tests/cli_data_formats.sh.

usage: /usr/bin/python3 tools/models/make_data_fixtures.py OUTDIR
       /usr/bin/python3 tools/models/make_data_fixtures.py compare EXPECT LOGITS

The images are seen through probe models (native nncert files written here):
a dense layer whose outputs are 16 chosen pixels of the C,H,W image and a
weighted checksum of all of them, so `nncert predict --logits` shows what was
read. For every good case NAME there is NAME.expect ("INDEX LABEL v1 v2 ..."
per image, computed here with numpy) and a line NAME SPEC MODEL START COUNT (tab-separated)
in good.txt; every bad case is a line NAME SPEC MODEL REGEX ARGS in bad.txt
(REGEX: what the error message must match; ARGS: more predict options). Seeded: two runs write the same files.
"""
import os

import fixture_main
import h5py
import numpy as np

OUT = None
rng = np.random.default_rng(7)
good_lines, bad_lines = [], []


def p(name):
    return os.path.join(OUT, name)


def probe_model(name, shape):
    """Native model: output k < 16 = pixel pick[k] (C,H,W index), output 16 = sum_j x_j (j % 7 + 1)."""
    n = int(np.prod(shape))
    pick = np.linspace(0, n - 1, 16).astype(int)
    w = np.zeros((17, n))
    w[np.arange(16), pick] = 1
    w[16] = np.arange(n) % 7 + 1
    with h5py.File(p(name), "w") as f:
        f.attrs["format"] = np.bytes_("nncert-model")
        f.attrs["version"] = np.int32(1)
        f.attrs["input_shape"] = np.array(shape, dtype=np.int32)
        f.attrs["name"] = np.bytes_(name)
        g = f.create_group("layers/000")
        g.attrs["type"] = np.bytes_("dense")
        g["weight"] = w
        g["bias"] = np.zeros(17)
    return w


MODELS = {}


def expect(name, chw, labels, first, model):
    """chw: float64 images [n, C, H, W] (or [n, F]) in [0, 1] as nncert must read them."""
    x = chw.reshape(chw.shape[0], -1)
    fixture_main.write_expect(p(name + ".expect"), first, labels, x @ MODELS[model].T)


def good(name, spec, model, chw, labels, start=0, count=0):
    n = chw.shape[0]
    stop = n if count == 0 else start + count
    expect(name, chw[start:stop], labels[start:stop], start, model)
    good_lines.append("\t".join([name, spec, p(model), str(start), str(count)]))


def bad(name, spec, model, regex, args=""):
    bad_lines.append("\t".join([name, spec, p(model), regex, args]))


def cifar():
    d = p("cifar")
    os.makedirs(d, exist_ok=True)
    batches = {}
    for b, n in [("test_batch", 5)] + [("data_batch_%d" % i, 2) for i in range(1, 6)]:
        lab = rng.integers(0, 10, n, dtype=np.uint8)
        pix = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        pix[0, :3] = [0, 255, 128]
        with open(os.path.join(d, b + ".bin"), "wb") as f:
            f.write(np.concatenate([lab[:, None], pix], axis=1).tobytes())
        batches[b] = (pix.astype(np.float64) / 255, lab)
    test = batches["test_batch"]
    good("cifar_test", "cifar10:" + d, "probe_cifar.h5", test[0], test[1])
    good("cifar_test_split", "cifar10:%s:test" % d, "probe_cifar.h5", test[0], test[1], 1, 3)
    tr = [batches["data_batch_%d" % i] for i in range(1, 6)]
    trx, trl = np.concatenate([t[0] for t in tr]), np.concatenate([t[1] for t in tr])
    good("cifar_train_window", "cifar10:%s:train" % d, "probe_cifar.h5", trx, trl, 3, 4)   # crosses batches 2-4
    good("cifar_file", "cifar10:" + os.path.join(d, "data_batch_2.bin"), "probe_cifar.h5", tr[1][0], tr[1][1])

    def damaged(name, data, regex):
        bd = p("cifar_" + name)
        os.makedirs(bd, exist_ok=True)
        with open(os.path.join(bd, "test_batch.bin"), "wb") as f:
            f.write(data)
        bad("cifar_" + name, "cifar10:" + bd, "probe_cifar.h5", regex)

    raw = open(os.path.join(d, "test_batch.bin"), "rb").read()
    damaged("truncated", raw[:-100], "test_batch.bin: 15265 bytes is not a whole number of 3073-byte records")
    damaged("record_size", raw[:3074 * 2], "6148 bytes is not a whole number of 3073-byte records.*CIFAR-100")
    damaged("empty", b"", "test_batch.bin: the file is empty")
    lab12 = bytearray(raw)
    lab12[3073 * 2] = 12
    damaged("label", bytes(lab12), "record 2 has label byte 12 \\(must be 0..9\\)")
    bad("cifar_missing_dir", "cifar10:" + p("nowhere"), "probe_cifar.h5", "CIFAR-10 folder .*nowhere: No such file")
    os.makedirs(p("cifar_partial"), exist_ok=True)
    for i in (1, 2):
        with open(p("cifar_partial/data_batch_%d.bin" % i), "wb") as f:
            f.write(raw[:3073])
    bad("cifar_missing_batch", "cifar10:%s:train" % p("cifar_partial"), "probe_cifar.h5",
        "data_batch_3.bin: cannot open")
    bad("cifar_split_on_file", "cifar10:%s:train" % os.path.join(d, "test_batch.bin"), "probe_cifar.h5",
        "a split \\(:train\\) needs a folder")
    bad("cifar_past_end", "cifar10:" + d, "probe_cifar.h5", "start 9 is past the end: it holds 5 images",
        "--start 9")
    bad("cifar_wrong_model", "cifar10:" + d, "probe_small.h5",
        "has images of shape 3x32x32 but model .* expects input 3x4x4")


def save_npy(name, a, **kw):
    np.save(p(name), a, **kw)
    return p(name)


def npy():
    n = 6
    img8 = rng.integers(0, 256, (n, 3, 4, 4), dtype=np.uint8)
    img8[0, 0, 0, :2] = [0, 255]
    x = img8.astype(np.float64) / 255
    lab = rng.integers(0, 10, n)
    L64 = save_npy("lab_i8.npy", lab.astype("<i8"))
    Lu8 = save_npy("lab_u8_col.npy", lab.astype(np.uint8)[:, None])
    Lbe = save_npy("lab_be_i4.npy", lab.astype(">i4"))
    good("npy_u8", "npy:%s,labels=%s" % (save_npy("u8.npy", img8), L64), "probe_small.h5", x, lab)
    good("npy_u8_window", "npy:%s,labels=%s" % (p("u8.npy"), Lu8), "probe_small.h5", x, lab, 2, 3)
    xf = rng.uniform(0, 1, (n, 3, 4, 4))
    xf[0, 0, 0, :2] = [0.0, 1.0]
    good("npy_f4", "npy:%s,labels=%s" % (save_npy("f4.npy", xf.astype("<f4")), Lbe), "probe_small.h5",
         xf.astype("<f4").astype(np.float64), lab)
    good("npy_f8_big_endian", "npy:%s,labels=%s" % (save_npy("f8be.npy", xf.astype(">f8")), L64),
         "probe_small.h5", xf, lab)
    good("npy_f2", "npy:%s,labels=%s" % (save_npy("f2.npy", xf.astype("<f2")), L64), "probe_small.h5",
         xf.astype("<f2").astype(np.float64), lab)
    good("npy_i2_big_endian", "npy:%s,labels=%s" % (save_npy("i2.npy", img8.astype(">i2")), L64),
         "probe_small.h5", x, lab)
    nhwc = np.ascontiguousarray(img8.transpose(0, 2, 3, 1))
    good("npy_nhwc", "npy:%s,labels=%s,layout=nhwc" % (save_npy("nhwc.npy", nhwc), L64), "probe_small.h5", x, lab)
    good("npy_flat", "npy:%s,labels=%s" % (save_npy("flat.npy", img8.reshape(n, 48)), L64), "probe_small.h5", x,
         lab)
    v2 = p("v2.npy")       # format version 2.0: a 4-byte header length
    with open(v2, "wb") as f:
        np.lib.format.write_array(f, img8, version=(2, 0))
    good("npy_version2", "npy:%s,labels=%s" % (v2, L64), "probe_small.h5", x, lab)

    good_f = p("f4.npy")
    data = open(good_f, "rb").read()

    def raw(name, b):
        with open(p(name), "wb") as f:
            f.write(b)
        return p(name)

    def bad_img(name, path, regex, labels=L64, extra=""):
        bad(name, "npy:%s,labels=%s%s" % (path, labels, extra), "probe_small.h5", regex)

    bad_img("npy_truncated", raw("trunc.npy", data[:-7]), "npy file is truncated: shape and dtype <f4 promise 1152 "
            "data bytes, it holds 1145")
    bad_img("npy_truncated_header", raw("trunc_hdr.npy", data[:40]), "truncated in its header")
    bad_img("npy_trailing", raw("trail.npy", data + b"xyz"), "has 3 bytes after the 1152 data bytes")
    bad_img("npy_magic", raw("magic.npy", b"PK\x03\x04" + data[4:]), "not a NumPy .npy file \\(no .*NUMPY magic\\)")
    bad_img("npy_version", raw("ver.npy", data[:6] + b"\x09\x00" + data[8:]), "npy format version 9.0 is not supported")
    hdr = data[10:10 + data[8]]
    bad_img("npy_no_shape", raw("noshape.npy", data[:10] + hdr.replace(b"'shape'", b"'shapx'") + data[10 + len(hdr):]),
            "npy header has no 'shape' tuple")
    bad_img("npy_fortran", save_npy("fortran.npy", np.asfortranarray(xf.astype("<f4"))),
            "Fortran \\(column-major\\) order")
    bad_img("npy_complex", save_npy("complex.npy", xf.astype(np.complex128)), "npy dtype '<c16' is not supported")
    bad_img("npy_bool", save_npy("bool.npy", xf > 0.5), "npy dtype '\\|b1' is not supported")
    bad_img("npy_structured", save_npy("rec.npy", np.zeros(n, dtype=[("a", "<f4"), ("b", "<i4")])),
            "structured \\(record\\) type")
    nan = xf.copy()
    nan[2, 1, 3, 0] = np.nan
    bad_img("npy_nan", save_npy("nan.npy", nan), "nan.npy: image 2, value 28 is nan: float pixels must lie in \\[0, 1\\]")
    inf = xf.copy()
    inf[4, 0, 0, 1] = np.inf
    bad_img("npy_inf", save_npy("inf.npy", inf), "image 4, value 1 is inf")
    big = xf.copy()
    big[1, 0, 0, 0] = 1.5
    bad_img("npy_out_of_range_float", save_npy("big.npy", big), "image 1, value 0 is 1.5: float pixels")
    i300 = img8.astype(np.int16)
    i300[0, 0, 1, 1] = 300
    bad_img("npy_out_of_range_int", save_npy("i300.npy", i300), "image 0, value 5 is 300: integer pixels must lie")
    bad_img("npy_rank5", save_npy("rank5.npy", img8[:, :, :, :, None]), "npy images of rank 5")
    bad_img("npy_wrong_shape", save_npy("wrong.npy", img8[:, :, :3, :]),
            "has images of shape 3x3x4 but model .* expects input 3x4x4")
    bad_img("npy_scalar", save_npy("scalar.npy", np.float32(0.5)), "scalar")
    bad_img("npy_nhwc_rank", p("flat.npy"), "layout=nhwc needs rank-4", extra=",layout=nhwc")
    bad_img("npy_float_labels", p("u8.npy"), "labels have dtype <f8; they must be integers",
            labels=save_npy("lab_f.npy", lab.astype(np.float64)))
    bad_img("npy_label_count", p("u8.npy"), "holds 6 images but .* holds 5 labels",
            labels=save_npy("lab_5.npy", lab[:5]))
    bad_img("npy_label_shape", p("u8.npy"), "labels must have shape \\[N\\] or \\[N,1\\]",
            labels=save_npy("lab_2d.npy", np.stack([lab, lab], axis=1)))
    bad_img("npy_missing_labels_file", p("u8.npy"), "nolabels.npy: cannot open", labels=p("nolabels.npy"))
    bad("npy_no_labels", "npy:" + p("u8.npy"), "probe_small.h5", "the labels are missing: npy:IMAGES.npy,labels=")
    bad("npy_unknown_option", "npy:%s,labels=%s,scale=2" % (p("u8.npy"), L64), "probe_small.h5",
        "unknown option 'scale=2'")
    bad_img("npy_missing_file", p("nothere.npy"), "nothere.npy: cannot open")


def generate(out):
    global OUT
    OUT = out
    MODELS["probe_cifar.h5"] = probe_model("probe_cifar.h5", [3, 32, 32])
    MODELS["probe_small.h5"] = probe_model("probe_small.h5", [3, 4, 4])
    cifar()
    npy()
    with open(p("good.txt"), "w") as f:
        f.write("\n".join(good_lines) + "\n")
    with open(p("bad.txt"), "w") as f:
        f.write("\n".join(bad_lines) + "\n")


if __name__ == "__main__":
    fixture_main.main(__doc__, generate, 1e-12)
