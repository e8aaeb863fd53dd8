// kb_hash.cuh - the counter-based hash behind every seeded device fill
// (kb_fill.cu, the MLA FP8 KV-cache fill): value i depends only on (seed, i),
// so fills are reproducible whatever the launch shape.
#ifndef KB_HASH_CUH
#define KB_HASH_CUH
#include <stdint.h>

// splitmix64 finaliser.
__device__ __forceinline__ uint64_t kb_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// Uniform in [0,1) with 24 random bits.
__device__ __forceinline__ float kb_uniform01(uint64_t seed, uint64_t i)
{
    return (float)(kb_mix64(seed + 0x9e3779b97f4a7c15ull * (i + 1)) >> 40) * (1.0f / 16777216.0f);
}
#endif
