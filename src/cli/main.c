/* nncert entry point: dispatches to one subcommand per concept. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    cli_command_fn run;
    const char *summary;
} commands[] = {
    {"inspect", cmd_inspect, "print a model's layers, shapes and parameter counts"},
    {"import", cmd_import, "convert an ONNX model to the native HDF5 format"},
    {"predict", cmd_predict, "run the forward pass on a data set and print accuracy"},
    {"bounds", cmd_bounds, "pre-activation and margin bounds of one image to HDF5"},
    {"certify", cmd_certify, "certified radius per image (and target)"},
    {"attack", cmd_attack, "PGD attack: adversarial examples and radius upper bounds"},
    {"sweep", cmd_sweep, "expand a sweep definition into one certify config per run"},
    {"report", cmd_report, "tables and plots (Markdown, HTML, PNG) from certify results or a sweep"},
    {"verify", cmd_verify, "check a VNN-LIB property: unsat, sat with a counterexample, unknown"},
    {"vnncomp", cmd_vnncomp, "run a VNN-COMP benchmark (instances.csv) through the MPI scheduler"},
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: nncert <command> [options]\n\n"
            "Certifies the robustness of neural networks: for each image, the largest\n"
            "l1/l2/linf ball in which the prediction provably cannot change.\n\n"
            "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'nncert <command> --help' describes a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "nncert: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
