/* test_tables.c - the activation and optimizer tables against PyTorch
 * (fixtures from tests/fixtures/gen_torch_tables.py): every activation's
 * output and derivative on a grid of inputs, every optimizer's parameters
 * after each of 12 steps (weight decay, momentum, centered, lr_decay,
 * initial accumulator, momentum_decay cases); a bit-exact resume of every
 * optimizer case through a model file; names and parsing; bad descriptions
 * refused with an error naming the field.
 *
 * Bounds. Activations: the fixture is PyTorch's float64 value at the
 * float32 input, and synapse computes in float32 with expf-class functions
 * within a few ulps (fast_expf, sigmoidf, glibc's erfcf, expm1f, log1pf,
 * tanhf): 1e-5 relative (the worst case is printed; it is near 1e-7), plus
 * two absolute floors that are the references' own precision, not ours:
 * 1e-15 max(1, |x|) because PyTorch's float64 GELU computes 1 + erf(x/sqrt 2)
 * (and 1 + tanh), which cancels to 0 for x < -8 where the true value (and
 * synapse's, through erfcf and a sigmoid) is ~1e-28; and 2^-23 for the
 * derivatives, whose terms are of order 1: taken from the outputs (sigmoid,
 * tanh: a (1 - a), 1 - a^2) their absolute error is that of a float near 1,
 * as in PyTorch's own float32 sigmoid_backward and tanh_backward, and
 * GELU's derivative, a sum of terms of order 1, crosses zero near x = -0.75
 * (0.001 there, off by 4e-8). Optimizers: each step is ~10
 * float32 operations per element, as in PyTorch (float32 with scalars from
 * Python doubles); parameters of order 1 moving by ~0.1 a step agree within
 * 1e-5 relative, and within 1e-6 absolute where a parameter crosses zero
 * after 12 steps (a few float32 ulps of the distance travelled). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "layers/activation.h"
#include "synapse.h"

#define MAX_GRID 512
#define OPT_N 7
#define OPT_STEPS 12

static FILE *open_fixture(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/fixtures/torch/%s", SYN_TEST_DIR, name);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "cannot open %s", path);
    return f;
}

/* Next line that is not a comment, into buf; 0 at the end. */
static int next_line(FILE *f, char *buf, size_t size)
{
    while (fgets(buf, (int)size, f))
        if (buf[0] != '#')
            return 1;
    return 0;
}

static void test_activation_golden(void)
{
    FILE *f = open_fixture("activations.txt");
    if (!f)
        return;
    char line[512];
    CHECK(next_line(f, line, sizeof line) && strncmp(line, "synapse-activations 1", 21) == 0,
          "activations.txt header");
    int seen[SYN_ACT_COUNT_] = {0};
    static float x[MAX_GRID], a[MAX_GRID], d[MAX_GRID];
    static double want_a[MAX_GRID], want_d[MAX_GRID];
    while (next_line(f, line, sizeof line)) {
        char name[64], param_text[64];
        size_t n = 0;
        if (sscanf(line, "act %63s %63s %zu", name, param_text, &n) != 3 || n > MAX_GRID) {
            CHECK(0, "bad line: %s", line);
            break;
        }
        syn_activation act;
        CHECK_OK(syn_activation_parse(name, &act));
        float param = (float)strtod(param_text, NULL);
        for (size_t i = 0; i < n; i++) {
            char xs[64], as[64], ds[64];
            if (!next_line(f, line, sizeof line) || sscanf(line, "%63s %63s %63s", xs, as, ds) != 3)
                break;
            x[i] = (float)strtod(xs, NULL);
            want_a[i] = strtod(as, NULL);
            want_d[i] = strtod(ds, NULL);
        }
        seen[act] = 1;
        float p = syn_activation_param(act, param);
        memcpy(a, x, n * sizeof *a);
        syn_activation_forward(act, p, a, 1, n);
        for (size_t i = 0; i < n; i++)
            d[i] = 1.0f;
        syn_activation_backward(act, p, a, x, d, 1, n);
        int bad_a = 0, bad_d = 0;
        double worst_a = 0, worst_d = 0;
        const double order_one = 0x1p-23;
        for (size_t i = 0; i < n; i++) {
            double ea = fabs(a[i] - want_a[i]), ed = fabs(d[i] - want_d[i]);
            double floor_ref = 1e-15 * (fabs(x[i]) > 1 ? fabs(x[i]) : 1.0);
            if (!(ea <= 1e-5 * fabs(want_a[i]) + floor_ref) && bad_a++ < 3)
                fprintf(stderr, "%s(%g) at x = %.9g: %.9g, torch %.9g\n", name, param, x[i],
                        a[i], want_a[i]);
            if (!(ed <= 1e-5 * fabs(want_d[i]) + floor_ref + order_one) && bad_d++ < 3)
                fprintf(stderr, "%s'(%g) at x = %.9g: %.9g, torch %.9g\n", name, param, x[i],
                        d[i], want_d[i]);
            /* The worst relative error where the references are exact. */
            if (fabs(want_a[i]) > 1e-6 && ea / fabs(want_a[i]) > worst_a)
                worst_a = ea / fabs(want_a[i]);
            if (fabs(want_d[i]) > 1e-6 && ed / fabs(want_d[i]) > worst_d)
                worst_d = ed / fabs(want_d[i]);
        }
        CHECK(bad_a == 0, "%s(%g): %d of %zu outputs off", name, param, bad_a, n);
        CHECK(bad_d == 0, "%s(%g): %d of %zu derivatives off", name, param, bad_d, n);
        printf("%-10s %-5g worst relative error: output %.2e, derivative %.2e\n", name, param,
               worst_a, worst_d);
    }
    fclose(f);
    for (int act = 0; act < SYN_ACT_COUNT_; act++)
        CHECK(seen[act] || syn_act_info_of((syn_activation)act)->output_only,
              "activations.txt has no %s (regenerate it)", syn_activation_name(act));
}

typedef struct opt_case {
    char label[64];
    syn_optim_desc desc;
    float want[OPT_STEPS][OPT_N];
} opt_case;

static int read_floats(const char *text, float *out, int n)
{
    char *end;
    for (int i = 0; i < n; i++) {
        out[i] = (float)strtod(text, &end);
        if (end == text)
            return 0;
        text = end;
    }
    return 1;
}

/* A net whose parameters are one no-bias weight row of OPT_N inputs. */
static syn_net *vector_net(const float *p0)
{
    syn_layer_desc layer = {.units = 1, .no_bias = 1};
    syn_net_desc desc = {.n_inputs = OPT_N, .n_layers = 1, .layers = &layer};
    syn_net *net = NULL;
    if (syn_net_create(&desc, &net) != SYN_OK)
        return NULL;
    memcpy(syn_net_params(net, NULL), p0, OPT_N * sizeof *p0);
    return net;
}

static char tmp_dir[] = "/tmp/synapse_tables_XXXXXX";

/* Steps [from, to) of the gradient sequence. */
static int run_steps(syn_optimizer *opt, syn_net *net, float g[][OPT_N], int from, int to)
{
    for (int s = from; s < to; s++)
        if (syn_optimizer_step(opt, net, g[s], OPT_N) != SYN_OK)
            return 0;
    return 1;
}

/* 5 steps, save with the optimizer, load, 7 more: the same bits as 12. */
static void check_resume(const opt_case *c, const float *p0, float g[][OPT_N])
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s.syn", tmp_dir, c->label);
    syn_net *net = vector_net(p0), *again = vector_net(p0), *loaded = NULL;
    syn_optimizer *opt = NULL, *opt2 = NULL, *opt_loaded = NULL;
    syn_error err = {{0}};
    CHECK_OK(syn_optimizer_create(net, &c->desc, &opt));
    CHECK_OK(syn_optimizer_create(again, &c->desc, &opt2));
    if (!opt || !opt2)
        goto done;
    CHECK(run_steps(opt, net, g, 0, OPT_STEPS), "%s: steps", c->label);
    CHECK(run_steps(opt2, again, g, 0, 5), "%s: first steps", c->label);
    CHECK(syn_net_save(again, opt2, path, &err) == SYN_OK, "%s: save: %s", c->label,
          err.message);
    CHECK(syn_net_load(path, &loaded, &opt_loaded, &err) == SYN_OK, "%s: load: %s", c->label,
          err.message);
    if (!loaded || !opt_loaded)
        goto done;
    syn_optim_desc back = syn_optimizer_desc(opt_loaded);
    const syn_optim_desc *d = &c->desc;
    int same = back.kind == d->kind && back.lr == d->lr && back.momentum == d->momentum &&
               back.dampening == d->dampening && back.beta1 == d->beta1 &&
               back.beta2 == d->beta2 && back.eps == d->eps &&
               back.weight_decay == d->weight_decay;
    /* The settings of the kinds added with the tables (the older kinds'
     * records have none of these: they ignore them). */
    if (d->kind >= SYN_OPTIM_RMSPROP)
        same = same && back.alpha == d->alpha && back.centered == d->centered &&
               back.lr_decay == d->lr_decay &&
               back.initial_accumulator_value == d->initial_accumulator_value &&
               back.momentum_decay == d->momentum_decay;
    CHECK(same, "%s: settings survive", c->label);
    CHECK(syn_optimizer_n_arenas(opt_loaded) == syn_optimizer_n_arenas(opt),
          "%s: arena count", c->label);
    CHECK(run_steps(opt_loaded, loaded, g, 5, OPT_STEPS), "%s: resumed steps", c->label);
    CHECK(memcmp(syn_net_params(loaded, NULL), syn_net_params(net, NULL),
                 OPT_N * sizeof(float)) == 0,
          "%s: resumed through a model file, bit for bit", c->label);
    for (size_t k = 0; k < syn_optimizer_n_arenas(opt); k++) {
        float *x = NULL, *y = NULL;
        syn_optimizer_arena(opt, k, &x, NULL, NULL);
        syn_optimizer_arena(opt_loaded, k, &y, NULL, NULL);
        CHECK(x && y && memcmp(x, y, OPT_N * sizeof(float)) == 0, "%s: arena %zu", c->label,
              k);
    }
done:
    unlink(path);
    syn_optimizer_free(opt);
    syn_optimizer_free(opt2);
    syn_optimizer_free(opt_loaded);
    syn_net_free(net);
    syn_net_free(again);
    syn_net_free(loaded);
}

static void test_optimizer_golden(void)
{
    FILE *f = open_fixture("optimizers.txt");
    if (!f)
        return;
    char line[2048];
    int n = 0, steps = 0;
    CHECK(next_line(f, line, sizeof line) && strncmp(line, "synapse-optimizers 1", 20) == 0,
          "optimizers.txt header");
    CHECK(next_line(f, line, sizeof line) && sscanf(line, "n %d steps %d", &n, &steps) == 2 &&
              n == OPT_N && steps == OPT_STEPS,
          "optimizers.txt shape");
    float p0[OPT_N], g[OPT_STEPS][OPT_N];
    CHECK(next_line(f, line, sizeof line) && read_floats(line + 3, p0, OPT_N), "p0");
    for (int s = 0; s < OPT_STEPS; s++)
        CHECK(next_line(f, line, sizeof line) && read_floats(line + 5, g[s], OPT_N), "grad");
    int seen[SYN_OPTIM_COUNT_] = {0};
    static opt_case c;
    while (next_line(f, line, sizeof line)) {
        char kind_name[32];
        float v[12];
        int used = 0;
        if (sscanf(line, "case %63s %31s %n", c.label, kind_name, &used) != 2 ||
            !read_floats(line + used, v, 12)) {
            CHECK(0, "bad line: %s", line);
            break;
        }
        syn_optim_kind kind;
        CHECK_OK(syn_optim_parse(kind_name, &kind));
        seen[kind] = 1;
        c.desc = syn_optim_defaults(kind);
        c.desc.lr = v[0];
        c.desc.momentum = v[1];
        c.desc.dampening = v[2];
        c.desc.beta1 = v[3];
        c.desc.beta2 = v[4];
        c.desc.eps = v[5];
        c.desc.weight_decay = v[6];
        c.desc.alpha = v[7];
        c.desc.centered = (int)v[8];
        c.desc.lr_decay = v[9];
        c.desc.initial_accumulator_value = v[10];
        c.desc.momentum_decay = v[11];
        for (int s = 0; s < OPT_STEPS; s++)
            CHECK(next_line(f, line, sizeof line) && read_floats(line + 2, c.want[s], OPT_N),
                  "%s: step %d", c.label, s);
        syn_net *net = vector_net(p0);
        syn_optimizer *opt = NULL;
        syn_error err = {{0}};
        CHECK(syn_optim_validate(&c.desc, &err) == SYN_OK, "%s: %s", c.label, err.message);
        CHECK_OK(syn_optimizer_create(net, &c.desc, &opt));
        int bad = 0;
        for (int s = 0; opt && s < OPT_STEPS; s++) {
            CHECK_OK(syn_optimizer_step(opt, net, g[s], OPT_N));
            const float *p = syn_net_params(net, NULL);
            for (int i = 0; i < OPT_N; i++)
                if (!(fabs(p[i] - c.want[s][i]) <= 1e-5 * fabs(c.want[s][i]) + 1e-6) &&
                    bad++ < 3)
                    fprintf(stderr, "%s step %d p[%d]: %.9g, torch %.9g\n", c.label, s + 1, i,
                            p[i], c.want[s][i]);
        }
        CHECK(bad == 0, "%s: %d parameters off torch", c.label, bad);
        syn_optimizer_free(opt);
        syn_net_free(net);
        check_resume(&c, p0, g);
    }
    fclose(f);
    for (int k = 0; k < SYN_OPTIM_COUNT_; k++)
        if (k != SYN_OPTIM_MOMENTUM && k != SYN_OPTIM_NESTEROV) /* test_golden's */
            CHECK(seen[k], "optimizers.txt has no %s (regenerate it)",
                  syn_optim_name((syn_optim_kind)k));
}

static void test_names(void)
{
    for (int a = 0; a < SYN_ACT_COUNT_; a++) {
        syn_activation back;
        const char *name = syn_activation_name((syn_activation)a);
        CHECK(syn_activation_parse(name, &back) == SYN_OK && back == (syn_activation)a,
              "activation %d (%s) round trip", a, name);
        const syn_act_info *info = syn_act_info_of((syn_activation)a);
        /* The small kernels keep no pre-activations. */
        CHECK(!(info->needs_z && info->small_path), "%s: needs_z on the small path", name);
        CHECK(info->forward && info->backward, "%s: forward and backward", name);
        CHECK((info->c_body != NULL) == (a != SYN_ACT_LINEAR && !info->output_only),
              "%s: a C form", name);
    }
    for (int k = 0; k < SYN_OPTIM_COUNT_; k++) {
        syn_optim_kind back;
        const char *name = syn_optim_name((syn_optim_kind)k);
        CHECK(syn_optim_parse(name, &back) == SYN_OK && back == (syn_optim_kind)k,
              "optimizer %d (%s) round trip", k, name);
        syn_optim_desc d = syn_optim_defaults((syn_optim_kind)k);
        CHECK(syn_optim_validate(&d, NULL) == SYN_OK, "%s: defaults valid", name);
    }
    syn_activation act;
    syn_optim_kind kind;
    CHECK(syn_activation_parse("gelu_erf", &act) == SYN_ERR_INVALID_ARGUMENT, "unknown act");
    CHECK(syn_activation_parse(NULL, &act) == SYN_ERR_INVALID_ARGUMENT, "NULL act");
    CHECK(syn_optim_parse("adamax", &kind) == SYN_ERR_INVALID_ARGUMENT, "unknown optimizer");
    CHECK(strcmp(syn_activation_name(SYN_ACT_COUNT_), "unknown") == 0, "act out of range");
    CHECK(strcmp(syn_optim_name(SYN_OPTIM_COUNT_), "unknown") == 0, "optim out of range");
    /* PyTorch's defaults. */
    syn_optim_desc d = syn_optim_defaults(SYN_OPTIM_RMSPROP);
    CHECK(d.lr == 0.01f && d.alpha == 0.99f && d.eps == 1e-8f && d.momentum == 0.0f &&
              !d.centered && syn_optim_state_arenas(&d) == 1,
          "rmsprop defaults");
    d.momentum = 0.9f;
    d.centered = 1;
    CHECK(syn_optim_state_arenas(&d) == 3, "rmsprop with momentum, centered: 3 arenas");
    d = syn_optim_defaults(SYN_OPTIM_ADAGRAD);
    CHECK(d.lr == 0.01f && d.eps == 1e-10f && d.lr_decay == 0.0f &&
              d.initial_accumulator_value == 0.0f,
          "adagrad defaults");
    d = syn_optim_defaults(SYN_OPTIM_NADAM);
    CHECK(d.lr == 2e-3f && d.beta1 == 0.9f && d.beta2 == 0.999f && d.momentum_decay == 4e-3f,
          "nadam defaults");
    d = syn_optim_defaults(SYN_OPTIM_RADAM);
    CHECK(d.lr == 1e-3f && d.eps == 1e-8f, "radam defaults");
}

/* A bad setting is refused by validate (with the field in the message)
 * and by create. */
static void refused(syn_optim_desc d, const char *field)
{
    syn_error err = {{0}};
    CHECK(syn_optim_validate(&d, &err) == SYN_ERR_INVALID_ARGUMENT && strstr(err.message, field),
          "%s %s refused, message \"%s\"", syn_optim_name(d.kind), field, err.message);
    syn_layer_desc layer = {.units = 1};
    syn_net_desc nd = {.n_inputs = 2, .n_layers = 1, .layers = &layer};
    syn_net *net = NULL;
    syn_optimizer *opt = NULL;
    CHECK_OK(syn_net_create(&nd, &net));
    CHECK(syn_optimizer_create(net, &d, &opt) == SYN_ERR_INVALID_ARGUMENT && !opt,
          "create refuses %s", field);
    syn_net_free(net);
}

static void test_bad_descriptions(void)
{
    syn_optim_desc d = syn_optim_defaults(SYN_OPTIM_RMSPROP);
    d.alpha = -1.0f;
    refused(d, "alpha");
    d = syn_optim_defaults(SYN_OPTIM_RMSPROP);
    d.centered = 2;
    refused(d, "centered");
    d = syn_optim_defaults(SYN_OPTIM_RMSPROP);
    d.momentum = -0.5f;
    refused(d, "momentum");
    d = syn_optim_defaults(SYN_OPTIM_ADAGRAD);
    d.lr = NAN;
    refused(d, "lr");
    d = syn_optim_defaults(SYN_OPTIM_ADAGRAD);
    d.lr_decay = -0.1f;
    refused(d, "lr_decay");
    d = syn_optim_defaults(SYN_OPTIM_ADAGRAD);
    d.initial_accumulator_value = INFINITY;
    refused(d, "initial_accumulator_value");
    d = syn_optim_defaults(SYN_OPTIM_NADAM);
    d.momentum_decay = NAN;
    refused(d, "momentum_decay");
    d = syn_optim_defaults(SYN_OPTIM_NADAM);
    d.beta1 = 1.0f;
    refused(d, "beta1");
    d = syn_optim_defaults(SYN_OPTIM_RADAM);
    d.eps = 0.0f;
    refused(d, "eps");
    d = syn_optim_defaults(SYN_OPTIM_RADAM);
    d.weight_decay = -1.0f;
    refused(d, "weight_decay");
    d = syn_optim_defaults(SYN_OPTIM_ADAM);
    d.kind = SYN_OPTIM_COUNT_;
    refused(d, "unknown optimizer");
    /* Activation parameters: negative, NaN; output-only before the end. */
    const struct {
        syn_activation act;
        float param;
        int last_ok;
    } bad[] = {{SYN_ACT_ELU, -1.0f, 0},       {SYN_ACT_SOFTPLUS, -2.0f, 0},
               {SYN_ACT_LEAKY_RELU, NAN, 0},  {SYN_ACT_ELU, INFINITY, 0},
               {SYN_ACT_SOFTMAX, 0.0f, 1}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        syn_layer_desc layers[2] = {{.units = 3, .activation = bad[i].act,
                                     .leaky_slope = bad[i].param},
                                    {.units = 2}};
        syn_net_desc nd = {.n_inputs = 2, .n_layers = 2, .layers = layers};
        syn_net *net = NULL;
        CHECK(syn_net_create(&nd, &net) == SYN_ERR_INVALID_ARGUMENT && !net,
              "%s with %g on a hidden layer refused", syn_activation_name(bad[i].act),
              (double)bad[i].param);
        syn_net_free(net);
    }
}

int main(void)
{
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_names();
    test_activation_golden();
    test_optimizer_golden();
    test_bad_descriptions();
    rmdir(tmp_dir);
    return check_finish();
}
