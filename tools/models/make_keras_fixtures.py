#!/usr/bin/python3
"""Write small Keras 2 HDF5 models (h5py, exactly Keras's layout) and their logits.

usage: /usr/bin/python3 tools/models/make_keras_fixtures.py OUTDIR
       /usr/bin/python3 tools/models/make_keras_fixtures.py compare REF LOGITS

There is no Keras on this machine, so the reference logits come from numpy code
written here from Keras's definitions, on channels-last (N,H,W,C) tensors: the
convolution with TensorFlow's 'same' split, pooling that ignores padding cells,
Flatten in H,W,C order. nncert reads the same images in C,H,W order from
NAME-images-idx3-ubyte (rank-4 IDX: N,C,H,W, uint8) and must print the same
logits (NAME.ref: "INDEX LABEL logits..." per image; fixture_main.py compares).

Good fixtures (NAME.h5): seq_cnn (Sequential, Keras >= 2.2 config), func_cnn
(functional Model with InputLayer), crown_mlp (Keras 2.1 list config, CROWN's
layer names and its arctan Lambda), mlp_vec (vector input, BatchNormalization
folded into a Dense, ReLU layer, final Softmax), reshape_cnn (Reshape of a vector
input to images), and crown_weights.h5 + crown_arch.json (model.save_weights
plus model.to_json()). Bad fixtures bad_*.h5 come with bad_*.err, a regular
expression the error message must match. Seeded: two runs write the same files.
"""
import codecs
import json
import marshal
import os
import struct

import fixture_main
import h5py
import numpy as np

OUT = None
N_IMAGES = 6
rng = np.random.default_rng(20261205)


# ---- the numpy reference, channels last -------------------------------------

def same_pads(n, k, s, d):
    out = -(-n // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
    return out, total // 2, total - total // 2


def windows(x, k, s, d, padding, fill):
    """x [N,H,W,C] -> padded x, output H, W (TensorFlow's rule)."""
    n, h, w, c = x.shape
    if padding == "same":
        oh, t, b = same_pads(h, k[0], s[0], d[0])
        ow, l, r = same_pads(w, k[1], s[1], d[1])
        xp = np.full((n, h + t + b, w + l + r, c), fill)
        xp[:, t:t + h, l:l + w, :] = x
    else:
        oh = (h - (k[0] - 1) * d[0] - 1) // s[0] + 1
        ow = (w - (k[1] - 1) * d[1] - 1) // s[1] + 1
        xp = x
    return xp, oh, ow


def conv(x, kern, bias, s, padding, d):
    kh, kw, ci, co = kern.shape
    xp, oh, ow = windows(x, (kh, kw), s, d, padding, 0.0)
    y = np.zeros((x.shape[0], oh, ow, co))
    for i in range(oh):
        for j in range(ow):
            for a in range(kh):
                for b in range(kw):
                    y[:, i, j, :] += xp[:, i * s[0] + a * d[0], j * s[1] + b * d[1], :] @ kern[a, b]
    return y + bias


def pool(x, k, s, padding, kind):
    xp, oh, ow = windows(x, k, s, (1, 1), padding, np.nan)
    y = np.zeros((x.shape[0], oh, ow, x.shape[3]))
    for i in range(oh):
        for j in range(ow):
            win = xp[:, i * s[0]:i * s[0] + k[0], j * s[1]:j * s[1] + k[1], :]
            y[:, i, j, :] = np.nanmax(win, axis=(1, 2)) if kind == "max" else np.nanmean(win, axis=(1, 2))
    return y


ACT = {
    "relu": lambda x: np.maximum(x, 0), "tanh": np.tanh, "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "linear": lambda x: x, "arctan": np.arctan, "softmax": lambda x: x,  # dropped: logits compared
}


def forward(layers, x):
    for cls, cfg, w in layers:
        if cls == "Dense":
            x = x @ w["kernel"] + (w["bias"] if "bias" in w else 0)
            x = ACT[cfg.get("activation", "linear")](x)
        elif cls == "Conv2D":
            x = conv(x, w["kernel"], w.get("bias", 0), tuple(cfg["strides"]), cfg["padding"],
                     tuple(cfg["dilation_rate"]))
            x = ACT[cfg.get("activation", "linear")](x)
        elif cls in ("MaxPooling2D", "AveragePooling2D"):
            x = pool(x, tuple(cfg["pool_size"]), tuple(cfg["strides"] or cfg["pool_size"]), cfg["padding"],
                     "max" if cls == "MaxPooling2D" else "avg")
        elif cls == "Flatten":
            x = x.reshape(x.shape[0], -1)
        elif cls == "Reshape":
            x = x.reshape((x.shape[0],) + tuple(cfg["target_shape"]))
        elif cls == "Activation":
            x = ACT[cfg["activation"]](x)
        elif cls == "ReLU":
            x = np.maximum(x, 0)
        elif cls == "LeakyReLU":
            x = np.where(x > 0, x, cfg["alpha"] * x)
        elif cls == "Lambda":
            x = np.arctan(x)
        elif cls == "BatchNormalization":
            x = w["gamma"] * (x - w["moving_mean"]) / np.sqrt(w["moving_variance"] + cfg["epsilon"]) + w["beta"]
        elif cls in ("Dropout", "Softmax", "InputLayer"):
            pass
        else:
            raise ValueError(cls)
    return x


# ---- building models ----------------------------------------------------------

def weights_of(cls, cfg, shape):
    """Random weights for a layer given its Keras input shape (without N); returns (weights, output shape)."""
    w = {}
    if cls == "Dense":
        w["kernel"] = rng.normal(0, 1 / np.sqrt(shape[-1]), (shape[-1], cfg["units"])).astype(np.float32)
        if cfg.get("use_bias", True):
            w["bias"] = rng.normal(0, 0.3, cfg["units"]).astype(np.float32)
    elif cls == "Conv2D":
        k = cfg["kernel_size"]
        w["kernel"] = rng.normal(0, 1 / np.sqrt(k[0] * k[1] * shape[-1]),
                                 (k[0], k[1], shape[-1], cfg["filters"])).astype(np.float32)
        if cfg.get("use_bias", True):
            w["bias"] = rng.normal(0, 0.3, cfg["filters"]).astype(np.float32)
    elif cls == "BatchNormalization":
        c = shape[-1]
        w["gamma"] = rng.uniform(0.5, 1.5, c).astype(np.float32)
        w["beta"] = rng.normal(0, 0.3, c).astype(np.float32)
        w["moving_mean"] = rng.normal(0, 0.3, c).astype(np.float32)
        w["moving_variance"] = rng.uniform(0.5, 2, c).astype(np.float32)
    y = forward([(cls, cfg, {k: v.astype(np.float64) for k, v in w.items()})], np.zeros((1,) + tuple(shape)))
    return w, y.shape[1:]


WEIGHT_ORDER = ["kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance"]


def build(spec, input_shape):
    """spec: list of (class, config); returns [(class, config, float32 weights)]."""
    layers, shape = [], tuple(input_shape)
    for cls, cfg in spec:
        w, shape = weights_of(cls, cfg, shape)
        layers.append((cls, cfg, w))
    return layers


def keras_config(layers, input_shape, style, name="model"):
    entries = []
    for i, (cls, cfg, _) in enumerate(layers):
        c = dict(cfg)
        if i == 0 and cls != "InputLayer":
            c["batch_input_shape"] = [None] + list(input_shape)
        entries.append({"class_name": cls, "config": c})
    if style == "list":              # Keras 2.0/2.1 Sequential
        return {"class_name": "Sequential", "config": entries}
    if style == "seq":               # Keras >= 2.2 Sequential
        return {"class_name": "Sequential", "config": {"name": name, "layers": entries}}
    prev = None                      # functional chain
    for e in entries:
        e["name"] = e["config"]["name"]
        e["inbound_nodes"] = [] if prev is None else [[[prev, 0, 0, {}]]]
        prev = e["name"]
    return {"class_name": "Model", "config": {"name": name, "layers": entries,
                                               "input_layers": [[entries[0]["name"], 0, 0]],
                                               "output_layers": [[prev, 0, 0]]}}


def write_weights(g, layers, version="2.2.4"):
    g.attrs["layer_names"] = [cfg["name"].encode() for _, cfg, _ in layers]
    g.attrs["backend"] = b"tensorflow"
    g.attrs["keras_version"] = version.encode()
    for cls, cfg, w in layers:
        lg = g.create_group(cfg["name"])
        names = [k for k in WEIGHT_ORDER if k in w]
        lg.attrs["weight_names"] = [("%s/%s:0" % (cfg["name"], k)).encode() for k in names]
        for k in names:
            lg.create_dataset("%s/%s:0" % (cfg["name"], k), data=w[k])


def save_model(path, layers, input_shape, style, version="2.2.4", config=None):
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = version.encode()
        f.attrs["backend"] = b"tensorflow"
        cfg = config if config is not None else json.dumps(keras_config(layers, input_shape, style))
        f.attrs["model_config"] = cfg.encode() if isinstance(cfg, str) else cfg
        f.attrs["training_config"] = json.dumps({"loss": "fn", "metrics": ["accuracy"]}).encode()
        write_weights(f.create_group("model_weights"), layers, version)


def write_idx(path, a):
    a = np.ascontiguousarray(a, dtype=np.uint8)
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 8, a.ndim]) + b"".join(struct.pack(">I", d) for d in a.shape) + a.tobytes())


def fixture(name, layers, input_shape, style, **kw):
    """Writes NAME.h5, NAME's images (C,H,W) and labels, and NAME.ref logits."""
    save_model(os.path.join(OUT, name + ".h5"), layers, input_shape, style, **kw)
    img = rng.integers(0, 256, (N_IMAGES,) + tuple(input_shape), dtype=np.uint8)
    x = img.astype(np.float64) / 255
    w64 = [(c, cfg, {k: v.astype(np.float64) for k, v in w.items()}) for c, cfg, w in layers]
    y = forward(w64, x)
    chw = img if img.ndim == 2 else (img.transpose(0, 3, 1, 2) if img.ndim == 4 else img[:, None])
    if chw.ndim == 2:
        chw = chw[:, None, None, :]
    write_idx(os.path.join(OUT, name + "-images-idx3-ubyte"), chw)
    labels = np.argmax(y, axis=1)
    write_idx(os.path.join(OUT, name + "-labels-idx1-ubyte"), labels)
    fixture_main.write_expect(os.path.join(OUT, name + ".ref"), 0, labels, y)


def conv_cfg(name, filters, k, s=(1, 1), padding="valid", d=(1, 1), act="linear", bias=True):
    return ("Conv2D", {"name": name, "filters": filters, "kernel_size": list(k), "strides": list(s),
                       "padding": padding, "dilation_rate": list(d), "activation": act, "use_bias": bias,
                       "data_format": "channels_last"})


def dense_cfg(name, units, act="linear", bias=True):
    return ("Dense", {"name": name, "units": units, "activation": act, "use_bias": bias})


def pool_cfg(cls, name, k, s=None, padding="valid"):
    return (cls, {"name": name, "pool_size": list(k), "strides": list(s) if s else None, "padding": padding,
                  "data_format": "channels_last"})


ARCTAN_CODE = codecs.encode(marshal.dumps(compile("lambda x: tf.atan(x)", "<crown>", "eval")), "base64").decode()
NOT_ARCTAN_CODE = codecs.encode(marshal.dumps(compile("lambda x: tf.sin(x)", "<x>", "eval")), "base64").decode()


def crown_spec(code=ARCTAN_CODE):
    return [("Flatten", {"name": "flatten_1", "data_format": "channels_last"}),
            dense_cfg("dense_1", 8),
            ("Lambda", {"name": "arctan_1", "function": [code, None, None], "function_type": "lambda",
                        "output_shape": None, "arguments": {}}),
            dense_cfg("dense_2", 7),
            ("Activation", {"name": "relu_2", "activation": "relu"}),
            dense_cfg("dense_3", 3)]


def good():
    fixture("seq_cnn", build([
        conv_cfg("conv2d_1", 4, (3, 3), padding="same", act="relu"),
        conv_cfg("conv2d_2", 5, (3, 2), s=(2, 1), act="tanh"),
        pool_cfg("MaxPooling2D", "max_pooling2d_1", (2, 2), padding="same"),
        ("Flatten", {"name": "flatten_1", "data_format": "channels_last"}),
        dense_cfg("dense_1", 6, act="sigmoid"),
        dense_cfg("dense_2", 3, act="softmax")], (8, 8, 3)), (8, 8, 3), "seq")
    fixture("func_cnn", build([
        ("InputLayer", {"name": "input_1", "batch_input_shape": [None, 9, 9, 2], "dtype": "float32"}),
        conv_cfg("conv2d_1", 3, (3, 3), padding="same", d=(2, 2), bias=False),
        ("Activation", {"name": "activation_1", "activation": "relu"}),
        pool_cfg("AveragePooling2D", "average_pooling2d_1", (3, 3), s=(2, 2), padding="same"),
        ("BatchNormalization", {"name": "batch_normalization_1", "axis": -1, "epsilon": 0.001,
                                "center": True, "scale": True}),
        ("LeakyReLU", {"name": "leaky_re_lu_1", "alpha": 0.1}),
        pool_cfg("MaxPooling2D", "max_pooling2d_1", (2, 2), s=(1, 1), padding="valid"),
        ("Dropout", {"name": "dropout_1", "rate": 0.5}),
        ("Flatten", {"name": "flatten_1", "data_format": "channels_last"}),
        dense_cfg("dense_1", 4)], (9, 9, 2)), (9, 9, 2), "func")
    crown = build(crown_spec(), (6, 6, 3))
    fixture("crown_mlp", crown, (6, 6, 3), "list", version="2.1.5")
    with h5py.File(os.path.join(OUT, "crown_weights.h5"), "w") as f:   # model.save_weights
        write_weights(f, crown, "2.1.5")
    with open(os.path.join(OUT, "crown_arch.json"), "w") as f:          # model.to_json()
        json.dump(keras_config(crown, (6, 6, 3), "list"), f)
    fixture("mlp_vec", build([
        dense_cfg("dense_1", 7),
        ("BatchNormalization", {"name": "bn_1", "axis": -1, "epsilon": 0.01, "center": True, "scale": True}),
        ("ReLU", {"name": "re_lu_1", "max_value": None, "negative_slope": 0.0, "threshold": 0.0}),
        dense_cfg("dense_2", 5),
        ("Softmax", {"name": "softmax_1", "axis": -1})], (12,)), (12,), "seq")
    fixture("reshape_cnn", build([
        ("Reshape", {"name": "reshape_1", "target_shape": [4, 4, 1]}),
        conv_cfg("conv2d_1", 2, (2, 2), act="sigmoid"),
        ("Flatten", {"name": "flatten_1"}),
        dense_cfg("dense_1", 3)], (16,)), (16,), "seq")
    return crown


def bad(crown):
    def save(name, err, layers=crown, shape=(6, 6, 3), style="list", config=None, edit=None):
        p = os.path.join(OUT, name + ".h5")
        save_model(p, layers, shape, style, config=config)
        if edit:
            with h5py.File(p, "a") as f:
                edit(f)
        with open(os.path.join(OUT, name + ".err"), "w") as f:
            f.write(err + "\n")

    base = "model_weights/dense_1/dense_1/"
    save("bad_json", "root attribute 'model_config' is not valid JSON", config="{\"class_name\": \"Sequential\", ")

    def no_config(f):
        del f.attrs["model_config"]
        f.attrs["layer_names"] = [b"dense_1"]
    save("bad_no_config", "root attribute 'model_config' is missing: a save_weights file", edit=no_config)
    save("bad_config_type", "attribute 'model_config' has type integer, expected string", config=np.int32(7))

    def drop_kernel(f):
        del f[base + "kernel:0"]
    save("bad_missing_weight", "layer 'dense_1' \\(Dense\\): .*dataset 'dense_1/kernel:0' .*is missing",
         edit=drop_kernel)

    def transpose_kernel(f):
        k = f[base + "kernel:0"][()]
        del f[base + "kernel:0"]
        f[base + "kernel:0"] = k.T
    save("bad_weight_shape", "layer 'dense_1' \\(Dense\\): kernel is \\[8,108\\], expected \\[108,8\\]",
         edit=transpose_kernel)

    def nan_weight(f):
        k = f[base + "kernel:0"][()]
        k[5, 2] = np.nan
        f[base + "kernel:0"][...] = k
    save("bad_nan_weight", "dataset 'dense_1/kernel:0'\\[5,2\\] is NaN", edit=nan_weight)

    def inf_bias(f):
        b = f["model_weights/dense_2/dense_2/bias:0"][()]
        b[3] = -np.inf
        f["model_weights/dense_2/dense_2/bias:0"][...] = b
    save("bad_inf_weight", "layer 'dense_2' \\(Dense\\): dataset 'dense_2/bias:0'\\[3\\] is -Inf", edit=inf_bias)

    conv = build([conv_cfg("conv2d_1", 2, (3, 3)), ("Flatten", {"name": "flatten_1"}), dense_cfg("dense_1", 2)],
                 (5, 5, 2))

    def conv_kernel(f):
        k = f["model_weights/conv2d_1/conv2d_1/kernel:0"][()]
        del f["model_weights/conv2d_1/conv2d_1/kernel:0"]
        f["model_weights/conv2d_1/conv2d_1/kernel:0"] = np.ascontiguousarray(k.transpose(3, 2, 0, 1))
    save("bad_conv_kernel_shape", "layer 'conv2d_1' \\(Conv2D\\): kernel is \\[2,2,3,3\\], expected "
         "\\[3,3,2,2\\]", layers=conv, shape=(5, 5, 2), style="seq", edit=conv_kernel)

    def int_weight(f):
        k = f[base + "kernel:0"][()]
        del f[base + "kernel:0"]
        f[base + "kernel:0"] = k.astype(np.int32)
    save("bad_weight_type", "dataset 'dense_1/kernel:0' has type integer, expected float32 or float64",
         edit=int_weight)

    def drop_weight_names(f):
        del f["model_weights/dense_2"].attrs["weight_names"]
    save("bad_no_weight_names", "layer 'dense_2' \\(Dense\\): .*attribute 'weight_names' is missing",
         edit=drop_weight_names)

    lstm = [crown[0], ("LSTM", {"name": "lstm_1", "units": 4}, {})] + crown[1:]
    save("bad_unsupported", "layer 'lstm_1' \\(LSTM\\): this layer class is not supported", layers=lstm)
    sm = [crown[0], crown[1], ("Activation", {"name": "act_sm", "activation": "softmax"}, {})] + crown[3:]
    save("bad_softmax_middle", "layer 'act_sm' \\(Activation\\): a softmax is only supported in the last layer",
         layers=sm)
    elu = [crown[0], crown[1], ("Activation", {"name": "act_elu", "activation": "elu"}, {})] + crown[3:]
    save("bad_activation", "layer 'act_elu' \\(Activation\\): activation 'elu' is not supported", layers=elu)
    lam = build(crown_spec(NOT_ARCTAN_CODE), (6, 6, 3))
    save("bad_lambda", "layer 'arctan_1' \\(Lambda\\): it is named arctan but its code does not call atan",
         layers=lam)
    cf = build([conv_cfg("conv2d_1", 2, (2, 2))], (5, 5, 1))
    cf[0][1]["data_format"] = "channels_first"
    save("bad_channels_first", "layer 'conv2d_1' \\(Conv2D\\): data_format 'channels_first' is not supported",
         layers=cf, shape=(5, 5, 1), style="seq")
    nounits = [crown[0], ("Dense", {"name": "dense_1", "activation": "linear"}, crown[1][2])] + crown[2:]
    save("bad_missing_field", "layer 'dense_1' \\(Dense\\): config field 'units' is missing", layers=nounits)
    # a functional model whose Dense reads the input, not the layer before: not a chain
    cfgj = keras_config(crown, (6, 6, 3), "func")
    cfgj["config"]["layers"][3]["inbound_nodes"] = [[["flatten_1", 0, 0, {}]]]
    save("bad_not_chain", "layer 'dense_2' \\(Dense\\): the functional model is not a chain: this layer reads "
         "'flatten_1'", config=json.dumps(cfgj))
    ends = build([conv_cfg("conv2d_1", 2, (2, 2)), ("Flatten", {"name": "flatten_1"})], (3, 3, 1))
    save("bad_ends_flatten", "the model ends with a Flatten of 2x2x2 values in channels-last order",
         layers=ends, shape=(3, 3, 1), style="seq")
    save("bad_keras1", "written by Keras 1.2.2: only Keras 2 files are read",
         edit=lambda f: f.attrs.__setitem__("keras_version", b"1.2.2"))
    p = os.path.join(OUT, "crown_mlp.h5")
    data = open(p, "rb").read()
    with open(os.path.join(OUT, "bad_truncated.h5"), "wb") as f:
        f.write(data[:len(data) // 2])
    with open(os.path.join(OUT, "bad_truncated.err"), "w") as f:
        f.write("cannot open as HDF5 .*(truncated|corrupt)\n")


def generate(out):
    global OUT
    OUT = out
    bad(good())


if __name__ == "__main__":
    fixture_main.main(__doc__, generate, 1e-9)
