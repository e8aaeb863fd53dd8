/* test_ep_proto.c - host simulation of the v1 expert-parallel flag protocol
 * (kernels/ep/ep_proto.h: the same epoch / want / ready rules the kernels in
 * kernels/ep/ep_v1.cu use) across N ranks and several launches.
 *
 * Model: every rank's kernels of one op, in stream order, as in ep_v1.cu:
 *   dispatch: barrier -> layout (count row into every peer, cnt_ready) ->
 *             send (B CTAs: wait cnt_ready, store rows into every peer, +1 on
 *             done at every peer) -> finish (1 CTA: wait done >= e*B, read)
 *   combine:  barrier -> send (B CTAs) -> reduce (B CTAs: wait, read)
 *   alltoall: barrier -> send (B CTAs) -> wait (1 CTA)
 * Several GPUs: one stream per rank, one device each.  Loopback: ONE stream on
 * one device, each kernel one launch holding every virtual rank's CTAs.  A
 * device keeps at most `resident` CTAs of its running kernel resident (the
 * others start when one finishes, in random order).  A scheduler picks a
 * random resident CTA and runs one step (one flag store, one wait test, one
 * peer store, ...); steps are atomic and sequentially consistent (the PTX
 * ordering - fence.sc.sys + bar.sync + release, acquire + bar.sync - is checked
 * in the PTX by tests/ep.cmake, not here).
 *
 * Checked on every interleaving: a reader of op k sees only data of op k from
 * every sender and CTA (no stale or partial buffer), a writer of op k never
 * stores into a rank that has not finished reading op k-1, and the run never
 * gets stuck (no runnable CTA while work remains = a hang on the GPU).
 * Scenarios: launches back to back, host syncs between them, CUDA-graph
 * replays (the same captured arguments launched again), a launch whose
 * kernels never run (failed capture), 1..B resident CTAs.  Mutants of the
 * protocol (no barrier wait, want = e instead of e*B, barrier waiting inside
 * one loopback launch, the old host-side loopback op count) must be caught:
 * that shows the checks can fail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kbtest.h"
#include "kernels/ep/ep_proto.h"

#define MR 8  /* ranks */
#define MB 4  /* sender CTAs per rank */
#define MQ 64 /* kernels per stream */

enum { OP_DISPATCH, OP_COMBINE, OP_A2A };
enum { K_BARRIER, K_LAYOUT, K_SEND, K_RECV };
enum { MUT_NONE, MUT_NO_BARRIER_WAIT, MUT_WANT_EPOCH, MUT_LOOPBACK_BARRIER_WAITS, MUT_HOST_EPOCH };
enum { RES_OK, RES_ERROR, RES_HANG };

typedef struct {
    unsigned long long barrier[MR], cnt_ready[MR], done[MR], epoch;
} sflags;

typedef struct {
    int kind, r0, nr, per_rank; /* CTAs: per_rank x nr, CTA i is rank r0 + i / per_rank, block i % per_rank */
    int op;                     /* ground truth: which execution of the op this kernel belongs to */
    unsigned long long arg;     /* epoch argument (0 = device counter; MUT_HOST_EPOCH: the host count) */
    int pc[MR * MB], state[MR * MB]; /* state: 0 waiting to start, 1 resident, 2 done */
    unsigned long long ep[MR * MB];
} kinst;

typedef struct {
    kinst q[MQ];
    int head, tail;
} sstream;

typedef struct {
    int N, B, loopback, resident, op_kind, mut;
    sflags fl[MR];
    int cnt_gen[MR][MR];        /* [d][s]: op whose count row of s sits in d's table */
    int data_gen[MR][MR][MB];   /* [d][s][b]: op whose rows CTA b of s stored in d */
    int read_done[MR];          /* last op fully read on rank d (its receive kernel finished) */
    int errors;
    char msg[200];
    sstream st[MR];             /* loopback: st[0] only */
    int n_streams;
    unsigned long long host_epoch, graph_arg;
    int replay;                 /* launches are replays of a captured graph (same arguments) */
    int ops_launched;           /* executions enqueued (ground-truth op numbers) */
    unsigned long long rng;
} sim;

static unsigned rnd(sim *s, unsigned n)
{
    s->rng = s->rng * 6364136223846793005ull + 1442695040888963407ull;
    return (unsigned)((s->rng >> 33) % n);
}

static void fail(sim *s, const char *what, int op, int r, int d)
{
    if (!s->errors) snprintf(s->msg, sizeof s->msg, "%s (op %d, rank %d, peer %d)", what, op, r, d);
    s->errors++;
}

static int waits_in_recv(const sim *s) { return s->op_kind == OP_COMBINE ? s->B : 1; }

static void push(sim *s, int stream, int kind, int r0, int nr, int per_rank, int op, unsigned long long arg)
{
    sstream *q = &s->st[stream];
    kinst *k = &q->q[q->tail++ % MQ];
    memset(k, 0, sizeof *k);
    k->kind = kind;
    k->r0 = r0;
    k->nr = nr;
    k->per_rank = per_rank;
    k->op = op;
    k->arg = arg;
}

/* The launcher (ep_v1_dispatch / _combine / _alltoall): enqueue one op.
 * `run` = 0: the kernels are dropped (a capture that failed after the
 * launcher ran); the host side effects still happen. */
static void launch(sim *s, int run)
{
    unsigned long long arg = 0;
    if (s->mut == MUT_HOST_EPOCH && s->loopback) { /* the old loopback scheme */
        if (!s->replay) s->graph_arg = ++s->host_epoch;
        arg = s->graph_arg;
    }
    if (!run) return;
    const int op = ++s->ops_launched;
    const int use_barrier = !(s->mut == MUT_HOST_EPOCH && s->loopback);
    const int recv_ctas = waits_in_recv(s);
    if (s->loopback) {
        if (use_barrier) push(s, 0, K_BARRIER, 0, s->N, 1, op, arg);
        if (s->op_kind == OP_DISPATCH) push(s, 0, K_LAYOUT, 0, s->N, 1, op, arg);
        push(s, 0, K_SEND, 0, s->N, s->B, op, arg);
        push(s, 0, K_RECV, 0, s->N, recv_ctas, op, arg);
        return;
    }
    /* several GPUs: each phase for all ranks before the next phase (for_ranks) */
    for (int r = 0; r < s->N; r++) push(s, r, K_BARRIER, r, 1, 1, op, arg);
    if (s->op_kind == OP_DISPATCH)
        for (int r = 0; r < s->N; r++) push(s, r, K_LAYOUT, r, 1, 1, op, arg);
    for (int r = 0; r < s->N; r++) push(s, r, K_SEND, r, 1, s->B, op, arg);
    for (int r = 0; r < s->N; r++) push(s, r, K_RECV, r, 1, recv_ctas, op, arg);
}

static unsigned long long want_blocks(const sim *s, unsigned long long e)
{
    return s->mut == MUT_WANT_EPOCH ? ep_proto_want_epoch(e) : ep_proto_want_blocks(e, s->B);
}

/* One step of CTA i of kernel k.  Returns 1 if it made progress. */
static int step(sim *s, kinst *k, int i)
{
    const int N = s->N, r = k->r0 + i / k->per_rank, b = i % k->per_rank;
    sflags *own = &s->fl[r];
    int *pc = &k->pc[i];
    if (*pc == 0) { /* every kernel: resolve the op number first */
        if (k->kind == K_BARRIER) {
            k->ep[i] = ep_proto_next_epoch(own->epoch);
            own->epoch = k->ep[i];
        } else {
            k->ep[i] = ep_proto_epoch(k->arg, own->epoch);
        }
        (*pc)++;
        return 1;
    }
    const unsigned long long e = k->ep[i];
    int j = *pc - 1;
    switch (k->kind) {
    case K_BARRIER: {
        if (j < N) { s->fl[j].barrier[r] = e; break; }
        j -= N;
        int waits = ep_proto_barrier_waits(s->loopback);
        if (s->mut == MUT_NO_BARRIER_WAIT) waits = 0;
        if (s->mut == MUT_LOOPBACK_BARRIER_WAITS) waits = 1;
        if (j < N && waits) {
            if (!ep_proto_ready(own->barrier[j], ep_proto_want_epoch(e))) return 0;
            break;
        }
        k->state[i] = 2;
        return 1;
    }
    case K_LAYOUT: /* count row into every peer, then cnt_ready there */
        if (j < N) {
            if (s->read_done[j] < k->op - 1) fail(s, "count row overwritten while the peer reads the previous op", k->op, r, j);
            s->cnt_gen[j][r] = k->op;
            break;
        }
        j -= N;
        if (j < N) { s->fl[j].cnt_ready[r] = e; break; }
        k->state[i] = 2;
        return 1;
    case K_SEND:
        if (s->op_kind == OP_DISPATCH) { /* wait for every count row, read them */
            if (j < N) {
                if (!ep_proto_ready(own->cnt_ready[j], ep_proto_want_epoch(e))) return 0;
                break;
            }
            if (j == N) {
                for (int q = 0; q < N; q++)
                    if (s->cnt_gen[r][q] != k->op) fail(s, "send read a stale count row", k->op, r, q);
                break;
            }
            j -= N + 1;
        }
        if (j < N) { /* rows into every destination */
            if (s->read_done[j] < k->op - 1) fail(s, "rows overwritten while the peer reads the previous op", k->op, r, j);
            s->data_gen[j][r][b] = k->op;
            break;
        }
        j -= N;
        if (j < N) { s->fl[j].done[r] += 1; break; } /* fence, bar.sync, red.release */
        k->state[i] = 2;
        return 1;
    case K_RECV:
        if (j < N) {
            if (!ep_proto_ready(own->done[j], want_blocks(s, e))) return 0;
            break;
        }
        for (int q = 0; q < N; q++) {
            for (int bb = 0; bb < s->B; bb++)
                if (s->data_gen[r][q][bb] != k->op) fail(s, "receiver read stale/partial rows", k->op, r, q);
            if (s->op_kind == OP_DISPATCH && s->cnt_gen[r][q] != k->op)
                fail(s, "receiver read a stale count row", k->op, r, q);
        }
        k->state[i] = 2;
        return 1;
    }
    (*pc)++;
    return 1;
}

/* Run until every stream is empty.  Returns RES_OK, RES_ERROR or RES_HANG. */
static int drain(sim *s)
{
    for (;;) {
        kinst *cand_k[MR * MR * MB];
        int cand_i[MR * MR * MB], nc = 0, busy = 0;
        for (int q = 0; q < s->n_streams; q++) {
            sstream *sq = &s->st[q];
            while (sq->head < sq->tail) { /* retire finished kernels */
                kinst *k = &sq->q[sq->head % MQ];
                int n = k->nr * k->per_rank, all = 1;
                for (int i = 0; i < n; i++) all &= k->state[i] == 2;
                if (!all) break;
                if (k->kind == K_RECV)
                    for (int rr = k->r0; rr < k->r0 + k->nr; rr++) s->read_done[rr] = k->op;
                sq->head++;
            }
            if (sq->head == sq->tail) continue;
            busy = 1;
            kinst *k = &sq->q[sq->head % MQ];
            int n = k->nr * k->per_rank, res = 0;
            for (int i = 0; i < n; i++) res += k->state[i] == 1;
            while (res < s->resident) { /* the block scheduler starts CTAs in any order */
                int waiting[MR * MB], nw = 0;
                for (int i = 0; i < n; i++)
                    if (k->state[i] == 0) waiting[nw++] = i;
                if (!nw) break;
                k->state[waiting[rnd(s, (unsigned)nw)]] = 1;
                res++;
            }
            for (int i = 0; i < n; i++)
                if (k->state[i] == 1) {
                    cand_k[nc] = k;
                    cand_i[nc++] = i;
                }
        }
        if (!busy) return s->errors ? RES_ERROR : RES_OK;
        int progressed = 0;
        for (int tries = nc; tries > 0 && !progressed; tries--) { /* random order, each once */
            int pick = (int)rnd(s, (unsigned)tries);
            progressed = step(s, cand_k[pick], cand_i[pick]);
            cand_k[pick] = cand_k[tries - 1];
            cand_i[pick] = cand_i[tries - 1];
        }
        if (!progressed) {
            if (!s->errors) snprintf(s->msg, sizeof s->msg, "hang: every resident CTA spins");
            return RES_HANG;
        }
        if (s->errors) return RES_ERROR;
    }
}

/* pattern: 0 back to back, 1 host sync between launches, 2 graph replays
 * (same launches again), 3 a dropped launch (failed capture) in the middle. */
static int run(int op_kind, int N, int B, int loopback, int resident, int mut, int pattern, uint64_t seed,
               char *msg, size_t msg_n)
{
    sim *s = calloc(1, sizeof *s);
    s->N = N;
    s->B = B;
    s->loopback = loopback;
    s->resident = resident;
    s->op_kind = op_kind;
    s->mut = mut;
    s->n_streams = loopback ? 1 : N;
    s->rng = seed * 0x9e3779b97f4a7c15ull + 1;
    int res = RES_OK;
    const int launches = 6;
    for (int l = 0; l < launches && res == RES_OK; l++) {
        s->replay = pattern == 2 && l >= 2; /* launch 1 is the capture, then replays */
        launch(s, !(pattern == 3 && l == 2));
        if (pattern == 1 || (pattern == 2 && l % 3 == 2)) res = drain(s);
    }
    if (res == RES_OK) res = drain(s);
    if (res == RES_OK) /* the harness's verify after the last sync: everything of the last op */
        for (int d = 0; d < N; d++)
            for (int q = 0; q < N; q++)
                for (int bb = 0; bb < B; bb++)
                    if (s->data_gen[d][q][bb] != s->ops_launched) {
                        fail(s, "final buffers not from the last op", s->ops_launched, d, q);
                        res = RES_ERROR;
                    }
    snprintf(msg, msg_n, "%s", s->msg);
    free(s);
    return res;
}

static const char *kind_name(int k) { return k == OP_DISPATCH ? "dispatch" : k == OP_COMBINE ? "combine" : "alltoall"; }

/* The real protocol: every seed, pattern, shape and residency passes. */
static void check_protocol(void)
{
    static const int ns[] = {2, 3, 8}, bs[] = {1, 3};
    int bad = 0, cases = 0;
    for (int ok = 0; ok < 3; ok++)
        for (int lb = 0; lb < 2; lb++)
            for (int in = 0; in < 3; in++)
                for (int ib = 0; ib < 2; ib++)
                    for (int resident = 1; resident <= 5; resident += 4)
                        for (int pattern = 0; pattern < 4; pattern++)
                            for (uint64_t seed = 1; seed <= 40; seed++) {
                                char msg[200];
                                int res = run(ok, ns[in], bs[ib], lb, resident, MUT_NONE, pattern, seed, msg,
                                              sizeof msg);
                                cases++;
                                if (res != RES_OK) {
                                    if (bad++ < 5)
                                        printf("protocol %s N=%d B=%d loopback=%d resident=%d pattern=%d seed=%llu: %s\n",
                                               kind_name(ok), ns[in], bs[ib], lb, resident, pattern,
                                               (unsigned long long)seed, msg);
                                }
                            }
    printf("protocol: %d interleavings, %d bad\n", cases, bad);
    KBT_CHECK(bad == 0);
}

/* A mutant must be caught (result `want`) on at least one seed of the scenario. */
static void check_mutant(const char *name, int op_kind, int N, int B, int loopback, int resident, int mut,
                         int pattern, int want)
{
    int caught = 0;
    char msg[200] = "", first[200] = "";
    for (uint64_t seed = 1; seed <= 300 && !caught; seed++) {
        int res = run(op_kind, N, B, loopback, resident, mut, pattern, seed, msg, sizeof msg);
        if (res == want) {
            caught = 1;
            snprintf(first, sizeof first, "%s", msg);
        }
    }
    printf("mutant %-40s %s%s%s\n", name, caught ? "caught: " : "NOT caught", caught ? first : "", "");
    KBT_CHECK(caught);
}

int main(void)
{
    /* the shared rules themselves, by hand */
    KBT_CHECK(ep_proto_next_epoch(0) == 1);
    KBT_CHECK(ep_proto_next_epoch(41) == 42);
    KBT_CHECK(ep_proto_epoch(0, 7) == 7);
    KBT_CHECK(ep_proto_epoch(3, 7) == 3);
    KBT_CHECK(ep_proto_want_blocks(5, 20) == 100);
    KBT_CHECK(ep_proto_want_blocks(1ull << 40, 1024) == 1ull << 50); /* no 32-bit wrap */
    KBT_CHECK(ep_proto_want_epoch(9) == 9);
    KBT_CHECK(ep_proto_ready(100, 100) && ep_proto_ready(101, 100) && !ep_proto_ready(99, 100));
    KBT_CHECK(ep_proto_barrier_waits(0) == 1 && ep_proto_barrier_waits(1) == 0);

    check_protocol();

    /* mutants: each must be caught, proving the checks can fail */
    check_mutant("barrier does not wait (several GPUs)", OP_DISPATCH, 4, 2, 0, 2, MUT_NO_BARRIER_WAIT, 0, RES_ERROR);
    check_mutant("barrier does not wait, combine", OP_COMBINE, 4, 2, 0, 2, MUT_NO_BARRIER_WAIT, 0, RES_ERROR);
    check_mutant("want = e instead of e*blocks", OP_DISPATCH, 4, 3, 0, 3, MUT_WANT_EPOCH, 0, RES_ERROR);
    check_mutant("want = e instead of e*blocks, alltoall", OP_A2A, 2, 3, 0, 3, MUT_WANT_EPOCH, 1, RES_ERROR);
    check_mutant("barrier waits inside one loopback launch", OP_DISPATCH, 4, 2, 1, 1, MUT_LOOPBACK_BARRIER_WAITS, 0,
                 RES_HANG);
    check_mutant("host op count in loopback + failed capture", OP_DISPATCH, 4, 2, 1, 8, MUT_HOST_EPOCH, 3, RES_HANG);
    /* ... and the old host count is harmless without a dropped launch */
    {
        char msg[200];
        int bad = 0;
        for (int pattern = 0; pattern < 3; pattern++)
            for (uint64_t seed = 1; seed <= 20; seed++)
                bad += run(OP_DISPATCH, 4, 2, 1, 8, MUT_HOST_EPOCH, pattern, seed, msg, sizeof msg) != RES_OK;
        KBT_CHECK(bad == 0);
    }
    return kbt_done("test_ep_proto");
}
