/* test_rng.c - the same seed gives the same stream and the same weights on
 * every machine. The expected values come from an independent Python model
 * of splitmix64 seeding and xoshiro256** (Blackman & Vigna's reference
 * algorithm), written for this test, not from the library's own output. */
#include <math.h>
#include <stdint.h>

#include "check.h"
#include "synapse.h"

int main(void)
{
    syn_rng rng;
    syn_rng_seed(&rng, 42);
    const uint64_t want42[4] = {0x15780b2e0c2ec716ULL, 0x6104d9866d113a7eULL,
                                0xae17533239e499a1ULL, 0xecb8ad4703b360a1ULL};
    for (int i = 0; i < 4; i++) {
        uint64_t got = syn_rng_next(&rng);
        CHECK(got == want42[i], "seed 42 draw %d: %016llx", i, (unsigned long long)got);
    }
    syn_rng_seed(&rng, 0);
    CHECK(syn_rng_next(&rng) == 0x99ec5f36cb75f2b4ULL, "seed 0 draw 0");
    CHECK(syn_rng_next(&rng) == 0xbf6e1f784956452aULL, "seed 0 draw 1");

    /* The notebook's init, 2 U[0,1) - 1 from 53-bit uniforms, seed 7. */
    syn_layer_desc layer = {.units = 3, .no_bias = 1};
    syn_net_desc desc = {.n_inputs = 2, .n_layers = 1, .layers = &layer,
                         .init = SYN_INIT_UNIFORM, .seed = 7};
    syn_net *net = NULL;
    CHECK_OK(syn_net_create(&desc, &net));
    const float want_w[6] = {0x1.9ac7d8p-2f, -0x1.c51e14p-2f, 0x1.5bc74ep-1f,
                             0x1.eca4e2p-1f, 0x1.f6a414p-1f, 0x1.7db874p-1f};
    const float *w = syn_net_params(net, NULL);
    for (int i = 0; net && i < 6; i++)
        CHECK(w[i] == want_w[i], "weight %d: %a, want %a", i, (double)w[i], (double)want_w[i]);
    syn_net_free(net);

    /* Uniforms stay in [0, 1), bounded draws below their bound, normals
     * have mean ~0 and variance ~1. */
    syn_rng_seed(&rng, 5);
    double sum = 0, sq = 0;
    int in_range = 1;
    for (int i = 0; i < 100000; i++) {
        double u = syn_rng_uniform(&rng), z = syn_rng_normal(&rng);
        in_range &= u >= 0.0 && u < 1.0 && syn_rng_below(&rng, 7) < 7;
        sum += z;
        sq += z * z;
    }
    CHECK(in_range, "uniforms in [0, 1), bounded draws below the bound");
    CHECK(fabs(sum / 100000) < 0.02 && fabs(sq / 100000 - 1) < 0.02, "normal moments %g %g",
          sum / 100000, sq / 100000);
    CHECK(syn_rng_below(&rng, 0) == 0, "bound 0");
    return check_finish();
}
