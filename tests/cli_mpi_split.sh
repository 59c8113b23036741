#!/usr/bin/env bash
# The scheduler's row and job splits inside rank groups under a real MPI job
# (tests/mpi_split.c): fixed and dynamic splits of varied costs give every
# member the values one process computes, and failing rows the lowest failing
# row's error, with 3 ranks (a group of 2) and 4 ranks (a group of 3, and
# groups of 2 and 1). The build of the nncert under test provides the program.
set -u
cd "$(dirname "$0")/.."
NNCERT=${NNCERT:-bin/nncert}
case $NNCERT in
build-san/*) P=build-san/tests/mpi_split ;;
*) P=build/tests/mpi_split ;;
esac
[ -x "$P" ] || { echo "not ok 1 - $P is built (make all)"; exit 1; }
status=0
for cfg in "3 2" "4 3" "4 2"; do
    out=$(timeout 300 mpirun --oversubscribe -np ${cfg% *} "$P" ${cfg#* } 2>/tmp/mpi_split.$$.err)
    rc=$?
    echo "$out" | grep -E '^(not )?ok' | sed "s/^\(not \)\{0,1\}ok [0-9]* - /&[-np ${cfg% *}] /"
    if [ $rc -ne 0 ]; then
        status=1
        echo "$out" | grep -q '^not ok' || echo "not ok - mpirun -np ${cfg% *} $P ${cfg#* } exited $rc: $(tail -2 /tmp/mpi_split.$$.err)"
    fi
done
rm -f /tmp/mpi_split.$$.err
exit $status
