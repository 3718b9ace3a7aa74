/* layer_spec.c - `train --layers`: an architecture written as a list of
 * tokens, e.g. "512:relu,bn,dropout:0.2,256:relu,ln,dropout:0.2" (hidden
 * layers, input to output), or read from a small file with "@path". */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* A spec file larger than this is not a layer list. */
#define SPEC_FILE_MAX 65536

/* The activation spelled by len bytes at s (syn_activation_parse's names). */
static int parse_act(const char *s, size_t len, syn_activation *act)
{
    char name[32];
    if (len >= sizeof name)
        return 0;
    memcpy(name, s, len);
    name[len] = '\0';
    return syn_activation_parse(name, act) == SYN_OK;
}

/* Reads @path's text (malloc'd), '#' comments blanked out. */
static char *read_spec_file(const char *path, char *msg, size_t msg_size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(msg, msg_size, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    char *text = malloc(SPEC_FILE_MAX + 1);
    size_t n = text ? fread(text, 1, SPEC_FILE_MAX + 1, f) : 0;
    int err = ferror(f);
    fclose(f);
    if (!text || err || n > SPEC_FILE_MAX) {
        snprintf(msg, msg_size, "'%s': %s", path,
                 !text ? "out of memory" : err ? "read error" : "larger than 64 KiB");
        free(text);
        return NULL;
    }
    text[n] = '\0';
    if (memchr(text, '\0', n)) {
        snprintf(msg, msg_size, "'%s' is not a text file", path);
        free(text);
        return NULL;
    }
    for (char *p = text; *p; p++)
        if (*p == '#')
            while (*p && *p != '\n')
                *p++ = ' ';
    return text;
}

/* A size from 1 to 2^24 spelled by len bytes at s; "AxB" gives two (one
 * number: both). */
static int parse_size(const char *s, size_t len, size_t *a, size_t *b)
{
    char num[24], *end = NULL;
    if (len == 0 || len >= sizeof num || !isdigit((unsigned char)s[0]))
        return 0;
    memcpy(num, s, len);
    num[len] = '\0';
    unsigned long long u = strtoull(num, &end, 10), v = u;
    if (*end == 'x') {
        if (!isdigit((unsigned char)end[1]))
            return 0;
        v = strtoull(end + 1, &end, 10);
    }
    if (*end || u < 1 || v < 1 || u > 16777216 || v > 16777216)
        return 0;
    *a = (size_t)u;
    if (b)
        *b = (size_t)v;
    return 1;
}

/* The options after conv:OUT:K or maxpool:K / avgpool:K, colon-separated
 * (len bytes at s): sN or sAxB stride, pN padding, same, dN dilation, gN
 * groups, nobias, exclude (count_include_pad=False), or an activation.
 * `takes` says which the kind has: 1 conv, 2 max pool, 3 average pool. */
static int parse_window_options(const char *s, size_t len, int takes, syn_layer_desc *d,
                                const char *t, size_t t_len, char *msg, size_t msg_size)
{
    while (len > 0) {
        const char *colon = memchr(s, ':', len);
        size_t n = colon ? (size_t)(colon - s) : len;
        int ok = 0;
        if (takes == 1 && n == 4 && !strncmp(s, "same", 4))
            ok = d->pad_same = 1;
        else if (n > 1 && s[0] == 's' && isdigit((unsigned char)s[1]))
            ok = parse_size(s + 1, n - 1, &d->stride[0], &d->stride[1]);
        else if (n > 1 && s[0] == 'p' && isdigit((unsigned char)s[1]))
            ok = parse_size(s + 1, n - 1, &d->padding[0], &d->padding[1]);
        else if (takes == 1 && n > 1 && s[0] == 'd' && isdigit((unsigned char)s[1]))
            ok = parse_size(s + 1, n - 1, &d->dilation[0], &d->dilation[1]);
        else if (takes == 1 && n > 1 && s[0] == 'g' && isdigit((unsigned char)s[1]))
            ok = parse_size(s + 1, n - 1, &d->groups, NULL);
        else if (takes == 1 && n == 6 && !strncmp(s, "nobias", 6))
            ok = d->no_bias = 1;
        else if (takes == 3 && n == 7 && !strncmp(s, "exclude", 7))
            ok = d->exclude_pad = 1;
        else
            ok = parse_act(s, n, &d->activation);
        if (!ok) {
            snprintf(msg, msg_size, "'%.*s': '%.*s' is not an option of this layer (sN "
                     "stride, pN padding%s)", (int)t_len, t, (int)n, s,
                     takes == 1 ? ", same, dN dilation, gN groups, nobias, an activation"
                     : takes == 3 ? ", exclude, an activation" : ", an activation");
            return 0;
        }
        s += n + (colon != NULL);
        len -= n + (colon != NULL);
    }
    return 1;
}

/* conv:OUT:K[:options], maxpool:K[:options], avgpool:K[:options] into d. */
static int parse_window(const char *t, size_t len, const char *arg, size_t arg_len, int takes,
                        syn_layer_desc *d, char *msg, size_t msg_size)
{
    const char *colon = arg ? memchr(arg, ':', arg_len) : NULL;
    size_t n = colon ? (size_t)(colon - arg) : arg_len;
    if (takes == 1) {
        d->kind = SYN_LAYER_CONV2D;
        if (!arg || !colon || !parse_size(arg, n, &d->units, NULL)) {
            snprintf(msg, msg_size, "'%.*s': a convolution is conv:CHANNELS:KERNEL[:options], "
                     "e.g. conv:32:3", (int)len, t);
            return 0;
        }
        arg = colon + 1;
        arg_len -= n + 1;
        colon = memchr(arg, ':', arg_len);
        n = colon ? (size_t)(colon - arg) : arg_len;
    } else {
        d->kind = takes == 2 ? SYN_LAYER_MAXPOOL2D : SYN_LAYER_AVGPOOL2D;
    }
    if (!arg || !parse_size(arg, n, &d->kernel[0], &d->kernel[1])) {
        snprintf(msg, msg_size, "'%.*s': the kernel must be a size like 3 or 3x2", (int)len, t);
        return 0;
    }
    return !colon || parse_window_options(colon + 1, arg_len - n - 1, takes, d, t, len, msg,
                                          msg_size);
}

/* One token (len bytes at t, no separators) into *d. */
static int parse_token(const char *t, size_t len, syn_activation default_act,
                       syn_layer_desc *d, char *msg, size_t msg_size)
{
    const char *colon = memchr(t, ':', len);
    size_t head = colon ? (size_t)(colon - t) : len;
    const char *arg = colon ? colon + 1 : NULL;
    size_t arg_len = colon ? len - head - 1 : 0;
    memset(d, 0, sizeof *d);
    int width = head > 0;
    for (size_t i = 0; i < head; i++)
        width = width && isdigit((unsigned char)t[i]);
    if (width) {
        char num[24];
        if (head >= sizeof num)
            goto bad_width;
        memcpy(num, t, head);
        num[head] = '\0';
        unsigned long long u = strtoull(num, NULL, 10);
        if (u < 1 || u > 16777216)
            goto bad_width;
        d->units = (size_t)u;
        d->activation = default_act;
        if (arg && !parse_act(arg, arg_len, &d->activation)) {
            snprintf(msg, msg_size, "'%.*s': unknown activation '%.*s'", (int)len, t,
                     (int)arg_len, arg);
            return 0;
        }
        return 1;
    }
#define IS(word) (head == strlen(word) && !strncmp(t, word, head))
    if (IS("conv") || IS("maxpool") || IS("avgpool"))
        return parse_window(t, len, arg, arg_len, IS("conv") ? 1 : IS("maxpool") ? 2 : 3, d,
                            msg, msg_size);
    if ((IS("gap") || IS("flatten")) && !arg) {
        d->kind = IS("gap") ? SYN_LAYER_GLOBAL_AVGPOOL : SYN_LAYER_FLATTEN;
        return 1;
    }
    if (IS("dropout") || IS("dropout2d")) {
        char num[32], *end = NULL;
        if (!arg || arg_len == 0 || arg_len >= sizeof num) {
            snprintf(msg, msg_size, "'%.*s': dropout needs its rate, e.g. dropout:0.2",
                     (int)len, t);
            return 0;
        }
        memcpy(num, arg, arg_len);
        num[arg_len] = '\0';
        double p = strtod(num, &end);
        if (*end || !(p >= 0.0 && p < 1.0)) {
            snprintf(msg, msg_size, "'%.*s': the dropout rate must be a number in [0, 1)",
                     (int)len, t);
            return 0;
        }
        d->kind = IS("dropout") ? SYN_LAYER_DROPOUT : SYN_LAYER_DROPOUT2D;
        d->rate = (float)p;
        return 1;
    }
    if (IS("bn") || IS("batchnorm") || IS("ln") || IS("layernorm") || IS("bn2d")) {
        d->kind = IS("bn") || IS("batchnorm") ? SYN_LAYER_BATCHNORM
                  : IS("bn2d")                ? SYN_LAYER_BATCHNORM2D
                                              : SYN_LAYER_LAYERNORM;
        d->activation = SYN_ACT_LINEAR;
        if (arg && !parse_act(arg, arg_len, &d->activation)) {
            snprintf(msg, msg_size, "'%.*s': unknown activation '%.*s'", (int)len, t,
                     (int)arg_len, arg);
            return 0;
        }
        return 1;
    }
#undef IS
    snprintf(msg, msg_size, "'%.*s' is not a layer (N[:activation], bn[:activation], "
             "ln[:activation], dropout:P, conv:C:K[:options], maxpool:K, avgpool:K, gap, "
             "flatten, bn2d[:activation], dropout2d:P, or an activation after a layer)",
             (int)len, t);
    return 0;
bad_width:
    snprintf(msg, msg_size, "'%.*s': a width must be from 1 to 16777216", (int)len, t);
    return 0;
}

int cli_parse_layers(const char *spec, syn_activation default_act, size_t n_outputs,
                     syn_layer_desc **out, size_t *n_out, char *msg, size_t msg_size)
{
    *out = NULL;
    *n_out = 0;
    char *file = NULL;
    if (spec[0] == '@') {
        file = read_spec_file(spec + 1, msg, msg_size);
        if (!file)
            return 0;
        spec = file;
    }
    size_t cap = 8, n = 0;
    syn_layer_desc *layers = malloc(cap * sizeof *layers);
    int ok = layers != NULL;
    if (!ok)
        snprintf(msg, msg_size, "out of memory");
    for (const char *p = spec; ok && *p;) {
        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        const char *t = p;
        while (*p && *p != ',' && !isspace((unsigned char)*p))
            p++;
        if (n == cap) {
            syn_layer_desc *grown = realloc(layers, 2 * cap * sizeof *layers);
            if (!grown) {
                snprintf(msg, msg_size, "out of memory");
                ok = 0;
                break;
            }
            layers = grown;
            cap *= 2;
        }
        /* A bare activation ("conv:32:3,relu") is the layer before's. */
        syn_activation act;
        if (parse_act(t, (size_t)(p - t), &act)) {
            if (n == 0 || layers[n - 1].activation != SYN_ACT_LINEAR) {
                snprintf(msg, msg_size, "'%.*s': an activation token must follow a layer "
                         "without one", (int)(p - t), t);
                ok = 0;
            } else {
                layers[n - 1].activation = act;
            }
            continue;
        }
        ok = parse_token(t, (size_t)(p - t), default_act, &layers[n], msg, msg_size);
        n += ok;
    }
    /* A list may end with the output layer's width, as a full PyTorch
     * list would: a bare width equal to the outputs the data needs. */
    if (ok && n > 0 && layers[n - 1].kind == SYN_LAYER_DENSE &&
        layers[n - 1].units == n_outputs && layers[n - 1].activation == default_act) {
        const char *last = spec + strlen(spec);
        while (last > spec && (last[-1] == ',' || isspace((unsigned char)last[-1])))
            last--;
        const char *start = last;
        while (start > spec && start[-1] != ',' && !isspace((unsigned char)start[-1]))
            start--;
        if (!memchr(start, ':', (size_t)(last - start)))
            n--;
    }
    free(file);
    if (!ok) {
        free(layers);
        return 0;
    }
    *out = layers;
    *n_out = n;
    return 1;
}
