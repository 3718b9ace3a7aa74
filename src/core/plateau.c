/* plateau.c - the stopping and learning-rate-cut rule on one loss per
 * epoch (syn_plateau): sklearn's MLP stops when the loss has not improved
 * by tol for n_iter_no_change epochs (sklearn/neural_network/
 * _multilayer_perceptron.py, _update_no_improvement_count), PyTorch's
 * ReduceLROnPlateau lowers the rate after `patience` such epochs
 * (torch/optim/lr_scheduler.py, threshold_mode "rel": better when
 * a < best * (1 - threshold)). Both are kept as counters in plain data so
 * that a checkpoint resumes them exactly. The CLI's stopping rule and the
 * trainer's SYN_SCHEDULE_PLATEAU (rel_threshold: PyTorch's comparison and
 * cooldown exactly) share this one update. */
#include <math.h>

#include "synapse.h"

syn_status syn_plateau_update(syn_plateau *p, size_t epoch, double loss,
                              syn_plateau_action *action)
{
    if (!p || !action || !(p->tol >= 0.0) || !isfinite(p->tol) || p->patience == 0 ||
        (p->lr_patience && !(p->lr_factor > 0.0f && p->lr_factor < 1.0f)))
        return SYN_ERR_INVALID_ARGUMENT;
    int better;
    if (p->rel_threshold) {
        /* ReduceLROnPlateau.is_better, mode "min", threshold_mode "rel":
         * a < best * (1 - threshold), best starting at +inf. */
        better = loss < (p->have_best ? p->best * (1.0 - p->tol) : INFINITY);
    } else {
        /* Relative to the best loss, but never finer than tol itself: a
         * loss that falls towards 0 (a separable training set) would
         * otherwise keep "improving" by ever smaller amounts, which
         * sklearn's absolute tol stops. |best| keeps the rule meaningful
         * for a negative loss; a NaN compares false and never improves. */
        double scale = fabs(p->best) > 1.0 ? fabs(p->best) : 1.0;
        better = (!p->have_best && !isnan(loss)) || loss < p->best - p->tol * scale;
    }
    if (better) {
        p->have_best = 1;
        p->best = loss;
        p->best_epoch = epoch;
        p->since_best = p->since_cut = 0;
        *action = SYN_PLATEAU_IMPROVED;
    } else {
        p->since_best++;
        p->since_cut++;
        *action = SYN_PLATEAU_WAIT;
    }
    /* ReduceLROnPlateau.step: "ignore any bad epochs in cooldown". */
    if (p->cooldown_left > 0) {
        p->cooldown_left--;
        p->since_cut = 0;
    }
    if (better)
        return SYN_OK;
    if (p->since_best >= p->patience) {
        *action = SYN_PLATEAU_STOP;
    } else if (p->lr_patience && p->since_cut >= p->lr_patience) {
        p->since_cut = 0;
        p->n_cuts++;
        p->cooldown_left = p->cooldown;
        *action = SYN_PLATEAU_CUT_LR;
    }
    return SYN_OK;
}
