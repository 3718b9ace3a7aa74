/* export.c - `synapse export` and `synapse import`: a saved model to ONNX or
 * to a dependency-free C header, and an ONNX MLP (from PyTorch, or from
 * synapse itself) to a synapse model file. */
#include <ctype.h>
#include <string.h>

#include "cli.h"

static const char *const export_formats[] = {"onnx", "c", NULL};

static void export_usage(FILE *to)
{
    fprintf(to,
"usage: synapse export --format onnx|c MODEL -o FILE [--prefix NAME]\n"
"\n"
"Writes a saved model in another form, with its input scaling included:\n"
"  onnx  an ONNX model (IR 8, opset 13): input \"input\" [batch, inputs], output\n"
"        \"output\" [batch, outputs] (probabilities for classifiers), one Gemm\n"
"        and activation per layer, Softmax for classifiers; runs in ONNX Runtime\n"
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
"usage: synapse import --format onnx FILE -o MODEL\n"
"\n"
"Reads an MLP exported to ONNX (torch.onnx.export of Linear layers with Relu,\n"
"LeakyRelu, Sigmoid, Tanh and a final Softmax; Gemm or MatMul + Add) and\n"
"saves it as a synapse model: eval, predict and info take it, and\n"
"'synapse train --init MODEL' fine-tunes it on new data. The loss is\n"
"cross-entropy after a Softmax, else mean squared error. Any other graph is\n"
"refused with the first unsupported operator named.\n"
"\n"
"  --format onnx    the input format (required)\n"
"  -o, --out MODEL  the model file to write (written atomically)\n");
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

int cmd_import(int argc, char **argv)
{
    static const char *const formats[] = {"onnx", NULL};
    const char *out = NULL, *file = NULL;
    int format = -1;
    size_t n_pos = 0;
    alias_short_out(argc, argv);
    cli_option options[] = {
        {"--format", CLI_CHOICE, &format, 0, 0, formats, 0},
        {"--out", CLI_STRING, &out, 0, 0, NULL, 0},
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
    syn_error err = {{0}};
    syn_net *net = NULL;
    syn_status st = syn_net_import_onnx(file, &net, &err);
    if (st != SYN_OK)
        return cli_library_error("import", st, &err, file);
    syn_train_meta meta;
    syn_net_meta(net, &meta);
    snprintf(meta.library_version, sizeof meta.library_version, "%s", syn_version());
    syn_net_set_meta(net, &meta);
    int rc = strcmp(out, "-") ? write_model(out, net)
                              : cli_to_stdout_via_temp("import", write_model, net);
    syn_net_free(net);
    return rc;
}
