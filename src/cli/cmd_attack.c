/* SCAFFOLD: replaced by the module that implements 'nncert attack'. */
#include "cli.h"
#include <stdio.h>
int cmd_attack(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "nncert attack: not built yet\n");
    return CLI_EXIT_FAIL;
}
