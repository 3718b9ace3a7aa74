/* fuzz_model.c - libFuzzer target for the .syn model reader: feeds the
 * input to syn_model_parse twice, once as it is (magic, sizes and CRCs are
 * checked first) and once with its total size and both CRC-32s rewritten,
 * so mutations reach the section parsers behind the checksums. A model
 * that parses is then used: a forward pass, and a save and parse again,
 * which must succeed. Also built into test_fuzz_regressions (see
 * fuzz.cmake), where LLVMFuzzerTestOneInput is renamed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/crc32.h"
#include "io/model_file.h"
#include "synapse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A failed call must say why: an empty message is a bug too. */
static void check_failure(syn_status s, const syn_error *err)
{
    if (s != SYN_OK && err->message[0] == '\0')
        abort();
}

/* Runs a parsed network once on zeros, then checks that what was read can
 * be written and read back. */
static void use_model(syn_net *net, syn_optimizer *opt)
{
    size_t n_in = syn_net_n_inputs(net);
    syn_workspace *ws = NULL;
    float *x = calloc(n_in, sizeof *x);
    if (x && syn_workspace_create(net, 1, &ws) == SYN_OK) {
        const float *out = NULL;
        if (syn_forward(net, ws, x, 1, &out) != SYN_OK || !out)
            abort();
    }
    syn_workspace_free(ws);
    free(x);

    uint8_t *image = NULL;
    size_t image_size = 0;
    syn_error err = {{0}};
    syn_status s = syn_model_serialize(net, opt, NULL, 0, &image, &image_size, &err);
    if (s == SYN_OK) {
        syn_net *again = NULL;
        syn_optimizer *opt_again = NULL;
        s = syn_model_parse(image, image_size, "again", &again, &opt_again, &err);
        if (s != SYN_OK || syn_net_param_count(again) != syn_net_param_count(net) ||
            (opt_again == NULL) != (opt == NULL))
            abort();
        syn_net_free(again);
        syn_optimizer_free(opt_again);
    } else if (s != SYN_ERR_OUT_OF_MEMORY) {
        abort();
    }
    free(image);
}

static void parse_once(const uint8_t *data, size_t size)
{
    syn_net *net = NULL;
    syn_optimizer *opt = NULL;
    syn_error err = {{0}};
    syn_status s = syn_model_parse(data, size, "fuzz.syn", &net, &opt, &err);
    check_failure(s, &err);
    if (s == SYN_OK) {
        use_model(net, opt);
    } else if (net || opt) {
        abort(); /* a failed parse hands out nothing */
    }
    syn_net_free(net);
    syn_optimizer_free(opt);

    const uint8_t *payload = NULL;
    size_t payload_size = 0;
    s = syn_model_find_section(data, size, "fuzz.syn", "meta", &payload, &payload_size, &err);
    if (s == SYN_OK && (payload < data || payload + payload_size > data + size))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    parse_once(data, size);
    if (size < SYN_MODEL_HEADER_SIZE + SYN_MODEL_TRAILER_SIZE)
        return 0;
    uint8_t *fixed = malloc(size);
    if (!fixed)
        return 0;
    memcpy(fixed, data, size);
    memcpy(fixed, SYN_MODEL_MAGIC, SYN_MODEL_MAGIC_SIZE);
    put_u64(fixed + 16, (uint64_t)size);
    put_u32(fixed + 24, syn_crc32(0, fixed, 24));
    put_u32(fixed + size - SYN_MODEL_TRAILER_SIZE,
            syn_crc32(0, fixed, size - SYN_MODEL_TRAILER_SIZE));
    parse_once(fixed, size);
    free(fixed);
    return 0;
}
