/* test_cmd_driver.c - stand-in for `kbench plot|compare|report` until the
 * lead's main() dispatches to kb_cmd_*: with arguments it runs the named
 * subcommand (used by tests/ci_script_test.sh through a fake kbench); run
 * without arguments (ctest) it checks its own dispatch. */
#include <string.h>
#include "kb_cmds.h"
#include "kbtest.h"

static int dispatch(int argc, char **argv)
{
    if (!strcmp(argv[0], "plot")) return kb_cmd_plot(argc, argv);
    if (!strcmp(argv[0], "compare")) return kb_cmd_compare(argc, argv);
    if (!strcmp(argv[0], "report")) return kb_cmd_report(argc, argv);
    fprintf(stderr, "test_cmd_driver: unknown subcommand '%s'\n", argv[0]);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc > 1) return dispatch(argc - 1, argv + 1);
    char *bad[] = {"frobnicate", NULL};
    KBT_CHECK(dispatch(1, bad) == 2);
    char *help[] = {"compare", "--help", NULL};
    KBT_CHECK(dispatch(2, help) == 0);
    return kbt_done("test_cmd_driver");
}
