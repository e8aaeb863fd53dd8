/* test_ep_nccl_group.c - the NCCL reference ends its groups on error paths
 * (issue 14, item 14), without a GPU: NCCL's group bookkeeping is host-side,
 * and ncclSend with no communicator fails inside the group.  Probe: after
 * the exchange returns, one more ncclGroupEnd() must answer ncclInvalidUsage
 * ("not in a group call"); had the exchange returned from inside the group,
 * that call would close the group left open instead (and answer the stored
 * error).  A control runs the old pattern (return from inside the group) to
 * show that the probe tells the two apart.  Skips (77) without NCCL. */
#include <stdio.h>
#include <string.h>
#include "kbtest.h"
#include "bench/kb.h"
#include "kernels/ep/ep.h"
#ifdef KB_HAVE_NCCL
#include <nccl.h>

static char g_buf[64];
static int g_posted;

/* A group whose call fails (a send with no communicator): KB_NCCL_TRY
 * returns from post() at once. */
static kb_status post_failing(void *user)
{
    (void)user;
    g_posted++;
    KB_NCCL_TRY(ncclSend(g_buf, 16, ncclUint8, 1, NULL, 0));
    g_posted++; /* not reached */
    return KB_OK;
}

static kb_status post_nothing(void *user)
{
    (void)user;
    g_posted++;
    return KB_OK;
}

/* The old pattern: KB_NCCL_TRY returns from between Start and End. */
static kb_status old_pattern(void)
{
    KB_NCCL_TRY(ncclGroupStart());
    KB_NCCL_TRY(ncclSend(g_buf, 16, ncclUint8, 1, NULL, 0));
    KB_NCCL_TRY(ncclGroupEnd());
    return KB_OK;
}

int main(void)
{
    /* control: the old pattern leaves the group open, the probe closes it */
    KBT_CHECK(old_pattern() == KB_FAIL);
    ncclResult_t probe = ncclGroupEnd();
    KBT_CHECK(probe != ncclInvalidUsage);
    if (probe == ncclInvalidUsage) printf("control: the probe cannot see an open group here\n");
    KBT_CHECK(ncclGroupEnd() == ncclInvalidUsage); /* now closed */

    /* the fixed exchange: fails with the call's message, group closed */
    g_posted = 0;
    kb_status st = ep_nccl_group(post_failing, NULL);
    KBT_CHECK(st == KB_FAIL);
    KBT_CHECK(g_posted == 1);
    KBT_CHECK(strstr(kb_last_message(), "ncclSend") != NULL);
    printf("failing group: %s\n", kb_last_message());
    probe = ncclGroupEnd();
    KBT_CHECK(probe == ncclInvalidUsage);
    if (probe != ncclInvalidUsage) printf("the failed exchange left its group open (probe: %s)\n", ncclGetErrorString(probe));

    /* an empty group succeeds and is closed as well */
    g_posted = 0;
    KBT_CHECK(ep_nccl_group(post_nothing, NULL) == KB_OK);
    KBT_CHECK(g_posted == 1);
    KBT_CHECK(ncclGroupEnd() == ncclInvalidUsage);
    return kbt_done("test_ep_nccl_group");
}
#else
int main(void)
{
    printf("test_ep_nccl_group: built without NCCL, skipped\n");
    return KBT_SKIP;
}
#endif
