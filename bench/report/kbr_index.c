/* kbr_index.c - see kbr_index.h. */
#include "bench/report/kbr_index.h"

#include <stdlib.h>
#include <string.h>

int kbr_key_gate(const kb_row *a, const kb_row *b)
{
    int c = strcmp(a->op, b->op);
    if (!c) c = strcmp(a->impl, b->impl);
    if (!c) c = strcmp(a->shape, b->shape);
    if (!c) c = strcmp(a->dtype, b->dtype);
    return c;
}

int kbr_key_gate_gpu(const kb_row *a, const kb_row *b)
{
    int c = kbr_key_gate(a, b);
    return c ? c : strcmp(a->gpu, b->gpu);
}

int kbr_key_osg(const kb_row *a, const kb_row *b)
{
    int c = strcmp(a->op, b->op);
    if (!c) c = strcmp(a->shape, b->shape);
    if (!c) c = strcmp(a->gpu, b->gpu);
    return c;
}

int kbr_key_os(const kb_row *a, const kb_row *b)
{
    int c = strcmp(a->op, b->op);
    return c ? c : strcmp(a->shape, b->shape);
}

int kbr_key_op(const kb_row *a, const kb_row *b) { return strcmp(a->op, b->op); }

/* Stable bottom-up merge sort of v[0..n) by cmp (tmp: n slots). */
static void merge_sort(const kb_row **v, const kb_row **tmp, int n, kbr_key_cmp cmp)
{
    for (int w = 1; w < n; w *= 2) {
        for (int lo = 0; lo < n; lo += 2 * w) {
            int mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            int i = lo, j = mid, k = lo;
            while (i < mid && j < hi) tmp[k++] = cmp(v[j], v[i]) < 0 ? v[j++] : v[i++];
            while (i < mid) tmp[k++] = v[i++];
            while (j < hi) tmp[k++] = v[j++];
        }
        memcpy(v, tmp, (size_t)n * sizeof *v);
    }
}

int kbr_index_build(kbr_index *x, const kb_rowset *s, kbr_key_cmp cmp)
{
    x->n = 0;
    x->cmp = cmp;
    x->r = malloc((size_t)s->n * sizeof *x->r + 1);
    const kb_row **tmp = malloc((size_t)s->n * sizeof *tmp + 1);
    if (!x->r || !tmp) {
        free(x->r);
        free(tmp);
        x->r = NULL;
        return -1;
    }
    for (int i = 0; i < s->n; i++) x->r[i] = &s->r[i];
    x->n = s->n;
    merge_sort(x->r, tmp, x->n, cmp);
    free(tmp);
    return 0;
}

void kbr_index_free(kbr_index *x)
{
    free(x->r);
    memset(x, 0, sizeof *x);
}

int kbr_index_find_by(const kbr_index *x, const kb_row *key, kbr_key_cmp prefix, int *count)
{
    int lo = 0, hi = x->n; /* first position whose row is >= key */
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (prefix(x->r[mid], key) < 0) lo = mid + 1;
        else hi = mid;
    }
    int end = lo;
    while (end < x->n && prefix(x->r[end], key) == 0) end++;
    if (count) *count = end - lo;
    return end > lo ? lo : -1;
}

int kbr_index_find(const kbr_index *x, const kb_row *key, int *count)
{
    return kbr_index_find_by(x, key, x->cmp, count);
}

/* Copy s into a key field of size n; 0 if it does not fit (no row holds it). */
static int key_field(char *dst, size_t n, const char *s)
{
    size_t l = strlen(s);
    if (l >= n) return 0;
    memcpy(dst, s, l + 1);
    return 1;
}

const kb_row *const *kbr_rows_of(const kb_rowset *s, const char *op, const char *shape, const char *gpu,
                                 int *count)
{
    static const kb_row *const none[1] = {NULL};
    kb_row k;
    *count = 0;
    if (!s->osg || !key_field(k.op, sizeof k.op, op) || (shape && !key_field(k.shape, sizeof k.shape, shape)) ||
        (gpu && !key_field(k.gpu, sizeof k.gpu, gpu)))
        return none;
    kbr_key_cmp cmp = !shape ? kbr_key_op : !gpu ? kbr_key_os : kbr_key_osg;
    int at = kbr_index_find_by(s->osg, &k, cmp, count);
    return at < 0 ? none : s->osg->r + at;
}

int kbr_first_of_shape(const kb_rowset *s, const kb_row *r)
{
    int n;
    const kb_row *const *v = kbr_rows_of(s, r->op, r->shape, NULL, &n);
    for (int i = 0; i < n; i++)
        if (v[i] < r) return 0;
    return 1;
}
