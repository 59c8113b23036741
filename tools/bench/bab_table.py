#!/usr/bin/python3
"""The tables of tools/bench/bab_report.sh, from the files its runs wrote.

answers: one row per instance, bound-only vs --bab (CROWN, and with --beta FROWN
  with split multipliers) vs MILP, the reference
  search's finding (bab_reference.py), the known answer and its source, the solved
  counts; exits 1, naming the instances, when answers contradict each other
  (an unsat beside a sat or beside a point the reference found).
    bab_table.py answers --instances I.csv --bound B.csv --bab C.csv --bab-h5 C.h5
                         [--beta F.csv --beta-h5 F.h5] --milp M.tsv --ref R.tsv
scaling: one instance's search by a group of 1 and of 2 ranks, and where one
  process's time went (verify's branch-and-bound summary line), with the
  estimate for 1,000 ranks that follows from it (doc/bab.md "Benchmark").
    bab_table.py scaling --g1 G1.csv --g1-h5 G1.h5 --g1-cpu S --g2 G2.csv --g2-h5 G2.h5
                         --g2-cpu S --log NAME=VERIFY.err [--log NAME=VERIFY.err ...]
"""
import argparse
import csv
import math
import re
import sys

import h5py

SOLVED = ("sat", "unsat")


def read_results(path):
    """{(onnx, vnnlib): (result, seconds)} of a vnncomp R.csv or a TSV of the same."""
    out = {}
    with open(path) as f:
        rows = list(csv.reader(f, delimiter="\t" if path.endswith(".tsv") else ","))
    for r in rows:
        if not r or r[0] == "onnx":
            continue
        out[(r[0], r[1])] = (r[2], float(r[3]) if len(r) > 3 and r[3] else float("nan"))
    return out


def read_instances(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                onnx, vnn, t = [s.strip() for s in line.split(",")]
                out.append((onnx, vnn, float(t)))
    return out


def short(onnx, vnn):
    m = onnx.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    p = vnn.rsplit("/", 1)[-1].replace(".vnnlib.gz", "").replace(".vnnlib", "")
    p = p.replace(m + "_", "")
    return "%s %s" % (m, p)


def cell(res, t, timeout):
    if res is None:
        return "-"
    late = " (late)" if res in SOLVED and t > timeout else ""
    return "%s %.2f s%s" % (res, t, late)


def answers(a):
    inst = read_instances(a.instances)
    bound, bab, milp = read_results(a.bound), read_results(a.bab), read_results(a.milp)
    beta = read_results(a.beta) if a.beta else None
    ref = {}
    with open(a.ref) as f:
        for line in f:
            onnx, vnn, found, best = line.rstrip("\n").split("\t")
            ref[(onnx, vnn)] = (found, float(best))
    def read_domains(path):
        out = {}
        with h5py.File(path, "r") as f:
            r = f["results"]
            for i in range(len(r["onnx"])):
                out[(r["onnx"][i].decode(), r["vnnlib"][i].decode())] = int(r["bab_domains"][i])
        return out
    domains = {"bab": read_domains(a.bab_h5), "beta": read_domains(a.beta_h5) if beta is not None else {}}
    cols = ["bound", "bab"] + (["beta"] if beta is not None else []) + ["milp"]
    head = {"bound": "bound-only", "bab": "--bab (domains)", "beta": "--bab, frown + betas (domains)", "milp": "MILP"}
    print("| instance | %s | reference search | known answer |" % " | ".join(head[c] for c in cols))
    print("|---|%s---|---|" % ("---|" * len(cols)))
    wrong, counts, times = [], {c: 0 for c in cols}, {c: 0.0 for c in cols}
    late = 0
    for onnx, vnn, timeout in inst:
        key = (onnx, vnn)
        got = {"bound": bound.get(key), "bab": bab.get(key), "milp": milp.get(key)}
        if beta is not None:
            got["beta"] = beta.get(key)
        for m, v in got.items():
            if v and v[0] in SOLVED and v[1] <= timeout:
                counts[m] += 1
            if v and v[0] in SOLVED and v[1] > timeout:
                late += m == "milp"
            if v and not math.isnan(v[1]):
                times[m] += min(v[1], timeout) if m != "milp" else v[1]
        found, best = ref.get(key, ("-", float("nan")))
        said = {m: v[0] for m, v in got.items() if v}
        unsat = [m for m, r in said.items() if r == "unsat"]
        sat = [m for m, r in said.items() if r == "sat"] + (["reference"] if found == "found" else [])
        if unsat and sat:
            wrong.append("%s: unsat by %s, sat by %s" % (short(onnx, vnn), ", ".join(unsat), ", ".join(sat)))
            known = "**CONTRADICTION**"
        elif unsat:
            known = "unsat (%s)" % ", ".join("MILP" if m == "milp" else m for m in unsat)
        elif sat:
            known = "sat (%s)" % ", ".join("MILP" if m == "milp" else m for m in sat)
        else:
            known = "?"
        cells = []
        for c in cols:
            v = got[c]
            text = cell(*(v or (None, 0)), timeout)
            if v and c in domains and key in domains[c]:
                text += " (%d)" % domains[c][key]
            cells.append(text)
        print("| %s | %s | %s | %s |" % (short(onnx, vnn), " | ".join(cells),
                                        "%s (%.3g)" % ("point found" if found == "found" else "none", best), known))
    n = len(inst)
    print()
    name = {"bound": "bound-only", "bab": "--bab", "beta": "--bab frown + betas", "milp": "MILP"}
    print("Solved within each instance's timeout (of %d): %s%s."
          % (n, ", ".join("%s %d" % (name[c], counts[c]) for c in cols),
             " (MILP answered %d more after the timeout: a bound pass is not interrupted)" % late if late else ""))
    print("Wall seconds over all instances (timeouts counted at the limit; MILP as run): %s."
          % ", ".join("%s %.1f" % (name[c], times[c]) for c in cols))
    if wrong:
        print()
        print("WRONG ANSWERS: %d instance(s) with contradicting answers:" % len(wrong))
        for w in wrong:
            print("  " + w)
        return 1
    print("Contradictions between methods and the reference search: 0.")
    return 0


BREAKDOWN = re.compile(r"(\d+) domains bounded.*?; (\d+) rounds: ([\d.]+) s PGD, ([\d.]+) s planning, "
                       r"([\d.]+) s jobs, ([\d.]+) s merging")


def parse_log(path):
    with open(path) as f:
        text = f.read()
    m = BREAKDOWN.search(text)
    if not m:
        raise SystemExit("bab_table.py: %s has no branch-and-bound summary line" % path)
    d, r, pgd, plan, jobs, merge = (float(v) for v in m.groups())
    answer = re.search(r"nncert verify: (\w+) in ([\d.]+) s", text)
    split = re.search(r"; split by ([^;\n]*)", text)
    split = split.group(1) if split else "?"
    return {"split": split, "domains": d, "rounds": r, "pgd": pgd, "plan": plan, "jobs": jobs, "merge": merge,
            "answer": answer.group(1) if answer else "?", "seconds": float(answer.group(2)) if answer else 0.0}


def one_row(csv_path, h5_path):
    (key, (res, sec)), = read_results(csv_path).items()
    with h5py.File(h5_path, "r") as f:
        dom = int(f["results"]["bab_domains"][0])
    return key, res, sec, dom


def scaling(a):
    k1, r1, s1, d1 = one_row(a.g1, a.g1_h5)
    k2, r2, s2, d2 = one_row(a.g2, a.g2_h5)
    print("Instance %s, `vnncomp --bab` (wall seconds of the instance on its group; CPU seconds of all "
          "processes of the run, mpirun included):" % short(*k1))
    print()
    print("| ranks per instance | answer | domains bounded | wall s | CPU s |")
    print("|---|---|---|---|---|")
    print("| 1 (`-np 2`) | %s | %d | %.2f | %.2f |" % (r1, d1, s1, a.g1_cpu))
    print("| 2 (`-np 3`) | %s | %d | %.2f | %.2f |" % (r2, d2, s2, a.g2_cpu))
    print()
    if r1 == r2 == "timeout":
        # both cut off by the clock: compare domains per second
        same = True
        print("Both ran out of time: %.0f vs %.0f domains/s, %.2fx." % (d1 / s1, d2 / s2, (d2 / s2) / (d1 / s1)))
    elif "timeout" in (r1, r2):
        same = True   # a matter of timing, not of answers
        print("One group size ran out of time (%s vs %s): no speed-up to report." % (r1, r2))
    else:
        same = r1 == r2 and d1 == d2
        print("Speed-up %.2fx wall (efficiency %.0f %%)%s." % (
            s1 / s2, 50 * s1 / s2, "; same answer and tree" if same else "; ANSWERS OR TREES DIFFER"))
    print()
    print("Where one process's time goes (`verify --bab`), per sub-domain and the estimate for G ranks "
          "with a round of G jobs (batch G/2):")
    print()
    print("| search | answer | domains | rounds | job s / domain | replicated s / domain "
          "(planning + merging) | PGD s / round | domains/s, 1 rank | est. domains/s, 1,000 ranks | ceiling |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for spec in a.log:
        name, path = spec.split("=", 1)
        b = parse_log(path)
        d = max(b["domains"], 1.0)
        t_job = b["jobs"] / d
        t_rep = (b["plan"] + b["merge"]) / d
        t_pgd = b["pgd"] / max(b["rounds"], 1.0)
        total = b["pgd"] + b["plan"] + b["jobs"] + b["merge"]
        G = 1000
        # a round of G jobs (one per member): the replicated work of all its
        # domains, one job, and an all-gather (ASSUMED: 20 us x log2 G latency)
        t_round = t_pgd + G * t_rep + t_job + 20e-6 * math.log2(G)
        print("| %s: %s | %s | %d | %d | %.3g | %.3g | %.3g | %.0f | %.0f | %.0f |" % (
            b["split"], name, b["answer"], b["domains"], b["rounds"], t_job, t_rep, t_pgd, d / total if total else 0,
            G / t_round, 1 / t_rep if t_rep else float("inf")))
    return 0 if same else 1


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("answers")
    for k in ("instances", "bound", "bab", "bab-h5", "milp", "ref"):
        p.add_argument("--" + k, required=True)
    p.add_argument("--beta", help="vnncomp --bab --method frown results (split multipliers)")
    p.add_argument("--beta-h5")
    q = sub.add_parser("scaling")
    for k in ("g1", "g1-h5", "g2", "g2-h5"):
        q.add_argument("--" + k, required=True)
    q.add_argument("--g1-cpu", type=float, required=True)
    q.add_argument("--g2-cpu", type=float, required=True)
    q.add_argument("--log", action="append", default=[], help="NAME=FILE: stderr of verify --bab")
    a = ap.parse_args(argv)
    return answers(a) if a.cmd == "answers" else scaling(a)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
