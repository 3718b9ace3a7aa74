/* file.c - whole files for every reader and writer of the library (model
 * files, checkpoints, ONNX and C exports, the ONNX importer): a reader that
 * never lets memory run ahead of the bytes that arrived and checks a file's
 * head before the rest, and an atomic replace that leaves the old file as it
 * was on any failure before the rename. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "io/file.h"

syn_status syn_file_fail(syn_error *err, syn_status st, const char *name, const char *fmt, ...)
{
    if (err) {
        char detail[400];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, sizeof detail, fmt, ap);
        va_end(ap);
        syn_set_error(err, "%s: %s", name, detail);
    }
    return st;
}

#define fail syn_file_fail

syn_status syn_file_read(const char *path, syn_file_head_check check, uint8_t **out,
                         size_t *out_size, syn_error *err)
{
    if (!path || !out || !out_size) {
        syn_set_error(err, "model file: NULL path or output");
        return SYN_ERR_INVALID_ARGUMENT;
    }
    *out = NULL;
    *out_size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(err, SYN_ERR_IO, path, "cannot open: %s", strerror(errno));
    struct stat st;
    int stat_ok = fstat(fd, &st) == 0;
    if (!stat_ok || S_ISDIR(st.st_mode)) {
        int e = stat_ok ? EISDIR : errno;
        close(fd);
        return fail(err, SYN_ERR_IO, path, "cannot read: %s", strerror(e));
    }
    /* The size is a hint (pipes and devices have none, files may change).
     * Memory never runs ahead of the bytes that arrived: the buffer starts
     * small for anything but a regular file and doubles as it fills, and
     * once the first SYN_FILE_HEAD_BYTES are in, `check` refuses a wrong magic
     * (so `info /dev/zero` stops at once) and may cap the total. */
    size_t cap = 4096, checked = 0;
    uint64_t limit = UINT64_MAX;
    if (S_ISREG(st.st_mode) && st.st_size > 0 && (uintmax_t)st.st_size < SIZE_MAX)
        cap = (size_t)st.st_size + 1;
    uint8_t *buf = malloc(cap);
    size_t len = 0;
    syn_status status = buf ? SYN_OK : SYN_ERR_OUT_OF_MEMORY;
    while (status == SYN_OK) {
        if (len == cap) {
            size_t grown = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
            uint8_t *bigger = grown > cap ? realloc(buf, grown) : NULL;
            if (!bigger) {
                status = SYN_ERR_OUT_OF_MEMORY;
                break;
            }
            buf = bigger;
            cap = grown;
        }
        size_t want = cap - len;
        if ((uint64_t)len + want > limit)
            want = (size_t)(limit - len);
        if (want == 0)
            break;
        ssize_t n = read(fd, buf + len, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fail(err, SYN_ERR_IO, path, "read failed: %s", strerror(errno));
            status = SYN_ERR_IO;
            break;
        }
        len += (size_t)n;
        if (check && !checked && (len >= SYN_FILE_HEAD_BYTES || n == 0)) {
            checked = 1;
            status = check(buf, len, path, &limit, err);
        }
        if (n == 0)
            break;
    }
    close(fd);
    if (status != SYN_OK) {
        free(buf);
        if (status == SYN_ERR_OUT_OF_MEMORY)
            fail(err, status, path, "out of memory reading the file");
        return status;
    }
    *out = buf;
    *out_size = len;
    return SYN_OK;
}

syn_status syn_file_write_fd(int fd, const uint8_t *data, size_t size, const char *name,
                             syn_error *err)
{
    if (fd < 0 || (!data && size > 0) || !name)
        return SYN_ERR_INVALID_ARGUMENT;
    size_t done = 0;
    while (done < size) {
        size_t chunk = size - done;
        if (chunk > ((size_t)1 << 30))
            chunk = (size_t)1 << 30;
        ssize_t n = write(fd, data + done, chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return fail(err, SYN_ERR_IO, name, "write failed: %s",
                        n < 0 ? strerror(errno) : "no progress");
        done += (size_t)n;
    }
    if (fsync(fd) != 0)
        return fail(err, SYN_ERR_IO, name, "fsync failed: %s", strerror(errno));
    return SYN_OK;
}

/* Opens a new file path.tmp.XXXXXX with O_EXCL, as mkstemp does, but with
 * mode 0666 so the umask applies as to any new file (mkstemp's 0600 would
 * make every saved model private). tmp has room for path + 12 bytes. */
static int create_temp(const char *path, char *tmp)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    size_t len = strlen(path);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    syn_rng rng;
    syn_rng_seed(&rng, (uint64_t)now.tv_sec * 1000000007u ^ (uint64_t)now.tv_nsec ^
                           (uint64_t)getpid() << 40 ^ (uint64_t)(uintptr_t)tmp);
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".tmp.", 5);
    tmp[len + 11] = '\0';
    for (int attempt = 0; attempt < 100; attempt++) {
        uint64_t bits = syn_rng_next(&rng);
        for (int i = 0; i < 6; i++)
            tmp[len + 5 + i] = alphabet[(bits >> (5 * i)) & 31];
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1; /* errno is EEXIST */
}

/* fsyncs the directory holding path, so the rename itself survives a
 * crash (rename is atomic, but durable only once its directory is). */
static syn_status sync_directory(const char *path, syn_error *err)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 1;
    if (slash && n == 0)
        n = 1; /* the root directory */
    char *dir = malloc(n + 1);
    if (!dir)
        return fail(err, SYN_ERR_OUT_OF_MEMORY, path, "out of memory");
    memcpy(dir, slash ? path : ".", n);
    dir[n] = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int ok = fd >= 0 && fsync(fd) == 0;
    /* Some file systems cannot sync a directory and say EINVAL: nothing
     * more can be done there, and the file itself is already synced. */
    if (!ok && fd >= 0 && errno == EINVAL)
        ok = 1;
    int e = errno;
    if (fd >= 0)
        close(fd);
    syn_status st = SYN_OK;
    if (!ok)
        st = fail(err, SYN_ERR_IO, path, "saved, but syncing directory %s failed: %s", dir,
                  strerror(e));
    free(dir);
    return st;
}

syn_status syn_file_replace(const uint8_t *data, size_t size, const char *path,
                            syn_error *err)
{
    if (!path || !*path || (!data && size > 0)) {
        syn_set_error(err, "model file: NULL or empty path");
        return SYN_ERR_INVALID_ARGUMENT;
    }
    /* Only a regular file is ever replaced: renaming over a device such as
     * /dev/full, a symbolic link or anything else would destroy it rather
     * than write through it. */
    struct stat st;
    int exists = 0;
    if (lstat(path, &st) == 0) {
        if (!S_ISREG(st.st_mode))
            return fail(err, SYN_ERR_IO, path, "not a regular file; refusing to replace it");
        exists = 1;
    } else if (errno != ENOENT) {
        return fail(err, SYN_ERR_IO, path, "cannot stat: %s", strerror(errno));
    }
    size_t len = strlen(path), tmp_size;
    if (!syn_add_size(len, 12, &tmp_size))
        return fail(err, SYN_ERR_OVERFLOW, path, "path too long");
    char *tmp = malloc(tmp_size);
    if (!tmp)
        return fail(err, SYN_ERR_OUT_OF_MEMORY, path, "out of memory");
    int fd = create_temp(path, tmp);
    if (fd < 0) {
        syn_status s = fail(err, SYN_ERR_IO, path, "cannot create temporary file %s: %s", tmp,
                            strerror(errno));
        free(tmp);
        return s;
    }
    syn_status status = SYN_OK;
    /* A replaced file keeps its permissions (a private model stays so). */
    if (exists && fchmod(fd, st.st_mode & 0777) != 0)
        status = fail(err, SYN_ERR_IO, tmp, "chmod failed: %s", strerror(errno));
    if (status == SYN_OK)
        status = syn_file_write_fd(fd, data, size, tmp, err);
    if (close(fd) != 0 && status == SYN_OK)
        status = fail(err, SYN_ERR_IO, tmp, "close failed: %s", strerror(errno));
    if (status == SYN_OK && rename(tmp, path) != 0)
        status = fail(err, SYN_ERR_IO, path, "cannot rename %s over it: %s", tmp,
                      strerror(errno));
    if (status != SYN_OK) {
        unlink(tmp);
        free(tmp);
        return status;
    }
    free(tmp);
    return sync_directory(path, err);
}

