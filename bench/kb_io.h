/* kb_io.h - small utilities every room shares (plain C, no CUDA): the exit
 * codes, directories, files written whole-or-not-at-all, number parsing.
 * Both `kbench run` and the CSV readers (bench/report/) use these. */
#ifndef KB_IO_H
#define KB_IO_H
#include <stddef.h>
#include <stdio.h>
#ifdef __cplusplus
extern "C" {
#endif

/* Exit codes of every kbench command (README "Exit codes"). */
enum {
    KB_EXIT_OK = 0,
    KB_EXIT_FAIL = 1,      /* a row failed verification / errored; compare: regression */
    KB_EXIT_USAGE = 2,     /* usage error or bad input file                          */
    KB_EXIT_NO_DEVICE = 3, /* `kbench run` with no usable CUDA device                */
    KB_EXIT_IO = 4,        /* could not read or write a file                          */
    KB_EXIT_DEVICE_LOST = 5 /* `kbench run`: the device stopped working mid-run (health
                             * probe failed after a hang/crash; --isolate none: CUDA
                             * context lost); the rows so far are written */
};

/* mkdir -p.  0 / -1 (errno set). */
int kb_mkdirs(const char *dir);
/* mkdir -p of the folder holding `path` (nothing for a bare file name). */
int kb_mkdirs_for(const char *path);

/* A file written through a temporary beside it ("PATH.partial"), renamed over
 * PATH only by kb_afile_commit: readers never see half a file, and an
 * interrupted writer leaves the previous PATH in place.  "-" is stdout. */
typedef struct kb_afile {
    FILE *f;
    char *path, *tmp; /* malloc'd */
    int is_stdout;
} kb_afile;
int kb_afile_open(kb_afile *a, const char *path);  /* creates the folder; 0 / -1 (errno) */
int kb_afile_commit(kb_afile *a);                   /* flush, fsync, close, rename; 0 / -1 */
void kb_afile_abort(kb_afile *a);                   /* close and remove the temporary */
/* Reopen an existing PATH.partial for appending (resuming a run); commit
 * renames it to PATH as usual.  0 / -1 (errno). */
int kb_afile_append(kb_afile *a, const char *path);
/* The whole cycle: open, fn(f, arg) (returns 0 on success), commit; on any
 * failure the temporary is removed, PATH is untouched and a one-line reason
 * naming PATH is left in err.  Returns 0 / -1. */
typedef int (*kb_write_fn)(FILE *f, void *arg);
int kb_write_atomic(const char *path, kb_write_fn fn, void *arg, char *err, size_t errlen);

/* Numbers from text.  kb_parse_num: strtod of the whole string (spaces
 * around allowed); "" -> NaN and 0; junk -> -1.  kb_parse_int: a whole
 * decimal integer in [lo, hi] -> 0, else -1. */
int kb_parse_num(const char *s, double *v);
int kb_parse_int(const char *s, long long lo, long long hi, long long *out);

/* snprintf("%s") into a fixed buffer (truncates; NULL src -> ""). */
void kb_strlcpy(char *dst, const char *src, size_t n);
/* UTC now: 2026-11-24T08:00:00Z, or 20261124T080000Z when compact. */
void kb_utc_stamp(char *buf, size_t n, int compact);
#ifdef __cplusplus
}
#endif
#endif
