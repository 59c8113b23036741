/* nncert entry point: dispatches to one subcommand per concept. */
#include "cli.h"
#include "blas_core.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    cli_command_fn run;
    const char *summary;
    int mpi; /* 1: spreads its work over the ranks of an MPI job */
} commands[] = {
    {"inspect", cmd_inspect, "print a model's layers, shapes and parameter counts", 0},
    {"import", cmd_import, "convert an ONNX model to the native HDF5 format", 0},
    {"predict", cmd_predict, "run the forward pass on a data set and print accuracy", 0},
    {"bounds", cmd_bounds, "pre-activation and margin bounds of one image to HDF5", 0},
    {"certify", cmd_certify, "certified radius per image (and target)", 1},
    {"attack", cmd_attack, "PGD attack: adversarial examples and radius upper bounds", 0},
    {"sweep", cmd_sweep, "expand a sweep definition into one certify config per run", 0},
    {"report", cmd_report, "tables and plots (Markdown, HTML, PNG) from certify results or a sweep", 0},
    {"verify", cmd_verify, "check a VNN-LIB property: unsat, sat with a counterexample, unknown", 1},
    {"vnncomp", cmd_vnncomp, "run a VNN-COMP benchmark (instances.csv) through the MPI scheduler", 1},
};

/* A command of one process started as N ranks would run N times, each copy
 * writing the same files: refused, rank 0 (or every rank when unknown) says why. */
static int refuse_ranks(const char *name, long n, int is_rank0)
{
    if (is_rank0)
        fprintf(stderr,
                "nncert %s: started as %ld MPI ranks, but it runs in one process: every rank would run the "
                "same job and write the same files. Run it without mpirun/srun (certify, verify --bab and "
                "vnncomp are the commands that use ranks).\n",
                name, n);
    return CLI_EXIT_USAGE;
}

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
    blas_core_select(argv);  /* may execute the program again, before anything else */
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name)) continue;
        int rank0 = 1;
        long ranks = commands[i].mpi ? 1 : sched_launch_size(&rank0);
        return ranks > 1 ? refuse_ranks(commands[i].name, ranks, rank0) : commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "nncert: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
