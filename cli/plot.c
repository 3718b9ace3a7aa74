/* plot.c - the training history of `synapse train` (per-epoch losses and
 * accuracies) and its drawing as a self-contained SVG: no fonts, styles or
 * scripts from outside, only generic font families, so any viewer shows
 * the same picture. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define PANEL_W 440.0
#define PANEL_H 300.0
#define MARGIN_L 64.0
#define MARGIN_R 20.0
#define MARGIN_T 56.0
#define MARGIN_B 52.0
#define COLOR_TRAIN "#1f77b4"
#define COLOR_VAL "#e8710a"
#define COLOR_TEST "#2ca02c"
#define COLOR_MARK "#777"
/* A loss axis turns logarithmic past this ratio of largest to smallest:
 * two decades, where a linear axis flattens the later epochs into a line. */
#define LOG_AXIS_RATIO 100.0

int cli_history_push(cli_history *h, double train_loss, double train_acc, double val_loss,
                     double val_acc)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 16;
        double *arrays[4] = {h->train_loss, h->train_acc, h->val_loss, h->val_acc};
        for (int k = 0; k < 4; k++) {
            double *grown = realloc(arrays[k], cap * sizeof(double));
            if (!grown)
                return 0;
            arrays[k] = grown;
            /* Keep each grown array at once, so a later failure leaks nothing. */
            h->train_loss = k == 0 ? grown : h->train_loss;
            h->train_acc = k == 1 ? grown : h->train_acc;
            h->val_loss = k == 2 ? grown : h->val_loss;
            h->val_acc = k == 3 ? grown : h->val_acc;
        }
        h->cap = cap;
    }
    h->train_loss[h->n] = train_loss;
    h->train_acc[h->n] = train_acc;
    h->val_loss[h->n] = val_loss;
    h->val_acc[h->n] = val_acc;
    h->n++;
    return 1;
}

void cli_history_free(cli_history *h)
{
    free(h->train_loss);
    free(h->train_acc);
    free(h->val_loss);
    free(h->val_acc);
    memset(h, 0, sizeof *h);
}

/* A 1, 2 or 5 times a power of ten near range / target (Heckbert's "nice
 * numbers for graph labels", Graphics Gems, 1990). */
static double nice_step(double range, int target)
{
    double raw = range / target;
    double mag = pow(10.0, floor(log10(raw)));
    double f = raw / mag;
    return (f < 1.5 ? 1.0 : f < 3.0 ? 2.0 : f < 7.0 ? 5.0 : 10.0) * mag;
}

typedef struct axis {
    double lo, hi, step; /* for a log axis: exponents of ten */
    int log;
} axis;

/* A decade axis over the values' exponents, when every finite value (of
 * a, b and the extra point) is positive and they span more than
 * LOG_AXIS_RATIO; returns 0 (no log axis) otherwise. */
static int log_axis(const double *a, const double *b, size_t n, double extra, double ratio,
                    axis *ax)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i <= n; i++) {
        double v[2] = {i < n ? a[i] : extra, i < n ? b[i] : NAN};
        for (int k = 0; k < 2; k++) {
            if (!isfinite(v[k]))
                continue;
            if (v[k] <= 0.0)
                return 0;
            lo = v[k] < lo ? v[k] : lo;
            hi = v[k] > hi ? v[k] : hi;
        }
    }
    if (!isfinite(lo) || hi / lo <= ratio)
        return 0;
    ax->log = 1;
    /* Not a decade more for float noise: 1e-3 as a float is 1.00000005e-3. */
    ax->lo = floor(log10(lo) + 1e-6);
    ax->hi = ceil(log10(hi) - 1e-6);
    double decades = ax->hi - ax->lo;
    ax->step = decades > 8 ? ceil(decades / 8) : 1.0;
    ax->hi = ax->lo + ceil(decades / ax->step) * ax->step;
    return 1;
}

static axis value_axis(const double *a, const double *b, size_t n, double extra,
                       int unit_interval)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i <= n; i++) {
        double v[2] = {i < n ? a[i] : extra, i < n ? b[i] : NAN};
        for (int k = 0; k < 2; k++)
            if (isfinite(v[k])) {
                lo = v[k] < lo ? v[k] : lo;
                hi = v[k] > hi ? v[k] : hi;
            }
    }
    if (!isfinite(lo)) {
        lo = 0.0;
        hi = 1.0;
    }
    if (hi - lo < 1e-12 * (fabs(hi) + 1.0)) {
        lo -= 0.5 * (fabs(lo) + 1e-3);
        hi += 0.5 * (fabs(hi) + 1e-3);
    }
    axis ax = {.log = 0};
    ax.step = nice_step(hi - lo, 5);
    ax.lo = floor(lo / ax.step) * ax.step;
    ax.hi = ceil(hi / ax.step) * ax.step;
    if (unit_interval) {
        ax.lo = ax.lo < 0.0 ? 0.0 : ax.lo;
        ax.hi = ax.hi > 1.0 ? 1.0 : ax.hi;
    }
    return ax;
}

static void xml_text(FILE *fp, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '&': fputs("&amp;", fp); break;
        case '"': fputs("&quot;", fp); break;
        default:
            /* Control characters are not allowed in XML 1.0. */
            if ((unsigned char)*s >= 0x20 || *s == '\t')
                fputc(*s, fp);
        }
    }
}

typedef struct panel {
    double x0, y0; /* top-left corner of the plotting area */
    double w, h;
    size_t n_epochs;
    axis y;
} panel;

static double px(const panel *p, double epoch)
{
    double span = p->n_epochs > 1 ? (double)(p->n_epochs - 1) : 1.0;
    return p->x0 + (p->n_epochs > 1 ? (epoch - 1.0) / span : 0.5) * p->w;
}

/* v on the panel's axis; for a log axis v is a value, not its exponent. */
static double py(const panel *p, double v)
{
    double t = p->y.log ? log10(v) : v;
    return p->y0 + p->h - (t - p->y.lo) / (p->y.hi - p->y.lo) * p->h;
}

/* Tick labels with only the decimals the step needs. */
static int tick_decimals(double step)
{
    int d = (int)ceil(-log10(step) - 1e-9);
    return d < 0 ? 0 : d > 6 ? 6 : d;
}

static void draw_axes(FILE *fp, const panel *p, const char *title, const char *y_label)
{
    fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#fff\" "
            "stroke=\"#888\"/>\n", p->x0, p->y0, p->w, p->h);
    int dec = tick_decimals(p->y.step);
    for (double v = p->y.lo; v <= p->y.hi + 0.5 * p->y.step; v += p->y.step) {
        double y = py(p, p->y.log ? pow(10.0, v) : v);
        fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>"
                "\n", p->x0, y, p->x0 + p->w, y);
        if (p->y.log)
            fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"12\">%g"
                    "</text>\n", p->x0 - 6, y + 4, pow(10.0, v));
        else
            fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"12\">"
                    "%.*f</text>\n", p->x0 - 6, y + 4, dec, fabs(v) < 1e-12 ? 0.0 : v);
    }
    /* Epoch 1, then round multiples of the step (1, 5, 10, 15, ...). */
    double step = p->n_epochs > 1 ? ceil(nice_step((double)(p->n_epochs - 1), 6)) : 1.0;
    for (double e = 1.0; e <= (double)p->n_epochs + 1e-9;
         e = e == 1.0 && step > 1.0 ? step : e + step) {
        double x = px(p, e);
        fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\"/>\n",
                x, p->y0 + p->h, x, p->y0 + p->h + 5);
        fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\">%.0f"
                "</text>\n", x, p->y0 + p->h + 19, e);
    }
    fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"13\">epoch"
            "</text>\n", p->x0 + p->w / 2, p->y0 + p->h + 40);
    fprintf(fp, "<text transform=\"translate(%.1f %.1f) rotate(-90)\" text-anchor=\"middle\" "
            "font-size=\"13\">%s</text>\n", p->x0 - 48, p->y0 + p->h / 2, y_label);
    fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"15\" "
            "font-weight=\"bold\">%s</text>\n", p->x0 + p->w / 2, p->y0 - 10, title);
}

/* A polyline per run of finite values, with dots when there are few. */
static void draw_series(FILE *fp, const panel *p, const double *v, const char *color,
                        const char *dash)
{
    int open = 0;
    for (size_t i = 0; i < p->n_epochs; i++) {
        if (!isfinite(v[i])) {
            if (open)
                fputs("\"/>\n", fp);
            open = 0;
            continue;
        }
        if (!open)
            fprintf(fp, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s "
                    "stroke-linejoin=\"round\" points=\"", color, dash);
        fprintf(fp, "%s%.1f,%.1f", open ? " " : "", px(p, (double)(i + 1)), py(p, v[i]));
        open = 1;
    }
    if (open)
        fputs("\"/>\n", fp);
    if (p->n_epochs > 40)
        return;
    for (size_t i = 0; i < p->n_epochs; i++)
        if (isfinite(v[i]))
            fprintf(fp, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
                    px(p, (double)(i + 1)), py(p, v[i]), color);
}

static int any_finite(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]))
            return 1;
    return 0;
}

/* Losses fall and accuracies rise, so the legend goes in the corner the
 * curves leave free: top right for loss, bottom right for accuracy. */
static void draw_legend(FILE *fp, const panel *p, int has_val, double test, int bottom)
{
    int has_test = isfinite(test);
    double w = has_test ? 150 : 118, h = 6 + 20 * (1 + has_val + has_test);
    double x = p->x0 + p->w - w - 8, y = bottom ? p->y0 + p->h - h - 8 : p->y0 + 8;
    fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.0f\" height=\"%.0f\" fill=\"#fff\" "
            "fill-opacity=\"0.9\" stroke=\"#bbb\" rx=\"3\"/>\n", x, y, w, h);
    const char *names[2] = {"training", "validation"};
    const char *colors[2] = {COLOR_TRAIN, COLOR_VAL};
    const char *dashes[2] = {"", " stroke-dasharray=\"6 3\""};
    for (int k = 0; k < 1 + has_val; k++) {
        double ly = y + 14 + 20 * k;
        fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                "stroke-width=\"2\"%s/>\n", x + 8, ly, x + 32, ly, colors[k], dashes[k]);
        fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">%s</text>\n", x + 40, ly + 4,
                names[k]);
    }
    if (has_test) {
        double ly = y + 14 + 20 * (1 + has_val);
        fprintf(fp, "<path d=\"M%.1f %.1fl5 5l-5 5l-5 -5z\" fill=\"%s\"/>\n", x + 20, ly - 5,
                COLOR_TEST);
        fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">test %.4g</text>\n", x + 40,
                ly + 4, test);
    }
}

/* The restored epoch as a labelled vertical line (the label at the end
 * away from the legend); the test result as a diamond over the epoch whose
 * weights were saved. */
static void draw_marks(FILE *fp, const panel *p, const cli_history *h, double test,
                       int legend_bottom)
{
    if (h->restored_epoch >= 1 && h->restored_epoch <= p->n_epochs) {
        double x = px(p, (double)h->restored_epoch);
        fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                "stroke-width=\"1.5\" stroke-dasharray=\"2 3\"/>\n", x, p->y0, x, p->y0 + p->h,
                COLOR_MARK);
        fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"11\" "
                "fill=\"%s\">restored epoch %zu</text>\n", x + (x > p->x0 + p->w / 2 ? -4 : 4),
                legend_bottom ? p->y0 + 14 : p->y0 + p->h - 6,
                x > p->x0 + p->w / 2 ? "end" : "start", COLOR_MARK, h->restored_epoch);
    }
    if (isfinite(test) && h->test_epoch >= 1 && h->test_epoch <= p->n_epochs &&
        (!p->y.log || test > 0.0)) {
        double x = px(p, (double)h->test_epoch), y = py(p, test);
        fprintf(fp, "<path d=\"M%.1f %.1fl6 6l-6 6l-6 -6z\" fill=\"%s\" stroke=\"#fff\"/>\n",
                x, y - 6, COLOR_TEST);
    }
}

static void draw_panel(FILE *fp, const panel *p, const cli_history *h, const double *train,
                       const double *val, double test, const char *title, const char *y_label,
                       int legend_bottom)
{
    int has_val = any_finite(val, p->n_epochs);
    draw_axes(fp, p, title, y_label);
    draw_series(fp, p, train, COLOR_TRAIN, "");
    if (has_val)
        draw_series(fp, p, val, COLOR_VAL, " stroke-dasharray=\"6 3\"");
    draw_marks(fp, p, h, test, legend_bottom);
    draw_legend(fp, p, has_val, test, legend_bottom);
}

int cli_plot_svg(FILE *fp, const cli_history *h, const char *title, int accuracy)
{
    int n_panels = accuracy ? 2 : 1;
    double cell_w = MARGIN_L + PANEL_W + MARGIN_R;
    double width = cell_w * n_panels + 10, height = MARGIN_T + PANEL_H + MARGIN_B + 30;
    fprintf(fp, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "viewBox=\"0 0 %.0f %.0f\" font-family=\"DejaVu Sans, Helvetica, Arial, "
            "sans-serif\">\n", width, height, width, height);
    fprintf(fp, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fafafa\"/>\n");
    fprintf(fp, "<text x=\"%.1f\" y=\"28\" text-anchor=\"middle\" font-size=\"17\">",
            width / 2);
    xml_text(fp, title);
    fputs("</text>\n", fp);
    panel p = {.x0 = MARGIN_L + 10, .y0 = MARGIN_T + 20, .w = PANEL_W, .h = PANEL_H,
               .n_epochs = h->n};
    double test_loss = h->test_epoch ? h->test_loss : NAN;
    double test_acc = h->test_epoch ? h->test_acc : NAN;
    int log = log_axis(h->train_loss, h->val_loss, h->n, test_loss, LOG_AXIS_RATIO, &p.y);
    if (!log)
        p.y = value_axis(h->train_loss, h->val_loss, h->n, test_loss, 0);
    draw_panel(fp, &p, h, h->train_loss, h->val_loss, test_loss, "Loss",
               log ? "loss (log scale)" : "loss", 0);
    if (accuracy) {
        p.x0 += cell_w;
        p.y = value_axis(h->train_acc, h->val_acc, h->n, test_acc, 1);
        draw_panel(fp, &p, h, h->train_acc, h->val_acc, test_acc, "Accuracy", "accuracy", 1);
    }
    fputs("</svg>\n", fp);
    return !ferror(fp);
}

/* ------------------------------------------------------ report charts */

/* TensorBoard's scalar smoothing: an exponential moving average with its
 * start-up bias divided out (s_t / (1 - w^t), as Adam debiases its
 * moments), skipping missing values. */
#define SMOOTH_WEIGHT 0.6
#define SMOOTH_MIN_POINTS 30 /* fewer epochs read well raw */

static void smooth_series(const double *v, size_t n, double *out)
{
    double s = 0.0, w_t = 1.0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i])) {
            out[i] = NAN;
            continue;
        }
        s = SMOOTH_WEIGHT * s + (1.0 - SMOOTH_WEIGHT) * v[i];
        w_t *= SMOOTH_WEIGHT;
        out[i] = s / (1.0 - w_t);
    }
}

/* A legend entry: a line sample (a CSS border style) and its name. */
typedef struct legend_item {
    const char *name, *color, *style;
} legend_item;

/* The legend as HTML under the chart: it hides no curve, wraps to the
 * width and takes the page's font size (readable on a phone, where the
 * SVG's own text shrinks with it). */
static void chart_legend(FILE *fp, const legend_item *items, size_t n)
{
    if (!n)
        return;
    fputs("<div class=\"legend\">", fp);
    for (size_t i = 0; i < n; i++) {
        fprintf(fp, "<span><i style=\"border-top:2px %s %s\"></i>", items[i].style,
                items[i].color);
        xml_text(fp, items[i].name);
        fputs("</span>", fp);
    }
    fputs("</div>\n", fp);
}

/* A vertical line at epoch e (named in the legend); returns whether it
 * was drawn. */
static int chart_mark(FILE *fp, const panel *p, size_t e, const char *color)
{
    if (e < 1 || e > p->n_epochs)
        return 0;
    double x = px(p, (double)e);
    fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
            "stroke-width=\"1.5\" stroke-dasharray=\"2 3\"/>\n", x, p->y0, x, p->y0 + p->h,
            color);
    return 1;
}

/* Report charts are narrower than --plot's panels, so that their text
 * stays readable where a phone shrinks them to its width. */
#define CHART_W 320.0
#define CHART_H 220.0
#define CHART_ML 84.0 /* left of the plotting area: tick labels and the axis label */

int cli_chart_svg(FILE *fp, const cli_chart *c)
{
    const double *a = c->series[0].v, *b = c->n_series > 1 ? c->series[1].v : a;
    int stop = c->stop_epoch && c->stop_epoch != c->best_epoch && c->stop_epoch <= c->n;
    int best = c->best_epoch && c->best_epoch <= c->n;
    int smooth = c->n >= SMOOTH_MIN_POINTS;
    legend_item items[6];
    size_t n_items = 0;
    for (size_t k = 0; k < c->n_series && k < 2; k++)
        if (any_finite(c->series[k].v, c->n) && (c->n_series > 1 || best || stop))
            items[n_items++] = (legend_item){c->series[k].name, c->series[k].color,
                                             c->series[k].dashed ? "dashed" : "solid"};
    if (best)
        items[n_items++] = (legend_item){c->best_label ? c->best_label : "", COLOR_MARK,
                                         "dotted"};
    if (stop)
        items[n_items++] = (legend_item){c->stop_label ? c->stop_label : "", "#b22", "dotted"};
    if (smooth)
        items[n_items++] = (legend_item){"faint: each epoch, solid: smoothed", "#999",
                                         "solid"};
    double width = CHART_ML + CHART_W + MARGIN_R + 10, height = 36 + CHART_H + MARGIN_B - 4;
    fprintf(fp, "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f "
            "%.0f\" role=\"img\" aria-label=\"", width, height);
    xml_text(fp, c->title);
    fputs("\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n", fp);
    panel p = {.x0 = CHART_ML, .y0 = 36, .w = CHART_W, .h = CHART_H, .n_epochs = c->n};
    int log = c->allow_log && log_axis(a, b, c->n, NAN,
                                       c->log_ratio > 0 ? c->log_ratio : LOG_AXIS_RATIO, &p.y);
    if (!log)
        p.y = value_axis(a, b, c->n, NAN, c->unit_interval);
    draw_axes(fp, &p, "", "");
    /* The axis label clear of tick labels as long as "0.0008". */
    fprintf(fp, "<text transform=\"translate(%.1f %.1f) rotate(-90)\" text-anchor=\"middle\" "
            "font-size=\"13\">", p.x0 - 62, p.y0 + p.h / 2);
    xml_text(fp, c->y_label);
    fprintf(fp, "%s</text>\n", log ? " (log scale)" : "");
    fprintf(fp, "<text x=\"%.1f\" y=\"20\" text-anchor=\"middle\" font-size=\"15\" "
            "font-weight=\"bold\">", p.x0 + p.w / 2);
    xml_text(fp, c->title);
    fputs("</text>\n", fp);
    double *smoothed = smooth ? malloc(c->n * sizeof *smoothed) : NULL;
    for (size_t k = 0; k < c->n_series; k++) {
        const cli_series *s = &c->series[k];
        const char *dash = s->dashed ? " stroke-dasharray=\"6 3\"" : "";
        if (smoothed) {
            /* The raw values faint, the trend over them. */
            fputs("<g stroke-opacity=\"0.3\" fill-opacity=\"0.3\">\n", fp);
            draw_series(fp, &p, s->v, s->color, dash);
            fputs("</g>\n", fp);
            smooth_series(s->v, c->n, smoothed);
            draw_series(fp, &p, smoothed, s->color, dash);
        } else {
            draw_series(fp, &p, s->v, s->color, dash);
        }
    }
    free(smoothed);
    if (stop)
        chart_mark(fp, &p, c->stop_epoch, "#b22");
    if (best)
        chart_mark(fp, &p, c->best_epoch, COLOR_MARK);
    fputs("</svg>\n", fp);
    chart_legend(fp, items, n_items);
    return !ferror(fp);
}

/* Ticks and labels of a value axis along the bottom of a scatter panel. */
static void draw_x_axis(FILE *fp, const panel *p, const axis *x, const char *x_label)
{
    int dec = tick_decimals(x->step);
    for (double v = x->lo; v <= x->hi + 0.5 * x->step; v += x->step) {
        double at = p->x0 + (v - x->lo) / (x->hi - x->lo) * p->w;
        fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\"/>\n",
                at, p->y0 + p->h, at, p->y0 + p->h + 5);
        fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\">%.*f"
                "</text>\n", at, p->y0 + p->h + 19, dec, fabs(v) < 1e-12 ? 0.0 : v);
    }
    fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"13\">",
            p->x0 + p->w / 2, p->y0 + p->h + 40);
    xml_text(fp, x_label);
    fputs("</text>\n", fp);
}

int cli_scatter_svg(FILE *fp, const cli_scatter *s)
{
    double width = CHART_ML + CHART_W + MARGIN_R + 10, height = 36 + CHART_H + MARGIN_B;
    fprintf(fp, "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f "
            "%.0f\" role=\"img\" aria-label=\"", width, height);
    xml_text(fp, s->title);
    fputs("\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n", fp);
    panel p = {.x0 = CHART_ML, .y0 = 36, .w = CHART_W, .h = CHART_H};
    axis x = value_axis(s->x, s->x, s->n, NAN, 0);
    p.y = s->diagonal ? x : value_axis(s->y, s->y, s->n, s->zero_line ? 0.0 : NAN, 0);
    if (s->diagonal) {
        /* The same range on both axes, so y = x is the diagonal. */
        axis yv = value_axis(s->y, s->y, s->n, NAN, 0);
        x.lo = p.y.lo = fmin(x.lo, yv.lo);
        x.hi = p.y.hi = fmax(x.hi, yv.hi);
        x.step = p.y.step = fmax(x.step, yv.step);
    }
    fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#fff\" "
            "stroke=\"#888\"/>\n", p.x0, p.y0, p.w, p.h);
    int dec = tick_decimals(p.y.step);
    for (double v = p.y.lo; v <= p.y.hi + 0.5 * p.y.step; v += p.y.step) {
        double y = py(&p, v);
        fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>"
                "\n<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"12\">%.*f</text>"
                "\n", p.x0, y, p.x0 + p.w, y, p.x0 - 6, y + 4, dec, fabs(v) < 1e-12 ? 0.0 : v);
    }
    draw_x_axis(fp, &p, &x, s->x_label);
    fprintf(fp, "<text transform=\"translate(%.1f %.1f) rotate(-90)\" text-anchor=\"middle\" "
            "font-size=\"13\">", p.x0 - 62, p.y0 + p.h / 2);
    xml_text(fp, s->y_label);
    fputs("</text>\n", fp);
    fprintf(fp, "<text x=\"%.1f\" y=\"20\" text-anchor=\"middle\" font-size=\"15\" "
            "font-weight=\"bold\">", p.x0 + p.w / 2);
    xml_text(fp, s->title);
    fputs("</text>\n", fp);
#define SX(v) (p.x0 + ((v) - x.lo) / (x.hi - x.lo) * p.w)
    if (s->diagonal)
        fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                "stroke-dasharray=\"4 3\"/>\n", SX(x.lo), py(&p, x.lo), SX(x.hi), py(&p, x.hi),
                COLOR_MARK);
    if (s->zero_line && p.y.lo <= 0.0 && p.y.hi >= 0.0)
        fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                "stroke-dasharray=\"4 3\"/>\n", p.x0, py(&p, 0.0), p.x0 + p.w, py(&p, 0.0),
                COLOR_MARK);
    fprintf(fp, "<g fill=\"%s\" fill-opacity=\"0.45\">\n", COLOR_TRAIN);
    for (size_t i = 0; i < s->n; i++)
        if (isfinite(s->x[i]) && isfinite(s->y[i]))
            fprintf(fp, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.2\"/>\n", SX(s->x[i]),
                    py(&p, s->y[i]));
#undef SX
    fputs("</g>\n</svg>\n", fp);
    return !ferror(fp);
}
