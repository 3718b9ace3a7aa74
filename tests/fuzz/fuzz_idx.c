/* fuzz_idx.c - libFuzzer target for the IDX reader, images and labels,
 * plain and gzip. The input is split in two files: byte 0 holds flags
 * (bit 0: there is a label file; bit 1: gzip the images; bit 2: gzip the
 * labels), bytes 1-4 the image file's length (little-endian, cut to what
 * is left), then the image file, then the label file. Compressing inside
 * the target lets mutations of the plain content reach the parser through
 * a valid gzip stream; gzip bytes in the input itself exercise the
 * decompressor's error paths. Reads go through syn_idx_parse_buffer, the
 * loader's from-memory entry point. Also built into test_fuzz_regressions
 * (see fuzz.cmake). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef SYN_HAVE_ZLIB
#include <zlib.h>
#endif

#include "data/dataset_internal.h"
#include "synapse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PREFIX_BYTES 5

/* A malloc'd gzip stream of data (an empty buffer when zlib is absent,
 * with *out_size 0); NULL when out of memory. */
static uint8_t *gzip_of(const uint8_t *data, size_t size, size_t *out_size)
{
#ifdef SYN_HAVE_ZLIB
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    size_t cap = deflateBound(&z, (uLong)size);
    uint8_t *out = malloc(cap);
    if (out) {
        z.next_in = (Bytef *)data;
        z.avail_in = (uInt)size;
        z.next_out = out;
        z.avail_out = (uInt)cap;
        if (deflate(&z, Z_FINISH) != Z_STREAM_END)
            abort();
        *out_size = cap - z.avail_out;
    }
    deflateEnd(&z);
    return out;
#else
    (void)data;
    (void)size;
    *out_size = 0;
    return malloc(1);
#endif
}

static void use_dataset(const syn_dataset *ds, int labelled)
{
    size_t n = syn_dataset_n_samples(ds), f = syn_dataset_n_features(ds);
    size_t k = syn_dataset_n_classes(ds);
    if (n == 0 || f == 0 || (labelled && (k == 0 || k > 256)) || (!labelled && k != 0))
        abort();
    float *x = malloc(f * sizeof *x), *y = malloc((k ? k : 1) * sizeof *y);
    size_t last = n - 1;
    if (x && y && syn_dataset_gather(ds, &last, 1, x, y) != SYN_OK)
        abort();
    free(x);
    free(y);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < PREFIX_BYTES)
        return 0;
    unsigned flags = data[0];
    size_t images_size = (size_t)data[1] | (size_t)data[2] << 8 | (size_t)data[3] << 16 |
                         (size_t)data[4] << 24;
    data += PREFIX_BYTES;
    size -= PREFIX_BYTES;
    images_size = images_size < size ? images_size : size;
    const uint8_t *images = data, *labels = data + images_size;
    size_t labels_size = size - images_size;
    uint8_t *gz_images = NULL, *gz_labels = NULL;
    if (flags & 2) {
        gz_images = gzip_of(images, images_size, &images_size);
        images = gz_images;
    }
    if (flags & 4) {
        gz_labels = gzip_of(labels, labels_size, &labels_size);
        labels = gz_labels;
    }
    if (images && labels) {
        int labelled = flags & 1;
        syn_dataset *ds = NULL;
        syn_error err = {{0}};
        syn_status s = syn_idx_parse_buffer(images, images_size, labelled ? labels : NULL,
                                            labels_size, "fuzz.idx", &ds, &err);
        if (s == SYN_OK)
            use_dataset(ds, labelled);
        else if (ds || err.message[0] == '\0')
            abort();
        syn_dataset_free(ds);
    }
    free(gz_images);
    free(gz_labels);
    return 0;
}
