/* kbr_v3.h - DeepSeek-V3's dimensions and expert-parallel message sizes, the
 * one place both model users read them: the report's roll-up
 * (kbr_rollup.c) and `kbench claim` (bench/claim_*.c).  Source: the V3
 * config (hidden 7168, 128 heads, q LoRA 1536, KV LoRA 512, RoPE 64, nope /
 * v head 128, 256 routed experts top-8, expert FFN 2048, dense FFN 18432,
 * vocabulary 129280) and DeepEP's message layouts. */
#ifndef KBR_V3_H
#define KBR_V3_H

#define KB_V3_HID 7168.0
#define KB_V3_HEADS 128.0
#define KB_V3_Q_LORA 1536.0
#define KB_V3_KV_LORA 512.0
#define KB_V3_ROPE 64.0
#define KB_V3_NOPE 128.0
#define KB_V3_VDIM 128.0
#define KB_V3_N_EXPERTS 256.0
#define KB_V3_TOPK 8.0
#define KB_V3_MOE_FFN 2048.0
#define KB_V3_DENSE_FFN 18432.0
#define KB_V3_VOCAB 129280.0
/* bytes per token: DeepEP normal-mode dispatch (FP8 token + 56 FP32 scales),
 * low-latency dispatch (7168 + 7168/128*4 + 16), combine (BF16 token) */
#define KB_V3_DISPATCH_FP8_B (KB_V3_HID + 56 * 4)
#define KB_V3_DISPATCH_LL_B 7408.0
#define KB_V3_COMBINE_B (2 * KB_V3_HID)
#endif
