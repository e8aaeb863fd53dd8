/* mla_decode.h - arguments shared by every MLA decode implementation
 * (hand-written kernels in kernels/mla_decode/, cuBLAS reference in reference/).
 *
 * FlashMLA semantics ("absorbed" MLA run as MQA, h_kv = 1):
 *   q            [b, s_q, h_q, 576]        BF16 (512 latent + 64 RoPE)
 *   kv (bf16)    [num_blocks, 64, 1, 576]  BF16 pages of 64 tokens; the first
 *                                          512 of a row are the latent (= V),
 *                                          the last 64 the RoPE key
 *   kv (fp8kv)   [num_blocks, 64, 656]     bytes per token: 512 E4M3 latent,
 *                                          4 FP32 scales (one per 128 latent
 *                                          values), 64 BF16 RoPE
 *   block_table  [b, max_blocks]           int32 page ids (shuffled)
 *   cache_seqlens[b]                       int32
 *   o            [b, s_q, h_q, 512]        BF16
 *   lse          [b, h_q, s_q]             FP32, natural log of sum exp(scale*qk)
 * Causal when s_q > 1: query i (0-based) sees the first seqlen - s_q + 1 + i
 * keys.  A query row is r = i*h_q + h (rows of one sequence: s_q*h_q).
 *
 * Split-KV (v2, v3): a host scheduling pass (mla_sched_build) cuts the
 * sequences into segments of whole pages and deals them to `num_parts` CTA
 * columns with balanced cost.  A segment that covers a whole sequence writes o
 * and lse directly; otherwise it writes a partial (o normalised by its own
 * softmax sum, FP32, and its lse) to the workspace and a combine kernel merges
 * the partials of that sequence by lse.
 */
#ifndef MLA_DECODE_H
#define MLA_DECODE_H
#include <stdint.h>
#include <stddef.h>
#include "kernels/common/kb_base.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MLA_D_QK 576     /* q/k head dim: 512 latent + 64 rope */
#define MLA_D_V 512      /* v head dim (= latent)              */
#define MLA_PAGE 64      /* tokens per KV page                 */
#define MLA_FP8_TOKEN_BYTES 656 /* 512 e4m3 + 4*4 scales + 64*2 rope */
#define MLA_FP8_SCALE_OFF 512
#define MLA_FP8_ROPE_OFF 528

/* Scheduler metadata (built on the host, copied to the device).
 * seg[4*i + 0..3] = { batch, begin token, end token, partial slot or -1 }:
 * segment i covers keys [begin, end) of sequence `batch`; begin is a multiple
 * of MLA_PAGE.  part_off[p]..part_off[p+1] are the segments CTA column p runs.
 * Sequence bi has n_split[bi] segments; when > 1 their partials live in slots
 * split_off[bi] .. split_off[bi] + n_split[bi] - 1 (slot order = key order). */
typedef struct mla_sched {
    int b;
    int num_parts;
    int num_segs;
    int num_slots;        /* partial slots in use (sum of n_split over split sequences) */
    int32_t *part_off;    /* [num_parts + 1] */
    int32_t *seg;         /* [4 * num_segs]  */
    int32_t *split_off;   /* [b] */
    int32_t *n_split;     /* [b] */
} mla_sched;

/* Cost model: a segment costs its pages plus MLA_SCHED_FIXED pages of fixed
 * overhead (loading q, writing the partial, the combine). */
#define MLA_SCHED_FIXED 4

/* Build the schedule for `b` sequences of lengths `seqlens` over `num_parts`
 * CTA columns.  Returns 0 on success, -1 on allocation failure.  Free with
 * mla_sched_free. */
int mla_sched_build(mla_sched *s, const int32_t *seqlens, int b, int num_parts);
void mla_sched_free(mla_sched *s);
/* Packs the schedule into one int32 array (layout in mla_sched_packed_*):
 *   [part_off (num_parts+1)] [seg (4*num_segs)] [split_off (b)] [n_split (b)] */
size_t mla_sched_packed_len(const mla_sched *s);
void mla_sched_pack(const mla_sched *s, int32_t *out);

/* Deterministic per-sequence lengths of a shape (so flops()/bytes() are exact
 * and reproducible).  pattern 0: ~Normal(mean, mean/2) clipped to
 * [max(s_q, 32), 2*mean] (b == 1: exactly mean); pattern 1 ("skew"): sequence
 * 0 is 16*mean long, the others ~Normal(mean/4, mean/8) clipped to
 * [max(s_q, 32), mean/2]; pattern 2 ("empty"): as pattern 0 (b >= 2, own
 * seed) with sequence 1 of length 0: its rows see no key, o = 0 and lse =
 * -inf (the defined result), and it has no page and no segment. */
void mla_decode_gen_seqlens(int b, int mean_sk, int s_q, int pattern, int32_t *out);

typedef struct mla_decode_args {
    int b, s_q, h_q;
    int fp8kv;                /* 0: bf16 cache (kv), 1: FP8 cache (kv_fp8) */
    int num_blocks;           /* pages in the cache                        */
    int max_blocks;           /* row length of block_table                 */
    int max_seqlen;           /* max over cache_seqlens                    */
    int64_t sum_seqlen;
    float softmax_scale;
    const uint16_t *q;        /* device [b, s_q, h_q, 576] bf16            */
    const uint16_t *kv;       /* device [num_blocks, 64, 1, 576] bf16 (NULL for fp8kv) */
    const uint8_t *kv_fp8;    /* device [num_blocks, 64, 656] (NULL for bf16) */
    const int32_t *block_table; /* device [b, max_blocks]                  */
    const int32_t *seqlens;   /* device [b]                                */
    const int32_t *seqlens_host;     /* host [b]                           */
    const int32_t *block_table_host; /* host [b, max_blocks]               */
    uint16_t *o;              /* device [b, s_q, h_q, 512] bf16            */
    float *lse;               /* device [b, h_q, s_q] f32                  */
    /* split-KV: workspace and scheduler metadata, built at setup (like
     * FlashMLA's get_mla_metadata, once per decode step for all layers). */
    int num_sms;
    mla_sched sched;          /* host copy                                 */
    const int32_t *sched_dev; /* device, mla_sched_pack layout             */
    float *o_accum;           /* device [num_slots, s_q*h_q, 512] f32      */
    float *lse_accum;         /* device [num_slots, s_q*h_q] f32, natural log */
    size_t accum_slots;       /* slots allocated                           */
    void *cublas_state;       /* reference/mla_decode_cublas.cu (mla_cublas_init) */
} mla_decode_args;

/* Hand-written launchers (kernels/mla_decode/mla_decode_v*.cu). */
kb_status mla_decode_v1(void *ctx, cudaStream_t stream);
kb_status mla_decode_v2(void *ctx, cudaStream_t stream);
kb_status mla_decode_v3(void *ctx, cudaStream_t stream);
/* Library references (reference/mla_decode_cublas.cu): unfused cuBLAS, each
 * sequence at its real length (grouped GEMMs; with / without the timed page
 * gather), and padded to the longest sequence (strided batched, labelled). */
kb_status mla_decode_cublas_varlen(void *ctx, cudaStream_t stream);
kb_status mla_decode_cublas_varlen_nogather(void *ctx, cudaStream_t stream);
kb_status mla_decode_cublas_padded(void *ctx, cudaStream_t stream);
/* Allocate the cuBLAS references' buffers (gathered K/V, S, P, the grouped
 * GEMM arguments) and gather the pages once for the _nogather variant and the
 * padded one's zero rows; free them. */
kb_status mla_cublas_init(mla_decode_args *a, cudaStream_t stream);
void mla_cublas_free(mla_decode_args *a);

/* Device helpers (kernels/mla_decode/mla_decode_util.cu). */
/* Fill an FP8 KV cache of n_tokens tokens (656 B each) with seeded random
 * data: E4M3 latents, positive scales, BF16 rope, all finite. */
kb_status mla_fill_fp8kv(uint8_t *cache, size_t n_tokens, uint64_t seed, cudaStream_t st);
/* Merge split-KV partials into o/lse (used by v2 and v3). */
kb_status mla_combine(const mla_decode_args *a, cudaStream_t stream);

#ifdef __cplusplus
}
#endif
#endif
