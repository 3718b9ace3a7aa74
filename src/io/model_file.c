/* model_file.c - the .syn model file (layout in docs/FORMAT.md): encoding a
 * network and its optimizer state as little-endian tagged sections, parsing
 * untrusted images back (reading and replacing the files is io/file.c's).
 * Every multi-byte value is written byte by byte and every float travels as
 * its IEEE-754 bit pattern, so a file is the same on every machine and
 * parameters round-trip bit for bit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/crc32.h"
#include "core/internal.h"
#include "data/encoding.h"
#include "io/file.h"
#include "io/model_file.h"

/* Messages read "name: detail", as those of the file layer. */
#define fail syn_file_fail

_Static_assert(sizeof(float) == 4 && sizeof(double) == 8, "floats travel as IEEE-754 bits");

/* Section tags of format version 1. Upper case: required to understand. */
#define TAG_ARCH "ARCH"
#define TAG_PARM "PARM"
#define TAG_SCAL "SCAL"
#define TAG_CLAS "CLAS"
#define TAG_META "meta"
#define TAG_OPTM "optm"
/* Added without a version change (a new required section, docs/FORMAT.md):
 * the input encoding. Required, because a reader that skipped it would
 * read a table's columns by position and misread a reordered file. */
#define TAG_COLS "COLS"
#define COLS_VERSION 1u

/* Version 2: the layers' non-trained state (batch norm's running
 * statistics), required: a reader that skipped it would normalize with
 * made-up statistics. */
#define TAG_STAT "STAT"
/* Added without a version change (an optional section): the loss's
 * settings (syn_loss_options). Optional, because they do not change what
 * the network predicts; a reader that skips them only trains without them.
 * Written only when a setting differs from its default, so a network
 * without them writes the very bytes it wrote before. */
#define TAG_LOSS "loss"
#define LOSS_VERSION 1u

/* The input's shape (issue 15): u64 channels, height, width, written only
 * when it is not flat. Optional: a reader that skips it sees the same
 * floats as a flat vector, which is what a dense layer reads anyway, and
 * a net whose layers need the shape has kinds such a reader refuses. */
#define TAG_SHAP "shap"

enum { SEC_ARCH, SEC_PARM, SEC_SCAL, SEC_CLAS, SEC_META, SEC_OPTM, SEC_COLS, SEC_STAT,
       SEC_LOSS, SEC_SHAP, SEC_COUNT };
static const char *const core_tags[SEC_COUNT] = {TAG_ARCH, TAG_PARM, TAG_SCAL, TAG_CLAS,
                                                 TAG_META, TAG_OPTM, TAG_COLS, TAG_STAT,
                                                 TAG_LOSS, TAG_SHAP};

#define ARCH_HEAD_SIZE 20u    /* n_inputs u64, loss, reduction, n_layers u32 */
#define LAYER_RECORD_SIZE 20u /* units u64, activation u32, slope f32, flags u32 */
/* Version 2 records: the v1 fields, then kind u32, n_attrs u32, f32 each. */
#define LAYER_RECORD_V2_MIN 28u
#define LAYER_FLAG_BIAS 1u
/* Header flag bits 0-15 announce features a reader must understand; v1
 * defines none. Bits 16-31 are hints a reader may ignore. */
#define HEADER_REQUIRED_FLAGS 0x0000ffffu

/* ------------------------------------------------------------------------ */
/* Little-endian bytes                                                       */
/* ------------------------------------------------------------------------ */

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

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint64_t f64_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double f64_from_bits(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* ------------------------------------------------------------------------ */
/* Writing: a growable buffer whose first failure sticks                     */
/* ------------------------------------------------------------------------ */

typedef syn_buf out_buf; /* util.h */

/* Makes room for `more` bytes; returns the place to write them or NULL. */
static uint8_t *ob_grow(out_buf *b, size_t more)
{
    if (!syn_buf_reserve(b, more))
        return NULL;
    uint8_t *at = b->data + b->size;
    b->size += more;
    return at;
}

static void ob_u32(out_buf *b, uint32_t v)
{
    uint8_t *p = ob_grow(b, 4);
    if (p)
        put_u32(p, v);
}

static void ob_u64(out_buf *b, uint64_t v)
{
    uint8_t *p = ob_grow(b, 8);
    if (p)
        put_u64(p, v);
}

static void ob_f32(out_buf *b, float v)
{
    ob_u32(b, f32_bits(v));
}

static void ob_f64(out_buf *b, double v)
{
    ob_u64(b, f64_bits(v));
}

static void ob_bytes(out_buf *b, const void *src, size_t n)
{
    uint8_t *p = ob_grow(b, n);
    if (p && n > 0)
        memcpy(p, src, n);
}

static void ob_floats(out_buf *b, const float *v, size_t n)
{
    size_t bytes;
    if (!syn_mul_size(n, 4, &bytes)) {
        if (b->status == SYN_OK)
            b->status = SYN_ERR_OVERFLOW;
        return;
    }
    uint8_t *p = ob_grow(b, bytes);
    if (!p)
        return;
    for (size_t i = 0; i < n; i++)
        put_u32(p + 4 * i, f32_bits(v[i]));
}

/* A string as u32 byte length and bytes, without terminator. */
static void ob_string(out_buf *b, const char *s)
{
    size_t n = strlen(s);
    if (n > UINT32_MAX) {
        if (b->status == SYN_OK)
            b->status = SYN_ERR_OVERFLOW;
        return;
    }
    ob_u32(b, (uint32_t)n);
    ob_bytes(b, s, n);
}

/* Starts a section; returns the offset of its length field for ob_end. */
static size_t ob_begin(out_buf *b, const char *tag)
{
    ob_bytes(b, tag, 4);
    size_t at = b->size;
    ob_u64(b, 0);
    return at;
}

static void ob_end(out_buf *b, size_t length_at)
{
    if (b->status == SYN_OK)
        put_u64(b->data + length_at, (uint64_t)(b->size - length_at - 8));
}

/* ------------------------------------------------------------------------ */
/* Encoding a network                                                        */
/* ------------------------------------------------------------------------ */

/* The format version a network needs: 1 unless a layer is not dense. */
static uint32_t version_for(const syn_net *net)
{
    return syn_net_first_kind_not(net, 1u << SYN_LAYER_DENSE) < net->n_layers ? 2u : 1u;
}

static void write_arch(out_buf *b, const syn_net *net, uint32_t version)
{
    size_t at = ob_begin(b, TAG_ARCH);
    ob_u64(b, net->n_inputs);
    ob_u32(b, (uint32_t)net->loss);
    ob_u32(b, (uint32_t)net->reduction);
    ob_u32(b, (uint32_t)net->n_layers);
    for (size_t l = 0; l < net->n_layers; l++) {
        const syn_layer *layer = &net->layers[l];
        syn_layer_desc d;
        syn_net_layer(net, l, &d, NULL); /* units as a description says them */
        ob_u64(b, d.units);
        ob_u32(b, (uint32_t)layer->activation);
        /* The effective parameter (leaky slope, ELU alpha, softplus beta),
         * so a reader never depends on the table's "0 means" default;
         * activations without a parameter store 0. */
        ob_f32(b, layer->leaky_slope);
        ob_u32(b, layer->has_bias ? LAYER_FLAG_BIAS : 0u);
        if (version < 2)
            continue;
        /* The kind's id is its enum value, which never changes; its
         * attributes are the kind's own (layers/layer.h). */
        const syn_layer_ops *ops = syn_layer_ops_of(layer->kind);
        float attrs[SYN_LAYER_MAX_ATTRS];
        size_t n = ops->attrs(layer, attrs);
        ob_u32(b, (uint32_t)layer->kind);
        ob_u32(b, (uint32_t)n);
        for (size_t i = 0; i < n; i++)
            ob_f32(b, attrs[i]);
    }
    ob_end(b, at);
}

static void write_shape(out_buf *b, const syn_net *net)
{
    if (net->in_shape[1] == 1 && net->in_shape[2] == 1)
        return; /* flat: {n_inputs, 1, 1} */
    size_t at = ob_begin(b, TAG_SHAP);
    for (int i = 0; i < 3; i++)
        ob_u64(b, net->in_shape[i]);
    ob_end(b, at);
}

static void write_state(out_buf *b, const syn_net *net)
{
    if (net->n_state == 0)
        return;
    size_t at = ob_begin(b, TAG_STAT);
    ob_u64(b, net->n_state);
    ob_floats(b, net->state, net->n_state);
    ob_end(b, at);
}

static void write_params(out_buf *b, const syn_net *net)
{
    size_t at = ob_begin(b, TAG_PARM);
    ob_u64(b, net->n_params);
    ob_floats(b, net->params, net->n_params);
    ob_end(b, at);
}

static void write_scaling(out_buf *b, const syn_net *net)
{
    if (!net->scale_offset)
        return;
    size_t at = ob_begin(b, TAG_SCAL);
    ob_u64(b, net->n_inputs);
    ob_floats(b, net->scale_offset, net->n_inputs);
    ob_floats(b, net->scale_mul, net->n_inputs);
    ob_end(b, at);
}

static void write_class_names(out_buf *b, const syn_net *net)
{
    if (net->n_class_names == 0)
        return;
    size_t at = ob_begin(b, TAG_CLAS);
    ob_u32(b, (uint32_t)net->n_class_names);
    for (size_t i = 0; i < net->n_class_names; i++)
        ob_string(b, net->class_names[i]);
    ob_end(b, at);
}

static void ob_strings(out_buf *b, char *const *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ob_string(b, s[i]);
}

/* COLS: u32 version, u32 n_columns, u32 n_na_values, u32 n_targets, the
 * missing spellings and target names as strings, then per column: name,
 * u32 kind, f32 fill, u32 fill_category, u32 n_categories, categories. */
static void write_encoding(out_buf *b, const syn_net *net)
{
    const syn_encoding *enc = net->encoding;
    if (!enc)
        return;
    if (enc->n_columns > UINT32_MAX || enc->n_na_values > UINT32_MAX ||
        enc->n_targets > UINT32_MAX) {
        if (b->status == SYN_OK)
            b->status = SYN_ERR_OVERFLOW;
        return;
    }
    size_t at = ob_begin(b, TAG_COLS);
    ob_u32(b, COLS_VERSION);
    ob_u32(b, (uint32_t)enc->n_columns);
    ob_u32(b, (uint32_t)enc->n_na_values);
    ob_u32(b, (uint32_t)enc->n_targets);
    ob_strings(b, enc->na_values, enc->n_na_values);
    ob_strings(b, enc->target_names, enc->n_targets);
    for (size_t i = 0; i < enc->n_columns; i++) {
        const syn_enc_column *c = &enc->columns[i];
        if (c->n_categories > UINT32_MAX) {
            if (b->status == SYN_OK)
                b->status = SYN_ERR_OVERFLOW;
            return;
        }
        ob_string(b, c->name);
        ob_u32(b, (uint32_t)c->kind);
        ob_f32(b, c->fill);
        ob_u32(b, (uint32_t)c->fill_category);
        ob_u32(b, (uint32_t)c->n_categories);
        ob_strings(b, c->categories, c->n_categories);
    }
    ob_end(b, at);
}

/* loss: u32 version, f32 label_smoothing, f32 huber_delta (as set: 0
 * means 1.0), u32 n_weights (0 or n_outputs), f32 x n_weights. */
static void write_loss(out_buf *b, const syn_net *net)
{
    const syn_loss_opts *o = &net->loss_opts;
    if (o->label_smoothing == 0.0f && !o->class_weights && o->huber_delta == 0.0f)
        return;
    size_t n = o->class_weights ? net->layers[net->n_layers - 1].units : 0;
    size_t at = ob_begin(b, TAG_LOSS);
    ob_u32(b, LOSS_VERSION);
    ob_f32(b, o->label_smoothing);
    ob_f32(b, o->huber_delta);
    ob_u32(b, (uint32_t)n);
    if (n)
        ob_floats(b, o->class_weights, n);
    ob_end(b, at);
}

static void write_meta(out_buf *b, const syn_net *net)
{
    const syn_train_meta *m = &net->meta;
    size_t at = ob_begin(b, TAG_META);
    ob_u64(b, m->epochs);
    ob_u64(b, m->seed);
    ob_u64(b, m->samples_seen);
    ob_f64(b, m->train_loss);
    ob_f64(b, m->train_accuracy);
    ob_f64(b, m->val_loss);
    ob_f64(b, m->val_accuracy);
    /* The struct fields may lack a terminator if set by hand. */
    char text[sizeof m->library_version + sizeof m->optimizer];
    memcpy(text, m->library_version, sizeof m->library_version);
    text[sizeof m->library_version - 1] = '\0';
    ob_string(b, text);
    memcpy(text, m->optimizer, sizeof m->optimizer);
    text[sizeof m->optimizer - 1] = '\0';
    ob_string(b, text);
    ob_end(b, at);
}

/* Kinds from SYN_OPTIM_RMSPROP on were added with their own settings and
 * state scalars, written after the arenas (docs/FORMAT.md, optm); the
 * older kinds' records stay as they were, so older readers still read
 * them. */
static int optim_extended(syn_optim_kind kind)
{
    return kind >= SYN_OPTIM_RMSPROP;
}

static void write_optimizer(out_buf *b, const syn_optimizer *opt)
{
    /* The state accessors hand out writable pointers for restoring; we
     * only read through them. */
    syn_optimizer *o = (syn_optimizer *)opt;
    syn_optim_desc d = syn_optimizer_desc(opt);
    size_t n_arenas = syn_optimizer_n_arenas(opt), count = 0;
    syn_optimizer_moments(o, NULL, NULL, &count);
    size_t at = ob_begin(b, TAG_OPTM);
    ob_u32(b, (uint32_t)d.kind);
    ob_u32(b, (uint32_t)n_arenas);
    ob_f32(b, d.lr);
    ob_f32(b, d.momentum);
    ob_f32(b, d.dampening);
    ob_f32(b, d.beta1);
    ob_f32(b, d.beta2);
    ob_f32(b, d.eps);
    ob_f32(b, d.weight_decay);
    ob_u64(b, syn_optimizer_steps(opt));
    ob_u64(b, count);
    for (size_t k = 0; k < n_arenas; k++) {
        float *arena = NULL;
        syn_optimizer_arena(o, k, &arena, NULL, NULL);
        ob_floats(b, arena, count);
    }
    if (optim_extended(d.kind)) {
        double *scalars = NULL;
        size_t n_scalars = 0;
        syn_optimizer_scalars(o, &scalars, &n_scalars);
        ob_f32(b, d.alpha);
        ob_u32(b, (uint32_t)d.centered);
        ob_f32(b, d.lr_decay);
        ob_f32(b, d.initial_accumulator_value);
        ob_f32(b, d.momentum_decay);
        ob_u32(b, (uint32_t)n_scalars);
        for (size_t k = 0; k < n_scalars; k++)
            ob_f64(b, scalars[k]);
    }
    ob_end(b, at);
}

static int tag_char_ok(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_';
}

static int tag_ok(const char *tag)
{
    if (!((tag[0] >= 'A' && tag[0] <= 'Z') || (tag[0] >= 'a' && tag[0] <= 'z')))
        return 0;
    return tag_char_ok(tag[1]) && tag_char_ok(tag[2]) && tag_char_ok(tag[3]);
}

static int tag_required(const char *tag)
{
    return tag[0] >= 'A' && tag[0] <= 'Z';
}

static int core_index(const char *tag)
{
    for (int i = 0; i < SEC_COUNT; i++)
        if (memcmp(tag, core_tags[i], 4) == 0)
            return i;
    return -1;
}

static syn_status check_extras(const syn_model_section *extras, size_t n_extras,
                               syn_error *err)
{
    if (n_extras > 0 && !extras) {
        syn_set_error(err, "extra sections: NULL array");
        return SYN_ERR_INVALID_ARGUMENT;
    }
    for (size_t i = 0; i < n_extras; i++) {
        const char *tag = extras[i].tag;
        if (!tag_ok(tag) || core_index(tag) >= 0 || (extras[i].size > 0 && !extras[i].data)) {
            syn_set_error(err, "extra section %zu: invalid or reserved tag, or NULL data", i);
            return SYN_ERR_INVALID_ARGUMENT;
        }
        for (size_t j = 0; j < i; j++)
            if (memcmp(extras[j].tag, tag, 4) == 0) {
                syn_set_error(err, "extra section %.4s given twice", tag);
                return SYN_ERR_INVALID_ARGUMENT;
            }
    }
    return SYN_OK;
}

syn_status syn_model_serialize(const syn_net *net, const syn_optimizer *opt,
                               const syn_model_section *extras, size_t n_extras,
                               uint8_t **out, size_t *out_size, syn_error *err)
{
    if (!out || !out_size || !net) {
        syn_set_error(err, "model file: NULL network or output");
        return SYN_ERR_INVALID_ARGUMENT;
    }
    *out = NULL;
    *out_size = 0;
    syn_status st = check_extras(extras, n_extras, err);
    if (st != SYN_OK)
        return st;
    if (net->n_layers > UINT32_MAX || net->n_class_names > UINT32_MAX) {
        syn_set_error(err, "model file: too many layers or class names for the format");
        return SYN_ERR_OVERFLOW;
    }
    if (opt) {
        size_t count = 0;
        syn_optimizer_moments((syn_optimizer *)opt, NULL, NULL, &count);
        if (count != net->n_params) {
            syn_set_error(err, "model file: optimizer is for %zu parameters, network has %zu",
                          count, net->n_params);
            return SYN_ERR_SHAPE;
        }
    }
    out_buf b = {0};
    ob_bytes(&b, SYN_MODEL_MAGIC, SYN_MODEL_MAGIC_SIZE);
    uint32_t version = version_for(net);
    ob_u32(&b, version);
    ob_u32(&b, 0); /* flags: v1 and v2 set none */
    ob_u64(&b, 0); /* total size, patched below */
    ob_u32(&b, 0); /* header CRC, patched below */
    write_arch(&b, net, version);
    write_shape(&b, net);
    write_params(&b, net);
    write_state(&b, net);
    write_scaling(&b, net);
    write_class_names(&b, net);
    write_encoding(&b, net);
    write_loss(&b, net);
    write_meta(&b, net);
    if (opt)
        write_optimizer(&b, opt);
    for (size_t i = 0; i < n_extras; i++) {
        size_t at = ob_begin(&b, extras[i].tag);
        ob_bytes(&b, extras[i].data, extras[i].size);
        ob_end(&b, at);
    }
    ob_u32(&b, 0); /* trailer CRC, patched below */
    if (b.status != SYN_OK) {
        free(b.data);
        syn_set_error(err, "model file: %s while encoding", syn_strerror(b.status));
        return b.status;
    }
    put_u64(b.data + 16, (uint64_t)b.size);
    put_u32(b.data + 24, syn_crc32(0, b.data, 24));
    put_u32(b.data + b.size - 4, syn_crc32(0, b.data, b.size - 4));
    *out = b.data;
    *out_size = b.size;
    return SYN_OK;
}

/* ------------------------------------------------------------------------ */
/* Reading: framing                                                          */
/* ------------------------------------------------------------------------ */

/* Checks everything that does not depend on the sections: magic, header
 * CRC, version, flags, total size and the whole-file CRC. Truncation is
 * told apart from corruption by the total size the header records, which
 * the header CRC vouches for. */
static syn_status check_frame(const uint8_t *data, size_t size, const char *name,
                              syn_error *err)
{
    if (size == 0)
        return fail(err, SYN_ERR_TRUNCATED, name, "truncated: the file is empty");
    size_t magic_seen = size < SYN_MODEL_MAGIC_SIZE ? size : SYN_MODEL_MAGIC_SIZE;
    if (memcmp(data, SYN_MODEL_MAGIC, magic_seen) != 0)
        return fail(err, SYN_ERR_FORMAT, name, "not a synapse model file (bad magic number)");
    if (size < SYN_MODEL_HEADER_SIZE)
        return fail(err, SYN_ERR_TRUNCATED, name,
                    "truncated: %zu bytes, shorter than the %u-byte header", size,
                    SYN_MODEL_HEADER_SIZE);
    uint32_t stored = get_u32(data + 24), computed = syn_crc32(0, data, 24);
    if (stored != computed)
        return fail(err, SYN_ERR_CORRUPT, name,
                    "header CRC-32 mismatch (stored 0x%08x, computed 0x%08x)", (unsigned)stored,
                    (unsigned)computed);
    uint32_t version = get_u32(data + 8), flags = get_u32(data + 12);
    if (version == 0)
        return fail(err, SYN_ERR_VERSION, name, "format version 0 does not exist");
    if (version > SYN_MODEL_VERSION)
        return fail(err, SYN_ERR_VERSION, name,
                    "format version %u is newer than this library reads (%u)",
                    (unsigned)version, SYN_MODEL_VERSION);
    if (flags & HEADER_REQUIRED_FLAGS)
        return fail(err, SYN_ERR_VERSION, name,
                    "header flags 0x%08x need features this library does not know",
                    (unsigned)(flags & HEADER_REQUIRED_FLAGS));
    uint64_t total = get_u64(data + 16);
    if (total < SYN_MODEL_HEADER_SIZE + SYN_MODEL_TRAILER_SIZE)
        return fail(err, SYN_ERR_CORRUPT, name, "header records an impossible size of %llu",
                    (unsigned long long)total);
    if ((uint64_t)size < total)
        return fail(err, SYN_ERR_TRUNCATED, name, "truncated: %zu bytes of %llu", size,
                    (unsigned long long)total);
    if ((uint64_t)size > total)
        return fail(err, SYN_ERR_CORRUPT, name, "%llu bytes of trailing data after the model",
                    (unsigned long long)((uint64_t)size - total));
    stored = get_u32(data + size - SYN_MODEL_TRAILER_SIZE);
    computed = syn_crc32(0, data, size - SYN_MODEL_TRAILER_SIZE);
    if (stored != computed)
        return fail(err, SYN_ERR_CORRUPT, name, "CRC-32 mismatch (stored 0x%08x, computed 0x%08x)",
                    (unsigned)stored, (unsigned)computed);
    return SYN_OK;
}

typedef struct section {
    const char *tag; /* 4 bytes inside the image */
    const uint8_t *payload;
    size_t size;
} section;

/* Reads the section header at *pos (between the header and the trailer)
 * and advances past its payload. */
static syn_status next_section(const uint8_t *data, size_t end, size_t *pos, section *s,
                               const char *name, syn_error *err)
{
    size_t left = end - *pos;
    if (left < SYN_MODEL_SECTION_HEAD)
        return fail(err, SYN_ERR_CORRUPT, name, "%zu stray bytes at offset %zu", left, *pos);
    const uint8_t *head = data + *pos;
    s->tag = (const char *)head;
    if (!tag_ok(s->tag))
        return fail(err, SYN_ERR_CORRUPT, name, "invalid section tag at offset %zu", *pos);
    uint64_t length = get_u64(head + 4);
    left -= SYN_MODEL_SECTION_HEAD;
    if (length > (uint64_t)left)
        return fail(err, SYN_ERR_CORRUPT, name,
                    "section %.4s claims %llu bytes, only %zu remain", s->tag,
                    (unsigned long long)length, left);
    s->payload = head + SYN_MODEL_SECTION_HEAD;
    s->size = (size_t)length;
    *pos += SYN_MODEL_SECTION_HEAD + s->size;
    return SYN_OK;
}

/* Frames the image and indexes the sections format v1 knows. */
static syn_status index_sections(const uint8_t *data, size_t size, const char *name,
                                 section found[SEC_COUNT], syn_error *err)
{
    syn_status st = check_frame(data, size, name, err);
    if (st != SYN_OK)
        return st;
    memset(found, 0, SEC_COUNT * sizeof *found);
    size_t pos = SYN_MODEL_HEADER_SIZE, end = size - SYN_MODEL_TRAILER_SIZE;
    while (pos < end) {
        section s = {NULL, NULL, 0};
        st = next_section(data, end, &pos, &s, name, err);
        if (st != SYN_OK)
            return st;
        int known = core_index(s.tag);
        if (known < 0) {
            /* Optional sections belong to later versions or other features:
             * skipping them is how old readers stay compatible. */
            if (tag_required(s.tag))
                return fail(err, SYN_ERR_VERSION, name,
                            "section %.4s is required but unknown to this library", s.tag);
            continue;
        }
        if (found[known].tag)
            return fail(err, SYN_ERR_CORRUPT, name, "section %.4s appears twice", s.tag);
        found[known] = s;
    }
    for (int i = SEC_ARCH; i <= SEC_PARM; i++)
        if (!found[i].tag)
            return fail(err, SYN_ERR_CORRUPT, name, "section %s is missing", core_tags[i]);
    return SYN_OK;
}

syn_status syn_model_find_section(const uint8_t *data, size_t size, const char *name,
                                  const char tag[4], const uint8_t **payload,
                                  size_t *payload_size, syn_error *err)
{
    if ((!data && size > 0) || !tag || !payload || !payload_size)
        return SYN_ERR_INVALID_ARGUMENT;
    *payload = NULL;
    *payload_size = 0;
    name = name ? name : "<memory>";
    syn_status st = check_frame(data, size, name, err);
    size_t pos = SYN_MODEL_HEADER_SIZE, end = size - SYN_MODEL_TRAILER_SIZE;
    while (st == SYN_OK && pos < end) {
        section s = {NULL, NULL, 0};
        st = next_section(data, end, &pos, &s, name, err);
        if (st == SYN_OK && memcmp(s.tag, tag, 4) == 0) {
            *payload = s.payload;
            *payload_size = s.size;
            return SYN_OK;
        }
    }
    if (st != SYN_OK)
        return st;
    return fail(err, SYN_ERR_NOT_FOUND, name, "no section %.4s", tag);
}

/* ------------------------------------------------------------------------ */
/* Reading: section payloads                                                 */
/* ------------------------------------------------------------------------ */

/* A cursor over one payload; reading past its end sets `short_read`
 * instead of touching memory outside it. */
typedef struct reader {
    const uint8_t *p;
    size_t left;
    int short_read;
} reader;

static const uint8_t *rd_take(reader *r, size_t n)
{
    if (r->short_read || r->left < n) {
        r->short_read = 1;
        return NULL;
    }
    const uint8_t *at = r->p;
    r->p += n;
    r->left -= n;
    return at;
}

static uint32_t rd_u32(reader *r)
{
    const uint8_t *p = rd_take(r, 4);
    return p ? get_u32(p) : 0;
}

static uint64_t rd_u64(reader *r)
{
    const uint8_t *p = rd_take(r, 8);
    return p ? get_u64(p) : 0;
}

static float rd_f32(reader *r)
{
    return f32_from_bits(rd_u32(r));
}

static double rd_f64(reader *r)
{
    return f64_from_bits(rd_u64(r));
}

/* Takes n floats' worth of bytes, refusing counts that could not fit. */
static const uint8_t *rd_floats(reader *r, uint64_t n)
{
    if (n > r->left / 4) {
        r->short_read = 1;
        return NULL;
    }
    return rd_take(r, (size_t)n * 4);
}

static void decode_floats(float *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = f32_from_bits(get_u32(src + 4 * i));
}

static int all_finite(const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(f32_from_bits(get_u32(src + 4 * i))))
            return 0;
    return 1;
}

/* A section must be consumed exactly: a short or long payload means its
 * length field and its content disagree. */
static syn_status payload_end(const reader *r, const section *s, const char *name,
                              syn_error *err)
{
    if (r->short_read)
        return fail(err, SYN_ERR_CORRUPT, name, "section %.4s: content runs past its %zu bytes",
                    s->tag, s->size);
    if (r->left != 0)
        return fail(err, SYN_ERR_CORRUPT, name, "section %.4s: %zu unexpected bytes at its end",
                    s->tag, r->left);
    return SYN_OK;
}

typedef struct arch {
    size_t n_inputs, n_layers, n_params, n_state;
    syn_layer_desc *layers; /* malloc'd */
    syn_loss loss;
    syn_reduction reduction;
    size_t shape[3]; /* the input's (section shap), all 0 when flat */
} arch;

static syn_status check_layer(const syn_layer_desc *ld, uint32_t flags, size_t l,
                              size_t n_layers, const char *name, syn_error *err)
{
    if (ld->units == 0)
        return fail(err, SYN_ERR_CORRUPT, name, "layer %zu has no units", l);
    const syn_act_info *info = syn_act_info_of(ld->activation);
    if (!syn_activation_param_ok(ld->activation, ld->leaky_slope) ||
        (!info->param_name && ld->leaky_slope != 0.0f))
        return fail(err, SYN_ERR_CORRUPT, name, "layer %zu: invalid %s parameter %g", l,
                    info->name, (double)ld->leaky_slope);
    if (flags & ~LAYER_FLAG_BIAS)
        return fail(err, SYN_ERR_CORRUPT, name, "layer %zu: unknown flags 0x%x", l,
                    (unsigned)flags);
    if (info->output_only && l + 1 != n_layers)
        return fail(err, SYN_ERR_CORRUPT, name, "layer %zu: %s before the output layer", l,
                    info->name);
    return SYN_OK;
}

/* Version 2's kind and attributes of layer l (after the v1 fields). */
static syn_status parse_kind(reader *r, syn_layer_desc *ld, size_t l, const char *name,
                             syn_error *err)
{
    uint32_t kind = rd_u32(r), n_attrs = rd_u32(r);
    if (r->short_read)
        return fail(err, SYN_ERR_CORRUPT, name, "section ARCH: layer %zu is cut short", l);
    if (kind >= SYN_LAYER_COUNT_)
        return fail(err, SYN_ERR_CORRUPT, name, "layer %zu: unknown kind %u", l,
                    (unsigned)kind);
    ld->kind = (syn_layer_kind)kind;
    const syn_layer_ops *ops = syn_layer_ops_of(ld->kind);
    if (n_attrs > SYN_LAYER_MAX_ATTRS || (size_t)n_attrs * 4 > r->left)
        return fail(err, SYN_ERR_CORRUPT, name, "layer %zu (%s): %u attributes", l, ops->name,
                    (unsigned)n_attrs);
    float v[SYN_LAYER_MAX_ATTRS];
    for (uint32_t i = 0; i < n_attrs; i++)
        v[i] = rd_f32(r);
    char why[160] = "";
    if (!ops->set_attrs(ld, v, n_attrs, why, sizeof why))
        return fail(err, SYN_ERR_CORRUPT, name, "layer %zu (%s): %s", l, ops->name, why);
    return SYN_OK;
}

/* shap into a->shape (before ARCH, whose plans need it). */
static syn_status parse_shape(const section *s, const char *name, arch *a, syn_error *err)
{
    if (!s->tag)
        return SYN_OK;
    reader r = {s->payload, s->size, 0};
    for (int i = 0; i < 3; i++) {
        uint64_t v = rd_u64(&r);
        if (r.short_read || v == 0 || v > SIZE_MAX)
            return fail(err, SYN_ERR_CORRUPT, name, "section shap: dimension %d is %llu", i,
                        (unsigned long long)v);
        a->shape[i] = (size_t)v;
    }
    return payload_end(&r, s, name, err);
}

static syn_status parse_arch(const section *s, uint32_t version, const char *name, arch *a,
                             syn_error *err)
{
    reader r = {s->payload, s->size, 0};
    uint64_t n_inputs = rd_u64(&r);
    uint32_t loss = rd_u32(&r), reduction = rd_u32(&r), n_layers = rd_u32(&r);
    if (r.short_read)
        return fail(err, SYN_ERR_CORRUPT, name, "section ARCH: %zu bytes is too short",
                    s->size);
    if (n_inputs == 0 || n_inputs > SIZE_MAX || n_layers == 0)
        return fail(err, SYN_ERR_CORRUPT, name, "section ARCH: %llu inputs, %u layers",
                    (unsigned long long)n_inputs, (unsigned)n_layers);
    if (loss >= SYN_LOSS_COUNT_ || reduction >= SYN_REDUCTION_COUNT_)
        return fail(err, SYN_ERR_CORRUPT, name, "section ARCH: unknown loss %u or reduction %u",
                    (unsigned)loss, (unsigned)reduction);
    /* The layer count is checked against the bytes present before the
     * table is allocated, so a hostile count cannot make us over-allocate
     * (version 2 records are at least 28 bytes, and read exactly below). */
    if (version < 2 ? (uint64_t)n_layers * LAYER_RECORD_SIZE != (uint64_t)r.left
                    : (uint64_t)n_layers * LAYER_RECORD_V2_MIN > (uint64_t)r.left)
        return fail(err, SYN_ERR_CORRUPT, name, "section ARCH: %u layers do not fit %zu bytes",
                    (unsigned)n_layers, r.left);
    a->layers = calloc(n_layers, sizeof *a->layers);
    if (!a->layers)
        return fail(err, SYN_ERR_OUT_OF_MEMORY, name, "out of memory");
    a->n_inputs = (size_t)n_inputs;
    a->n_layers = n_layers;
    a->loss = (syn_loss)loss;
    a->reduction = (syn_reduction)reduction;
    /* The layers are checked by their kinds' plans, as syn_net_create
     * would, so every refusal names the layer and the field. */
    syn_net_desc desc = {.n_inputs = a->n_inputs, .n_layers = n_layers, .layers = a->layers,
                         .loss = a->loss, .reduction = a->reduction,
                         .input_shape = {a->shape[0], a->shape[1], a->shape[2]}};
    size_t shape[3], n_params = 0, n_state = 0;
    syn_error bad = {{0}};
    if (syn_input_shape_of(&desc, shape, &bad) != SYN_OK)
        return fail(err, SYN_ERR_CORRUPT, name, "section shap: %s", bad.message);
    for (size_t l = 0; l < n_layers; l++) {
        syn_layer_desc *ld = &a->layers[l];
        uint64_t units = rd_u64(&r);
        uint32_t activation = rd_u32(&r);
        ld->leaky_slope = rd_f32(&r);
        uint32_t flags = rd_u32(&r);
        if (units > SIZE_MAX || activation >= SYN_ACT_COUNT_)
            return fail(err, SYN_ERR_CORRUPT, name, "layer %zu: %llu units, activation %u", l,
                        (unsigned long long)units, (unsigned)activation);
        ld->units = (size_t)units;
        ld->activation = (syn_activation)activation;
        ld->no_bias = !(flags & LAYER_FLAG_BIAS);
        syn_status st = check_layer(ld, flags, l, n_layers, name, err);
        if (st == SYN_OK && version >= 2)
            st = parse_kind(&r, ld, l, name, err);
        if (st != SYN_OK)
            return st;
        syn_layer_plan plan;
        syn_error why = {{0}};
        st = syn_layer_plan_of(&desc, l, shape, &plan, &why);
        if (st != SYN_OK)
            return fail(err, SYN_ERR_CORRUPT, name, "section ARCH: %s", why.message);
        memcpy(shape, plan.out_shape, sizeof shape);
        if (!syn_add_size(n_params, plan.w_size, &n_params) ||
            !syn_add_size(n_params, plan.b_size, &n_params) ||
            !syn_add_size(n_state, plan.n_state, &n_state))
            return fail(err, SYN_ERR_CORRUPT, name, "section ARCH: parameter count overflows");
    }
    if (!syn_loss_output_ok(a->loss, a->layers[n_layers - 1].activation))
        return fail(err, SYN_ERR_CORRUPT, name,
                    "section ARCH: loss %u does not fit the output activation %u",
                    (unsigned)loss, (unsigned)a->layers[n_layers - 1].activation);
    a->n_params = n_params;
    a->n_state = n_state;
    return payload_end(&r, s, name, err);
}

/* STAT against the architecture: every layer's state as the kind could
 * have written it. */
static syn_status load_state(const section *s, const arch *a, syn_net *net, const char *name,
                             syn_error *err)
{
    if (a->n_state == 0) {
        if (s->tag)
            return fail(err, SYN_ERR_CORRUPT, name,
                        "section STAT: the architecture keeps no state");
        return SYN_OK;
    }
    if (!s->tag)
        return fail(err, SYN_ERR_CORRUPT, name, "section STAT is missing (%zu state values)",
                    a->n_state);
    reader r = {s->payload, s->size, 0};
    uint64_t count = rd_u64(&r);
    if (!r.short_read && count != (uint64_t)a->n_state)
        return fail(err, SYN_ERR_CORRUPT, name,
                    "section STAT holds %llu values, the architecture needs %zu",
                    (unsigned long long)count, a->n_state);
    const uint8_t *values = rd_floats(&r, count);
    syn_status st = payload_end(&r, s, name, err);
    if (st != SYN_OK)
        return st;
    decode_floats(net->state, values, a->n_state);
    for (size_t l = 0; l < net->n_layers; l++) {
        const syn_layer_ops *ops = syn_layer_ops_of(net->layers[l].kind);
        char why[160] = "";
        if (ops->state_ok && !ops->state_ok(&net->layers[l], net->state, why, sizeof why))
            return fail(err, SYN_ERR_CORRUPT, name, "section STAT: layer %zu (%s): %s", l,
                        ops->name, why);
    }
    return SYN_OK;
}

/* Checks PARM against the architecture; *values points at the floats. */
static syn_status parse_params(const section *s, const arch *a, const char *name,
                               const uint8_t **values, syn_error *err)
{
    reader r = {s->payload, s->size, 0};
    uint64_t count = rd_u64(&r);
    if (!r.short_read && count != (uint64_t)a->n_params)
        return fail(err, SYN_ERR_CORRUPT, name,
                    "section PARM holds %llu parameters, the architecture needs %zu",
                    (unsigned long long)count, a->n_params);
    *values = rd_floats(&r, count);
    return payload_end(&r, s, name, err);
}

static syn_status load_scaling(const section *s, syn_net *net, const char *name,
                               syn_error *err)
{
    reader r = {s->payload, s->size, 0};
    uint64_t n = rd_u64(&r);
    if (!r.short_read && n != (uint64_t)net->n_inputs)
        return fail(err, SYN_ERR_CORRUPT, name, "section SCAL: %llu features for %zu inputs",
                    (unsigned long long)n, net->n_inputs);
    const uint8_t *offset = rd_floats(&r, n), *scale = rd_floats(&r, n);
    syn_status st = payload_end(&r, s, name, err);
    if (st != SYN_OK)
        return st;
    if (!all_finite(offset, net->n_inputs) || !all_finite(scale, net->n_inputs))
        return fail(err, SYN_ERR_CORRUPT, name, "section SCAL: values that are not finite");
    float *values = syn_alloc_floats(2 * net->n_inputs);
    if (!values)
        return fail(err, SYN_ERR_OUT_OF_MEMORY, name, "out of memory");
    decode_floats(values, offset, net->n_inputs);
    decode_floats(values + net->n_inputs, scale, net->n_inputs);
    st = syn_net_set_input_scaling(net, values, values + net->n_inputs);
    syn_free_aligned(values);
    if (st != SYN_OK)
        return fail(err, st, name, "section SCAL: %s", syn_strerror(st));
    return SYN_OK;
}

/* Reads a u32-length string into a fresh NUL-terminated copy (NULL after
 * a short read, a NUL inside, or no memory, told apart by *st). */
static char *rd_string(reader *r, syn_status *st)
{
    uint32_t n = rd_u32(r);
    const uint8_t *bytes = rd_take(r, n);
    if (!bytes || memchr(bytes, '\0', n)) {
        *st = SYN_ERR_CORRUPT;
        return NULL;
    }
    char *s = malloc((size_t)n + 1);
    if (!s) {
        *st = SYN_ERR_OUT_OF_MEMORY;
        return NULL;
    }
    memcpy(s, bytes, n);
    s[n] = '\0';
    return s;
}

static syn_status load_class_names(const section *s, syn_net *net, const char *name,
                                   syn_error *err)
{
    reader r = {s->payload, s->size, 0};
    uint32_t count = rd_u32(&r);
    /* Each name takes at least its 4-byte length: bounds the table. */
    if (r.short_read || count == 0 || count > r.left / 4)
        return fail(err, SYN_ERR_CORRUPT, name, "section CLAS: bad class count %u",
                    (unsigned)count);
    char **names = calloc(count, sizeof *names);
    if (!names)
        return fail(err, SYN_ERR_OUT_OF_MEMORY, name, "out of memory");
    syn_status st = SYN_OK;
    for (uint32_t i = 0; i < count && st == SYN_OK; i++)
        names[i] = rd_string(&r, &st);
    if (st == SYN_ERR_CORRUPT)
        fail(err, st, name, "section CLAS: a name runs past the section or holds a NUL");
    else if (st != SYN_OK)
        fail(err, st, name, "out of memory");
    if (st == SYN_OK)
        st = payload_end(&r, s, name, err);
    if (st == SYN_OK) {
        st = syn_net_set_class_names(net, (const char *const *)names, count);
        if (st != SYN_OK)
            fail(err, st, name, "section CLAS: %s", syn_strerror(st));
    }
    for (uint32_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    return st;
}

/* Copies a string into a fixed struct field, cut to fit its terminator. */
static void copy_field(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n > cap - 1)
        n = cap - 1;
    memcpy(dst, src, n);
    memset(dst + n, 0, cap - n);
}

/* Reads a u32 count of strings, each at least its 4-byte length: a count
 * beyond the bytes left is refused before the table is allocated. */
static syn_status rd_strings(reader *r, uint32_t count, char ***out)
{
    *out = NULL;
    if (count > r->left / 4)
        return SYN_ERR_CORRUPT;
    char **s = calloc(count ? count : 1, sizeof *s);
    if (!s)
        return SYN_ERR_OUT_OF_MEMORY;
    syn_status st = SYN_OK;
    for (uint32_t i = 0; i < count && st == SYN_OK; i++)
        s[i] = rd_string(r, &st);
    *out = s;
    return st;
}

static syn_status load_encoding(const section *s, syn_net *net, const char *name,
                                syn_error *err)
{
    reader r = {s->payload, s->size, 0};
    uint32_t version = rd_u32(&r), n_columns = rd_u32(&r);
    uint32_t n_na = rd_u32(&r), n_targets = rd_u32(&r);
    if (r.short_read)
        return payload_end(&r, s, name, err);
    if (version != COLS_VERSION)
        return fail(err, SYN_ERR_VERSION, name, "section COLS: version %u is not one this "
                    "library reads (%u)", (unsigned)version, COLS_VERSION);
    /* A column takes at least 20 bytes: bounds the table before allocating. */
    if (n_columns == 0 || n_columns > r.left / 20)
        return fail(err, SYN_ERR_CORRUPT, name, "section COLS: bad column count %u",
                    (unsigned)n_columns);
    syn_encoding *enc = NULL;
    syn_status st = syn_encoding_new(n_columns, &enc);
    if (st != SYN_OK)
        return fail(err, st, name, "out of memory");
    char **strings = NULL;
    st = rd_strings(&r, n_na, &strings);
    syn_encoding_set_strings(&enc->na_values, &enc->n_na_values, NULL, 0);
    enc->na_values = strings;
    enc->n_na_values = strings ? n_na : 0;
    if (st == SYN_OK) {
        st = rd_strings(&r, n_targets, &strings);
        enc->target_names = strings;
        enc->n_targets = strings ? n_targets : 0;
    }
    for (uint32_t i = 0; st == SYN_OK && i < n_columns; i++) {
        syn_enc_column *c = &enc->columns[i];
        free(c->name);
        c->name = rd_string(&r, &st);
        if (st != SYN_OK)
            break;
        uint32_t kind = rd_u32(&r);
        c->fill = rd_f32(&r);
        c->fill_category = rd_u32(&r);
        uint32_t n_cat = rd_u32(&r);
        if (r.short_read || kind >= SYN_COLUMN_KIND_COUNT_) {
            st = SYN_ERR_CORRUPT;
            break;
        }
        c->kind = (syn_column_kind)kind;
        st = rd_strings(&r, n_cat, &c->categories);
        c->n_categories = c->categories ? n_cat : 0;
    }
    /* Strings that a short read left NULL count for the free. */
    const char *why = NULL;
    if (st == SYN_ERR_CORRUPT || r.short_read)
        fail(err, SYN_ERR_CORRUPT, name, "section COLS: a string or count runs past the "
             "section or holds a NUL");
    else if (st != SYN_OK)
        fail(err, st, name, "out of memory");
    else if ((st = payload_end(&r, s, name, err)) != SYN_OK)
        ;
    else if (!syn_encoding_finish(enc, &why))
        st = fail(err, SYN_ERR_CORRUPT, name, "section COLS: %s", why);
    else if (enc->n_inputs != net->n_inputs)
        st = fail(err, SYN_ERR_CORRUPT, name, "section COLS: %zu encoded inputs for a "
                  "network of %zu", enc->n_inputs, net->n_inputs);
    if (st == SYN_ERR_CORRUPT || r.short_read)
        st = SYN_ERR_CORRUPT;
    if (st == SYN_OK)
        net->encoding = enc;
    else
        syn_encoding_free(enc);
    return st;
}

static syn_status load_loss(const section *s, syn_net *net, const char *name, syn_error *err)
{
    reader r = {s->payload, s->size, 0};
    uint32_t version = rd_u32(&r);
    if (!r.short_read && version != LOSS_VERSION)
        return fail(err, SYN_ERR_VERSION, name, "section loss: version %u is not one this "
                    "library reads (%u)", (unsigned)version, LOSS_VERSION);
    syn_loss_options o;
    memset(&o, 0, sizeof o);
    o.label_smoothing = rd_f32(&r);
    o.huber_delta = rd_f32(&r);
    uint32_t n = rd_u32(&r);
    size_t n_out = net->layers[net->n_layers - 1].units;
    if (!r.short_read && n != 0 && n != n_out)
        return fail(err, SYN_ERR_CORRUPT, name, "section loss: %u class weights for %zu "
                    "outputs", (unsigned)n, n_out);
    const uint8_t *w = rd_floats(&r, n);
    syn_status st = payload_end(&r, s, name, err);
    if (st != SYN_OK)
        return st;
    float *weights = NULL;
    if (n && !(weights = malloc(n * sizeof *weights)))
        return fail(err, SYN_ERR_OUT_OF_MEMORY, name, "out of memory");
    if (n)
        decode_floats(weights, w, n);
    o.class_weights = weights;
    o.n_class_weights = n;
    /* The same checks as a caller's settings get. */
    st = syn_net_set_loss_options(net, &o);
    free(weights);
    if (st == SYN_ERR_OUT_OF_MEMORY)
        return fail(err, st, name, "out of memory");
    if (st != SYN_OK)
        return fail(err, SYN_ERR_CORRUPT, name, "section loss: settings that are not valid "
                    "for the loss %u (smoothing %g, delta %g, %u weights)", (unsigned)net->loss,
                    (double)o.label_smoothing, (double)o.huber_delta, (unsigned)n);
    return SYN_OK;
}

static syn_status load_meta(const section *s, syn_net *net, const char *name, syn_error *err)
{
    reader r = {s->payload, s->size, 0};
    syn_train_meta m;
    memset(&m, 0, sizeof m);
    m.epochs = rd_u64(&r);
    m.seed = rd_u64(&r);
    m.samples_seen = rd_u64(&r);
    m.train_loss = rd_f64(&r);
    m.train_accuracy = rd_f64(&r);
    m.val_loss = rd_f64(&r);
    m.val_accuracy = rd_f64(&r);
    syn_status st = SYN_OK;
    char *version = rd_string(&r, &st);
    char *optimizer = st == SYN_OK ? rd_string(&r, &st) : NULL;
    if (st == SYN_OK) {
        copy_field(m.library_version, sizeof m.library_version, version);
        copy_field(m.optimizer, sizeof m.optimizer, optimizer);
        st = payload_end(&r, s, name, err);
    } else if (st == SYN_ERR_CORRUPT) {
        fail(err, st, name, "section meta: a string runs past the section or holds a NUL");
    } else {
        fail(err, st, name, "out of memory");
    }
    free(version);
    free(optimizer);
    if (st == SYN_OK)
        st = syn_net_set_meta(net, &m);
    return st;
}

/* Checks the optimizer section; builds the optimizer only if `out` wants
 * it (a loader for inference need not pay for the moment arenas). */
static syn_status load_optimizer(const section *s, const syn_net *net, const char *name,
                                 syn_optimizer **out, syn_error *err)
{
    reader r = {s->payload, s->size, 0};
    syn_optim_desc d;
    memset(&d, 0, sizeof d);
    uint32_t kind = rd_u32(&r), n_arenas = rd_u32(&r);
    d.lr = rd_f32(&r);
    d.momentum = rd_f32(&r);
    d.dampening = rd_f32(&r);
    d.beta1 = rd_f32(&r);
    d.beta2 = rd_f32(&r);
    d.eps = rd_f32(&r);
    d.weight_decay = rd_f32(&r);
    uint64_t steps = rd_u64(&r), count = rd_u64(&r);
    if (r.short_read)
        return payload_end(&r, s, name, err);
    if (kind >= SYN_OPTIM_COUNT_)
        return fail(err, SYN_ERR_CORRUPT, name, "section optm: unknown optimizer %u",
                    (unsigned)kind);
    d.kind = (syn_optim_kind)kind;
    if (count != (uint64_t)net->n_params)
        return fail(err, SYN_ERR_CORRUPT, name,
                    "section optm: %llu moments per arena for %zu parameters",
                    (unsigned long long)count, net->n_params);
    /* At most 3 arenas (RMSprop's); checked against the settings below. */
    if (n_arenas > 3)
        return fail(err, SYN_ERR_CORRUPT, name, "section optm: %u state arenas",
                    (unsigned)n_arenas);
    const uint8_t *arenas[3] = {NULL, NULL, NULL};
    for (uint32_t k = 0; k < n_arenas; k++)
        arenas[k] = rd_floats(&r, count);
    uint32_t n_scalars = 0;
    double scalars[1] = {0.0};
    if (optim_extended(d.kind)) {
        d.alpha = rd_f32(&r);
        uint32_t centered = rd_u32(&r);
        d.lr_decay = rd_f32(&r);
        d.initial_accumulator_value = rd_f32(&r);
        d.momentum_decay = rd_f32(&r);
        n_scalars = rd_u32(&r);
        if (!r.short_read && (centered > 1 || n_scalars > 1))
            return fail(err, SYN_ERR_CORRUPT, name,
                        "section optm: centered %u, %u state scalars", (unsigned)centered,
                        (unsigned)n_scalars);
        d.centered = (int)centered;
        for (uint32_t k = 0; k < n_scalars; k++)
            scalars[k] = rd_f64(&r);
    }
    syn_status st = payload_end(&r, s, name, err);
    if (st != SYN_OK)
        return st;
    if (n_arenas != syn_optim_state_arenas(&d))
        return fail(err, SYN_ERR_CORRUPT, name, "section optm: %s keeps %zu moments, not %u",
                    syn_optim_name(d.kind), syn_optim_state_arenas(&d), (unsigned)n_arenas);
    if (!out)
        return SYN_OK;
    syn_error why;
    if (syn_optim_validate(&d, &why) != SYN_OK)
        return fail(err, SYN_ERR_CORRUPT, name, "section optm: invalid settings: %s",
                    why.message);
    syn_optimizer *opt = NULL;
    st = syn_optimizer_create(net, &d, &opt);
    if (st != SYN_OK)
        return fail(err, st, name, "section optm: %s", syn_strerror(st));
    double *own_scalars = NULL;
    size_t own_n = 0;
    syn_optimizer_scalars(opt, &own_scalars, &own_n);
    if (own_n != n_scalars || (own_n && !isfinite(scalars[0]))) {
        syn_optimizer_free(opt);
        return fail(err, SYN_ERR_CORRUPT, name, "section optm: %s keeps %zu state scalars, "
                    "not %u (or a scalar is not finite)", syn_optim_name(d.kind), own_n,
                    (unsigned)n_scalars);
    }
    for (size_t k = 0; k < own_n; k++)
        own_scalars[k] = scalars[k];
    for (uint32_t k = 0; k < n_arenas; k++) {
        float *arena = NULL;
        syn_optimizer_arena(opt, k, &arena, NULL, NULL);
        decode_floats(arena, arenas[k], net->n_params);
    }
    syn_optimizer_set_steps(opt, steps);
    *out = opt;
    return SYN_OK;
}

static syn_status build_net(const arch *a, const uint8_t *values, const char *name,
                            syn_net **out, syn_error *err)
{
    syn_net_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.n_inputs = a->n_inputs;
    desc.n_layers = a->n_layers;
    desc.layers = a->layers;
    desc.loss = a->loss;
    desc.reduction = a->reduction;
    memcpy(desc.input_shape, a->shape, sizeof desc.input_shape);
    /* The cheapest initialisation: every weight is overwritten next. */
    desc.init = SYN_INIT_UNIFORM;
    syn_status st = syn_net_create(&desc, out);
    if (st == SYN_ERR_INVALID_ARGUMENT)
        return fail(err, SYN_ERR_CORRUPT, name, "section ARCH: not a valid network");
    if (st != SYN_OK)
        return fail(err, st, name, "cannot build the network: %s", syn_strerror(st));
    decode_floats((*out)->params, values, a->n_params);
    return SYN_OK;
}

syn_status syn_model_parse(const uint8_t *data, size_t size, const char *name, syn_net **net,
                           syn_optimizer **opt, syn_error *err)
{
    if (opt)
        *opt = NULL;
    if (!net || (!data && size > 0)) {
        syn_set_error(err, "model file: NULL data or output");
        return SYN_ERR_INVALID_ARGUMENT;
    }
    *net = NULL;
    name = name ? name : "<memory>";
    section found[SEC_COUNT];
    syn_status st = index_sections(data, size, name, found, err);
    if (st != SYN_OK)
        return st;
    arch a;
    memset(&a, 0, sizeof a);
    const uint8_t *values = NULL;
    syn_net *built = NULL;
    syn_optimizer *built_opt = NULL;
    /* index_sections checked the frame: the version is one this reads. */
    st = parse_shape(&found[SEC_SHAP], name, &a, err);
    if (st == SYN_OK)
        st = parse_arch(&found[SEC_ARCH], get_u32(data + 8), name, &a, err);
    if (st == SYN_OK)
        st = parse_params(&found[SEC_PARM], &a, name, &values, err);
    if (st == SYN_OK)
        st = build_net(&a, values, name, &built, err);
    if (st == SYN_OK)
        st = load_state(&found[SEC_STAT], &a, built, name, err);
    if (st == SYN_OK && found[SEC_SCAL].tag)
        st = load_scaling(&found[SEC_SCAL], built, name, err);
    if (st == SYN_OK && found[SEC_CLAS].tag)
        st = load_class_names(&found[SEC_CLAS], built, name, err);
    if (st == SYN_OK && found[SEC_COLS].tag)
        st = load_encoding(&found[SEC_COLS], built, name, err);
    if (st == SYN_OK && found[SEC_LOSS].tag)
        st = load_loss(&found[SEC_LOSS], built, name, err);
    if (st == SYN_OK && found[SEC_META].tag)
        st = load_meta(&found[SEC_META], built, name, err);
    if (st == SYN_OK && found[SEC_OPTM].tag)
        st = load_optimizer(&found[SEC_OPTM], built, name, opt ? &built_opt : NULL, err);
    free(a.layers);
    if (st != SYN_OK) {
        syn_net_free(built);
        syn_optimizer_free(built_opt);
        return st;
    }
    *net = built;
    if (opt)
        *opt = built_opt;
    return SYN_OK;
}

/* ------------------------------------------------------------------------ */
/* Files                                                                     */
/* ------------------------------------------------------------------------ */

/* The most bytes a .syn file can be, from its header: past the magic
 * check (a wrong magic fails at once, before more is read) and a header
 * whose CRC holds, its total_size and one byte more (so trailing data is
 * still seen). Anything else is left to check_frame's messages. */
syn_status syn_model_head_limit(const uint8_t *head, size_t len, const char *name,
                                uint64_t *limit, syn_error *err)
{
    size_t magic_seen = len < SYN_MODEL_MAGIC_SIZE ? len : SYN_MODEL_MAGIC_SIZE;
    if (len > 0 && memcmp(head, SYN_MODEL_MAGIC, magic_seen) != 0)
        return fail(err, SYN_ERR_FORMAT, name, "not a synapse model file (bad magic number)");
    if (len >= SYN_MODEL_HEADER_SIZE && get_u32(head + 24) == syn_crc32(0, head, 24)) {
        uint64_t total = get_u64(head + 16);
        *limit = total < UINT64_MAX ? total + 1 : total;
    }
    return SYN_OK;
}

syn_status syn_model_write(const syn_net *net, const syn_optimizer *opt,
                           const syn_model_section *extras, size_t n_extras, const char *path,
                           syn_error *err)
{
    if (!net || !path || !*path) {
        syn_set_error(err, "model file: NULL network or path");
        return SYN_ERR_INVALID_ARGUMENT;
    }
    uint8_t *data = NULL;
    size_t size = 0;
    syn_status st = syn_model_serialize(net, opt, extras, n_extras, &data, &size, err);
    if (st == SYN_OK)
        st = syn_file_replace(data, size, path, err);
    free(data);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Public API                                                                */
/* ------------------------------------------------------------------------ */

syn_status syn_net_save(const syn_net *net, const syn_optimizer *opt, const char *path,
                        syn_error *err)
{
    return syn_model_write(net, opt, NULL, 0, path, err);
}

syn_status syn_net_load(const char *path, syn_net **out, syn_optimizer **opt_out,
                        syn_error *err)
{
    if (opt_out)
        *opt_out = NULL;
    if (out)
        *out = NULL;
    if (!path || !out) {
        syn_set_error(err, "model file: NULL path or output");
        return SYN_ERR_INVALID_ARGUMENT;
    }
    uint8_t *data = NULL;
    size_t size = 0;
    syn_status st = syn_file_read(path, syn_model_head_limit, &data, &size, err);
    if (st == SYN_OK)
        st = syn_model_parse(data, size, path, out, opt_out, err);
    free(data);
    return st;
}
