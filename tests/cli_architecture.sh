#!/usr/bin/env bash
# no-sanitizer
# The house rules of doc/architecture.md, checked on the source: the data flows one
# way between folders, src/bound is a stack in which every file calls only files
# below it, the side effects are fenced in (<mpi.h> in src/sched, <hdf5.h> in two io
# files), and every doc/ page the code refers to is in the repository.
cd "$(dirname "$0")/.."
. tests/lib.sh

# includes_of FILES...: the project headers they include, one per line.
includes_of() { grep -ho '#include "[^"]*"' "$@" 2>/dev/null | sed 's/#include "\(.*\)"/\1/' | sort -u; }

# forbid NAME FOLDER HEADER...: no file under FOLDER includes any HEADER.
forbid() {
    local name=$1 dir=$2; shift 2
    local bad=""
    for h in "$@"; do
        bad+=$(grep -rln "#include \"$h\"" "$dir" 2>/dev/null | tr '\n' ' ')
    done
    check "$name" '[ -z "$bad" ]' || echo "#   offending: $bad"
}

forbid "model includes no engine header" src/model relax.h bound.h certify.h scheduler.h cert_app.h
forbid "relax includes no bound, certify or scheduler header" src/relax bound.h certify.h scheduler.h cert_app.h
forbid "bound includes no certify or scheduler header" src/bound certify.h scheduler.h cert_app.h attack.h
forbid "certify does not know the scheduler" src/certify scheduler.h cert_app.h
forbid "the scheduler does not know the engine" src/sched bound.h relax.h certify.h attack.h cert_app.h
forbid "report reads results files, not the engine or the scheduler" src/report bound.h relax.h certify.h attack.h \
    scheduler.h cert_app.h cert_store.h
for h in include/scheduler.h; do
    check "scheduler.h includes no engine header" \
        '! includes_of "$h" | grep -qE "^(bound|relax|certify|attack)\.h$"'
done

mpi=$(grep -rl '<mpi.h>' src include | grep -v '^src/sched/' | tr '\n' ' ')
check "<mpi.h> only under src/sched" '[ -z "$mpi" ]' || echo "#   $mpi"
hdf=$(grep -rl '<hdf5.h>' src include | grep -vE '^src/io/(model_h5|results_h5|h5_read|keras_import)\.[ch]$' | tr '\n' ' ')
check "<hdf5.h> only in the model and results files" '[ -z "$hdf" ]' || echo "#   $hdf"
plp=$(grep -rl '<plplot.h>' src include | grep -v '^src/report/report_plot\.c$' | tr '\n' ' ')
check "<plplot.h> only in the report's plots" '[ -z "$plp" ]' || echo "#   $plp"

# src/bound: the order of doc/architecture.md; a file may include and call only
# the files before it.
order=(bound_work bound_cost bound_box bound_concretize bound_rows bound_cone bound_backward bound_first_block bound_ibp
       bound_lbp bound_crown bound_lp_safe bound_lp_build bound_lp bound_milp bound_quad bound_frown bound_memory bound
       bound_batch bound_source)
rank_of() { local i; for i in "${!order[@]}"; do [ "${order[$i]}" = "$1" ] && echo "$i" && return; done; echo -1; }
up=""
for f in "${order[@]}"; do
    me=$(rank_of "$f")
    for src in "src/bound/$f.c" "src/bound/$f.h"; do
        [ -f "$src" ] || continue
        for inc in $(includes_of "$src" | sed -n 's/^\(bound[a-z_]*\)\.h$/\1/p'); do
            [ -f "src/bound/$inc.h" ] || continue   # bound.h is the public header
            r=$(rank_of "$inc")
            [ "$r" -ge 0 ] && [ "$r" -gt "$me" ] && up+="$src includes $inc.h; "
        done
    done
done
check "src/bound files include only files below them" '[ -z "$up" ]' || echo "#   $up"
listed=$(ls src/bound/*.c | sed 's|src/bound/\(.*\)\.c|\1|' | while read -r f; do
    [ "$(rank_of "$f")" -ge 0 ] || echo "$f"; done | tr '\n' ' ')
check "every src/bound file has its place in the stack" '[ -z "$listed" ]' || echo "#   unlisted: $listed"

# Calls, from the objects of the normal build (when it exists): a defined symbol
# of a higher file must not be referenced by a lower one.
if [ -f build/src/bound/bound.o ] && command -v nm >/dev/null; then
    declare -A owner
    for f in "${order[@]}"; do
        [ -f "build/src/bound/$f.o" ] || continue
        for s in $(nm "build/src/bound/$f.o" | awk '$2 == "T" {print $3}'); do owner[$s]=$f; done
    done
    upcalls=""
    for f in "${order[@]}"; do
        [ -f "build/src/bound/$f.o" ] || continue
        me=$(rank_of "$f")
        for s in $(nm -u "build/src/bound/$f.o" | awk '{print $2}'); do
            o=${owner[$s]:-}
            [ -n "$o" ] && [ "$(rank_of "$o")" -gt "$me" ] && upcalls+="$f calls $s ($o); "
        done
    done
    check "src/bound files call only files below them" '[ -z "$upcalls" ]' || echo "#   $upcalls"
fi

missing=""
for h in include/*.h; do head -1 "$h" | grep -q '^/\*' || missing+="$h "; done
check "every public header opens with what its module is for" '[ -z "$missing" ]' || echo "#   $missing"

# Comments name the page and section of doc/ they rely on; each page must exist
# in the repository, so a clone explains itself.
missing_docs=""
for p in $(git grep -IohE 'doc/[a-z_]+\.md' -- src include tests tools configs | sort -u); do
    [ -f "$p" ] || missing_docs+="$p "
done
check "every doc/ page the code points at exists" '[ -z "$missing_docs" ]' || echo "#   $missing_docs"
