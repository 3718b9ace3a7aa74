/* protobuf.h - a small protocol-buffers wire-format codec, enough for ONNX:
 * an encoder that appends fields to a growable buffer (nested messages get
 * their length prefix when they are closed) and a decoder that walks the
 * fields of a message in place, zero-copy, never reading outside its buffer.
 * Wire format: https://protobuf.dev/programming-guides/encoding/. Not public. */
#ifndef SYN_PROTOBUF_H
#define SYN_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

#include "synapse.h"
#include "base/util.h"

/* Wire types (the low three bits of a field's key). 3 and 4 are the
 * deprecated groups, which the decoder refuses. */
enum {
    SYN_PB_VARINT = 0,
    SYN_PB_FIXED64 = 1,
    SYN_PB_LEN = 2,
    SYN_PB_FIXED32 = 5
};

/* Field numbers are 29 bits wide. */
#define SYN_PB_MAX_FIELD 0x1fffffffu

/* ------------------------------------------------------------------------ */
/* Encoder                                                                   */
/* ------------------------------------------------------------------------ */

/* The output: util.h's growing buffer. The first failure (OUT_OF_MEMORY,
 * OVERFLOW) is kept in `status` and every later call does nothing, so a
 * writer can emit a whole message and check once at the end.
 * Zero-initialise to start. */
typedef syn_buf syn_pb_writer;

void syn_pb_writer_free(syn_pb_writer *w);

void syn_pb_put_varint(syn_pb_writer *w, uint32_t field, uint64_t value);
/* int64/int32 fields: negative values as their 64-bit two's complement
 * (ten bytes), as protobuf does for the non-zigzag int types. */
void syn_pb_put_int64(syn_pb_writer *w, uint32_t field, int64_t value);
void syn_pb_put_fixed32(syn_pb_writer *w, uint32_t field, uint32_t value);
void syn_pb_put_float(syn_pb_writer *w, uint32_t field, float value);
void syn_pb_put_bytes(syn_pb_writer *w, uint32_t field, const void *data, size_t size);
void syn_pb_put_string(syn_pb_writer *w, uint32_t field, const char *s);
/* Raw bytes appended as they are (no key): the body of a length-delimited
 * field being built with syn_pb_begin / syn_pb_end. */
void syn_pb_append(syn_pb_writer *w, const void *data, size_t size);

/* Opens a nested message (or any length-delimited field) as field `field`
 * and returns a mark for syn_pb_end, which closes it by inserting its
 * length in front of its content. Marks nest like parentheses. */
size_t syn_pb_begin(syn_pb_writer *w, uint32_t field);
void syn_pb_end(syn_pb_writer *w, size_t mark);

/* ------------------------------------------------------------------------ */
/* Decoder                                                                   */
/* ------------------------------------------------------------------------ */

/* A cursor over one message's bytes [p, end). */
typedef struct syn_pb_reader {
    const uint8_t *p, *end;
} syn_pb_reader;

/* One decoded field. For VARINT, FIXED32 and FIXED64 the value is in
 * `value` (fixed widths as their little-endian bits); for LEN, data and
 * size point into the reader's buffer. */
typedef struct syn_pb_field {
    uint32_t number;
    unsigned wire_type;
    uint64_t value;
    const uint8_t *data;
    size_t size;
} syn_pb_field;

void syn_pb_reader_init(syn_pb_reader *r, const uint8_t *data, size_t size);

/* Reads the next field. Returns SYN_OK with *more = 1 and the field, or
 * SYN_OK with *more = 0 at the end of the message. Errors: TRUNCATED (the
 * message ends inside a key, a varint, a fixed value or a length-delimited
 * body), CORRUPT (a varint longer than ten bytes, field number 0, a group
 * or an unknown wire type). The reader is not advanced on error. */
syn_status syn_pb_next(syn_pb_reader *r, syn_pb_field *field, int *more);

/* Reads one varint from [*p, end) and advances *p. Errors as syn_pb_next. */
syn_status syn_pb_read_varint(const uint8_t **p, const uint8_t *end, uint64_t *value);

/* The float whose little-endian bits a FIXED32 field carried. */
float syn_pb_float_bits(uint64_t value);
/* The float from 4 little-endian bytes / the double from 8. */
float syn_pb_get_f32(const uint8_t *p);
double syn_pb_get_f64(const uint8_t *p);

/* Does the length-delimited field equal the NUL-terminated string s? */
int syn_pb_span_eq(const uint8_t *data, size_t size, const char *s);

#endif
