/* kb_shape.c - the one shape-table helper every operator builds its table
 * with, the `dims` column, and the peak of a shape (bench/kb.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench/kb.h"

static void die(const char *what, const char *label)
{
    fprintf(stderr, "kbench: shape table: %s '%s'\n", what, label);
    abort();
}

static kb_shape *find(kb_shape_table *t, const char *label)
{
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->s[i].label, label)) return &t->s[i];
    return NULL;
}

static kb_shape *grow(kb_shape_table *t)
{
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 16;
        kb_shape *p = realloc(t->s, (size_t)cap * sizeof *p);
        if (!p) die("out of memory adding", "");
        t->s = p;
        t->cap = cap;
    }
    kb_shape *s = &t->s[t->n++];
    memset(s, 0, sizeof *s);
    return s;
}

kb_shape *kb_shape_add(kb_shape_table *t, unsigned sets, const char *dtype, const int64_t d[KB_MAX_DIMS],
                       const char *label_fmt, ...)
{
    char label[sizeof ((kb_shape *)0)->label];
    va_list ap;
    va_start(ap, label_fmt);
    int len = vsnprintf(label, sizeof label, label_fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= sizeof label) die("label too long", label);
    if (strlen(dtype) >= sizeof ((kb_shape *)0)->dtype) die("dtype too long for", label);
    kb_shape *old = find(t, label);
    if (old) {
        if (strcmp(old->dtype, dtype) || memcmp(old->d, d, sizeof old->d))
            die("the same label with different dims or dtype:", label);
        old->sets |= sets;
        return old;
    }
    kb_shape *s = grow(t);
    memcpy(s->label, label, (size_t)len + 1);
    snprintf(s->dtype, sizeof s->dtype, "%s", dtype);
    s->sets = sets;
    memcpy(s->d, d, sizeof s->d);
    return s;
}

const char *kb_shape_dims(const kb_op *op, const kb_shape *s, char *buf, size_t n)
{
    size_t len = 0;
    if (n) buf[0] = 0;
    for (int i = 0; i < KB_MAX_DIMS && len < n; i++) {
        if (!op->dims[i]) continue;
        int w = snprintf(buf + len, n - len, "%s%s=%lld", len ? ";" : "", op->dims[i], (long long)s->d[i]);
        if (w < 0) break;
        len += (size_t)w;
    }
    return buf;
}

kb_peak kb_shape_peak(const kb_op *op, const kb_shape *s)
{
    return op->peak_for ? op->peak_for(s) : op->peak;
}

int kb_shape_refuse(char *why, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (n) vsnprintf(why, n, fmt, ap);
    va_end(ap);
    return -1;
}
