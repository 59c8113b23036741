/* bench_engine: one-core figures of the bound engine for `make bench`.
 *
 * Measures the OpenBLAS GEMM peak in this process (best of a few runs of square
 * and tall shapes, double and single), then certifies the first images of the
 * matching test set with CROWN (bisect search, l_inf, untargeted, from the norm's
 * eps0 for every image as `nncert certify` does) on each model given, in each
 * precision, and prints per
 * model: seconds per image, bound evaluations per image, the GEMM flop rate
 * inside the bound computation (bound_state.flops, the GEMMs of the backward
 * adjoints and of IBP, over bound_state.gemm_seconds, the CPU time inside them)
 * and the end-to-end rate (the same flops over the whole certification time),
 * each as a fraction of the measured peak of its precision. Last, the same
 * certification of each model with activation steps one row at a time against
 * the default four rows per AVX2 vector (the ratio, and that the radii agree),
 * and of the first model with 1 and with 2 BLAS threads in this
 * process (blas_threads_set; nothing is read from OPENBLAS_NUM_THREADS): CPU
 * seconds of all threads and wall seconds per bound evaluation, and the ratio.
 *
 * Not part of the library: it only calls the public API (certify.h, bound.h). */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blas_core.h"
#include "blas_threads.h"
#include "certify.h"
#include "nn_clock.h"
#include "dataset.h"
#include "model_io.h"

#define PEAK_REPEATS 5

/* Best GFLOP/s of C = A.B (m x k times k x n) over PEAK_REPEATS runs. */
static double gemm_rate(int single, int m, int n, int k)
{
    size_t na = (size_t)m * k, nb = (size_t)k * n, nc = (size_t)m * n;
    size_t es = single ? sizeof(float) : sizeof(double);
    void *a = malloc(na * es), *b = malloc(nb * es), *c = malloc(nc * es);
    if (!a || !b || !c) {
        free(a), free(b), free(c);
        return NAN;
    }
    unsigned s = 12345;
    for (size_t i = 0; i < na + nb; i++) {
        s = s * 1103515245u + 12345u;
        double v = (double)(s >> 8) / (double)(1u << 24) - 0.5;
        if (single) (i < na ? (float *)a : (float *)b)[i < na ? i : i - na] = (float)v;
        else (i < na ? (double *)a : (double *)b)[i < na ? i : i - na] = v;
    }
    double best = INFINITY;
    for (int r = 0; r < PEAK_REPEATS; r++) {
        double t = nn_thread_cpu_seconds();
        if (single)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
        else
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, a, k, b, n, 0.0, c, n);
        t = nn_thread_cpu_seconds() - t;
        if (t < best) best = t;
    }
    free(a), free(b), free(c);
    return 2.0 * m * n * (double)k / best * 1e-9;
}

typedef struct {
    int images;          /* correctly classified images certified */
    int skipped;         /* misclassified */
    int failed;
    long evals;
    double seconds, cpu, pcpu, flops, gemm_seconds, sum_radius;
} bench_row;

/* reference: BENCH_ONE_ROW (activation steps one row at a time) or BENCH_DENSE
 * (conv-shaped layers' backward rows on full maps); 0 for the defaults. */
enum { BENCH_ONE_ROW = 1, BENCH_DENSE = 2 };

static int bench_model(const nn_model *m, const nn_dataset *ds, int single, int reference, bench_row *row,
                       nn_error *err)
{
    memset(row, 0, sizeof *row);
    bound_options bo;
    bound_options_default(&bo);
    bo.single = single;
    bo.one_row_steps = (reference & BENCH_ONE_ROW) != 0;
    bo.dense_rows = (reference & BENCH_DENSE) != 0;
    cert_verifier v;
    int rc = cert_verifier_init(&v, m, &bo, err);
    if (rc) return rc;
    v.st.time_gemms = 1; /* the GEMM share of the time is what this bench reports */
    cert_task_options to;
    memset(&to, 0, sizeof to);
    to.norm = NORM_INF;
    size_t in = model_input_size(m);
    cert_search_options_default(&to.search, NORM_INF, in);
    cert_target_spec target = {.mode = TARGET_UNTARGETED};
    cert_result res;
    for (size_t i = 0; i < ds->n && !rc; i++) {
        double f0 = v.st.flops, g0 = v.st.gemm_seconds, t0 = nn_wall_seconds(), c0 = nn_thread_cpu_seconds(),
               p0 = nn_process_cpu_seconds();
        long e0 = v.evals;
        nn_error terr;
        nn_error_clear(&terr);
        /* one task per image (untargeted), as certify's scheduler runs it */
        int trc = cert_run_image_task(&v, &to, &target, ds->images + i * in, (long)(ds->first + i), ds->labels[i], 0,
                                      &res, &terr);
        double t = nn_wall_seconds() - t0, cpu = nn_thread_cpu_seconds() - c0, pcpu = nn_process_cpu_seconds() - p0;
        if (trc == NN_ENOMEM) rc = nn_fail(err, NN_ENOMEM, "%s", terr.msg);
        if (rc) break;
        if (res.status == CERT_MISCLASSIFIED) {
            row->skipped++;
            continue;
        }
        if (res.status == CERT_FAILED) {
            row->failed++;
            fprintf(stderr, "bench: image %zu failed: %s\n", ds->first + i, res.message);
            continue;
        }
        row->images++;
        row->seconds += t;
        row->cpu += cpu;
        row->pcpu += pcpu;
        row->evals += v.evals - e0;
        row->flops += v.st.flops - f0;
        row->gemm_seconds += v.st.gemm_seconds - g0;
        row->sum_radius += res.radius;
    }
    cert_verifier_free(&v);
    return rc;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* The model's file name without .h5, as the tables show it. */
static void shown_name(const char *path, char *buf, size_t cap)
{
    const char *name = base_name(path);
    size_t len = strlen(name);
    if (len > 3 && !strcmp(name + len - 3, ".h5")) len -= 3;
    snprintf(buf, cap, "%.*s", (int)len, name);
}

static const char *data_of(const char *path)
{
    return !strncmp(base_name(path), "fmnist", 6) ? "fashion-mnist:test" : "mnist:test";
}

/* The first model, double precision, with 1 and with 2 BLAS threads: s/eval by
 * the CPU time of all threads and by the wall clock, and the ratio 1/2. */
static int threads_table(const char *path, int images)
{
    nn_error err;
    nn_error_clear(&err);
    nn_model m;
    nn_dataset ds;
    if (model_load(path, &m, &err)) return printf("threads: %s\n", err.msg), 1;
    if (dataset_load(data_of(path), 0, (size_t)images, &ds, &err)) {
        printf("threads: %s\n", err.msg);
        model_free(&m);
        return 1;
    }
    printf("\nBLAS threads, one process, %s, double, the same %d images: seconds per bound evaluation by\n"
           "the CPU time of all threads (cpu) and by the wall clock (wall); 1/2 = the 1-thread figure over the\n"
           "2-thread one (above 1: 2 threads are faster). %d CPU(s) available here.\n",
           path, images, blas_cpus_available());
    printf("%-8s %6s %10s %10s %9s\n", "threads", "evals", "cpu s/eval", "wall s/eval", "radius");
    bench_row r[2];
    int rc = 0;
    for (int t = 0; t < 2 && !rc; t++) {
        if ((rc = blas_threads_set(t + 1, &err)) || (rc = bench_model(&m, &ds, 0, 0, &r[t], &err))) break;
        long e = r[t].evals ? r[t].evals : 1;
        printf("%-8d %6ld %10.5f %10.5f %9.5f\n", t + 1, r[t].evals, r[t].pcpu / e, r[t].seconds / e,
               r[t].images ? r[t].sum_radius / r[t].images : 0);
    }
    if (!rc && r[0].evals && r[1].evals)
        printf("%-8s %6s %10.2f %10.2f\n", "1/2", "", (r[0].pcpu / r[0].evals) / (r[1].pcpu / r[1].evals),
               (r[0].seconds / r[0].evals) / (r[1].seconds / r[1].evals));
    if (rc) printf("threads: %s\n", err.msg);
    nn_error_clear(&err);
    blas_threads_set(1, &err);
    dataset_free(&ds);
    model_free(&m);
    return rc != 0;
}

static int has_spatial(const nn_model *m)
{
    for (int l = 0; l < m->n_layers; l++)
        if (layer_is_spatial(m->layers[l].type)) return 1;
    return 0;
}

/* Each model in double with a reference setting of the engine, then with the
 * defaults (second, so that warming up favours the reference): CPU s/eval of
 * both, their ratio, and whether the radii are the same (they must be: the same
 * bits). BENCH_ONE_ROW: activation steps one row at a time against four rows per
 * AVX2 vector. BENCH_DENSE (models with conv or pool layers only): conv-shaped layers'
 * backward rows on full maps against windowed rows, with each one's end-to-end
 * GEMM rate as a fraction of peak, since windowed rows trade flops for speed. */
static int reference_table(char **paths, int n, int images, int reference, double peak)
{
    int dense = reference == BENCH_DENSE;
    if (dense)
        printf("\nBackward rows of conv-shaped layers, double, the same %d images: on full maps\n"
               "(bound_options.dense_rows, the engine before windowed rows) against windowed rows (the default);\n"
               "CPU s/eval, end-to-end GEMM GF/s (%% of the DGEMM peak), and dense/windowed (above 1: windowed\n"
               "are faster). `as full` is the full-map engine's flops per evaluation over the windowed time: the\n"
               "end-to-end rate (%% of the peak) the full-map engine would need to be as fast as windowed rows.\n"
               "Only models with conv or pool layers.\n",
               images);
    else
        printf("\nActivation steps, double, the same %d images: one row at a time (bound_options.one_row_steps)\n"
               "against four rows per AVX2 vector (the default); CPU s/eval, and one/four (above 1: four are faster).\n",
               images);
    if (dense)
        printf("%-26s %10s %13s %10s %13s %14s %8s %s\n", "model", "dense s/ev", "end-to-end", "wind s/ev",
               "end-to-end", "as full", "dense/w", "radii");
    else
        printf("%-26s %10s %10s %8s %s\n", "model", "one s/ev", "four s/ev", "one/four", "radii");
    int bad = 0;
    for (int i = 0; i < n; i++) {
        nn_error err;
        nn_error_clear(&err);
        nn_model m;
        nn_dataset ds;
        if (model_load(paths[i], &m, &err)) continue;  /* reported in the table above */
        if ((dense && !has_spatial(&m)) || dataset_load(data_of(paths[i]), 0, (size_t)images, &ds, &err)) {
            model_free(&m);
            continue;
        }
        char shown[27];
        shown_name(paths[i], shown, sizeof shown);
        bench_row r[2];
        if (bench_model(&m, &ds, 0, reference, &r[0], &err) || bench_model(&m, &ds, 0, 0, &r[1], &err)) {
            printf("%-26s %s\n", shown, err.msg);
            bad = 1;
        } else if (r[0].evals && r[1].evals) {
            double ref_s = r[0].cpu / r[0].evals, def_s = r[1].cpu / r[1].evals;
            int same = r[0].evals == r[1].evals && r[0].sum_radius == r[1].sum_radius;
            if (dense) {
                char rcol[32], dcol[32], acol[32];
                double as_full = r[0].flops / r[0].evals / def_s; /* the full map's flops at windowed speed */
                snprintf(rcol, sizeof rcol, "%.1f (%3.0f%%)", r[0].flops / r[0].cpu * 1e-9,
                         100e-9 * r[0].flops / r[0].cpu / peak);
                snprintf(dcol, sizeof dcol, "%.1f (%3.0f%%)", r[1].flops / r[1].cpu * 1e-9,
                         100e-9 * r[1].flops / r[1].cpu / peak);
                snprintf(acol, sizeof acol, "%.0f (%4.0f%%)", as_full * 1e-9, 100e-9 * as_full / peak);
                printf("%-26s %10.5f %13s %10.5f %13s %14s %8.2f %s\n", shown, ref_s, rcol, def_s, dcol, acol,
                       ref_s / def_s, same ? "same" : "DIFFERENT");
            } else {
                printf("%-26s %10.5f %10.5f %8.2f %s\n", shown, ref_s, def_s, ref_s / def_s,
                       same ? "same" : "DIFFERENT");
            }
            if (!same) bad = 1;
        }
        dataset_free(&ds);
        model_free(&m);
    }
    return bad;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_engine [--images N] [--precision double|single|both] MODEL.h5...\n");
}

int main(int argc, char **argv)
{
    blas_core_select(argv);  /* the kernels nncert runs (blas_core.h) */
    int images = 5, first_model = argc, precisions = 3; /* bit 0 double, bit 1 single */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--images") && i + 1 < argc) {
            images = atoi(argv[++i]);
            if (images < 1) return usage(), 2;
        } else if (!strcmp(argv[i], "--precision") && i + 1 < argc) {
            const char *p = argv[++i];
            precisions = !strcmp(p, "double") ? 1 : !strcmp(p, "single") ? 2 : !strcmp(p, "both") ? 3 : 0;
            if (!precisions) return usage(), 2;
        } else if (argv[i][0] == '-') {
            return usage(), 2;
        } else {
            first_model = i;
            break;
        }
    }
    if (first_model >= argc) return usage(), 2;

    nn_error terr;
    nn_error_clear(&terr);
    /* one thread, as nncert runs by default, whatever the environment says */
    if (blas_threads_set(1, &terr)) {
        fprintf(stderr, "bench_engine: %s\n", terr.msg);
        return 1;
    }
    printf("nncert bound-engine benchmark: %d BLAS thread (set by the benchmark), %s\n", blas_threads_get(),
           openblas_get_config());
    double peak[2] = {0, 0};
    const int shapes[2][3] = {{1024, 1024, 1024}, {2048, 1024, 1024}};
    for (int p = 0; p < 2; p++) {
        printf("%s peak (best of %d):", p ? "SGEMM" : "DGEMM", PEAK_REPEATS);
        for (int s = 0; s < 2; s++) {
            double r = gemm_rate(p, shapes[s][0], shapes[s][1], shapes[s][2]);
            printf("  %dx%dx%d %.1f GFLOP/s", shapes[s][0], shapes[s][1], shapes[s][2], r);
            if (r > peak[p]) peak[p] = r;
        }
        printf("  -> peak %.1f\n", peak[p]);
    }
    printf("\nCROWN certified radius, l_inf, untargeted, bisect (rtol 1e-3, from eps0 = 0.01), first %d test images.\n"
           "Times are CPU seconds of this thread (OpenBLAS runs in it), so other load on a shared machine\n"
           "does not distort the rates; wall = wall-clock seconds per image for comparison. GF/img = GEMM\n"
           "flops the engine performed (backward adjoints on live neurons, IBP); GEMM = those flops / CPU\n"
           "time inside the GEMMs; end-to-end = the same flops / the whole certification CPU time; %%peak =\n"
           "of the GEMM peak of the same precision measured above.\n\n",
           images);
    printf("%-26s %-6s %4s %8s %8s %6s %8s %8s %13s %13s %9s\n", "model", "prec", "imgs", "s/img", "wall", "evals",
           "s/eval", "GF/img", "GEMM GF/s", "end-to-end", "radius");

    int status = 0;
    for (int a = first_model; a < argc; a++) {
        nn_error err;
        nn_error_clear(&err);
        nn_model m;
        nn_dataset ds;
        const char *name = base_name(argv[a]);
        const char *data = data_of(argv[a]);
        if (model_load(argv[a], &m, &err)) {
            printf("%-28s %s\n", name, err.msg);
            status = 1;
            continue;
        }
        if (dataset_load(data, 0, (size_t)images, &ds, &err)) {
            printf("%-28s %s\n", name, err.msg);
            model_free(&m);
            status = 1;
            continue;
        }
        char shown[27];
        shown_name(argv[a], shown, sizeof shown);
        for (int p = 0; p < 2; p++) {
            if (!(precisions & (1 << p))) continue;
            bench_row r;
            nn_error_clear(&err);
            if (bench_model(&m, &ds, p, 0, &r, &err)) {
                printf("%-28s %-6s %s\n", shown, p ? "single" : "double", err.msg);
                if (err.code != NN_EUNSUPPORTED) status = 1;
                continue;
            }
            double n = r.images ? r.images : 1;
            double gemm = r.gemm_seconds > 0 ? r.flops / r.gemm_seconds * 1e-9 : 0;
            double e2e = r.cpu > 0 ? r.flops / r.cpu * 1e-9 : 0;
            char gcol[32], ecol[32];
            snprintf(gcol, sizeof gcol, "%.1f (%3.0f%%)", gemm, 100 * gemm / peak[p]);
            snprintf(ecol, sizeof ecol, "%.1f (%3.0f%%)", e2e, 100 * e2e / peak[p]);
            printf("%-26s %-6s %4d %8.3f %8.3f %6.1f %8.4f %8.2f %13s %13s %9.5f%s\n", shown, p ? "single" : "double",
                   r.images, r.cpu / n, r.seconds / n, r.evals / n, r.evals ? r.cpu / r.evals : 0, r.flops / n * 1e-9,
                   gcol, ecol, r.sum_radius / n, r.skipped ? " (misclassified skipped)" : "");
            fflush(stdout);
            if (r.failed) status = 1;
        }
        dataset_free(&ds);
        model_free(&m);
    }
    if (reference_table(argv + first_model, argc - first_model, images, BENCH_ONE_ROW, peak[0])) status = 1;
    if (reference_table(argv + first_model, argc - first_model, images, BENCH_DENSE, peak[0])) status = 1;
    if (threads_table(argv[first_model], images)) status = 1;
    printf("\nReference (CROWN paper, Zhang et al. 2018, Table 4 setting): MNIST 4x[1024] ReLU about 3.5 s per image\n"
           "on one core (numba + BLAS), CROWN-general (tanh etc.) about 20%% slower (~4.2 s); their search runs\n"
           "up to 15 bound evaluations per image.\n");
    return status;
}
