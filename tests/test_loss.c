/* test_loss.c - the losses and their options (label smoothing, class
 * weights, Huber's delta):
 *  - PyTorch golden values (tests/fixtures/gen_torch_losses.py) of the
 *    outputs, loss and every gradient for every loss, both reductions and
 *    the options combined, at 1e-6;
 *  - central finite differences of the library's own loss value for the
 *    new losses and options;
 *  - bad settings refused with a named status, and the options kept by a
 *    model file, a clone and syn_net_set_loss;
 *  - training with them bit-identical for 1, 2, 3 and 8 threads.
 * The error measure of the golden values is |got - want| / max(|want|,
 * 0.1 max|want of the array|): both sides sum the float32 products of one
 * dense layer in different orders, so an element that cancels to near zero
 * is off by ulps of the terms summed into it, not of itself. The bound is
 * 1e-6, or for large logits and saturated tanh/sigmoid outputs the float32
 * limit check_golden_case derives from the fixture. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "io/crc32.h"
#include "synapse.h"

#define GOLDEN SYN_TEST_DIR "/fixtures/torch_loss/losses.txt"
#define REL_TOL 1e-6
#define FLOOR_FRAC 0.1

/* ------------------------------------------------------------- golden */

typedef struct golden_case {
    char name[64];
    syn_loss loss;
    syn_reduction reduction;
    syn_activation out;
    size_t n_in, n_out, batch;
    float smoothing, delta;
    int has_weights;
    float *x, *params, *targets, *weights, *outputs, *loss_value, *grads;
} golden_case;

static syn_loss loss_of(const char *w)
{
    return !strcmp(w, "ce") ? SYN_LOSS_CROSS_ENTROPY : !strcmp(w, "huber") ? SYN_LOSS_HUBER
                                                       : SYN_LOSS_L1;
}

static syn_activation act_of(const char *w)
{
    return !strcmp(w, "softmax") ? SYN_ACT_SOFTMAX : !strcmp(w, "tanh") ? SYN_ACT_TANH
                                   : !strcmp(w, "sigmoid") ? SYN_ACT_SIGMOID
                                                           : SYN_ACT_LINEAR;
}

static float *read_array(FILE *f, const char *want, size_t count)
{
    char label[64];
    size_t n = 0;
    if (fscanf(f, " array %63s %zu", label, &n) != 2 || strcmp(label, want) || n != count)
        return NULL;
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; v && i < n; i++) {
        char text[64];
        if (fscanf(f, " %63s", text) != 1) {
            free(v);
            return NULL;
        }
        v[i] = (float)strtod(text, NULL);
    }
    return v;
}

static void free_case(golden_case *g)
{
    free(g->x);
    free(g->params);
    free(g->targets);
    free(g->weights);
    free(g->outputs);
    free(g->loss_value);
    free(g->grads);
    memset(g, 0, sizeof *g);
}

/* Reads the next case; 0 at the end of the file or on a malformed one. */
static int read_case(FILE *f, golden_case *g)
{
    char loss[16], red[16], act[16], s[64], d[64];
    memset(g, 0, sizeof *g);
    if (fscanf(f, " case %63s %15s %15s %15s %zu %zu %zu %63s %63s %d", g->name, loss, red, act,
               &g->n_in, &g->n_out, &g->batch, s, d, &g->has_weights) != 10)
        return 0;
    g->loss = loss_of(loss);
    g->reduction = strcmp(red, "sum") ? SYN_REDUCTION_MEAN : SYN_REDUCTION_SUM;
    g->out = act_of(act);
    g->smoothing = (float)strtod(s, NULL);
    g->delta = (float)strtod(d, NULL);
    size_t n_params = g->n_out * g->n_in + g->n_out, n_t = g->batch * g->n_out;
    g->x = read_array(f, "x", g->batch * g->n_in);
    g->params = read_array(f, "params", n_params);
    g->targets = read_array(f, "targets", n_t);
    if (g->has_weights)
        g->weights = read_array(f, "weights", g->n_out);
    g->outputs = read_array(f, "outputs", n_t);
    g->loss_value = read_array(f, "loss", 1);
    g->grads = read_array(f, "grads", n_params);
    char end[8];
    return g->x && g->params && g->targets && (!g->has_weights || g->weights) && g->outputs &&
           g->loss_value && g->grads && fscanf(f, " %7s", end) == 1 && !strcmp(end, "end");
}

static double max_abs(const float *v, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fabs(v[i]) > m ? fabs(v[i]) : m;
    return m;
}

/* The largest error of got against want under the floor rule. */
static double array_err(const float *got, const float *want, size_t n)
{
    double floor = FLOOR_FRAC * max_abs(want, n), worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double scale = fabs(want[i]) > floor ? fabs(want[i]) : floor;
        double e = scale > 0.0 ? fabs((double)got[i] - want[i]) / scale
                               : fabs((double)got[i] - want[i]);
        worst = e > worst ? e : worst;
    }
    return worst;
}

static void check_golden_case(const golden_case *g, double *worst)
{
    syn_layer_desc layer = {.units = g->n_out, .activation = g->out};
    syn_net_desc desc = {.n_inputs = g->n_in, .n_layers = 1, .layers = &layer, .loss = g->loss,
                         .reduction = g->reduction};
    syn_net *net = NULL;
    syn_workspace *ws = NULL;
    CHECK_OK(syn_net_create(&desc, &net));
    CHECK_OK(syn_workspace_create(net, g->batch, &ws));
    if (!net || !ws)
        return;
    size_t n_params;
    float *p = syn_net_params(net, &n_params);
    memcpy(p, g->params, n_params * sizeof *p);
    syn_loss_options lo = {0};
    if (g->loss == SYN_LOSS_CROSS_ENTROPY) {
        lo.label_smoothing = g->smoothing;
        lo.class_weights = g->weights;
        lo.n_class_weights = g->weights ? g->n_out : 0;
    } else if (g->loss == SYN_LOSS_HUBER) {
        lo.huber_delta = g->delta;
    }
    CHECK_OK(syn_net_set_loss_options(net, &lo));
    const float *out = NULL;
    double loss = 0.0;
    CHECK_OK(syn_forward(net, ws, g->x, g->batch, &out));
    CHECK_OK(syn_loss_value(net, ws, g->targets, g->batch, &loss));
    CHECK_OK(syn_backward(net, ws, g->targets, g->batch));
    const float *grads = syn_workspace_grads(ws, NULL);
    /* A float32 logit is off by up to half an ulp, 2^-24 |z|, which moves
     * exp(z - max) by that much relative: with large logits (|z| ~ 40) the
     * softmax cannot be closer than ~2 FLT_EPSILON max|z| to the float64
     * reference, whatever computes it. */
    double zmax = 0.0;
    for (size_t r = 0; r < g->batch; r++)
        for (size_t j = 0; j < g->n_out; j++) {
            double z = g->params[g->n_out * g->n_in + j];
            for (size_t k = 0; k < g->n_in; k++)
                z += (double)g->params[j * g->n_in + k] * g->x[r * g->n_in + k];
            zmax = fabs(z) > zmax ? fabs(z) : zmax;
        }
    double tol = 2.0 * 1.1920929e-7 * zmax > REL_TOL ? 2.0 * 1.1920929e-7 * zmax : REL_TOL;
    /* Through a tanh or sigmoid output the gradient takes a'(z) from the
     * float32 output a: 1 - a^2 (a (1 - a)) loses a^2 / (1 - a^2) (a / (1 -
     * a)) ulps to cancellation where a saturates, whatever kernel computes
     * tanhf (valgrind's CPU takes another than AVX-512's). */
    double cond = 0.0;
    for (size_t i = 0; i < g->batch * g->n_out; i++) {
        double a = fabs(g->outputs[i]);
        double k = g->out == SYN_ACT_TANH ? a * a / (1.0 - a * a)
                   : g->out == SYN_ACT_SIGMOID ? a / (1.0 - a) : 0.0;
        cond = k > cond ? k : cond;
    }
    double tol_grad = 4.0 * 1.1920929e-7 * (1.0 + cond) > tol ? 4.0 * 1.1920929e-7 * (1.0 + cond)
                                                             : tol;
    double e_out = array_err(out, g->outputs, g->batch * g->n_out);
    double e_loss = fabs(loss - g->loss_value[0]) / fabs(g->loss_value[0]);
    double e_grad = array_err(grads, g->grads, n_params);
    CHECK(e_out <= tol, "%s: outputs off by %.3g", g->name, e_out);
    CHECK(e_loss <= tol, "%s: loss %.9g, PyTorch %.9g (%.3g)", g->name, loss,
          (double)g->loss_value[0], e_loss);
    CHECK(e_grad <= tol_grad, "%s: gradients off by %.3g (bound %.3g)", g->name, e_grad,
          tol_grad);
    CHECK(max_abs(g->grads, n_params) > 1e-3, "%s: the fixture's gradients vanish", g->name);
    worst[0] = e_out > worst[0] ? e_out : worst[0];
    worst[1] = e_loss > worst[1] ? e_loss : worst[1];
    worst[2] = e_grad > worst[2] ? e_grad : worst[2];
    syn_workspace_free(ws);
    syn_net_free(net);
}

static void test_golden(void)
{
    FILE *f = fopen(GOLDEN, "r");
    CHECK(f != NULL, "cannot open %s", GOLDEN);
    if (!f)
        return;
    char head[64];
    int version = 0;
    CHECK(fscanf(f, " %63s %d", head, &version) == 2 && !strcmp(head, "synapse-loss-golden") &&
              version == 1,
          "%s: not a loss fixture", GOLDEN);
    golden_case g;
    size_t n = 0;
    double worst[3] = {0, 0, 0};
    while (read_case(f, &g)) {
        check_golden_case(&g, worst);
        free_case(&g);
        n++;
    }
    free_case(&g);
    CHECK(feof(f) || fscanf(f, " %63s", head) != 1, "%s: a malformed case after %zu", GOLDEN,
          n);
    CHECK(n == 26, "%zu golden cases read, 26 expected", n);
    printf("golden: %zu cases; worst error outputs %.3g, loss %.3g, gradients %.3g\n", n,
           worst[0], worst[1], worst[2]);
    fclose(f);
}

/* ----------------------------------------------- finite differences */

/* One dense layer with a linear output on values of a 2^-6 grid: the
 * logits are then exact in float32 (products on a 2^-12 grid, sums of
 * three far below 2^24 ulps), and so are the logits after moving one
 * weight by H = 2^-12. The loss is accumulated in double from exact
 * logits, so a central difference of the library's own loss value is
 * accurate to O(H^2) and checks the float32 gradient to 1e-5. */
#define FD_IN 3
#define FD_OUT 4
#define FD_BATCH 5
#define FD_H (1.0 / 4096.0)

static float grid(syn_rng *rng, double range)
{
    return (float)(floor((2.0 * syn_rng_uniform(rng) - 1.0) * range * 64.0) / 64.0);
}

typedef struct fd_case {
    const char *name;
    syn_loss loss;
    syn_reduction reduction;
    float smoothing;
    int weights, soft;
    float delta;
} fd_case;

static double loss_at(syn_net *net, syn_workspace *ws, const float *x, const float *t)
{
    double v = NAN;
    syn_forward(net, ws, x, FD_BATCH, NULL);
    syn_loss_value(net, ws, t, FD_BATCH, &v);
    return v;
}

static void check_fd(const fd_case *c)
{
    syn_layer_desc layer = {.units = FD_OUT,
                            .activation = c->loss == SYN_LOSS_CROSS_ENTROPY ? SYN_ACT_SOFTMAX
                                                                            : SYN_ACT_LINEAR};
    syn_net_desc desc = {.n_inputs = FD_IN, .n_layers = 1, .layers = &layer, .loss = c->loss,
                         .reduction = c->reduction};
    syn_net *net = NULL;
    syn_workspace *ws = NULL;
    CHECK_OK(syn_net_create(&desc, &net));
    CHECK_OK(syn_workspace_create(net, FD_BATCH, &ws));
    if (!net || !ws)
        return;
    syn_rng rng;
    syn_rng_seed(&rng, 1400 + (uint64_t)c->loss * 10 + (uint64_t)c->reduction);
    size_t n;
    float *p = syn_net_params(net, &n);
    for (size_t i = 0; i < n; i++)
        p[i] = grid(&rng, 1.5);
    float x[FD_BATCH * FD_IN], t[FD_BATCH * FD_OUT];
    for (int i = 0; i < FD_BATCH * FD_IN; i++)
        x[i] = grid(&rng, 2.0);
    const float *z0 = NULL;
    syn_forward(net, ws, x, FD_BATCH, &z0);
    float delta = c->delta != 0.0f ? c->delta : 1.0f;
    for (int r = 0; r < FD_BATCH; r++) {
        size_t hot = (size_t)syn_rng_below(&rng, FD_OUT);
        double mass = 0.0, u[FD_OUT];
        for (int j = 0; j < FD_OUT; j++)
            mass += u[j] = 0.1 + syn_rng_uniform(&rng);
        for (int j = 0; j < FD_OUT; j++) {
            float *tj = &t[r * FD_OUT + j];
            if (c->loss == SYN_LOSS_CROSS_ENTROPY) {
                *tj = c->soft ? (float)(u[j] / mass) : (size_t)j == hot ? 1.0f : 0.0f;
                continue;
            }
            /* A residual away from the kinks at 0 and +-delta by more than
             * any difference step moves the logit (H * max|x| < 1e-3). */
            static const double offs[] = {-2.1, -0.7, -0.3, 0.2, 0.45, 0.8, 1.7};
            double off = offs[syn_rng_below(&rng, 7)] * delta;
            *tj = z0[r * FD_OUT + j] - (float)off;
        }
    }
    float w[FD_OUT] = {0.5f, 2.0f, 0.0f, 1.25f};
    syn_loss_options lo = {.label_smoothing = c->smoothing,
                           .class_weights = c->weights ? w : NULL,
                           .n_class_weights = c->weights ? FD_OUT : 0,
                           .huber_delta = c->delta};
    CHECK_OK(syn_net_set_loss_options(net, &lo));
    loss_at(net, ws, x, t);
    CHECK_OK(syn_backward(net, ws, t, FD_BATCH));
    float *g = malloc(n * sizeof *g);
    memcpy(g, syn_workspace_grads(ws, NULL), n * sizeof *g);
    double num[FD_OUT * FD_IN + FD_OUT], scale = 0.0;
    for (size_t i = 0; i < n; i++) {
        float keep = p[i];
        p[i] = (float)(keep + FD_H);
        double up = loss_at(net, ws, x, t);
        p[i] = (float)(keep - FD_H);
        double down = loss_at(net, ws, x, t);
        p[i] = keep;
        num[i] = (up - down) / (2.0 * FD_H);
        scale = fabs(num[i]) > scale ? fabs(num[i]) : scale;
    }
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        if (!(fabs(g[i] - num[i]) <= 1e-5 * fabs(num[i]) + 1e-6 * scale) && bad++ < 3)
            fprintf(stderr, "%s: param %zu: analytic %.9g numeric %.9g\n", c->name, i,
                    (double)g[i], num[i]);
    CHECK(bad == 0, "%s: %d of %zu gradients off the finite differences", c->name, bad, n);
    CHECK(scale > 1e-3, "%s: the gradients vanish", c->name);
    free(g);
    syn_workspace_free(ws);
    syn_net_free(net);
}

static void test_finite_differences(void)
{
    const fd_case cases[] = {
        {"ce smoothing, mean", SYN_LOSS_CROSS_ENTROPY, SYN_REDUCTION_MEAN, 0.1f, 0, 0, 0},
        {"ce weights, mean", SYN_LOSS_CROSS_ENTROPY, SYN_REDUCTION_MEAN, 0.0f, 1, 0, 0},
        {"ce weights+smoothing, mean", SYN_LOSS_CROSS_ENTROPY, SYN_REDUCTION_MEAN, 0.25f, 1, 0,
         0},
        {"ce weights+smoothing, sum", SYN_LOSS_CROSS_ENTROPY, SYN_REDUCTION_SUM, 0.25f, 1, 0, 0},
        {"ce soft weights+smoothing, mean", SYN_LOSS_CROSS_ENTROPY, SYN_REDUCTION_MEAN, 0.1f, 1,
         1, 0},
        {"huber, mean", SYN_LOSS_HUBER, SYN_REDUCTION_MEAN, 0, 0, 0, 0},
        {"huber delta 0.4, sum", SYN_LOSS_HUBER, SYN_REDUCTION_SUM, 0, 0, 0, 0.4f},
        {"l1, mean", SYN_LOSS_L1, SYN_REDUCTION_MEAN, 0, 0, 0, 0},
        {"l1, sum", SYN_LOSS_L1, SYN_REDUCTION_SUM, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_fd(&cases[i]);
}

/* ------------------------------------------------ settings and files */

static syn_net *make_net(syn_loss loss, syn_activation out, size_t n_out)
{
    syn_layer_desc layers[2] = {{.units = 5, .activation = SYN_ACT_TANH},
                                {.units = n_out, .activation = out}};
    syn_net_desc desc = {.n_inputs = 3, .n_layers = 2, .layers = layers, .loss = loss,
                         .seed = 5};
    syn_net *net = NULL;
    CHECK_OK(syn_net_create(&desc, &net));
    return net;
}

static void test_bad_settings(void)
{
    syn_net *ce = make_net(SYN_LOSS_CROSS_ENTROPY, SYN_ACT_SOFTMAX, 3);
    syn_net *hub = make_net(SYN_LOSS_HUBER, SYN_ACT_LINEAR, 2);
    if (!ce || !hub)
        return;
    float w3[3] = {1, 2, 3}, w2[2] = {1, 2}, neg[3] = {1, -1, 1}, zero[3] = {0, 0, 0};
    float nanw[3] = {1, NAN, 1}, infw[3] = {1, INFINITY, 1};
    syn_loss_options o = {0};
    o.label_smoothing = -0.1f;
    CHECK(syn_net_set_loss_options(ce, &o) == SYN_ERR_INVALID_ARGUMENT, "negative smoothing");
    o.label_smoothing = 1.0f;
    CHECK(syn_net_set_loss_options(ce, &o) == SYN_ERR_INVALID_ARGUMENT, "smoothing 1");
    o.label_smoothing = 1.5f;
    CHECK(syn_net_set_loss_options(ce, &o) == SYN_ERR_INVALID_ARGUMENT, "smoothing 1.5");
    o.label_smoothing = NAN;
    CHECK(syn_net_set_loss_options(ce, &o) == SYN_ERR_INVALID_ARGUMENT, "NaN smoothing");
    o = (syn_loss_options){.class_weights = w2, .n_class_weights = 2};
    CHECK(syn_net_set_loss_options(ce, &o) == SYN_ERR_SHAPE, "2 weights for 3 classes");
    o = (syn_loss_options){.class_weights = w3, .n_class_weights = 4};
    CHECK(syn_net_set_loss_options(ce, &o) == SYN_ERR_SHAPE, "a count that is not the classes");
    o = (syn_loss_options){.class_weights = NULL, .n_class_weights = 3};
    CHECK(syn_net_set_loss_options(ce, &o) == SYN_ERR_INVALID_ARGUMENT, "a count, no weights");
    const float *bad_w[] = {neg, zero, nanw, infw};
    for (int i = 0; i < 4; i++) {
        o = (syn_loss_options){.class_weights = bad_w[i], .n_class_weights = 3};
        CHECK(syn_net_set_loss_options(ce, &o) == SYN_ERR_INVALID_ARGUMENT, "bad weights %d",
              i);
    }
    o = (syn_loss_options){.huber_delta = 2.0f};
    CHECK(syn_net_set_loss_options(ce, &o) == SYN_ERR_INVALID_ARGUMENT, "delta on ce");
    o = (syn_loss_options){.label_smoothing = 0.1f};
    CHECK(syn_net_set_loss_options(hub, &o) == SYN_ERR_INVALID_ARGUMENT, "smoothing on huber");
    o = (syn_loss_options){.class_weights = w2, .n_class_weights = 2};
    CHECK(syn_net_set_loss_options(hub, &o) == SYN_ERR_INVALID_ARGUMENT, "weights on huber");
    const float bad_delta[] = {NAN, -1.0f, INFINITY};
    for (int i = 0; i < 3; i++) {
        o = (syn_loss_options){.huber_delta = bad_delta[i]};
        CHECK(syn_net_set_loss_options(hub, &o) == SYN_ERR_INVALID_ARGUMENT, "bad delta %d", i);
    }
    CHECK(syn_net_set_loss_options(NULL, &o) == SYN_ERR_INVALID_ARGUMENT, "NULL net");
    CHECK(syn_net_loss_options(ce, NULL) == SYN_ERR_INVALID_ARGUMENT, "NULL out");
    /* A refused call leaves the settings as they were. */
    o = (syn_loss_options){.label_smoothing = 0.2f, .class_weights = w3, .n_class_weights = 3};
    CHECK_OK(syn_net_set_loss_options(ce, &o));
    syn_loss_options bad = {.label_smoothing = 2.0f};
    CHECK(syn_net_set_loss_options(ce, &bad) == SYN_ERR_INVALID_ARGUMENT, "refused");
    syn_loss_options got;
    CHECK_OK(syn_net_loss_options(ce, &got));
    CHECK(got.label_smoothing == 0.2f && got.n_class_weights == 3 && got.class_weights &&
              got.class_weights[2] == 3.0f,
          "settings kept after a refused call");
    /* Huber and L1 follow no softmax; the loss options survive a reduction
     * change and are reset by a change of loss. */
    syn_layer_desc soft = {.units = 2, .activation = SYN_ACT_SOFTMAX};
    syn_net_desc d = {.n_inputs = 2, .n_layers = 1, .layers = &soft, .loss = SYN_LOSS_HUBER};
    syn_net *tmp = NULL;
    CHECK(syn_net_create(&d, &tmp) == SYN_ERR_INVALID_ARGUMENT, "huber after softmax");
    d.loss = SYN_LOSS_L1;
    CHECK(syn_net_create(&d, &tmp) == SYN_ERR_INVALID_ARGUMENT, "l1 after softmax");
    CHECK_OK(syn_net_set_loss(ce, SYN_LOSS_CROSS_ENTROPY, SYN_REDUCTION_SUM));
    CHECK_OK(syn_net_loss_options(ce, &got));
    CHECK(got.label_smoothing == 0.2f && got.n_class_weights == 3, "kept by a reduction change");
    CHECK_OK(syn_net_set_loss(ce, SYN_LOSS_MSE, SYN_REDUCTION_MEAN));
    CHECK_OK(syn_net_loss_options(ce, &got));
    CHECK(got.label_smoothing == 0.0f && !got.class_weights, "reset by a change of loss");
    syn_net_free(ce);
    syn_net_free(hub);
}

static void test_files_and_clones(void)
{
    char dir[] = "/tmp/syn_loss_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char path[64], plain[64];
    snprintf(path, sizeof path, "%s/opts.syn", dir);
    snprintf(plain, sizeof plain, "%s/plain.syn", dir);
    syn_net *ce = make_net(SYN_LOSS_CROSS_ENTROPY, SYN_ACT_SOFTMAX, 3);
    syn_net *hub = make_net(SYN_LOSS_HUBER, SYN_ACT_LINEAR, 2);
    if (!ce || !hub)
        return;
    float w[3] = {0.5f, 2.0f, 0.0f};
    syn_loss_options o = {.label_smoothing = 0.15f, .class_weights = w, .n_class_weights = 3};
    CHECK_OK(syn_net_set_loss_options(ce, &o));
    w[0] = 9.0f; /* copied, not referenced */
    syn_net *copy = NULL, *back = NULL;
    CHECK_OK(syn_net_clone(ce, &copy));
    CHECK_OK(syn_net_save(ce, NULL, path, NULL));
    CHECK_OK(syn_net_load(path, &back, NULL, NULL));
    syn_net *nets[2] = {copy, back};
    for (int i = 0; i < 2; i++) {
        syn_loss_options got;
        CHECK(nets[i] && syn_net_loss_options(nets[i], &got) == SYN_OK &&
                  got.label_smoothing == 0.15f && got.n_class_weights == 3 &&
                  got.class_weights[0] == 0.5f && got.class_weights[1] == 2.0f &&
                  got.class_weights[2] == 0.0f,
              "%s keeps the options", i ? "the model file" : "a clone");
    }
    syn_net_free(copy);
    syn_net_free(back);
    back = NULL;
    /* A loss section is checked as a caller's settings are: altered (CRCs
     * recomputed) it reads as CORRUPT. */
    FILE *fp = fopen(path, "rb");
    uint8_t img[4096];
    size_t n_img = fp ? fread(img, 1, sizeof img, fp) : 0;
    if (fp)
        fclose(fp);
    size_t at = 0;
    for (size_t i = 28; i + 12 < n_img; i++)
        if (!memcmp(img + i, "loss", 4)) {
            at = i + 12;
            break;
        }
    CHECK(at > 0, "a loss section");
    const struct {
        size_t off;
        uint32_t value;
        syn_status want;
    } spoils[] = {{4, 0x3f800000u, SYN_ERR_CORRUPT},  /* smoothing 1 */
                  {4, 0x7fc00000u, SYN_ERR_CORRUPT},  /* smoothing NaN */
                  {8, 0x3f800000u, SYN_ERR_CORRUPT},  /* a delta on ce */
                  {12, 2u, SYN_ERR_CORRUPT},          /* 2 weights for 3 outputs */
                  {16, 0xbf800000u, SYN_ERR_CORRUPT}, /* a weight of -1 */
                  {0, 2u, SYN_ERR_VERSION}};
    for (size_t k = 0; at && k < sizeof spoils / sizeof spoils[0]; k++) {
        uint8_t copy_img[4096];
        memcpy(copy_img, img, n_img);
        for (int b = 0; b < 4; b++)
            copy_img[at + spoils[k].off + (size_t)b] = (uint8_t)(spoils[k].value >> (8 * b));
        uint32_t crc = syn_crc32(0, copy_img, n_img - 4);
        for (int b = 0; b < 4; b++)
            copy_img[n_img - 4 + (size_t)b] = (uint8_t)(crc >> (8 * b));
        fp = fopen(path, "wb");
        fwrite(copy_img, 1, n_img, fp);
        fclose(fp);
        syn_error err = {{0}};
        syn_status got = syn_net_load(path, &back, NULL, &err);
        CHECK(got == spoils[k].want && !back && strstr(err.message, "section loss"),
              "spoil %zu: %s (%s)", k, syn_strerror(got), err.message);
        syn_net_free(back);
        back = NULL;
    }
    syn_loss_options hd = {.huber_delta = 0.25f};
    CHECK_OK(syn_net_set_loss_options(hub, &hd));
    CHECK_OK(syn_net_save(hub, NULL, path, NULL));
    CHECK_OK(syn_net_load(path, &back, NULL, NULL));
    syn_loss_options got;
    CHECK(back && syn_net_loss(back) == SYN_LOSS_HUBER &&
              syn_net_loss_options(back, &got) == SYN_OK && got.huber_delta == 0.25f,
          "a Huber net keeps its loss and delta");
    syn_net_free(back);
    back = NULL;
    /* Without options the file is what it was: no loss section. */
    CHECK_OK(syn_net_set_loss_options(hub, NULL));
    CHECK_OK(syn_net_save(hub, NULL, plain, NULL));
    FILE *f = fopen(plain, "rb");
    char buf[4096];
    size_t len = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f)
        fclose(f);
    int has_tag = 0;
    for (size_t i = 0; i + 4 <= len; i++)
        has_tag |= !memcmp(buf + i, "loss", 4);
    CHECK(len > 0 && !has_tag, "a net with default options writes no loss section");
    syn_net_free(ce);
    syn_net_free(hub);
    unlink(path);
    unlink(plain);
    rmdir(dir);
}

/* Class weights make syn_evaluate's loss that of the whole set, not the
 * mean of its batches' means: every batch is weighted by its target
 * weight. */
static void test_evaluate_weighted(void)
{
    syn_layer_desc layer = {.units = 3, .activation = SYN_ACT_SOFTMAX};
    syn_net_desc desc = {.n_inputs = 2, .n_layers = 1, .layers = &layer,
                         .loss = SYN_LOSS_CROSS_ENTROPY, .seed = 3};
    syn_net *net = NULL;
    syn_workspace *small = NULL, *whole = NULL;
    CHECK_OK(syn_net_create(&desc, &net));
    enum { N = 10 };
    float x[N * 2];
    uint32_t labels[N] = {0, 0, 0, 1, 2, 2, 1, 0, 2, 2};
    for (int i = 0; i < N * 2; i++)
        x[i] = (float)((i * 7) % 5) * 0.5f - 1.0f;
    syn_dataset *ds = NULL;
    CHECK_OK(syn_dataset_from_labels(x, N, 2, labels, 3, &ds));
    float w[3] = {0.2f, 3.0f, 1.0f};
    syn_loss_options o = {.label_smoothing = 0.1f, .class_weights = w, .n_class_weights = 3};
    CHECK_OK(syn_net_set_loss_options(net, &o));
    CHECK_OK(syn_workspace_create(net, 3, &small));
    CHECK_OK(syn_workspace_create(net, N, &whole));
    syn_eval a, b;
    CHECK_OK(syn_evaluate(net, small, ds, NULL, 0, &a, NULL));
    CHECK_OK(syn_evaluate(net, whole, ds, NULL, 0, &b, NULL));
    CHECK_CLOSE(a.loss, b.loss, 1e-6, 0, "batches of 3: %.9g, one batch: %.9g", a.loss, b.loss);
    syn_workspace_free(small);
    syn_workspace_free(whole);
    syn_dataset_free(ds);
    syn_net_free(net);
}

/* The losses run on the caller's thread, after the passes whose results
 * do not depend on the thread count: a trained net must be bit-identical
 * for 1, 2, 3 and 8 threads with every new loss and option (batches of
 * 150 x 128 hidden units: above the size the passes split over threads). */
static void test_threads(void)
{
    enum { ROWS = 300, IN = 6, CLASSES = 3 };
    float *x = malloc(ROWS * IN * sizeof *x), *y = malloc(ROWS * 2 * sizeof *y);
    uint32_t labels[ROWS];
    syn_rng rng;
    syn_rng_seed(&rng, 77);
    for (int i = 0; i < ROWS * IN; i++)
        x[i] = (float)(2.0 * syn_rng_uniform(&rng) - 1.0);
    for (int r = 0; r < ROWS; r++) {
        labels[r] = (uint32_t)((x[r * IN] > 0) + (x[r * IN + 1] > 0.5f));
        y[2 * r] = x[r * IN] * 3.0f + (r % 11 == 0 ? 5.0f : 0.0f);
        y[2 * r + 1] = x[r * IN + 2] - x[r * IN + 3];
    }
    syn_dataset *cls = NULL, *reg = NULL;
    CHECK_OK(syn_dataset_from_labels(x, ROWS, IN, labels, CLASSES, &cls));
    CHECK_OK(syn_dataset_from_floats(x, ROWS, IN, y, 2, &reg));
    const struct {
        const char *name;
        syn_loss loss;
        syn_loss_options o;
    } cases[] = {
        {"ce smoothing + weights", SYN_LOSS_CROSS_ENTROPY,
         {.label_smoothing = 0.1f, .class_weights = (const float[]){0.5f, 1.0f, 3.0f},
          .n_class_weights = CLASSES}},
        {"huber delta 0.5", SYN_LOSS_HUBER, {.huber_delta = 0.5f}},
        {"l1", SYN_LOSS_L1, {.huber_delta = 0.0f}},
    };
    const int threads[] = {1, 2, 3, 8};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int ce = cases[c].loss == SYN_LOSS_CROSS_ENTROPY;
        float *first = NULL;
        for (size_t t = 0; t < 4; t++) {
            syn_layer_desc layers[2] = {{.units = 128, .activation = SYN_ACT_TANH},
                                        {.units = ce ? CLASSES : 2,
                                         .activation = ce ? SYN_ACT_SOFTMAX : SYN_ACT_LINEAR}};
            syn_net_desc desc = {.n_inputs = IN, .n_layers = 2, .layers = layers,
                                 .loss = cases[c].loss, .seed = 4};
            syn_net *net = NULL;
            syn_trainer *tr = NULL;
            CHECK_OK(syn_net_create(&desc, &net));
            CHECK_OK(syn_net_set_loss_options(net, &cases[c].o));
            syn_optim_desc od = syn_optim_defaults(SYN_OPTIM_ADAM);
            syn_train_desc td = {.batch_size = 150, .n_threads = threads[t], .seed = 2};
            CHECK_OK(syn_trainer_create(net, &od, &td, &tr));
            for (int e = 0; tr && e < 2; e++)
                CHECK_OK(syn_trainer_epoch(tr, ce ? cls : reg, NULL, 0, NULL, NULL, NULL));
            size_t n = 0;
            const float *p = syn_net_params_const(net, &n);
            if (!first) {
                first = malloc(n * sizeof *first);
                memcpy(first, p, n * sizeof *first);
            } else {
                CHECK(memcmp(first, p, n * sizeof *first) == 0, "%s: %d threads differ from 1",
                      cases[c].name, threads[t]);
            }
            syn_trainer_free(tr);
            syn_net_free(net);
        }
        free(first);
    }
    syn_dataset_free(cls);
    syn_dataset_free(reg);
    free(x);
    free(y);
}

int main(void)
{
    test_golden();
    test_finite_differences();
    test_bad_settings();
    test_files_and_clones();
    test_evaluate_weighted();
    test_threads();
    return check_finish();
}
