/* kb_worker.c - the orchestrator/worker message format (see kb_worker.h). */
#include "bench/kb_worker.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The whole buffer, EINTR and short writes retried.  0 / -1. */
static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int kb_wk_send(int fd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *line = NULL;
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !(line = malloc((size_t)n + 2))) return -1;
    va_start(ap, fmt);
    vsnprintf(line, (size_t)n + 1, fmt, ap);
    va_end(ap);
    line[n] = '\n';
    int rc = write_all(fd, line, (size_t)n + 1);
    free(line);
    return rc;
}

int kb_wk_send_row(int fd, const kb_row *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return -1;
    fputs("row ", f);
    int rc = kb_row_write(f, r); /* ends with '\n' */
    if (fclose(f) || !buf) rc = -1;
    if (!rc && len > 0) {
        for (size_t i = 0; i + 1 < len; i++)
            if (buf[i] == '\n' || buf[i] == '\r') buf[i] = ' '; /* one record, one line */
        rc = write_all(fd, buf, len);
    }
    free(buf);
    return rc;
}

int kb_wk_send_ceil(int fd, const kb_ceil *c)
{
    return kb_wk_send(fd, "ceil %.17g %.17g %.17g %u", c->fp8_tflops, c->bf16_tflops, c->hbm_gbs, c->measured);
}

/* The next RFC 4180 field of *p into out (unquoted); *p moves past the comma.
 * Returns 1 if a field was read, 0 at the end of the record, -1 if bad. */
static int next_field(const char **p, char *out, size_t cap, int *more)
{
    const char *s = *p;
    size_t n = 0;
    if (*s == '"') {
        for (s++;; s++) {
            if (!*s) return -1;
            if (*s == '"' && s[1] == '"') s++;
            else if (*s == '"') break;
            if (n + 1 < cap) out[n++] = *s;
        }
        s++;
    } else {
        for (; *s && *s != ',' && *s != '\n' && *s != '\r'; s++)
            if (n + 1 < cap) out[n++] = *s;
    }
    out[n] = 0;
    *more = *s == ',';
    if (*s && *s != ',' && *s != '\n' && *s != '\r') return -1;
    *p = *more ? s + 1 : s;
    return 1;
}

int kb_wk_parse_row(const char *csv, kb_row *r, char *err, size_t errlen)
{
    size_t cap = strlen(csv) + 1;
    char *cell = malloc(cap);
    if (!cell) return snprintf(err, errlen, "out of memory"), -1;
    kb_row_init(r);
    const char *p = csv;
    int more = 1, i = 0, rc = 0;
    for (; i < kb_ncols && more && !rc; i++) {
        if (next_field(&p, cell, cap, &more) < 0) {
            snprintf(err, errlen, "bad quoting in column %s", kb_cols[i].name);
            rc = -1;
        } else if (kb_row_set(&kb_cols[i], r, cell)) {
            snprintf(err, errlen, "bad value '%.40s' in column %s", cell, kb_cols[i].name);
            rc = -1;
        }
    }
    if (!rc && (i != kb_ncols || more)) {
        snprintf(err, errlen, "%d columns, want %d", i + more, kb_ncols);
        rc = -1;
    }
    free(cell);
    return rc;
}

int kb_wk_parse_ceil(const char *s, char sep, kb_ceil *c)
{
    double v[3];
    char *end;
    for (int i = 0; i < 3; i++) {
        v[i] = strtod(s, &end);
        if (end == s || *end != sep) return -1;
        s = end + 1;
    }
    unsigned long m = strtoul(s, &end, 10);
    if (end == s || (*end && *end != '\n') || m > 7) return -1;
    c->fp8_tflops = v[0];
    c->bf16_tflops = v[1];
    c->hbm_gbs = v[2];
    c->measured = (unsigned)m;
    return 0;
}

void kb_wk_apply_ceil(kb_ceil *c, const kb_ceil *m)
{
    if (m->measured & KB_CEIL_FP8) c->fp8_tflops = m->fp8_tflops;
    if (m->measured & KB_CEIL_BF16) c->bf16_tflops = m->bf16_tflops;
    if (m->measured & KB_CEIL_HBM) c->hbm_gbs = m->hbm_gbs;
    c->measured |= m->measured;
}
