/* report: the tables and plots people publish from certify results files (one
 * file, several side by side, or a whole sweep by its manifest): statistics,
 * certified accuracy at chosen eps, per-image comparisons, PGD tightness. */
#ifndef REPORT_H
#define REPORT_H

#include <stddef.h>
#include <stdint.h>
#include "nn_error.h"

#define REPORT_MSG 256          /* bytes of a row's message */
#define REPORT_MAX_EPS 32

/* One certify results file as read back (report_data.c). */
typedef struct {
    char *path;
    char *label;                /* file name without folder and .h5: tables and legends */
    /* root attributes; "" when absent */
    char *kind, *model, *model_sha256, *data, *method, *norm, *target, *search, *attack;
    char *start_time, *end_time, *git_commit, *ranks, *runs;
    size_t n;                   /* rows */
    int64_t *index, *slot, *status, *evals;
    double *radius, *seconds;
    double *pgd_eps;            /* NULL: the file has no PGD columns */
    double *milp_eps;           /* NULL: the file has no MILP columns (method milp) */
    char *message;              /* n x REPORT_MSG */
} report_file;

/* One row of a sweep manifest (nncert sweep's manifest.tsv). */
typedef struct {
    char *id, *out, *model, *method, *norm;
    long start, count;
    int file;                   /* index into report.files, -1: no results file yet */
} report_run;

/* Per image, over the rows of one series (report_stats.c). */
enum { REPORT_SCORED, REPORT_MISCLASSIFIED, REPORT_FAILED };

typedef struct {
    size_t rows, status[5];     /* rows by status (certified, uncertified, misclassified, failed, timeout) */
    size_t images, scored, certified, misclassified, failed;  /* images; certified: radius > 0 */
    int64_t *image;             /* [images] sorted image indices */
    int *state;                 /* [images] REPORT_* */
    double *radius;             /* [images] smallest radius of its rows (scored images) */
    double *pgd;                /* [images] smallest pgd_eps (inf: none found, NaN: not attacked); NULL: no PGD */
    double accuracy;            /* scored / images */
    double mean, q1, median, q3, min, max;   /* of the scored images' radii */
    double sec_per_task, evals_per_task, seconds;
    double pgd_ratio_mean;      /* mean radius / pgd_eps over images with both (NaN: none) */
    size_t pgd_found, pgd_ratio_n, unsound;  /* unsound: certified rows with pgd_eps <= radius */
    size_t milp_unsound;        /* certified rows with milp_eps <= radius (a checked MILP point) */
    double pgd_median;          /* of the finite pgd_eps (NaN: none) */
} report_stats;

/* Files shown as one curve: one file, or a sweep's runs of one model, method and norm. */
typedef struct {
    char *name;
    int *files;                 /* indices into report.files */
    size_t n_files;
    report_stats st;
} report_series;

/* Two series of the same model and norm on common images. */
typedef struct {
    int a, b;                   /* series indices */
    size_t common, a_wins, b_wins, ties;
    double mean_ratio;          /* mean radius_a / radius_b over common images with radius_b > 0 */
    size_t ratio_n;
} report_compare;

typedef struct {
    report_file *files;
    size_t n_files;
    report_run *runs;           /* sweep mode */
    size_t n_runs;
    char *manifest;             /* its path in sweep mode, else NULL */
    report_series *series;
    size_t n_series;
    report_compare *cmp;
    size_t n_cmp;
    double eps[REPORT_MAX_EPS]; /* certified accuracy columns */
    size_t n_eps;
    int eps_chosen;             /* 1: chosen from the data */
    char *plots[4];             /* file names of the plots made (NULL: none), in the out dir */
} report;

/* Prototypes */
void report_init(report *r);
void report_free(report *r);
/* report_data.c */
/* Read a certify results file; errors name the file and what is wrong with it
 * (missing, not HDF5, not a certify results file, columns of unequal length). */
int report_file_load(report_file *f, const char *path, nn_error *err);
void report_file_free(report_file *f);
/* Add a file as its own series. */
int report_add_file(report *r, const char *path, nn_error *err);
/* Every run of a sweep manifest; runs whose results file does not exist yet are
 * listed as missing, the others grouped into one series per model, method, norm. */
int report_load_manifest(report *r, const char *path, nn_error *err);
/* Refuse files of different models (SHA-256) or data sets side by side. */
int report_check_same_model(const report *r, nn_error *err);

/* report_stats.c */
/* Statistics of every series and the pairwise comparisons; eps (n_eps > 0) are
 * the certified accuracy points, else they are chosen from the radii. */
int report_compute(report *r, const double *eps, size_t n_eps, nn_error *err);
/* Fraction of the series' images certified at eps (radius >= eps), and the PGD
 * upper side: fraction not broken by PGD at eps (NaN without PGD). */
double report_certified_at(const report_stats *s, double eps);
double report_pgd_robust_at(const report_stats *s, double eps);
/* Linear-interpolation quantile (q in [0, 1]) of sorted values. */
double report_quantile(const double *sorted, size_t n, double q);

/* report_plot.c */
/* The PNG plots into dir (PLplot, cairo PNG driver): certified accuracy vs eps,
 * radius histogram, certified radius vs PGD (with PGD columns), seconds per task
 * vs radius; fills r->plots. */
int report_plot(report *r, const char *dir, nn_error *err);

/* report_write.c */
/* dir/report.md and dir/report.html (one page, plots embedded as base64 PNG). */
int report_write(const report *r, const char *dir, nn_error *err);

#endif
