#!/usr/bin/env bash
# nncert verify: VNN-LIB properties of tiny ONNX models (tests/vnnlib_fixtures.py)
# answered unsat, sat, unknown or timeout in VNN-COMP's format. Every unsat is
# checked against sampling (no point of the unsafe set found), every sat
# counterexample against an independent numpy forward pass.
. "$(dirname "$0")/lib.sh"
FX="$TMP/fx"
PY=tests/vnnlib_fixtures.py

if /usr/bin/python3 "$PY" make "$FX" >"$TMP/gen.log" 2>&1; then ok "fixtures generated"
else not_ok "fixtures generated" "$(tail -5 "$TMP/gen.log")"; exit 1; fi

expect_success "verify --help" "$NNCERT" verify --help
check "help names the four answers" "grep -q unsat '$TMP/out' && grep -q timeout '$TMP/out'"
expect_failure "--vnnlib is required" "--vnnlib is required" "$NNCERT" verify --model "$FX/mlp.onnx"
"$NNCERT" verify --model "$FX/mlp.onnx" >/dev/null 2>&1; check "usage error exits 2" "[ $? -eq 2 ]"
expect_failure "--timeout must be positive" "--timeout must be > 0" \
    "$NNCERT" verify --model "$FX/mlp.onnx" --vnnlib "$FX/unsat.vnnlib" --timeout -1
expect_failure "unknown method" "unknown method 'magic'" \
    "$NNCERT" verify --model "$FX/mlp.onnx" --vnnlib "$FX/unsat.vnnlib" --method magic

# verify NAME MODEL [options]: runs, keeps stdout in $TMP/NAME.res and --out in $TMP/NAME.out
verify() {
    local name=$1 model=$2; shift 2
    "$NNCERT" verify --model "$FX/$model.onnx" --vnnlib "$FX/$name.vnnlib" --out "$TMP/$name.out" "$@" \
        >"$TMP/$name.res" 2>"$TMP/$name.err"
}
answer() { head -1 "$TMP/$1.res"; }

# The samples of every fixture, once (one Python start).
/usr/bin/python3 "$PY" hits "$FX" unsat orbox_unsat zero_width cnn_small sat orbox_sat cnn_large \
    rand0 rand1 rand2 rand3 rand4 rand5 rand6 rand7 >"$TMP/hits" 2>&1
hits() { awk -v n="$1" '$1 == n {print $2}' "$TMP/hits"; }

for p in unsat:mlp orbox_unsat:mlp zero_width:mlp cnn_small:cnn; do
    name=${p%%:*} model=${p##*:}
    verify "$name" "$model"
    check "$name: unsat" "[ '$(answer "$name")' = unsat ]" || cat "$TMP/$name.err"
    check "$name: sampling finds no point of the unsafe set" "[ '$(hits "$name")' = 0 ]"
    check "$name: --out holds the same answer" "cmp -s '$TMP/$name.res' '$TMP/$name.out'"
done
check "or of two input boxes: both boxes proven" "grep -q '2 of 2 input boxes proven' '$TMP/orbox_unsat.err'"
check "output disjunction: every disjunct ruled out" "grep -q '2 of 2 disjuncts ruled out' '$TMP/unsat.err'"

sat_pairs=""
for p in sat:mlp orbox_sat:mlp cnn_large:cnn; do
    name=${p%%:*} model=${p##*:}
    verify "$name" "$model"
    check "$name: sat" "[ '$(answer "$name")' = sat ]" || cat "$TMP/$name.err"
    check "$name: sampling agrees that the unsafe set is reachable" "[ '$(hits "$name")' -gt 0 ]"
    check "$name: result file in VNN-COMP's layout" \
        "sed -n 2p '$TMP/$name.out' | grep -qE '^\(\(X_0 [-0-9.e+]+\)$' && tail -1 '$TMP/$name.out' | grep -qE '^ \(Y_2 [-0-9.e+]+\)\)$'"
    sat_pairs+=" $name $TMP/$name.out"
done
/usr/bin/python3 "$PY" check "$FX" $sat_pairs >"$TMP/checks" 2>&1
for name in sat orbox_sat cnn_large; do
    check "$name: the counterexample satisfies the property under the numpy forward pass" \
        "grep -q '^$name ok' '$TMP/checks'" || grep "^$name" "$TMP/checks"
done
check "or of boxes: the counterexample lies in the box that has one" "grep -q '^orbox_sat ok box 1' '$TMP/checks'"

# A zoo model (.h5, normalize + flatten + MLP), a box with other widths per pixel,
# bounded as exactly that box (doc/verify.md "Boxes as regions").
# The predicted class at the centre comes from a property every point satisfies.
zoo=models/mnist_mlp_2x20_relu.h5
{ cat "$FX/zoo_box.vnnlib"; echo "(assert (>= Y_0 -1e30))"; } >"$FX/zoo_probe.vnnlib"
"$NNCERT" verify --model "$zoo" --vnnlib "$FX/zoo_probe.vnnlib" --steps 1 --restarts 1 >"$TMP/zoo_probe.res" 2>&1
check "a property every point satisfies: sat at the first point" "[ \"\$(head -1 '$TMP/zoo_probe.res')\" = sat ]"
c=$(grep '(Y_' "$TMP/zoo_probe.res" | tr -d '()' | awk 'NR == 1 || $2 > b {b = $2; c = NR - 1} END {print c}')
{ cat "$FX/zoo_box.vnnlib"; printf '(assert (or'; for j in 0 1 2 3 4 5 6 7 8 9; do
    [ "$j" = "$c" ] || printf ' (and (>= Y_%s Y_%s))' "$j" "$c"; done; echo '))'; } >"$FX/zoo.vnnlib"
"$NNCERT" verify --model "$zoo" --vnnlib "$FX/zoo.vnnlib" >"$TMP/zoo.res" 2>"$TMP/zoo.err"
check "zoo model, 784 inputs of other widths: unsat (class $c)" "[ \"\$(head -1 '$TMP/zoo.res')\" = unsat ]" \
    || cat "$TMP/zoo.err"

# gzip: the same property compressed
gzip -c "$FX/unsat.vnnlib" >"$FX/unsat_gz.vnnlib.gz"
"$NNCERT" verify --model "$FX/mlp.onnx" --vnnlib "$FX/unsat_gz.vnnlib.gz" >"$TMP/gz.res" 2>&1
check "a .vnnlib.gz file gives the same answer" "[ \"\$(head -1 '$TMP/gz.res')\" = unsat ]"

# every method proves the easy property or says unknown, never sat
for m in ibp crown-quad; do
    verify unsat mlp --method "$m" --steps 10 --restarts 1
    a=$(answer unsat)
    check "method $m: unsat or unknown, never sat ($a)" "[ '$a' = unsat ] || [ '$a' = unknown ]"
done

# timeout: 3000 boxes take seconds; a 0.05 s budget ends early with 'timeout'
start=$(date +%s.%N)
verify many mlp --timeout 0.05
end=$(date +%s.%N)
check "timeout answered as 'timeout'" "[ '$(answer many)' = timeout ]" || cat "$TMP/many.err"
check "timeout returns soon after the budget ($(echo "$end - $start" | bc) s)" \
    "[ \$(echo '$end - $start < 20' | bc) -eq 1 ]"
verify unsat mlp --timeout 100
check "a generous timeout leaves the answer unchanged" "[ '$(answer unsat)' = unsat ]"

# Soundness: random properties; unsat only where sampling finds nothing
unsound="" n_unsat=0 n_sat=0
for r in 0 1 2 3 4 5 6 7; do
    model=mlp; [ $((r % 3)) -eq 0 ] && model=cnn
    verify "rand$r" "$model" --steps 30 --restarts 2
    a=$(answer "rand$r") h=$(hits "rand$r")
    [ "$a" = unsat ] && n_unsat=$((n_unsat + 1))
    [ "$a" = sat ] && n_sat=$((n_sat + 1))
    [ "$a" = unsat ] && [ "${h:-0}" -gt 0 ] && unsound+="rand$r($h hits) "
done
check "random properties: never unsat where sampling finds a point ($n_unsat unsat, $n_sat sat)" "[ -z '$unsound' ]" \
    || echo "#   $unsound"
check "random properties: both unsat and sat occur" "[ $n_unsat -ge 2 ] && [ $n_sat -ge 2 ]"

# Branch and bound (doc/bab.md): what the bounds leave unknown, the search decides;
# never unsat where sampling finds a point, a sat answer confirmed by the forward pass.
expect_failure "--bab-split needs --bab" "--bab-split needs --bab" \
    "$NNCERT" verify --model "$FX/mlp.onnx" --vnnlib "$FX/unsat.vnnlib" --bab-split relu
expect_failure "--bab-split names its choices" "must be auto, input or relu" \
    "$NNCERT" verify --model "$FX/mlp.onnx" --vnnlib "$FX/unsat.vnnlib" --bab --bab-split magic
expect_failure "--bab-batch must be positive" "--bab-batch" \
    "$NNCERT" verify --model "$FX/mlp.onnx" --vnnlib "$FX/unsat.vnnlib" --bab --bab-batch 0
expect_failure "--frown-beta is 0 or 1" "--frown-beta" \
    "$NNCERT" verify --model "$FX/mlp.onnx" --vnnlib "$FX/unsat.vnnlib" --bab --method frown --frown-beta 2
expect_failure "a --frown-* option without --method frown is refused" "applies to --method frown only" \
    "$NNCERT" verify --model "$FX/mlp.onnx" --vnnlib "$FX/unsat.vnnlib" --bab --frown-beta 0
# under mpirun, verify spreads branch and bound's sub-domains over the ranks:
# without --bab there is nothing to spread, refused before any work; one rank
# is a plain run
if [ "$NNCERT" = bin/nncert ]; then
    mpirun --oversubscribe -np 2 "$NNCERT" verify --model "$FX/mlp.onnx" --vnnlib "$FX/unsat.vnnlib" \
        --out "$TMP/ranks.out" >"$TMP/ranks.res" 2>"$TMP/ranks.err"
    check "verify under mpirun -np 2 without --bab: refused before any work, naming --bab" \
        "grep -q 'started as 2 MPI ranks.*--bab is required' '$TMP/ranks.err' && [ ! -e '$TMP/ranks.out' ]"
    mpirun -np 1 "$NNCERT" verify --model "$FX/mlp.onnx" --vnnlib "$FX/unsat.vnnlib" >"$TMP/rank1.res" 2>/dev/null
    check "verify under mpirun -np 1 runs" "[ \"\$(head -1 '$TMP/rank1.res')\" = unsat ]"
fi
unsound="" n_unknown=0 n_bab_unknown=0
for r in 1 2 4 5 7; do
    [ "$(answer "rand$r")" = unknown ] && n_unknown=$((n_unknown + 1))
    for split in input relu beta; do  # beta: ReLU phases bounded by FROWN with split multipliers
        cp "$FX/rand$r.vnnlib" "$FX/rand${r}_$split.vnnlib"
        how=(--bab-split "$split") && [ $split = beta ] && how=(--bab-split relu --method frown --frown-beta 1)
        verify "rand${r}_$split" mlp --steps 30 --restarts 2 --bab "${how[@]}" --timeout 60
        a=$(answer "rand${r}_$split") h=$(hits "rand$r")
        [ "$a" = unsat ] && [ "${h:-0}" -gt 0 ] && unsound+="rand${r}_$split($h hits) "
        [ "$a" = unknown ] || [ "$a" = timeout ] && n_bab_unknown=$((n_bab_unknown + 1))
        grep -q "branch and bound (${how[1]}): [0-9]* domains bounded" "$TMP/rand${r}_$split.err" || unsound+="rand${r}_$split(no summary) "
    done
done
check "--bab: never unsat where sampling finds a point, a summary every time" "[ -z '$unsound' ]" || echo "#   $unsound"
check "--bab: decides the $n_unknown random properties the bounds leave unknown, input and ReLU splits, betas" \
    "[ $n_unknown -ge 1 ] && [ $n_bab_unknown -eq 0 ]"
verify sat mlp --bab
check "--bab: sat with a counterexample" "[ '$(answer sat)' = sat ] && cmp -s '$TMP/sat.res' '$TMP/sat.out'"
# the same searches over 3 ranks (a master and a group of 2): the answers, the
# counterexample and branch and bound's counts of one process
same="" n_same=0
counts() { grep -o 'branch and bound.*depth [0-9]*' "$1"; }
for case in rand1_relu rand1_input rand1_beta rand2_relu sat; do
    if [ "$case" = sat ]; then
        src=sat opts=(--bab)
    else
        src=${case%_*} opts=(--steps 30 --restarts 2 --timeout 60 --bab --bab-split "${case#*_}")
        [ "${case#*_}" = beta ] && opts=(--steps 30 --restarts 2 --timeout 60 --bab --bab-split relu --method frown \
            --frown-beta 1)
    fi
    mpirun --oversubscribe -np 3 "$NNCERT" verify --model "$FX/mlp.onnx" --vnnlib "$FX/$src.vnnlib" \
        --out "$TMP/$case.mpi.out" "${opts[@]}" >"$TMP/$case.mpi.res" 2>"$TMP/$case.mpi.err"
    if cmp -s "$TMP/$case.res" "$TMP/$case.mpi.res" && cmp -s "$TMP/$case.mpi.res" "$TMP/$case.mpi.out" &&
        [ -n "$(counts "$TMP/$case.err")" ] && [ "$(counts "$TMP/$case.err")" = "$(counts "$TMP/$case.mpi.err")" ]; then
        n_same=$((n_same + 1))
    else
        same+="$case "
    fi
done
check "verify --bab under mpirun -np 3: the answers, points and tree of one process ($n_same of 5)" "[ -z '$same' ]" \
    || { echo "#   differs: $same"; tail -2 "$TMP/${same%% *}.mpi.err"; }
# The group's leader holds the whole frontier (doc/bab.md "Over MPI"), so the
# largest frontier mpirun's summary reports (the leader's) is one process's; a
# frontier left on a member would show a round's batch (8) at most. The
# fixtures' searches above never hold more than one domain; this one does.
ACAS_M=models/acas/acasxu_like_3x25.onnx ACAS_P=benchmarks/zoo_bab/vnnlib/acas_prop_1.vnnlib
peak() { grep -o 'largest frontier [0-9]*' "$1" | grep -o '[0-9]*$'; }
"$NNCERT" verify --model $ACAS_M --vnnlib $ACAS_P --bab --bab-split relu --bab-max-domains 3000 2>"$TMP/peak1.err" >/dev/null
mpirun --oversubscribe -np 3 "$NNCERT" verify --model $ACAS_M --vnnlib $ACAS_P --bab --bab-split relu \
    --bab-max-domains 3000 2>"$TMP/peak3.err" >/dev/null
check "verify --bab under mpirun: the leader reports one process's largest frontier ($(peak "$TMP/peak1.err") domains, above a batch of 8)" \
    "[ \"\$(peak '$TMP/peak1.err')\" -gt 8 ] && [ \"\$(peak '$TMP/peak1.err')\" = \"\$(peak '$TMP/peak3.err')\" ] && \
     [ \"\$(counts '$TMP/peak1.err')\" = \"\$(counts '$TMP/peak3.err')\" ]" || tail -2 "$TMP/peak3.err"
# Branching (doc/bab.md "Branching"): input halves keep the candidate pair with
# more proven halves. The worse child's rule kept splitting near one point of
# the 2x[12] net's property 1 (200,000 domains, half the volume open), and one
# candidate stops the 6x[50] net's property 1 at the domain limit.
domains() { grep -o '[0-9]* domains bounded' "$1" | grep -o '^[0-9]*'; }
for net_limit in 2x12:1000 6x50:5000; do
    net=${net_limit%:*} limit=${net_limit#*:}
    "$NNCERT" verify --model models/acas/acasxu_like_$net.onnx --vnnlib $ACAS_P --bab --bab-split input \
        --bab-max-domains 200000 >"$TMP/br_$net.res" 2>"$TMP/br_$net.err"
    check "input halves, four candidates: ACAS Xu-like $net property 1 unsat in $(domains "$TMP/br_$net.err") domains (<= $limit)" \
        "[ \"\$(head -1 '$TMP/br_$net.res')\" = unsat ] && [ \"\$(domains '$TMP/br_$net.err')\" -le $limit ]" \
        || tail -1 "$TMP/br_$net.err"
done
"$NNCERT" verify --model models/acas/acasxu_like_6x50.onnx --vnnlib $ACAS_P --bab --bab-split input \
    --bab-candidates 1 --bab-max-domains 20000 >"$TMP/br_one.res" 2>/dev/null
check "... where one candidate per domain does not decide it in 20,000 domains" "[ \"\$(head -1 '$TMP/br_one.res')\" = unknown ]"
# batches (doc/bab.md "Batches"): --bab-unit N bounds N domains at once, one
# GEMM per layer over their rows; the unit, not the processes, fixes which
# domains share a batch, so a group of ranks expands one process's tree
expect_failure "--bab-unit needs --bab" "--bab-unit needs --bab" \
    "$NNCERT" verify --model $ACAS_M --vnnlib $ACAS_P --bab-unit 8
expect_failure "--bab-unit is at least 1" "--bab-unit" \
    "$NNCERT" verify --model $ACAS_M --vnnlib $ACAS_P --bab --bab-unit 0
expect_failure "--bab-unit batches the linear passes only" "needs --method crown, fastlin or frown, not ibp" \
    "$NNCERT" verify --model $ACAS_M --vnnlib $ACAS_P --bab --bab-unit 4 --method ibp
"$NNCERT" verify --model models/acas/acasxu_like_6x50.onnx --vnnlib $ACAS_P --bab --bab-unit 5 \
    >"$TMP/bu5.res" 2>"$TMP/bu5.err"
"$NNCERT" verify --model models/acas/acasxu_like_6x50.onnx --vnnlib $ACAS_P --bab --bab-unit 1 \
    >"$TMP/bu1.res" 2>"$TMP/bu1.err"
check "input halves in batches of 5 and 8 (the default): unsat as one at a time ($(domains "$TMP/bu5.err"), $(domains "$TMP/br_6x50.err") and $(domains "$TMP/bu1.err") domains), the summaries say so" \
    "cmp -s '$TMP/bu1.res' '$TMP/bu5.res' && cmp -s '$TMP/bu1.res' '$TMP/br_6x50.res' && \
     grep -q 'input halves bounded 5 per batch;' '$TMP/bu5.err' && \
     grep -q 'input halves bounded 8 per batch;' '$TMP/br_6x50.err' && ! grep -q 'per batch' '$TMP/bu1.err'" \
    || tail -1 "$TMP/bu5.err"
if [ "$NNCERT" = bin/nncert ]; then
    mpirun --oversubscribe -np 3 "$NNCERT" verify --model models/acas/acasxu_like_6x50.onnx --vnnlib $ACAS_P \
        --bab --bab-unit 5 >"$TMP/bu5_mpi.res" 2>"$TMP/bu5_mpi.err"
    check "... and under mpirun -np 3 one process's answer and tree" \
        "cmp -s '$TMP/bu5.res' '$TMP/bu5_mpi.res' && [ \"\$(counts '$TMP/bu5.err')\" = \"\$(counts '$TMP/bu5_mpi.err')\" ]" \
        || tail -n 1 "$TMP/bu5_mpi.err"
fi
# ReLU phases in batches (8 by default): each child keeps its own splits,
# parent bounds and kept layers; the answer is one at a time's, and a group of
# ranks expands one process's tree
RP_M=models/fmnist_mlp_10x20_relu.h5
RP_P=benchmarks/zoo_bab/vnnlib/fmnist_mlp_10x20_relu_fashionmnist_5_eps0.04.vnnlib.gz
"$NNCERT" verify --model $RP_M --vnnlib $RP_P --bab --bab-split relu --bab-unit 1 >"$TMP/ru1.res" 2>"$TMP/ru1.err"
"$NNCERT" verify --model $RP_M --vnnlib $RP_P --bab --bab-split relu >"$TMP/ru8.res" 2>"$TMP/ru8.err"
check "ReLU phases in batches of 8 by default: unsat as one at a time ($(domains "$TMP/ru8.err") against $(domains "$TMP/ru1.err") domains)" \
    "[ \"\$(head -1 '$TMP/ru8.res')\" = unsat ] && cmp -s '$TMP/ru1.res' '$TMP/ru8.res' && \
     grep -q 'domains bounded 8 per batch;' '$TMP/ru8.err' && ! grep -q 'per batch' '$TMP/ru1.err'" \
    || tail -1 "$TMP/ru8.err"
if [ "$NNCERT" = bin/nncert ]; then
    mpirun --oversubscribe -np 3 "$NNCERT" verify --model $RP_M --vnnlib $RP_P --bab --bab-split relu \
        >"$TMP/ru8_mpi.res" 2>"$TMP/ru8_mpi.err"
    check "... and under mpirun -np 3 one process's answer and tree" \
        "cmp -s '$TMP/ru8.res' '$TMP/ru8_mpi.res' && [ \"\$(counts '$TMP/ru8.err')\" = \"\$(counts '$TMP/ru8_mpi.err')\" ]" \
        || tail -n 1 "$TMP/ru8_mpi.err"
fi
# Leaves with every ReLU fixed get FROWN's split multipliers before their LP
# (doc/bab.md "Split constraints in the engine"): with CROWN this instance ran
# out of its 60 s in the benchmark at 2,351 domains, its LPs taking tens of
# milliseconds each. The check is the answer, not the time: without the
# multipliers the LPs would prove the same leaves, minutes later (the step's
# soundness is test_bab's certify_bab_radius_is_exact)
RL_P=benchmarks/zoo_bab/vnnlib/fmnist_mlp_10x20_relu_fashionmnist_0_eps0.012.vnnlib.gz
"$NNCERT" verify --model $RP_M --vnnlib $RL_P --bab --bab-max-domains 30000 >"$TMP/rl.res" 2>"$TMP/rl.err"
check "CROWN with multipliers at its leaves: the 10x[20] net's image 0 at 0.012 unsat within 30,000 domains ($(domains "$TMP/rl.err"))" \
    "[ \"\$(head -1 '$TMP/rl.res')\" = unsat ]" || tail -1 "$TMP/rl.err"
# ... whose LP jobs go out one per item beside the units of 8 (a unit holding
# them was the round's slowest, and a group's other members waited)
if [ "$NNCERT" = bin/nncert ]; then
    mpirun --oversubscribe -np 3 "$NNCERT" verify --model $RP_M --vnnlib $RL_P --bab --bab-max-domains 30000 \
        >"$TMP/rl_mpi.res" 2>"$TMP/rl_mpi.err"
    check "... and under mpirun -np 3, LP jobs apart from the units: one process's answer and tree" \
        "cmp -s '$TMP/rl.res' '$TMP/rl_mpi.res' && [ \"\$(counts '$TMP/rl.err')\" = \"\$(counts '$TMP/rl_mpi.err')\" ]" \
        || tail -n 1 "$TMP/rl_mpi.err"
fi
# FROWN's spec rows in batches (the default unit with FROWN is 8): each half keeps
# its own lines, region and Adam steps, so the tree is one at a time's
"$NNCERT" verify --model models/acas/acasxu_like_6x50.onnx --vnnlib $ACAS_P --bab --method frown \
    --bab-unit 1 >"$TMP/fu1.res" 2>"$TMP/fu1.err"
"$NNCERT" verify --model models/acas/acasxu_like_6x50.onnx --vnnlib $ACAS_P --bab --method frown \
    >"$TMP/fu8.res" 2>"$TMP/fu8.err"
check "FROWN in batches of 8 by default: unsat as one at a time, in the same tree ($(domains "$TMP/fu8.err") domains)" \
    "cmp -s '$TMP/fu1.res' '$TMP/fu8.res' && grep -q 'input halves bounded 8 per batch;' '$TMP/fu8.err' && \
     ! grep -q 'per batch' '$TMP/fu1.err' && [ \"\$(counts '$TMP/fu1.err')\" = \"\$(counts '$TMP/fu8.err')\" ]" \
    || tail -1 "$TMP/fu8.err"
if [ "$NNCERT" = bin/nncert ]; then
    mpirun --oversubscribe -np 3 "$NNCERT" verify --model models/acas/acasxu_like_6x50.onnx --vnnlib $ACAS_P \
        --bab --method frown >"$TMP/fu8_mpi.res" 2>"$TMP/fu8_mpi.err"
    check "... and under mpirun -np 3 one process's answer and tree" \
        "cmp -s '$TMP/fu8.res' '$TMP/fu8_mpi.res' && [ \"\$(counts '$TMP/fu8.err')\" = \"\$(counts '$TMP/fu8_mpi.err')\" ]" \
        || tail -n 1 "$TMP/fu8_mpi.err"
fi
# FROWN's ReLU phases in batches too: every layer's optimization and the spec
# rows' over the unit's children, each with its own lines and split multipliers
"$NNCERT" verify --model $RP_M --vnnlib $RP_P --bab --bab-split relu --method frown --bab-unit 1 \
    >"$TMP/fr1.res" 2>"$TMP/fr1.err"
"$NNCERT" verify --model $RP_M --vnnlib $RP_P --bab --bab-split relu --method frown >"$TMP/fr8.res" 2>"$TMP/fr8.err"
check "FROWN's ReLU phases in batches of 8 by default: unsat as one at a time, in the same tree ($(domains "$TMP/fr8.err") domains)" \
    "[ \"\$(head -1 '$TMP/fr8.res')\" = unsat ] && cmp -s '$TMP/fr1.res' '$TMP/fr8.res' && \
     grep -q 'domains bounded 8 per batch;' '$TMP/fr8.err' && ! grep -q 'per batch' '$TMP/fr1.err' && \
     [ \"\$(counts '$TMP/fr1.err')\" = \"\$(counts '$TMP/fr8.err')\" ]" || tail -1 "$TMP/fr8.err"
if [ "$NNCERT" = bin/nncert ]; then
    mpirun --oversubscribe -np 3 "$NNCERT" verify --model $RP_M --vnnlib $RP_P --bab --bab-split relu --method frown \
        >"$TMP/fr8_mpi.res" 2>"$TMP/fr8_mpi.err"
    check "... and under mpirun -np 3 one process's answer and tree" \
        "cmp -s '$TMP/fr8.res' '$TMP/fr8_mpi.res' && [ \"\$(counts '$TMP/fr8.err')\" = \"\$(counts '$TMP/fr8_mpi.err')\" ]" \
        || tail -n 1 "$TMP/fr8_mpi.err"
fi
# the domain limit ends searches without a timeout; under one, the clock does
for t in none 5; do
    tm=() && [ $t != none ] && tm=(--timeout $t)
    "$NNCERT" verify --model models/acas/acasxu_like_2x12.onnx --vnnlib $ACAS_P --bab "${tm[@]}" \
        >/dev/null 2>"$TMP/lim_$t.err"
done
"$NNCERT" verify --model models/acas/acasxu_like_2x12.onnx --vnnlib $ACAS_P --bab --timeout 5 \
    --bab-max-domains 30 >"$TMP/lim_30.res" 2>"$TMP/lim_30.err"
check "domain limit: 200,000 without --timeout, none with one, a given one kept (and answered unknown)" \
    "grep -q 'largest frontier [0-9]*; domain limit 200000$' '$TMP/lim_none.err' && \
     grep -q 'largest frontier [0-9]*; no domain limit$' '$TMP/lim_5.err' && \
     grep -q 'domain limit 30$' '$TMP/lim_30.err' && [ \"\$(head -1 '$TMP/lim_30.res')\" = unknown ]" \
    || tail -n 1 "$TMP/lim_none.err" "$TMP/lim_5.err" "$TMP/lim_30.err"
# FROWN's lines in input-split searches go to the property's rows only unless
# asked (doc/bab.md "Branching"): auto is spec there and all for ReLU phases
expect_failure "--frown-layers names its choices" "expected auto, all or spec" \
    "$NNCERT" verify --model "$FX/mlp.onnx" --vnnlib "$FX/unsat.vnnlib" --method frown --frown-layers every
for L in auto all spec; do
    "$NNCERT" verify --model models/acas/acasxu_like_6x50.onnx --vnnlib $ACAS_P --bab --method frown \
        --frown-layers $L >"$TMP/fl_$L.res" 2>"$TMP/fl_$L.err"
done
check "frown, input halves: auto is spec (the property's rows only: $(domains "$TMP/fl_auto.err") domains), all differs ($(domains "$TMP/fl_all.err")), each unsat" \
    "[ \"\$(cat '$TMP/fl_auto.res' '$TMP/fl_all.res' '$TMP/fl_spec.res' | sort -u)\" = unsat ] && \
     [ \"\$(domains '$TMP/fl_auto.err')\" = \"\$(domains '$TMP/fl_spec.err')\" ] && \
     [ \"\$(domains '$TMP/fl_auto.err')\" != \"\$(domains '$TMP/fl_all.err')\" ] && \
     grep -q \"FROWN lines for the property's rows only;\" '$TMP/fl_auto.err' && \
     grep -q 'FROWN lines for every layer;' '$TMP/fl_all.err'" || tail -1 "$TMP/fl_auto.err" "$TMP/fl_all.err"
# warm starts (doc/bab.md "Warm starts"): each half starts from its parent's
# variables, which travel with the jobs' results, so a group of ranks expands
# one process's tree; --frown-warm 0 starts every half from CROWN's lines
"$NNCERT" verify --model models/acas/acasxu_like_6x50.onnx --vnnlib $ACAS_P --bab --method frown --frown-warm 0 \
    >"$TMP/fw0.res" 2>"$TMP/fw0.err"
if [ "$NNCERT" = bin/nncert ]; then
    mpirun --oversubscribe -np 3 "$NNCERT" verify --model models/acas/acasxu_like_6x50.onnx --vnnlib $ACAS_P \
        --bab --method frown >"$TMP/fw_mpi.res" 2>"$TMP/fw_mpi.err"
    check "frown, input halves, warm starts under mpirun -np 3: one process's answer and tree ($(domains "$TMP/fl_auto.err") domains)" \
        "cmp -s '$TMP/fl_auto.res' '$TMP/fw_mpi.res' && [ -n \"\$(counts '$TMP/fl_auto.err')\" ] && \
         [ \"\$(counts '$TMP/fl_auto.err')\" = \"\$(counts '$TMP/fw_mpi.err')\" ]" || tail -n 1 "$TMP/fw_mpi.err"
fi
check "... and without them (--frown-warm 0) another tree ($(domains "$TMP/fw0.err") domains), the same answer" \
    "cmp -s '$TMP/fl_auto.res' '$TMP/fw0.res' && [ \"\$(counts '$TMP/fl_auto.err')\" != \"\$(counts '$TMP/fw0.err')\" ]"
for L in auto all spec; do
    "$NNCERT" verify --model models/acas/acasxu_like_2x12.onnx --vnnlib $ACAS_P --bab --bab-split relu \
        --method frown --frown-layers $L >"$TMP/flr_$L.res" 2>"$TMP/flr_$L.err"
done
check "frown, ReLU phases: auto is all (every layer: $(domains "$TMP/flr_auto.err") domains), spec differs ($(domains "$TMP/flr_spec.err")), each unsat" \
    "[ \"\$(cat '$TMP/flr_auto.res' '$TMP/flr_all.res' '$TMP/flr_spec.res' | sort -u)\" = unsat ] && \
     [ \"\$(counts '$TMP/flr_auto.err')\" = \"\$(counts '$TMP/flr_all.err')\" ] && \
     [ \"\$(domains '$TMP/flr_auto.err')\" != \"\$(domains '$TMP/flr_spec.err')\" ] && \
     grep -q 'FROWN lines for every layer;' '$TMP/flr_auto.err'" || tail -1 "$TMP/flr_auto.err" "$TMP/flr_spec.err"
# the group's leader writes the snapshots: every round here, removed after the answer
mpirun --oversubscribe -np 3 "$NNCERT" verify --model "$FX/mlp.onnx" --vnnlib "$FX/rand1.vnnlib" --steps 30 \
    --restarts 2 --bab --bab-split relu --checkpoint "$TMP/r1.ckpt" --checkpoint-every 0 \
    >"$TMP/r1ck.res" 2>"$TMP/r1ck.err"
check "verify --bab --checkpoint under mpirun: the answer of one process, the checkpoint gone after it" \
    "cmp -s '$TMP/rand1_relu.res' '$TMP/r1ck.res' && [ ! -e '$TMP/r1.ckpt' ]" || tail -2 "$TMP/r1ck.err"
# killed (the leader SIGKILLed after its 3rd snapshot, so mpirun ends the job),
# then rerun: it resumes from the snapshot and ends with one process's tree
NNCERT_TEST_KILL_AFTER_SNAPSHOTS=3 mpirun --oversubscribe -np 3 "$NNCERT" verify --model "$FX/mlp.onnx" \
    --vnnlib "$FX/rand1.vnnlib" --steps 30 --restarts 2 --bab --bab-split relu --checkpoint "$TMP/r1.ckpt" \
    --checkpoint-every 0 >/dev/null 2>&1
killed=$([ -s "$TMP/r1.ckpt" ] && echo 1 || echo 0)
mpirun --oversubscribe -np 3 "$NNCERT" verify --model "$FX/mlp.onnx" --vnnlib "$FX/rand1.vnnlib" --steps 30 \
    --restarts 2 --bab --bab-split relu --checkpoint "$TMP/r1.ckpt" --checkpoint-every 0 \
    >"$TMP/r1rs.res" 2>"$TMP/r1rs.err"
check "verify --bab under mpirun, killed and rerun: resumed, with the answer and tree of one process" \
    "[ $killed = 1 ] && grep -q 'resumed from' '$TMP/r1rs.err' && cmp -s '$TMP/rand1_relu.res' '$TMP/r1rs.res' && \
     [ \"\$(counts '$TMP/rand1_relu.err')\" = \"\$(counts '$TMP/r1rs.err')\" ]" || tail -3 "$TMP/r1rs.err"

# Bad inputs through the command: named errors, exit status 1
{ for i in 0 1 2; do echo "(declare-const X_$i Real)(assert (<= 0 X_$i 1))"; done
  echo "(declare-const Y_0 Real)(assert (<= Y_0 0))"; } >"$FX/bad_size.vnnlib"
expect_failure "property with more inputs than the model" "bad_size.vnnlib: declares inputs X_0 .. X_2 but the model has 2 inputs" \
    "$NNCERT" verify --model "$FX/mlp.onnx" --vnnlib "$FX/bad_size.vnnlib"
sed 's/(<= X_1 [^)]*)//' "$FX/unsat.vnnlib" >"$FX/unbounded.vnnlib"
expect_failure "an input without an upper bound" "X_1 has no upper bound" \
    "$NNCERT" verify --model "$FX/mlp.onnx" --vnnlib "$FX/unbounded.vnnlib"
head -c 200 "$FX/unsat.vnnlib" >"$FX/truncated.vnnlib"
expect_failure "a truncated property names line and column" "truncated.vnnlib:[0-9]+:[0-9]+: .*never closed" \
    "$NNCERT" verify --model "$FX/mlp.onnx" --vnnlib "$FX/truncated.vnnlib"
expect_failure "a missing property file" "cannot open .*nothere.vnnlib" \
    "$NNCERT" verify --model "$FX/mlp.onnx" --vnnlib "$FX/nothere.vnnlib"
