/* Every registered operator: well-formed tables (unique labels and impl names,
 * every shape in a set, finite non-negative FLOPs/bytes, GPU hooks present),
 * and the FLOP/byte formulas of the ceiling operators at known shapes. */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench/kb.h"
#include "bench/kb_row.h"
#include "kbtest.h"

static const kb_shape *find(const kb_op *op, const char *label)
{
    int n;
    const kb_shape *s = op->shapes(&n);
    for (int i = 0; i < n; i++)
        if (!strcmp(s[i].label, label)) return &s[i];
    return NULL;
}

/* Every dim that is non-zero in some shape of the op has a name in op->dims,
 * and labels are unique within the op.  Returns the number of problems. */
static int check_dims_and_labels(const kb_op *op)
{
    int n = 0, bad = 0;
    const kb_shape *s = op->shapes(&n);
    for (int i = 0; i < n; i++) {
        for (int d = 0; d < KB_MAX_DIMS; d++)
            if (s[i].d[d] != 0 && !op->dims[d]) {
                printf("  op %s shape %s: d[%d] = %lld has no name\n", op->name, s[i].label, d, (long long)s[i].d[d]);
                bad++;
            }
        for (int j = 0; j < i; j++)
            if (!strcmp(s[i].label, s[j].label)) {
                printf("  op %s: label %s twice\n", op->name, s[i].label);
                bad++;
            }
    }
    return bad;
}

/* Every name that becomes a row key fits its kb_row field (the writers
 * copy them with snprintf: a longer one would be cut, and two long shapes
 * cut alike would read back as one row).  Returns the number of problems. */
static int check_widths(const kb_op *op)
{
    kb_row r;
    int n = 0, bad = 0;
    char dims[1024];
    if (strlen(op->name) >= sizeof r.op) bad++, printf("  op %s: name wider than kb_row.op\n", op->name);
    for (int j = 0; j < op->n_impls; j++)
        if (strlen(op->impls[j].name) >= sizeof r.impl)
            bad++, printf("  op %s impl %s: wider than kb_row.impl\n", op->name, op->impls[j].name);
    const kb_shape *s = op->shapes(&n);
    for (int i = 0; i < n; i++) {
        if (strlen(s[i].label) >= sizeof r.shape)
            bad++, printf("  op %s shape %s: wider than kb_row.shape\n", op->name, s[i].label);
        if (strlen(s[i].dtype) >= sizeof r.dtype)
            bad++, printf("  op %s shape %s: dtype %s wider than kb_row.dtype\n", op->name, s[i].label, s[i].dtype);
        if (strlen(kb_shape_dims(op, &s[i], dims, sizeof dims)) >= sizeof r.dims)
            bad++, printf("  op %s shape %s: dims wider than kb_row.dims\n", op->name, s[i].label);
    }
    return bad;
}

/* kb_shape_add: the same label+dtype+dims merges the sets; a conflicting
 * duplicate aborts (checked in a child: it must die with SIGABRT). */
static void test_shape_add(void)
{
    kb_shape_table t = {0};
    const int64_t d[KB_MAX_DIMS] = {4, 5};
    kb_shape_add(&t, KB_SET_FULL, "bf16", d, "m%d_n%d", 4, 5);
    kb_shape_add(&t, KB_SET_SMALL, "bf16", d, "m%d_n%d", 4, 5);
    kb_shape_add(&t, KB_SET_FULL, "bf16", d, "other");
    KBT_CHECK(t.n == 2);
    KBT_STREQ(t.s[0].label, "m4_n5");
    KBT_CHECK(t.s[0].sets == (KB_SET_FULL | KB_SET_SMALL));
    KBT_CHECK(t.s[0].d[0] == 4 && t.s[0].d[1] == 5 && t.s[0].d[2] == 0);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        const int64_t other[KB_MAX_DIMS] = {4, 6};
        freopen("/dev/null", "w", stderr);
        kb_shape_add(&t, KB_SET_FULL, "bf16", other, "m4_n5");
        _exit(0); /* not reached when the duplicate is caught */
    }
    int status = 0;
    KBT_CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    KBT_CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    free(t.s);
}

int main(void)
{
    int nops;
    const kb_op *const *ops = kb_ops(&nops);
    KBT_CHECK(nops >= 12);
    KBT_STREQ(ops[0]->name, "hbm"); /* ceilings first: later rows use them */
    KBT_STREQ(ops[1]->name, "peak");
    for (int i = 0; i < nops; i++) {
        const kb_op *op = ops[i];
        KBT_CHECK(kb_find_op(op->name) == op);
        for (int j = 0; j < i; j++) KBT_CHECK(strcmp(ops[j]->name, op->name) != 0);
        int n = -1;
        const kb_shape *s = op->shapes(&n);
        KBT_CHECK(n >= 0);
        if (n == 0) continue; /* placeholder: not implemented yet */
        KBT_CHECK(op->flops && op->bytes && op->setup && op->poison && op->verify && op->teardown);
        KBT_CHECK(op->n_impls > 0 && op->impls);
        for (int j = 0; j < op->n_impls; j++) {
            KBT_CHECK(op->impls[j].name && op->impls[j].launch && op->impls[j].what);
            for (int k = 0; k < j; k++) KBT_CHECK(strcmp(op->impls[j].name, op->impls[k].name) != 0);
        }
        unsigned any = 0;
        for (int j = 0; j < n; j++) {
            KBT_CHECK(s[j].label[0] && s[j].dtype[0]);
            KBT_CHECK(s[j].sets & (KB_SET_FULL | KB_SET_QUICK | KB_SET_SMALL));
            any |= s[j].sets;
            for (int k = 0; k < j; k++)
                if (!strcmp(s[j].label, s[k].label) && !strcmp(s[j].dtype, s[k].dtype)) {
                    printf("FAIL duplicate shape %s/%s/%s\n", op->name, s[j].label, s[j].dtype);
                    kbt_fail_++;
                }
            double f = op->flops(&s[j]), b = op->bytes(&s[j]);
            KBT_CHECK(isfinite(f) && f >= 0 && isfinite(b) && b > 0);
            if (op->link_bytes) KBT_CHECK(isfinite(op->link_bytes(&s[j])) && op->link_bytes(&s[j]) >= 0);
        }
        /* each implemented op offers quick and small sets */
        KBT_CHECK(any & KB_SET_QUICK);
        KBT_CHECK(any & KB_SET_SMALL);
        if (!(any & KB_SET_QUICK) || !(any & KB_SET_SMALL)) printf("  (op %s)\n", op->name);
    }

    for (int i = 0; i < nops; i++) KBT_CHECK(check_dims_and_labels(kb_ops(&nops)[i]) == 0);
    for (int i = 0; i < nops; i++) KBT_CHECK(check_widths(kb_ops(&nops)[i]) == 0);
    test_shape_add();

    const kb_op *hbm = kb_find_op("hbm");
    KBT_NEAR(hbm->bytes(find(hbm, "copy_2GiB")), 4294967296.0, 0);   /* read + write 2 GiB */
    KBT_NEAR(hbm->bytes(find(hbm, "read_2GiB")), 2147483648.0, 0);
    KBT_NEAR(hbm->bytes(find(hbm, "l2read_16MiB_x64")), 1073741824.0, 0); /* 16 MiB x 64 */
    KBT_CHECK(find(hbm, "l2read_16MiB_x64")->sets & KB_SHAPE_HOT_L2);
    KBT_CHECK(!(find(hbm, "copy_2GiB")->sets & KB_SHAPE_HOT_L2));
    const kb_op *peak = kb_find_op("peak");
    /* 2 x 8192^3 = 1099511627776; FP8 bytes 2 x 8192^2 + 2 x 8192^2 = 268435456 */
    KBT_NEAR(peak->flops(find(peak, "fp8_8192")), 1099511627776.0, 0);
    KBT_NEAR(peak->bytes(find(peak, "fp8_8192")), 268435456.0, 0);
    KBT_NEAR(peak->bytes(find(peak, "bf16_8192")), 402653184.0, 0);
    KBT_CHECK(peak->peak_for(find(peak, "fp8_8192")) == KB_PEAK_FP8);
    KBT_CHECK(peak->peak_for(find(peak, "bf16_8192")) == KB_PEAK_BF16);
    return kbt_done("test_ops");
}
