#!/usr/bin/env bash
# nncert vnncomp: a VNN-COMP benchmark folder (instances.csv) through the MPI
# scheduler: answers as 'nncert verify' gives them, the same with 1 or 3 ranks,
# resume after kill -9 from the journal, bad instance lists, the SLURM script.
. "$(dirname "$0")/lib.sh"
export OMPI_MCA_rmaps_base_oversubscribe=1 OPENBLAS_NUM_THREADS=1
FX="$TMP/bench"
mkdir -p "$FX/onnx" "$FX/vnnlib"

if /usr/bin/python3 tests/vnnlib_fixtures.py make "$TMP/fx" >"$TMP/gen.log" 2>&1; then ok "fixtures generated"
else not_ok "fixtures generated" "$(tail -5 "$TMP/gen.log")"; exit 1; fi
# VNN-COMP's layout: onnx/ and vnnlib/ next to instances.csv, gzipped files allowed
cp "$TMP/fx/mlp.onnx" "$TMP/fx/cnn.onnx" "$FX/onnx/"
for p in unsat sat cnn_small cnn_large many; do cp "$TMP/fx/$p.vnnlib" "$FX/vnnlib/"; done
gzip -c "$TMP/fx/unsat.vnnlib" >"$FX/vnnlib/unsat_gz.vnnlib.gz"
printf '%s\r\n' "onnx/mlp.onnx,vnnlib/unsat.vnnlib,10" "" "# a comment" " onnx/mlp.onnx , vnnlib/sat.vnnlib , 10 " \
    "onnx/cnn.onnx,vnnlib/cnn_small.vnnlib,10" "onnx/cnn.onnx,vnnlib/cnn_large.vnnlib,10" \
    "onnx/mlp.onnx,vnnlib/many.vnnlib,0.05" "onnx/mlp.onnx,vnnlib/missing.vnnlib,5" \
    "onnx/mlp.onnx,vnnlib/unsat_gz.vnnlib.gz,10" >"$FX/instances.csv"
expected="unsat sat unsat sat timeout error unsat"
results() { tail -n +2 "$1" | cut -d, -f3 | tr '\n' ' ' | sed 's/ $//'; }

expect_success "vnncomp --help" "$NNCERT" vnncomp --help
expect_failure "--instances is required" "--instances is required" "$NNCERT" vnncomp --out "$TMP/r.csv"

"$NNCERT" vnncomp --instances "$FX/instances.csv" --out "$TMP/one.csv" >"$TMP/one.out" 2>"$TMP/one.err"
rc=$?
check "one process: exit 1 (an instance is an error), the CSV written" "[ $rc -eq 1 ] && [ -s '$TMP/one.csv' ]" \
    || tail -3 "$TMP/one.err"
check "one process: the answers ($(results "$TMP/one.csv"))" "[ '$(results "$TMP/one.csv")' = '$expected' ]"
check "CSV header and paths as written in instances.csv" \
    "head -2 '$TMP/one.csv' | tr -d '\r' | cmp -s - <(printf 'onnx,vnnlib,result,seconds\nonnx/mlp.onnx,vnnlib/unsat.vnnlib,unsat,%s\n' \"\$(sed -n 2p '$TMP/one.csv' | cut -d, -f4)\")"
check "summary counts every answer" \
    "grep -q 'instances 7: unsat 3, sat 2, unknown 0, timeout 1, error 1' '$TMP/one.out'"
check "the error names the instance and the reason" "grep -q 'missing.vnnlib: No such file' '$TMP/one.err'"
check "one.h5 holds the same table as one.csv (codes in the legend's order)" "/usr/bin/python3 - '$TMP/one.h5' '$TMP/one.csv' <<'EOF'
import csv, sys, h5py
f = h5py.File(sys.argv[1], 'r')
r = f['results']
names = dict((int(c), n) for c, n in (p.split() for p in r.attrs['result_names'].decode().split(', ')))
rows = list(csv.reader(open(sys.argv[2])))[1:]
assert len(rows) == len(r['result']) == 7, len(rows)
for i, row in enumerate(rows):
    assert row[0] == r['onnx'][i].decode() and row[1] == r['vnnlib'][i].decode(), (i, row)
    assert row[2] == names[int(r['result'][i])], (i, row, int(r['result'][i]))
    assert abs(float(row[3]) - float(r['seconds'][i])) <= 5e-4, (i, row)
assert f.attrs['job'].decode().startswith('nncert vnncomp: instances sha256=')
EOF"
expect_failure "--h5 and --out may not be one file" "name the same file" \
    "$NNCERT" vnncomp --instances "$FX/instances.csv" --out "$TMP/same.csv" --h5 "$TMP/same.csv"

mpirun -np 3 "$NNCERT" vnncomp --instances "$FX/instances.csv" --out "$TMP/three.csv" >"$TMP/three.out" 2>&1
check "three ranks: the same answers" "[ '$(results "$TMP/three.csv")' = '$expected' ]" || tail -5 "$TMP/three.out"

# kill -9 after 3 journaled answers, then resume
NNCERT_TEST_KILL_AFTER_INSTANCES=3 "$NNCERT" vnncomp --instances "$FX/instances.csv" --out "$TMP/res.csv" \
    >/dev/null 2>&1
rc=$?
check "the test hook kills the run (status $rc) before the CSV" "[ $rc -ge 128 ] && [ ! -e '$TMP/res.csv' ]"
"$NNCERT" vnncomp --instances "$FX/instances.csv" --out "$TMP/res.csv" >"$TMP/res.out" 2>&1
check "the rerun resumes the 3 journaled answers" "grep -q 'resumed: 3 instances' '$TMP/res.out'" \
    || tail -3 "$TMP/res.out"
check "the resumed run has every answer" "[ '$(results "$TMP/res.csv")' = '$expected' ]"
expect_failure "a journal of another job is refused" "belongs to another job.*--force-new" \
    "$NNCERT" vnncomp --instances "$FX/instances.csv" --out "$TMP/res.csv" --method ibp
"$NNCERT" vnncomp --instances "$FX/instances.csv" --out "$TMP/res.csv" --method ibp --force-new >"$TMP/new.out" 2>&1
check "--force-new starts afresh" "! grep -q resumed '$TMP/new.out' && grep -q 'instances 7' '$TMP/new.out'"

# SIGINT: the instances in flight finish and are journaled, exit 75, no CSV yet;
# the rerun resumes them (30 instances of about 0.3 s each, 12 of about 1 s under
# the sanitizers: the signal lands mid-run)
n_slow=30
case $NNCERT in *build-san*) n_slow=12 ;; esac
for _ in $(seq $n_slow); do echo "onnx/mlp.onnx,vnnlib/many.vnnlib,60"; done >"$FX/slow.csv"
"$NNCERT" vnncomp --instances "$FX/slow.csv" --out "$TMP/slow.csv" >"$TMP/slow.out" 2>"$TMP/slow.err" &
pid=$!
sleep 2
kill -INT $pid
wait $pid
rc=$?
check "SIGINT stops the run with exit status 75 and no CSV ($rc)" "[ $rc = 75 ] && [ ! -e '$TMP/slow.csv' ]" \
    || tail -3 "$TMP/slow.err"
check "the stop is reported" "grep -q 'SIGINT: stopped on request' '$TMP/slow.err'" || tail -3 "$TMP/slow.err"
"$NNCERT" vnncomp --instances "$FX/slow.csv" --out "$TMP/slow.csv" >"$TMP/slow2.out" 2>&1
k=$(sed -n 's/^resumed: \([0-9]*\) instances.*/\1/p' "$TMP/slow2.out")
check "the rerun resumes the journaled answers (${k:-0}) and answers the rest" \
    "[ '${k:-0}' -lt $n_slow ] && [ \"\$(results '$TMP/slow.csv')\" = \"\$(printf 'unsat %.0s' \$(seq $n_slow) | sed 's/ \$//')\" ]"

# branch and bound per instance: a property the bounds leave unknown is decided;
# the search's settings are part of the job, so a journal without them is not reused
cp "$TMP/fx/rand1.vnnlib" "$FX/vnnlib/"
printf 'onnx/mlp.onnx,vnnlib/rand1.vnnlib,30\nonnx/mlp.onnx,vnnlib/sat.vnnlib,30\n' >"$FX/bab.csv"
"$NNCERT" vnncomp --instances "$FX/bab.csv" --out "$TMP/nobab.csv" --steps 30 --restarts 2 >/dev/null 2>&1
"$NNCERT" vnncomp --instances "$FX/bab.csv" --out "$TMP/bab.csv" --steps 30 --restarts 2 --bab \
    >"$TMP/bab.out" 2>"$TMP/bab.err"
check "--bab: unknown without it, unsat with it; sat stays sat" \
    "[ '$(results "$TMP/nobab.csv")' = 'unknown sat' ] && [ '$(results "$TMP/bab.csv")' = 'unsat sat' ]" \
    || tail -3 "$TMP/bab.err"
expect_failure "--bab: the journal of a run without it is another job's, and says so" \
    "nobab.csv.journal belongs to another job \(this job: 'bab=auto', .*'unit=8'; the file: \(nothing\)\)" \
    "$NNCERT" vnncomp --instances "$FX/bab.csv" --out "$TMP/nobab.csv" --steps 30 --restarts 2 --bab
# a group of 2 ranks splits each round's domains: the same answers and the same
# trees (domains bounded, left open) as one process, for input and ReLU splits,
# and ReLU splits bounded by FROWN with split multipliers (beta)
if [ "$NNCERT" = bin/nncert ]; then
    # FROWN proves the fixture's rand1 without a split: the benchmark's instance
    # near the radius (19 domains, doc/bab.md "Split multipliers") and its sat one
    B=$PWD/benchmarks/zoo_bab
    printf '%s\n' "$B/../../models/fmnist_mlp_10x20_relu.h5,$B/vnnlib/fmnist_mlp_10x20_relu_fashionmnist_0_eps0.012.vnnlib.gz,60" \
        "$B/../../models/mnist_mlp_2x20_relu.h5,$B/vnnlib/mnist_mlp_2x20_relu_mnist_0_eps0.04.vnnlib.gz,60" >"$FX/beta.csv"
    for split in input relu beta; do
        how=(--bab-split "$split") list=$FX/bab.csv
        [ $split = beta ] && how=(--bab-split relu --method frown) list=$FX/beta.csv
        "$NNCERT" vnncomp --instances "$list" --out "$TMP/g1_$split.csv" --steps 30 --restarts 2 --bab \
            "${how[@]}" --bab-batch 3 >/dev/null 2>&1
        mpirun -np 3 "$NNCERT" vnncomp --instances "$list" --out "$TMP/g2_$split.csv" --steps 30 --restarts 2 \
            --bab "${how[@]}" --bab-batch 3 --ranks-per-instance 2 >/dev/null 2>"$TMP/g2_$split.err"
        check "--ranks-per-instance 2, $split splits: the answers and search trees of one process" \
            "/usr/bin/python3 - '$TMP/g1_$split.h5' '$TMP/g2_$split.h5' <<'EOF'
import sys, h5py
a, b = (h5py.File(f, 'r')['results'] for f in sys.argv[1:])
cols = ('result', 'bab_domains', 'bab_open')
assert all(list(a[c]) == list(b[c]) for c in cols), [(list(a[c]), list(b[c])) for c in cols]
assert list(a['result']) == [0, 1] and a['bab_domains'][0] > 1, list(a['bab_domains'])
EOF" || tail -3 "$TMP/g2_$split.err"
    done
fi

# bad instance lists
printf 'onnx/mlp.onnx,vnnlib/unsat.vnnlib\n' >"$FX/two_fields.csv"
expect_failure "a line with two fields" "two_fields.csv:1: expected three fields" \
    "$NNCERT" vnncomp --instances "$FX/two_fields.csv" --out "$TMP/x.csv"
printf 'onnx/mlp.onnx,vnnlib/unsat.vnnlib,10\nonnx/mlp.onnx,vnnlib/sat.vnnlib,-3\n' >"$FX/neg.csv"
expect_failure "a negative timeout" "neg.csv:2: timeout '-3' is not a positive number" \
    "$NNCERT" vnncomp --instances "$FX/neg.csv" --out "$TMP/x.csv"
: >"$FX/empty.csv"
expect_failure "an empty list" "empty.csv: no instances" "$NNCERT" vnncomp --instances "$FX/empty.csv" --out "$TMP/x.csv"

# the SLURM script runs outside SLURM too (2 ranks)
grep -v missing "$FX/instances.csv" >"$FX/ok.csv"
if [ "$NNCERT" = bin/nncert ]; then
    NNCERT_NP=2 NNCERT_HOME=$PWD bash slurm/vnncomp.sbatch "$FX/ok.csv" "$TMP/slurm.csv" >"$TMP/slurm.out" 2>&1
    rc=$?
    check "slurm/vnncomp.sbatch runs a benchmark (status $rc)" \
        "[ $rc -eq 0 ] && [ '$(results "$TMP/slurm.csv" 2>/dev/null)' = 'unsat sat unsat sat timeout unsat' ]" \
        || tail -5 "$TMP/slurm.out"
fi
