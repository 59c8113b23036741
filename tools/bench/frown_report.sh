#!/usr/bin/env bash
# FROWN vs CROWN figures, one core:
#  1. mean certified radius (bisect search, untargeted, rtol 1e-3) and seconds per
#     image, CROWN and FROWN, l_inf / l2 / l1, on the zoo's 3x[100] and 10x[20] MLPs;
#  2. the group size G against tightness and time on the 4x[1024] ReLU MLP: margin
#     lower bound at a fixed eps per image (nncert certify --eps) and the certified
#     l_inf radius by the same search.
# Usage: tools/bench/frown_report.sh [OUT_DIR]   (COUNT=100 images, G_COUNT=5, G_EPS=0.015,
#        G_LIST="1 8 64 1024", PARTS="radius groups"). About an hour at COUNT=100.
# Seconds per scored image (misclassified ones are skipped): wall time of the
# certify runs and their user CPU time (the machine may be shared; CPU time is the
# steadier figure).
set -u
cd "$(dirname "$0")/../.."
OUT=${1:-results/frown_report}
COUNT=${COUNT:-100}
G_COUNT=${G_COUNT:-5}
G_EPS=${G_EPS:-0.015}
G_LIST=${G_LIST:-"1 8 64 1024"}
PARTS=${PARTS:-"radius groups"}
NNCERT=${NNCERT:-bin/nncert}
PY=/usr/bin/python3
mkdir -p "$OUT"

run() {  # tag, args...: certify with timing into $OUT/tag.{h5,txt,time}
    local tag=$1; shift
    [ -f "$OUT/$tag.time" ] && return 0
    /usr/bin/time -f "%U %e" -o "$OUT/$tag.time.tmp" $NNCERT certify "$@" --force-new --out "$OUT/$tag.h5" \
        >"$OUT/$tag.txt" 2>&1 &&
        mv "$OUT/$tag.time.tmp" "$OUT/$tag.time"
}

NETS="models/zoo/mnist_mlp_3x100_relu.h5:mnist:test models/zoo/mnist_mlp_3x100_sigmoid.h5:mnist:test
      models/mnist_mlp_10x20_relu.h5:mnist:test models/fmnist_mlp_10x20_relu.h5:fashion-mnist:test
      models/fmnist_mlp_10x20_sigmoid.h5:fashion-mnist:test"
case " $PARTS " in *" radius "*)
    for spec in $NETS; do
        model=${spec%%:*}; data=${spec#*:}
        [ -f "$model" ] || { echo "skip $model (missing; make zoo)"; continue; }
        for norm in inf 2 1; do
            for method in crown frown; do
                run "$(basename "$model" .h5)_${norm}_$method" --model "$model" --data "$data" --count "$COUNT" \
                    --norm "$norm" --method "$method"
            done
        done
    done;;
esac
G_MODEL=models/zoo/mnist_mlp_4x1024_relu.h5
case " $PARTS " in *" groups "*)
    if [ -f "$G_MODEL" ]; then
        run "g_crown" --model $G_MODEL --data mnist:test --count "$G_COUNT" --eps "$G_EPS"
        run "gr_crown" --model $G_MODEL --data mnist:test --count "$G_COUNT"
        for G in $G_LIST; do
            run "g_frown_$G" --model $G_MODEL --data mnist:test --count "$G_COUNT" --eps "$G_EPS" --method frown \
                --frown-group "$G"
            run "gr_frown_$G" --model $G_MODEL --data mnist:test --count "$G_COUNT" --method frown --frown-group "$G"
        done
    else
        echo "skip $G_MODEL (missing; make zoo)"
    fi;;
esac

$PY - "$OUT" "$COUNT" "$G_EPS" <<'PY'
import glob, os, sys, h5py, numpy as np
out, count, geps = sys.argv[1], sys.argv[2], sys.argv[3]
def load(tag):
    p = os.path.join(out, tag)
    if not os.path.exists(p + '.time'): return None
    r = h5py.File(p + '.h5', 'r')['results']
    user, wall = map(float, open(p + '.time').read().split())
    st = r['status'][:]
    ok = (st == 0) | (st == 1)
    return dict(radius=r['radius'][:][ok], margin=r['margin'][:][ok], n=int(ok.sum()),
                images=len(st), user=user, wall=wall, evals=r['evals'][:][ok])
tags = sorted({os.path.basename(f)[:-5].rsplit('_', 2)[0] for f in glob.glob(out + '/*_crown.time')} - {'g', 'gr'})
if tags:
    print(f"## Mean certified radius, {count} images (misclassified skipped), untargeted, bisect rtol 1e-3")
    print("| net | norm | CROWN | FROWN | gain | CROWN s/img (CPU) | FROWN s/img (CPU) | FROWN s/img (wall) |")
    print("|---|---|---|---|---|---|---|---|")
    for t in tags:
        for norm in ('inf', '2', '1'):
            c, f = load(f'{t}_{norm}_crown'), load(f'{t}_{norm}_frown')
            if not c or not f: continue
            rc, rf = c['radius'].mean(), f['radius'].mean()
            print(f"| {t} | {norm} | {rc:.5g} | {rf:.5g} | {100 * (rf / rc - 1):+.1f}% | "
                  f"{c['user'] / c['n']:.3f} | {f['user'] / f['n']:.3f} | {f['wall'] / f['n']:.3f} |")
Gs = sorted(int(x.split('_')[-1][:-5]) for x in glob.glob(out + '/g_frown_*.time'))

def g_table(prefix, title, header, cells):
    """CROWN and FROWN for every G of one 4x[1024] experiment; cells(r, crown) -> the middle columns."""
    c = load(f'{prefix}_crown')
    if not c: return
    print(f"\n## 4x[1024] ReLU, {c['n']} images{title}")
    print(f"| method | {header} | s/img (CPU) | s/img (wall) |")
    print("|---|" + "---|" * (header.count('|') + 3))
    for name, r in [('CROWN', c)] + [(f'FROWN G={g}', load(f'{prefix}_frown_{g}')) for g in Gs]:
        if r: print(f"| {name} | {cells(r, c)} | {r['user'] / r['n']:.2f} | {r['wall'] / r['n']:.2f} |")

g_table('g', f", l_inf eps {geps}: margin lower bound (min over the 9 untargeted rows)",
        "mean margin | mean gain over CROWN | certified",
        lambda r, c: f"{r['margin'].mean():.4f} | {(r['margin'] - c['margin']).mean():+.4f} | "
                     f"{(r['margin'] > 0).sum()}/{r['n']}")
g_table('gr', ": certified l_inf radius (bisect, rtol 1e-3)", "mean radius | gain | bound evaluations/img",
        lambda r, c: f"{r['radius'].mean():.5f} | {100 * (r['radius'].mean() / c['radius'].mean() - 1):+.1f}% | "
                     f"{r['evals'].mean():.1f}")
PY
