/* test_mpi.c - the MPI helpers (bench/kb_mpi.h) without a GPU.
 * Plain run (ctest, any build): not launched by mpirun -> no MPI_Init; every
 * helper is the identity: rank 0, size 1, statuses and errors untouched.
 * Under `mpirun -np 2` of a KB_WITH_MPI build (tests/mpi_test.sh smoke): the
 * agreed statuses and reduced numbers, computed by hand below. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "bench/kb_mpi.h"
#include "kbtest.h"

static void single(void)
{
    KBT_CHECK(!kb_mpi_active());
    KBT_CHECK(kb_mpi_rank() == 0 && kb_mpi_size() == 1 && kb_mpi_local_rank() == 0);
    KBT_CHECK(kb_mpi_max_int(7) == 7 && kb_mpi_min_int(-2) == -2 && kb_mpi_root_int(5) == 5);
    KBT_CHECK(kb_mpi_sum_u64(123) == 123);
    kb_mpi_barrier();
    int x = 42;
    kb_mpi_bcast(&x, sizeof x, 0);
    KBT_CHECK(x == 42);
    KBT_CHECK(kb_mpi_agree(kb_error("boom")) == KB_FAIL);
    KBT_STREQ(kb_last_message(), "boom"); /* message untouched */
    KBT_CHECK(kb_mpi_agree(KB_OK) == KB_OK);
    double err = 3.5;
    KBT_CHECK(kb_mpi_agree_err(KB_OK, &err, "wrong") == KB_OK);
    KBT_NEAR(err, 3.5, 0);
    double sec = 1e-3;
    KBT_CHECK(kb_mpi_reduce_sample(KB_OK, &sec) == KB_OK);
    KBT_NEAR(sec, 1e-3, 0);
    /* not in MPI mode: every operator runs */
    KBT_CHECK(kb_mpi_op_allowed("fp8_gemm") && kb_mpi_op_allowed("alltoall"));
    KBT_CHECK(kb_mpi_select_device(4) == 0);
}

static void two_ranks(void)
{
    const int me = kb_mpi_rank();
    KBT_CHECK(kb_mpi_active() && kb_mpi_size() == 2);
    KBT_CHECK(kb_mpi_local_rank() == me); /* one node */
    KBT_CHECK(kb_mpi_max_int(me) == 1 && kb_mpi_min_int(me) == 0);
    KBT_CHECK(kb_mpi_root_int(10 + me) == 10);
    KBT_CHECK(kb_mpi_sum_u64(100 + (uint64_t)me) == 201);
    int x = me ? -1 : 99;
    kb_mpi_bcast(&x, sizeof x, 0);
    KBT_CHECK(x == 99);
    /* rank 1 fails, rank 0 is fine: both fail with rank 1's message */
    kb_clear_message();
    kb_status st = kb_mpi_agree(me ? kb_error("bad row %d", 17) : KB_OK);
    KBT_CHECK(st == KB_FAIL);
    KBT_STREQ(kb_last_message(), "rank 1: bad row 17");
    /* skip on rank 0, fail on rank 1: fail wins */
    st = kb_mpi_agree(me ? kb_error("f") : kb_skip("s"));
    KBT_CHECK(st == KB_FAIL);
    KBT_STREQ(kb_last_message(), "rank 1: f");
    /* skip on both: rank 0's reason, unprefixed */
    st = kb_mpi_agree(kb_skip("why %d", me));
    KBT_CHECK(st == KB_SKIP);
    KBT_STREQ(kb_last_message(), "why 0");
    KBT_CHECK(kb_mpi_agree(KB_OK) == KB_OK);
    /* "wrong" counts add up: 3 + 4 = 7; other metrics: max; NaN anywhere -> NaN */
    double err = me ? 4 : 3;
    st = kb_mpi_agree_err(me ? kb_error("4 wrong") : KB_OK, &err, "wrong");
    KBT_CHECK(st == KB_FAIL);
    KBT_NEAR(err, 7, 0);
    err = me ? 2e-3 : 5e-4;
    KBT_CHECK(kb_mpi_agree_err(KB_OK, &err, "diff") == KB_OK);
    KBT_NEAR(err, 2e-3, 0);
    err = me ? NAN : 1;
    kb_mpi_agree_err(KB_OK, &err, "diff");
    KBT_CHECK(isnan(err));
    /* a sample: the slowest rank's seconds; a failed sample fails everywhere */
    double sec = me ? 3e-3 : 1e-3;
    KBT_CHECK(kb_mpi_reduce_sample(KB_OK, &sec) == KB_OK);
    KBT_NEAR(sec, 3e-3, 0);
    sec = 1e-3;
    st = kb_mpi_reduce_sample(me ? kb_error("launch") : KB_OK, &sec);
    KBT_CHECK(st == KB_FAIL);
    /* MPI mode runs only the EP operators */
    KBT_CHECK(kb_mpi_op_allowed("ep_dispatch") && kb_mpi_op_allowed("ep_combine") && kb_mpi_op_allowed("alltoall"));
    KBT_CHECK(!kb_mpi_op_allowed("fp8_gemm") && !kb_mpi_op_allowed("hbm"));
}

int main(int argc, char **argv)
{
    if (kb_mpi_init(&argc, &argv)) return 1;
    if (kb_mpi_size() == 1) single();
    else if (kb_mpi_size() == 2) two_ranks();
    else KBT_CHECK(kb_mpi_size() <= 2); /* run with 1 or 2 processes */
    if (kb_mpi_active()) {
        /* non-root stdout is silenced: report failures on stderr, one rc for all */
        int bad = kb_mpi_max_int(kbt_fail_ > 0);
        if (kb_mpi_rank()) fprintf(stderr, "rank %d: %d passed, %d failed\n", kb_mpi_rank(), kbt_pass_, kbt_fail_);
        kb_mpi_finalize();
        if (bad && !kbt_fail_) return 1;
    }
    return kbt_done("mpi");
}
