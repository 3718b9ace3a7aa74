/* model_file.h - the private side of the .syn model file (docs/FORMAT.md):
 * building and parsing file images in memory, extra sections for features
 * that store more than the network (checkpoints). Reading and writing the
 * files themselves is io/file.h's.
 * Not public; syn_net_save and syn_net_load are thin wrappers over these. */
#ifndef SYN_MODEL_FILE_H
#define SYN_MODEL_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "synapse.h"

#define SYN_MODEL_MAGIC "\x89SYN\r\n\x1a\n"
#define SYN_MODEL_MAGIC_SIZE 8
/* The newest version this library reads. The writer uses the oldest that
 * expresses the network: 1 for dense layers only (byte for byte what
 * earlier libraries wrote, and what they read), 2 for other kinds. */
#define SYN_MODEL_VERSION 2u
#define SYN_MODEL_HEADER_SIZE 28u  /* magic, version, flags, total size, CRC */
#define SYN_MODEL_SECTION_HEAD 12u /* tag, u64 payload length */
#define SYN_MODEL_TRAILER_SIZE 4u  /* CRC-32 of everything before it */

/* One section besides the network's own. The tag is four characters from
 * [A-Za-z0-9_], the first a letter: an upper-case first letter marks a
 * section a reader must understand (an unknown one fails with
 * SYN_ERR_VERSION), a lower-case one a section readers may skip. */
typedef struct syn_model_section {
    char tag[4];
    const void *data;
    size_t size;
} syn_model_section;

/* Builds the whole file image of net (and opt, may be NULL) followed by
 * the extra sections, in a malloc'd buffer that the caller frees. Errors:
 * INVALID_ARGUMENT (NULL, a bad extra tag or one the format already uses,
 * duplicate extra tags), SHAPE (opt is not for net's layout), OVERFLOW,
 * OUT_OF_MEMORY. */
syn_status syn_model_serialize(const syn_net *net, const syn_optimizer *opt,
                               const syn_model_section *extras, size_t n_extras,
                               uint8_t **out, size_t *out_size, syn_error *err);

/* syn_model_serialize, then syn_file_replace (io/file.h). */
syn_status syn_model_write(const syn_net *net, const syn_optimizer *opt,
                           const syn_model_section *extras, size_t n_extras, const char *path,
                           syn_error *err);

/* The head check of .syn files (a syn_file_head_check): the magic, then
 * the size the header records (when its CRC holds). */
syn_status syn_model_head_limit(const uint8_t *head, size_t len, const char *name,
                                uint64_t *limit, syn_error *err);

/* Parses a file image of any content without reading outside it and
 * without allocating more than its own size justifies; name (may be NULL)
 * prefixes messages. On success *net receives the network and, if opt is
 * not NULL, *opt the optimizer or NULL when the image holds none. Errors:
 * FORMAT, VERSION, TRUNCATED, CORRUPT, OUT_OF_MEMORY. */
syn_status syn_model_parse(const uint8_t *data, size_t size, const char *name, syn_net **net,
                           syn_optimizer **opt, syn_error *err);

/* Finds the payload of the first section tagged `tag` in an image whose
 * framing (header, sizes, CRCs) is valid; the payload points into data.
 * Errors: NOT_FOUND, and those of syn_model_parse for a bad frame. */
syn_status syn_model_find_section(const uint8_t *data, size_t size, const char *name,
                                  const char tag[4], const uint8_t **payload,
                                  size_t *payload_size, syn_error *err);

#endif
