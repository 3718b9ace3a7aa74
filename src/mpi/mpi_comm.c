/* mpi_comm.c - syn_comm on MPI (include/synapse_mpi.h). Each collective is
 * started non-blocking (MPI_Iallreduce, MPI_Ibcast, MPI_Ibarrier) and
 * polled with MPI_Test until it completes or the timeout passes, so a rank
 * that stops answering turns into an error instead of a hang. Arrays of
 * more than 2^30 elements go in pieces (MPI counts are int).
 *
 * Polling: MPI_Test then sched_yield for the first 2 s (OpenMPI moves a
 * non-blocking collective on only inside MPI_Test, so a pause between
 * polls stalls every round of it: with 100 us sleeps after 5 ms, the
 * all-reduce of 1.9 MB took 17 ms here; sched_yield hands the core to a
 * rank that needs it when there are more ranks than cores), then 1 ms
 * sleeps, so a long wait (a rank writing a checkpoint) does not burn a
 * core.
 *
 * MPI level: includes only synapse.h, synapse_mpi.h and mpi.h; the core
 * library knows nothing of it. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "synapse_mpi.h"

struct syn_mpi {
    MPI_Comm comm;
    double timeout;
    syn_comm iface;
    int broken; /* a collective failed or timed out: refuse the next */
    char detail[512];
};

#define PIECE (1 << 30)
/* Polling without sleeping this long before 1 ms sleeps (header). */
#define SPIN_SECONDS 2.0

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static syn_status fail(syn_mpi *m, const char *what, const char *why)
{
    m->broken = 1;
    snprintf(m->detail, sizeof m->detail, "rank %d of %d: %.160s: %.300s", m->iface.rank,
             m->iface.size, what, why);
    return SYN_ERR_COMM;
}

static syn_status mpi_fail(syn_mpi *m, const char *what, int code)
{
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(code, text, &len) != MPI_SUCCESS)
        snprintf(text, sizeof text, "MPI error %d", code);
    return fail(m, what, text);
}

/* Waits for req within the timeout. */
static syn_status wait_for(syn_mpi *m, MPI_Request *req, const char *what)
{
    double start = now_seconds();
    for (;;) {
        int done = 0;
        int rc = MPI_Test(req, &done, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS)
            return mpi_fail(m, what, rc);
        if (done)
            return SYN_OK;
        double waited = now_seconds() - start;
        if (waited > m->timeout) {
            char why[96];
            snprintf(why, sizeof why, "no answer from the other ranks within %g s",
                     m->timeout);
            /* The request cannot be cancelled; the communicator is done. */
            return fail(m, what, why);
        }
        /* OpenMPI progresses a non-blocking collective only inside
         * MPI_Test: every pause stalls its next round. */
        if (waited < SPIN_SECONDS) {
            sched_yield();
        } else {
            struct timespec pause = {0, 1000000};
            nanosleep(&pause, NULL);
        }
    }
}

/* How one piece of a collective starts: MPI_Iallreduce or MPI_Ibcast. */
typedef struct piece_op {
    MPI_Datatype type;
    size_t size;   /* bytes of one element */
    MPI_Op op;     /* all-reduce */
    int root;      /* broadcast; -1: an all-reduce */
} piece_op;

/* Runs a collective over n elements of buf in pieces of at most PIECE
 * (MPI counts are int), each waited for under the timeout. */
static syn_status run_pieces(syn_mpi *m, void *buf, size_t n, const piece_op *p,
                             const char *what)
{
    if (m->broken)
        return fail(m, what, "an earlier collective failed");
    for (size_t at = 0; at < n; at += PIECE) {
        int count = (int)(n - at < PIECE ? n - at : PIECE);
        void *piece = (char *)buf + at * p->size;
        MPI_Request req;
        int rc = p->root < 0
                     ? MPI_Iallreduce(MPI_IN_PLACE, piece, count, p->type, p->op, m->comm,
                                      &req)
                     : MPI_Ibcast(piece, count, p->type, p->root, m->comm, &req);
        if (rc != MPI_SUCCESS)
            return mpi_fail(m, what, rc);
        syn_status st = wait_for(m, &req, what);
        if (st != SYN_OK)
            return st;
    }
    return SYN_OK;
}

static syn_status mpi_sum_i64(void *ctx, int64_t *buf, size_t n)
{
    char what[96];
    snprintf(what, sizeof what, "all-reduce (sum) of %zu values", n);
    piece_op p = {MPI_INT64_T, sizeof(int64_t), MPI_SUM, -1};
    return run_pieces(ctx, buf, n, &p, what);
}

static syn_status mpi_max_f64(void *ctx, double *buf, size_t n)
{
    char what[96];
    snprintf(what, sizeof what, "all-reduce (max) of %zu values", n);
    piece_op p = {MPI_DOUBLE, sizeof(double), MPI_MAX, -1};
    return run_pieces(ctx, buf, n, &p, what);
}

static syn_status mpi_broadcast(void *ctx, void *buf, size_t bytes, int root)
{
    syn_mpi *m = ctx;
    if (root < 0 || root >= m->iface.size)
        return SYN_ERR_INVALID_ARGUMENT;
    char what[96];
    snprintf(what, sizeof what, "broadcast of %zu bytes from rank %d", bytes, root);
    piece_op p = {MPI_BYTE, 1, MPI_OP_NULL, root};
    return run_pieces(m, buf, bytes, &p, what);
}

static syn_status mpi_barrier(void *ctx)
{
    syn_mpi *m = ctx;
    if (m->broken)
        return fail(m, "barrier", "an earlier collective failed");
    MPI_Request req;
    int rc = MPI_Ibarrier(m->comm, &req);
    if (rc != MPI_SUCCESS)
        return mpi_fail(m, "barrier", rc);
    return wait_for(m, &req, "barrier");
}

syn_status syn_mpi_prepare(void)
{
    /* setenv's third argument 0: a choice in the environment stands. */
    return setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "3", 0) == 0
               ? SYN_OK
               : SYN_ERR_OUT_OF_MEMORY;
}

syn_status syn_mpi_create(MPI_Comm comm, double timeout_seconds, syn_mpi **out)
{
    if (!out)
        return SYN_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!(timeout_seconds > 0.0) || comm == MPI_COMM_NULL)
        return SYN_ERR_INVALID_ARGUMENT;
    syn_mpi *m = calloc(1, sizeof *m);
    if (!m)
        return SYN_ERR_OUT_OF_MEMORY;
    m->timeout = timeout_seconds;
    int rank = 0, size = 1;
    if (MPI_Comm_rank(comm, &rank) != MPI_SUCCESS || MPI_Comm_size(comm, &size) != MPI_SUCCESS) {
        free(m);
        return SYN_ERR_INVALID_ARGUMENT;
    }
    m->iface = (syn_comm){.rank = rank, .size = size, .ctx = m, .sum_i64 = mpi_sum_i64,
                          .max_f64 = mpi_max_f64, .broadcast = mpi_broadcast,
                          .barrier = mpi_barrier};
    /* The duplicate is collective too: non-blocking, under the timeout. */
    MPI_Request req;
    if (MPI_Comm_idup(comm, &m->comm, &req) != MPI_SUCCESS ||
        wait_for(m, &req, "duplicating the communicator") != SYN_OK) {
        free(m);
        return SYN_ERR_COMM;
    }
    MPI_Comm_set_errhandler(m->comm, MPI_ERRORS_RETURN);
    *out = m;
    return SYN_OK;
}

void syn_mpi_free(syn_mpi *mpi)
{
    if (!mpi)
        return;
    /* A broken communicator has a request in flight: freeing it could
     * wait on that request, so it is left to MPI_Abort / MPI_Finalize. */
    if (!mpi->broken)
        MPI_Comm_free(&mpi->comm);
    free(mpi);
}

const syn_comm *syn_mpi_comm(const syn_mpi *mpi)
{
    return mpi ? &mpi->iface : NULL;
}

const char *syn_mpi_detail(const syn_mpi *mpi)
{
    return mpi ? mpi->detail : "";
}
