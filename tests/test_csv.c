/* CSV writer: columns, escaping, empty numbers, append-then-rename, and a
 * crash keeping the rows written so far. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench/kb_row.h"
#include "bench/kb_run.h"
#include "kbtest.h"

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static int count_lines(const char *p)
{
    FILE *f = fopen(p, "r");
    if (!f) return -1;
    int n = 0, c;
    while ((c = fgetc(f)) != EOF) n += c == '\n';
    fclose(f);
    return n;
}

static char *slurp(const char *p)
{
    static char buf[8192];
    FILE *f = fopen(p, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[n] = 0;
    if (f) fclose(f);
    return buf;
}

static void row(kb_row *r, const char *impl)
{
    kb_row_init(r);
    snprintf(r->op, sizeof r->op, "fp8_gemm");
    snprintf(r->impl, sizeof r->impl, "%s", impl);
    snprintf(r->shape, sizeof r->shape, "m64_n7168_k16384");
    snprintf(r->verified, sizeof r->verified, "pass");
    r->time_us = 12.5;
    r->reps = 3;
}

/* the documented 26 columns, in order, then the extensions */
static void check_columns(void)
{
    const char *contract[] = {"op", "impl", "shape", "dtype", "gpu", "source", "flops", "bytes", "intensity",
                              "time_us", "time_us_min", "time_us_max", "cv", "reps", "tflops", "gbps",
                              "roof_tflops", "pct_roof", "bound", "err", "verified", "timer", "sm_clock_mhz",
                              "kbench_version", "git_sha", "timestamp"};
    KBT_CHECK(kb_ncols >= 26);
    for (int i = 0; i < 26; i++) KBT_STREQ(kb_cols[i].name, contract[i]);
}

/* rows go to FILE.partial, renamed over FILE on close; escaping, NaN, samples */
static void check_write(const char *dir)
{
    char path[256], tmp[300];
    snprintf(path, sizeof path, "%s/sub/dir/run.csv", dir);
    snprintf(tmp, sizeof tmp, "%s.partial", path);
    kb_csv c;
    KBT_CHECK(kb_csv_open(&c, path, 1) == 0); /* creates the directories */
    kb_row r;
    row(&r, "v1");
    snprintf(r.note, sizeof r.note, "says \"hi\", twice\nnewline");
    double samples[] = {12.5, 13.25, 12.0};
    r.samples_us = samples;
    r.n_samples = 3;
    KBT_CHECK(kb_csv_write(&c, &r) == 0);
    /* before close: rows are in FILE.partial, FILE does not exist yet */
    KBT_CHECK(exists(tmp) && !exists(path));
    KBT_CHECK(count_lines(tmp) == 3); /* header + a row whose quoted note holds a newline */
    KBT_CHECK(kb_csv_close(&c) == 0);
    KBT_CHECK(exists(path) && !exists(tmp));
    const char *text = slurp(path);
    KBT_CHECK(strncmp(text, "op,impl,shape,dtype,gpu,source,flops,", 37) == 0);
    KBT_CHECK(strstr(text, ",\"says \"\"hi\"\", twice\nnewline\",") != NULL);
    KBT_CHECK(strstr(text, "fp8_gemm,v1,m64_n7168_k16384,,,,,,,12.5,,,,3,") != NULL); /* NaN -> empty */
    KBT_CHECK(strstr(text, ",12.5;13.25;12,,,,,\n") != NULL); /* then the 5 --counters columns, empty */
    /* an unwritable path fails cleanly */
    KBT_CHECK(kb_csv_open(&c, "/proc/kbench/x.csv", 1) == -1);
}

/* a crash after two rows: both rows survive in FILE.partial */
static void check_crash(const char *dir)
{
    char path2[256], tmp2[300];
    snprintf(path2, sizeof path2, "%s/crash.csv", dir);
    snprintf(tmp2, sizeof tmp2, "%s.partial", path2);
    pid_t pid = fork();
    if (pid == 0) {
        kb_csv c2;
        kb_row r2;
        if (kb_csv_open(&c2, path2, 1)) _exit(3);
        row(&r2, "v1");
        kb_csv_write(&c2, &r2);
        row(&r2, "v2");
        kb_csv_write(&c2, &r2);
        abort(); /* no close, no exit handlers */
    }
    int status = 0;
    waitpid(pid, &status, 0);
    KBT_CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    KBT_CHECK(!exists(path2));
    KBT_CHECK(count_lines(tmp2) == 3);
    const char *text = slurp(tmp2);
    KBT_CHECK(strstr(text, "\nfp8_gemm,v1,") && strstr(text, "\nfp8_gemm,v2,"));
}

static void check_quoting(void)
{
    FILE *f = tmpfile();
    kb_csv_field(f, "plain");
    fputc('|', f);
    kb_csv_field(f, "a,b");
    fputc('|', f);
    kb_csv_field(f, "q\"q");
    rewind(f);
    char got[64] = "";
    KBT_CHECK(fgets(got, sizeof got, f) != NULL);
    KBT_STREQ(got, "plain|\"a,b\"|\"q\"\"q\"");
    fclose(f);
}

/* statistics of a row: median of {3, 1, 2, 10} = 2.5, min 1, max 10;
 * mean 4, sample sd sqrt((1 + 9 + 4 + 36) / 3) = 4.0824829, cv 1.0206207 */
static void check_stats(void)
{
    double us[] = {3, 1, 2, 10};
    kb_row st;
    kb_row_init(&st);
    kb_row_stats(&st, us, 4);
    KBT_CHECK(st.reps == 4);
    KBT_NEAR(st.time_us, 2.5, 1e-12);
    KBT_NEAR(st.time_us_min, 1, 0);
    KBT_NEAR(st.time_us_max, 10, 0);
    KBT_NEAR(st.cv, 1.0206207261596576, 1e-12);
    double one[] = {7};
    kb_row_stats(&st, one, 1);
    KBT_NEAR(st.time_us, 7, 0);
    KBT_NEAR(st.cv, 0, 0);
}

int main(void)
{
    check_columns();
    char dir[] = "/tmp/kb_csv_XXXXXX";
    KBT_CHECK(mkdtemp(dir) != NULL);
    check_write(dir);
    check_crash(dir);
    check_quoting();
    check_stats();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    KBT_CHECK(system(cmd) == 0);
    return kbt_done("test_csv");
}
