/* The PGD upper side of one certify task (job key attack = pgd,
 * doc/radius.md "Attacks").
 *
 * After a task's radius search, PGD searches the smallest eps at which it finds
 * a re-verified counterexample against the same class pair: untargeted rows are
 * attacked towards any class, rows with a target class towards that class only,
 * since a targeted certified radius says nothing about the other classes. The
 * search is the attack command's (bisect to rtol 1e-2, 100 steps, 5 runs per
 * eps) from the norm's eps0. It does not start at the task's own bracket: then
 * the upper bound would depend on the verifier, and two methods' files on the
 * same model would show two different PGD curves for the same images. The seed
 * mixes the image index and the target, so a task's row depends on nothing but
 * the task: any rank, any resume, any method gives the same bits. */
#include "attack.h"

#include <math.h>

#define ATTACK_TASK_RTOL 1e-2

int cert_attack_task(const nn_model *m, norm_type norm, const double *x, cert_result *r, double *x_adv,
                     double *logits, nn_error *err)
{
    r->pgd_eps = r->pgd_lo = NAN;
    r->pgd_class = -1;
    if (r->status != CERT_CERTIFIED && r->status != CERT_UNCERTIFIED) return NN_OK;
    if (norm != NORM_INF && norm != NORM_2)
        return nn_fail(err, NN_EARG, "attack pgd: norm l%d is not supported (inf or 2)", (int)norm);
    attack_options ao;
    attack_options_default(&ao, norm);
    ao.target = r->target;
    ao.seed = 0x9E3779B97F4A7C15ull * (uint64_t)(r->index + 1) ^ (uint64_t)(int64_t)(r->target + 2);
    cert_search_options so;
    cert_search_options_default(&so, norm, model_input_size(m));
    so.rtol = ATTACK_TASK_RTOL;
    attack_result res;
    int rc = attack_pgd_search(m, &ao, &so, x, r->pred, x_adv, logits, &res, err);
    if (rc) return rc;
    r->pgd_lo = res.lo;
    if (res.success) {
        r->pgd_eps = res.eps;
        r->pgd_class = res.adv_class;
    }
    return NN_OK;
}
