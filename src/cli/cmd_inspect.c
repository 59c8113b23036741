/* SCAFFOLD: replaced by the module that implements 'nncert inspect'. */
#include "cli.h"
#include <stdio.h>
int cmd_inspect(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "nncert inspect: not built yet\n");
    return CLI_EXIT_FAIL;
}
