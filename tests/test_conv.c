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
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/internal.h"
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

int main(void)
{
    test_fixtures();
    return check_finish();
}
