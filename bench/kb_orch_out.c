/* kb_orch_out.c - the results files of `kbench run`: unique names, resume
 * (see kb_orch.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "bench/kb_orch.h"

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* <dir>/<stamp>-<pid>[-N]: the first whose .csv does not exist and whose
 * .csv.partial this process creates (O_EXCL).  Fills out's three paths. */
static int reserve_name(kb_out *out, const char *dir)
{
    char stamp[32], stem[sizeof out->csv_path], part[sizeof out->csv_path + 16];
    kb_utc_stamp(stamp, sizeof stamp, 1);
    if (kb_mkdirs(dir)) return -1;
    for (int k = 1; k < 1000; k++) {
        if (k == 1) snprintf(stem, sizeof stem, "%s/%s-%ld", dir, stamp, (long)getpid());
        else snprintf(stem, sizeof stem, "%s/%s-%ld-%d", dir, stamp, (long)getpid(), k);
        size_t n = strlen(stem); /* + ".meta.json" (the longest) must fit every buffer */
        if (n + sizeof ".csv.partial" > sizeof out->csv_path || n + sizeof ".meta.json" > sizeof out->meta_path) {
            errno = ENAMETOOLONG;
            return -1;
        }
        snprintf(out->csv_path, sizeof out->csv_path, "%s.csv", stem);
        snprintf(part, sizeof part, "%s.partial", out->csv_path);
        if (exists(out->csv_path)) continue;
        int fd = open(part, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd < 0 && errno == EEXIST) continue;
        if (fd < 0) return -1;
        close(fd);
        snprintf(out->json_path, sizeof out->json_path, "%s.json", stem);
        snprintf(out->meta_path, sizeof out->meta_path, "%s.meta.json", stem);
        return 0;
    }
    errno = EEXIST;
    return -1;
}

/* Cut a .partial back to its last complete line (a writer killed mid-row). */
static int trim_partial(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long keep = 0, pos = 0;
    for (int c; (c = fgetc(f)) != EOF;) {
        pos++;
        if (c == '\n') keep = pos;
    }
    fclose(f);
    return keep == pos ? 0 : truncate(path, keep);
}

/* The resumed file's names: FILE.csv(.partial) -> FILE.csv, FILE.json,
 * FILE.meta.json.  0, or -1 when they would not fit (never cut). */
static int resume_names(kb_out *out, const char *resume)
{
    size_t n = strlen(resume);
    if (n + sizeof ".meta.json" > sizeof out->meta_path) return -1;
    memcpy(out->csv_path, resume, n + 1);
    if (n > 8 && !strcmp(out->csv_path + n - 8, ".partial")) out->csv_path[n -= 8] = 0;
    char stem[sizeof out->csv_path];
    memcpy(stem, out->csv_path, n + 1);
    if (n > 4 && !strcmp(stem + n - 4, ".csv")) stem[n - 4] = 0;
    snprintf(out->json_path, sizeof out->json_path, "%s.json", stem);
    snprintf(out->meta_path, sizeof out->meta_path, "%s.meta.json", stem);
    return 0;
}

/* --resume FILE: load its rows; append to a .partial, rewrite a finished CSV. */
static int open_resume(kb_out *out, const char *resume)
{
    char err[512];
    int partial = strlen(resume) > 8 && !strcmp(resume + strlen(resume) - 8, ".partial");
    if (partial && trim_partial(resume)) {
        fprintf(stderr, "kbench run: --resume %s: %s\n", resume, strerror(errno));
        return KB_EXIT_USAGE;
    }
    int rc = kb_rows_load(&out->old, resume, NULL, err, sizeof err);
    if (rc) {
        fprintf(stderr, "kbench run: --resume: %s\n", err);
        return KB_EXIT_USAGE;
    }
    if (resume_names(out, resume)) {
        fprintf(stderr, "kbench run: --resume: path of %zu characters is too long\n", strlen(resume));
        return KB_EXIT_USAGE;
    }
    if (partial ? kb_afile_append(&out->csv.af, out->csv_path) : kb_csv_open(&out->csv, out->csv_path, 1)) {
        fprintf(stderr, "kbench: cannot write %s.partial: %s\n", out->csv_path, strerror(errno));
        return KB_EXIT_IO;
    }
    out->csv.durable = 1;
    for (int i = 0; i < out->old.n; i++) {
        out->old_fail += !strcmp(out->old.r[i].verified, "fail");
        if (!partial && kb_csv_write(&out->csv, &out->old.r[i])) {
            fprintf(stderr, "kbench: writing %s.partial failed\n", out->csv_path);
            return KB_EXIT_IO;
        }
    }
    return KB_EXIT_OK;
}

static int open_new(kb_out *out, const char *dir)
{
    struct stat st;
    if (!stat(dir, &st) && !S_ISDIR(st.st_mode)) { /* a device or a file: never write beside it */
        fprintf(stderr, "kbench run: --out %s: not a folder (run writes a folder of files)\n", dir);
        return KB_EXIT_USAGE;
    }
    if (reserve_name(out, dir) || kb_csv_open(&out->csv, out->csv_path, 1)) {
        fprintf(stderr, "kbench: cannot write %s.partial: %s\n", *out->csv_path ? out->csv_path : dir,
                strerror(errno));
        return KB_EXIT_IO;
    }
    return KB_EXIT_OK;
}

int kb_out_open(kb_out *out, const char *dir, const char *resume, const char *json)
{
    memset(out, 0, sizeof *out);
    if (json && strlen(json) >= sizeof out->json_path - 16) { /* room for the workers' ".wN" */
        fprintf(stderr, "kbench run: --benchmark_out: path of %zu characters is too long\n", strlen(json));
        return KB_EXIT_USAGE;
    }
    int rc = resume ? open_resume(out, resume) : open_new(out, dir);
    if (!rc && json) snprintf(out->json_path, sizeof out->json_path, "%s", json);
    return rc;
}

int kb_out_has(const kb_out *out, const char *op, const char *impl, const char *shape)
{
    for (int i = 0; i < out->old.n; i++) {
        const kb_row *r = &out->old.r[i];
        if (!strcmp(r->op, op) && !strcmp(r->impl, impl) && !strcmp(r->shape, shape)) return 1;
    }
    return 0;
}

int kb_out_close(kb_out *out)
{
    int rc = kb_csv_close(&out->csv);
    kb_rows_free(&out->old);
    return rc;
}

void kb_out_keep_partial(kb_out *out)
{
    if (out->csv.af.f && !out->csv.af.is_stdout) {
        fflush(out->csv.af.f);
        fsync(fileno(out->csv.af.f));
        fclose(out->csv.af.f);
    }
    free(out->csv.af.path);
    free(out->csv.af.tmp);
    memset(&out->csv.af, 0, sizeof out->csv.af);
    kb_rows_free(&out->old);
}
