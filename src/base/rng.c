/* rng.c - the seeded generator objects own: xoshiro256** (Blackman & Vigna
 * 2018), its state filled from the seed by splitmix64. Integer arithmetic
 * only until the final conversion, so a seed gives the same stream on
 * every machine. */
#include <math.h>

#include "synapse.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void syn_rng_seed(syn_rng *rng, uint64_t seed)
{
    if (!rng)
        return;
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&x);
}

uint64_t syn_rng_next(syn_rng *rng)
{
    uint64_t *s = rng->s;
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

double syn_rng_uniform(syn_rng *rng)
{
    return (double)(syn_rng_next(rng) >> 11) * 0x1.0p-53;
}

double syn_rng_normal(syn_rng *rng)
{
    /* Box-Muller; 1 - u keeps the logarithm's argument in (0, 1]. */
    double u1 = 1.0 - syn_rng_uniform(rng);
    double u2 = syn_rng_uniform(rng);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

uint64_t syn_rng_below(syn_rng *rng, uint64_t bound)
{
    if (bound == 0)
        return 0;
    /* Rejection: draws from the largest multiple of bound below 2^64. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t x;
    do {
        x = syn_rng_next(rng);
    } while (x >= limit);
    return x % bound;
}
