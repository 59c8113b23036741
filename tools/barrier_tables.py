#!/usr/bin/python3
"""The two tables of tools/barrier_report.sh, from its results folder, and the
orderings every image must satisfy (doc/lp.md "Barrier study").

Files per net B (certify's and attack's results, and the seconds of each run):
  B_r_METHOD.h5  certified radius (bisect search)     B_r_pgd.h5  IBP search + --attack pgd
  B_e_METHOD.h5  certify --eps E                       B_e_pgd.h5  nncert attack --eps E
  TAG.wall       one "start end" line (seconds since the epoch) per invocation

Markdown on stdout; a violated ordering prints a line starting with FAILED (on
stdout, in a Checks section, and on stderr) and the exit status is 1.

Orderings (A <= B: B's margin lower bound is never below A's at the same eps, by
construction): IBP <= Fast-Lin <= LP-ALL, IBP <= CROWN <= LP-LAST <= LP-ALL <=
MILP, CROWN <= FROWN, and their transitive closure. Checked (doc/lp.md
"Barrier study" has the arguments):
  outright   radius < PGD's and the MILP's counterexample eps; at eps, certified
             by A => by B and nothing certified where PGD or the MILP broke the
             image (the MILP's counterexamples are points the exact forward
             pass confirmed, certify's milp_eps); so the robust-error bounds
             order PGD + MILP <= MILP <= LP-ALL <= CROWN, LP-ALL <= Fast-Lin
  where A's certified eps form an interval (what the bisect search assumes):
             lo_A < hi_B (i.e. lo_A <= lo_B (1 + rtol) where B's search
             converged); and for IBP, Fast-Lin, CROWN, LP-LAST, LP-ALL a radius
             >= eps => certified at eps, a failed step <= eps => not certified
FROWN and LP-ALL, FROWN and MILP (MILP under a time limit), Fast-Lin and CROWN
or LP-LAST are not ordered.
"""
import argparse
import json
import math
import os
import sys

import h5py
import numpy as np

NAMES = {"ibp": "IBP", "fastlin": "Fast-Lin", "crown": "CROWN", "frown": "FROWN", "lp-last": "LP-LAST",
         "lp-all": "LP-ALL", "milp": "MILP", "pgd": "PGD"}
RADIUS_ORDER = [("ibp", "fastlin"), ("ibp", "crown"), ("fastlin", "lp-all"), ("crown", "lp-last"),
                ("crown", "frown"), ("lp-last", "lp-all"), ("lp-all", "milp")]


def closure(pairs):
    """Every (A, B) that the pairs imply by transitivity."""
    out = set(pairs)
    while True:
        more = {(a, d) for a, b in out for c, d in out if b == c} - out
        if not more:
            return sorted(out)
        out |= more


RADIUS_ORDER = closure(RADIUS_ORDER)
ERROR_ORDER = RADIUS_ORDER
MONOTONE = {"ibp", "fastlin", "crown", "lp-last", "lp-all"}
CERTIFIED, UNCERTIFIED, MISCLASSIFIED, FAILED, TIMEOUT = range(5)

failures = []


def fail(msg):
    failures.append(msg)
    print("FAILED: " + msg, file=sys.stderr)


def net_label(path):
    b = os.path.basename(path)[:-3]
    arch = {"mnist_mlp_1x500_relu": "MLP-A", "mnist_mlp_2x100_relu": "MLP-B"}
    for stem, a in arch.items():
        if b == stem:
            return "NOR-" + a
        if b == stem + "_adv":
            return "ADV-" + a
    return b


def accuracy(path):
    try:
        with h5py.File(path, "r") as f:
            return float(f["meta"].attrs["accuracy"])
    except (OSError, KeyError):
        return math.nan


def wall(out, tag):
    try:
        with open(os.path.join(out, tag + ".wall")) as f:
            return sum(float(b) - float(a) for a, b in (ln.split() for ln in f if ln.strip()))
    except OSError:
        return math.nan


# columns only some files have (certify --method milp), with their value when absent
OPTIONAL = {"milp_eps": math.nan, "milp_class": -1}


def load(out, tag, cols):
    """{image index: {col: value}} of a results file, or None when it is missing.
    Columns of OPTIONAL the file lacks get their default."""
    p = os.path.join(out, tag + ".h5")
    if not os.path.exists(p) or not os.path.exists(os.path.join(out, tag + ".done")):
        return None
    with h5py.File(p, "r") as f:
        r = f["results"]
        n = r["index"].shape[0]
        data = {c: r[c][:] if c in r or c not in OPTIONAL else np.full(n, OPTIONAL[c]) for c in cols + ["index"]}
    rows = {}
    for i, idx in enumerate(data["index"]):
        rows[int(idx)] = {c: data[c][i].item() for c in cols}
    return rows


def open_images(out, b):
    """The images table 2's MILP ran on when only the open ones (barrier_open.py), else None."""
    try:
        with open(os.path.join(out, b + "_e_milp.images")) as f:
            return json.load(f)["images"]
    except OSError:
        return None


def milp_counterexamples(out, b, erows, rrows, n, eps):
    """Images that the MILP broke at <= eps: a row of table 2's MILP run (row k is
    image opened[k] when it ran on the open images) or of the radius run with a
    checked counterexample (milp_class >= 0) at milp_eps <= eps."""
    got = set()
    opened = open_images(out, b)
    for k, r in (erows or {}).items():
        if opened is not None and k >= len(opened):
            continue
        i = opened[k] if opened is not None else k
        if r["milp_class"] >= 0 and r["milp_eps"] <= eps and i < n:
            got.add(i)
    got |= {i for i, r in (rrows or {}).items() if i < n and r["milp_class"] >= 0 and r["milp_eps"] <= eps}
    return got


def fmt(x, digits=5):
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else "%.*g" % (digits, x)


def secs(x):
    return "—" if math.isnan(x) else ("%.0f" % x if x >= 100 else "%.1f" % x)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for k in ("out", "nets", "methods", "error-methods", "task-timeout"):
        p.add_argument("--" + k, required=k in ("out", "nets"), default="")
    p.add_argument("--images", type=int, required=True)
    p.add_argument("--eps", type=float, required=True)
    p.add_argument("--ranks", type=int, default=1)
    p.add_argument("--milp-time-limit", type=float, default=math.nan)
    a = p.parse_args(argv)
    nets = a.nets.split(",")
    rmethods = [m for m in a.methods.split(",") if m]
    emethods = [m for m in a.error_methods.split(",") if m]
    out, N, E = a.out, a.images, a.eps

    R, Ew = {}, {}   # per net: radius rows and error rows per method
    for net in nets:
        b = os.path.basename(net)[:-3]
        R[net] = {m: load(out, "%s_r_%s" % (b, m), ["status", "radius", "hi", "seconds", "milp_eps", "milp_class"])
                  for m in rmethods}
        R[net]["pgd"] = load(out, "%s_r_pgd" % b, ["status", "pgd_eps"])
        Ew[net] = {m: load(out, "%s_e_%s" % (b, m), ["status", "milp_eps", "milp_class"]) for m in emethods}
        Ew[net]["pgd"] = load(out, "%s_e_pgd" % b, ["status"])

    print("# The convex-relaxation barrier on MNIST MLPs\n")
    print("l_inf norm, untargeted, first %d images of the test set; certify through the MPI scheduler with %d "
          "rank(s) (rank 0 the master when > 1); MILP: %g s of Cbc per margin row; per-image time limits: %s. "
          "Seconds: wall clock of each run (all its images), on a shared machine.\n"
          % (N, a.ranks, a.milp_time_limit, a.task_timeout or "none"))

    # ---- table 1: radius ------------------------------------------------------
    counts = {}
    for m in rmethods:
        ns = {len(R[net][m]) for net in nets if R[net][m] is not None}
        if ns:
            counts[m] = min(ns)
    for c in sorted(set(counts.values()), reverse=True):
        cols = [m for m in rmethods if counts.get(m, 0) >= c] + ["pgd"]
        print("## Table 1: certified l_inf radius and PGD's upper bound, images 0-%d\n" % (c - 1))
        print("Mean certified radius over the correctly classified images; median over them of PGD / radius "
              "(images where both are > 0); wall seconds of the column's run and its images.\n")
        print("| net (test accuracy) | | " + " | ".join(NAMES[m] for m in cols) + " |")
        print("|---|---|" + "---|" * len(cols))
        for net in nets:
            pgd = R[net]["pgd"] or {}
            ok = [i for i in range(c) if i in pgd and pgd[i]["status"] in (CERTIFIED, UNCERTIFIED)]
            means, ratios, times = [], [], []
            for m in cols:
                rows = R[net][m]
                if rows is None or any(i not in rows for i in ok):
                    means.append("—"), ratios.append("—"), times.append("—")
                    continue
                b = os.path.basename(net)[:-3]
                times.append("%s (%d)" % (secs(wall(out, "%s_r_%s" % (b, m))), len(rows)))
                if m == "pgd":
                    v = [rows[i]["pgd_eps"] for i in ok if not math.isnan(rows[i]["pgd_eps"])]
                    none = len(ok) - len(v)
                    means.append(fmt(np.mean(v) if v else math.nan) + (" (%d none)" % none if none else ""))
                    ratios.append("1")
                    continue
                rad = [rows[i]["radius"] for i in ok]
                tos = sum(rows[i]["status"] == TIMEOUT for i in ok)
                means.append(fmt(np.mean(rad) if rad else math.nan) + (" (%d timeout)" % tos if tos else ""))
                q = [pgd[i]["pgd_eps"] / rows[i]["radius"] for i in ok
                     if rows[i]["radius"] > 0 and not math.isnan(pgd[i]["pgd_eps"])]
                ratios.append(fmt(np.median(q), 3) if q else "—")
            acc = accuracy(net)
            print("| %s (%s, %d of %d) | mean radius | %s |" % (
                net_label(net), "%.2f %%" % (100 * acc) if not math.isnan(acc) else "?", len(ok), c,
                " | ".join(means)))
            print("| | median PGD / radius | %s |" % " | ".join(ratios))
            print("| | seconds (images) | %s |" % " | ".join(times))
        print()

    # ---- table 2: robust error ------------------------------------------------
    ecols = [m for m in ("milp", "lp-all", "lp-last", "frown", "crown", "fastlin", "ibp") if m in emethods]
    print("## Table 2: bounds on the robust error at l_inf eps = %g, images 0-%d\n" % (E, N - 1))
    print("Robust error = misclassified or not robust, over the %d images. Lower bound: misclassified or a "
          "counterexample by PGD (nncert attack --eps %g, or the radius table's PGD at <= eps) or by the MILP "
          "(a point Cbc found that the exact forward pass confirms: table 2's MILP run, or the radius table's "
          "at <= eps). Upper bounds: misclassified or not certified at eps by the method. Fast-Lin is the "
          "paper's LP-GREEDY.%s\n"
          % (N, E, " MILP \"run on k open\": MILP ran only on the k images that LP-ALL did not certify and PGD "
                   "did not break; on the others it certifies what LP-ALL certifies (its bound is never below "
                   "LP-ALL's) and nothing PGD broke." if any(open_images(out, os.path.basename(n)[:-3]) is not None
                                                         for n in nets) else ""))
    print("| net | test error | PGD + MILP (lower) | " + " | ".join(NAMES[m] + " (upper)" for m in ecols) + " |")
    print("|---|---|---|" + "---|" * len(ecols))
    for net in nets:
        b = os.path.basename(net)[:-3]
        atk, pgd = Ew[net]["pgd"], R[net]["pgd"] or {}
        if atk is None or len(atk) < N:
            print("| %s | (PGD at eps missing) |" % net_label(net))
            continue
        mis = {i for i in range(N) if atk[i]["status"] == 2}
        cex = {i for i in range(N) if atk[i]["status"] == 0}
        cex |= {i for i in range(N) if i in pgd and not math.isnan(pgd[i]["pgd_eps"]) and pgd[i]["pgd_eps"] <= E}
        mcex = milp_counterexamples(out, b, Ew[net].get("milp"), R[net].get("milp"), N, E)
        for i in sorted(mcex & mis):
            fail("%s image %d: the MILP found a counterexample to a misclassified image" % (b, i))
        lower = len(mis | cex | mcex)
        cex |= mcex
        cells, times, upper = [], [], {}
        for m in ecols:
            rows, note, opened = Ew[net][m], "", None
            if m == "milp":
                opened = open_images(out, b)
                lp = Ew[net].get("lp-all")
                if opened is not None and lp is not None and len(lp) >= N and os.path.exists(
                        os.path.join(out, b + "_e_milp.done")):
                    # MILP ran on the open images only (row k is image opened[k]);
                    # elsewhere it certifies what LP-ALL certifies
                    got = rows or {}
                    rows = {i: lp[i] for i in range(N)}
                    for k, i in enumerate(opened):
                        rows[i] = got.get(k, {"status": FAILED})
                    note = ", run on %d open" % len(opened)
            if rows is None or len(rows) < N:
                cells.append("—"), times.append("—")
                continue
            cert = {i for i in range(N) if rows[i]["status"] == CERTIFIED}
            upper[m] = (N - len(cert), cert)
            tos = sum(rows[i]["status"] == TIMEOUT for i in (opened if opened is not None else range(N)))
            note = (" (" + ("%d timeout" % tos if tos else "") + note + ")").replace("(, ", "(") \
                if tos or note else ""
            cells.append("%.1f %%%s" % (100.0 * (N - len(cert)) / N, note))
            t = wall(out, "%s_e_%s" % (b, m))
            times.append("0" if opened is not None and not opened else secs(t))
            # per image: misclassified agree, no certificate where PGD found a counterexample
            mis_m = {i for i in range(N) if rows[i]["status"] == MISCLASSIFIED}
            if mis_m != mis:
                fail("%s: %s and PGD disagree on the misclassified images: %s vs %s"
                     % (b, NAMES[m], sorted(mis_m), sorted(mis)))
            for i in sorted(cert & cex):
                fail("%s image %d: %s certifies eps %g where %s found a counterexample"
                     % (b, i, NAMES[m], E, "the MILP" if i in mcex else "PGD"))
            failed = [i for i in range(N) if rows[i]["status"] == FAILED]
            if failed:
                fail("%s: %s failed on images %s" % (b, NAMES[m], failed))
        print("| %s | %.1f %% | %.1f %% | %s |" % (net_label(net), 100.0 * len(mis) / N, 100.0 * lower / N,
                                                   " | ".join(cells)))
        print("| seconds | | %s | %s |" % (secs(wall(out, "%s_e_pgd" % b)), " | ".join(times)))
        for wk, st in ERROR_ORDER:
            if wk in upper and st in upper:
                for i in sorted(upper[wk][1] - upper[st][1]):
                    fail("%s image %d: certified at eps %g by %s but not by %s" % (b, i, E, NAMES[wk], NAMES[st]))
        chain = [("PGD + MILP", lower)] + [(NAMES[m], upper[m][0]) for m in ("milp", "lp-all", "crown") if m in upper]
        for (n1, v1), (n2, v2) in zip(chain, chain[1:]):
            if v1 > v2:
                fail("%s: robust-error bound %s %d > %s %d" % (b, n1, v1, n2, v2))
        if "lp-all" in upper and "fastlin" in upper and upper["lp-all"][0] > upper["fastlin"][0]:
            fail("%s: robust-error bound LP-ALL %d > Fast-Lin %d" % (b, upper["lp-all"][0], upper["fastlin"][0]))
        # the two tables agree where the method is monotone in eps
        for m in MONOTONE & set(upper) & set(rmethods):
            rr = R[net][m] or {}
            for i in range(N):
                if i not in rr or rr[i]["status"] not in (CERTIFIED, UNCERTIFIED, TIMEOUT):
                    continue
                if rr[i]["radius"] >= E and i not in upper[m][1]:
                    fail("%s image %d: %s radius %.17g >= eps %g, yet not certified at eps"
                         % (b, i, NAMES[m], rr[i]["radius"], E))
                if rr[i]["hi"] <= E and i in upper[m][1]:
                    fail("%s image %d: %s certifies eps %g, yet its search failed at %.17g <= eps"
                         % (b, i, NAMES[m], E, rr[i]["hi"]))
    print()

    # ---- radius orderings, per image ------------------------------------------
    checked = 0
    for net in nets:
        b = os.path.basename(net)[:-3]
        pgd = R[net]["pgd"] or {}
        for m in rmethods:
            rows = R[net][m] or {}
            for i, r in rows.items():
                if r["status"] == FAILED:
                    fail("%s image %d: %s radius search failed" % (b, i, NAMES[m]))
                if r["status"] not in (CERTIFIED, UNCERTIFIED, TIMEOUT) or i not in pgd:
                    continue
                pe = pgd[i]["pgd_eps"]
                checked += 1
                if not math.isnan(pe) and not r["radius"] < pe:
                    fail("%s image %d: %s radius %.17g >= PGD's counterexample at %.17g"
                         % (b, i, NAMES[m], r["radius"], pe))
            mr = R[net].get("milp") or {}
            for i, r in rows.items():
                if i in mr and mr[i]["milp_class"] >= 0 and r["status"] in (CERTIFIED, UNCERTIFIED, TIMEOUT) \
                        and not r["radius"] < mr[i]["milp_eps"]:
                    fail("%s image %d: %s radius %.17g >= the MILP's counterexample at %.17g"
                         % (b, i, NAMES[m], r["radius"], mr[i]["milp_eps"]))
        for wk, st in RADIUS_ORDER:
            A, B = R[net].get(wk), R[net].get(st)
            if not A or not B:
                continue
            for i in sorted(set(A) & set(B)):
                ra, rb = A[i], B[i]
                if ra["status"] not in (CERTIFIED, UNCERTIFIED, TIMEOUT) or rb["status"] == MISCLASSIFIED:
                    continue
                checked += 1
                if ra["radius"] > 0 and not ra["radius"] < rb["hi"]:
                    fail("%s image %d: %s radius %.17g, yet %s (never looser) fails at %.17g: a wrong bound, "
                         "or %s not monotone in eps there" % (b, i, NAMES[wk], ra["radius"], NAMES[st], rb["hi"],
                                                               NAMES[wk]))
    print("## Checks\n")
    if failures:
        for f in failures:
            print("FAILED: " + f)
    else:
        pairs = ", ".join("%s <= %s" % (NAMES[a], NAMES[b]) for a, b in ERROR_ORDER
                          if a in emethods and b in emethods)
        print("All orderings hold (doc/lp.md \"Barrier study\"): %d comparisons of radii (an image's radius with "
              "a stronger method's search or PGD's counterexample) and, image by image at eps, no certificate "
              "where PGD broke the image%s." % (checked, " and certified by A => by B for " + pairs if pairs else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
