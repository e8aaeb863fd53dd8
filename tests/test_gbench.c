/* The Google Benchmark shim without a GPU: a fake sample function with known
 * times; iterations, manual time, rate counters, the one-document JSON, the
 * --benchmark_* pass-through, and an error inside a sample. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "bench/kb_gbench.h"
#include "kbtest.h"

static int calls;

static kb_status fake(void *user, double *seconds)
{
    const double *t = user;
    *seconds = t[calls % 3];
    calls++;
    return KB_OK;
}

static kb_status failing(void *user, double *seconds)
{
    (void)user;
    *seconds = 0;
    return kb_error("sample failed on purpose");
}

int main(void)
{
    char a0[] = "run", a1[] = "--benchmark_repetitions=2", a2[] = "--op", a3[] = "hbm";
    char a4[] = "--benchmark_out=/tmp/kb_gbench_test.json";
    char *argv[] = {a0, a1, a2, a3, a4, NULL};
    int argc = 5;
    KBT_CHECK(kb_gb_init(&argc, argv) == 0);
    /* Google Benchmark took its flags; ours stay, in order */
    KBT_CHECK(argc == 3);
    KBT_STREQ(argv[1], "--op");
    KBT_STREQ(argv[2], "hbm");
    KBT_STREQ(kb_gb_out_path(), "/tmp/kb_gbench_test.json");

    /* 1e-3, 2e-3, 3e-3 s per iteration, 6 iterations x 2 repetitions */
    static double times[3] = {1e-3, 2e-3, 3e-3};
    kb_gb_register("fake/v1/s1/bf16", 6, 2e12, 4e9, fake, times);
    KBT_CHECK(kb_gb_run() == 1);
    KBT_CHECK(calls == 12);
    kb_gb_register("fake/v2/s1/bf16", 4, 0, 0, failing, NULL);
    kb_gb_run();

    const char *path = "/tmp/kb_gbench_test.json";
    KBT_CHECK(kb_gb_write_json(path) == 0);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    KBT_CHECK(root != NULL); /* one valid document */
    json_t *bm = json_object_get(root, "benchmarks");
    KBT_CHECK(json_is_array(bm));
    int iters = 0, errors = 0;
    size_t i;
    json_t *e;
    json_array_foreach(bm, i, e) {
        const char *name = json_string_value(json_object_get(e, "name"));
        const char *rt = json_string_value(json_object_get(e, "run_type"));
        if (!name || !rt || strcmp(rt, "iteration")) continue;
        if (!strncmp(name, "fake/v1/s1/bf16", 15)) {
            iters++;
            /* manual time: mean of 1,2,3 ms = 2 ms = 2000 us per iteration */
            KBT_NEAR(json_real_value(json_object_get(e, "real_time")), 2000, 1e-9);
            KBT_STREQ(json_string_value(json_object_get(e, "time_unit")), "us");
            KBT_NEAR(json_integer_value(json_object_get(e, "iterations")), 6, 0);
            /* 2e12 FLOP per iteration / 2 ms = 1000 TFLOP/s; 4e9 B / 2 ms = 2000 GB/s */
            KBT_NEAR(json_real_value(json_object_get(e, "TFLOP/s")), 1000, 1e-9);
            KBT_NEAR(json_real_value(json_object_get(e, "GB/s")), 2000, 1e-9);
        }
        if (!strncmp(name, "fake/v2", 7) && json_is_true(json_object_get(e, "error_occurred"))) {
            errors++;
            KBT_STREQ(json_string_value(json_object_get(e, "error_message")), "sample failed on purpose");
        }
    }
    KBT_CHECK(iters == 2);  /* two repetitions */
    KBT_CHECK(errors >= 1);
    json_decref(root);
    unlink(path);
    return kbt_done("test_gbench");
}
