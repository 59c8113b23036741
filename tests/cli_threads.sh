#!/usr/bin/env bash
# no-sanitizer: mpirun jobs of numerics; tests/cli_dist.sh runs the same MPI paths
# under the sanitizers.
# nncert sets every rank's BLAS threads itself (--threads, default 1): radii are
# the same bits for 1 and 3 ranks whether OPENBLAS_NUM_THREADS / OMP_NUM_THREADS
# are unset or say 2; the value is part of the job identity and of the results;
# the master warns when threads exceed the CPUs.
. "$(dirname "$0")/lib.sh"
D=fashion-mnist:test
export OMPI_MCA_rmaps_base_oversubscribe=1
SAME="/usr/bin/python3 tests/same_results.py"
UNSET="env -u OPENBLAS_NUM_THREADS -u OMP_NUM_THREADS"
TWO="env OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2"
attr() { /usr/bin/python3 -c "import h5py,sys; v=h5py.File(sys.argv[1],'r').attrs[sys.argv[2]]; print(v.decode() if isinstance(v,bytes) else v)" "$@"; }

# same_bits NAME MODEL ARGS...: a plain process with OPENBLAS_NUM_THREADS=1 is
# the reference; plain, mpirun -np 1 and -np 3 with the variables unset (OpenBLAS
# would take every core) or 2 must match it.
same_bits() {
    local name=$1 model=$2; shift 2
    local files=() ok=1 e n
    env OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $NNCERT certify --model "$model" --data $D "$@" \
        --out "$TMP/$name-ref.h5" >/dev/null 2>"$TMP/err" || ok=0
    for e in unset two; do
        local envcmd=$UNSET; [ $e = two ] && envcmd=$TWO
        $envcmd $NNCERT certify --model "$model" --data $D "$@" --out "$TMP/$name-$e-plain.h5" >/dev/null \
            2>>"$TMP/err" || ok=0
        files+=("$TMP/$name-$e-plain.h5")
        for n in 1 3; do
            $envcmd mpirun -np $n $NNCERT certify --model "$model" --data $D "$@" --out "$TMP/$name-$e-$n.h5" \
                >/dev/null 2>>"$TMP/err" || ok=0
            files+=("$TMP/$name-$e-$n.h5")
        done
    done
    if [ $ok = 1 ] && $SAME "$TMP/$name-ref.h5" "${files[@]}" 2>"$TMP/py"; then
        ok "$name: the same bits for a plain process, -np 1 and -np 3, BLAS variables unset or 2"
    else
        not_ok "$name: the same bits for a plain process, -np 1 and -np 3, BLAS variables unset or 2" \
            "$(tail -3 "$TMP/err")" "$(tail -3 "$TMP/py")"
    fi
}
same_bits "mlp 10x20" models/fmnist_mlp_10x20_relu.h5 --count 4
same_bits "cnn avgpool" models/fmnist_cnn_avgpool.h5 --count 2

# Whether 2 threads round differently here (a measurement, printed, not a test:
# it depends on OpenBLAS's kernels and the shapes).
$UNSET $NNCERT certify --model models/fmnist_mlp_10x20_relu.h5 --data $D --count 4 --threads 2 \
    --out "$TMP/t2.h5" >/dev/null 2>&1
if $SAME "$TMP/mlp 10x20-ref.h5" "$TMP/t2.h5" >/dev/null 2>&1; then echo "# --threads 2: the same bits as 1 here"
else echo "# --threads 2: other bits than --threads 1 here (why threads is an identity key)"; fi

R="$TMP/mlp 10x20-ref.h5"
check "threads is recorded: attribute threads = 1" '[ "$(attr "$R" threads)" = 1 ]'
check "threads is in the job identity text" '[[ "$(attr "$R" job_key)" == *$'"'"'\nthreads = 1\n'"'"'* ]]'
cp "$R" "$TMP/resume.h5" && cp "$R.journal" "$TMP/resume.h5.journal"
expect_failure "another thread count is another job: refused naming the key" \
    "another job.*'threads = 2' vs 'threads = 1'" \
    $NNCERT certify --model models/fmnist_mlp_10x20_relu.h5 --data $D --count 4 --threads 2 --out "$TMP/resume.h5"
expect_success "the same thread count resumes the file" \
    $NNCERT certify --model models/fmnist_mlp_10x20_relu.h5 --data $D --count 4 --threads 1 --out "$TMP/resume.h5"
printf '[job]\nmodel = models/fmnist_mlp_2x20_relu.h5\ndata = %s\nout = %s\n[dist]\nthreads = 0\n' $D "$TMP/x.h5" \
    >"$TMP/bad.ini"
expect_failure "threads = 0 in a job file names the file, line and key" "bad.ini:6: key 'threads'.*\[1, 1024\]" \
    $NNCERT certify --config "$TMP/bad.ini"

cpus=$(nproc)
$UNSET $NNCERT certify --model models/fmnist_mlp_2x20_relu.h5 --data $D --count 1 --threads $((cpus + 1)) \
    --out "$TMP/w.h5" >/dev/null 2>"$TMP/werr"
check "threads above the CPUs: one warning" '[ "$(grep -c "warning: $((cpus + 1)) BLAS threads but $cpus CPU" "$TMP/werr")" = 1 ]' \
    || cat "$TMP/werr"
$UNSET $NNCERT certify --model models/fmnist_mlp_2x20_relu.h5 --data $D --count 1 --out "$TMP/w1.h5" \
    >/dev/null 2>"$TMP/werr"
check "one thread per rank: no warning" '! grep -q warning "$TMP/werr"'
mpirun -np $((cpus + 2)) $NNCERT certify --model models/fmnist_mlp_2x20_relu.h5 --data $D --count 2 \
    --out "$TMP/w3.h5" >/dev/null 2>"$TMP/werr"
check "more worker ranks than CPUs: one warning naming the node's count" \
    '[ "$(grep -c "warning: $((cpus + 1)) worker rank(s) x 1 BLAS thread(s)" "$TMP/werr")" = 1 ]' || cat "$TMP/werr"

expect_success "bounds --threads 2" $UNSET $NNCERT bounds --model models/fmnist_mlp_2x20_relu.h5 --data $D \
    --index 0 --eps 0.01 --threads 2 --out "$TMP/b.h5"
check "bounds records threads" '[ "$(attr "$TMP/b.h5" threads)" = 2 ]'
expect_success "attack --threads 2" $UNSET $NNCERT attack --model models/fmnist_mlp_2x20_relu.h5 --data $D \
    --count 1 --eps 0.01 --steps 5 --restarts 1 --threads 2 --out "$TMP/a.h5"
check "attack records threads" '[ "$(attr "$TMP/a.h5" threads)" = 2 ]'
expect_success "predict --threads 2" $UNSET $NNCERT predict models/fmnist_mlp_2x20_relu.h5 --data $D --count 10 \
    --threads 2
expect_failure "predict --threads 0 is a usage error" "--threads expects an integer in \[1, 1024\]" \
    $NNCERT predict models/fmnist_mlp_2x20_relu.h5 --data $D --threads 0

# BLAS kernels (doc/bounds.md "BLAS kernels"): a DYNAMIC_ARCH OpenBLAS that
# falls back to a generic kernel set on a CPU it does not know is sent to the
# CPU's own (AVX-512: SkylakeX, AVX2 + FMA: Haswell); results name the set; a
# user's OPENBLAS_CORETYPE stands, and under mpirun every rank follows the rule
M=models/fmnist_mlp_2x20_relu.h5
env -u OPENBLAS_CORETYPE $NNCERT certify --model $M --data $D --count 2 --out "$TMP/core.h5" >/dev/null 2>&1
env OPENBLAS_CORETYPE=Prescott $NNCERT certify --model $M --data $D --count 2 --out "$TMP/core_p.h5" >/dev/null 2>&1
env -u OPENBLAS_CORETYPE mpirun -np 3 $NNCERT certify --model $M --data $D --count 2 --ranks-per-image 2 \
    --out "$TMP/core3.h5" >/dev/null 2>&1
flags=$(grep -m1 '^flags' /proc/cpuinfo)
want=""
case " $flags " in *" avx2 "*) case " $flags " in *" fma "*) want=Haswell ;; esac ;; esac
for f in avx512f avx512dq avx512bw avx512vl avx512cd; do case " $flags " in *" $f "*) ;; *) f=no ;; esac
    [ "$f" = no ] && break; done
[ "$f" != no ] && want=SkylakeX
core=$(attr "$TMP/core.h5" blas_core 2>/dev/null)
check "results name the BLAS kernel set ($core; the CPU's best: ${want:-none known})" \
    "[ -n '$core' ] && case '$core' in Prescott|Core2|Penryn|Dunnington|Nehalem|Atom) [ -z '$want' ] ;; *) true ;; esac"
check "a user's OPENBLAS_CORETYPE stands" '[ "$(attr "$TMP/core_p.h5" blas_core)" = Prescott ]'
check "under mpirun the ranks run the kernels of a plain process, with its bits" \
    "[ \"\$(attr '$TMP/core3.h5' blas_core)\" = '$core' ] && $SAME '$TMP/core.h5' '$TMP/core3.h5'"
