/* cmdtest.h - call a kbench subcommand in-process and capture its stdout and
 * stderr (tests of plot / compare / report; see tests/test_cmd_*.c). */
#ifndef CMDTEST_H
#define CMDTEST_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int (*kbt_cmd_fn)(int, char **);
static char kbt_out[1 << 18], kbt_errbuf[1 << 14];

static void kbt_slurp(FILE *f, char *buf, size_t n)
{
    rewind(f);
    size_t got = fread(buf, 1, n - 1, f);
    buf[got] = 0;
}

/* Run fn(argv) with stdout/stderr redirected to temp files; returns its exit
 * code; the captured text is left in kbt_out / kbt_errbuf. */
static int kbt_run(kbt_cmd_fn fn, const char **argv_in)
{
    int argc = 0;
    char *argv[64];
    while (argv_in[argc] && argc < 63) { argv[argc] = (char *)argv_in[argc]; argc++; }
    argv[argc] = NULL;
    fflush(stdout);
    fflush(stderr);
    FILE *fo = tmpfile(), *fe = tmpfile();
    int so = dup(1), se = dup(2);
    dup2(fileno(fo), 1);
    dup2(fileno(fe), 2);
    int rc = fn(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    kbt_slurp(fo, kbt_out, sizeof kbt_out);
    kbt_slurp(fe, kbt_errbuf, sizeof kbt_errbuf);
    fclose(fo);
    fclose(fe);
    return rc;
}

static int kbt_count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}
#endif
