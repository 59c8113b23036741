#!/usr/bin/env bash
# The default job behind `make run`: configs/default.ini, i.e. the CROWN
# certified l-inf radius of the first 100 Fashion-MNIST test images on the
# bundled 2x[20] ReLU MLP, as a 2-rank MPI job (rank 0 schedules and writes
# results/default.h5, rank 1 computes) with PGD upper bounds beside every radius
# (attack = pgd), then a summary of the results file and the report
# results/default/report.html (nncert report: tables and plots).
# Rerunning resumes (nothing left to do once it has finished); pass --force-new
# to start over: tools/run/run-default.sh --force-new. NP=4 tools/run/run-default.sh
# uses more ranks.
set -euo pipefail
cd "$(dirname "$0")/../.."
# nncert sets its BLAS threads itself; this only spares OpenBLAS idle threads at load.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
[ "$(id -u)" = 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p results
mpirun --oversubscribe -np "${NP:-2}" bin/nncert certify --config configs/default.ini "$@"
/usr/bin/python3 - results/default.h5 <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], 'r')
r = f['results']
s, rad = r['status'][:], r['radius'][:]
ok = (s == 0) | (s == 1)
a = lambda k: f.attrs[k].decode() if isinstance(f.attrs[k], bytes) else f.attrs[k]
print(f"{sys.argv[1]}: {len(s)} rows, model {a('model')} (sha256 {a('model_sha256')[:12]}...), "
      f"method {a('method')}, norm {a('norm')}, {a('ranks')} ranks, git {a('git_commit')}")
if ok.any():
    q = np.percentile(rad[ok], [0, 25, 50, 75, 100])
    print("radius min/25%/median/75%/max: " + " / ".join(f"{v:.5f}" for v in q)
          + f"; certified {int((s == 0).sum())} of {int(ok.sum())} correctly classified")
PY
bin/nncert report results/default.h5 --out results/default >/dev/null
echo "report: $PWD/results/default/report.html"
