/* demo.c - `synapse demo xor`: the seed notebook, line for line, through the
 * public API. A 3-4-1 sigmoid network without biases (the constant third
 * input plays the bias) learns XOR by full-batch gradient descent: the
 * notebook's update w += layer.T . (error * sigmoid') is plain SGD with
 * learning rate 1 on the gradient of 1/2 sum (y - out)^2, whose derivative
 * with respect to the outputs is out - y. Then the same start with Adam. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "synapse.h"

#define XOR_SAMPLES 4
#define XOR_INPUTS 3
#define XOR_HIDDEN 4

static const float xor_inputs[XOR_SAMPLES * XOR_INPUTS] = {0, 0, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1};
static const float xor_labels[XOR_SAMPLES] = {0, 1, 1, 0};

/* The initial weights printed in the notebook's cell In [4], in its
 * (inputs x outputs) layout. */
static const double notebook_w0[XOR_INPUTS][XOR_HIDDEN] = {
    {0.54969199, -0.7388136, 0.65276113, 0.27332282},
    {-0.95528218, -0.04012118, -0.14603297, 0.85252821},
    {-0.00283674, -0.94953697, 0.12963559, -0.34949967}};
static const double notebook_w1[XOR_HIDDEN] = {-0.81678388, 0.90764242, 0.14785876,
                                               -0.53525641};

typedef struct demo_options {
    int notebook_weights;
    uint64_t seed;
    long iterations;
    long print_every;
    float adam_lr;
    long adam_max;
} demo_options;

static void demo_usage(FILE *to)
{
    fprintf(to,
            "usage: synapse demo xor [--notebook-weights] [--seed N] [--iterations N]\n"
            "                        [--adam-lr X] [--adam-max N]\n\n"
            "Runs the seed notebook: a 3-4-1 sigmoid network learns XOR by full-batch\n"
            "gradient descent (learning rate 1 on the summed gradient), printing the mean\n"
            "absolute error every 10000 iterations; then trains the same start with Adam\n"
            "and reports how many iterations Adam needs to reach the same error.\n\n"
            "  --notebook-weights  start from the weights printed in the notebook's In [4]\n"
            "  --seed N            seed of the uniform [-1, 1) initial weights (default 1)\n"
            "  --iterations N      gradient-descent iterations (default 60000)\n"
            "  --adam-lr X         Adam's learning rate (default 0.01)\n"
            "  --adam-max N        give up on Adam after N iterations (default 1000000)\n");
}

static int parse_long(const char *text, long min, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < min)
        return 0;
    *out = v;
    return 1;
}

/* Returns -1 when the command should exit 0 (help), 0 on a usage error. */
static int parse_demo(int argc, char **argv, demo_options *o)
{
    long value;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            demo_usage(stdout);
            return -1;
        } else if (!strcmp(a, "--notebook-weights")) {
            o->notebook_weights = 1;
        } else if (!strcmp(a, "--seed") && next && parse_long(next, 0, &value)) {
            o->seed = (uint64_t)value;
            i++;
        } else if (!strcmp(a, "--iterations") && next && parse_long(next, 1, &o->iterations)) {
            i++;
        } else if (!strcmp(a, "--adam-max") && next && parse_long(next, 1, &o->adam_max)) {
            i++;
        } else if (!strcmp(a, "--adam-lr") && next && (o->adam_lr = strtof(next, NULL)) > 0) {
            i++;
        } else {
            static const char *const names[] = {"--notebook-weights", "--seed", "--iterations",
                                                "--adam-max", "--adam-lr"};
            const char *near = NULL;
            for (size_t k = 0; k < sizeof names / sizeof names[0] && !near; k++)
                near = strcmp(a, names[k]) ? NULL : names[k];
            if (!near)
                near = cli_nearest(a, strlen(a), names, sizeof names / sizeof names[0]);
            if (near && strcmp(a, near))
                fprintf(stderr, "synapse demo xor: unknown option '%s'; did you mean '%s'?\n",
                        a, near);
            else
                fprintf(stderr, "synapse demo xor: bad or incomplete option '%s'\n", a);
            return 0;
        }
    }
    return 1;
}

static syn_status make_net(const demo_options *o, syn_net **net)
{
    syn_layer_desc layers[2] = {
        {.units = XOR_HIDDEN, .activation = SYN_ACT_SIGMOID, .no_bias = 1},
        {.units = 1, .activation = SYN_ACT_SIGMOID, .no_bias = 1},
    };
    syn_net_desc desc = {.n_inputs = XOR_INPUTS, .n_layers = 2, .layers = layers,
                         .loss = SYN_LOSS_MSE, .reduction = SYN_REDUCTION_SUM,
                         .init = SYN_INIT_UNIFORM, .seed = o->seed};
    syn_status st = syn_net_create(&desc, net);
    if (st != SYN_OK || !o->notebook_weights)
        return st;
    float *w0, *w1;
    syn_net_layer_params(*net, 0, &w0, NULL);
    syn_net_layer_params(*net, 1, &w1, NULL);
    /* synapse stores [units x inputs]: the notebook's matrices transposed. */
    for (int i = 0; i < XOR_INPUTS; i++)
        for (int h = 0; h < XOR_HIDDEN; h++)
            w0[h * XOR_INPUTS + i] = (float)notebook_w0[i][h];
    for (int h = 0; h < XOR_HIDDEN; h++)
        w1[h] = (float)notebook_w1[h];
    return SYN_OK;
}

/* Prints a synapse [units x n_in] matrix the notebook's way, (n_in x units). */
static void print_weights(const char *name, const float *w, int n_in, int units)
{
    printf("%s =\n[", name);
    for (int i = 0; i < n_in; i++) {
        printf("%s[", i ? " " : "");
        for (int u = 0; u < units; u++)
            printf("%s%11.8f", u ? " " : "", w[u * n_in + i]);
        printf("]%s", i + 1 < n_in ? "\n" : "]\n");
    }
}

static void print_data(void)
{
    printf("input_data =\n");
    for (int r = 0; r < XOR_SAMPLES; r++)
        printf("%s[%g %g %g]%s\n", r ? " " : "[", xor_inputs[r * 3], xor_inputs[r * 3 + 1],
               xor_inputs[r * 3 + 2], r + 1 < XOR_SAMPLES ? "" : "]");
    printf("output_labels =\n");
    for (int r = 0; r < XOR_SAMPLES; r++)
        printf("%s[%g]%s\n", r ? " " : "[", xor_labels[r], r + 1 < XOR_SAMPLES ? "" : "]");
}

/* One notebook iteration: forward, error, the gradient of 1/2 sum (y-out)^2
 * through backpropagation, one optimizer step. Returns the mean absolute
 * error before the step. */
static syn_status xor_step(syn_net *net, syn_workspace *ws, syn_optimizer *opt, double *mae)
{
    const float *out;
    float d_out[XOR_SAMPLES];
    syn_status st = syn_forward(net, ws, xor_inputs, XOR_SAMPLES, &out);
    if (st != SYN_OK)
        return st;
    double sum = 0.0;
    for (int r = 0; r < XOR_SAMPLES; r++) {
        float error = xor_labels[r] - out[r]; /* layer2_error */
        sum += fabs((double)error);
        d_out[r] = -error;
    }
    *mae = sum / XOR_SAMPLES;
    st = syn_backward_from_output(net, ws, d_out, XOR_SAMPLES);
    size_t n;
    float *grads = syn_workspace_grads(ws, &n);
    if (st == SYN_OK)
        st = syn_optimizer_step(opt, net, grads, n);
    return st;
}

static syn_status mean_abs_error(const syn_net *net, syn_workspace *ws, double *mae,
                                 const float **out)
{
    syn_status st = syn_forward(net, ws, xor_inputs, XOR_SAMPLES, out);
    double sum = 0.0;
    for (int r = 0; st == SYN_OK && r < XOR_SAMPLES; r++)
        sum += fabs((double)xor_labels[r] - (double)(*out)[r]);
    *mae = sum / XOR_SAMPLES;
    return st;
}

static syn_status run_gradient_descent(const demo_options *o, syn_net *net, syn_workspace *ws,
                                       double *final_error)
{
    syn_optim_desc sgd = syn_optim_defaults(SYN_OPTIM_SGD);
    sgd.lr = 1.0f;
    syn_optimizer *opt = NULL;
    syn_status st = syn_optimizer_create(net, &sgd, &opt);
    for (long j = 0; st == SYN_OK && j < o->iterations; j++) {
        double mae;
        st = xor_step(net, ws, opt, &mae);
        if (st == SYN_OK && j % o->print_every == 0)
            printf("Error:%.17g\n", mae);
    }
    syn_optimizer_free(opt);
    const float *out;
    if (st == SYN_OK)
        st = mean_abs_error(net, ws, final_error, &out);
    if (st != SYN_OK)
        return st;
    printf("\nafter %ld iterations: Error:%.17g\noutputs = [", o->iterations, *final_error);
    for (int r = 0; r < XOR_SAMPLES; r++)
        printf("%s%.8f", r ? " " : "", out[r]);
    printf("]\n");
    /* The notebook's testing cell: hidden activations for [0, 1, 1]. */
    static const float probe[XOR_INPUTS] = {0, 1, 1};
    st = syn_forward(net, ws, probe, 1, NULL);
    if (st != SYN_OK)
        return st;
    const float *hidden = syn_workspace_activations(ws, 0);
    printf("\nactivate(np.dot([0, 1, 1], synaptic_weight_0)) = [");
    for (int h = 0; h < XOR_HIDDEN; h++)
        printf("%s%.8f", h ? " " : "", hidden[h]);
    printf("]\n");
    return SYN_OK;
}

static syn_status run_adam(const demo_options *o, double target)
{
    syn_net *net = NULL;
    syn_workspace *ws = NULL;
    syn_optimizer *opt = NULL;
    syn_optim_desc adam = syn_optim_defaults(SYN_OPTIM_ADAM);
    adam.lr = o->adam_lr;
    syn_status st = make_net(o, &net);
    if (st == SYN_OK)
        st = syn_workspace_create(net, XOR_SAMPLES, &ws);
    if (st == SYN_OK)
        st = syn_optimizer_create(net, &adam, &opt);
    long it = 0;
    double mae = INFINITY;
    for (; st == SYN_OK && it < o->adam_max; it++) {
        st = xor_step(net, ws, opt, &mae);
        if (mae <= target)
            break;
    }
    if (st == SYN_OK) {
        printf("\nAdam (lr %g, betas 0.9/0.999) from the same start:\n", (double)adam.lr);
        if (mae <= target)
            printf("reached Error:%.17g at iteration %ld; gradient descent needed %ld\n", mae,
                   it, o->iterations);
        else
            printf("did not reach Error:%.6g within %ld iterations (at %.6g)\n", target,
                   o->adam_max, mae);
    }
    syn_optimizer_free(opt);
    syn_workspace_free(ws);
    syn_net_free(net);
    return st;
}

static int demo_xor(int argc, char **argv)
{
    demo_options o = {.seed = 1, .iterations = 60000, .print_every = 10000, .adam_lr = 0.01f,
                      .adam_max = 1000000};
    int parsed = parse_demo(argc, argv, &o);
    if (parsed <= 0)
        return parsed < 0 ? SYN_EXIT_OK : SYN_EXIT_USAGE;
    syn_net *net = NULL;
    syn_workspace *ws = NULL;
    double final_error = 0.0;
    syn_status st = make_net(&o, &net);
    if (st == SYN_OK)
        st = syn_workspace_create(net, XOR_SAMPLES, &ws);
    if (st == SYN_OK) {
        float *w0, *w1;
        syn_net_layer_params(net, 0, &w0, NULL);
        syn_net_layer_params(net, 1, &w1, NULL);
        print_data();
        print_weights("synaptic_weight_0", w0, XOR_INPUTS, XOR_HIDDEN);
        print_weights("synaptic_weight_1", w1, XOR_HIDDEN, 1);
        printf("\n");
        st = run_gradient_descent(&o, net, ws, &final_error);
    }
    if (st == SYN_OK)
        st = run_adam(&o, final_error);
    syn_workspace_free(ws);
    syn_net_free(net);
    if (st != SYN_OK) {
        fprintf(stderr, "synapse demo xor: %s\n", syn_strerror(st));
        return SYN_EXIT_RUNTIME;
    }
    return SYN_EXIT_OK;
}

int cmd_demo(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "xor"))
        return demo_xor(argc, argv);
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: synapse demo xor [options]\n\ndemos:\n"
               "  xor   the seed notebook: XOR by backpropagation, then Adam\n");
        return SYN_EXIT_OK;
    }
    fprintf(stderr, "synapse demo: expected a demo name: xor (see 'synapse demo --help')\n");
    return SYN_EXIT_USAGE;
}
