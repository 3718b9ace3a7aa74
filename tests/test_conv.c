/* test_conv.c - the image layer kinds (issue 15): conv2d, max and average
 * pooling, global average pooling, batchnorm2d, dropout2d, flatten.
 *  - PyTorch golden fixtures (tests/fixtures/gen_conv.py): forward output,
 *    input gradient and parameter gradients of every kind over the option
 *    combinations (stride, padding incl. 'same', dilation, groups incl.
 *    depthwise, bias; pool padding and count_include_pad; BN2d training,
 *    eval and running statistics);
 *  - shapes: the output shape of each kind, bad shapes refused with the
 *    layer named, before anything is allocated;
 *  - central-difference gradient checks of nets of every kind;
 *  - dropout2d against its definition (whole channels, scaling, identity
 *    at inference);
 *  - bit-identity for 1, 2, 3 and 8 threads;
 *  - the memory estimate against what is allocated. */
#include <malloc.h>
#include <stdio.h>
#include <unistd.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/internal.h"
#include "io/crc32.h"
#include "io/model_file.h"
#include "synapse.h"

/* ---- fixtures ---------------------------------------------------------- */

#define MAX_ARRAYS 12

typedef struct fixture {
    char name[64], kind[32];
    size_t batch, shape[3];
    size_t units, kernel[2], stride[2], padding[2], dilation[2], groups;
    int bias, same, exclude_pad, train;
    double eps, momentum;
    char names[MAX_ARRAYS][16];
    float *arrays[MAX_ARRAYS];
    size_t counts[MAX_ARRAYS];
    size_t n_arrays;
} fixture;

static const float *array_of(const fixture *fx, const char *name, size_t *n)
{
    for (size_t i = 0; i < fx->n_arrays; i++)
        if (strcmp(fx->names[i], name) == 0) {
            if (n)
                *n = fx->counts[i];
            return fx->arrays[i];
        }
    return NULL;
}

static void fixture_free(fixture *fx)
{
    for (size_t i = 0; i < fx->n_arrays; i++)
        free(fx->arrays[i]);
    memset(fx, 0, sizeof *fx);
}

/* Reads the next case of f into fx; 0 at the end of the file. */
static int read_case(FILE *f, fixture *fx)
{
    char word[64];
    memset(fx, 0, sizeof *fx);
    fx->bias = 1;
    while (fscanf(f, "%63s", word) == 1) {
        if (word[0] == '#') {
            int c;
            while ((c = fgetc(f)) != '\n' && c != EOF) {
            }
        } else if (strcmp(word, "case") == 0) {
            if (fscanf(f, "%63s", fx->name) != 1)
                return 0;
        } else if (strcmp(word, "kind") == 0) {
            if (fscanf(f, "%31s", fx->kind) != 1)
                return 0;
        } else if (strcmp(word, "shape") == 0) {
            if (fscanf(f, "%zu %zu %zu %zu", &fx->batch, &fx->shape[0], &fx->shape[1],
                       &fx->shape[2]) != 4)
                return 0;
        } else if (strcmp(word, "opt") == 0) {
            char key[32];
            if (fscanf(f, "%31s", key) != 1)
                return 0;
            int ok = 1;
            if (strcmp(key, "units") == 0)
                ok = fscanf(f, "%zu", &fx->units) == 1;
            else if (strcmp(key, "kernel") == 0)
                ok = fscanf(f, "%zu %zu", &fx->kernel[0], &fx->kernel[1]) == 2;
            else if (strcmp(key, "stride") == 0)
                ok = fscanf(f, "%zu %zu", &fx->stride[0], &fx->stride[1]) == 2;
            else if (strcmp(key, "padding") == 0)
                ok = fscanf(f, "%zu %zu", &fx->padding[0], &fx->padding[1]) == 2;
            else if (strcmp(key, "dilation") == 0)
                ok = fscanf(f, "%zu %zu", &fx->dilation[0], &fx->dilation[1]) == 2;
            else if (strcmp(key, "groups") == 0)
                ok = fscanf(f, "%zu", &fx->groups) == 1;
            else if (strcmp(key, "bias") == 0)
                ok = fscanf(f, "%d", &fx->bias) == 1;
            else if (strcmp(key, "same") == 0)
                ok = fscanf(f, "%d", &fx->same) == 1;
            else if (strcmp(key, "exclude_pad") == 0)
                ok = fscanf(f, "%d", &fx->exclude_pad) == 1;
            else if (strcmp(key, "train") == 0)
                ok = fscanf(f, "%d", &fx->train) == 1;
            else if (strcmp(key, "eps") == 0)
                ok = fscanf(f, "%lf", &fx->eps) == 1;
            else if (strcmp(key, "momentum") == 0)
                ok = fscanf(f, "%lf", &fx->momentum) == 1;
            else
                ok = 0;
            if (!ok)
                return 0;
        } else if (strcmp(word, "array") == 0) {
            size_t k = fx->n_arrays, n;
            if (k >= MAX_ARRAYS || fscanf(f, "%15s %zu", fx->names[k], &n) != 2)
                return 0;
            fx->arrays[k] = malloc((n ? n : 1) * sizeof(float));
            fx->counts[k] = n;
            fx->n_arrays++;
            for (size_t i = 0; i < n; i++)
                if (fscanf(f, "%a", &fx->arrays[k][i]) != 1)
                    return 0;
        } else if (strcmp(word, "end") == 0) {
            return 1;
        } else {
            return 0;
        }
    }
    return 0;
}

static syn_layer_desc fixture_layer(const fixture *fx)
{
    syn_layer_desc d = {0};
    static const struct { const char *name; syn_layer_kind kind; } kinds[] = {
        {"conv2d", SYN_LAYER_CONV2D}, {"maxpool2d", SYN_LAYER_MAXPOOL2D},
        {"avgpool2d", SYN_LAYER_AVGPOOL2D}, {"globalavgpool", SYN_LAYER_GLOBAL_AVGPOOL},
        {"batchnorm2d", SYN_LAYER_BATCHNORM2D},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(fx->kind, kinds[i].name) == 0)
            d.kind = kinds[i].kind;
    CHECK(strcmp(syn_layer_kind_name(d.kind), fx->kind) == 0, "%s: kind %s", fx->name,
          fx->kind);
    d.units = fx->units;
    for (int a = 0; a < 2; a++) {
        d.kernel[a] = fx->kernel[a];
        d.stride[a] = fx->stride[a];
        d.padding[a] = fx->same ? 0 : fx->padding[a];
        d.dilation[a] = fx->dilation[a];
    }
    d.groups = fx->groups;
    d.no_bias = d.kind == SYN_LAYER_CONV2D && !fx->bias;
    d.pad_same = fx->same;
    d.exclude_pad = fx->exclude_pad;
    d.eps = (float)fx->eps;
    d.momentum = (float)fx->momentum;
    return d;
}

/* |got - want| <= tol * (|want| + max|want|): float32 sums of at most 100
 * products (a 5x5 kernel over 4 channels) or of a plane's values, against
 * float64, differ by a few ulps of the largest term. */
static void check_close(const fixture *fx, const char *what, const float *got,
                        const float *want, size_t n, double tol)
{
    double scale = 0, worst = 0;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs((double)want[i]));
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - (double)want[i]);
        worst = fmax(worst, e / (fabs((double)want[i]) + scale));
        if (e > tol * (fabs((double)want[i]) + scale) && bad++ < 3)
            fprintf(stderr, "%s %s[%zu]: %.9g, PyTorch %.9g\n", fx->name, what, i,
                    (double)got[i], (double)want[i]);
    }
    CHECK(bad == 0, "%s: %s, %zu of %zu within %.1e (worst %.2e)", fx->name, what, n - bad, n,
          tol, worst);
}

#define FIXTURE_TOL 1e-6

/* A convolution over more samples than one im2col block holds: the
 * fixture's batch repeated, so the output and the input gradient repeat and
 * the weight and bias gradients are that many times PyTorch's (summed over
 * the blocks). */
static void run_blocks(const fixture *fx, syn_net *net, const float *x, const float *dy,
                       const float *dx)
{
    const syn_layer *l = &net->layers[0];
    size_t rep = l->scratch_rows / fx->batch + 2, rows = rep * fx->batch;
    size_t n_in = l->n_in, n_out = l->units;
    syn_workspace *ws = NULL;
    CHECK_OK(syn_workspace_create(net, rows, &ws));
    CHECK(rows > l->scratch_rows, "%s: %zu rows, blocks of %zu", fx->name, rows,
          l->scratch_rows);
    float *xr = malloc(rows * n_in * sizeof(float)), *dyr = malloc(rows * n_out * sizeof(float));
    float *want = malloc(rows * (n_in + n_out) * sizeof(float));
    float *d_in = malloc(rows * n_in * sizeof(float));
    const float *y = array_of(fx, "y", NULL);
    for (size_t r = 0; r < rep; r++) {
        memcpy(xr + r * fx->batch * n_in, x, fx->batch * n_in * sizeof(float));
        memcpy(dyr + r * fx->batch * n_out, dy, fx->batch * n_out * sizeof(float));
        memcpy(want + r * fx->batch * n_out, y, fx->batch * n_out * sizeof(float));
    }
    const float *out;
    CHECK_OK(syn_forward_train(net, ws, xr, rows, 1, 0, &out));
    check_close(fx, "y over blocks", out, want, rows * n_out, FIXTURE_TOL);
    CHECK_OK(syn_backward_from_output(net, ws, dyr, rows));
    size_t n = 0;
    float *dw, *db;
    CHECK_OK(syn_workspace_layer_grads(ws, net, 0, &dw, &db));
    const float *fdw = array_of(fx, "dw", &n);
    for (size_t i = 0; i < n; i++)
        want[i] = fdw[i] * (float)rep;
    check_close(fx, "dW over blocks", dw, want, n, 4 * FIXTURE_TOL);
    const float *fdb = array_of(fx, "db", &n);
    if (fdb && db) {
        for (size_t i = 0; i < n; i++)
            want[i] = fdb[i] * (float)rep;
        check_close(fx, "db over blocks", db, want, n, 4 * FIXTURE_TOL);
    }
    syn_layer_pass p = {.in = xr, .out = ws->act[0], .params = net->params,
                        .state = net->state, .saved = ws->saved[0], .batch = rows,
                        .train = 1, .pool = ws->pool, .scratch = ws->scratch};
    float *grads = malloc(net->n_params * sizeof(float));
    syn_layer_ops_of(l->kind)->backward(l, &p, dyr, grads, d_in);
    for (size_t r = 0; r < rep; r++)
        memcpy(want + r * fx->batch * n_in, dx, fx->batch * n_in * sizeof(float));
    check_close(fx, "dx over blocks", d_in, want, rows * n_in, FIXTURE_TOL);
    free(grads);
    free(xr);
    free(dyr);
    free(want);
    free(d_in);
    syn_workspace_free(ws);
}

/* One fixture: a net of its one layer, PyTorch's parameters, forward in
 * its mode, backward from its dy through the public API (parameter
 * gradients) and the kind's own backward (the input gradient, which a
 * first layer does not compute). */
static void run_fixture(const fixture *fx)
{
    syn_layer_desc ld = fixture_layer(fx);
    size_t n_in = fx->shape[0] * fx->shape[1] * fx->shape[2];
    syn_net_desc desc = {.n_inputs = n_in, .n_layers = 1, .layers = &ld, .seed = 1,
                         .input_shape = {fx->shape[0], fx->shape[1], fx->shape[2]}};
    syn_net *net = NULL;
    syn_workspace *ws = NULL;
    syn_error err = {{0}};
    CHECK(syn_net_desc_check(&desc, &err) == SYN_OK, "%s: %s", fx->name, err.message);
    CHECK_OK(syn_net_create(&desc, &net));
    if (!net)
        return;
    CHECK_OK(syn_workspace_create(net, fx->batch, &ws));
    size_t nx = 0, ny = 0, n = 0, n_out = syn_net_n_outputs(net);
    const float *x = array_of(fx, "x", &nx), *y = array_of(fx, "y", &ny);
    const float *dy = array_of(fx, "dy", NULL), *dx = array_of(fx, "dx", NULL);
    CHECK(nx == fx->batch * n_in && ny == fx->batch * n_out, "%s: output width %zu", fx->name,
          n_out);
    float *w, *b;
    CHECK_OK(syn_net_layer_params(net, 0, &w, &b));
    const float *fw = array_of(fx, "w", &n);
    if (fw) {
        size_t wo, bo, np;
        syn_net_layer_offsets(net, 0, &wo, &bo);
        syn_net_params(net, &np);
        CHECK((b ? bo : np) - wo == n, "%s: %zu weights", fx->name, n);
        memcpy(w, fw, n * sizeof(float));
    }
    const float *fb = array_of(fx, "b", &n);
    CHECK(!fb == !b, "%s: bias present as in PyTorch", fx->name);
    if (fb && b)
        memcpy(b, fb, n * sizeof(float));
    const float *s0 = array_of(fx, "state0", &n);
    if (s0) {
        size_t ns;
        float *s = syn_net_state(net, &ns);
        CHECK(ns == n, "%s: state", fx->name);
        memcpy(s, s0, n * sizeof(float));
    }
    const float *out;
    int train = strcmp(fx->kind, "batchnorm2d") != 0 || fx->train;
    if (train)
        CHECK_OK(syn_forward_train(net, ws, x, fx->batch, 1, 0, &out));
    else
        CHECK_OK(syn_forward(net, ws, x, fx->batch, &out));
    check_close(fx, "y", out, y, ny, FIXTURE_TOL);
    CHECK_OK(syn_backward_from_output(net, ws, dy, fx->batch));
    float *dw = NULL, *db = NULL;
    CHECK_OK(syn_workspace_layer_grads(ws, net, 0, &dw, &db));
    const float *fdw = array_of(fx, "dw", &n);
    if (fdw && dw)
        check_close(fx, "dW", dw, fdw, n, FIXTURE_TOL);
    const float *fdb = array_of(fx, "db", &n);
    if (fdb && db)
        check_close(fx, "db", db, fdb, n, FIXTURE_TOL);
    const float *fs = array_of(fx, "state", &n);
    if (fs)
        check_close(fx, "running statistics", syn_net_state(net, NULL), fs, n, FIXTURE_TOL);
    /* The input gradient, from the kind's backward over the same pass. */
    const syn_layer *l = &net->layers[0];
    syn_layer_pass p = {.in = x, .out = ws->act[0], .params = net->params,
                        .state = net->state, .saved = ws->saved[0], .batch = fx->batch,
                        .train = train, .seed = 1, .pool = ws->pool, .scratch = ws->scratch};
    float *grads = malloc(net->n_params * sizeof(float) + 1);
    float *d_in = malloc(nx * sizeof(float));
    syn_layer_ops_of(l->kind)->backward(l, &p, dy, grads, d_in);
    check_close(fx, "dx", d_in, dx, nx, FIXTURE_TOL);
    if (dw)
        CHECK(memcmp(grads + l->w_off, dw, (l->has_bias ? l->b_off - l->w_off : net->n_params -
                                            l->w_off) * sizeof(float)) == 0,
              "%s: the same dW with the input gradient", fx->name);
    free(grads);
    free(d_in);
    syn_workspace_free(ws);
    if (l->kind == SYN_LAYER_CONV2D)
        run_blocks(fx, net, x, dy, dx);
    syn_net_free(net);
}

static void test_fixtures(void)
{
    const char *path = SYN_TEST_DIR "/fixtures/conv/cases.txt";
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "open %s", path);
    if (!f)
        return;
    fixture fx;
    size_t cases = 0;
    while (read_case(f, &fx)) {
        run_fixture(&fx);
        fixture_free(&fx);
        cases++;
    }
    fixture_free(&fx);
    CHECK(feof(f), "the whole fixture file parsed (after %zu cases)", cases);
    CHECK(cases >= 30, "%zu fixture cases", cases);
    fclose(f);
}


/* ---- shapes and refusals ---------------------------------------------- */

static void expect_refused(const syn_layer_desc *layers, size_t n, size_t n_in,
                           const size_t shape[3], const char *needle)
{
    syn_net_desc desc = {.n_inputs = n_in, .n_layers = n, .layers = layers,
                         .input_shape = {shape[0], shape[1], shape[2]}};
    syn_error err = {{0}};
    syn_net *net = NULL;
    size_t bytes = 0;
    CHECK(syn_net_desc_check(&desc, &err) != SYN_OK, "refused: %s", needle);
    CHECK(strstr(err.message, needle) != NULL, "message \"%s\" names \"%s\"", err.message,
          needle);
    CHECK(syn_net_create(&desc, &net) != SYN_OK && !net, "create refuses %s", needle);
    CHECK(syn_net_memory_estimate(&desc, SYN_OPTIM_ADAM, 8, &bytes) != SYN_OK,
          "the estimate refuses %s", needle);
}

#define CONV(u, k, act) {.kind = SYN_LAYER_CONV2D, .units = (u), .kernel = {(k), (k)}, \
                         .activation = (act)}
#define POOL(kind_, k) {.kind = (kind_), .kernel = {(k), (k)}}

static void test_shapes(void)
{
    /* The CNN on 1x28x28. */
    const syn_layer_desc cnn[] = {
        CONV(32, 3, SYN_ACT_RELU), POOL(SYN_LAYER_MAXPOOL2D, 2), CONV(64, 3, SYN_ACT_RELU),
        POOL(SYN_LAYER_MAXPOOL2D, 2), {.units = 128, .activation = SYN_ACT_RELU},
        {.kind = SYN_LAYER_DROPOUT, .rate = 0.3f}, {.units = 10, .activation = SYN_ACT_SOFTMAX},
    };
    syn_net_desc desc = {.n_inputs = 784, .n_layers = 7, .layers = cnn,
                         .loss = SYN_LOSS_CROSS_ENTROPY, .input_shape = {1, 28, 28}};
    syn_net *net = NULL;
    CHECK_OK(syn_net_create(&desc, &net));
    if (!net)
        return;
    const size_t want[7][3] = {{32, 26, 26}, {32, 13, 13}, {64, 11, 11}, {64, 5, 5},
                               {128, 1, 1}, {128, 1, 1}, {10, 1, 1}};
    size_t s[3];
    CHECK_OK(syn_net_input_shape(net, s));
    CHECK(s[0] == 1 && s[1] == 28 && s[2] == 28, "input shape");
    for (size_t l = 0; l < 7; l++) {
        CHECK_OK(syn_net_layer_shape(net, l, s));
        CHECK(memcmp(s, want[l], sizeof s) == 0, "layer %zu: %zux%zux%zu", l, s[0], s[1], s[2]);
    }
    /* PyTorch's count for the same layers. */
    CHECK(syn_net_param_count(net) == 320 + 18496 + 204928 + 1290, "%zu parameters",
          syn_net_param_count(net));
    syn_layer_desc back;
    CHECK_OK(syn_net_layer(net, 0, &back, NULL));
    CHECK(back.kind == SYN_LAYER_CONV2D && back.kernel[0] == 3 && back.stride[1] == 1 &&
              back.groups == 1 && back.units == 32,
          "syn_net_layer describes the convolution");
    syn_net_free(net);
    /* A flat input is C x 1 x 1. */
    syn_layer_desc flat[] = {{.kind = SYN_LAYER_FLATTEN}, {.units = 2}};
    syn_net_desc fd = {.n_inputs = 5, .n_layers = 2, .layers = flat};
    CHECK_OK(syn_net_create(&fd, &net));
    CHECK_OK(syn_net_input_shape(net, s));
    CHECK(s[0] == 5 && s[1] == 1 && s[2] == 1, "flat input shape");
    syn_net_free(net);

    const size_t img[3] = {1, 28, 28}, none[3] = {0, 0, 0}, rgb[3] = {3, 8, 8};
    const size_t bad_shape[3] = {1, 28, 27};
    expect_refused(cnn, 7, 784, bad_shape, "network: input shape 1x28x27 is not the 784 inputs");
    syn_layer_desc a[2] = {CONV(4, 3, SYN_ACT_RELU), {.units = 2}};
    expect_refused(a, 2, 784, none, "layer 0 (conv2d): input 784x1x1 is smaller than the "
                                    "kernel 3x3");
    a[0].groups = 2;
    expect_refused(a, 2, 192, rgb, "layer 0 (conv2d): groups 2 does not divide the 3 input");
    a[0].groups = 0;
    a[0].pad_same = 1;
    a[0].stride[0] = 2;
    expect_refused(a, 2, 784, img, "layer 0 (conv2d): padding 'same' needs stride 1");
    a[0].pad_same = 0;
    a[0].stride[0] = 0;
    a[0].units = 0;
    expect_refused(a, 2, 784, img, "layer 0 (conv2d): a convolution needs units");
    a[0].units = 4;
    a[0].kernel[1] = 0;
    expect_refused(a, 2, 784, img, "layer 0 (conv2d): a convolution needs a kernel");
    a[0].kernel[1] = 3;
    a[0].rate = 0.5f;
    expect_refused(a, 2, 784, img, "layer 0 (conv2d): this kind takes no rate");
    a[0].rate = 0;
    a[0].dilation[0] = 20;
    expect_refused(a, 2, 784, img, "layer 0 (conv2d): input 1x28x28 is smaller than the "
                                   "kernel 3x3 (dilation 20x1");
    syn_layer_desc p[2] = {POOL(SYN_LAYER_MAXPOOL2D, 3), {.units = 2}};
    p[0].padding[0] = 2;
    expect_refused(p, 2, 784, img, "layer 0 (maxpool2d): padding 2 is more than half the "
                                   "kernel 3");
    p[0].padding[0] = 0;
    p[0].exclude_pad = 1;
    expect_refused(p, 2, 784, img, "layer 0 (maxpool2d): this kind takes no exclude_pad");
    p[0].exclude_pad = 0;
    p[0].kernel[0] = 29;
    expect_refused(p, 2, 784, img, "layer 0 (maxpool2d): input 1x28x28 is smaller than the "
                                   "window 29x3");
    p[0].kind = SYN_LAYER_AVGPOOL2D;
    p[0].kernel[0] = 2;
    p[0].units = 7;
    expect_refused(p, 2, 784, img, "layer 0 (avgpool2d): units 7: the output is 1x14x9");
    syn_layer_desc g[2] = {{.kind = SYN_LAYER_GLOBAL_AVGPOOL, .kernel = {2, 2}}, {.units = 2}};
    expect_refused(g, 2, 784, img, "layer 0 (globalavgpool): this kind takes no kernel");
    syn_layer_desc d[2] = {{.kind = SYN_LAYER_DROPOUT2D, .rate = 1.0f}, {.units = 2}};
    expect_refused(d, 2, 784, img, "layer 0 (dropout2d): rate 1 is not in [0, 1)");
    d[0].rate = 0.2f;
    d[0].activation = SYN_ACT_RELU;
    expect_refused(d, 2, 784, img, "layer 0 (dropout2d): this kind takes no activation");
    syn_layer_desc f[2] = {{.kind = SYN_LAYER_FLATTEN, .eps = 1e-3f}, {.units = 2}};
    expect_refused(f, 2, 784, img, "layer 0 (flatten): this kind takes no eps or momentum");
    syn_layer_desc bn[2] = {{.kind = SYN_LAYER_BATCHNORM2D, .momentum = 2}, {.units = 2}};
    expect_refused(bn, 2, 784, img, "layer 0 (batchnorm2d): momentum 2 is not in (0, 1]");
    syn_layer_desc dn[2] = {{.units = 3, .kernel = {3, 3}}, {.units = 2}};
    expect_refused(dn, 2, 784, img, "layer 0 (dense): kernel, stride, padding, dilation, "
                                    "groups and pad options are a convolution's or pooling's");
    syn_layer_desc ov[2] = {{.kind = SYN_LAYER_CONV2D, .units = (size_t)1 << 62,
                             .kernel = {1, 1}}, {.units = 2}};
    expect_refused(ov, 2, 784, img, "layer 0 (conv2d):");
}

/* ---- gradient checks --------------------------------------------------- */

static void fill(float *x, size_t n, uint64_t seed, float scale, float shift)
{
    syn_rng rng;
    syn_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(scale * (2.0 * syn_rng_uniform(&rng) - 1.0)) + shift;
}

static void one_hot(float *t, size_t rows, size_t k, uint64_t seed)
{
    syn_rng rng;
    syn_rng_seed(&rng, seed);
    memset(t, 0, rows * k * sizeof(float));
    for (size_t r = 0; r < rows; r++)
        t[r * k + syn_rng_below(&rng, k)] = 1.0f;
}

static syn_net *cnn_net(const size_t shape[3], const syn_layer_desc *layers, size_t n,
                        uint64_t seed)
{
    syn_net_desc desc = {.n_inputs = shape[0] * shape[1] * shape[2], .n_layers = n,
                         .layers = layers, .loss = SYN_LOSS_CROSS_ENTROPY,
                         .init = SYN_INIT_XAVIER_UNIFORM, .seed = seed,
                         .input_shape = {shape[0], shape[1], shape[2]}};
    syn_net *net = NULL;
    syn_error err = {{0}};
    CHECK(syn_net_desc_check(&desc, &err) == SYN_OK, "%s", err.message);
    CHECK_OK(syn_net_create(&desc, &net));
    return net;
}

#define GB 3

static double train_loss(syn_net *net, syn_workspace *ws, const float *x, const float *t)
{
    double loss = 0;
    CHECK_OK(syn_forward_train(net, ws, x, GB, 42, 7, NULL));
    CHECK_OK(syn_loss_value(net, ws, t, GB, &loss));
    return loss;
}

/* Every parameter of [conv(tanh), kind, (tanh conv), flatten, dense
 * softmax] against central differences of the training-mode loss: the
 * kind's own parameters directly, its input gradient through the first
 * convolution's. The bound is test_layers.c's (float32 differences with
 * h = 1e-2: |a - n| <= 2e-3 |n| + 2e-4 max|n|). Max pooling is piecewise
 * linear, and a step of 1e-2 in a first-layer weight moves some window's
 * maximum to another element (a kink: a few gradients off by 10%); with
 * h = 1e-3 none moves here, and the rounding noise, ~1e-7 / 1e-3 = 1e-4
 * of the loss, stays within the bound's 2e-4 of the largest gradient. */
static void gradcheck(const char *name, syn_layer_desc kind, const size_t shape[3])
{
    syn_layer_desc layers[5] = {
        {.kind = SYN_LAYER_CONV2D, .units = 4, .kernel = {2, 2}, .padding = {1, 1},
         .activation = SYN_ACT_TANH},
        kind,
        {.kind = SYN_LAYER_CONV2D, .units = 2, .kernel = {1, 1}, .activation = SYN_ACT_TANH},
        {.kind = SYN_LAYER_FLATTEN},
        {.units = 3, .activation = SYN_ACT_SOFTMAX},
    };
    syn_net *net = cnn_net(shape, layers, 5, 5);
    syn_workspace *ws = NULL;
    if (!net)
        return;
    CHECK_OK(syn_workspace_create(net, GB, &ws));
    size_t n_in = shape[0] * shape[1] * shape[2];
    float *x = malloc(GB * n_in * sizeof(float)), t[GB * 3];
    fill(x, GB * n_in, 8, 1.5f, 0.3f);
    one_hot(t, GB, 3, 9);
    size_t n;
    float *p = syn_net_params(net, &n);
    float *g, *b;
    CHECK_OK(syn_net_layer_params(net, 1, &g, &b));
    size_t wo, bo;
    syn_net_layer_offsets(net, 1, &wo, &bo);
    if (kind.kind == SYN_LAYER_BATCHNORM2D)
        for (size_t c = 0; c < 4; c++) {
            g[c] = 0.7f + 0.05f * (float)c;
            b[c] = 0.1f - 0.03f * (float)c;
        }
    if (kind.kind == SYN_LAYER_CONV2D && b)
        fill(b, kind.units, 3, 0.3f, 0.0f);
    train_loss(net, ws, x, t);
    CHECK_OK(syn_backward(net, ws, t, GB));
    float *analytic = malloc(n * sizeof(float));
    double *numeric = malloc(n * sizeof(double));
    memcpy(analytic, syn_workspace_grads(ws, NULL), n * sizeof(float));
    double scale = 0;
    for (size_t i = 0; i < n; i++) {
        float keep = p[i];
        const float h = kind.kind == SYN_LAYER_MAXPOOL2D ? 1e-3f : 1e-2f;
        p[i] = keep + h;
        double up = train_loss(net, ws, x, t);
        p[i] = keep - h;
        double down = train_loss(net, ws, x, t);
        p[i] = keep;
        numeric[i] = (up - down) / (2.0 * (double)h);
        scale = fmax(scale, fabs(numeric[i]));
    }
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs(analytic[i] - numeric[i]) > 2e-3 * fabs(numeric[i]) + 2e-4 * scale &&
            bad++ < 3)
            fprintf(stderr, "%s: param %zu: analytic %.6g numeric %.6g\n", name, i,
                    (double)analytic[i], numeric[i]);
    CHECK(bad == 0 && scale > 1e-3, "%s: %zu of %zu gradients agree (scale %.3g)", name,
          n - bad, n, scale);
    free(x);
    free(analytic);
    free(numeric);
    syn_workspace_free(ws);
    syn_net_free(net);
}

static void test_gradcheck(void)
{
    const size_t s[3] = {2, 7, 6};
    struct { const char *name; syn_layer_desc d; } cases[] = {
        {"conv k3", {.kind = SYN_LAYER_CONV2D, .units = 4, .kernel = {3, 3},
                     .activation = SYN_ACT_TANH}},
        {"conv k2x3 s2 p1 d2", {.kind = SYN_LAYER_CONV2D, .units = 4, .kernel = {2, 3},
                                .stride = {2, 1}, .padding = {1, 1}, .dilation = {2, 1}}},
        {"conv groups 2 no bias", {.kind = SYN_LAYER_CONV2D, .units = 6, .kernel = {3, 3},
                                   .groups = 2, .no_bias = 1, .activation = SYN_ACT_SIGMOID}},
        {"conv depthwise same", {.kind = SYN_LAYER_CONV2D, .units = 4, .kernel = {3, 2},
                                 .groups = 4, .pad_same = 1, .dilation = {1, 2}}},
        {"maxpool k2", {.kind = SYN_LAYER_MAXPOOL2D, .kernel = {2, 2}}},
        {"maxpool k3 s2 p1", {.kind = SYN_LAYER_MAXPOOL2D, .kernel = {3, 3}, .stride = {2, 2},
                              .padding = {1, 1}}},
        {"avgpool k3 s2 p1", {.kind = SYN_LAYER_AVGPOOL2D, .kernel = {3, 3}, .stride = {2, 2},
                              .padding = {1, 1}, .activation = SYN_ACT_TANH}},
        {"avgpool k2x3 p1 exclude", {.kind = SYN_LAYER_AVGPOOL2D, .kernel = {2, 3},
                                     .stride = {1, 2}, .padding = {1, 1}, .exclude_pad = 1}},
        {"global avgpool", {.kind = SYN_LAYER_GLOBAL_AVGPOOL}},
        {"batchnorm2d", {.kind = SYN_LAYER_BATCHNORM2D, .activation = SYN_ACT_TANH}},
        {"batchnorm2d eps momentum", {.kind = SYN_LAYER_BATCHNORM2D, .eps = 1e-3f,
                                      .momentum = 0.3f}},
        {"dropout2d", {.kind = SYN_LAYER_DROPOUT2D, .rate = 0.5f}},
        {"flatten", {.kind = SYN_LAYER_FLATTEN}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        gradcheck(cases[k].name, cases[k].d, s);
}

/* ---- dropout2d against its definition ------------------------------------ */

static void test_dropout2d(void)
{
    enum { R = 64, C = 6, HW = 20 };
    const size_t shape[3] = {C, 4, 5};
    syn_layer_desc layers[] = {{.kind = SYN_LAYER_DROPOUT2D, .rate = 0.25f}};
    syn_net_desc desc = {.n_inputs = C * HW, .n_layers = 1, .layers = layers,
                         .input_shape = {shape[0], shape[1], shape[2]}};
    syn_net *net = NULL;
    syn_workspace *ws = NULL;
    CHECK_OK(syn_net_create(&desc, &net));
    if (!net)
        return;
    CHECK_OK(syn_workspace_create(net, R, &ws));
    float *x = malloc(R * C * HW * sizeof(float));
    fill(x, R * C * HW, 4, 1.0f, 2.0f); /* all nonzero */
    const float *out;
    size_t dropped = 0, mixed = 0, wrong = 0;
    CHECK_OK(syn_forward_train(net, ws, x, R, 9, 3, &out));
    for (size_t i = 0; i < R * C; i++) {
        size_t zeros = 0;
        for (size_t k = 0; k < HW; k++) {
            float v = out[i * HW + k];
            if (v == 0.0f)
                zeros++;
            else if (v != x[i * HW + k] * (1.0f / 0.75f))
                wrong++;
        }
        dropped += zeros == HW;
        mixed += zeros != 0 && zeros != HW;
    }
    CHECK(mixed == 0 && wrong == 0, "whole channels dropped (%zu mixed), the rest scaled by "
          "1/(1-p) (%zu wrong)", mixed, wrong);
    /* 384 channels at p = 0.25: 96 expected, sd 8.5. */
    CHECK(dropped > 60 && dropped < 132, "%zu of %d channels dropped", dropped, R * C);
    float *first = malloc(R * C * HW * sizeof(float));
    memcpy(first, out, R * C * HW * sizeof(float));
    CHECK_OK(syn_forward_train(net, ws, x, R, 9, 4, &out));
    CHECK(memcmp(first, out, R * C * HW * sizeof(float)) != 0, "another step, another mask");
    CHECK_OK(syn_forward(net, ws, x, R, &out));
    CHECK(memcmp(x, out, R * C * HW * sizeof(float)) == 0, "the identity at inference");
    free(first);
    free(x);
    syn_workspace_free(ws);
    syn_net_free(net);
}

/* ---- threads -------------------------------------------------------------- */

/* A CNN of every kind, wide enough that every loop splits over threads and
 * the convolutions run several sample blocks: training-mode forward,
 * backward and running statistics for 1, 2, 3 and 8 threads, bit for bit. */
static const syn_layer_desc every_kind[] = {
    {.kind = SYN_LAYER_CONV2D, .units = 8, .kernel = {3, 3}, .activation = SYN_ACT_RELU},
    {.kind = SYN_LAYER_BATCHNORM2D},
    {.kind = SYN_LAYER_MAXPOOL2D, .kernel = {2, 2}},
    {.kind = SYN_LAYER_CONV2D, .units = 16, .kernel = {3, 3}, .groups = 2, .pad_same = 1,
     .activation = SYN_ACT_TANH},
    {.kind = SYN_LAYER_DROPOUT2D, .rate = 0.2f},
    {.kind = SYN_LAYER_CONV2D, .units = 16, .kernel = {3, 3}, .groups = 16, .stride = {2, 2},
     .padding = {1, 1}, .dilation = {2, 2}, .no_bias = 1, .activation = SYN_ACT_RELU},
    {.kind = SYN_LAYER_AVGPOOL2D, .kernel = {3, 3}, .stride = {1, 1}, .padding = {1, 1},
     .exclude_pad = 1},
    {.kind = SYN_LAYER_FLATTEN},
    {.units = 32, .activation = SYN_ACT_RELU},
    {.units = 10, .activation = SYN_ACT_SOFTMAX},
};
#define EVERY_KIND (sizeof every_kind / sizeof every_kind[0])

static void test_threads(void)
{
    enum { R = 40 };
    const size_t shape[3] = {1, 28, 28};
    float *x = malloc(R * 784 * sizeof(float)), t[R * 10];
    fill(x, R * 784, 12, 1.0f, 0.0f);
    one_hot(t, R, 10, 13);
    float *ref_out = NULL, *ref_grads = NULL, *ref_state = NULL;
    size_t n_params = 0, n_state = 0;
    const int threads[] = {1, 2, 3, 8};
    for (int k = 0; k < 4; k++) {
        syn_net *net = cnn_net(shape, every_kind, EVERY_KIND, 3);
        syn_workspace *ws = NULL;
        if (!net)
            break;
        CHECK(net->layers[0].scratch_rows < R, "several sample blocks");
        CHECK_OK(syn_workspace_create(net, R, &ws));
        CHECK_OK(syn_workspace_set_threads(ws, threads[k]));
        const float *out;
        for (uint64_t step = 0; step < 2; step++)
            CHECK_OK(syn_forward_train(net, ws, x, R, 77, step, &out));
        CHECK_OK(syn_backward(net, ws, t, R));
        float *g = syn_workspace_grads(ws, &n_params);
        float *s = syn_net_state(net, &n_state);
        if (k == 0) {
            ref_out = malloc(R * 10 * sizeof(float));
            ref_grads = malloc(n_params * sizeof(float));
            ref_state = malloc(n_state * sizeof(float));
            memcpy(ref_out, out, R * 10 * sizeof(float));
            memcpy(ref_grads, g, n_params * sizeof(float));
            memcpy(ref_state, s, n_state * sizeof(float));
        } else {
            CHECK(memcmp(ref_out, out, R * 10 * sizeof(float)) == 0, "%d threads: outputs",
                  threads[k]);
            CHECK(memcmp(ref_grads, g, n_params * sizeof(float)) == 0,
                  "%d threads: gradients", threads[k]);
            CHECK(memcmp(ref_state, s, n_state * sizeof(float)) == 0,
                  "%d threads: running statistics", threads[k]);
        }
        syn_workspace_free(ws);
        syn_net_free(net);
    }
    free(x);
    free(ref_out);
    free(ref_grads);
    free(ref_state);
}

/* ---- memory estimate -------------------------------------------------- */

static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

/* As test_layers.c: the estimate against what a net and its trainer take
 * from malloc, within 0.05% + 12 KiB (small structs, malloc headers, the
 * page rounding of mmap'd blocks); leaving out the im2col scratch (1 MiB
 * and more here) fails it. */
static void test_memory_estimate(void)
{
    char *volatile probe = malloc(1 << 20);
    if (probe)
        probe[0] = 1;
    size_t before = heap_in_use();
    free(probe);
    if (before < (1 << 20) || heap_in_use() >= before) {
        printf("memory estimate: skipped (mallinfo2 does not see this allocator: a "
               "sanitizer or valgrind)\n");
        return;
    }
    const syn_layer_desc cnn[] = {
        CONV(32, 3, SYN_ACT_RELU), POOL(SYN_LAYER_MAXPOOL2D, 2), CONV(64, 3, SYN_ACT_RELU),
        POOL(SYN_LAYER_MAXPOOL2D, 2), {.units = 128, .activation = SYN_ACT_RELU},
        {.kind = SYN_LAYER_DROPOUT, .rate = 0.3f}, {.units = 10, .activation = SYN_ACT_SOFTMAX},
    };
    struct { const syn_layer_desc *layers; size_t n, batch; } cases[] = {
        {cnn, 7, 64}, {cnn, 7, 256}, {every_kind, EVERY_KIND, 3}, {every_kind, EVERY_KIND, 200},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        syn_net_desc desc = {.n_inputs = 784, .n_layers = cases[k].n, .layers = cases[k].layers,
                             .loss = SYN_LOSS_CROSS_ENTROPY, .seed = 1,
                             .input_shape = {1, 28, 28}};
        size_t est = 0, nb = cases[k].batch;
        CHECK_OK(syn_net_memory_estimate(&desc, SYN_OPTIM_ADAM, nb, &est));
        size_t base = heap_in_use();
        syn_net *net = NULL;
        syn_trainer *tr = NULL;
        CHECK_OK(syn_net_create(&desc, &net));
        syn_optim_desc od = {.kind = SYN_OPTIM_ADAM, .lr = 1e-3f, .beta1 = 0.9f,
                             .beta2 = 0.999f, .eps = 1e-8f};
        syn_train_desc td = {.batch_size = nb, .n_threads = 1};
        CHECK_OK(syn_net_set_input_scaling(net, (float[784]){0}, (float[784]){0}));
        CHECK_OK(syn_trainer_create(net, &od, &td, &tr));
        float *x = calloc(nb * 784, sizeof(float)), *y = calloc(nb * 10, sizeof(float));
        for (size_t r = 0; r < nb; r++)
            y[r * 10 + r % 10] = 1.0f;
        size_t extra = (nb * 784 + nb * 10) * sizeof(float);
        double loss;
        CHECK_OK(syn_trainer_step(tr, x, y, nb, &loss));
        size_t real = heap_in_use() - base - extra;
        double slack = 0.0005 * (double)real + 12288.0;
        printf("memory estimate, case %zu: %zu estimated, %zu allocated\n", k, est, real);
        CHECK(fabs((double)est - (double)real) <= slack,
              "case %zu: estimate %zu bytes, allocated %zu", k, est, real);
        free(x);
        free(y);
        syn_trainer_free(tr);
        syn_net_free(net);
    }
}

/* ---- model file --------------------------------------------------------- */

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void reseal(uint8_t *img, size_t size)
{
    put32(img + 24, syn_crc32(0, img, 24));
    put32(img + size - 4, syn_crc32(0, img, size - 4));
}

/* Offset of the payload of section tag, 0 when absent. */
static size_t find_section(const uint8_t *img, size_t size, const char *tag)
{
    for (size_t pos = 28; pos + 12 <= size - 4;) {
        uint64_t len = 0;
        for (int i = 7; i >= 0; i--)
            len = len << 8 | img[pos + 4 + i];
        if (!memcmp(img + pos, tag, 4))
            return pos + 12;
        pos += 12 + (size_t)len;
    }
    return 0;
}

/* A CNN of every kind (trained a step, so BN2d's statistics moved) saved
 * and read back: the same layers, shapes, parameters, state and
 * predictions bit for bit; then hostile edits with valid CRCs refused by
 * name. A dense net without a shape writes no shap section. */
static void test_model_file(void)
{
    enum { R = 6 };
    const size_t shape[3] = {1, 28, 28};
    syn_net *net = cnn_net(shape, every_kind, EVERY_KIND, 3), *back = NULL;
    syn_workspace *ws = NULL;
    if (!net)
        return;
    float *x = malloc(R * 784 * sizeof(float)), t[R * 10];
    fill(x, R * 784, 2, 1.0f, 0.0f);
    one_hot(t, R, 10, 5);
    CHECK_OK(syn_workspace_create(net, R, &ws));
    CHECK_OK(syn_forward_train(net, ws, x, R, 1, 0, NULL));
    uint8_t *img = NULL;
    size_t size = 0;
    syn_error err = {{0}};
    CHECK_OK(syn_model_serialize(net, NULL, NULL, 0, &img, &size, &err));
    if (!img)
        return;
    CHECK(syn_model_parse(img, size, "cnn", &back, NULL, &err) == SYN_OK, "%s", err.message);
    if (back) {
        size_t a[3], b[3];
        CHECK(back->n_params == net->n_params && back->n_state == net->n_state &&
                  memcmp(back->params, net->params, net->n_params * sizeof(float)) == 0 &&
                  memcmp(back->state, net->state, net->n_state * sizeof(float)) == 0,
              "parameters and running statistics read back");
        syn_net_input_shape(back, a);
        CHECK(memcmp(a, shape, sizeof a) == 0, "input shape read back");
        for (size_t l = 0; l < EVERY_KIND; l++) {
            syn_layer_desc d0, d1;
            syn_net_layer(net, l, &d0, NULL);
            syn_net_layer(back, l, &d1, NULL);
            syn_net_layer_shape(net, l, a);
            syn_net_layer_shape(back, l, b);
            CHECK(memcmp(&d0, &d1, sizeof d0) == 0 && memcmp(a, b, sizeof a) == 0,
                  "layer %zu read back", l);
        }
        /* The descriptions syn_net_layer gives make the same net again. */
        syn_layer_desc again[EVERY_KIND];
        for (size_t l = 0; l < EVERY_KIND; l++)
            syn_net_layer(back, l, &again[l], NULL);
        syn_net_desc dd = {.n_inputs = 784, .n_layers = EVERY_KIND, .layers = again,
                           .loss = SYN_LOSS_CROSS_ENTROPY, .input_shape = {1, 28, 28}};
        syn_error e3 = {{0}};
        CHECK(syn_net_desc_check(&dd, &e3) == SYN_OK, "syn_net_layer's descriptions: %s",
              e3.message);
        syn_workspace *wb = NULL;
        const float *o0, *o1;
        CHECK_OK(syn_workspace_create(back, R, &wb));
        CHECK_OK(syn_forward(net, ws, x, R, &o0));
        CHECK_OK(syn_forward(back, wb, x, R, &o1));
        CHECK(memcmp(o0, o1, R * 10 * sizeof(float)) == 0, "the same predictions");
        syn_workspace_free(wb);
        syn_net_free(back);
    }
    size_t at = find_section(img, size, "shap");
    CHECK(at > 0, "a shap section");
    uint8_t *bad = malloc(size);
    /* Two bytes each: (offset, value) pairs into the payload. */
    struct { size_t off[2]; uint8_t v[2]; const char *needle; } spoils[] = {
        {{0, 0}, {2, 2}, "section shap: network: input shape 2x28x28 is not the 784 inputs"},
        {{8, 8}, {0, 0}, "section shap: dimension 1 is 0"},
        {{0, 8}, {4, 7}, "section ARCH: layer 1 (batchnorm2d): units 5408: this kind keeps "
                         "its input width 1040"},
    };
    for (size_t k = 0; at && k < sizeof spoils / sizeof spoils[0]; k++) {
        memcpy(bad, img, size);
        bad[at + spoils[k].off[0]] = spoils[k].v[0];
        bad[at + spoils[k].off[1]] = spoils[k].v[1];
        reseal(bad, size);
        syn_net *n2 = NULL;
        syn_error e2 = {{0}};
        CHECK(syn_model_parse(bad, size, "hostile", &n2, NULL, &e2) == SYN_ERR_CORRUPT && !n2,
              "spoiled shap refused");
        CHECK(strstr(e2.message, spoils[k].needle) != NULL, "\"%s\" names \"%s\"", e2.message,
              spoils[k].needle);
        syn_net_free(n2);
    }
    /* Layer 0's stride (its attribute 2, after the 28 bytes of the record)
     * made 2.5: not a size. */
    size_t arch = find_section(img, size, "ARCH");
    memcpy(bad, img, size);
    float f25 = 2.5f;
    uint32_t bits;
    memcpy(&bits, &f25, 4);
    put32(bad + arch + 20 + 28 + 2 * 4, bits);
    reseal(bad, size);
    syn_net *n3 = NULL;
    syn_error e4 = {{0}};
    CHECK(syn_model_parse(bad, size, "hostile", &n3, NULL, &e4) == SYN_ERR_CORRUPT && !n3 &&
              strstr(e4.message, "layer 0 (conv2d): attribute 2 (2.5) is not a size"),
          "a stride of 2.5 refused: %s", e4.message);
    syn_net_free(n3);
    free(bad);
    free(img);
    syn_workspace_free(ws);
    syn_net_free(net);
    free(x);
    syn_layer_desc dense[] = {{.units = 3}};
    syn_net_desc dd = {.n_inputs = 4, .n_layers = 1, .layers = dense};
    CHECK_OK(syn_net_create(&dd, &net));
    CHECK_OK(syn_model_serialize(net, NULL, NULL, 0, &img, &size, &err));
    CHECK(img && find_section(img, size, "shap") == 0, "no shap section for a flat input");
    free(img);
    syn_net_free(net);
}

/* ---- data shapes -------------------------------------------------------- */

/* An IDX file of uint8 with the given dimensions (the first counts
 * samples), pixels 0, 1, 2, ... */
static int write_idx(const char *path, const uint32_t *dims, unsigned n_dims)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    unsigned char head[4] = {0, 0, 0x08, (unsigned char)n_dims};
    fwrite(head, 1, 4, f);
    size_t n = 1;
    for (unsigned d = 0; d < n_dims; d++) {
        unsigned char b[4] = {(unsigned char)(dims[d] >> 24), (unsigned char)(dims[d] >> 16),
                              (unsigned char)(dims[d] >> 8), (unsigned char)dims[d]};
        fwrite(b, 1, 4, f);
        n *= dims[d];
    }
    for (size_t i = 0; i < n; i++)
        fputc((int)(i & 0xff), f);
    return fclose(f) == 0;
}

/* IDX images arrive as 1 x H x W ([N x H x W]) or C x H x W ([N x C x H x
 * W]), other ranks flat; a shape can be given to flat data, checked. */
static void test_data_shapes(void)
{
    char dir[] = "/tmp/syn_conv_XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        return;
    }
    char path[64];
    snprintf(path, sizeof path, "%s/images.idx", dir);
    struct { uint32_t dims[4]; unsigned n; size_t want[3]; } cases[] = {
        {{2, 5, 7}, 3, {1, 5, 7}}, {{2, 3, 5, 7}, 4, {3, 5, 7}}, {{2, 12}, 2, {12, 1, 1}},
    };
    for (size_t k = 0; k < 3; k++) {
        syn_dataset *ds = NULL;
        syn_error err = {{0}};
        CHECK(write_idx(path, cases[k].dims, cases[k].n), "write %s", path);
        CHECK(syn_dataset_load_idx(path, NULL, &ds, &err) == SYN_OK, "%s", err.message);
        size_t s[3] = {0};
        CHECK_OK(syn_dataset_shape(ds, s));
        CHECK(memcmp(s, cases[k].want, sizeof s) == 0, "rank %u: %zux%zux%zu", cases[k].n,
              s[0], s[1], s[2]);
        syn_dataset_free(ds);
    }
    unlink(path);
    rmdir(dir);
    float x[2 * 12] = {0};
    syn_dataset *ds = NULL;
    CHECK_OK(syn_dataset_from_floats(x, 2, 12, NULL, 0, &ds));
    const size_t good[3] = {3, 2, 2}, bad[3] = {3, 2, 3}, zero[3] = {0, 12, 1};
    size_t s[3];
    CHECK(syn_dataset_set_shape(ds, bad) == SYN_ERR_SHAPE, "3x2x3 is not 12 features");
    CHECK(syn_dataset_set_shape(ds, zero) == SYN_ERR_SHAPE, "a zero dimension");
    CHECK_OK(syn_dataset_set_shape(ds, good));
    CHECK_OK(syn_dataset_shape(ds, s));
    CHECK(memcmp(s, good, sizeof s) == 0, "the shape set");
    syn_dataset_free(ds);
}

/* A CNN file written by this version (tests/fixtures/model/cnn_every_kind
 * .syn, by syn_net_save; also a fuzz seed): it keeps loading, with its
 * shapes, and writing it again gives the same sections. */
static void test_model_fixture(void)
{
    const char *path = SYN_TEST_DIR "/fixtures/model/cnn_every_kind.syn";
    syn_net *net = NULL;
    syn_error err = {{0}};
    CHECK(syn_net_load(path, &net, NULL, &err) == SYN_OK, "%s", err.message);
    if (!net)
        return;
    size_t s[3];
    syn_net_input_shape(net, s);
    CHECK(s[0] == 2 && s[1] == 6 && s[2] == 6 && syn_net_n_layers(net) == 9,
          "2x6x6 input, 9 layers");
    syn_net_layer_shape(net, 5, s);
    CHECK(s[0] == 4 && s[1] == 4 && s[2] == 4, "the average pool's output 4x4x4");
    FILE *f = fopen(path, "rb");
    uint8_t *want = malloc(4096), *got = NULL;
    size_t n = f ? fread(want, 1, 4096, f) : 0, size = 0;
    if (f)
        fclose(f);
    CHECK_OK(syn_model_serialize(net, NULL, NULL, 0, &got, &size, &err));
    /* The sections of the network itself (meta names the library version). */
    const char *tags[] = {"ARCH", "shap", "PARM", "STAT"};
    for (size_t k = 0; got && k < 4; k++) {
        const uint8_t *a = NULL, *b = NULL;
        size_t na = 0, nb = 0;
        CHECK(syn_model_find_section(want, n, "fixture", tags[k], &a, &na, &err) == SYN_OK &&
                  syn_model_find_section(got, size, "again", tags[k], &b, &nb, &err) == SYN_OK &&
                  na == nb && memcmp(a, b, na) == 0,
              "section %s written again byte for byte", tags[k]);
    }
    free(got);
    free(want);
    syn_net_free(net);
}


/* ---- max pooling's choice of element ------------------------------------- */

/* The 2x2 stride-2 window (its own loop in pool2d.c) against ATen's rule,
 * written out here: the first largest value, or the last NaN. Which
 * element wins is seen through a 1x1 convolution of two channels with
 * weights (1, 0): its output is channel 0, which holds ties, -inf and
 * NaN, and the gradient of the second weight sums dz times channel 1 at
 * each window's chosen element, which is unique per position. */
static void test_maxpool_choice(void)
{
    enum { H = 6, W = 8, OH = 3, OW = 4 };
    const size_t shape[3] = {2, H, W};
    syn_layer_desc layers[] = {
        {.kind = SYN_LAYER_CONV2D, .units = 1, .kernel = {1, 1}, .no_bias = 1},
        {.kind = SYN_LAYER_MAXPOOL2D, .kernel = {2, 2}},
    };
    syn_net_desc desc = {.n_inputs = 2 * H * W, .n_layers = 2, .layers = layers,
                         .loss = SYN_LOSS_MSE, .input_shape = {shape[0], shape[1], shape[2]}};
    syn_net *net = NULL;
    CHECK_OK(syn_net_create(&desc, &net));
    if (!net)
        return;
    float *w = syn_net_params(net, NULL);
    w[0] = 1.0f;
    w[1] = 0.0f;
    float x[2 * H * W];
    for (size_t i = 0; i < H * W; i++) {
        x[i] = (float)(i % 3);        /* many ties */
        x[H * W + i] = (float)(1u << (i % 24)) * (i < 24 ? 1.0f : -1.0f); /* a tag */
    }
    x[1] = NAN;                      /* window (0, 0): the NaN wins */
    x[2] = -INFINITY, x[3] = -INFINITY, x[2 + W] = -INFINITY, x[3 + W] = -INFINITY;
    x[4] = NAN, x[5 + W] = NAN;      /* window (0, 2): the last NaN */
    float want_out[OH * OW];
    size_t want_at[OH * OW];
    for (size_t oh = 0; oh < OH; oh++)
        for (size_t ow = 0; ow < OW; ow++) {
            float m = -INFINITY;
            size_t at = 2 * oh * W + 2 * ow;
            for (size_t h = 2 * oh; h < 2 * oh + 2; h++)
                for (size_t c = 2 * ow; c < 2 * ow + 2; c++)
                    if (x[h * W + c] > m || x[h * W + c] != x[h * W + c])
                        m = x[h * W + c], at = h * W + c;
            want_out[oh * OW + ow] = m;
            want_at[oh * OW + ow] = at;
        }
    syn_workspace *ws = NULL;
    CHECK_OK(syn_workspace_create(net, 1, &ws));
    const float *out = NULL;
    CHECK_OK(syn_forward_train(net, ws, x, 1, 1, 1, &out));
    size_t wrong = 0;
    for (size_t o = 0; out && o < OH * OW; o++)
        wrong += !(out[o] == want_out[o] || (out[o] != out[o] && want_out[o] != want_out[o]));
    CHECK(wrong == 0, "%zu of %d window maxima differ from ATen's rule", wrong, OH * OW);
    float d_out[OH * OW];
    double want_dw1 = 0;
    for (size_t o = 0; o < OH * OW; o++) {
        d_out[o] = (float)(o + 1);
        want_dw1 += (double)d_out[o] * x[H * W + want_at[o]];
    }
    CHECK_OK(syn_backward_from_output(net, ws, d_out, 1));
    float *dw = NULL;
    CHECK_OK(syn_workspace_layer_grads(ws, net, 0, &dw, NULL));
    CHECK(dw && dw[1] == (float)want_dw1, "dW[1] %g, want %g: the gradient went to another "
          "element than the first largest (or last NaN)", dw ? dw[1] : 0.0, want_dw1);
    syn_workspace_free(ws);
    syn_net_free(net);
}

int main(void)
{
    test_fixtures();
    test_shapes();
    test_gradcheck();
    test_dropout2d();
    test_maxpool_choice();
    test_threads();
    test_memory_estimate();
    test_model_file();
    test_data_shapes();
    test_model_fixture();
    return check_finish();
}
