/* kb_io.c - see kb_io.h. */
#include "bench/kb_io.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int kb_mkdirs(const char *dir)
{
    char *buf = strdup(dir);
    if (!buf) return -1;
    int rc = 0;
    for (char *p = buf + 1; *p && !rc; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0777) && errno != EEXIST) rc = -1;
        *p = '/';
    }
    if (!rc && *buf && mkdir(buf, 0777) && errno != EEXIST) rc = -1;
    free(buf);
    return rc;
}

int kb_mkdirs_for(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path) return 0;
    char *dir = strndup(path, (size_t)(slash - path));
    if (!dir) return -1;
    int rc = kb_mkdirs(dir);
    free(dir);
    return rc;
}

int kb_afile_open(kb_afile *a, const char *path)
{
    memset(a, 0, sizeof *a);
    if (!strcmp(path, "-")) {
        a->f = stdout;
        a->is_stdout = 1;
        return 0;
    }
    if (!*path) {
        errno = ENOENT;
        return -1;
    }
    a->path = strdup(path);
    a->tmp = malloc(strlen(path) + sizeof ".partial");
    if (!a->path || !a->tmp) {
        kb_afile_abort(a);
        errno = ENOMEM;
        return -1;
    }
    sprintf(a->tmp, "%s.partial", path);
    if (kb_mkdirs_for(path) || !(a->f = fopen(a->tmp, "w"))) {
        int e = errno;
        kb_afile_abort(a);
        errno = e;
        return -1;
    }
    return 0;
}

int kb_afile_append(kb_afile *a, const char *path)
{
    memset(a, 0, sizeof *a);
    a->path = strdup(path);
    a->tmp = malloc(strlen(path) + sizeof ".partial");
    if (a->path && a->tmp) {
        sprintf(a->tmp, "%s.partial", path);
        a->f = fopen(a->tmp, "a");
    } else {
        errno = ENOMEM;
    }
    if (a->f) return 0;
    int e = errno; /* never kb_afile_abort: it would remove the rows being resumed */
    free(a->path);
    free(a->tmp);
    memset(a, 0, sizeof *a);
    errno = e;
    return -1;
}

static void afile_free(kb_afile *a)
{
    free(a->path);
    free(a->tmp);
    a->path = a->tmp = NULL;
    a->f = NULL;
}

int kb_afile_commit(kb_afile *a)
{
    if (a->is_stdout) {
        a->f = NULL;
        return fflush(stdout) ? -1 : 0;
    }
    if (!a->f) return -1;
    int rc = fflush(a->f) || ferror(a->f) || fsync(fileno(a->f)) ? -1 : 0;
    if (fclose(a->f)) rc = -1;
    a->f = NULL;
    if (!rc) rc = rename(a->tmp, a->path) ? -1 : 0;
    int e = errno;
    if (rc) remove(a->tmp);
    afile_free(a);
    errno = e;
    return rc;
}

void kb_afile_abort(kb_afile *a)
{
    if (a->is_stdout) {
        a->f = NULL;
        return;
    }
    if (a->f) fclose(a->f);
    if (a->tmp) remove(a->tmp);
    afile_free(a);
}

int kb_write_atomic(const char *path, kb_write_fn fn, void *arg, char *err, size_t errlen)
{
    kb_afile a;
    if (kb_afile_open(&a, path)) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        return -1;
    }
    if (fn(a.f, arg)) {
        snprintf(err, errlen, "%s: write failed", path);
        kb_afile_abort(&a);
        return -1;
    }
    if (kb_afile_commit(&a)) {
        snprintf(err, errlen, "%s: cannot finish: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int kb_parse_num(const char *s, double *v)
{
    while (*s == ' ') s++;
    if (!*s) {
        *v = NAN;
        return 0;
    }
    char *end;
    double x = strtod(s, &end);
    while (*end == ' ') end++;
    if (end == s || *end) return -1;
    *v = x;
    return 0;
}

int kb_parse_int(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

void kb_strlcpy(char *dst, const char *src, size_t n)
{
    if (n) snprintf(dst, n, "%s", src ? src : "");
}

void kb_utc_stamp(char *buf, size_t n, int compact)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, compact ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%SZ", &tm);
}
