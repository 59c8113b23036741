/* SCAFFOLD: replaced by the module that implements 'nncert predict'. */
#include "cli.h"
#include <stdio.h>
int cmd_predict(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "nncert predict: not built yet\n");
    return CLI_EXIT_FAIL;
}
