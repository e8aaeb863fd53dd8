/* fp8_gemm_v3_tmap.h - the host-side caches of fp8_gemm_v3, keyed by device:
 *   - tensor maps (CUtensorMap, 128 opaque bytes) per (device, pointer, dims,
 *     box): a map encodes a global address, which means something only on the
 *     device it was allocated on, so two devices never share an entry;
 *   - "cudaFuncSetAttribute done" per (device, kernel instantiation): the
 *     attribute is per device, so a second GPU needs its own call.
 * Plain C (no CUDA types), so the keying is unit-tested without a GPU
 * (tests/test_fp8_gemm_v3_tmap.c).  Not thread-safe (neither is the harness's
 * launch path).
 */
#ifndef FP8_GEMM_V3_TMAP_H
#define FP8_GEMM_V3_TMAP_H
#include <stdint.h>
#include <string.h>

#define FP8_V3_TMAP_BYTES 128   /* sizeof(CUtensorMap)                         */
#define FP8_V3_TMAP_SLOTS 32    /* entries kept; then replaced round-robin      */
#define FP8_V3_MAX_DEVICES 64   /* devices whose attribute flags are tracked    */

typedef struct fp8_v3_tmap_key {
    int dev;                    /* cudaGetDevice() when the map was built       */
    const void *ptr;
    uint64_t rows, cols;
    uint32_t box_rows;
} fp8_v3_tmap_key;

typedef struct fp8_v3_tmap_cache {
    struct {
        fp8_v3_tmap_key key;
        unsigned char map[FP8_V3_TMAP_BYTES]; /* copied out with memcpy: no alignment needed */
    } e[FP8_V3_TMAP_SLOTS];
    int used, next;
} fp8_v3_tmap_cache;

static inline int fp8_v3_tmap_key_eq(const fp8_v3_tmap_key *a, const fp8_v3_tmap_key *b)
{
    return a->dev == b->dev && a->ptr == b->ptr && a->rows == b->rows && a->cols == b->cols &&
           a->box_rows == b->box_rows;
}

/* Copy the cached map for `key` into out (FP8_V3_TMAP_BYTES); 1 if found. */
static inline int fp8_v3_tmap_find(const fp8_v3_tmap_cache *c, const fp8_v3_tmap_key *key, void *out)
{
    for (int i = 0; i < c->used; i++)
        if (fp8_v3_tmap_key_eq(&c->e[i].key, key)) {
            memcpy(out, c->e[i].map, FP8_V3_TMAP_BYTES);
            return 1;
        }
    return 0;
}

/* Remember `map` for `key`: a free slot, else the oldest one (round-robin). */
static inline void fp8_v3_tmap_put(fp8_v3_tmap_cache *c, const fp8_v3_tmap_key *key, const void *map)
{
    const int slot = c->used < FP8_V3_TMAP_SLOTS ? c->used++ : (c->next++ % FP8_V3_TMAP_SLOTS);
    c->e[slot].key = *key;
    memcpy(c->e[slot].map, map, FP8_V3_TMAP_BYTES);
}

/* Per-device "done" flags of one kernel instantiation (zero-initialised). */
typedef struct fp8_v3_dev_flags {
    unsigned char done[FP8_V3_MAX_DEVICES];
} fp8_v3_dev_flags;

/* 1 if dev's flag is set; devices outside [0, FP8_V3_MAX_DEVICES) never are
 * (the caller then sets the attribute on every launch: correct, only slower). */
static inline int fp8_v3_dev_flag(const fp8_v3_dev_flags *f, int dev)
{
    return dev >= 0 && dev < FP8_V3_MAX_DEVICES && f->done[dev];
}
static inline void fp8_v3_dev_flag_set(fp8_v3_dev_flags *f, int dev)
{
    if (dev >= 0 && dev < FP8_V3_MAX_DEVICES) f->done[dev] = 1;
}

#endif
