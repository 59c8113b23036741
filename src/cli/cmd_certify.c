/* SCAFFOLD: replaced by the module that implements 'nncert certify'. */
#include "cli.h"
#include <stdio.h>
int cmd_certify(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "nncert certify: not built yet\n");
    return CLI_EXIT_FAIL;
}
