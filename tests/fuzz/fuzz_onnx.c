/* fuzz_onnx.c - libFuzzer target for the ONNX reader: syn_onnx_parse on
 * arbitrary bytes must return a status, never crash, never read outside the
 * input and never allocate more than the input justifies. A network it
 * accepts must also run a forward pass. Seeds: tests/fuzz/corpus/onnx/.
 *
 *   clang -fsanitize=fuzzer,address,undefined -Iinclude -Isrc \
 *       tests/fuzz/fuzz_onnx.c src/\*.c src/kernels/\*.c -lm -lz -lopenblas
 *   ./a.out -max_total_time=60 tests/fuzz/corpus/onnx */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "export/onnx.h"
#include "synapse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    syn_net *net = NULL;
    syn_error err;
    if (syn_onnx_parse(data, size, "fuzz.onnx", &net, &err) != SYN_OK)
        return 0;
    size_t n_in = syn_net_n_inputs(net);
    float *x = calloc(n_in, sizeof *x);
    syn_workspace *ws = NULL;
    if (x && syn_workspace_create(net, 1, &ws) == SYN_OK) {
        syn_workspace_set_threads(ws, 1);
        syn_forward(net, ws, x, 1, NULL);
    }
    syn_workspace_free(ws);
    free(x);
    syn_net_free(net);
    return 0;
}
