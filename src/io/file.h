/* file.h - whole files: read into memory under a head check, and replaced
 * atomically. Used by model files, checkpoints and the exporters and the
 * importer; it knows nothing of what the bytes mean. Not public. */
#ifndef SYN_FILE_H
#define SYN_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "synapse.h"

/* Sets err (may be NULL) to "name: detail" and returns st: the form of
 * every message about a file. */
syn_status syn_file_fail(syn_error *err, syn_status st, const char *name, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Replaces path with data atomically: a new temporary file next to it,
 * written, fsync'd, closed, renamed over path, then the directory fsync'd.
 * Refuses (IO) a path that exists and is not a regular file, symbolic links
 * included. Before the rename every failure removes the temporary file and
 * leaves path as it was; err names the step and strerror(errno). */
syn_status syn_file_replace(const uint8_t *data, size_t size, const char *path,
                            syn_error *err);

/* Writes all of data to an open descriptor and fsyncs it; name is used in
 * messages. The writing step of syn_file_replace, exposed so tests can
 * aim it at /dev/full. */
syn_status syn_file_write_fd(int fd, const uint8_t *data, size_t size, const char *name,
                             syn_error *err);

/* Checks the first bytes of a file (at least SYN_FILE_HEAD_BYTES unless the
 * file is shorter) before the rest is read: a status other than SYN_OK
 * (with err filled) stops the read; *limit may be lowered to the most
 * bytes the file can hold. */
#define SYN_FILE_HEAD_BYTES 28u
typedef syn_status (*syn_file_head_check)(const uint8_t *head, size_t len, const char *name,
                                          uint64_t *limit, syn_error *err);

/* Reads a whole file into a malloc'd buffer (freed by the caller), running
 * `check` (may be NULL) on its head first. */
syn_status syn_file_read(const char *path, syn_file_head_check check, uint8_t **out,
                         size_t *out_size, syn_error *err);

#endif
