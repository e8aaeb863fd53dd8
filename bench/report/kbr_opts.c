/* kbr_opts.c - see kbr_opts.h. */
#include "bench/report/kbr_opts.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "bench/kb_io.h"

#define MAX_OPTS 24
enum { VAL_BASE = 256, VAL_HELP = VAL_BASE + MAX_OPTS };

/* getopt_long's tables built from ours: long options answer VAL_BASE + index,
 * short letters their own character. */
static void build_tables(const kbr_opt *opts, int n, struct option *lo, char *sh)
{
    int k = 0;
    *sh++ = ':'; /* a missing value reports ':' */
    for (int i = 0; i < n; i++) {
        int has = opts[i].kind != KBR_OPT_FLAG;
        lo[i] = (struct option){opts[i].name, has ? required_argument : no_argument, 0, VAL_BASE + i};
        if (opts[i].key) {
            sh[k++] = opts[i].key;
            if (has) sh[k++] = ':';
        }
    }
    lo[n] = (struct option){"help", no_argument, 0, VAL_HELP};
    lo[n + 1] = (struct option){0, 0, 0, 0};
    sh[k++] = 'h';
    sh[k] = 0;
}

static int set_value(const char *cmd, const kbr_opt *o, const char *v)
{
    long long x;
    switch (o->kind) {
    case KBR_OPT_FLAG: *(int *)o->dst = 1; return 0;
    case KBR_OPT_STR: *(const char **)o->dst = v; return 0;
    case KBR_OPT_INT:
        if (kb_parse_int(v, o->lo, o->hi, &x) == 0) { *(int *)o->dst = (int)x; return 0; }
        fprintf(stderr, "kbench %s: bad --%s '%s' (integer %lld..%lld)\n", cmd, o->name, v, o->lo, o->hi);
        return KB_EXIT_USAGE;
    case KBR_OPT_FN:
        if (o->fn(v, o->dst) == 0) return 0;
        fprintf(stderr, "kbench %s: bad --%s '%s'%s%s\n", cmd, o->name, v, o->hint ? " " : "",
                o->hint ? o->hint : "");
        return KB_EXIT_USAGE;
    }
    return KB_EXIT_USAGE;
}

/* Every option at most once, and never with an empty value: a repeated
 * option would silently keep one of its values. */
static int check_once(const char *cmd, const kbr_opt *o, const char *v, char *seen, const kbr_opt *opts)
{
    if (seen[o - opts]++) {
        fprintf(stderr, "kbench %s: option '--%s' given twice\n", cmd, o->name);
        return KB_EXIT_USAGE;
    }
    if (o->kind != KBR_OPT_FLAG && v && !*v) {
        fprintf(stderr, "kbench %s: option '--%s' has an empty value\n", cmd, o->name);
        return KB_EXIT_USAGE;
    }
    return 0;
}

/* The table entry getopt_long answered with c, or NULL. */
static const kbr_opt *entry_for(int c, const kbr_opt *opts, int n)
{
    if (c >= VAL_BASE && c < VAL_BASE + n) return &opts[c - VAL_BASE];
    for (int i = 0; i < n; i++)
        if (opts[i].key && opts[i].key == c) return &opts[i];
    return NULL;
}

int kbr_opts_parse(const char *cmd, int argc, char **argv, const kbr_opt *opts, int nopts,
                   const char *usage, int *first)
{
    struct option lo[MAX_OPTS + 2];
    char sh[2 * MAX_OPTS + 4];
    if (nopts > MAX_OPTS) nopts = MAX_OPTS;
    build_tables(opts, nopts, lo, sh);
    optind = 0;
    opterr = 0;
    char seen[MAX_OPTS] = {0};
    int c;
    while ((c = getopt_long(argc, argv, sh, lo, NULL)) != -1) {
        const kbr_opt *o = entry_for(c, opts, nopts);
        if (c == VAL_HELP || c == 'h') {
            fprintf(stderr, "%s\n", usage);
            return KBR_OPTS_HELP;
        }
        if (c == ':') {
            fprintf(stderr, "kbench %s: option '%s' needs a value\n", cmd, argv[optind - 1]);
            return KB_EXIT_USAGE;
        }
        if (!o) {
            fprintf(stderr, "kbench %s: unknown option '%s'\n", cmd, argv[optind - 1]);
            return KB_EXIT_USAGE;
        }
        int rc = check_once(cmd, o, optarg, seen, opts);
        if (!rc) rc = set_value(cmd, o, optarg);
        if (rc) return rc;
    }
    *first = optind;
    return 0;
}
