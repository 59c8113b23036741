#!/usr/bin/python3
"""ACAS Xu-like collision avoidance networks: the rule, its data, the training.

The task (doc/acas_like.md): five inputs in ACAS Xu's order and normalization
(rho, theta, psi, v_own, v_int) and five advisory scores (COC, weak left, weak
right, strong left, strong right), the advisory being the lowest score. The
scores come from a closest-point-of-approach rule written here (costs()), not
from ACAS Xu's tables, which are not public; the networks regress them.

--train      train the networks into --out (default models/acas/), bit for bit reproducibly
--only NAME  one of them;  --list  their names;  --table  the markdown table of the files
--check      the rule's answer for the property boxes of tools/bench/make_bab_bench.py
             (imported from there) on a dense grid: documentation, not a proof

Deterministic: the data come from numpy's PCG64 with a fixed seed, training runs
single-threaded with deterministic algorithms, each network reseeds torch first.
Models are written by tools/models/train.py's writer (float32 weights) plus an
ONNX copy (opset 13) holding the same numbers.
"""
import argparse
import math
import os
import sys
import time

# OpenBLAS's thread count and kernel set decide PyTorch's sums here: pinned as
# in train.py, so the bytes do not depend on the caller's environment.
os.environ["OPENBLAS_NUM_THREADS"] = "2"
os.environ["OPENBLAS_CORETYPE"] = "Prescott"

import numpy as np

SEED = 20240601

# ACAS Xu's input normalization x_n = (x - MEAN) / RANGE (the published networks'
# constants), so that ACAS Xu's property boxes read the same here.
MEAN = np.array([19791.091, 0.0, 0.0, 650.0, 600.0])
RANGE = np.array([60261.0, 2 * math.pi, 2 * math.pi, 1100.0, 1200.0])
# The physical domain: rho ft, theta and psi rad, speeds ft/s (ACAS Xu's).
LO = np.array([0.0, -math.pi, -math.pi, 100.0, 0.0])
HI = np.array([60760.0, math.pi, math.pi, 1200.0, 1200.0])
ADVISORIES = ("COC", "WL", "WR", "SL", "SR")
# Turn rate (rad/s, left = counterclockwise = positive) and maneuver cost per advisory.
TURN = np.radians([0.0, 1.5, -1.5, 3.0, -3.0])
MANEUVER = np.array([0.0, 0.02, 0.02, 0.05, 0.05])
HORIZON, DT = 40.0, 0.5    # s: the look-ahead and its sampling
R_PROTECT = 5000.0         # ft: separations below it cost (1 - s / R)^2


def normalize(x):
    return (np.asarray(x, dtype=np.float64) - MEAN) / RANGE


def denormalize(xn):
    return np.asarray(xn, dtype=np.float64) * RANGE + MEAN


def costs(x):
    """Scores (N, 5) of physical states x (N, 5): for each advisory, the ownship
    turns at its rate from t = 0 while the intruder flies straight; s is the
    smallest distance between them over t in [0, HORIZON] (sampled every DT s,
    t = 0 included) and the score is MANEUVER[a] + max(0, 1 - s / R_PROTECT)^2."""
    x = np.asarray(x, dtype=np.float64)
    rho, theta, psi, vo, vi = (x[:, k:k + 1] for k in range(5))
    t = np.arange(0.0, HORIZON + DT / 2, DT)[None, :]
    ix = rho * np.cos(theta) + vi * np.cos(psi) * t
    iy = rho * np.sin(theta) + vi * np.sin(psi) * t
    out = np.empty((x.shape[0], 5))
    for a, w in enumerate(TURN):
        if w == 0.0:
            ox, oy = vo * t, 0.0 * t
        else:
            ox, oy = vo / w * np.sin(w * t), vo / w * (1.0 - np.cos(w * t))
        s = np.sqrt((ix - ox) ** 2 + (iy - oy) ** 2).min(axis=1)
        out[:, a] = MANEUVER[a] + np.maximum(0.0, 1.0 - s / R_PROTECT) ** 2
    return out


def sample_states(n, rng):
    """Half uniform over the domain, half encounters within 15,000 ft (where the
    advisories differ; uniform sampling would be mostly clear of conflict)."""
    x = LO + (HI - LO) * rng.random((n, 5))
    near = rng.random(n) < 0.5
    x[near, 0] = 15000.0 * rng.random(int(near.sum()))
    return x


# ---------------------------------------------------------------------------
# Networks: 5 inputs (flattened from 5x1x1), ReLU layers, 5 scores.

NETS = {"acasxu_like_6x50": [50] * 6, "acasxu_like_3x25": [25] * 3, "acasxu_like_2x12": [12] * 2}
EPOCHS, BATCH, LR = 40, 256, 3e-3
# Loss: MSE of the scores, plus MSE of the scores less their mean (what picks the
# advisory: differences of 0.01-0.05 beside scores up to 1), plus cross-entropy of
# the lowest score's advisory with logits -scores / 0.01. Plain MSE reached about
# the share of COC (92 %) in advisory agreement and 10 % on the alerting states.
W_CENTERED, W_ARGMIN, T_ARGMIN = 20.0, 0.1, 0.01
N_TRAIN, N_TEST = 200000, 20000


def layers_of(widths):
    layers = [("flatten",)]
    for w in widths:
        layers += [("dense", w), ("relu",)]
    return layers + [("dense", 5)]


def data():
    rng = np.random.Generator(np.random.PCG64(SEED))
    xs = sample_states(N_TRAIN + N_TEST, rng)
    ys = costs(xs)
    xn = normalize(xs)
    return (xn[:N_TRAIN], ys[:N_TRAIN]), (xn[N_TRAIN:], ys[N_TRAIN:])


def train_one(name, widths, out_dir, train_set, test_set, log):
    import torch
    import torch.nn as nn
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import train as zoo  # the zoo's writer: native HDF5 and ONNX

    t0 = time.time()
    spec = {"name": name, "layers": layers_of(widths), "input_shape": (5, 1, 1)}
    torch.manual_seed(SEED)
    net, shape = zoo.build(spec, [0.0], [1.0])
    assert shape == (5, 1, 1), shape
    x = torch.from_numpy(train_set[0].astype(np.float32)).view(-1, 5, 1, 1)
    y = torch.from_numpy(train_set[1].astype(np.float32))
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, EPOCHS)
    gen = torch.Generator().manual_seed(SEED)
    net.train()
    for epoch in range(EPOCHS):
        perm = torch.randperm(x.shape[0], generator=gen)
        total = 0.0
        for s in range(0, x.shape[0], BATCH):
            idx = perm[s:s + BATCH]
            opt.zero_grad()
            p, t = net(x[idx]), y[idx]
            loss = ((p - t) ** 2).mean() + W_CENTERED * (((p - p.mean(1, keepdim=True))
                                                        - (t - t.mean(1, keepdim=True))) ** 2).mean() \
                + W_ARGMIN * torch.nn.functional.cross_entropy(-p / T_ARGMIN, t.argmin(1))
            loss.backward()
            opt.step()
            total += loss.item() * idx.shape[0]
        sched.step()
        if epoch % 10 == 9 or epoch + 1 == EPOCHS:
            log("  %s epoch %d/%d loss %.3g" % (name, epoch + 1, EPOCHS, total / x.shape[0]))
    path = os.path.join(out_dir, name + ".h5")
    meta = {"dataset": "acas-like rule (tools/models/acas_like.py)",
            "trained_with": "PyTorch %s, tools/models/acas_like.py (Adam lr %g cosine, batch %d, MSE + centered MSE + argmin CE, float32)"
                            % (torch.__version__, LR, BATCH),
            "seed": np.int32(SEED), "epochs": np.int32(EPOCHS), "architecture": zoo.arch_string(spec["layers"])}
    zoo.write_h5(path, spec, net, dict(meta, accuracy=0.0, accuracy_alerts=0.0, rmse=0.0))
    # Quality of the file as written, in float64 through the independent reader.
    ref = zoo.torch_forward.load_model(path)
    with torch.no_grad():
        pred = ref(torch.from_numpy(test_set[0]).view(-1, 5, 1, 1)).numpy()
    rmse = float(np.sqrt(((pred - test_set[1]) ** 2).mean()))
    hit = pred.argmin(axis=1) == test_set[1].argmin(axis=1)
    alert = test_set[1].argmin(axis=1) != 0
    agree, agree_alert = float(hit.mean()), float(hit[alert].mean())
    zoo.write_h5(path, spec, net, dict(meta, accuracy=np.float64(agree), accuracy_alerts=np.float64(agree_alert),
                                        rmse=np.float64(rmse), test_images=np.int32(len(test_set[1]))))
    zoo.export_onnx(os.path.join(out_dir, name + ".onnx"), spec, net)
    log("%s: advisory agreement %.4f (%.4f on the %d alerting states), score RMSE %.4f on %d test states, %.1f s"
        % (name, agree, agree_alert, int(alert.sum()), rmse, len(test_set[1]), time.time() - t0))


def print_table(out):
    import h5py
    print("| model | architecture | advisory agreement (all / alerting states) | score RMSE | parameters | size (h5 / onnx) |")
    print("|---|---|---|---|---|---|")
    for name in NETS:
        path = os.path.join(out, name + ".h5")
        with h5py.File(path, "r") as f:
            m = f["meta"].attrs
            params = sum(g[d].size for g in f["layers"].values() for d in g)
            arch = m["architecture"]
            arch = arch.decode() if isinstance(arch, bytes) else arch
            print("| `%s` | 5x1x1: %s | %.2f %% / %.2f %% | %.4f | %d | %.0f KiB / %.0f KiB |"
                  % (name, arch, 100 * float(m["accuracy"]), 100 * float(m["accuracy_alerts"]), float(m["rmse"]), params,
                     os.path.getsize(path) / 1024, os.path.getsize(os.path.join(out, name + ".onnx")) / 1024))


def check_rule(n_per_axis):
    """The rule's answer to every ACAS-like property box, on a grid."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
    import make_bab_bench as mb
    for p in mb.acas_properties():
        axes = [np.linspace(lo, hi, n_per_axis if hi > lo else 1) for lo, hi in zip(p["lo"], p["hi"])]
        grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 5)
        c = costs(denormalize(grid))
        bad = mb.unsafe_mask(p, c)
        print("%-10s %8d grid states, %6d in the unsafe set (rule), scores %.3f .. %.3f: %s"
              % (p["name"], len(grid), int(bad.sum()), c.min(), c.max(), p["doc"]))


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--train", action="store_true")
    p.add_argument("--only")
    p.add_argument("--out", default=os.path.join("models", "acas"))
    p.add_argument("--list", action="store_true")
    p.add_argument("--table", action="store_true")
    p.add_argument("--check", type=int, metavar="N", help="grid points per free axis")
    a = p.parse_args(argv)
    if a.list:
        for n, w in NETS.items():
            print(n, w)
        return 0
    if a.table:
        print_table(a.out)
        return 0
    if a.check:
        check_rule(a.check)
        return 0
    if not a.train:
        p.error("one of --train, --list, --table, --check")
    import torch
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    names = a.only.split(",") if a.only else list(NETS)
    unknown = [n for n in names if n not in NETS]
    if unknown:
        print("acas_like.py: unknown network(s) %s (see --list)" % ", ".join(unknown), file=sys.stderr)
        return 2
    t0 = time.time()
    train_set, test_set = data()
    print("data: %d + %d states, %.1f s; advisory shares (train): %s" % (
        N_TRAIN, N_TEST, time.time() - t0, ", ".join(
            "%s %.3f" % (ADVISORIES[k], v) for k, v in enumerate(
                np.bincount(train_set[1].argmin(axis=1), minlength=5) / N_TRAIN))), flush=True)
    os.makedirs(a.out, exist_ok=True)
    for n in names:
        train_one(n, NETS[n], a.out, train_set, test_set, lambda m: print(m, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
