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

/* The longest path kbench takes from its command line (--out, --resume,
 * --benchmark_out): longer ones are refused with a usage error, never cut. */
enum { KB_PATH_MAX = 1024 };

/* A file written whole or not at all.  PATH is resolved first: a symbolic
 * link is followed to its target (which the file then replaces; a dangling
 * link's target is created).  Then:
 *   - a regular file or nothing there: the text goes to a temporary in the
 *     target's folder, unique per writer (".NAME.XXXXXX", mkstemp), that
 *     kb_afile_commit flushes, fsyncs, renames over PATH and follows with an
 *     fsync of the folder.  Readers see the old file or one complete new
 *     one, never a mix of two writers; an interrupted writer leaves the old
 *     PATH and at worst a stray hidden temporary.
 *   - something that is not a regular file (a device such as /dev/null, a
 *     FIFO, a socket): written straight through, no temporary, no rename -
 *     a device or pipe is never replaced by a regular file.  A folder fails.
 * "-" is stdout.  Nothing is ever renamed over a non-regular file. */
typedef struct kb_afile {
    FILE *f;
    char *path, *tmp; /* malloc'd: the resolved target and the temporary (NULL when direct) */
    int is_stdout;
    int direct;       /* written straight through (a non-regular target) */
} kb_afile;
int kb_afile_open(kb_afile *a, const char *path);  /* creates the folder; 0 / -1 (errno) */
/* The resumable variant (`kbench run`'s CSV only): the temporary is the fixed
 * name "PATH.partial" (the caller makes it unique: kb_orch_out.c reserves it
 * with O_EXCL), so a stopped run can be continued from it. */
int kb_afile_open_partial(kb_afile *a, const char *path);
int kb_afile_commit(kb_afile *a);                   /* flush, fsync, close, rename, fsync folder; 0 / -1 */
void kb_afile_abort(kb_afile *a);                   /* close and remove the temporary */
/* Reopen an existing PATH.partial for appending (resuming a run); commit
 * renames it to PATH as usual.  0 / -1 (errno). */
int kb_afile_append(kb_afile *a, const char *path);
/* The whole cycle: open, fn(f, arg) (returns 0 on success), commit; on any
 * failure the temporary is removed, PATH is untouched and a one-line reason
 * naming PATH is left in err.  Returns 0 / -1. */
typedef int (*kb_write_fn)(FILE *f, void *arg);
int kb_write_atomic(const char *path, kb_write_fn fn, void *arg, char *err, size_t errlen);
/* printf into a malloc'd string (NULL on failure): for paths, never cut. */
char *kb_strdupf(const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Numbers from text.  kb_parse_num: strtod of the whole string (spaces
 * around allowed); "" -> NaN and 0; junk -> -1.  kb_parse_int: a whole
 * decimal integer in [lo, hi] -> 0, else -1. */
int kb_parse_num(const char *s, double *v);
int kb_parse_int(const char *s, long long lo, long long hi, long long *out);

/* snprintf("%s") into a fixed buffer (truncates silently; NULL src -> ""):
 * only for text known to fit (kb_cols widths are checked by tests). */
void kb_strlcpy(char *dst, const char *src, size_t n);
/* UTC now: 2026-11-24T08:00:00Z, or 20261124T080000Z when compact. */
void kb_utc_stamp(char *buf, size_t n, int compact);
#ifdef __cplusplus
}
#endif
#endif
