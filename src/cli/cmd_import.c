/* SCAFFOLD: replaced by the module that implements 'nncert import'. */
#include "cli.h"
#include <stdio.h>
int cmd_import(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "nncert import: not built yet\n");
    return CLI_EXIT_FAIL;
}
