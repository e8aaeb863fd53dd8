/* kb_mpi.c - optional MPI launch; see kb_mpi.h.  Every function is a no-op
 * (rank 0, size 1) without KB_HAVE_MPI or when not started by mpirun/srun. */
#include "bench/kb_mpi.h"
#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef KB_HAVE_MPI
#include <mpi.h>
#endif

static int g_init, g_rank, g_size = 1, g_local;

/* Started by a launcher?  Open MPI (mpirun), PMI/PMIx (MPICH, Intel MPI,
 * srun --mpi=pmi2/pmix), Slurm steps with several tasks. */
static int launched(void)
{
    static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MV2_COMM_WORLD_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i])) return 1;
    const char *s = getenv("SLURM_STEP_NUM_TASKS");
    return s && atoi(s) > 1;
}

int kb_mpi_init(int *argc, char ***argv)
{
#ifdef KB_HAVE_MPI
    if (g_init || !launched()) return 0;
    if (MPI_Init(argc, argv) != MPI_SUCCESS) {
        fprintf(stderr, "kbench: MPI_Init failed\n");
        return -1;
    }
    g_init = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    MPI_Comm node;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, g_rank, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        MPI_Comm_rank(node, &g_local);
        MPI_Comm_free(&node);
    }
    if (g_size > 1 && g_rank != 0 && !freopen("/dev/null", "w", stdout))
        fprintf(stderr, "kbench: rank %d: cannot silence stdout\n", g_rank);
    return 0;
#else
    (void)argc;
    (void)argv;
    (void)g_init;
    if (launched())
        fprintf(stderr, "kbench: warning: started by an MPI launcher, but this kbench was built without MPI "
                        "(cmake -DKB_WITH_MPI=ON): every process runs alone\n");
    return 0;
#endif
}

void kb_mpi_finalize(void)
{
#ifdef KB_HAVE_MPI
    if (g_init) {
        fflush(stdout);
        MPI_Finalize();
        g_init = 0;
    }
#endif
}

int kb_mpi_active(void) { return g_size > 1; }
int kb_mpi_rank(void) { return g_rank; }
int kb_mpi_size(void) { return g_size; }
int kb_mpi_local_rank(void) { return g_local; }

void kb_mpi_barrier(void)
{
#ifdef KB_HAVE_MPI
    if (kb_mpi_active()) MPI_Barrier(MPI_COMM_WORLD);
#endif
}

void kb_mpi_bcast(void *p, size_t bytes, int root)
{
#ifdef KB_HAVE_MPI
    if (kb_mpi_active()) MPI_Bcast(p, (int)bytes, MPI_BYTE, root, MPI_COMM_WORLD);
#else
    (void)p;
    (void)bytes;
    (void)root;
#endif
}

#ifdef KB_HAVE_MPI
static void allreduce(void *v, int n, MPI_Datatype t, MPI_Op op)
{
    if (kb_mpi_active()) MPI_Allreduce(MPI_IN_PLACE, v, n, t, op, MPI_COMM_WORLD);
}
#define KB_ALLREDUCE(v, n, t, op) allreduce(v, n, t, op)
#else
#define KB_ALLREDUCE(v, n, t, op) ((void)(v))
#endif

int kb_mpi_max_int(int v)
{
    KB_ALLREDUCE(&v, 1, MPI_INT, MPI_MAX);
    return v;
}

int kb_mpi_min_int(int v)
{
    KB_ALLREDUCE(&v, 1, MPI_INT, MPI_MIN);
    return v;
}

uint64_t kb_mpi_sum_u64(uint64_t v)
{
    KB_ALLREDUCE(&v, 1, MPI_UINT64_T, MPI_SUM);
    return v;
}

int kb_mpi_root_int(int v)
{
    kb_mpi_bcast(&v, sizeof v, 0);
    return v;
}

static int severity(kb_status st) { return st == KB_OK ? 0 : st == KB_SKIP ? 1 : 2; }

kb_status kb_mpi_agree(kb_status st)
{
    if (!kb_mpi_active()) return st;
    const int sev = kb_mpi_max_int(severity(st));
    if (sev == 0) return KB_OK;
    /* the lowest rank with the worst status tells everyone why */
    const int who = kb_mpi_min_int(severity(st) == sev ? kb_mpi_rank() : kb_mpi_size());
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", kb_last_message());
    kb_mpi_bcast(msg, sizeof msg, who);
    msg[sizeof msg - 1] = 0;
    if (who == 0) return sev == 1 ? kb_skip("%s", msg) : kb_error("%s", msg);
    return sev == 1 ? kb_skip("rank %d: %s", who, msg) : kb_error("rank %d: %s", who, msg);
}

kb_status kb_mpi_agree_err(kb_status st, double *err, const char *metric)
{
    if (!kb_mpi_active()) return st;
    st = kb_mpi_agree(st);
    /* rank 0's metric decides the reduction, so every rank calls the same one */
    const int sum = kb_mpi_root_int(metric && !strcmp(metric, "wrong"));
    const int any_nan = kb_mpi_max_int(isnan(*err) ? 1 : 0);
    double v = isnan(*err) ? 0 : *err;
    if (sum) KB_ALLREDUCE(&v, 1, MPI_DOUBLE, MPI_SUM);
    else KB_ALLREDUCE(&v, 1, MPI_DOUBLE, MPI_MAX);
    *err = any_nan ? NAN : v;
    return st;
}

kb_status kb_mpi_reduce_sample(kb_status st, double *sec)
{
    if (!kb_mpi_active()) return st;
    double v[2] = {st != KB_OK ? 1.0 : 0.0, st == KB_OK ? *sec : 0.0};
    KB_ALLREDUCE(v, 2, MPI_DOUBLE, MPI_MAX);
    if (v[0] != 0) return st != KB_OK ? st : kb_error("a timed sample failed on another rank");
    *sec = v[1];
    return KB_OK;
}

int kb_mpi_op_allowed(const char *op)
{
    return !kb_mpi_active() || !strcmp(op, "ep_dispatch") || !strcmp(op, "ep_combine") || !strcmp(op, "alltoall");
}

int kb_mpi_select_device(int count)
{
    if (!kb_mpi_active() || count < 1) return 0;
    const int dev = kb_mpi_local_rank() % count;
    if (kb_mpi_local_rank() >= count)
        fprintf(stderr, "kbench: warning: rank %d: local rank %d but %d GPU(s) on this node: sharing GPU %d "
                        "(NCCL refuses two ranks on one GPU)\n", kb_mpi_rank(), kb_mpi_local_rank(), count, dev);
    cudaSetDevice(dev);
    return dev;
}
