/* idx.c - owns syn_dataset_load_idx: the IDX format of MNIST and
 * Fashion-MNIST (a big-endian header: 00 00, a type byte, a dimension count,
 * then one uint32 per dimension; then the data), plain or gzip-compressed.
 * Only unsigned bytes (type 0x08) are read. Images keep their uint8 pixels;
 * labels become class ids. Sizes from a header are never trusted: data is
 * read in growing pieces, so a header claiming 2^32 images in a 100-byte
 * file fails as truncated without a large allocation. A memory limit
 * (syn_dataset_load_idx_limited) is checked against the header's sizes
 * before any data is read. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef SYN_HAVE_ZLIB
#include <zlib.h>
#endif

#include "data/dataset_internal.h"
#include "base/util.h"

#define IDX_CHUNK ((size_t)1 << 16)
#define IDX_FIRST_ALLOC ((size_t)1 << 20)
#define IDX_TYPE_U8 0x08

/* A file's decompressed content, read front to back. */
typedef struct idx_stream {
    const char *path;
    syn_error *err;
    FILE *fp;
    unsigned char head[2]; /* bytes read to sniff the gzip magic */
    size_t head_len, head_pos;
    size_t offset; /* content bytes delivered so far */
    size_t max_bytes; /* from idx_source */
    int gzip;
#ifdef SYN_HAVE_ZLIB
    z_stream z;
    int z_ready;
    int z_ended;        /* the last gzip member is complete */
    int z_cut;          /* the file ended inside a gzip member */
    unsigned char *in;  /* compressed input */
#endif
} idx_stream;

/* --------------------------------------------------------------- plain */

static syn_status read_error(idx_stream *st)
{
    syn_set_error(st->err, "%s: offset %zu: read error: %s", st->path, st->offset,
                  strerror(errno ? errno : EIO));
    return SYN_ERR_IO;
}

static syn_status read_plain(idx_stream *st, unsigned char *dst, size_t want, size_t *got)
{
    size_t n = 0;
    while (n < want && st->head_pos < st->head_len)
        dst[n++] = st->head[st->head_pos++];
    n += fread(dst + n, 1, want - n, st->fp);
    *got = n;
    return n < want && ferror(st->fp) ? read_error(st) : SYN_OK;
}

/* ---------------------------------------------------------------- gzip */

#ifdef SYN_HAVE_ZLIB
static syn_status gzip_open(idx_stream *st)
{
    st->in = malloc(IDX_CHUNK);
    if (!st->in)
        return SYN_ERR_OUT_OF_MEMORY;
    memcpy(st->in, st->head, st->head_len);
    st->z.next_in = st->in;
    st->z.avail_in = (uInt)st->head_len;
    /* 16 + MAX_WBITS: a gzip wrapper, not zlib or raw deflate. */
    if (inflateInit2(&st->z, 16 + MAX_WBITS) != Z_OK)
        return SYN_ERR_OUT_OF_MEMORY;
    st->z_ready = 1;
    return SYN_OK;
}

static syn_status gzip_corrupt(idx_stream *st, const char *what)
{
    syn_set_error(st->err, "%s: offset %zu of the uncompressed data: corrupt gzip stream: %s",
                  st->path, st->offset, what ? what : "invalid data");
    return SYN_ERR_CORRUPT;
}

/* Refills the compressed input; returns 0 at the end of the file. */
static int gzip_refill(idx_stream *st)
{
    st->z.next_in = st->in;
    st->z.avail_in = (uInt)fread(st->in, 1, IDX_CHUNK, st->fp);
    return st->z.avail_in > 0;
}

/* After one gzip member ends: another member may follow (gzip files can
 * be concatenated); any other bytes are damage. */
static syn_status gzip_member_end(idx_stream *st)
{
    if (st->z.avail_in == 0 && !gzip_refill(st)) {
        st->z_ended = 1;
        return ferror(st->fp) ? read_error(st) : SYN_OK;
    }
    if (st->z.next_in[0] != 0x1f)
        return gzip_corrupt(st, "unexpected bytes after the end of the gzip stream");
    return inflateReset(&st->z) == Z_OK ? SYN_OK : gzip_corrupt(st, st->z.msg);
}

static syn_status read_gzip(idx_stream *st, unsigned char *dst, size_t want, size_t *got)
{
    size_t n = 0;
    while (n < want && !st->z_ended) {
        if (st->z.avail_in == 0 && !gzip_refill(st)) {
            if (ferror(st->fp))
                return read_error(st);
            st->z_cut = 1;
            break;
        }
        size_t room = want - n;
        st->z.next_out = dst + n;
        st->z.avail_out = (uInt)(room < IDX_CHUNK ? room : IDX_CHUNK);
        uInt before = st->z.avail_out;
        int ret = inflate(&st->z, Z_NO_FLUSH);
        n += before - st->z.avail_out;
        st->offset += before - st->z.avail_out;
        if (ret == Z_STREAM_END) {
            syn_status s = gzip_member_end(st);
            if (s != SYN_OK)
                return s;
        } else if (ret == Z_MEM_ERROR) {
            return SYN_ERR_OUT_OF_MEMORY;
        } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
            return gzip_corrupt(st, st->z.msg);
        }
    }
    *got = n;
    return SYN_OK;
}
#endif

/* --------------------------------------------------------------- stream */

/* Where a stream's bytes come from: the file at path, or the buffer data
 * when it is not NULL (read through fmemopen, so both take the same path
 * through the reader; path then only names it in messages). */
typedef struct idx_source {
    const char *path;
    const void *data;
    size_t size;
    size_t max_bytes; /* images only: the memory limit, 0 for none */
} idx_source;

static syn_status stream_open(idx_stream *st, const idx_source *src, syn_error *err)
{
    const char *path = src->path;
    st->path = path;
    st->err = err;
    st->max_bytes = src->max_bytes;
    st->fp = src->data ? fmemopen((void *)src->data, src->size, "rb") : fopen(path, "rb");
    if (!st->fp) {
        syn_set_error(err, "%s: cannot open: %s", path, strerror(errno));
        return SYN_ERR_IO;
    }
    /* Compression is told by content (gzip's magic 1f 8b), not by name. */
    st->head_len = fread(st->head, 1, 2, st->fp);
    if (st->head_len < 2 && ferror(st->fp))
        return read_error(st);
    st->gzip = st->head_len == 2 && st->head[0] == 0x1f && st->head[1] == 0x8b;
    if (!st->gzip)
        return SYN_OK;
#ifdef SYN_HAVE_ZLIB
    return gzip_open(st);
#else
    syn_set_error(err, "%s: gzip-compressed, but this build has no zlib; gunzip it first", path);
    return SYN_ERR_UNSUPPORTED;
#endif
}

/* Reads up to want bytes; *got < want only at the end of the content. */
static syn_status stream_read(idx_stream *st, void *dst, size_t want, size_t *got)
{
#ifdef SYN_HAVE_ZLIB
    if (st->gzip)
        return read_gzip(st, dst, want, got);
#endif
    syn_status s = read_plain(st, dst, want, got);
    st->offset += *got;
    return s;
}

/* A gzip stream cut before its trailer can deliver every data byte and
 * still be truncated: its checksum was never seen. */
static syn_status stream_check_complete(idx_stream *st)
{
#ifdef SYN_HAVE_ZLIB
    if (st->gzip && st->z_cut) {
        syn_set_error(st->err, "%s: offset %zu of the uncompressed data: expected the rest of "
                      "the gzip stream and its checksum, found end of file", st->path,
                      st->offset);
        return SYN_ERR_TRUNCATED;
    }
#else
    (void)st;
#endif
    return SYN_OK;
}

static void stream_close(idx_stream *st)
{
#ifdef SYN_HAVE_ZLIB
    if (st->z_ready)
        inflateEnd(&st->z);
    free(st->in);
#endif
    if (st->fp)
        fclose(st->fp);
}

/* --------------------------------------------------------------- header */

typedef struct idx_header {
    unsigned n_dims;
    uint32_t dims[255];
    size_t bytes; /* the header's own size */
} idx_header;

static const char *type_name(unsigned type)
{
    switch (type) {
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return NULL;
    }
}

static syn_status check_magic(idx_stream *st, const unsigned char magic[4])
{
    if (magic[0] != 0 || magic[1] != 0) {
        syn_set_error(st->err, "%s: offset 0: expected an IDX magic starting 00 00, found "
                      "%02x %02x (not an IDX file)", st->path, magic[0], magic[1]);
        return SYN_ERR_FORMAT;
    }
    if (magic[2] == IDX_TYPE_U8)
        return SYN_OK;
    if (type_name(magic[2])) {
        syn_set_error(st->err, "%s: offset 2: IDX data type 0x%02X (%s) is not supported; "
                      "expected 0x08 (unsigned byte)", st->path, magic[2], type_name(magic[2]));
        return SYN_ERR_UNSUPPORTED;
    }
    syn_set_error(st->err, "%s: offset 2: expected an IDX data type (0x08 to 0x0E), found 0x%02X",
                  st->path, magic[2]);
    return SYN_ERR_FORMAT;
}

/* Reads the magic and the dimension sizes; `what` names the file's role
 * for the message about a wrong number of dimensions. */
static syn_status read_header(idx_stream *st, unsigned min_dims, unsigned max_dims,
                              const char *what, idx_header *h)
{
    unsigned char magic[4], sizes[4 * 255];
    size_t got;
    syn_status s = stream_read(st, magic, 4, &got);
    if (s != SYN_OK)
        return s;
    if (got < 4) {
        syn_set_error(st->err, "%s: offset 0: expected a 4-byte IDX magic, found %zu bytes",
                      st->path, got);
        return SYN_ERR_TRUNCATED;
    }
    s = check_magic(st, magic);
    if (s != SYN_OK)
        return s;
    h->n_dims = magic[3];
    if (h->n_dims < min_dims || h->n_dims > max_dims) {
        syn_set_error(st->err, "%s: offset 3: expected %s, found %u dimensions", st->path, what,
                      h->n_dims);
        return SYN_ERR_FORMAT;
    }
    h->bytes = 4 + 4 * (size_t)h->n_dims;
    s = stream_read(st, sizes, 4 * (size_t)h->n_dims, &got);
    if (s != SYN_OK)
        return s;
    if (got < 4 * (size_t)h->n_dims) {
        syn_set_error(st->err, "%s: offset 4: expected %u dimension sizes (%zu bytes), found "
                      "%zu bytes", st->path, h->n_dims, 4 * (size_t)h->n_dims, got);
        return SYN_ERR_TRUNCATED;
    }
    for (unsigned d = 0; d < h->n_dims; d++) {
        const unsigned char *b = sizes + 4 * d;
        h->dims[d] = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
        if (h->dims[d] == 0) {
            syn_set_error(st->err, "%s: offset %zu: expected a nonzero size for dimension %u, "
                          "found 0", st->path, 4 + 4 * (size_t)d, d);
            return SYN_ERR_FORMAT;
        }
    }
    return SYN_OK;
}

/* Bytes per sample: the product of the dimensions after the first. */
static syn_status sample_bytes(idx_stream *st, const idx_header *h, size_t *out)
{
    size_t n = 1;
    for (unsigned d = 1; d < h->n_dims; d++) {
        if (!syn_mul_size(n, h->dims[d], &n)) {
            syn_set_error(st->err, "%s: offset 4: the dimension sizes multiply to more than "
                          "this machine can address", st->path);
            return SYN_ERR_OVERFLOW;
        }
    }
    *out = n;
    return SYN_OK;
}

/* ----------------------------------------------------------------- data */

/* Reads exactly `total` bytes of data and checks that nothing follows.
 * The buffer grows as bytes arrive, so a lying header costs no more
 * memory than the file really holds. */
static syn_status read_payload(idx_stream *st, size_t total, size_t header_bytes,
                               uint8_t **out)
{
    size_t cap = total < IDX_FIRST_ALLOC ? total : IDX_FIRST_ALLOC;
    size_t have = 0, got;
    uint8_t *buf = malloc(cap);
    syn_status s = buf ? SYN_OK : SYN_ERR_OUT_OF_MEMORY;
    while (s == SYN_OK && have < total) {
        if (have == cap) {
            cap = cap > total / 2 ? total : cap * 2;
            uint8_t *bigger = realloc(buf, cap);
            if (!bigger) {
                s = SYN_ERR_OUT_OF_MEMORY;
                break;
            }
            buf = bigger;
        }
        s = stream_read(st, buf + have, cap - have, &got);
        have += got;
        if (s == SYN_OK && have < cap && have < total) {
            syn_set_error(st->err, "%s: offset %zu: expected %zu bytes of data after the "
                          "%zu-byte header, found %zu", st->path, header_bytes + have, total,
                          header_bytes, have);
            s = SYN_ERR_TRUNCATED;
        }
    }
    unsigned char extra;
    if (s == SYN_OK)
        s = stream_read(st, &extra, 1, &got);
    if (s == SYN_OK && !got)
        s = stream_check_complete(st);
    if (s == SYN_OK && got) {
        syn_set_error(st->err, "%s: offset %zu: expected the end of the file after %zu bytes "
                      "of data, found more bytes", st->path, header_bytes + total, total);
        s = SYN_ERR_FORMAT;
    }
    if (s != SYN_OK) {
        free(buf);
        return s;
    }
    *out = buf;
    return SYN_OK;
}

/* Labels become class ids; there are max + 1 classes. */
static syn_status read_labels(idx_stream *st, const idx_header *h, syn_dataset_parts *parts)
{
    uint8_t *raw;
    syn_status s = read_payload(st, parts->n_samples, h->bytes, &raw);
    if (s != SYN_OK)
        return s;
    size_t bytes;
    if (!syn_mul_size(parts->n_samples, sizeof(uint32_t), &bytes)) {
        free(raw);
        return SYN_ERR_OVERFLOW;
    }
    parts->labels = malloc(bytes);
    if (!parts->labels) {
        free(raw);
        return SYN_ERR_OUT_OF_MEMORY;
    }
    unsigned max_label = 0;
    for (size_t i = 0; i < parts->n_samples; i++) {
        parts->labels[i] = raw[i];
        max_label = raw[i] > max_label ? raw[i] : max_label;
    }
    parts->n_classes = (size_t)max_label + 1;
    free(raw);
    return SYN_OK;
}

/* Opens the label file and checks its header against the images before
 * any data is read, so a mismatched pair fails fast. */
static syn_status open_labels(idx_stream *st, const idx_source *src, syn_error *err,
                              size_t n_images, idx_header *h)
{
    const char *path = src->path;
    syn_status s = stream_open(st, src, err);
    if (s == SYN_OK)
        s = read_header(st, 1, 1, "1 dimension for labels", h);
    if (s == SYN_OK && h->dims[0] != n_images) {
        syn_set_error(err, "%s: offset 4: expected %zu labels (one per image), found %lu", path,
                      n_images, (unsigned long)h->dims[0]);
        s = SYN_ERR_SHAPE;
    }
    return s;
}

/* Refuses, from the header alone, a data set whose pixels (one byte each)
 * and labels (four bytes each) would need more than the memory limit. */
static syn_status check_limit(idx_stream *images, const syn_dataset_parts *parts,
                              size_t pixels, int labelled)
{
    size_t need = pixels, label_bytes = 0;
    int fits = !labelled || (syn_mul_size(parts->n_samples, sizeof(uint32_t), &label_bytes) &&
                             syn_add_size(need, label_bytes, &need));
    if (images->max_bytes == 0 || (fits && need <= images->max_bytes))
        return SYN_OK;
    syn_set_error(images->err, "%s: offset 4: %zu images of %zu bytes%s need %s%zu bytes, "
                  "more than the limit of %zu bytes", images->path, parts->n_samples,
                  parts->n_features, labelled ? " and their labels" : "",
                  fits ? "" : "more than ", fits ? need : SIZE_MAX, images->max_bytes);
    return SYN_ERR_MEMORY_LIMIT;
}

static syn_status load_pair(idx_stream *images, idx_stream *labels, const idx_source *labels_src,
                            syn_error *err, syn_dataset_parts *parts)
{
    idx_header ih, lh;
    size_t total;
    syn_status s = read_header(images, 2, 255, "at least 2 dimensions for images", &ih);
    if (s == SYN_OK)
        s = sample_bytes(images, &ih, &parts->n_features);
    if (s == SYN_OK) {
        parts->n_samples = ih.dims[0];
        /* [N x H x W] images are 1 x H x W, [N x C x H x W] C x H x W
         * (PyTorch's NCHW); other ranks stay flat. */
        if (ih.n_dims == 3 || ih.n_dims == 4) {
            parts->shape[0] = ih.n_dims == 4 ? ih.dims[1] : 1;
            parts->shape[1] = ih.dims[ih.n_dims - 2];
            parts->shape[2] = ih.dims[ih.n_dims - 1];
        }
        if (!syn_mul_size(parts->n_samples, parts->n_features, &total)) {
            syn_set_error(err, "%s: offset 4: %zu images of %zu bytes are more than this "
                          "machine can address", images->path, parts->n_samples,
                          parts->n_features);
            s = SYN_ERR_OVERFLOW;
        }
    }
    if (s == SYN_OK)
        s = check_limit(images, parts, total, labels_src != NULL);
    if (s == SYN_OK && labels_src)
        s = open_labels(labels, labels_src, err, parts->n_samples, &lh);
    if (s == SYN_OK)
        s = read_payload(images, total, ih.bytes, &parts->x_u8);
    if (s == SYN_OK && labels_src)
        s = read_labels(labels, &lh, parts);
    return s;
}

/* The loader behind both entry points; labels_src may be NULL. */
static syn_status load_idx(const idx_source *images_src, const idx_source *labels_src,
                           syn_dataset **out, syn_error *err)
{
    const char *images_path = images_src->path;
    idx_stream images = {0}, labels = {0};
    syn_dataset_parts parts = {0};
    syn_status s = stream_open(&images, images_src, err);
    if (s == SYN_OK)
        s = load_pair(&images, &labels, labels_src, err, &parts);
    stream_close(&images);
    stream_close(&labels);
    if (s == SYN_OK)
        return syn_dataset_adopt(&parts, out);
    if (s == SYN_ERR_OUT_OF_MEMORY)
        syn_set_error(err, "%s: out of memory", images_path);
    syn_dataset_parts_release(&parts);
    return s;
}

syn_status syn_dataset_load_idx(const char *images_path, const char *labels_path,
                                syn_dataset **out, syn_error *err)
{
    return syn_dataset_load_idx_limited(images_path, labels_path, 0, out, err);
}

syn_status syn_dataset_load_idx_limited(const char *images_path, const char *labels_path,
                                        size_t max_bytes, syn_dataset **out, syn_error *err)
{
    if (!images_path || !out) {
        syn_set_error(err, "invalid argument: %s is NULL", images_path ? "out" : "images_path");
        return SYN_ERR_INVALID_ARGUMENT;
    }
    idx_source images = {.path = images_path, .max_bytes = max_bytes};
    idx_source labels = {.path = labels_path};
    return load_idx(&images, labels_path ? &labels : NULL, out, err);
}

syn_status syn_idx_parse_buffer(const void *images, size_t images_size, const void *labels,
                                size_t labels_size, const char *name, syn_dataset **out,
                                syn_error *err)
{
    if (!images || !out) {
        syn_set_error(err, "invalid argument: %s is NULL", images ? "out" : "images");
        return SYN_ERR_INVALID_ARGUMENT;
    }
    char labels_name[256];
    name = name ? name : "<memory>";
    snprintf(labels_name, sizeof labels_name, "%s (labels)", name);
    idx_source images_src = {.path = name, .data = images, .size = images_size};
    idx_source labels_src = {.path = labels_name, .data = labels, .size = labels_size};
    return load_idx(&images_src, labels ? &labels_src : NULL, out, err);
}
