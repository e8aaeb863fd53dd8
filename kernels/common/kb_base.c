/* kb_base.c - messages and the host RNG (kernels/common/kb_base.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "kernels/common/kb_base.h"

/* ---- messages ------------------------------------------------------------- */
static char kb_msg[1024];

static kb_status kb_vset(kb_status st, const char *fmt, va_list ap)
{
    vsnprintf(kb_msg, sizeof kb_msg, fmt, ap);
    return st;
}

kb_status kb_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kb_status st = kb_vset(KB_FAIL, fmt, ap);
    va_end(ap);
    return st;
}

kb_status kb_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kb_status st = kb_vset(KB_SKIP, fmt, ap);
    va_end(ap);
    return st;
}

const char *kb_last_message(void) { return kb_msg; }
void kb_clear_message(void) { kb_msg[0] = '\0'; }

/* ---- RNG: xoshiro256** seeded through splitmix64 -------------------------- */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void kb_rng_seed(kb_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t kb_rng_next(kb_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double kb_rng_uniform(kb_rng *r) { return (double)(kb_rng_next(r) >> 11) * 0x1.0p-53; }

double kb_rng_normal(kb_rng *r)
{
    double u1 = kb_rng_uniform(r), u2 = kb_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* ---- conversions ---------------------------------------------------------- */
float kb_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t kb_f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u); /* round to nearest even */
    return (uint16_t)(u >> 16);
}

/* E4M3 (OCP FP8, "fn"): bias 7, no infinities, S.1111.111 is NaN, max 448,
 * subnormals m * 2^-9. */
float kb_e4m3_to_f32(uint8_t v)
{
    int sign = v >> 7, e = (v >> 3) & 0xf, m = v & 7;
    float r;
    if (e == 0xf && m == 7) return NAN;
    if (e == 0) r = ldexpf((float)m, -9);
    else r = ldexpf(1.0f + (float)m / 8.0f, e - 7);
    return sign ? -r : r;
}

uint8_t kb_f32_to_e4m3(float f)
{
    if (isnan(f)) return 0x7f;
    uint8_t sign = signbit(f) ? 0x80 : 0;
    float a = fabsf(f);
    if (a >= 448.0f) return sign | 0x7e; /* saturate (satfinite), Inf too */
    /* Find the nearest representable value, ties to even mantissa. */
    int e;
    frexpf(a, &e);           /* a = fr * 2^e, fr in [0.5,1) -> a in [2^(e-1), 2^e) */
    int exp_unb = e - 1;     /* a in [2^exp_unb, 2^(exp_unb+1)) */
    if (exp_unb < -6) exp_unb = -6; /* subnormal range: quantum 2^-9 */
    float quantum = ldexpf(1.0f, exp_unb - 3);
    float q = a / quantum;   /* exact: power-of-two scaling */
    float r = rintf(q);      /* ties to even under the default rounding mode */
    float val = r * quantum;
    if (val >= 448.0f) return sign | 0x7e;
    if (val == 0.0f) return sign;
    int ev, mv;
    if (val < ldexpf(1.0f, -6)) { /* subnormal */
        ev = 0;
        mv = (int)r;
    } else {
        int e2;
        frexpf(val, &e2);
        ev = e2 - 1 + 7;
        mv = (int)(ldexpf(val, -(e2 - 1)) * 8.0f) - 8;
    }
    return sign | (uint8_t)(ev << 3) | (uint8_t)mv;
}
