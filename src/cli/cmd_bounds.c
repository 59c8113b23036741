/* SCAFFOLD: replaced by the module that implements 'nncert bounds'. */
#include "cli.h"
#include <stdio.h>
int cmd_bounds(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "nncert bounds: not built yet\n");
    return CLI_EXIT_FAIL;
}
