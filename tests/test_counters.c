/* test_counters.c - `kbench run --counters` without a GPU: recorded ncu
 * output (tests/fixtures/ncu_*.txt, written from ncu's documented `--csv
 * --page raw` layout: a header of column names, a unit row, one row per
 * kernel, ==PROF==/==ERROR== lines around) parsed into the columns; several
 * kernels of one launch sum; a permission error, a missing tool, a run that
 * profiled nothing each give their note and never a failed row; ncu is
 * started with the case's NVTX range and cache policy, without the worker's
 * message fd, and killed at its deadline (tests/fake_ncu.sh stands in).
 * Expected values are worked out by hand in the comments. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include "bench/kb_counters.h"
#include "kbtest.h"

#define FX "tests/fixtures/"

static char *slurp(const char *path) { return kbt_file_text(NULL, path); }

/* Three kernels of one MoE-route launch. */
static void multi_kernel_sum(void)
{
    kb_counters c;
    KBT_CHECK(kb_counters_parse(slurp(FX "ncu_raw_multi.txt"), &c) == 0);
    KBT_CHECK(c.n_kernels == 3);
    /* read 3,145,728 + 1,048,576 + 1,048,576; write 3 x 1,048,576 */
    KBT_NEAR(c.dram_read, 5242880, 0);
    KBT_NEAR(c.dram_write, 3145728, 0);
    KBT_NEAR(c.l2_bytes, 6291456 + 2621440 + 2359296, 0); /* 11,272,192 */
    /* (80.5 x 2.0 ms + 10 x 0.5 ms + 30 x 1.5 ms) / 4.0 ms = 211 / 4 = 52.75 % */
    KBT_NEAR(c.sm_pct, 52.75, 1e-12);
    KBT_STREQ(c.note, "");
    /* into a row: flops 2^34, declared bytes 8,000,000; dram 8,388,608 */
    kb_row r;
    kb_row_init(&r);
    r.flops = 17179869184.0;
    r.bytes = 8e6;
    kb_counters_fill(&r, &c);
    KBT_NEAR(r.dram_bytes, 8388608, 0);
    KBT_NEAR(r.l2_bytes, 11272192, 0);
    KBT_NEAR(r.measured_intensity, 2048, 1e-15); /* 2^34 / 2^23 */
    KBT_NEAR(r.traffic_ratio, 1.048576, 1e-15);
    KBT_NEAR(r.sm_throughput_pct, 52.75, 1e-12);
    KBT_STREQ(r.note, "");
    /* the CSV cells: counts exact, in the last columns */
    char buf[64];
    KBT_STREQ(kb_row_cell(kb_col_find("dram_bytes"), &r, buf, sizeof buf), "8388608");
    KBT_STREQ(kb_row_cell(kb_col_find("traffic_ratio"), &r, buf, sizeof buf), "1.048576");
    KBT_STREQ(kb_cols[kb_ncols - 1].name, "sm_throughput_pct");
}

/* The hbm copy of 2 GiB: one kernel, a "Kernel Time" column ncu adds in some
 * versions (columns are found by name), 16 MiB of writes still in L2. */
static void copy_ratio(void)
{
    kb_counters c;
    KBT_CHECK(kb_counters_parse(slurp(FX "ncu_raw_copy.txt"), &c) == 0);
    KBT_CHECK(c.n_kernels == 1);
    kb_row r;
    kb_row_init(&r);
    r.flops = 0;
    r.bytes = 4294967296.0; /* 2 x 2^31 */
    kb_counters_fill(&r, &c);
    KBT_NEAR(r.dram_bytes, 4278321152.0, 0); /* 2,147,614,720 + 2,130,706,432 */
    /* 1 - 16,646,144 / 2^32 = 1 - 0.003875732421875 */
    KBT_NEAR(r.traffic_ratio, 0.996124267578125, 1e-15);
    KBT_NEAR(r.measured_intensity, 0, 0);
    KBT_NEAR(r.l2_bytes, 4294967296.0, 0);
}

/* Auto-scaled units (if --print-units base were not honoured). */
static void scaled_units(void)
{
    kb_counters c;
    KBT_CHECK(kb_counters_parse(slurp(FX "ncu_raw_scaled.txt"), &c) == 0);
    KBT_NEAR(c.dram_read, 1.5e6, 1e-15);
    KBT_NEAR(c.dram_write, 2.5e5, 1e-15);
    KBT_NEAR(c.l2_bytes, 2e6, 1e-15);
    KBT_NEAR(c.sm_pct, 40, 1e-15);
}

/* Not collected: the note says why, the columns stay empty, an earlier
 * note is kept. */
static void not_collected(void)
{
    kb_counters c;
    KBT_CHECK(kb_counters_parse(slurp(FX "ncu_perm.txt"), &c) == -1);
    KBT_CHECK(c.off == 1);
    KBT_CHECK(!strncmp(c.note, "counters off: ERR_NVGPUCTRPERM", 30));
    kb_row r;
    kb_row_init(&r);
    r.bytes = 100;
    kb_strlcpy(r.verified, "pass", sizeof r.verified);
    kb_strlcpy(r.note, "timed without a graph: x", sizeof r.note);
    kb_counters_fill(&r, &c);
    KBT_CHECK(isnan(r.dram_bytes) && isnan(r.l2_bytes) && isnan(r.traffic_ratio) && isnan(r.measured_intensity));
    KBT_CHECK(!strncmp(r.note, "timed without a graph: x; counters off: ERR_NVGPUCTRPERM", 56));
    KBT_STREQ(r.verified, "pass");
    char buf[64];
    KBT_STREQ(kb_row_cell(kb_col_find("dram_bytes"), &r, buf, sizeof buf), "");

    KBT_CHECK(kb_counters_parse(slurp(FX "ncu_none.txt"), &c) == -1);
    KBT_CHECK(c.off == 0);
    KBT_STREQ(c.note, "counters: ncu profiled no kernel in the case's NVTX range");
    KBT_CHECK(kb_counters_parse(slurp(FX "ncu_na.txt"), &c) == -1);
    KBT_STREQ(c.note, "counters: ncu gave no value for dram__bytes_read.sum");
    KBT_CHECK(kb_counters_parse("==ERROR== Failed to prepare kernel for profiling\n", &c) == -1);
    KBT_STREQ(c.note, "counters: ncu: Failed to prepare kernel for profiling");
    KBT_CHECK(kb_counters_parse("", &c) == -1);
    KBT_STREQ(c.note, "counters: ncu wrote no CSV");
}

/* ---- running (tests/fake_ncu.sh) ------------------------------------------------ */
static const char *args_file = "/tmp/kbench-test-ncu-args";

static kb_counters_req req(int keep_l2)
{
    return (kb_counters_req){.exe = "/opt/kbench/kbench", .key = "hbm/v1/copy_2GiB", .specs = NULL,
                             .keep_l2 = keep_l2, .timeout_s = 20};
}

static void runs_ncu(void)
{
    kb_counters_set_off("");
    setenv("KBENCH_NCU", "tests/fake_ncu.sh", 1);
    setenv("FAKE_NCU_ARGS", args_file, 1);
    setenv("FAKE_NCU_OUT", FX "ncu_raw_copy.txt", 1);
    int fd3 = open("/dev/null", O_WRONLY); /* stands for a worker's message pipe */
    if (fd3 != 3) dup2(fd3, 3);
    kb_counters c;
    kb_counters_req q = req(0);
    KBT_CHECK(kb_counters_collect(&q, &c) == 0);
    KBT_NEAR(c.dram_read + c.dram_write, 4278321152.0, 0);
    const char *a = slurp(args_file);
    KBT_CHECK(strstr(a, "--csv\n--page\nraw\n--print-units\nbase\n") != NULL);
    KBT_CHECK(strstr(a, "--metrics\n" KB_COUNTERS_METRICS "\n") != NULL);
    KBT_CHECK(strstr(a, "--nvtx\n--nvtx-include\nkbench hbm v1 copy_2GiB/\n") != NULL);
    KBT_CHECK(strstr(a, "--cache-control\nall\n--clock-control\nnone\n--target-processes\nall\n") != NULL);
    KBT_CHECK(strstr(a, "/opt/kbench/kbench\nrun\n--counters-case\nhbm/v1/copy_2GiB\n") != NULL);
    KBT_CHECK(strstr(a, "fd3=closed") != NULL);
    KBT_CHECK(strstr(a, "LC_ALL=C") != NULL);
    q = req(1);
    q.specs = "my specs.json";
    KBT_CHECK(kb_counters_collect(&q, &c) == 0);
    a = slurp(args_file);
    KBT_CHECK(strstr(a, "--cache-control\nnone\n") != NULL);
    KBT_CHECK(strstr(a, "--specs\nmy specs.json\n") != NULL);
    /* ncu exits 1 on a permission error: the log decides, and the run stops trying */
    setenv("FAKE_NCU_OUT", FX "ncu_perm.txt", 1);
    setenv("FAKE_NCU_RC", "1", 1);
    KBT_CHECK(kb_counters_collect(&q, &c) == -1 && c.off);
    KBT_CHECK(kb_counters_off() && !strncmp(kb_counters_off(), "counters off: ERR_NVGPUCTRPERM", 30));
    unlink(args_file);
    KBT_CHECK(kb_counters_collect(&q, &c) == -1 && c.off && access(args_file, F_OK) != 0); /* not run again */
    unsetenv("FAKE_NCU_RC");
    close(3);
}

static void missing_tool_and_deadline(void)
{
    kb_counters c;
    kb_counters_req q = req(0);
    kb_counters_set_off("");
    setenv("KBENCH_NCU", "/nonexistent/ncu", 1);
    KBT_CHECK(kb_counters_collect(&q, &c) == -1 && c.off);
    KBT_STREQ(c.note, "counters off: KBENCH_NCU=/nonexistent/ncu is not an executable file");
    KBT_STREQ(kb_counters_off(), c.note);
    /* no KBENCH_NCU, no ncu on PATH (this machine has none in these places either) */
    kb_counters_set_off("");
    unsetenv("KBENCH_NCU");
    char *path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    setenv("PATH", "/nonexistent", 1);
    char out[512];
    if (access("/usr/local/cuda/bin/ncu", X_OK) != 0 && kb_counters_find_ncu(out, sizeof out) != 0)
        KBT_STREQ(out, "ncu (Nsight Compute CLI) not found: set KBENCH_NCU or put ncu on PATH");
    if (path) setenv("PATH", path, 1), free(path);
    /* a hung ncu is killed at the deadline: a per-case note, the run goes on */
    kb_counters_set_off("");
    setenv("KBENCH_NCU", "tests/fake_ncu.sh", 1);
    setenv("FAKE_NCU_SLEEP", "30", 1);
    q.timeout_s = 0.5;
    KBT_CHECK(kb_counters_collect(&q, &c) == -1 && !c.off);
    KBT_STREQ(c.note, "counters: ncu did not finish within 0.5 s (killed)");
    KBT_CHECK(kb_counters_off() == NULL);
    unsetenv("FAKE_NCU_SLEEP");
    /* a tool that fails without a word: its exit status in the note */
    setenv("FAKE_NCU_OUT", "/dev/null", 1);
    setenv("FAKE_NCU_RC", "9", 1);
    q.timeout_s = 20;
    KBT_CHECK(kb_counters_collect(&q, &c) == -1 && !c.off);
    KBT_STREQ(c.note, "counters: ncu wrote no CSV (exit status 9)");
    unsetenv("FAKE_NCU_RC");
}

/* The row writer's side: the first "counters off" note becomes the run's
 * reason (what later workers are given), cut at the next part of the note. */
static void seen_sets_the_reason(void)
{
    kb_counters_set_off("");
    kb_row r;
    kb_row_init(&r);
    kb_strlcpy(r.note, "timed without a graph: x; counters off: no ncu; later", sizeof r.note);
    kb_counters_seen(&r);
    KBT_STREQ(kb_counters_off(), "counters off: no ncu");
}

int main(void)
{
    multi_kernel_sum();
    copy_ratio();
    scaled_units();
    not_collected();
    runs_ncu();
    missing_tool_and_deadline();
    seen_sets_the_reason();
    return kbt_done("test_counters");
}
