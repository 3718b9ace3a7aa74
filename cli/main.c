/* main.c - the synapse command: dispatches to a subcommand. Every
 * subcommand is a thin client of include/synapse.h. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "train.h"
#include "synapse.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"train", cmd_train, "train a network on a CSV or IDX data set and save it"},
    {"eval", cmd_eval, "evaluate a saved model on labelled data"},
    {"predict", cmd_predict, "write a saved model's predictions as CSV"},
    {"report", cmd_report, "write an HTML report of a model, its log and an evaluation"},
    {"info", cmd_info, "describe a saved model"},
    {"export", cmd_export, "write a model as ONNX or as a dependency-free C header"},
    {"import", cmd_import, "read an ONNX MLP (e.g. from PyTorch) into a model file"},
    {"demo", cmd_demo, "run a built-in demonstration (demo xor: the seed notebook)"},
};

static void usage(FILE *to)
{
    fprintf(to, "usage: synapse [--help] [--version] <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(to, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(to, "\n'synapse <command> --help' describes a command.\n");
}

int main(int argc, char **argv)
{
    cli_signals_install();
    train_names_init();
    if (argc < 2) {
        usage(stderr);
        return SYN_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return SYN_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("synapse %s\n", syn_version());
        return SYN_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    const char *names[sizeof commands / sizeof commands[0]];
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        names[i] = commands[i].name;
    const char *near = cli_nearest(argv[1], strlen(argv[1]), names,
                                   sizeof names / sizeof names[0]);
    if (near)
        fprintf(stderr, "synapse: unknown command '%s'; did you mean '%s'? (see 'synapse "
                "--help')\n", argv[1], near);
    else
        fprintf(stderr, "synapse: unknown command '%s' (see 'synapse --help')\n", argv[1]);
    return SYN_EXIT_USAGE;
}
