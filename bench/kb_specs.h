/* kb_specs.h - the GPU device table as data: one row per GPU with the
 * datasheet figures (each with its source and confidence), the pattern that
 * recognises the GPU's CUDA device name, user overrides from a JSON file, and
 * detection of the current GPU.
 *
 * Adding a GPU: one row in bench/kb_specs.c (named figures, a match pattern
 * more specific than any row it overlaps), or a "gpus" entry in a --specs
 * file.  Adding a figure: one kb_fig member below plus one KB_FIG_KEY line in
 * kb_specs.c (the JSON key is the member's name). */
#ifndef KB_SPECS_H
#define KB_SPECS_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif

/* One figure: value (0 = unknown), confidence P (vendor), S (secondary),
 * M (measured on a kbench machine), D (derived from device properties),
 * U (user file), '-' (unknown), and where it comes from. */
typedef struct kb_fig {
    double v;
    char conf;
    const char *src;
} kb_fig;

typedef struct kb_gpu {
    char slug[32];      /* "h100-sxm" */
    char name[64];      /* "NVIDIA H100 SXM5 80GB" */
    /* Detection: an fnmatch(3) pattern for the CUDA device name, matched
     * case-insensitively ("*h100*pcie*"; "" = never detected); `unlike`,
     * '|'-separated patterns of other models whose names the pattern also
     * takes ("*gh200*|*nvl*"); when mem_gb_max > 0, a device memory range
     * (GB = totalGlobalMem / 1e9, exclusive); and, when the row knows it, the
     * SM count (the `sms` figure).  A row fits a device when all of these
     * hold; of the rows that fit, the most specific pattern wins. */
    char match[48];
    char unlike[48];
    double mem_gb_min, mem_gb_max;
    kb_fig sms;
    kb_fig fp8_tflops;         /* dense TFLOP/s */
    kb_fig bf16_tflops;
    kb_fig tf32_tflops;
    kb_fig fp32_tflops;        /* non-tensor */
    kb_fig fp64_tflops;
    kb_fig hbm_gbs;            /* GB/s */
    kb_fig mem_gb;
    kb_fig l2_mb;
    kb_fig nvlink_bidir_gbs;   /* GB/s, both directions */
    kb_fig link_gbs_nominal;   /* GB/s per direction */
    kb_fig link_gbs_practical; /* GB/s per direction, achievable all-to-all */
    kb_fig tdp_w;
    kb_fig ib_gbs_nominal;     /* GB/s per GPU per direction, the node's NIC (InfiniBand) */
    kb_fig ib_gbs_practical;   /* GB/s per GPU per direction, achievable expert-parallel all-to-all */
    kb_fig l2_gbs;             /* GB/s from L2 to the SMs (the L2 roof of --counters rows) */
} kb_gpu;

/* The figures as data, in print order: JSON / table key = member name, and
 * where the member sits in kb_gpu.  The `specs` printer and the JSON loader
 * iterate this; *n receives its length. */
typedef struct kb_fig_key {
    const char *name; /* "fp8_tflops" */
    size_t offset;    /* offsetof(kb_gpu, fp8_tflops) */
} kb_fig_key;
const kb_fig_key *kb_fig_keys(int *n);
const kb_fig *kb_gpu_fig(const kb_gpu *g, const kb_fig_key *k);

/* The table (built-in rows plus user-file rows). */
const kb_gpu *kb_gpus(int *n);
const kb_gpu *kb_gpu_find(const char *slug);  /* NULL if unknown */
/* Load a user JSON file:
 *   {"gpus":[{"slug":"h100-sxm","hbm_gbs":3000,...,"source":"..."}]}
 * Known slugs get the named fields overridden (any subset), new slugs are
 * added and must give every ceiling the model uses (kb_specs_required); other
 * fields default to unknown.  Every figure given is a finite number > 0;
 * "name" and "match" (the device-name pattern) are strings.  Errors: a slug
 * twice in one file, a key twice in one object, a top-level key other than
 * "gpus" / "$comment".  Returns 0, or -1 with a one-line message in err
 * naming the file, the GPU and the field. */
int kb_specs_load(const char *path, char *err, int errlen);
void kb_specs_reset(void); /* back to the built-in table (tests) */
/* The figures a new GPU must give: fp8_tflops, bf16_tflops, fp32_tflops,
 * hbm_gbs, link_gbs_nominal.  NULL-terminated. */
const char *const *kb_specs_required(void);

/* Map a CUDA device name + properties to a row.  Fills *out (a copy); returns
 * 1 if a table row fits the device exactly (name, SM count, memory), 0 if the
 * row was derived from the properties; then `why` (if not NULL) says why, for
 * the caller's one-line warning: "not in the device table", or the row whose
 * name pattern matched and what did not fit ("resembles h200-sxm but has
 * 102 GB of memory, not 145-156 GB"). */
int kb_gpu_from_props(const char *dev_name, int sms, double mem_gb, double l2_mb,
                      double hbm_gbs_derived, kb_gpu *out, char *why, int whylen);
/* "NVIDIA H100 80GB HBM3" -> slug of the row that fits the name and memory
 * (the SM count unchecked), or NULL if none does. */
const char *kb_gpu_slug_for_name(const char *dev_name, double mem_gb);
/* Does this one row fit the device?  sms <= 0: not checked.  (The test of
 * each row.) */
int kb_gpu_matches(const kb_gpu *g, const char *dev_name, int sms, double mem_gb);

#ifdef __cplusplus
}
#endif
#endif
