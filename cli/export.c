/* export.c - `synapse export` and `synapse import`: a saved model to ONNX or
 * to a dependency-free C header, and an ONNX MLP (from PyTorch, or from
 * synapse itself) to a synapse model file. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const export_formats[] = {"onnx", "c", NULL};

static void export_usage(FILE *to)
{
    fprintf(to,
"usage: synapse export --format onnx|c MODEL -o FILE [--prefix NAME]\n"
"\n"
"Writes a saved model in another form, with its input scaling included:\n"
"  onnx  an ONNX model (IR 8, opset 13; 17 with a layer norm): input \"input\"\n"
"        [batch, inputs], output \"output\" [batch, outputs] (probabilities for\n"
"        classifiers); per layer Gemm, Dropout, BatchNormalization or\n"
"        LayerNormalization and its activation; runs in ONNX Runtime\n"
"  c     one C99 header with the weights as static const arrays and static\n"
"        inference functions PREFIX_predict(input, output), PREFIX_predict_batch\n"
"        and PREFIX_argmax; no allocation, nothing but <math.h>\n"
"\n"
"  --format F       onnx or c (required)\n"
"  -o, --out FILE   the file to write (written atomically)\n"
"  --prefix NAME    C identifier prefixing the header's names (default: model)\n");
}

static void import_usage(FILE *to)
{
    fprintf(to,
"usage: synapse import --format onnx FILE -o MODEL [--class-names LIST]\n"
"\n"
"Reads an MLP exported to ONNX (torch.onnx.export of Linear layers with Relu,\n"
"LeakyRelu, Sigmoid, Tanh, GELU, SiLU, ELU, Softplus and a final Softmax;\n"
"Gemm or MatMul + Add; BatchNorm1d, LayerNorm and Dropout as layers of\n"
"those kinds), with\n"
"what is put around it: input normalization (x - mean) / std as Sub, Div or\n"
"Mul by constants, Flatten, and Reshape to [batch, features] (view(-1, n),\n"
"view(x.size(0), -1)); and saves it as a synapse model: eval, predict and\n"
"info take it, and 'synapse train --init MODEL' fine-tunes it on new data.\n"
"The loss is cross-entropy after a Softmax, else mean squared error. Any\n"
"other graph is refused with the first unsupported node named. Class names\n"
"come from --class-names, else from the model's metadata (\"class_names\",\n"
"or a JSON list under \"classes\").\n"
"\n"
"  --format onnx       the input format (required)\n"
"  -o, --out MODEL     the model file to write (written atomically)\n"
"  --class-names LIST  one name per output, comma-separated (a,b,c), or\n"
"                      @FILE with one name a line; two names for a single\n"
"                      Sigmoid output (the probability of the second)\n");
}

typedef struct export_job {
    const syn_net *net;
    int format; /* 0 ONNX, 1 C */
    const char *prefix;
} export_job;

static int write_export(const char *path, void *user)
{
    const export_job *job = user;
    syn_error err = {{0}};
    syn_status st = job->format == 0 ? syn_net_export_onnx(job->net, path, &err)
                                     : syn_net_export_c(job->net, path, job->prefix, &err);
    return st == SYN_OK ? SYN_EXIT_OK : cli_library_error("export", st, &err, path);
}

static int write_model(const char *path, void *user)
{
    syn_error err = {{0}};
    syn_status st = syn_net_save(user, NULL, path, &err);
    return st == SYN_OK ? SYN_EXIT_OK : cli_library_error("import", st, &err, path);
}

/* "-o FILE" is accepted beside "--out FILE": rewrite it before parsing. */
static void alias_short_out(int argc, char **argv)
{
    static char long_out[] = "--out";
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-o"))
            argv[i] = long_out;
}

static int is_identifier(const char *s)
{
    if (!s || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return 0;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return 0;
    return 1;
}

int cmd_export(int argc, char **argv)
{
    const char *out = NULL, *prefix = "model", *model = NULL;
    int format = -1;
    size_t n_pos = 0;
    alias_short_out(argc, argv);
    cli_option options[] = {
        {"--format", CLI_CHOICE, &format, 0, 0, export_formats, 0},
        {"--out", CLI_STRING, &out, 0, 0, NULL, 0},
        {"--prefix", CLI_STRING, &prefix, 0, 0, NULL, 0},
    };
    cli_parse_result r = cli_parse("export", argc, argv, 1, options,
                                   sizeof options / sizeof *options, export_usage, &model, 1,
                                   &n_pos);
    if (r != CLI_PARSED)
        return r == CLI_HELP ? SYN_EXIT_OK : SYN_EXIT_USAGE;
    if (format < 0)
        return cli_usage_error("export", "--format onnx|c is required");
    if (n_pos != 1)
        return cli_usage_error("export", "give exactly one MODEL file");
    if (!out)
        return cli_usage_error("export", "-o FILE is required");
    if (!is_identifier(prefix))
        return cli_usage_error("export", "--prefix '%s' is not a C identifier", prefix);
    if (cli_same_file(model, out))
        return cli_runtime_error("export", "%s: refusing to overwrite the model itself", out);
    syn_error err = {{0}};
    syn_net *net = NULL;
    syn_status st = syn_net_load(model, &net, NULL, &err);
    if (st != SYN_OK)
        return cli_library_error("export", st, &err, model);
    export_job job = {net, format, prefix};
    int rc = strcmp(out, "-") ? write_export(out, &job)
                              : cli_to_stdout_via_temp("export", write_export, &job);
    syn_net_free(net);
    return rc;
}

/* --class-names: "a,b,c", or "@FILE" with one name a line (a final newline
 * and CRLF line ends allowed). On success *buf holds the text split in
 * place and *names points into it (both malloc'd). Returns SYN_EXIT_OK,
 * or the exit code after printing the error. */
#define CLASS_FILE_MAX ((size_t)16 << 20)
static int read_class_names(const char *text, char **buf, const char ***names, size_t *count)
{
    *buf = NULL;
    *names = NULL;
    *count = 0;
    char sep = ',';
    size_t len = strlen(text);
    if (text[0] == '@') {
        const char *path = text + 1;
        FILE *fp = fopen(path, "rb");
        if (!fp) {
            return cli_runtime_error("import", "--class-names %s: cannot open: %s", path,
                                     strerror(errno));
        }
        *buf = malloc(CLASS_FILE_MAX + 1);
        len = *buf ? fread(*buf, 1, CLASS_FILE_MAX + 1, fp) : 0;
        const char *bad = !*buf ? "out of memory" : ferror(fp) ? "cannot read it"
                          : len > CLASS_FILE_MAX ? "larger than 16 MiB"
                          : memchr(*buf, '\0', len) ? "not a text file (a NUL byte)" : NULL;
        fclose(fp);
        if (bad) {
            free(*buf);
            *buf = NULL;
            return cli_runtime_error("import", "--class-names %s: %s", path, bad);
        }
        if (len > 0 && (*buf)[len - 1] == '\n')
            len--;
        sep = '\n';
    } else if ((*buf = malloc(len + 1)) != NULL) {
        memcpy(*buf, text, len);
    }
    size_t n = 1;
    for (size_t i = 0; *buf && i < len; i++)
        n += (*buf)[i] == sep;
    if (*buf)
        *names = calloc(n, sizeof **names);
    if (!*names) {
        free(*buf);
        *buf = NULL;
        return cli_runtime_error("import", "out of memory");
    }
    (*buf)[len] = '\0';
    char *p = *buf;
    for (size_t k = 0; k < n; k++) {
        char *end = strchr(p, sep);
        if (end)
            *end = '\0';
        size_t l = strlen(p);
        if (sep == '\n' && l > 0 && p[l - 1] == '\r')
            p[--l] = '\0';
        if (l == 0) {
            free(*buf);
            free(*names);
            *buf = NULL;
            *names = NULL;
            if (sep == '\n')
                return cli_usage_error("import", "--class-names %s: line %zu is empty",
                                       text + 1, k + 1);
            return cli_usage_error("import", "--class-names has an empty entry in '%s'", text);
        }
        (*names)[k] = p;
        p = end ? end + 1 : p + l;
    }
    *count = n;
    return SYN_EXIT_OK;
}

/* The importer's rule for class names (as for those in the metadata): one
 * per output, or two for a single Sigmoid output. */
static int class_names_fit(const syn_net *net, size_t count)
{
    size_t n_out = syn_net_n_outputs(net), n_in;
    syn_layer_desc last;
    return count == n_out ||
           (n_out == 1 && count == 2 &&
            syn_net_layer(net, syn_net_n_layers(net) - 1, &last, &n_in) == SYN_OK &&
            last.activation == SYN_ACT_SIGMOID);
}

int cmd_import(int argc, char **argv)
{
    static const char *const formats[] = {"onnx", NULL};
    const char *out = NULL, *file = NULL, *class_names = NULL;
    int format = -1;
    size_t n_pos = 0;
    alias_short_out(argc, argv);
    cli_option options[] = {
        {"--format", CLI_CHOICE, &format, 0, 0, formats, 0},
        {"--out", CLI_STRING, &out, 0, 0, NULL, 0},
        {"--class-names", CLI_STRING, &class_names, 0, 0, NULL, 0},
    };
    cli_parse_result r = cli_parse("import", argc, argv, 1, options,
                                   sizeof options / sizeof *options, import_usage, &file, 1,
                                   &n_pos);
    if (r != CLI_PARSED)
        return r == CLI_HELP ? SYN_EXIT_OK : SYN_EXIT_USAGE;
    if (format < 0)
        return cli_usage_error("import", "--format onnx is required");
    if (n_pos != 1)
        return cli_usage_error("import", "give exactly one ONNX file");
    if (!out)
        return cli_usage_error("import", "-o MODEL is required");
    if (cli_same_file(file, out))
        return cli_runtime_error("import", "%s: refusing to overwrite the input", out);
    char *names_buf = NULL;
    const char **names = NULL;
    size_t n_names = 0;
    int rc = class_names ? read_class_names(class_names, &names_buf, &names, &n_names)
                         : SYN_EXIT_OK;
    if (rc != SYN_EXIT_OK)
        return rc;
    syn_error err = {{0}};
    syn_net *net = NULL;
    syn_status st = syn_net_import_onnx(file, &net, &err);
    int fits = st == SYN_OK && (!class_names || class_names_fit(net, n_names));
    if (fits && class_names)
        st = syn_net_set_class_names(net, names, n_names);
    free(names_buf);
    free(names);
    if (st != SYN_OK || !fits) {
        size_t n_out = net ? syn_net_n_outputs(net) : 0;
        syn_net_free(net);
        if (st != SYN_OK)
            return cli_library_error("import", st, &err, file);
        return cli_usage_error("import", "--class-names gives %zu names for a model of %zu "
                               "output%s", n_names, n_out,
                               n_out == 1 ? " (one name, or two after a Sigmoid)" : "s");
    }
    syn_train_meta meta;
    syn_net_meta(net, &meta);
    snprintf(meta.library_version, sizeof meta.library_version, "%s", syn_version());
    syn_net_set_meta(net, &meta);
    rc = strcmp(out, "-") ? write_model(out, net)
                          : cli_to_stdout_via_temp("import", write_model, net);
    syn_net_free(net);
    return rc;
}
