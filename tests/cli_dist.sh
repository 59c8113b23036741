#!/usr/bin/env bash
# 'nncert certify' as a cluster job, under mpirun --oversubscribe (determinism
# over ranks and group sizes: tests/cli_dist_determinism.sh): resume after kill -9,
# three at known points (NNCERT_TEST_KILL_AFTER_ROWS) and one at a random moment
# (journal and HDF5 file may be hit mid-write); refusal of another
# job's results and --force-new; failed rows with reasons (index past the data
# set, a model whose bounds overflow, also when the failing rows belong to
# another rank of the group); config errors before any work; an unwritable
# output; saved bounds equal to 'nncert bounds'; progress lines. No assertion
# depends on timing.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
D=fashion-mnist:test
export OPENBLAS_NUM_THREADS=1 OMPI_MCA_rmaps_base_oversubscribe=1
MPI="mpirun --oversubscribe -np"

SAME="/usr/bin/python3 tests/same_results.py"

$MPI 5 $NNCERT certify --model models/fmnist_mlp_10x20_relu.h5 --data $D --count 3 --row-block 4 --ranks-per-image 2 \
    --out "$TMP/mlp 10x20-5-2.h5" >/dev/null 2>&1
check "results carry rank, job and provenance attributes" "$PY - '$TMP/mlp 10x20-5-2.h5' <<'PY'
import sys, h5py
f = h5py.File(sys.argv[1], 'r')
for a in ['config', 'model', 'model_sha256', 'method', 'norm', 'software_version', 'git_commit', 'start_time',
          'end_time', 'job_key', 'ranks', 'ranks_per_image']:
    assert a in f.attrs, a
assert f.attrs['end_time'] and f.attrs['ranks'] == 5
assert b'row_block = 4' in f.attrs['config'].encode() if isinstance(f.attrs['config'], str) else f.attrs['config']
assert set(f['results/rank'][:]) <= {1, 3}
PY"

# ---- resume after kill -9 ----
M=models/fmnist_mlp_10x20_relu.h5
JOB=(--model $M --data $D --count 24 --target all --flush-seconds 0)
TOTAL=216
$NNCERT certify "${JOB[@]}" --out "$TMP/ref.h5" >/dev/null 2>&1
records() {  # result records in a journal (356 bytes each after the header and job records)
    $PY -c "
import sys, struct
b = open(sys.argv[1], 'rb').read(); p = 8; n = 0
while p + 12 <= len(b):
    l, t = struct.unpack_from('<II', b, p)
    if p + 12 + l > len(b): break
    n += t == 3; p += 12 + l
print(n)" "$1" 2>/dev/null || echo 0
}
# Kill -9 every process of session $1 (mpirun and its ranks) until none is left.
kill_session() {
    local pids
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        pids=$(pgrep -s "$1")
        [ -z "$pids" ] && break
        kill -9 $pids 2>/dev/null
        sleep 0.1
    done
}
# Run the job in its own session with the master killing itself by SIGKILL once
# $1 rows of this run are journaled (a kill -9 at a known point, whatever the
# machine's speed; mpirun then takes the other ranks down), and clean up.
die_after() {
    local rows=$1; shift
    (NNCERT_TEST_KILL_AFTER_ROWS=$rows setsid "$@" >/dev/null 2>&1 & echo $! >"$TMP/sid"; wait) 2>/dev/null
    kill_session "$(cat "$TMP/sid")"
    records "$TMP/k.h5.journal" >>"$TMP/kills"
}
# One more kill -9 from outside at a moment nobody chose: when the journal has
# grown by $1 results, plus a random few milliseconds (if the run got to its end
# by then, the rerun simply has nothing left).
kill_after() {
    local more=$1; shift
    local base
    base=$(stat -c %s "$TMP/k.h5.journal" 2>/dev/null || echo 700)
    setsid "$@" >/dev/null 2>&1 &
    local sid=$! polls=0
    while kill -0 $sid 2>/dev/null && [ $polls -lt 6000 ]; do
        [ "$(stat -c %s "$TMP/k.h5.journal" 2>/dev/null || echo 0)" -ge $((base + 200 + more * 356)) ] && break
        sleep 0.02
        polls=$((polls + 1))
    done
    sleep "0.0$((RANDOM % 10))"
    kill_session $sid
    wait $sid 2>/dev/null
    records "$TMP/k.h5.journal" >>"$TMP/kills"
}
: >"$TMP/kills"
die_after 30 $NNCERT certify "${JOB[@]}" --out "$TMP/k.h5"
die_after 40 $MPI 3 $NNCERT certify "${JOB[@]}" --out "$TMP/k.h5"
die_after 40 $NNCERT certify "${JOB[@]}" --out "$TMP/k.h5"
kill_after 30 $MPI 2 $NNCERT certify "${JOB[@]}" --ranks-per-image 1 --out "$TMP/k.h5"
readable=$($PY -c "import h5py,sys; h5py.File(sys.argv[1],'r')['results/index'][:]; print('readable')" "$TMP/k.h5" 2>/dev/null || echo torn)
$NNCERT certify "${JOB[@]}" --out "$TMP/k.h5" >"$TMP/out" 2>&1
rc=$?
check "each kill -9 at a known point left exactly the rows journaled before it (journaled: $(tr '\n' ' ' <"$TMP/kills"); file after the last kill: $readable)" \
    "[ \"\$(head -n 3 '$TMP/kills' | tr '\n' ' ')\" = '30 70 110 ' ] && [ \$(sed -n 4p '$TMP/kills') -ge 110 ]"
check "the rerun after kill -9 finishes the job and says how much was resumed" \
    "[ $rc = 0 ] && grep -q 'resumed: ' '$TMP/out' && grep -q 'rows $TOTAL:' '$TMP/out'"
check "after four kill -9 and a rerun, every value equals an uninterrupted run" \
    "$SAME '$TMP/ref.h5' '$TMP/k.h5' && $SAME '$TMP/k.h5' '$TMP/ref.h5'"
check "no task is in the resumed file twice" "$PY -c \"
import h5py, sys; r = h5py.File(sys.argv[1], 'r')['results']
t = r['index'][:] * 9 + r['slot'][:]; assert len(t) == len(set(t)) == $TOTAL
assert h5py.File(sys.argv[1], 'r').attrs['runs'] == 5\" '$TMP/k.h5'"
$NNCERT certify "${JOB[@]}" --out "$TMP/k.h5" >"$TMP/out" 2>&1
check "rerunning a finished job does no work" "grep -q 'resumed: $TOTAL rows' '$TMP/out' && grep -q 'rows $TOTAL:' '$TMP/out'"
truncate -s 5000 "$TMP/k.h5"
check "a results file torn to 5 kB is rebuilt from its journal" \
    "$NNCERT certify ${JOB[*]} --out '$TMP/k.h5' >/dev/null 2>&1 && $SAME '$TMP/ref.h5' '$TMP/k.h5'"

# ---- another job's results ----
md5=$(md5sum <"$TMP/k.h5")
expect_failure "another job's results file is refused" "written by another job .*method = ibp.*method = crown.*--force-new" \
    $NNCERT certify "${JOB[@]}" --method ibp --out "$TMP/k.h5"
check "the refused file is left as it was" "[ '$(md5sum <"$TMP/k.h5")' = '$md5' ]"
expect_failure "a results file of another model is refused" "written by another job .*model_sha256" \
    $NNCERT certify "${JOB[@]}" --model models/fmnist_mlp_10x20_sigmoid.h5 --out "$TMP/k.h5"
expect_success "--force-new replaces it" $NNCERT certify "${JOB[@]}" --count 2 --method ibp --force-new --out "$TMP/k.h5"
check "the replaced file holds the new job only" "$PY -c \"
import h5py, sys; f = h5py.File(sys.argv[1], 'r')
assert f.attrs['method'] in ('ibp', b'ibp') and len(f['results/index']) == 18\" '$TMP/k.h5'"

# ---- failed tasks ----
$NNCERT certify --model models/fmnist_mlp_2x20_relu.h5 --data $D --start 9996 --count 8 --out "$TMP/f.h5" \
    >"$TMP/out" 2>"$TMP/err"
rc=$?
check "images past the end are failed rows with the reason; the others run; exit 1" "[ $rc = 1 ] && $PY -c \"
import h5py, sys; r = h5py.File(sys.argv[1], 'r')['results']
s, i, m = r['status'][:], r['index'][:], r['message'][:]
assert sorted(i) == list(range(9996, 10004)), i
for k in range(8):
    if i[k] >= 10000: assert s[k] == 3 and b'past the end' in m[k], (i[k], m[k])
    else: assert s[k] in (0, 1, 2) and m[k] == b'', (i[k], s[k], m[k])
\" '$TMP/f.h5' && grep -q 'image 10003 target -1 failed: image 10003 is past the end' '$TMP/err'"
# A model whose bounds overflow at neuron 12 of its first ReLU (huge weights on
# pixels that are 0 in the first images: the forward pass stays finite).
$PY - "$TMP/nan.h5" <<'PY'
import sys, h5py, numpy as np, gzip, shutil
shutil.copy('models/fmnist_mlp_2x20_relu.h5', sys.argv[1])
with gzip.open('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz') as f:
    x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)[:3]
zero = np.where((x == 0).all(0))[0][:190]
f = h5py.File(sys.argv[1], 'r+')
f['layers/000/mean'][...] = 0
f['layers/000/std'][...] = 1
w = f['layers/002/weight'][...].astype(np.float64)
w[12, zero] = 1.7e308
del f['layers/002/weight']
f['layers/002'].create_dataset('weight', data=w)
PY
$NNCERT certify --model "$TMP/nan.h5" --data $D --count 3 --row-block 4 --out "$TMP/nan1.h5" >/dev/null 2>&1
rc=$?
check "bounds that overflow give failed rows naming the layer and neuron" "[ $rc = 1 ] && $PY -c \"
import h5py, sys; r = h5py.File(sys.argv[1], 'r')['results']
assert list(r['status'][:]) == [3, 3, 3]
assert all(b'layer 3 neuron 12' in m and b'not finite' in m for m in r['message'][:]), r['message'][:]
\" '$TMP/nan1.h5'"
$MPI 3 $NNCERT certify --model "$TMP/nan.h5" --data $D --count 3 --row-block 4 --ranks-per-image 2 \
    --out "$TMP/nan2.h5" >/dev/null 2>&1
check "the same rows when neuron 12 belongs to the other rank of a group" "$SAME '$TMP/nan1.h5' '$TMP/nan2.h5'"

# ---- config errors, before any work ----
cat >"$TMP/bad.ini" <<EOF
# a job with one bad key
[job]
model = models/fmnist_mlp_2x20_relu.h5
data = $D
out = $TMP/bad.h5

[bound]
method = crown
norm = infinity
EOF
expect_failure "a bad value names file, line, key and reason" "bad.ini:9: key 'norm': unknown norm 'infinity'" \
    $NNCERT certify --config "$TMP/bad.ini"
sed -i 's/^norm = infinity/nrom = inf/' "$TMP/bad.ini"
expect_failure "an unknown key names file, line and key" "bad.ini:9: unknown key 'nrom' in section \[bound\]" \
    $MPI 2 $NNCERT certify --config "$TMP/bad.ini"
check "no output was written for a bad job" "[ ! -e '$TMP/bad.h5' ] && [ ! -e '$TMP/bad.h5.journal' ]"
sed -i 's/^nrom = inf/norm = inf\n[certify]\nrtol = 5/' "$TMP/bad.ini"
expect_failure "range errors name the key" "bad.ini:11: key 'rtol': must be in \(0, 1\)" $NNCERT certify --config "$TMP/bad.ini"
expect_success "a flag overrides the bad key" $NNCERT certify --config "$TMP/bad.ini" --rtol 0.01 --count 2 --method ibp
check "flags override config keys in the results" "$PY -c \"
import h5py, sys; f = h5py.File(sys.argv[1], 'r'); c = f.attrs['config']; c = c.decode() if isinstance(c, bytes) else c
assert 'method = ibp' in c and 'rtol = 0.01' in c and 'count = 2' in c, c
assert f.attrs['config_file'] in (sys.argv[2], sys.argv[2].encode())\" '$TMP/bad.h5' '$TMP/bad.ini'"
expect_failure "a missing config file is named" "nope.ini: cannot open the config file" $NNCERT certify --config "$TMP/nope.ini"
expect_success "configs/frown.ini runs (method frown, its [frown] keys)" \
    $NNCERT certify --config configs/frown.ini --count 1 --out "$TMP/fr.h5"
check "  ... and the FROWN options are part of the job's identity" "$PY -c \"
import h5py, sys; c = h5py.File(sys.argv[1], 'r').attrs['config']; c = c.decode() if isinstance(c, bytes) else c
assert 'frown_group = 1' in c and 'frown_lr = 0.10000000000000001' in c and 'frown_warm = 1' in c and 'frown_layers = auto' in c, c\" '$TMP/fr.h5'"
expect_failure "[frown] keys are refused with another method" "frown.ini:26: key 'frown_group': applies to method frown only" \
    $NNCERT certify --config configs/frown.ini --count 1 --method crown --out "$TMP/fr2.h5"
expect_failure "a bad [frown] value names the key" "key 'frown_lr': must be > 0" \
    $NNCERT certify --config configs/frown.ini --count 1 --frown-lr 0 --out "$TMP/fr3.h5"
expect_failure "a bad frown_layers names the key and the choices" "key 'frown_layers': expected auto, all or spec, got 'every'" \
    $NNCERT certify --config configs/frown.ini --count 1 --frown-layers every --out "$TMP/fr4.h5"

# ---- unwritable output: fails before any work ----
for out in /nonexistent/dir/x.h5 /dev/null/x.h5; do
    expect_failure "unwritable output $out fails fast" "cannot write the results $out" \
        $NNCERT certify --model models/fmnist_mlp_2x20_relu.h5 --data $D --count 3 --out "$out"
    check "  ... before any task ran" "! grep -q progress '$TMP/err'"
done
expect_failure "unwritable output fails fast under mpirun too" "cannot write the results /nonexistent" \
    $MPI 3 $NNCERT certify --model models/fmnist_mlp_2x20_relu.h5 --data $D --count 3 --out /nonexistent/x.h5

# ---- saved bounds ----
$NNCERT certify --model models/fmnist_mlp_2x20_relu.h5 --data $D --count 4 --save-bounds 1,3 \
    --out "$TMP/sb.h5" >/dev/null 2>&1
eps=$($PY -c "import h5py,sys; b=h5py.File(sys.argv[1],'r')['bounds']; print(repr(float(b['eps'][list(b['index'][:]).index(3)])))" "$TMP/sb.h5")
$NNCERT bounds --model models/fmnist_mlp_2x20_relu.h5 --data $D --index 3 --eps "$eps" --out "$TMP/b3.h5" >/dev/null 2>&1
cat >"$TMP/bounds.py" <<'PY'
import sys, h5py, numpy as np
f, g = h5py.File(sys.argv[1], 'r'), h5py.File(sys.argv[2], 'r')
b = f['bounds']
assert sorted(b['index'][:]) == [1, 3]
k = list(b['index'][:]).index(3)
r = f['results']; row = list(r['index'][:]).index(3)
assert b['eps'][k] == r['radius'][row] > 0
layers = sorted(n for n in b if n.isdigit())
other = g['bounds']
if 'index' in other:
    k2 = list(other['index'][:]).index(3)
    assert other['eps'][k2] == b['eps'][k]
    get = lambda n, side: other[n][side][k2]
else:
    get = lambda n, side: other[n][side][:]
assert layers == sorted(n for n in other if n.isdigit()), (layers, list(other))
for n in layers:
    assert b[n]['lower'].compression == 'gzip' and b[n]['lower'].chunks[0] == 1
    for side in ('lower', 'upper'):
        assert b[n][side][k].view(np.uint64).tolist() == get(n, side).view(np.uint64).tolist(), (n, side)
    assert b[n]['source'].dtype == np.uint8 and b[n]['source'][k].tolist() == get(n, 'source').tolist(), n
assert b.attrs['source_names'].startswith(g['bounds'].attrs['source_names'])
PY
check "saved bounds: compressed per-layer datasets, bit for bit those of 'nncert bounds' at the radius, their sources too" \
    "$PY '$TMP/bounds.py' '$TMP/sb.h5' '$TMP/b3.h5'"
$NNCERT certify --model models/fmnist_mlp_2x20_relu.h5 --data $D --count 4 --save-bounds 1,3 --row-block 4 \
    --out "$TMP/sb1.h5" >/dev/null 2>&1
$MPI 3 $NNCERT certify --model models/fmnist_mlp_2x20_relu.h5 --data $D --count 4 --save-bounds 1,3 --row-block 4 \
    --ranks-per-image 2 --out "$TMP/sb2.h5" >/dev/null 2>&1
check "saved bounds are the same bits when a group of 2 splits the rows" "$PY '$TMP/bounds.py' '$TMP/sb2.h5' '$TMP/sb1.h5'"
# LeNet's second conv-shaped layer (8x8x8) is split row by row, not by the
# automatic row block of 512 (bound_rows_block_free)
$NNCERT certify --model models/fmnist_cnn_lenet_maxpool.h5 --data $D --count 4 --save-bounds 1,3 \
    --out "$TMP/sc1.h5" >/dev/null 2>&1
$MPI 3 $NNCERT certify --model models/fmnist_cnn_lenet_maxpool.h5 --data $D --count 4 --save-bounds 1,3 \
    --ranks-per-image 2 --out "$TMP/sc2.h5" >/dev/null 2>&1
check "CNN: saved bounds are the same bits when a group of 2 splits a layer's rows one by one" \
    "$PY '$TMP/bounds.py' '$TMP/sc2.h5' '$TMP/sc1.h5'"

# ---- progress ----
$NNCERT certify --model models/fmnist_mlp_2x20_relu.h5 --data $D --count 5 --progress-seconds 0 \
    --out "$TMP/p.h5" >/dev/null 2>"$TMP/err"
check "progress: a plain line per update when stderr is not a terminal" \
    "[ \$(grep -c '^progress: [0-9]*/5 tasks .*tasks/s, ETA .*certified' '$TMP/err') -ge 2 ] && ! grep -q \$'\r' '$TMP/err'"
script -qec "$NNCERT certify --model models/fmnist_mlp_2x20_relu.h5 --data $D --count 5 --out $TMP/p2.h5" /dev/null \
    </dev/null >"$TMP/tty" 2>&1
check "progress: one line rewritten in place on a terminal" "grep -q \$'\rprogress: 5/5 tasks' '$TMP/tty'"

# ---- row block hint ----
# LeNet's 2304-neuron layer is 5 blocks of the automatic 512 rows: fewer than 4
# per member of a group of 2, so the first group's leader says once which
# --row-block would balance them; not when the user chose the row block
$MPI 3 $NNCERT certify --model models/fmnist_cnn_lenet_maxpool.h5 --data $D --count 1 --eps 0.001 \
    --ranks-per-image 2 --out "$TMP/h1.h5" >/dev/null 2>"$TMP/h1.err"
$MPI 3 $NNCERT certify --model models/fmnist_cnn_lenet_maxpool.h5 --data $D --count 1 --eps 0.001 \
    --ranks-per-image 2 --row-block 512 --out "$TMP/h2.h5" >/dev/null 2>"$TMP/h2.err"
check "a group with too few row blocks per member is told a better --row-block, once" \
    "[ \$(grep -c 'note: ranks_per_image 2 with the automatic row_block 512 cuts layer 2.s 2304 rows into 5 block.*--row-block 256 makes 9' '$TMP/h1.err') = 1 ] && ! grep -q 'note: ranks_per_image' '$TMP/h2.err'" \
    || cat "$TMP/h1.err"
