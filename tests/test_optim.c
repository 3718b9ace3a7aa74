/* test_optim.c - optimizer steps, clipping and schedules against values
 * worked out by hand from the update rules (PyTorch's documentation of
 * torch.optim.SGD / Adam / AdamW; Kingma & Ba 2015, Algorithm 1), on a
 * network with a single parameter p = 1 and chosen gradients. */
#include "check.h"
#include "synapse.h"

/* A net whose only parameter is one weight, set to 1. */
static syn_net *one_param_net(void)
{
    syn_layer_desc layer = {.units = 1, .no_bias = 1};
    syn_net_desc desc = {.n_inputs = 1, .n_layers = 1, .layers = &layer};
    syn_net *net = NULL;
    syn_net_create(&desc, &net);
    syn_net_params(net, NULL)[0] = 1.0f;
    return net;
}

/* Runs the gradients through an optimizer and checks p after each step. */
static void run(const char *name, syn_optim_desc d, const float *grads, const double *want,
                int steps)
{
    syn_net *net = one_param_net();
    syn_optimizer *opt = NULL;
    CHECK_OK(syn_optimizer_create(net, &d, &opt));
    for (int s = 0; opt && s < steps; s++) {
        CHECK_OK(syn_optimizer_step(opt, net, &grads[s], 1));
        float p = syn_net_params(net, NULL)[0];
        CHECK_CLOSE(p, want[s], 1e-6, 1e-7, "%s step %d: p = %.9g, want %.9g", name, s + 1, p,
                    want[s]);
    }
    CHECK(syn_optimizer_steps(opt) == (uint64_t)steps, "%s: step count", name);
    syn_optimizer_free(opt);
    syn_net_free(net);
}

static void test_sgd_family(void)
{
    const float g[3] = {0.5f, 0.5f, -1.0f};
    syn_optim_desc d = syn_optim_defaults(SYN_OPTIM_SGD);
    d.lr = 0.1f;
    /* p -= 0.1 g */
    run("sgd", d, g, (const double[]){0.95, 0.90, 1.00}, 3);
    d.weight_decay = 0.1f; /* g + 0.1 p: 0.6; 0.5 + 0.094 = 0.594; -1 + 0.08806 */
    run("sgd+wd", d, g, (const double[]){0.94, 0.8806, 0.971794}, 3);

    d = syn_optim_defaults(SYN_OPTIM_MOMENTUM);
    d.lr = 0.1f; /* buf: 0.5; 0.9*0.5+0.5 = 0.95; 0.855-1 = -0.145 */
    run("momentum", d, g, (const double[]){0.95, 0.855, 0.8695}, 3);
    d.dampening = 0.5f; /* buf: 0.5 (first step undamped); 0.45+0.25 = 0.7; 0.63-0.5 = 0.13 */
    run("momentum+dampening", d, g, (const double[]){0.95, 0.88, 0.867}, 3);

    d = syn_optim_defaults(SYN_OPTIM_NESTEROV);
    d.lr = 0.1f; /* buf as momentum; step g + 0.9 buf: 0.95; 1.355; -1 - 0.1305 = -1.1305 */
    run("nesterov", d, g, (const double[]){0.905, 0.7695, 0.88255}, 3);
}

static void test_adam_family(void)
{
    const float g[3] = {0.5f, -0.25f, 1.0f};
    syn_optim_desc d = syn_optim_defaults(SYN_OPTIM_ADAM);
    d.lr = 0.1f;
    /* step 1: m^ = g, v^ = g^2, so p moves by lr (less eps); then the moments mix. */
    run("adam", d, g, (const double[]){0.900000002, 0.873366299, 0.807555140}, 3);
    d.weight_decay = 0.1f; /* L2: g + 0.1 p enters the moments */
    run("adam+l2", d, g, (const double[]){0.900000002, 0.854441367, 0.781504400}, 3);
    d = syn_optim_defaults(SYN_OPTIM_ADAMW);
    d.lr = 0.1f;
    d.weight_decay = 0.1f; /* p *= 1 - 0.01 first, moments see g alone */
    run("adamw", d, g, (const double[]){0.890000002, 0.854466299, 0.780110477}, 3);
}

static void test_defaults(void)
{
    syn_optim_desc a = syn_optim_defaults(SYN_OPTIM_ADAM);
    CHECK(a.lr == 1e-3f && a.beta1 == 0.9f && a.beta2 == 0.999f && a.eps == 1e-8f &&
              a.weight_decay == 0.0f,
          "Adam defaults");
    syn_optim_desc w = syn_optim_defaults(SYN_OPTIM_ADAMW);
    CHECK(w.weight_decay == 0.01f && w.lr == 1e-3f, "AdamW defaults");
    syn_optim_desc m = syn_optim_defaults(SYN_OPTIM_MOMENTUM);
    CHECK(m.momentum == 0.9f && m.dampening == 0.0f, "momentum defaults");
}

static void test_clip(void)
{
    float g[2] = {3.0f, 4.0f};
    double norm = 0;
    CHECK_OK(syn_clip_grad_norm(g, 2, 1.0f, &norm));
    CHECK_CLOSE(norm, 5.0, 1e-12, 0, "norm before clipping");
    /* coef = 1 / (5 + 1e-6) */
    CHECK_CLOSE(g[0], 3.0 / 5.000001, 1e-6, 0, "clipped g0 %.9g", g[0]);
    CHECK_CLOSE(g[1], 4.0 / 5.000001, 1e-6, 0, "clipped g1 %.9g", g[1]);
    float small[2] = {0.3f, 0.4f};
    CHECK_OK(syn_clip_grad_norm(small, 2, 1.0f, NULL));
    CHECK(small[0] == 0.3f && small[1] == 0.4f, "below the bound: untouched");
    CHECK(syn_clip_grad_norm(g, 2, 0.0f, NULL) == SYN_ERR_INVALID_ARGUMENT, "max_norm 0");
}

static void test_schedules(void)
{
    syn_schedule step = {.kind = SYN_SCHEDULE_STEP, .step_size = 2, .gamma = 0.5f};
    const double want_step[5] = {0.1, 0.1, 0.05, 0.05, 0.025};
    for (int e = 0; e < 5; e++)
        CHECK_CLOSE(syn_schedule_lr(&step, 0.1f, (size_t)e), want_step[e], 1e-6, 0,
                    "step epoch %d", e);
    syn_schedule cosine = {.kind = SYN_SCHEDULE_COSINE, .t_max = 4};
    const double want_cos[6] = {0.1, 0.0853553391, 0.05, 0.0146446609, 0.0, 0.0};
    for (int e = 0; e < 6; e++)
        CHECK_CLOSE(syn_schedule_lr(&cosine, 0.1f, (size_t)e), want_cos[e], 1e-6, 1e-9,
                    "cosine epoch %d", e);
    syn_schedule constant = {.kind = SYN_SCHEDULE_CONSTANT};
    CHECK(syn_schedule_lr(&constant, 0.1f, 7) == 0.1f, "constant");
}

int main(void)
{
    test_sgd_family();
    test_adam_family();
    test_defaults();
    test_clip();
    test_schedules();
    return check_finish();
}
