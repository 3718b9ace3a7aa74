/* status.c - words for status codes, and the version string. */
#include "synapse.h"

const char *syn_version(void)
{
    return SYN_VERSION_STRING;
}

const char *syn_strerror(syn_status status)
{
    switch (status) {
    case SYN_OK: return "success";
    case SYN_ERR_INVALID_ARGUMENT: return "invalid argument";
    case SYN_ERR_SHAPE: return "sizes do not fit together";
    case SYN_ERR_OVERFLOW: return "size computation overflows";
    case SYN_ERR_OUT_OF_MEMORY: return "out of memory";
    case SYN_ERR_MEMORY_LIMIT: return "memory limit exceeded";
    case SYN_ERR_STATE: return "call out of order";
    case SYN_ERR_IO: return "input/output error";
    case SYN_ERR_PARSE: return "malformed input";
    case SYN_ERR_FORMAT: return "not a file of the expected format";
    case SYN_ERR_VERSION: return "unsupported format version";
    case SYN_ERR_CORRUPT: return "corrupted content";
    case SYN_ERR_TRUNCATED: return "file is truncated";
    case SYN_ERR_UNSUPPORTED: return "not supported by this build";
    case SYN_ERR_NOT_FOUND: return "not found";
    case SYN_ERR_DIVERGED: return "training diverged (NaN or Inf)";
    case SYN_ERR_COMM: return "another process failed or stopped answering";
    case SYN_ERR_INFERENCE_ONLY: return "the workspace is for inference only";
    case SYN_STATUS_COUNT_: break;
    }
    return "unknown status";
}
