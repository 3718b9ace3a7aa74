/* crc32.h - CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the
 * checksum of zlib's crc32() and of gzip/PNG, used by the model file. */
#ifndef SYN_CRC32_H
#define SYN_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Continues a CRC over n more bytes; start with crc = 0. Chaining calls
 * over consecutive pieces gives the CRC of their concatenation, exactly as
 * zlib's crc32(crc, data, n). */
uint32_t syn_crc32(uint32_t crc, const void *data, size_t n);

#endif
