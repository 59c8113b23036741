#!/usr/bin/env bash
# no-sanitizer: an end-to-end numeric run (MILP, branch and bound, PyTorch); the
# sanitizer build runs the same code paths in cli_verify.sh and cli_vnncomp.sh.
#
# The branch-and-bound benchmark (benchmarks/zoo_bab, doc/bab.md "Benchmark"):
# the folder is what its generator writes; the ACAS Xu-like nets' .h5 and .onnx
# give PyTorch's float64 scores; tools/bench/bab_report.sh on a subset gives the
# known answers (bound-only, --bab with CROWN and with FROWN's split multipliers,
# and MILP agree with each other and with the
# independent reference search) and its comparison fails on a planted wrong
# answer; a sat counterexample is checked by PyTorch.
. "$(dirname "$0")/lib.sh"
export OMPI_MCA_rmaps_base_oversubscribe=1 OPENBLAS_NUM_THREADS=1
PY=/usr/bin/python3
B=benchmarks/zoo_bab
ACAS=models/acas

# 1. the committed folder is the generator's output, byte for byte
if $PY tools/bench/make_bab_bench.py --out "$TMP/gen" >"$TMP/gen.log" 2>&1; then
    check "make_bab_bench.py writes the committed benchmarks/zoo_bab" "diff -r '$TMP/gen' '$B' >'$TMP/diff' 2>&1" \
        || head -5 "$TMP/diff"
else
    not_ok "make_bab_bench.py runs" "$(tail -3 "$TMP/gen.log")"
fi

# 2. the ACAS Xu-like nets, .h5 and .onnx, against the PyTorch float64 reader of
# the .h5 on 64 states (normalized inputs in [-0.5, 0.5], fed as pixels x + 0.5
# with --mean 0.5 --std 1)
$PY - "$TMP" <<'EOF' >"$TMP/states.log" 2>&1
import sys, numpy as np
rng = np.random.Generator(np.random.PCG64(7))
x = rng.uniform(-0.5, 0.5, (64, 5))
np.save(sys.argv[1] + "/px.npy", x + 0.5)
np.save(sys.argv[1] + "/lab.npy", np.zeros(64, dtype=np.int64))
EOF
for net in acasxu_like_2x12 acasxu_like_3x25 acasxu_like_6x50; do
    for ext in h5 onnx; do
        "$NNCERT" predict "$ACAS/$net.$ext" --data "npy:$TMP/px.npy,labels=$TMP/lab.npy" --mean 0.5 --std 1 \
            --logits "$TMP/$net.$ext.txt" >/dev/null 2>"$TMP/pred.err" || cat "$TMP/pred.err"
    done
    check "$net: .h5 and .onnx give PyTorch's float64 scores (1e-9 relative)" "$PY - '$TMP' '$ACAS/$net.h5' <<'EOF'
import sys, numpy as np, torch
sys.path.insert(0, 'tools/ref')
import torch_forward as tf
t, h5 = sys.argv[1], sys.argv[2]
x = torch.from_numpy(np.load(t + '/px.npy')) - 0.5
ref = tf.load_model(h5)(x).detach().numpy()
for ext in ('h5', 'onnx'):
    got = np.loadtxt('%s/%s.%s.txt' % (t, h5.rsplit('/', 1)[1][:-3], ext))[:, 3:]
    assert got.shape == ref.shape, (ext, got.shape)
    err = np.max(np.abs(got - ref) / np.maximum(1, np.abs(ref)))
    assert err <= 1e-9, (ext, err)
EOF"
done

# 3. the report on a subset: 2x[12] ACAS properties 1-5 and one MNIST image at two eps
sub='acasxu_like_2x12|mnist_mlp_2x20_relu_mnist_1_'
tools/bench/bab_report.sh --nncert "$NNCERT" --only "$sub" --no-scale --milp-time-limit 10 --milp-kill 300 \
    --out "$TMP/rep" >"$TMP/rep.out" 2>"$TMP/rep.err"
rc=$?
check "bab_report.sh on the subset: exit 0, no contradiction" \
    "[ $rc -eq 0 ] && grep -q 'Contradictions between methods and the reference search: 0' '$TMP/rep.out'" \
    || tail -5 "$TMP/rep.err"
known() { grep -F "| $1 |" "$TMP/rep.out" | awk -F'|' '{print $8}' | awk '{print $1}'; }
got=""
for i in 1 2 3 4 5; do got="$got $(known "acasxu_like_2x12 acas_prop_$i")"; done
got="$got $(known "mnist_mlp_2x20_relu mnist_1_eps0.02") $(known "mnist_mlp_2x20_relu mnist_1_eps0.04")"
check "known answers ($got ): unsat unsat unsat sat unsat unsat sat" \
    "[ '$got' = ' unsat unsat unsat sat unsat unsat sat' ]"
check "--bab solves all 7 (with CROWN and with FROWN's betas), bound-only 5, MILP 7" \
    "grep -q 'Solved within each instance.s timeout (of 7): bound-only 5, --bab 7, --bab frown + betas 7, MILP 7' '$TMP/rep.out'" \
    || grep Solved "$TMP/rep.out"
# bound-only leaves ACAS properties 1 and 2 open; MILP proves them (one row suffices)
check "properties 1 and 2: bound-only unknown, --bab (both) and MILP unsat" \
    "[ \$(grep -E 'acasxu_like_2x12 acas_prop_[12] \| unknown [^|]*\| unsat [^|]*\| unsat [^|]*\| unsat ' '$TMP/rep.out' | wc -l) -eq 2 ]"

# 4. teeth: a planted wrong answer is caught; by the reference search alone too
table() { $PY tools/bench/bab_table.py answers --instances "$TMP/rep/instances.csv" --bound "$1" --bab "$2" \
              --bab-h5 "$TMP/rep/bab.h5" --milp "$3" --ref "$TMP/rep/ref.tsv"; }
sed 's/mnist_1_eps0.04.vnnlib.gz,sat,/mnist_1_eps0.04.vnnlib.gz,unsat,/' "$TMP/rep/bound.csv" >"$TMP/bad_bound.csv"
check "the planted bound-only unsat is a different file" "! cmp -s '$TMP/bad_bound.csv' '$TMP/rep/bound.csv'"
table "$TMP/bad_bound.csv" "$TMP/rep/bab.csv" "$TMP/rep/milp.tsv" >"$TMP/t1.out" 2>&1
check "an unsat beside sat answers fails the comparison, naming the instance" \
    "[ $? -ne 0 ] && grep -q 'mnist_1_eps0.04: unsat by bound, sat by bab, milp, reference' '$TMP/t1.out'" \
    || tail -3 "$TMP/t1.out"
flip() { sed 's/\(acas_prop_4.vnnlib[,\t]\)sat/\1unsat/' "$1"; }
flip "$TMP/rep/bound.csv" >"$TMP/f_bound.csv"
flip "$TMP/rep/bab.csv" >"$TMP/f_bab.csv"
flip "$TMP/rep/milp.tsv" >"$TMP/f_milp.tsv"
table "$TMP/f_bound.csv" "$TMP/f_bab.csv" "$TMP/f_milp.tsv" >"$TMP/t2.out" 2>&1
check "three methods agreeing on a wrong unsat are caught by the reference search" \
    "[ $? -ne 0 ] && grep -q 'acas_prop_4: unsat by bound, bab, milp, sat by reference' '$TMP/t2.out'" \
    || tail -3 "$TMP/t2.out"

# 5. a counterexample of verify --bab, checked by PyTorch: inside the box, the
# outputs printed are the network's, and COC is the lowest score (property 4's
# unsafe set)
"$NNCERT" verify --model "$ACAS/acasxu_like_3x25.onnx" --vnnlib "$B/vnnlib/acas_prop_4.vnnlib" --bab \
    --timeout 30 >"$TMP/cex" 2>"$TMP/cex.err"
check "verify --bab: sat with a counterexample PyTorch confirms" "$PY - '$TMP/cex' '$ACAS/acasxu_like_3x25.h5' \
    '$B/vnnlib/acas_prop_4.vnnlib' <<'EOF'
import re, sys, torch
sys.path.insert(0, 'tools/ref'); sys.path.insert(0, 'tools/bench')
import torch_forward as tf, bab_reference as br
text = open(sys.argv[1]).read()
assert text.startswith('sat\n'), text[:40]
x = [float(v) for v in re.findall(r'\(X_\d+ ([^\s)]+)\)', text)]
y = [float(v) for v in re.findall(r'\(Y_\d+ ([^\s)]+)\)', text)]
lo, hi, cases, n_y = br.read_property(sys.argv[3])
assert len(x) == 5 and len(y) == 5 and all(l <= v <= h for v, l, h in zip(x, lo, hi)), (x, lo, hi)
out = tf.load_model(sys.argv[2])(torch.tensor([x], dtype=torch.float64))[0]
assert max(abs(float(out[j]) - y[j]) for j in range(5)) <= 1e-9 * max(1.0, float(out.abs().max())), (out, y)
assert all(float(out[0]) <= float(out[j]) for j in range(1, 5)), out
EOF"

# 6. a counterexample only the search finds: with one PGD step, verify --bab on
# the 6x[50] net's property 4 must split before it meets one (a search that
# wrongly proved sub-domains would answer unsat where the reference found points)
"$NNCERT" verify --model "$ACAS/acasxu_like_6x50.onnx" --vnnlib "$B/vnnlib/acas_prop_4.vnnlib" --bab --steps 1 \
    --restarts 1 --timeout 60 >"$TMP/cex6" 2>"$TMP/cex6.err"
check "one PGD step: --bab finds property 4's counterexample by splitting ($(head -1 "$TMP/cex6"), \
$(grep -o '[0-9]* domains bounded' "$TMP/cex6.err"))" \
    "[ \"\$(head -1 '$TMP/cex6')\" = sat ] && grep -q '[1-9][0-9]* domains bounded' '$TMP/cex6.err'"

"$NNCERT" verify --model "$ACAS/acasxu_like_6x50.onnx" --vnnlib "$B/vnnlib/acas_prop_4.vnnlib" --steps 1 \
    --restarts 1 --timeout 60 >"$TMP/cex6b" 2>/dev/null
check "one PGD step, bounds only: property 4 of 6x[50] is not proven ($(head -1 "$TMP/cex6b"))" \
    "[ \"\$(head -1 '$TMP/cex6b')\" = unknown ]"

# MILP's per-row limit decides answers, so it is part of vnncomp's job identity
grep 'acasxu_like_2x12.onnx,vnnlib/acas_prop_3' "$B/instances.csv" >"$TMP/one_rel.csv"
awk -F, -v d="$PWD/$B" '{print d "/" $1 "," d "/" $2 "," $3}' "$TMP/one_rel.csv" >"$TMP/one.csv"
"$NNCERT" vnncomp --instances "$TMP/one.csv" --out "$TMP/m.csv" --method milp --milp-time-limit 5 >/dev/null 2>&1
check "vnncomp --method milp: the instance answered" "[ \"\$(tail -1 '$TMP/m.csv' | cut -d, -f3)\" = unsat ]"
expect_failure "vnncomp: a journal of another --milp-time-limit is another job's" \
    "belongs to another job.*milp_time_limit=5" \
    "$NNCERT" vnncomp --instances "$TMP/one.csv" --out "$TMP/m.csv" --method milp --milp-time-limit 7

expect_success "bab_report.sh --help" tools/bench/bab_report.sh --help
expect_failure "bab_report.sh: an unknown option" "unknown option '--bogus'" tools/bench/bab_report.sh --bogus
expect_failure "bab_report.sh: a subset that matches nothing" "no instance matches" \
    tools/bench/bab_report.sh --nncert "$NNCERT" --only no-such-instance --out "$TMP/none"
