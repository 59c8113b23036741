/* One task of one image, as the scheduler hands them out (doc/radius.md,
 * "Target choice"): an image has cert_tasks_per_image() tasks, numbered by slot.
 * Each task repeats the image's forward pass (a small fraction of one bound
 * evaluation) so that it depends on nothing but (image, slot) and the options:
 * any process can run any task and gets the same row. With target `all`, slot k
 * is the k-th class other than the prediction. A method that carries state from
 * one evaluation to the next of the same image (FROWN's warm starts, doc/frown.md)
 * must start each task from a clean state here, or a slot's row would depend on
 * which slot that process ran before it. */
#include "certify.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forward.h"

int cert_tasks_per_image(const cert_target_spec *t, int n_classes)
{
    return t->mode == TARGET_ALL ? n_classes - 1 : 1;
}

static void blank_row(cert_result *r, long index, int label, int pred, int target, cert_status status)
{
    memset(r, 0, sizeof *r);
    r->index = index;
    r->label = label;
    r->pred = pred;
    r->target = target;
    r->status = status;
    r->margin = NAN;
    r->hi = INFINITY;
    r->pgd_eps = r->pgd_lo = NAN;   /* not attacked */
    r->pgd_class = -1;
    r->milp_eps = NAN;              /* no MILP counterexample */
    r->milp_class = -1;
}

static int fail_row(cert_result *r, nn_error *err)
{
    r->status = CERT_FAILED;
    r->code = err->code;
    snprintf(r->message, sizeof r->message, "%.255s", err->msg[0] ? err->msg : nn_code_name(err->code));
    return err->code;
}

int cert_run_image_task(cert_verifier *v, const cert_task_options *o, const cert_target_spec *t, const double *x,
                        long index, int label, int slot, cert_result *r, nn_error *err)
{
    int n = v->n_classes;
    blank_row(r, index, label, -1, t->mode == TARGET_CLASS ? t->cls : CERT_UNTARGETED, CERT_FAILED);
    if (slot < 0 || slot >= cert_tasks_per_image(t, n)) {
        nn_fail(err, NN_EARG, "task slot %d of image %ld out of range [0, %d)", slot, index,
                cert_tasks_per_image(t, n));
        return fail_row(r, err);
    }
    double *logits = nn_malloc((size_t)n * sizeof *logits, "logits", err);
    int *targets = nn_malloc((size_t)n * sizeof *targets, "targets", err);
    int rc = (!logits || !targets) ? NN_ENOMEM : forward_run(v->model, x, 1, logits, err);
    if (rc) {
        fail_row(r, err);
        goto done;
    }
    for (int j = 0; j < n; j++)
        if (!isfinite(logits[j])) {
            rc = nn_fail(err, NN_ENUMERIC, "image %ld: clean logit %d is %g (not finite)", index, j, logits[j]);
            fail_row(r, err);
            goto done;
        }
    int pred = forward_argmax(logits, (size_t)n);
    int n_targets = 0;
    if (pred != label) {
        blank_row(r, index, label, pred, t->mode == TARGET_ALL ? slot + (slot >= pred) : r->target,
                  CERT_MISCLASSIFIED);
        goto done;
    }
    if ((rc = cert_choose_targets(t, logits, n, pred, index, targets, &n_targets, err))) {
        r->pred = pred;
        fail_row(r, err);
        goto done;
    }
    rc = cert_run_task(v, o, x, logits, index, label, targets[t->mode == TARGET_ALL ? slot : 0], r, err);
    if (rc) r->status = CERT_FAILED;  /* cert_run_task filled the message */
done:
    free(logits);
    free(targets);
    return rc;
}
