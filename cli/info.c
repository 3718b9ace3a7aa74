/* info.c - `synapse info MODEL`: what a model file holds, for people:
 * architecture, parameter count, input scaling, classes and how it was
 * trained. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_LISTED_CLASSES 50

static void info_usage(FILE *to)
{
    fprintf(to,
"usage: synapse info MODEL\n"
"\n"
"Describes a model file: a table of the layers (kind, output width, activation,\n"
"parameters and their memory, totals, what training allocates),\n"
"loss, parameter count,\n"
"input scaling (x' = (x - offset) * scale, summarised over the features),\n"
"class names and the training metadata (epochs, seed, samples seen, final\n"
"losses and accuracies, optimizer, library version).\n");
}

/* The loss's name (syn_loss_name) and what it is. */
static const char *loss_name(syn_loss l, char *buf, size_t size)
{
    static const char *const what[] = {"mean squared error",
                                       "binary cross-entropy on sigmoid outputs",
                                       "cross-entropy on softmax outputs", "Huber loss",
                                       "mean absolute error"};
    _Static_assert(sizeof what / sizeof what[0] == SYN_LOSS_COUNT_, "one line per loss");
    snprintf(buf, size, "%s (%s)", syn_loss_name(l),
             (unsigned)l < SYN_LOSS_COUNT_ ? what[l] : "?");
    return buf;
}

/* 1234567 as "1,234,567". */
static void grouped(char *buf, size_t size, size_t v)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%zu", v), out = 0;
    for (int i = 0; i < n && (size_t)out + 2 < size; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[out++] = ',';
        buf[out++] = digits[i];
    }
    buf[out] = '\0';
}

/* A convolution's or pooling's window: "  kernel 3x3, stride 2x2, padding
 * 1x1" (same, dilation, groups, no bias, exclude_pad when set). */
static void window_note(const syn_layer_desc *d, char *buf, size_t size)
{
    int n = snprintf(buf, size, "  kernel %zux%zu", d->kernel[0], d->kernel[1]);
    if (n >= 0 && (size_t)n < size && (d->stride[0] != 1 || d->stride[1] != 1))
        n += snprintf(buf + n, size - (size_t)n, ", stride %zux%zu", d->stride[0],
                      d->stride[1]);
    if (n >= 0 && (size_t)n < size && d->pad_same)
        n += snprintf(buf + n, size - (size_t)n, ", same");
    else if (n >= 0 && (size_t)n < size && (d->padding[0] || d->padding[1]))
        n += snprintf(buf + n, size - (size_t)n, ", padding %zux%zu", d->padding[0],
                      d->padding[1]);
    if (n >= 0 && (size_t)n < size && (d->dilation[0] > 1 || d->dilation[1] > 1))
        n += snprintf(buf + n, size - (size_t)n, ", dilation %zux%zu", d->dilation[0],
                      d->dilation[1]);
    if (n >= 0 && (size_t)n < size && d->groups > 1)
        n += snprintf(buf + n, size - (size_t)n, ", groups %zu", d->groups);
    if (n >= 0 && (size_t)n < size && d->exclude_pad)
        n += snprintf(buf + n, size - (size_t)n, ", padding not counted");
    if (n >= 0 && (size_t)n < size && d->kind == SYN_LAYER_CONV2D && d->no_bias)
        snprintf(buf + n, size - (size_t)n, ", no bias");
}

/* What a layer's kind adds in the table: dropout's rate, batch norm's
 * momentum, the norms' eps when it is not PyTorch's 1e-5, a missing bias;
 * "" or the text after two spaces. */
static void layer_note(const syn_layer_desc *d, char *buf, size_t size)
{
    char eps[32] = "";
    if (d->kind == SYN_LAYER_BATCHNORM || d->kind == SYN_LAYER_LAYERNORM ||
        d->kind == SYN_LAYER_BATCHNORM2D)
        if (d->eps != 1e-5f)
            snprintf(eps, sizeof eps, "eps %g", (double)d->eps);
    const char *bias = d->no_bias ? (d->kind == SYN_LAYER_DENSE ? "no bias" : "no beta") : "";
    switch (d->kind) {
    case SYN_LAYER_DROPOUT:
    case SYN_LAYER_DROPOUT2D: snprintf(buf, size, "  p %g", (double)d->rate); return;
    case SYN_LAYER_BATCHNORM:
    case SYN_LAYER_BATCHNORM2D:
        snprintf(buf, size, "  momentum %g%s%s%s%s", (double)d->momentum, *eps ? ", " : "", eps,
                 *bias ? ", " : "", bias);
        return;
    case SYN_LAYER_DENSE:
    case SYN_LAYER_LAYERNORM:
        snprintf(buf, size, "%s%s%s%s", *eps || *bias ? "  " : "", eps, *eps && *bias ? ", " : "",
                 bias);
        return;
    case SYN_LAYER_CONV2D:
    case SYN_LAYER_MAXPOOL2D:
    case SYN_LAYER_AVGPOOL2D: window_note(d, buf, size); return;
    case SYN_LAYER_GLOBAL_AVGPOOL:
    case SYN_LAYER_FLATTEN: break;
    case SYN_LAYER_COUNT_: break;
    }
    buf[0] = '\0';
}


/* A Keras-like summary (model.summary()): per layer its kind, output
 * width, activation, trained parameters and what they take; then the
 * totals and what training and inference allocate
 * (syn_net_memory_estimate, from the same plans the library uses). */
static void print_layers(const syn_net *net)
{
    size_t n_layers = syn_net_n_layers(net), total = 0, state = 0;
    char in_text[64];
    syn_layer_desc *descs = calloc(n_layers ? n_layers : 1, sizeof *descs);
    printf("layers:\n");
    printf("  %-5s  %-10s %7s  %-10s %12s %10s\n", "layer", "kind", "output", "activation",
           "parameters", "memory");
    size_t in[3];
    syn_net_input_shape(net, in);
    if (in[1] > 1 || in[2] > 1)
        snprintf(in_text, sizeof in_text, "%zux%zux%zu", in[0], in[1], in[2]);
    else
        snprintf(in_text, sizeof in_text, "%zu", syn_net_n_inputs(net));
    printf("  %-5s  %-10s %7s\n", "input", "", in_text);
    for (size_t i = 0; i < n_layers; i++) {
        syn_layer_desc d;
        size_t n_in = 0, n_state = 0;
        if (syn_net_layer(net, i, &d, &n_in) != SYN_OK)
            continue;
        if (descs)
            descs[i] = d;
        size_t shape[3] = {d.units, 1, 1};
        syn_net_layer_shape(net, i, shape);
        size_t params = cli_layer_params(net, i);
        switch (d.kind) {
        case SYN_LAYER_BATCHNORM: n_state = 2 * d.units; break;
        case SYN_LAYER_BATCHNORM2D: n_state = 2 * shape[0]; break; /* per channel */
        case SYN_LAYER_DENSE:
        case SYN_LAYER_LAYERNORM:
        case SYN_LAYER_DROPOUT:
        case SYN_LAYER_CONV2D:
        case SYN_LAYER_MAXPOOL2D:
        case SYN_LAYER_AVGPOOL2D:
        case SYN_LAYER_GLOBAL_AVGPOOL:
        case SYN_LAYER_DROPOUT2D:
        case SYN_LAYER_FLATTEN:
        case SYN_LAYER_COUNT_: break;
        }
        char out[48];
        if (shape[1] > 1 || shape[2] > 1)
            snprintf(out, sizeof out, "%zux%zux%zu", shape[0], shape[1], shape[2]);
        else
            snprintf(out, sizeof out, "%zu", shape[0]);
        total += params;
        state += n_state;
        char count[32], mem[32], note[64];
        grouped(count, sizeof count, params);
        cli_format_bytes(mem, sizeof mem, (params + n_state) * sizeof(float));
        layer_note(&d, note, sizeof note);
        const char *kind = syn_layer_kind_name(d.kind);
        printf("  %-5zu  %-10s %7s  %-10s %12s %10s%s\n", i + 1, kind ? kind : "?", out,
               syn_activation_name(d.activation), count, mem, note);
    }
    char count[32], mem[32];
    grouped(count, sizeof count, total);
    cli_format_bytes(mem, sizeof mem, (total + state) * sizeof(float));
    printf("  %-5s  %-10s %7s  %-10s %12s %10s%s\n", "total", "", "", "", count, mem,
           state ? "  with the running statistics" : "");
    syn_net_desc desc = {.n_inputs = syn_net_n_inputs(net), .n_layers = n_layers,
                         .layers = descs, .loss = syn_net_loss(net),
                         .reduction = syn_net_reduction(net)};
    syn_net_input_shape(net, desc.input_shape);
    size_t train = 0;
    if (descs && syn_net_memory_estimate(&desc, SYN_OPTIM_ADAM, 128, &train) == SYN_OK) {
        char t[32];
        cli_format_bytes(t, sizeof t, train);
        printf("memory: %s to train with adam at batch 128 (parameters, gradients, moments, "
               "workspace)\n", t);
    }
    size_t infer = 0;
    if (descs && syn_net_memory_estimate_inference(&desc, 1024, &infer) == SYN_OK) {
        char t[32];
        cli_format_bytes(t, sizeof t, infer);
        printf("memory: %s more to evaluate or predict at batch 1024 (inference workspace)\n",
               t);
    }
    free(descs);
}

static void range_of(const float *v, size_t n, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        *lo = v[i] < *lo ? v[i] : *lo;
        *hi = v[i] > *hi ? v[i] : *hi;
    }
}

static void print_scaling(const syn_net *net)
{
    const float *offset = NULL, *scale = NULL;
    size_t n = syn_net_n_inputs(net);
    if (syn_net_input_scaling(net, &offset, &scale) != SYN_OK || !offset || !scale) {
        printf("input scaling: none\n");
        return;
    }
    double olo, ohi, slo, shi;
    range_of(offset, n, &olo, &ohi);
    range_of(scale, n, &slo, &shi);
    printf("input scaling: x' = (x - offset) * scale, per feature\n");
    printf("  offset in [%.6g, %.6g], scale in [%.6g, %.6g]\n", olo, ohi, slo, shi);
    size_t shown = n < 4 ? n : 4;
    printf("  first features:");
    for (size_t j = 0; j < shown; j++)
        printf(" (%.6g, %.6g)", offset[j], scale[j]);
    printf("%s\n", shown < n ? " ..." : "");
}

static void print_classes(const syn_net *net)
{
    size_t n = syn_net_n_class_names(net);
    if (n == 0) {
        printf("classes: none (regression or unnamed outputs)\n");
        return;
    }
    printf("classes (%zu):", n);
    char name[256];
    for (size_t i = 0; i < n && i < MAX_LISTED_CLASSES; i++)
        printf("%s %s", i ? "," : "", cli_printable(syn_net_class_name(net, i), name,
                                                    sizeof name));
    printf("%s\n", n > MAX_LISTED_CLASSES ? ", ..." : "");
}

/* The input columns and how each becomes inputs (a model trained on a CSV). */
static void print_columns(const syn_net *net)
{
    const syn_encoding *enc = syn_net_encoding(net);
    if (!enc) {
        printf("input columns: not recorded (the inputs are the row's numbers, in order)\n");
        return;
    }
    size_t n = syn_encoding_n_columns(enc);
    printf("input columns (%zu, by name in files with a header):\n", n);
    for (size_t i = 0; i < n; i++) {
        syn_column_info c;
        if (syn_encoding_column(enc, i, &c) != SYN_OK)
            continue;
        printf("  %-16s ", c.name[0] ? c.name : "(unnamed)");
        if (c.kind == SYN_COLUMN_NUMERIC) {
            printf("numeric      input %zu, missing -> %.6g\n", c.first_input + 1,
                   (double)c.fill);
            continue;
        }
        printf("categorical  inputs %zu-%zu, missing -> %s:", c.first_input + 1,
               c.first_input + c.width, syn_encoding_category(enc, i, c.fill_category));
        for (size_t k = 0; k < c.width && k < MAX_LISTED_CLASSES; k++)
            printf("%s %s", k ? "," : "", syn_encoding_category(enc, i, k));
        printf("%s\n", c.width > MAX_LISTED_CLASSES ? ", ..." : "");
    }
    size_t t = syn_encoding_n_targets(enc);
    printf("  target%s:", t == 1 ? "" : "s");
    for (size_t k = 0; k < t; k++)
        printf("%s %s", k ? "," : "", syn_encoding_target_name(enc, k)[0]
                                          ? syn_encoding_target_name(enc, k) : "(unnamed)");
    printf("\n  missing when:");
    for (size_t k = 0; k < syn_encoding_n_na_values(enc); k++)
        printf("%s \"%s\"", k ? "," : "", syn_encoding_na_value(enc, k));
    printf(", or empty\n");
}

static void print_optional(const char *name, double v)
{
    if (!isnan(v))
        printf("  %-16s %.6g\n", name, v);
}

static void print_meta(const syn_net *net)
{
    syn_train_meta m;
    if (syn_net_meta(net, &m) != SYN_OK)
        return;
    printf("training:\n");
    printf("  %-16s %llu\n", "epochs", (unsigned long long)m.epochs);
    printf("  %-16s %llu\n", "seed", (unsigned long long)m.seed);
    printf("  %-16s %llu\n", "samples seen", (unsigned long long)m.samples_seen);
    char text[256];
    printf("  %-16s %s\n", "optimizer",
           m.optimizer[0] ? cli_printable(m.optimizer, text, sizeof text) : "unknown");
    print_optional("train loss", m.train_loss);
    print_optional("train accuracy", m.train_accuracy);
    print_optional("val loss", m.val_loss);
    print_optional("val accuracy", m.val_accuracy);
    printf("  %-16s %s\n", "library", m.library_version[0]
                                        ? cli_printable(m.library_version, text, sizeof text)
                                        : "unknown");
}

int cmd_info(int argc, char **argv)
{
    const char *path = NULL;
    const cli_option table[] = {{"--model", CLI_STRING, &path, 0, 0, NULL, 0}};
    const char *positional[1] = {NULL};
    size_t n_pos = 0;
    cli_parse_result parsed = cli_parse("info", argc, argv, 1, table, 1, info_usage,
                                        positional, 1, &n_pos);
    if (parsed != CLI_PARSED)
        return parsed == CLI_HELP ? SYN_EXIT_OK : SYN_EXIT_USAGE;
    if (n_pos && path)
        return cli_usage_error("info", "give the model once");
    path = n_pos ? positional[0] : path;
    if (!path)
        return cli_usage_error("info", "missing MODEL");
    syn_net *net = NULL;
    syn_error err = {{0}};
    syn_status st = syn_net_load(path, &net, NULL, &err);
    if (st != SYN_OK)
        return cli_library_error("info", st, &err, path);
    printf("model: %s\n", path);
    printf("inputs: %zu, outputs: %zu\n", syn_net_n_inputs(net), syn_net_n_outputs(net));
    print_layers(net);
    char loss[96];
    printf("loss: %s, %s reduction", loss_name(syn_net_loss(net), loss, sizeof loss),
           syn_net_reduction(net) == SYN_REDUCTION_SUM ? "sum" : "mean");
    syn_loss_options lo;
    if (syn_net_loss_options(net, &lo) == SYN_OK) {
        if (lo.label_smoothing > 0.0f)
            printf(", label smoothing %g", (double)lo.label_smoothing);
        if (lo.huber_delta > 0.0f)
            printf(", delta %g", (double)lo.huber_delta);
        for (size_t j = 0; j < lo.n_class_weights; j++)
            printf("%s%g", j ? "," : ", class weights ", (double)lo.class_weights[j]);
    }
    putchar('\n');
    printf("parameters: %zu\n", syn_net_param_count(net));
    print_scaling(net);
    print_classes(net);
    print_columns(net);
    print_meta(net);
    syn_net_free(net);
    return SYN_EXIT_OK;
}
