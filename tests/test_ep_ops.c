/* test_ep_ops.c - the ep_dispatch / ep_combine / alltoall operator tables
 * without a GPU: shapes (sets, unique labels, loopback marking), napkin math
 * finite and positive, implementation tables. */
#include <math.h>
#include <string.h>
#include "kbtest.h"
#include "bench/kb.h"
#include "bench/ops/ep_host.h"
#include <stdlib.h>

static void check_op(const char *name, int want_flops)
{
    const kb_op *op = kb_find_op(name);
    KBT_CHECK(op != NULL);
    if (!op) return;
    KBT_CHECK(op->shapes && op->bytes && op->link_bytes && op->setup && op->poison && op->verify && op->teardown);
    int n = 0;
    const kb_shape *s = op->shapes(&n);
    KBT_CHECK(n >= 3);
    unsigned all = 0;
    for (int i = 0; i < n; i++) {
        all |= s[i].sets;
        KBT_CHECK((s[i].sets & (KB_SET_FULL | KB_SET_QUICK | KB_SET_SMALL)) != 0);
        for (int j = 0; j < i; j++) KBT_CHECK(strcmp(s[i].label, s[j].label) != 0);
        /* loopback rows say so in the label, and only they do */
        KBT_CHECK((strstr(s[i].label, "_loopback") != NULL) == ep_shape_is_loopback(&s[i]));
        double b = op->bytes(&s[i]), l = op->link_bytes(&s[i]);
        KBT_CHECK(isfinite(b) && b > 0);
        KBT_CHECK(isfinite(l) && l >= 0);
        /* link bytes of one rank never exceed the bytes the op moves */
        KBT_CHECK(l <= b);
        if (op->flops) {
            double f = op->flops(&s[i]);
            KBT_CHECK(want_flops ? f > 0 : f == 0);
        }
    }
    KBT_CHECK(all & KB_SET_FULL);
    KBT_CHECK(all & KB_SET_QUICK);
    KBT_CHECK(all & KB_SET_SMALL);
    KBT_CHECK(op->n_impls >= 1);
    KBT_CHECK(op->n_impls >= 1 && strcmp(op->impls[0].name, "v1") == 0 && op->impls[0].kind == KB_IMPL_HAND);
    int have_nccl = 0;
    for (int i = 0; i < op->n_impls; i++) have_nccl |= strcmp(op->impls[i].name, "nccl") == 0;
#ifdef KB_HAVE_NCCL
    KBT_CHECK(have_nccl);
#else
    KBT_CHECK(!have_nccl);
#endif
}

static void check_env(void)
{
    unsetenv("KBENCH_EP_SMS");
    KBT_CHECK(ep_env_sms() == 20);
    setenv("KBENCH_EP_SMS", "24", 1);
    KBT_CHECK(ep_env_sms() == 24);
    setenv("KBENCH_EP_SMS", "0", 1);
    KBT_CHECK(ep_env_sms() == 1);
    unsetenv("KBENCH_EP_SMS");
    int ndev = 0;
    if (cudaGetDeviceCount(&ndev) != cudaSuccess) ndev = 0;
    if (ndev < 2) { /* loopback machine: virtual ranks from the environment */
        int n = 0, lb = 0;
        unsetenv("KBENCH_EP_RANKS");
        ep_env_ranks(&n, &lb);
        KBT_CHECK(n == 8 && lb == 1);
        setenv("KBENCH_EP_RANKS", "4", 1);
        ep_env_ranks(&n, &lb);
        KBT_CHECK(n == 4 && lb == 1);
        setenv("KBENCH_EP_RANKS", "99", 1);
        ep_env_ranks(&n, &lb);
        KBT_CHECK(n == EP_MAX_RANKS && lb == 1);
        unsetenv("KBENCH_EP_RANKS");
    }
}

/* The peer check of ep_args_init: peer access and native atomics both
 * needed (issue 14: PCIe-only peers lack system-scope atomics). */
static void test_peer_check(void)
{
    KBT_CHECK(ep_peer_check(0, 1, 1, 1) == KB_OK);
    KBT_CHECK(ep_peer_check(0, 1, 1, 0) == KB_SKIP);
    KBT_CHECK(strstr(kb_last_message(), "cudaDevP2PAttrNativeAtomicSupported") != NULL);
    KBT_CHECK(strstr(kb_last_message(), "GPU 0 -> GPU 1") != NULL);
    KBT_CHECK(ep_peer_check(2, 3, 0, 1) == KB_SKIP);
    KBT_CHECK(strstr(kb_last_message(), "no peer access from GPU 2 to GPU 3") != NULL);
    KBT_CHECK(ep_peer_check(2, 3, 0, 0) == KB_SKIP);
}

int main(void)
{
    test_peer_check();
    check_env();
    check_op("ep_dispatch", 0);
    check_op("ep_combine", 1);
    check_op("alltoall", 0);
    /* the sweep: 1 KB .. 1 GB in x4 steps, plus the SMALL shape */
    int n = 0;
    const kb_shape *s = kb_find_op("alltoall")->shapes(&n);
    /* one GPU: each size twice (loopback, and EP8 over real GPUs for projections) */
    int lb = ep_shape_is_loopback(&s[0]), per = lb ? 2 : 1;
    KBT_CHECK(n == 11 * per + 1);
    KBT_CHECK(s[0].d[EP_D_BYTES] == 1024 && s[10 * per].d[EP_D_BYTES] == (int64_t)1 << 30);
    if (lb) {
        /* the projection twin crosses links, the loopback row does not */
        const kb_op *a2a = kb_find_op("alltoall");
        KBT_CHECK(!ep_shape_is_loopback(&s[1]) && s[1].d[EP_D_RANKS] == 8);
        KBT_CHECK(a2a->link_bytes(&s[0]) == 0);
        /* EP8, 1 KB per rank: 7 chunks of 1024/8 = 128 B leave each rank */
        KBT_NEAR(a2a->link_bytes(&s[1]), 7 * 128.0, 0);
        int nd = 0;
        const kb_shape *d = kb_find_op("ep_dispatch")->shapes(&nd);
        int real = 0;
        for (int i = 0; i < nd; i++)
            if (!ep_shape_is_loopback(&d[i])) {
                real++;
                KBT_CHECK(kb_find_op("ep_dispatch")->link_bytes(&d[i]) > 0);
            } else {
                KBT_CHECK(kb_find_op("ep_dispatch")->link_bytes(&d[i]) == 0);
            }
        KBT_CHECK(real == 2);
    }
    /* nccl-tests figures in the metrics column: 1 KB per rank in 1 us on 8 ranks:
     * algbw = 1024 B / 1e-6 s = 1.024 GB/s, busbw = 1.024 x 7/8 = 0.896 GB/s */
    {
        char buf[160];
        kb_shape m = s[0];
        m.d[EP_D_RANKS] = 8;
        kb_find_op("alltoall")->metrics(&m, 1e-6, buf, sizeof buf);
        KBT_CHECK(strncmp(buf, "algbw_gbps=1.02;busbw_gbps=0.90;loopback=", 41) == 0);
        if (strncmp(buf, "algbw_gbps=1.02;busbw_gbps=0.90;", 32)) printf("  metrics: %s\n", buf);
        KBT_CHECK(kb_find_op("ep_dispatch")->metrics != NULL && kb_find_op("ep_combine")->metrics != NULL);
    }
    /* dispatch shapes: T in {128, 4096}, hidden 7168, top-8 of 256, 4 of 8 groups */
    s = kb_find_op("ep_dispatch")->shapes(&n);
    KBT_CHECK(s[0].d[EP_D_TOKENS] == 128 && s[1].d[EP_D_TOKENS] == 4096);
    KBT_CHECK(s[1].d[EP_D_HIDDEN] == 7168 && s[1].d[EP_D_EXPERTS] == 256 && s[1].d[EP_D_TOPK] == 8);
    KBT_CHECK(s[1].d[EP_D_NGROUP] == 8 && s[1].d[EP_D_TOPKGROUP] == 4);
    KBT_STREQ(s[1].dtype, "e4m3");
    return kbt_done("test_ep_ops");
}
