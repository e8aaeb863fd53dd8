/* kb_specs.h - the GPU device table (datasheet figures with source and
 * confidence per figure), user overrides from a JSON file, and detection of
 * the current GPU. */
#ifndef KB_SPECS_H
#define KB_SPECS_H
#ifdef __cplusplus
extern "C" {
#endif

/* One figure: value (0 = unknown), confidence P (vendor), S (secondary),
 * M (measured on a kbench machine), D (derived from device properties),
 * U (user file), and where it comes from. */
typedef struct kb_fig {
    double v;
    char conf;
    const char *src;
} kb_fig;

typedef enum kb_gpu_field {
    KB_F_SMS = 0,
    KB_F_FP8,            /* dense TFLOP/s */
    KB_F_BF16,
    KB_F_TF32,
    KB_F_FP32,           /* non-tensor    */
    KB_F_FP64,
    KB_F_HBM_GBS,        /* GB/s          */
    KB_F_MEM_GB,
    KB_F_L2_MB,
    KB_F_NVLINK_BIDIR,   /* GB/s, both directions */
    KB_F_LINK_NOMINAL,   /* GB/s per direction    */
    KB_F_LINK_PRACTICAL, /* GB/s per direction, achievable all-to-all */
    KB_F_TDP_W,
    KB_F_COUNT
} kb_gpu_field;

typedef struct kb_gpu {
    char slug[32];      /* "h100-sxm" */
    char name[64];      /* "NVIDIA H100 SXM5 80GB" */
    kb_fig f[KB_F_COUNT];
} kb_gpu;

const char *kb_gpu_field_name(kb_gpu_field f); /* JSON / table key, e.g. "fp8_tflops" */

/* The table (built-in rows plus user-file rows). */
const kb_gpu *kb_gpus(int *n);
const kb_gpu *kb_gpu_find(const char *slug);  /* NULL if unknown */
/* Load a user JSON file: {"gpus":[{"slug":"h100-sxm","hbm_gbs":3000,...,"source":"..."}]}.
 * Known slugs get the named fields overridden, new slugs are added (fields
 * default to unknown).  Returns 0, or -1 with a one-line message in err. */
int kb_specs_load(const char *path, char *err, int errlen);
void kb_specs_reset(void); /* back to the built-in table (tests) */

/* Map a CUDA device name + properties to a row.  Fills *out (a copy); returns
 * 1 if it matched a table row, 0 if the row was derived from the properties
 * (unknown GPU: the caller prints a warning). */
int kb_gpu_from_props(const char *dev_name, int sms, double mem_gb, double l2_mb,
                      double hbm_gbs_derived, kb_gpu *out);
/* "NVIDIA H100 80GB HBM3" -> slug or NULL if not in the table. */
const char *kb_gpu_slug_for_name(const char *dev_name, double mem_gb);

#ifdef __cplusplus
}
#endif
#endif
