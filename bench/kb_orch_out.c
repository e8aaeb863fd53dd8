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
    char stamp[32], stem[900], part[1100];
    kb_utc_stamp(stamp, sizeof stamp, 1);
    if (kb_mkdirs(dir)) return -1;
    for (int k = 1; k < 1000; k++) {
        if (k == 1) snprintf(stem, sizeof stem, "%s/%s-%ld", dir, stamp, (long)getpid());
        else snprintf(stem, sizeof stem, "%s/%s-%ld-%d", dir, stamp, (long)getpid(), k);
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

/* The resumed file's names: FILE.csv(.partial) -> FILE.csv, FILE.json, FILE.meta.json. */
static void resume_names(kb_out *out, const char *resume)
{
    kb_strlcpy(out->csv_path, resume, sizeof out->csv_path);
    size_t n = strlen(out->csv_path);
    if (n > 8 && !strcmp(out->csv_path + n - 8, ".partial")) out->csv_path[n -= 8] = 0;
    char stem[1000];
    kb_strlcpy(stem, out->csv_path, sizeof stem);
    if (n < sizeof stem && n > 4 && !strcmp(stem + n - 4, ".csv")) stem[n - 4] = 0;
    snprintf(out->json_path, sizeof out->json_path, "%s.json", stem);
    snprintf(out->meta_path, sizeof out->meta_path, "%s.meta.json", stem);
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
    resume_names(out, resume);
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

int kb_out_open(kb_out *out, const char *dir, const char *resume)
{
    memset(out, 0, sizeof *out);
    if (resume) return open_resume(out, resume);
    if (reserve_name(out, dir) || kb_csv_open(&out->csv, out->csv_path, 1)) {
        fprintf(stderr, "kbench: cannot write %s.partial: %s\n", *out->csv_path ? out->csv_path : dir,
                strerror(errno));
        return KB_EXIT_IO;
    }
    return KB_EXIT_OK;
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
