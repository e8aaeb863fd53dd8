/* kb_mpi.h - optional MPI launch (several processes, one GPU each; several
 * nodes): CMake -DKB_WITH_MPI=ON defines KB_HAVE_MPI.  Without it, or when the
 * process was not started by mpirun/srun (no OMPI_COMM_WORLD_SIZE, PMI_SIZE,
 * PMIX_RANK or SLURM_NTASKS in the environment), every call is a no-op: rank 0,
 * size 1, MPI_Init is never called, and a plain `kbench` needs no MPI at all.
 *
 * "MPI mode" = kb_mpi_active(): MPI initialised and more than one process.
 * Then every process runs the same op/shape/impl sequence on device
 * local_rank % device_count; rank 0 alone prints rows and writes files; the
 * harness agrees every status across ranks (kb_mpi_agree) so all ranks take
 * the same path (and the same collectives).  See README "Across nodes (MPI)". */
#ifndef KB_MPI_H
#define KB_MPI_H
#include <stddef.h>
#include <stdint.h>
#include "bench/kb.h"
#ifdef __cplusplus
extern "C" {
#endif

/* MPI_Init when launched under mpirun/srun (and built with MPI); non-root
 * ranks' stdout goes to /dev/null (rank 0 prints).  Returns 0, -1 on error. */
int kb_mpi_init(int *argc, char ***argv);
void kb_mpi_finalize(void);
int kb_mpi_active(void);     /* MPI initialised and size > 1 */
int kb_mpi_rank(void);       /* 0 without MPI */
int kb_mpi_size(void);       /* 1 without MPI */
int kb_mpi_local_rank(void); /* rank within the node (device = local rank % device count) */
void kb_mpi_barrier(void);
/* Broadcast `bytes` at p from `root` (no-op without MPI). */
void kb_mpi_bcast(void *p, size_t bytes, int root);

/* ---- reductions the harness and the EP ops use (identity without MPI) ----- */
int kb_mpi_max_int(int v);
int kb_mpi_min_int(int v);
uint64_t kb_mpi_sum_u64(uint64_t v);
/* Rank 0's value of v on every rank. */
int kb_mpi_root_int(int v);
/* Status agreement: KB_FAIL if any rank failed, else KB_SKIP if any skipped,
 * else KB_OK.  The message of the lowest rank with the worst status becomes
 * every rank's kb_last_message() ("rank R: ..." when R != 0). */
kb_status kb_mpi_agree(kb_status st);
/* kb_mpi_agree, plus err reduced: summed for metric "wrong" (counts), else
 * the max (NaN on any rank -> NaN). */
kb_status kb_mpi_agree_err(kb_status st, double *err, const char *metric);
/* One timed sample: agreed status; *sec = max over ranks (the slowest rank
 * bounds a collective operation). */
kb_status kb_mpi_reduce_sample(kb_status st, double *sec);
/* `kbench run` in MPI mode runs only the EP operators. */
int kb_mpi_op_allowed(const char *op);
/* MPI mode: cudaSetDevice(local rank % count); returns the device (0 otherwise). */
int kb_mpi_select_device(int count);

#ifdef __cplusplus
}
#endif
#endif
