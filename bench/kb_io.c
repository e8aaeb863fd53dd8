/* kb_io.c - see kb_io.h. */
#include "bench/kb_io.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
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

char *kb_strdupf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n < 0 ? NULL : malloc((size_t)n + 1);
    if (!s) return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* The folder part of path ("." for a bare name), malloc'd. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    return slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
}

/* Follow symbolic links at path (at most 40, as the kernel does): the
 * malloc'd target the file really lives at, or NULL (errno). */
static char *resolve(const char *path)
{
    char *p = strdup(path);
    for (int hops = 0; p; hops++) {
        struct stat st;
        if (lstat(p, &st) || !S_ISLNK(st.st_mode)) return p; /* not there (yet) or not a link */
        if (hops == 40) {
            free(p);
            errno = ELOOP;
            return NULL;
        }
        char *link = malloc((size_t)st.st_size + 1);
        ssize_t n = link ? readlink(p, link, (size_t)st.st_size + 1) : -1;
        char *next = NULL;
        if (n >= 0 && n <= st.st_size) {
            link[n] = 0;
            char *dir = dir_of(p);
            next = link[0] == '/' || !dir ? strdup(link) : kb_strdupf("%s/%s", dir, link);
            free(dir);
        }
        free(link);
        free(p);
        p = next;
    }
    return p;
}

/* fsync the folder holding path, so the rename itself is durable. */
static void sync_dir(const char *path)
{
    char *dir = dir_of(path);
    int fd = dir ? open(dir, O_RDONLY | O_DIRECTORY) : -1;
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

/* The temporary: "PATH.partial" (fixed) or "<folder>/.<name>.XXXXXX"
 * (mkstemp), with the mode the file would get (or already has). */
static FILE *open_tmp(kb_afile *a, int fixed, const struct stat *old)
{
    if (fixed) {
        a->tmp = kb_strdupf("%s.partial", a->path);
        return a->tmp ? fopen(a->tmp, "w") : NULL;
    }
    const char *slash = strrchr(a->path, '/');
    a->tmp = slash ? kb_strdupf("%.*s/.%s.XXXXXX", (int)(slash - a->path), a->path, slash + 1)
                   : kb_strdupf(".%s.XXXXXX", a->path);
    int fd = a->tmp ? mkstemp(a->tmp) : -1;
    if (fd < 0) {
        free(a->tmp); /* nothing was created: nothing for abort to remove */
        a->tmp = NULL;
        return NULL;
    }
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, old ? old->st_mode & 07777 : 0666 & ~mask);
    FILE *f = fdopen(fd, "w");
    if (!f) close(fd);
    return f;
}

static int afile_open(kb_afile *a, const char *path, int fixed)
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
    struct stat st;
    int there = 0;
    if (!(a->path = resolve(path)) || kb_mkdirs_for(a->path)) goto fail;
    there = stat(a->path, &st) == 0;
    if (there && S_ISDIR(st.st_mode)) {
        errno = EISDIR;
        goto fail;
    }
    if (there && !S_ISREG(st.st_mode)) { /* device, FIFO, socket: write through */
        if (fixed) {
            errno = EINVAL; /* a resumable run file must be a regular file */
            goto fail;
        }
        a->direct = 1;
        if (!(a->f = fopen(a->path, "w"))) goto fail;
        return 0;
    }
    if ((a->f = open_tmp(a, fixed, there ? &st : NULL))) return 0;
fail:;
    int e = errno ? errno : ENOMEM;
    kb_afile_abort(a);
    errno = e;
    return -1;
}

int kb_afile_open(kb_afile *a, const char *path) { return afile_open(a, path, 0); }
int kb_afile_open_partial(kb_afile *a, const char *path) { return afile_open(a, path, 1); }

int kb_afile_append(kb_afile *a, const char *path)
{
    memset(a, 0, sizeof *a);
    a->path = resolve(path);
    a->tmp = a->path ? kb_strdupf("%s.partial", a->path) : NULL;
    if (a->path && a->tmp) a->f = fopen(a->tmp, "a");
    else errno = ENOMEM;
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

/* rename tmp over path unless path has become something other than a
 * regular file meanwhile (never replace a device or a FIFO). */
static int put_in_place(const kb_afile *a)
{
    struct stat st;
    if (!lstat(a->path, &st) && !S_ISREG(st.st_mode)) {
        errno = EEXIST;
        return -1;
    }
    if (rename(a->tmp, a->path)) return -1;
    sync_dir(a->path);
    return 0;
}

int kb_afile_commit(kb_afile *a)
{
    if (a->is_stdout) {
        a->f = NULL;
        return fflush(stdout) ? -1 : 0;
    }
    if (!a->f) return -1;
    int rc = fflush(a->f) || ferror(a->f) ? -1 : 0;
    if (!rc && !a->direct && fsync(fileno(a->f))) rc = -1;
    if (fclose(a->f)) rc = -1;
    a->f = NULL;
    if (!rc && !a->direct) rc = put_in_place(a);
    int e = errno;
    if (rc && a->tmp) remove(a->tmp);
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
