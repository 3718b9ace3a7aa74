/* plateau.c - the stopping and learning-rate-cut rule on one loss per
 * epoch (syn_plateau): sklearn's MLP stops when the loss has not improved
 * by tol for n_iter_no_change epochs (sklearn/neural_network/
 * _multilayer_perceptron.py, _update_no_improvement_count), PyTorch's
 * ReduceLROnPlateau lowers the rate after `patience` such epochs
 * (torch/optim/lr_scheduler.py, threshold_mode "rel": better when
 * a < best * (1 - threshold)). Both are kept as counters in plain data so
 * that a checkpoint resumes them exactly. */
#include <math.h>

#include "synapse.h"

syn_status syn_plateau_update(syn_plateau *p, size_t epoch, double loss,
                              syn_plateau_action *action)
{
    if (!p || !action || !(p->tol >= 0.0) || !isfinite(p->tol) || p->patience == 0 ||
        (p->lr_patience && !(p->lr_factor > 0.0f && p->lr_factor < 1.0f)))
        return SYN_ERR_INVALID_ARGUMENT;
    /* Relative to the best loss, but never finer than tol itself: a loss
     * that falls towards 0 (a separable training set) would otherwise keep
     * "improving" by ever smaller amounts, which sklearn's absolute tol
     * stops. |best| keeps the rule meaningful for a negative loss; a NaN
     * compares false and never improves. */
    double scale = fabs(p->best) > 1.0 ? fabs(p->best) : 1.0;
    if ((!p->have_best && !isnan(loss)) || loss < p->best - p->tol * scale) {
        p->have_best = 1;
        p->best = loss;
        p->best_epoch = epoch;
        p->since_best = p->since_cut = 0;
        *action = SYN_PLATEAU_IMPROVED;
        return SYN_OK;
    }
    p->since_best++;
    p->since_cut++;
    if (p->since_best >= p->patience) {
        *action = SYN_PLATEAU_STOP;
    } else if (p->lr_patience && p->since_cut >= p->lr_patience) {
        p->since_cut = 0;
        p->n_cuts++;
        *action = SYN_PLATEAU_CUT_LR;
    } else {
        *action = SYN_PLATEAU_WAIT;
    }
    return SYN_OK;
}
