/* kbr_opts.h - one table-driven option parser for plot, compare and report.
 *
 * Each subcommand declares its options as a table (long name, kind, where the
 * value goes) instead of writing its own getopt loop: the same errors ("option
 * '--x' needs a value", "unknown option", "bad --n '7' (integer 1..256)") come
 * out worded the same way everywhere, one line each, exit 2. */
#ifndef KBR_OPTS_H
#define KBR_OPTS_H

typedef enum kbr_opt_kind {
    KBR_OPT_FLAG = 0, /* no value: *(int *)dst = 1                            */
    KBR_OPT_STR,      /* *(const char **)dst = the value                      */
    KBR_OPT_INT,      /* *(int *)dst = the value, a whole number in [lo, hi]  */
    KBR_OPT_FN        /* fn(value, dst) == 0, else "bad --name 'v' hint"      */
} kbr_opt_kind;

typedef struct kbr_opt {
    const char *name; /* long name without the dashes                     */
    char key;         /* short letter, or 0                                */
    kbr_opt_kind kind;
    void *dst;
    long long lo, hi;                       /* KBR_OPT_INT */
    int (*fn)(const char *val, void *dst);  /* KBR_OPT_FN  */
    const char *hint;                       /* KBR_OPT_FN: "(e.g. 5%)"   */
} kbr_opt;

/* What kbr_opts_parse returns besides an exit code. */
enum { KBR_OPTS_HELP = -1 };

/* Parse argv[1..] against the table (--help is always known).  Positional
 * arguments are argv[*first..argc).  Returns 0; KBR_OPTS_HELP after printing
 * `usage` on stderr; or KB_EXIT_USAGE after one line "kbench CMD: ...". */
int kbr_opts_parse(const char *cmd, int argc, char **argv, const kbr_opt *opts, int nopts,
                   const char *usage, int *first);
#endif
