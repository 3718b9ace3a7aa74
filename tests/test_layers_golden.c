/* test_layers_golden.c - the layer kinds against PyTorch: nets mixing
 * dense, BatchNorm1d, Dropout and LayerNorm layers, from fixtures written
 * by tests/fixtures/layers/gen_layers.py (torch, float32). Training mode:
 * outputs, loss, every gradient and the running statistics after the pass,
 * then parameters and statistics after 3 SGD steps; evaluation mode:
 * outputs from the running statistics. Dropout's mask is synapse's own,
 * recomputed by the generator from its definition, so a change to the
 * hash fails here too.
 *
 * Bound: |got - want| <= 1e-5 |want| + 1e-6 max|want| per array. Both sides
 * are float32 and sum in different orders (torch's batch statistics, its
 * GEMMs), so an element that is a difference of larger terms (a gradient
 * near 0) carries rounding of the array's scale, not of its own size. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "synapse.h"

#define DIR SYN_TEST_DIR "/fixtures/layers"
#define MAX_LAYERS 8
#define MAX_ARRAYS 16

typedef struct array {
    char name[32];
    size_t n;
    float *v;
} array;

typedef struct fixture {
    size_t n_inputs, n_layers, batch, steps;
    uint64_t seed;
    float lr;
    syn_layer_desc layers[MAX_LAYERS];
    array arrays[MAX_ARRAYS];
    size_t n_arrays;
} fixture;

static int parse_kind(const char *s, syn_layer_kind *k)
{
    for (int i = 0; i < SYN_LAYER_COUNT_; i++)
        if (!strcmp(s, syn_layer_kind_name((syn_layer_kind)i))) {
            *k = (syn_layer_kind)i;
            return 1;
        }
    return 0;
}

static int parse_act(const char *s, syn_activation *a)
{
    static const char *names[] = {"linear", "sigmoid", "tanh", "relu", "leaky_relu",
                                  "softmax"};
    for (int i = 0; i < 6; i++)
        if (!strcmp(s, names[i])) {
            *a = (syn_activation)i;
            return 1;
        }
    return 0;
}

static int load(const char *path, fixture *fx)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    memset(fx, 0, sizeof *fx);
    char line[256];
    int ok = 1;
    while (ok && fgets(line, sizeof line, f)) {
        char word[32], a1[32], a2[32];
        double d;
        unsigned long long u;
        if (line[0] == '#' || sscanf(line, "%31s", word) != 1)
            continue;
        if (!strcmp(word, "n_inputs") && sscanf(line, "%*s %llu", &u) == 1) {
            fx->n_inputs = (size_t)u;
        } else if (!strcmp(word, "layer")) {
            char rate[40], eps[40], mom[40];
            int no_bias;
            ok = fx->n_layers < MAX_LAYERS &&
                 sscanf(line, "%*s %31s %llu %31s %39s %39s %39s %d", a1, &u, a2, rate, eps, mom,
                        &no_bias) == 7;
            if (!ok)
                break;
            syn_layer_desc *l = &fx->layers[fx->n_layers++];
            ok = parse_kind(a1, &l->kind) && parse_act(a2, &l->activation);
            l->units = (size_t)u;
            l->rate = (float)strtod(rate, NULL);
            l->eps = (float)strtod(eps, NULL);
            l->momentum = (float)strtod(mom, NULL);
            l->no_bias = no_bias;
        } else if (!strcmp(word, "batch") && sscanf(line, "%*s %llu", &u) == 1) {
            fx->batch = (size_t)u;
        } else if (!strcmp(word, "seed") && sscanf(line, "%*s %llu", &u) == 1) {
            fx->seed = u;
        } else if (!strcmp(word, "steps") && sscanf(line, "%*s %llu", &u) == 1) {
            fx->steps = (size_t)u;
        } else if (!strcmp(word, "lr") && sscanf(line, "%*s %31s", a1) == 1) {
            d = strtod(a1, NULL);
            fx->lr = (float)d;
        } else if (!strcmp(word, "array") && sscanf(line, "%*s %31s %llu", a1, &u) == 2) {
            ok = fx->n_arrays < MAX_ARRAYS;
            if (!ok)
                break;
            array *arr = &fx->arrays[fx->n_arrays++];
            snprintf(arr->name, sizeof arr->name, "%s", a1);
            arr->n = (size_t)u;
            arr->v = malloc((arr->n ? arr->n : 1) * sizeof(float));
            for (size_t i = 0; ok && i < arr->n; i++) {
                ok = arr->v && fgets(line, sizeof line, f);
                if (ok)
                    arr->v[i] = (float)strtod(line, NULL);
            }
        } else if (strcmp(word, "synapse-layers") != 0) {
            ok = 0;
        }
    }
    fclose(f);
    return ok;
}

static const array *get(const fixture *fx, const char *name)
{
    for (size_t i = 0; i < fx->n_arrays; i++)
        if (!strcmp(fx->arrays[i].name, name))
            return &fx->arrays[i];
    return NULL;
}

static void compare(const char *label, const char *what, const float *got, const array *want,
                    size_t n)
{
    CHECK(want && want->n == n, "%s: %s has %zu values, fixture %zu", label, what, n,
          want ? want->n : 0);
    if (!want || want->n != n)
        return;
    double scale = 0, worst = 0;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(want->v[i]));
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - want->v[i]);
        double tol = 1e-5 * fabs(want->v[i]) + 1e-6 * scale;
        worst = fmax(worst, err / (tol > 0 ? tol : 1));
        if (!(err <= tol) && bad++ < 3)
            fprintf(stderr, "  %s %s[%zu]: %.9g, torch %.9g\n", label, what, i, (double)got[i],
                    (double)want->v[i]);
    }
    CHECK(bad == 0, "%s: %s, %zu of %zu outside the bound", label, what, bad, n);
    printf("%s: %-12s worst %.2f of the bound\n", label, what, worst);
}

static void run_case(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.txt", DIR, name);
    fixture fx;
    CHECK(load(path, &fx), "%s: fixture readable", path);
    syn_net_desc desc = {.n_inputs = fx.n_inputs, .n_layers = fx.n_layers, .layers = fx.layers,
                         .loss = SYN_LOSS_CROSS_ENTROPY};
    syn_net *net = NULL;
    syn_workspace *ws = NULL;
    syn_optimizer *opt = NULL;
    CHECK_OK(syn_net_create(&desc, &net));
    CHECK_OK(syn_workspace_create(net, fx.batch, &ws));
    const array *x = get(&fx, "x"), *t = get(&fx, "targets"), *p0 = get(&fx, "params"),
                *s0 = get(&fx, "state");
    size_t n_params = 0, n_state = 0;
    float *params = syn_net_params(net, &n_params), *state = syn_net_state(net, &n_state);
    int ok = net && ws && x && t && p0 && s0 && p0->n == n_params && s0->n == n_state;
    CHECK(ok, "%s: shapes match the fixture", name);
    if (ok) {
        memcpy(params, p0->v, n_params * sizeof(float));
        memcpy(state, s0->v, n_state * sizeof(float));
        const float *out;
        double loss = 0;
        size_t n_out = syn_net_n_outputs(net);
        CHECK_OK(syn_forward_train(net, ws, x->v, fx.batch, fx.seed, 0, &out));
        compare(name, "train_out", out, get(&fx, "train_out"), fx.batch * n_out);
        CHECK_OK(syn_loss_value(net, ws, t->v, fx.batch, &loss));
        float lossf = (float)loss;
        compare(name, "train_loss", &lossf, get(&fx, "train_loss"), 1);
        CHECK_OK(syn_backward(net, ws, t->v, fx.batch));
        compare(name, "train_grads", syn_workspace_grads(ws, NULL), get(&fx, "train_grads"),
                n_params);
        compare(name, "train_state", state, get(&fx, "train_state"), n_state);
        syn_optim_desc od = syn_optim_defaults(SYN_OPTIM_SGD);
        od.lr = fx.lr;
        CHECK_OK(syn_optimizer_create(net, &od, &opt));
        for (size_t step = 0; opt && step < fx.steps; step++) {
            CHECK_OK(syn_forward_train(net, ws, x->v, fx.batch, fx.seed, step, NULL));
            CHECK_OK(syn_backward(net, ws, t->v, fx.batch));
            CHECK_OK(syn_optimizer_step(opt, net, syn_workspace_grads(ws, NULL), n_params));
        }
        compare(name, "step_params", params, get(&fx, "step_params"), n_params);
        compare(name, "step_state", state, get(&fx, "step_state"), n_state);
        CHECK_OK(syn_forward(net, ws, x->v, fx.batch, &out));
        compare(name, "infer_out", out, get(&fx, "infer_out"), fx.batch * n_out);
    }
    for (size_t i = 0; i < fx.n_arrays; i++)
        free(fx.arrays[i].v);
    syn_optimizer_free(opt);
    syn_workspace_free(ws);
    syn_net_free(net);
}

int main(void)
{
    run_case("mixed");
    run_case("bn_dropout_mlp");
    return check_finish();
}
