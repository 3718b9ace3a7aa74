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

    /* SYN_INIT_TORCH, PyTorch's nn.Linear / nn.Conv2d default: weights and
     * biases U(-b, b), b = 1/sqrt(fan_in) (fan_in 200 for the dense layer,
     * 4 channels / 2 groups x 3x3 = 18 for the conv), variance b^2 / 3;
     * every other scheme keeps biases at zero. */
    for (int scheme = 0; scheme < 2; scheme++) {
        syn_layer_desc kinds[] = {
            {.kind = SYN_LAYER_CONV2D, .units = 64, .kernel = {3, 3}, .groups = 2,
             .activation = SYN_ACT_RELU},
            {.kind = SYN_LAYER_FLATTEN},
            {.units = 300, .activation = SYN_ACT_RELU},
            {.units = 10, .activation = SYN_ACT_SOFTMAX}};
        syn_net_desc td = {.n_inputs = 4 * 12 * 12, .n_layers = 4, .layers = kinds,
                           .loss = SYN_LOSS_CROSS_ENTROPY,
                           .init = scheme ? SYN_INIT_TORCH : SYN_INIT_AUTO, .seed = 3,
                           .input_shape = {4, 12, 12}};
        syn_net *tn = NULL;
        CHECK_OK(syn_net_create(&td, &tn));
        if (!tn)
            continue;
        const size_t n_in[3] = {18, 64 * 10 * 10, 300}, n_out[3] = {64, 300, 10};
        const size_t li[3] = {0, 2, 3};
        for (int k = 0; k < 3; k++) {
            size_t w_off = 0, b_off = 0;
            CHECK_OK(syn_net_layer_offsets(tn, li[k], &w_off, &b_off));
            const float *p = syn_net_params(tn, NULL);
            double b = 1.0 / sqrt((double)n_in[k]), wsq = 0, bmax = 0;
            int inside = 1;
            for (size_t i = 0; i < n_in[k] * n_out[k]; i++) {
                double v = p[w_off + i];
                inside &= fabs(v) < b;
                wsq += v * v;
            }
            for (size_t i = 0; i < n_out[k]; i++) {
                double v = p[b_off + i];
                inside &= fabs(v) < b;
                bmax = fmax(bmax, fabs(v));
            }
            double var = wsq / (double)(n_in[k] * n_out[k]);
            if (scheme) {
                CHECK(inside, "torch init: layer %zu's weights and biases within 1/sqrt(%zu)",
                      li[k], n_in[k]);
                CHECK(fabs(var / (b * b / 3) - 1) < 0.1,
                      "torch init: layer %zu's weight variance %g, want %g", li[k], var,
                      b * b / 3);
                CHECK(bmax > b / 4, "torch init: layer %zu's biases are drawn (max %g)", li[k],
                      bmax);
            } else {
                CHECK(bmax == 0, "auto init: layer %zu's biases are zero", li[k]);
            }
        }
        syn_net_free(tn);
    }

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
