/* protobuf.c - the protocol-buffers wire-format encoder and the
 * bounds-checked decoder declared in protobuf.h. The decoder trusts nothing:
 * every varint, key and length is checked against the end of the message
 * before it is used, and it never allocates. */
#include <stdlib.h>
#include <string.h>

#include "export/protobuf.h"
#include "base/util.h"

_Static_assert(sizeof(float) == 4 && sizeof(double) == 8, "floats travel as IEEE-754 bits");

/* A varint carries 7 bits per byte, so 64 bits take at most ten bytes. */
#define VARINT_MAX_BYTES 10

/* ------------------------------------------------------------------------ */
/* Encoder                                                                   */
/* ------------------------------------------------------------------------ */

void syn_pb_writer_free(syn_pb_writer *w)
{
    if (!w)
        return;
    free(w->data);
    w->data = NULL;
    w->size = w->cap = 0;
}

static size_t encode_varint(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

static void raw_varint(syn_pb_writer *w, uint64_t v)
{
    uint8_t buf[VARINT_MAX_BYTES];
    size_t n = encode_varint(buf, v);
    syn_pb_append(w, buf, n);
}

static void key(syn_pb_writer *w, uint32_t field, unsigned wire_type)
{
    raw_varint(w, ((uint64_t)field << 3) | wire_type);
}

void syn_pb_append(syn_pb_writer *w, const void *data, size_t size)
{
    if (size == 0 || !syn_buf_reserve(w, size))
        return;
    memcpy(w->data + w->size, data, size);
    w->size += size;
}

void syn_pb_put_varint(syn_pb_writer *w, uint32_t field, uint64_t value)
{
    key(w, field, SYN_PB_VARINT);
    raw_varint(w, value);
}

void syn_pb_put_int64(syn_pb_writer *w, uint32_t field, int64_t value)
{
    syn_pb_put_varint(w, field, (uint64_t)value);
}

void syn_pb_put_fixed32(syn_pb_writer *w, uint32_t field, uint32_t value)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(value >> (8 * i));
    key(w, field, SYN_PB_FIXED32);
    syn_pb_append(w, b, sizeof b);
}

void syn_pb_put_float(syn_pb_writer *w, uint32_t field, float value)
{
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    syn_pb_put_fixed32(w, field, bits);
}

void syn_pb_put_bytes(syn_pb_writer *w, uint32_t field, const void *data, size_t size)
{
    key(w, field, SYN_PB_LEN);
    raw_varint(w, size);
    syn_pb_append(w, data, size);
}

void syn_pb_put_string(syn_pb_writer *w, uint32_t field, const char *s)
{
    syn_pb_put_bytes(w, field, s, strlen(s));
}

size_t syn_pb_begin(syn_pb_writer *w, uint32_t field)
{
    key(w, field, SYN_PB_LEN);
    return w->size;
}

void syn_pb_end(syn_pb_writer *w, size_t mark)
{
    if (w->status != SYN_OK || mark > w->size)
        return;
    size_t len = w->size - mark;
    uint8_t prefix[VARINT_MAX_BYTES];
    size_t n = encode_varint(prefix, len);
    if (!syn_buf_reserve(w, n))
        return;
    /* The content moves right to make room for its length; nesting is
     * shallow (model > graph > tensor), so each byte moves a few times. */
    memmove(w->data + mark + n, w->data + mark, len);
    memcpy(w->data + mark, prefix, n);
    w->size += n;
}

/* ------------------------------------------------------------------------ */
/* Decoder                                                                   */
/* ------------------------------------------------------------------------ */

void syn_pb_reader_init(syn_pb_reader *r, const uint8_t *data, size_t size)
{
    r->p = data;
    r->end = data ? data + size : data;
}

syn_status syn_pb_read_varint(const uint8_t **p, const uint8_t *end, uint64_t *value)
{
    const uint8_t *q = *p;
    uint64_t v = 0;
    for (int i = 0; i < VARINT_MAX_BYTES; i++) {
        if (q == end)
            return SYN_ERR_TRUNCATED;
        uint8_t b = *q++;
        /* The tenth byte holds only bit 63; more is not a 64-bit value. */
        if (i == VARINT_MAX_BYTES - 1 && b > 1)
            return SYN_ERR_CORRUPT;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *p = q;
            *value = v;
            return SYN_OK;
        }
    }
    return SYN_ERR_CORRUPT;
}

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

syn_status syn_pb_next(syn_pb_reader *r, syn_pb_field *field, int *more)
{
    *more = 0;
    if (r->p == r->end)
        return SYN_OK;
    const uint8_t *q = r->p;
    uint64_t k;
    syn_status st = syn_pb_read_varint(&q, r->end, &k);
    if (st != SYN_OK)
        return st;
    if ((k >> 3) == 0 || (k >> 3) > SYN_PB_MAX_FIELD)
        return SYN_ERR_CORRUPT;
    field->number = (uint32_t)(k >> 3);
    field->wire_type = (unsigned)(k & 7);
    field->value = 0;
    field->data = NULL;
    field->size = 0;
    size_t left = (size_t)(r->end - q);
    /* The four wire types we read; groups (3, 4) and 6, 7 are refused here,
     * so the switch below needs no default. */
    if (field->wire_type != SYN_PB_VARINT && field->wire_type != SYN_PB_FIXED64 &&
        field->wire_type != SYN_PB_LEN && field->wire_type != SYN_PB_FIXED32)
        return SYN_ERR_CORRUPT;
    switch (field->wire_type) {
    case SYN_PB_VARINT:
        st = syn_pb_read_varint(&q, r->end, &field->value);
        if (st != SYN_OK)
            return st;
        break;
    case SYN_PB_FIXED64:
        if (left < 8)
            return SYN_ERR_TRUNCATED;
        field->value = get_le(q, 8);
        q += 8;
        break;
    case SYN_PB_FIXED32:
        if (left < 4)
            return SYN_ERR_TRUNCATED;
        field->value = get_le(q, 4);
        q += 4;
        break;
    case SYN_PB_LEN: {
        uint64_t len;
        st = syn_pb_read_varint(&q, r->end, &len);
        if (st != SYN_OK)
            return st;
        left = (size_t)(r->end - q);
        if (len > left)
            return SYN_ERR_TRUNCATED;
        field->data = q;
        field->size = (size_t)len;
        q += len;
        break;
    }
    }
    r->p = q;
    *more = 1;
    return SYN_OK;
}

float syn_pb_float_bits(uint64_t value)
{
    uint32_t bits = (uint32_t)value;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

float syn_pb_get_f32(const uint8_t *p)
{
    return syn_pb_float_bits(get_le(p, 4));
}

double syn_pb_get_f64(const uint8_t *p)
{
    uint64_t bits = get_le(p, 8);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

int syn_pb_span_eq(const uint8_t *data, size_t size, const char *s)
{
    size_t n = strlen(s);
    return n == size && (n == 0 || memcmp(data, s, n) == 0);
}
