/* test_api_errors.c - every public function of the core, given bad
 * arguments (NULL, zero or overflowing sizes, mismatched shapes, unknown
 * enums, calls out of order), returns an error status and leaves its
 * objects usable: after each failure the objects still run a correct pass. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "synapse.h"

#define EXPECT(expr, want) CHECK((expr) == (want), "got %s", syn_strerror(expr))

static syn_net *small_net(void)
{
    syn_layer_desc layers[2] = {{.units = 3, .activation = SYN_ACT_TANH},
                                {.units = 2, .activation = SYN_ACT_SOFTMAX}};
    syn_net_desc desc = {.n_inputs = 2, .n_layers = 2, .layers = layers,
                         .loss = SYN_LOSS_CROSS_ENTROPY, .seed = 1};
    syn_net *net = NULL;
    syn_net_create(&desc, &net);
    return net;
}

static void test_create(void)
{
    syn_layer_desc ok[2] = {{.units = 3, .activation = SYN_ACT_RELU},
                            {.units = 2, .activation = SYN_ACT_SOFTMAX}};
    syn_net_desc d = {.n_inputs = 2, .n_layers = 2, .layers = ok,
                      .loss = SYN_LOSS_CROSS_ENTROPY};
    syn_net *net = (syn_net *)&d; /* must be overwritten with NULL on failure */
    EXPECT(syn_net_create(NULL, &net), SYN_ERR_INVALID_ARGUMENT);
    CHECK(net == NULL, "out set to NULL on failure");
    EXPECT(syn_net_create(&d, NULL), SYN_ERR_INVALID_ARGUMENT);
    syn_net_desc bad = d;
    bad.n_inputs = 0;
    EXPECT(syn_net_create(&bad, &net), SYN_ERR_INVALID_ARGUMENT);
    bad = d;
    bad.n_layers = 0;
    EXPECT(syn_net_create(&bad, &net), SYN_ERR_INVALID_ARGUMENT);
    bad = d;
    bad.layers = NULL;
    EXPECT(syn_net_create(&bad, &net), SYN_ERR_INVALID_ARGUMENT);
    bad = d;
    bad.loss = (syn_loss)77;
    EXPECT(syn_net_create(&bad, &net), SYN_ERR_INVALID_ARGUMENT);
    bad = d;
    bad.init = (syn_init)-1;
    EXPECT(syn_net_create(&bad, &net), SYN_ERR_INVALID_ARGUMENT);
    bad = d;
    bad.loss = SYN_LOSS_BCE; /* BCE needs a sigmoid output */
    EXPECT(syn_net_create(&bad, &net), SYN_ERR_INVALID_ARGUMENT);
    syn_layer_desc zero[2] = {{.units = 0}, {.units = 2, .activation = SYN_ACT_SOFTMAX}};
    bad = d;
    bad.layers = zero;
    EXPECT(syn_net_create(&bad, &net), SYN_ERR_INVALID_ARGUMENT);
    syn_layer_desc early_softmax[2] = {{.units = 3, .activation = SYN_ACT_SOFTMAX},
                                       {.units = 2, .activation = SYN_ACT_SOFTMAX}};
    bad.layers = early_softmax;
    EXPECT(syn_net_create(&bad, &net), SYN_ERR_INVALID_ARGUMENT);
    syn_layer_desc neg_slope[2] = {{.units = 3, .activation = SYN_ACT_LEAKY_RELU,
                                    .leaky_slope = -1},
                                   {.units = 2, .activation = SYN_ACT_SOFTMAX}};
    bad.layers = neg_slope;
    EXPECT(syn_net_create(&bad, &net), SYN_ERR_INVALID_ARGUMENT);
    syn_layer_desc huge[2] = {{.units = SIZE_MAX / 2}, {.units = SIZE_MAX / 2}};
    bad = d;
    bad.loss = SYN_LOSS_MSE;
    bad.n_inputs = SIZE_MAX / 2;
    bad.layers = huge;
    EXPECT(syn_net_create(&bad, &net), SYN_ERR_OVERFLOW);
    CHECK(net == NULL, "still NULL");
}

static void test_net_accessors(syn_net *net)
{
    syn_net *clone = NULL;
    EXPECT(syn_net_clone(NULL, &clone), SYN_ERR_INVALID_ARGUMENT);
    EXPECT(syn_net_clone(net, NULL), SYN_ERR_INVALID_ARGUMENT);
    EXPECT(syn_net_copy_params(NULL, net), SYN_ERR_INVALID_ARGUMENT);
    EXPECT(syn_net_init_weights(net, (syn_init)9, 1), SYN_ERR_INVALID_ARGUMENT);
    EXPECT(syn_net_init_weights(NULL, SYN_INIT_UNIFORM, 1), SYN_ERR_INVALID_ARGUMENT);
    EXPECT(syn_net_set_loss(net, SYN_LOSS_BCE, SYN_REDUCTION_MEAN), SYN_ERR_INVALID_ARGUMENT);
    EXPECT(syn_net_set_loss(net, SYN_LOSS_MSE, (syn_reduction)5), SYN_ERR_INVALID_ARGUMENT);
    CHECK(syn_net_loss(net) == SYN_LOSS_CROSS_ENTROPY, "loss unchanged after failures");
    EXPECT(syn_net_layer(net, 2, NULL, NULL), SYN_ERR_INVALID_ARGUMENT);
    EXPECT(syn_net_layer(NULL, 0, NULL, NULL), SYN_ERR_INVALID_ARGUMENT);
    EXPECT(syn_net_layer_offsets(net, 9, NULL, NULL), SYN_ERR_INVALID_ARGUMENT);
    EXPECT(syn_net_layer_params(net, 9, NULL, NULL), SYN_ERR_INVALID_ARGUMENT);
    float off[2] = {0, 0}, bad_scale[2] = {1, NAN};
    EXPECT(syn_net_set_input_scaling(net, off, NULL), SYN_ERR_INVALID_ARGUMENT);
    EXPECT(syn_net_set_input_scaling(net, off, bad_scale), SYN_ERR_INVALID_ARGUMENT);
    EXPECT(syn_net_input_scaling(NULL, NULL, NULL), SYN_ERR_INVALID_ARGUMENT);
    const char *names[2] = {"a", NULL};
    EXPECT(syn_net_set_class_names(net, names, 2), SYN_ERR_INVALID_ARGUMENT);
    EXPECT(syn_net_set_class_names(net, NULL, 2), SYN_ERR_INVALID_ARGUMENT);
    CHECK(syn_net_class_name(net, 0) == NULL, "no names after failed set");
    EXPECT(syn_net_set_meta(net, NULL), SYN_ERR_INVALID_ARGUMENT);
    EXPECT(syn_net_meta(net, NULL), SYN_ERR_INVALID_ARGUMENT);
    CHECK(syn_net_n_inputs(NULL) == 0 && syn_net_param_count(NULL) == 0, "NULL getters");
    CHECK(syn_net_params(NULL, NULL) == NULL, "NULL params");
    syn_layer_desc other[1] = {{.units = 2}};
    syn_net_desc od = {.n_inputs = 2, .n_layers = 1, .layers = other};
    syn_net *different = NULL;
    CHECK_OK(syn_net_create(&od, &different));
    EXPECT(syn_net_copy_params(net, different), SYN_ERR_SHAPE);
    syn_net_free(different);
    syn_net_free(NULL);
}

static void test_passes(syn_net *net)
{
    syn_workspace *ws = NULL;
    EXPECT(syn_workspace_create(net, 0, &ws), SYN_ERR_INVALID_ARGUMENT);
    EXPECT(syn_workspace_create(NULL, 4, &ws), SYN_ERR_INVALID_ARGUMENT);
    EXPECT(syn_workspace_create(net, 4, NULL), SYN_ERR_INVALID_ARGUMENT);
    EXPECT(syn_workspace_create(net, SIZE_MAX / 2, &ws), SYN_ERR_OVERFLOW);
    CHECK_OK(syn_workspace_create(net, 4, &ws));
    EXPECT(syn_workspace_set_threads(ws, -1), SYN_ERR_INVALID_ARGUMENT);
    const float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, t[8] = {1, 0, 0, 1, 1, 0, 0, 1};
    const float *out;
    double loss;
    EXPECT(syn_backward(net, ws, t, 4), SYN_ERR_STATE); /* before any forward */
    EXPECT(syn_loss_value(net, ws, t, 4, &loss), SYN_ERR_STATE);
    EXPECT(syn_forward(net, ws, NULL, 4, &out), SYN_ERR_INVALID_ARGUMENT);
    EXPECT(syn_forward(net, ws, x, 0, &out), SYN_ERR_INVALID_ARGUMENT);
    EXPECT(syn_forward(net, ws, x, 5, &out), SYN_ERR_SHAPE);
    EXPECT(syn_forward(NULL, ws, x, 4, &out), SYN_ERR_INVALID_ARGUMENT);
    EXPECT(syn_forward(net, NULL, x, 4, &out), SYN_ERR_INVALID_ARGUMENT);
    CHECK_OK(syn_forward(net, ws, x, 4, &out));
    EXPECT(syn_backward(net, ws, t, 3), SYN_ERR_STATE); /* batch differs from forward */
    EXPECT(syn_loss_value(net, ws, t, 4, NULL), SYN_ERR_INVALID_ARGUMENT);
    EXPECT(syn_backward_from_output(net, ws, NULL, 4), SYN_ERR_INVALID_ARGUMENT);
    syn_layer_desc other[1] = {{.units = 2}};
    syn_net_desc od = {.n_inputs = 2, .n_layers = 1, .layers = other};
    syn_net *different = NULL;
    syn_net_create(&od, &different);
    EXPECT(syn_forward(different, ws, x, 4, &out), SYN_ERR_SHAPE);
    EXPECT(syn_workspace_layer_grads(ws, different, 0, NULL, NULL), SYN_ERR_SHAPE);
    EXPECT(syn_workspace_layer_grads(ws, net, 7, NULL, NULL), SYN_ERR_INVALID_ARGUMENT);
    CHECK(syn_workspace_activations(ws, 7) == NULL, "activations out of range");
    syn_net_free(different);
    {
        /* Same widths and parameter count, another layout: a GELU hidden
         * layer keeps its pre-activations, a ReLU one does not. The
         * workspace of one refuses the other; a clone fits, and so does a
         * net whose layer (flatten for dropout) keeps the same blocks. */
        syn_layer_desc a[3] = {{.units = 8, .activation = SYN_ACT_RELU},
                               {.kind = SYN_LAYER_DROPOUT, .rate = 0.5f},
                               {.units = 2}};
        syn_layer_desc b[3] = {{.units = 8, .activation = SYN_ACT_GELU},
                               {.kind = SYN_LAYER_DROPOUT, .rate = 0.5f},
                               {.units = 2}};
        syn_layer_desc c[3] = {{.units = 8, .activation = SYN_ACT_RELU},
                               {.kind = SYN_LAYER_FLATTEN},
                               {.units = 2}};
        syn_net_desc da = {.n_inputs = 3, .n_layers = 3, .layers = a};
        syn_net_desc db = da, dc = da;
        db.layers = b;
        dc.layers = c;
        syn_net *na = NULL, *nb = NULL, *nc = NULL, *clone = NULL;
        syn_workspace *wa = NULL;
        CHECK_OK(syn_net_create(&da, &na));
        CHECK_OK(syn_net_create(&db, &nb));
        CHECK_OK(syn_net_create(&dc, &nc));
        CHECK_OK(syn_net_clone(na, &clone));
        CHECK_OK(syn_workspace_create(na, 4, &wa));
        const float x3[12] = {0};
        CHECK(syn_net_param_count(na) == syn_net_param_count(nb) &&
                  syn_net_param_count(na) == syn_net_param_count(nc),
              "same parameter counts");
        EXPECT(syn_forward(nb, wa, x3, 4, &out), SYN_ERR_SHAPE);
        CHECK_OK(syn_forward(nc, wa, x3, 4, &out));
        CHECK_OK(syn_forward(clone, wa, x3, 4, &out));
        CHECK_OK(syn_forward(na, wa, x3, 4, &out));
        syn_workspace_free(wa);
        syn_net_free(clone);
        syn_net_free(nc);
        syn_net_free(nb);
        syn_net_free(na);
    }
    /* Still usable after all of that. */
    CHECK_OK(syn_forward(net, ws, x, 4, &out));
    CHECK_OK(syn_loss_value(net, ws, t, 4, &loss));
    CHECK_OK(syn_backward(net, ws, t, 4));
    CHECK(loss > 0 && loss < 10, "sane loss %g", loss);
    syn_workspace_free(ws);
    syn_workspace_free(NULL);
}

static void test_optimizer(syn_net *net)
{
    syn_optimizer *opt = NULL;
    syn_optim_desc d = syn_optim_defaults(SYN_OPTIM_ADAM);
    EXPECT(syn_optimizer_create(NULL, &d, &opt), SYN_ERR_INVALID_ARGUMENT);
    EXPECT(syn_optimizer_create(net, NULL, &opt), SYN_ERR_INVALID_ARGUMENT);
    d.beta1 = 1.0f;
    EXPECT(syn_optimizer_create(net, &d, &opt), SYN_ERR_INVALID_ARGUMENT);
    d = syn_optim_defaults(SYN_OPTIM_NESTEROV);
    d.dampening = 0.5f;
    EXPECT(syn_optimizer_create(net, &d, &opt), SYN_ERR_INVALID_ARGUMENT);
    d = syn_optim_defaults(SYN_OPTIM_SGD);
    d.lr = -1;
    EXPECT(syn_optimizer_create(net, &d, &opt), SYN_ERR_INVALID_ARGUMENT);
    d.lr = NAN;
    EXPECT(syn_optimizer_create(net, &d, &opt), SYN_ERR_INVALID_ARGUMENT);
    d.kind = (syn_optim_kind)42;
    EXPECT(syn_optimizer_create(net, &d, &opt), SYN_ERR_INVALID_ARGUMENT);
    d = syn_optim_defaults(SYN_OPTIM_SGD);
    CHECK_OK(syn_optimizer_create(net, &d, &opt));
    size_t n;
    float *p = syn_net_params(net, &n);
    float grads[64] = {0}, before = p[0];
    EXPECT(syn_optimizer_step(opt, net, grads, n - 1), SYN_ERR_SHAPE);
    EXPECT(syn_optimizer_step(opt, net, NULL, n), SYN_ERR_INVALID_ARGUMENT);
    EXPECT(syn_optimizer_set_lr(opt, -1), SYN_ERR_INVALID_ARGUMENT);
    EXPECT(syn_optimizer_set_threads(opt, -2), SYN_ERR_INVALID_ARGUMENT);
    CHECK(p[0] == before, "params untouched by failed steps");
    grads[0] = 1.0f;
    CHECK_OK(syn_optimizer_step(opt, net, grads, n));
    CHECK(p[0] == before - 0.01f, "a good step still works");
    EXPECT(syn_optimizer_moments(NULL, NULL, NULL, NULL), SYN_ERR_INVALID_ARGUMENT);
    EXPECT(syn_clip_grad_norm(NULL, 3, 1, NULL), SYN_ERR_INVALID_ARGUMENT);
    EXPECT(syn_clip_grad_norm(grads, 0, 1, NULL), SYN_ERR_INVALID_ARGUMENT);
    syn_optimizer_free(opt);
    syn_optimizer_free(NULL);
}

static void test_trainer(syn_net *net)
{
    syn_trainer *tr = NULL;
    syn_optim_desc d = syn_optim_defaults(SYN_OPTIM_SGD);
    syn_train_desc td = {.batch_size = 2};
    EXPECT(syn_trainer_create(NULL, &d, &td, &tr), SYN_ERR_INVALID_ARGUMENT);
    EXPECT(syn_trainer_create(net, &d, NULL, &tr), SYN_ERR_INVALID_ARGUMENT);
    td.clip_norm = -1;
    EXPECT(syn_trainer_create(net, &d, &td, &tr), SYN_ERR_INVALID_ARGUMENT);
    td.clip_norm = 0;
    td.schedule.kind = (syn_schedule_kind)8;
    EXPECT(syn_trainer_create(net, &d, &td, &tr), SYN_ERR_INVALID_ARGUMENT);
    td.schedule.kind = SYN_SCHEDULE_CONSTANT;
    CHECK_OK(syn_trainer_create(net, &d, &td, &tr));
    const float x[4] = {1, 2, 3, 4}, y[4] = {1, 0, 0, 1};
    EXPECT(syn_trainer_step(tr, NULL, y, 2, NULL), SYN_ERR_INVALID_ARGUMENT);
    EXPECT(syn_trainer_step(tr, x, y, 0, NULL), SYN_ERR_INVALID_ARGUMENT);
    EXPECT(syn_trainer_epoch(tr, NULL, NULL, 0, NULL, NULL, NULL), SYN_ERR_INVALID_ARGUMENT);
    CHECK_OK(syn_trainer_step(tr, x, y, 2, NULL));

    /* Rows out of range, for the trainer and the evaluator (both gather
     * straight into the workspace): an error, and the parameters and the
     * dataset are untouched. */
    const uint8_t pixels[6] = {0, 10, 20, 30, 40, 50};
    const uint32_t labels[3] = {0, 1, 1};
    syn_dataset *ds = NULL;
    CHECK_OK(syn_dataset_from_u8_labels(pixels, 3, 2, labels, 2, &ds));
    size_t n_params;
    float *params = syn_net_params(net, &n_params), before[64];
    CHECK(n_params <= 64, "net size %zu", n_params);
    memcpy(before, params, n_params * sizeof(float));
    const size_t bad_rows[3] = {0, 3, 1}, good_rows[3] = {2, 0, 1};
    syn_epoch_stats stats;
    EXPECT(syn_trainer_epoch(tr, ds, bad_rows, 3, NULL, NULL, &stats), SYN_ERR_INVALID_ARGUMENT);
    CHECK(memcmp(before, params, n_params * sizeof(float)) == 0, "parameters changed");
    syn_workspace *ws = NULL;
    CHECK_OK(syn_workspace_create(net, 2, &ws));
    syn_eval ev;
    EXPECT(syn_evaluate(net, ws, ds, bad_rows, 3, &ev, NULL), SYN_ERR_INVALID_ARGUMENT);
    CHECK_OK(syn_evaluate(net, ws, ds, good_rows, 3, &ev, NULL));
    CHECK(ev.samples == 3, "evaluated %zu samples", (size_t)ev.samples);
    CHECK_OK(syn_trainer_epoch(tr, ds, good_rows, 3, NULL, NULL, &stats));
    CHECK(stats.samples == 3, "trained on %zu samples", (size_t)stats.samples);
    syn_workspace_free(ws);
    syn_dataset_free(ds);
    syn_trainer_free(tr);
    syn_trainer_free(NULL);
}

int main(void)
{
    CHECK(strcmp(syn_strerror(SYN_OK), "success") == 0, "strerror OK");
    for (int s = 0; s <= SYN_STATUS_COUNT_; s++)
        CHECK(syn_strerror((syn_status)s) != NULL, "strerror %d", s);
    CHECK(strcmp(syn_strerror((syn_status)999), "unknown status") == 0, "unknown status");
    test_create();
    syn_net *net = small_net();
    CHECK(net != NULL, "small net");
    test_net_accessors(net);
    test_passes(net);
    test_optimizer(net);
    test_trainer(net);
    syn_net_free(net);
    return check_finish();
}
