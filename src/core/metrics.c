/* metrics.c - the classification report from a confusion matrix:
 * per-class precision, recall, F1 and support, accuracy, and the macro and
 * support-weighted averages, as sklearn.metrics.classification_report
 * defines them. Pure arithmetic over the caller's counts: no allocation. */
#include "core/internal.h"

/* num / den, or 0 where den is 0: sklearn's default zero_division ("warn"
 * behaves as 0; https://scikit-learn.org/stable/modules/generated/
 * sklearn.metrics.precision_recall_fscore_support.html). */
static double ratio_or_zero(uint64_t num, uint64_t den)
{
    return den ? (double)num / (double)den : 0.0;
}

/* Adds b to *a; returns 0 when the sum does not fit. */
static int add_u64(uint64_t *a, uint64_t b)
{
    if (b > UINT64_MAX - *a)
        return 0;
    *a += b;
    return 1;
}

static syn_status class_metrics(const uint64_t *confusion, size_t k, size_t c,
                                syn_class_metrics *out)
{
    uint64_t row = 0, col = 0;
    for (size_t j = 0; j < k; j++)
        if (!add_u64(&row, confusion[c * k + j]) || !add_u64(&col, confusion[j * k + c]))
            return SYN_ERR_OVERFLOW;
    uint64_t tp = confusion[c * k + c];
    out->support = row;
    out->predicted = col;
    out->precision = ratio_or_zero(tp, col);
    out->recall = ratio_or_zero(tp, row);
    /* 2tp / (2tp + fp + fn) = 2tp / (row + col): the harmonic mean of
     * precision and recall where both are defined, and sklearn's form. */
    double den = (double)row + (double)col;
    out->f1 = den > 0.0 ? 2.0 * (double)tp / den : 0.0;
    return SYN_OK;
}

syn_status syn_class_report(const uint64_t *confusion, size_t n_classes,
                            syn_class_metrics *per_class, syn_class_summary *summary)
{
    size_t cells;
    if (!confusion || n_classes == 0)
        return SYN_ERR_INVALID_ARGUMENT;
    if (!syn_mul_size(n_classes, n_classes, &cells))
        return SYN_ERR_OVERFLOW;
    uint64_t total = 0, correct = 0;
    for (size_t i = 0; i < cells; i++)
        if (!add_u64(&total, confusion[i]))
            return SYN_ERR_OVERFLOW;
    if (total == 0)
        return SYN_ERR_INVALID_ARGUMENT;
    syn_class_metrics macro = {0}, weighted = {0};
    for (size_t c = 0; c < n_classes; c++) {
        syn_class_metrics m;
        syn_status st = class_metrics(confusion, n_classes, c, &m);
        if (st != SYN_OK)
            return st;
        correct += confusion[c * n_classes + c];
        macro.precision += m.precision;
        macro.recall += m.recall;
        macro.f1 += m.f1;
        double w = (double)m.support;
        weighted.precision += w * m.precision;
        weighted.recall += w * m.recall;
        weighted.f1 += w * m.f1;
        if (per_class)
            per_class[c] = m;
    }
    if (summary) {
        double k = (double)n_classes, n = (double)total;
        macro.precision /= k;
        macro.recall /= k;
        macro.f1 /= k;
        weighted.precision /= n;
        weighted.recall /= n;
        weighted.f1 /= n;
        macro.support = weighted.support = total;
        macro.predicted = weighted.predicted = total;
        summary->samples = total;
        summary->accuracy = (double)correct / n;
        summary->macro = macro;
        summary->weighted = weighted;
    }
    return SYN_OK;
}
