/* test_stopping.c - the library pieces of the self-stopping defaults:
 * syn_plateau's rule on hand-made loss sequences (relative tolerance with
 * its absolute floor, patience, learning-rate cuts, NaN, bad settings);
 * syn_split_rows_stratified (class shares, disjoint parts, seeded, never a
 * class's last row, regression as syn_split_rows); regression-target
 * standardisation and syn_net_scale_outputs (the folded network predicts
 * scale * y + offset); syn_trainer_set_base_lr (the next epoch's rate). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "synapse.h"

static syn_plateau rule(double tol, size_t patience, size_t lr_patience)
{
    syn_plateau p;
    memset(&p, 0, sizeof p);
    p.tol = tol;
    p.patience = patience;
    p.lr_patience = lr_patience;
    p.lr_factor = 0.1f;
    return p;
}

static void test_plateau(void)
{
    /* Patience 3, cuts after 2: by hand. Losses above 1: the tolerance is
     * relative (10 * 1e-2 = 0.1 needed). */
    syn_plateau p = rule(1e-2, 3, 2);
    const double loss[] = {10.0, 9.0, 8.95, 8.91, 8.5, 8.45, 8.44, 8.43};
    const syn_plateau_action want[] = {SYN_PLATEAU_IMPROVED, SYN_PLATEAU_IMPROVED,
                                       SYN_PLATEAU_WAIT,     SYN_PLATEAU_CUT_LR,
                                       SYN_PLATEAU_IMPROVED, SYN_PLATEAU_WAIT,
                                       SYN_PLATEAU_CUT_LR,   SYN_PLATEAU_STOP};
    for (size_t i = 0; i < sizeof loss / sizeof loss[0]; i++) {
        syn_plateau_action a;
        CHECK_OK(syn_plateau_update(&p, i, loss[i], &a));
        CHECK(a == want[i], "epoch %zu: action %d, want %d", i, (int)a, (int)want[i]);
    }
    CHECK(p.best == 8.5 && p.best_epoch == 4 && p.since_best == 3 && p.n_cuts == 2,
          "best %g at %zu, %zu since, %zu cuts", p.best, p.best_epoch, p.since_best, p.n_cuts);

    /* Below 1 the floor is absolute: 0.5 -> 0.4996 is not an improvement
     * by 1e-3 (it would be relative), 0.4989 is. */
    p = rule(1e-3, 10, 0);
    syn_plateau_action a;
    CHECK_OK(syn_plateau_update(&p, 0, 0.5, &a));
    CHECK_OK(syn_plateau_update(&p, 1, 0.4996, &a));
    CHECK(a == SYN_PLATEAU_WAIT, "below the floor: %d", (int)a);
    CHECK_OK(syn_plateau_update(&p, 2, 0.4989, &a));
    CHECK(a == SYN_PLATEAU_IMPROVED && p.best_epoch == 2, "past the floor: %d", (int)a);

    /* tol 0: any decrease; a NaN never improves, even first. */
    p = rule(0.0, 2, 0);
    CHECK_OK(syn_plateau_update(&p, 0, NAN, &a));
    CHECK(a == SYN_PLATEAU_WAIT && !p.have_best, "NaN first: %d", (int)a);
    CHECK_OK(syn_plateau_update(&p, 1, 1.0, &a));
    CHECK(a == SYN_PLATEAU_IMPROVED, "then a number: %d", (int)a);
    CHECK_OK(syn_plateau_update(&p, 2, nextafter(1.0, 0.0), &a));
    CHECK(a == SYN_PLATEAU_IMPROVED, "any decrease with tol 0: %d", (int)a);
    CHECK_OK(syn_plateau_update(&p, 3, NAN, &a));
    CHECK_OK(syn_plateau_update(&p, 4, 1.0, &a));
    CHECK(a == SYN_PLATEAU_STOP, "NaN and no decrease stop at patience 2: %d", (int)a);

    /* Bad settings. */
    p = rule(-1.0, 3, 0);
    CHECK(syn_plateau_update(&p, 0, 1.0, &a) == SYN_ERR_INVALID_ARGUMENT, "negative tol");
    p = rule(1e-4, 0, 0);
    CHECK(syn_plateau_update(&p, 0, 1.0, &a) == SYN_ERR_INVALID_ARGUMENT, "patience 0");
    p = rule(1e-4, 3, 1);
    p.lr_factor = 1.0f;
    CHECK(syn_plateau_update(&p, 0, 1.0, &a) == SYN_ERR_INVALID_ARGUMENT, "factor 1");
    CHECK(syn_plateau_update(NULL, 0, 1.0, &a) == SYN_ERR_INVALID_ARGUMENT, "NULL rule");
}

static void test_stratified_split(void)
{
    /* 3 classes of 50, 30 and 3 rows, interleaved. */
    enum { N = 83 };
    float x[N];
    uint32_t labels[N];
    size_t count[3] = {50, 30, 3}, left[3] = {50, 30, 3};
    for (size_t i = 0, c = 0; i < N; i++) {
        while (!left[c % 3])
            c++;
        labels[i] = (uint32_t)(c % 3);
        left[c % 3]--;
        c++;
        x[i] = (float)i;
    }
    syn_dataset *ds = NULL;
    CHECK_OK(syn_dataset_from_labels(x, N, 1, labels, 3, &ds));
    size_t train[N], val[N], n_train = 0, n_val = 0;
    CHECK_OK(syn_split_rows_stratified(ds, 0.2, 7, train, &n_train, val, &n_val));
    /* round(0.2 * count): 10, 6, 1. */
    size_t per_class[3] = {0, 0, 0};
    int seen[N] = {0};
    for (size_t i = 0; i < n_val; i++) {
        per_class[labels[val[i]]]++;
        seen[val[i]]++;
    }
    for (size_t i = 0; i < n_train; i++)
        seen[train[i]]++;
    CHECK(n_val == 17 && n_train == N - 17, "%zu validation rows", n_val);
    CHECK(per_class[0] == 10 && per_class[1] == 6 && per_class[2] == 1, "per class %zu %zu %zu",
          per_class[0], per_class[1], per_class[2]);
    int each_once = 1;
    for (size_t i = 0; i < N; i++)
        each_once &= seen[i] == 1;
    CHECK(each_once, "every row in exactly one part");
    size_t val2[N], n_val2 = 0;
    CHECK_OK(syn_split_rows_stratified(ds, 0.2, 7, NULL, NULL, val2, &n_val2));
    CHECK(n_val2 == n_val && !memcmp(val, val2, n_val * sizeof *val), "same seed, same rows");
    CHECK_OK(syn_split_rows_stratified(ds, 0.2, 8, NULL, NULL, val2, &n_val2));
    CHECK(memcmp(val, val2, n_val * sizeof *val) != 0, "another seed, other rows");
    /* 0.9 of a class of 3 would be all of it: one training row stays. */
    CHECK_OK(syn_split_rows_stratified(ds, 0.9, 7, NULL, &n_train, val, &n_val));
    per_class[2] = 0;
    for (size_t i = 0; i < n_val; i++)
        per_class[2] += labels[val[i]] == 2;
    CHECK(per_class[2] == 2, "a class keeps a training row: %zu of 3 taken", per_class[2]);
    (void)count;
    CHECK(syn_split_rows_stratified(ds, 1.0, 7, train, &n_train, val, &n_val) ==
              SYN_ERR_INVALID_ARGUMENT, "fraction 1");
    CHECK(syn_split_rows_stratified(NULL, 0.1, 7, train, &n_train, val, &n_val) ==
              SYN_ERR_INVALID_ARGUMENT, "NULL dataset");
    syn_dataset_free(ds);

    /* Regression: exactly syn_split_rows. */
    float t[N];
    for (size_t i = 0; i < N; i++)
        t[i] = (float)i * 0.5f;
    CHECK_OK(syn_dataset_from_floats(x, N, 1, t, 1, &ds));
    size_t train_a[N], val_a[N], nt_a, nv_a;
    CHECK_OK(syn_split_rows_stratified(ds, 0.3, 3, train, &n_train, val, &n_val));
    CHECK_OK(syn_split_rows(N, 0.3, 3, train_a, &nt_a, val_a, &nv_a));
    CHECK(n_val == nv_a && !memcmp(val, val_a, nv_a * sizeof *val) &&
              !memcmp(train, train_a, nt_a * sizeof *train), "regression as syn_split_rows");
    syn_dataset_free(ds);
}

static void test_target_scaling(void)
{
    /* Two targets: mean 1000, 1 and population std 50, 0 (constant). */
    enum { N = 4 };
    const float x[N * 2] = {1, 2, 3, 4, 5, 6, 7, 8};
    const float t[N * 2] = {950, 1, 1050, 1, 950, 1, 1050, 1};
    syn_dataset *ds = NULL;
    CHECK_OK(syn_dataset_from_floats(x, N, 2, t, 2, &ds));
    float offset[2], scale[2];
    CHECK_OK(syn_dataset_fit_target_scaling(ds, NULL, 0, offset, scale));
    CHECK(offset[0] == 1000.0f && scale[0] == 1.0f / 50.0f && offset[1] == 1.0f &&
          scale[1] == 1.0f, "fit: %g %g %g %g", offset[0], scale[0], offset[1], scale[1]);
    const size_t rows[2] = {0, 1};
    float o2[2], s2[2];
    CHECK_OK(syn_dataset_fit_target_scaling(ds, rows, 2, o2, s2));
    CHECK(o2[0] == 1000.0f, "fit on rows: %g", o2[0]);
    CHECK_OK(syn_dataset_scale_targets(ds, offset, scale));
    float y[N * 2], xs[N * 2];
    const size_t all[N] = {0, 1, 2, 3};
    CHECK_OK(syn_dataset_gather(ds, all, N, xs, y));
    CHECK(y[0] == -1.0f && y[2] == 1.0f && y[1] == 0.0f && xs[0] == 1.0f, "scaled: %g %g %g",
          y[0], y[2], y[1]);
    const float zero[2] = {0, 0};
    CHECK(syn_dataset_scale_targets(ds, offset, zero) == SYN_ERR_INVALID_ARGUMENT, "scale 0");
    syn_dataset_free(ds);
    const uint32_t labels[N] = {0, 1, 0, 1};
    CHECK_OK(syn_dataset_from_labels(x, N, 2, labels, 2, &ds));
    CHECK(syn_dataset_fit_target_scaling(ds, NULL, 0, offset, scale) ==
              SYN_ERR_INVALID_ARGUMENT, "labels are not scaled");
    syn_dataset_free(ds);
}

static void test_scale_outputs(void)
{
    syn_layer_desc layers[2] = {{.units = 5, .activation = SYN_ACT_TANH},
                                {.units = 2, .activation = SYN_ACT_LINEAR}};
    syn_net_desc desc = {.n_inputs = 3, .n_layers = 2, .layers = layers,
                         .loss = SYN_LOSS_MSE, .seed = 11};
    syn_net *net = NULL, *folded = NULL;
    CHECK_OK(syn_net_create(&desc, &net));
    /* Non-zero biases, so the bias term of the fold is exercised. */
    size_t n = 0;
    float *p = syn_net_params(net, &n);
    for (size_t i = 0; i < n; i++)
        p[i] += 0.01f * (float)(i % 7);
    CHECK_OK(syn_net_clone(net, &folded));
    const float mul[2] = {50.0f, -0.5f}, add[2] = {1000.0f, 3.0f};
    CHECK_OK(syn_net_scale_outputs(folded, mul, add));
    syn_workspace *ws = NULL;
    CHECK_OK(syn_workspace_create(net, 4, &ws));
    const float xin[12] = {0.1f, -1, 2, 0.5f, 0.5f, 0.5f, -2, 0, 1, 3, -3, 0.25f};
    const float *out = NULL;
    float want[8];
    CHECK_OK(syn_forward(net, ws, xin, 4, &out));
    for (int i = 0; i < 8; i++)
        want[i] = out[i] * mul[i % 2] + add[i % 2];
    CHECK_OK(syn_forward(folded, ws, xin, 4, &out));
    int close = 1;
    for (int i = 0; i < 8; i++)
        close &= fabsf(out[i] - want[i]) <= 1e-4f * (1.0f + fabsf(want[i]));
    CHECK(close, "folded outputs: %g want %g", out[0], want[0]);
    CHECK_OK(syn_net_scale_outputs(folded, mul, NULL));
    const float inf[2] = {INFINITY, 1};
    CHECK(syn_net_scale_outputs(folded, inf, NULL) == SYN_ERR_INVALID_ARGUMENT, "inf scale");
    syn_workspace_free(ws);
    syn_net_free(folded);
    syn_net_free(net);
    /* A softmax output cannot be rescaled; a bias-free one takes no offset. */
    layers[1].activation = SYN_ACT_SOFTMAX;
    desc.loss = SYN_LOSS_CROSS_ENTROPY;
    CHECK_OK(syn_net_create(&desc, &net));
    CHECK(syn_net_scale_outputs(net, mul, NULL) == SYN_ERR_INVALID_ARGUMENT, "softmax");
    syn_net_free(net);
    layers[1].activation = SYN_ACT_LINEAR;
    layers[1].no_bias = 1;
    desc.loss = SYN_LOSS_MSE;
    CHECK_OK(syn_net_create(&desc, &net));
    CHECK(syn_net_scale_outputs(net, mul, add) == SYN_ERR_INVALID_ARGUMENT, "no bias");
    CHECK_OK(syn_net_scale_outputs(net, mul, NULL));
    syn_net_free(net);
}

static void test_base_lr(void)
{
    syn_layer_desc layers[1] = {{.units = 1, .activation = SYN_ACT_LINEAR}};
    syn_net_desc desc = {.n_inputs = 1, .n_layers = 1, .layers = layers, .loss = SYN_LOSS_MSE};
    syn_net *net = NULL;
    CHECK_OK(syn_net_create(&desc, &net));
    const float x[4] = {0, 1, 2, 3}, t[4] = {1, 3, 5, 7};
    syn_dataset *ds = NULL;
    CHECK_OK(syn_dataset_from_floats(x, 4, 1, t, 1, &ds));
    syn_optim_desc od = syn_optim_defaults(SYN_OPTIM_ADAM);
    syn_train_desc td = {.batch_size = 2, .seed = 1};
    syn_trainer *tr = NULL;
    CHECK_OK(syn_trainer_create(net, &od, &td, &tr));
    syn_epoch_stats st;
    CHECK_OK(syn_trainer_epoch(tr, ds, NULL, 0, NULL, NULL, &st));
    CHECK(st.lr == od.lr, "first epoch at %g", (double)st.lr);
    CHECK_OK(syn_trainer_set_base_lr(tr, 2.5e-4f));
    CHECK_OK(syn_trainer_epoch(tr, ds, NULL, 0, NULL, NULL, &st));
    syn_trainer_state state;
    CHECK_OK(syn_trainer_get_state(tr, &state));
    CHECK(st.lr == 2.5e-4f && state.base_lr == 2.5e-4f, "after the cut %g", (double)st.lr);
    CHECK(syn_trainer_set_base_lr(tr, -1.0f) == SYN_ERR_INVALID_ARGUMENT, "negative");
    CHECK(syn_trainer_set_base_lr(tr, NAN) == SYN_ERR_INVALID_ARGUMENT, "NaN");
    CHECK(syn_trainer_set_base_lr(NULL, 1.0f) == SYN_ERR_INVALID_ARGUMENT, "NULL");
    syn_trainer_free(tr);
    syn_dataset_free(ds);
    syn_net_free(net);
}

int main(void)
{
    test_plateau();
    test_stratified_split();
    test_target_scaling();
    test_scale_outputs();
    test_base_lr();
    return check_finish();
}
