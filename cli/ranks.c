/* ranks.c - `synapse train` as one rank of an MPI job (README, "Training on
 * several machines"). Started by mpirun (its environment says so), the
 * command initialises MPI, trains through synapse_mpi's comm and ends MPI;
 * every rank runs the whole command on the same options and data, and
 * rank 0 alone prints and writes files (train.c silences the others).
 * --shards without mpirun trains through the one-process comm: the same
 * bits as any number of ranks. Before the first step the ranks compare
 * their data (sizes of the files and the content fingerprint). A failed
 * rank ends the job: MPI_Abort on a non-zero exit, and SIGTERM (which
 * mpirun sends every rank when one dies) ends a rank at once, saying the
 * step it was in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "train.h"

#ifdef SYN_HAVE_MPI
#include "synapse_mpi.h"
#endif

static struct {
    int started;         /* MPI_Init was called here */
    syn_comm single;
    const syn_comm *comm;
#ifdef SYN_HAVE_MPI
    syn_mpi *mpi;
#endif
    uint64_t steps;      /* batches trained in this process */
    char where[160];     /* the batch in progress, for messages */
} ranks;

/* Did mpirun (OpenMPI's, or a PMI launcher) start this process? */
static int launched_by_mpi(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

static void set_where(const char *text)
{
    snprintf(ranks.where, sizeof ranks.where, "%s", text);
    if (!ranks.comm || ranks.comm->size < 2)
        return;
    char note[512];
    snprintf(note, sizeof note, "synapse train%s: ended by the launcher's signal %s; "
             "mpirun stops every rank when one fails (its message names that rank); "
             "--resume from the last checkpoint continues the run, with any number of ranks",
             cli_rank_tag(), ranks.where);
    cli_signals_set_note(note);
}

int cli_ranks_start(int shards, double timeout, const syn_comm **comm)
{
    *comm = NULL;
    if (launched_by_mpi()) {
#ifdef SYN_HAVE_MPI
        if (syn_mpi_prepare() != SYN_OK)
            return cli_runtime_error("train", "setting OpenMPI's all-reduce algorithm failed");
        if (MPI_Init(NULL, NULL) != MPI_SUCCESS)
            return cli_runtime_error("train", "MPI_Init failed");
        ranks.started = 1;
        syn_status st = syn_mpi_create(MPI_COMM_WORLD, timeout, &ranks.mpi);
        if (st != SYN_OK)
            return cli_library_error("train", st, NULL, "setting up MPI");
        ranks.comm = syn_mpi_comm(ranks.mpi);
        if (ranks.comm->size > 1) {
            cli_set_rank_tag(ranks.comm->rank, ranks.comm->size);
            cli_signals_rank_mode();
        }
        set_where("before the first step");
        *comm = ranks.comm;
        return SYN_EXIT_OK;
#else
        (void)timeout;
        const char *size = getenv("OMPI_COMM_WORLD_SIZE");
        if (size && strcmp(size, "1"))
            return cli_runtime_error("train", "started by mpirun, but this synapse was built "
                                     "without MPI (cmake -DSYN_MPI=ON with libopenmpi-dev "
                                     "installed): every rank would train alone");
#endif
    }
    if (shards)
        cli_ranks_single(comm);
    return SYN_EXIT_OK;
}

void cli_ranks_single(const syn_comm **comm)
{
    ranks.single = syn_comm_single();
    ranks.comm = &ranks.single;
    *comm = ranks.comm;
}

int cli_ranks_end(int rc)
{
#ifdef SYN_HAVE_MPI
    if (ranks.started) {
        /* A rank that fails alone must not leave the others waiting. */
        if (rc != SYN_EXIT_OK && ranks.comm && ranks.comm->size > 1) {
            fflush(NULL);
            MPI_Abort(MPI_COMM_WORLD, rc);
        }
        syn_mpi_free(ranks.mpi);
        MPI_Finalize();
    }
#endif
    return rc;
}

void cli_ranks_batch_done(const syn_batch_report *r)
{
    ranks.steps++;
    char text[160];
    snprintf(text, sizeof text, "in epoch %zu, after batch %zu/%zu (step %llu of this run)",
             r->epoch + 1, r->batch + 1, r->n_batches, (unsigned long long)ranks.steps);
    set_where(text);
}

int cli_ranks_failed(syn_status st)
{
#ifdef SYN_HAVE_MPI
    if (ranks.mpi && syn_mpi_detail(ranks.mpi)[0]) {
        /* The detail starts "rank R of N: ", which the error's tag says. */
        const char *d = syn_mpi_detail(ranks.mpi), *rest = strstr(d, ": ");
        return cli_runtime_error("train", "%s, %s", rest ? rest + 2 : d, ranks.where);
    }
#endif
    return cli_runtime_error("train", "training %s: %s", ranks.where, syn_strerror(st));
}

/* Per rank: the data file's size, the labels file's (0 if none), and the
 * loaded data's fingerprint. */
enum { N_FACTS = 7 };

static int64_t file_size(const char *path)
{
    struct stat s;
    return path && stat(path, &s) == 0 ? (int64_t)s.st_size : -1;
}

int cli_ranks_check_data(const syn_comm *c, const train_options *o, const syn_dataset *ds)
{
    if (!c || c->size < 2)
        return SYN_EXIT_OK;
    data_fingerprint fp;
    if (!data_fingerprint_of(ds, &fp))
        return cli_runtime_error("train", "out of memory fingerprinting the data");
    size_t n = (size_t)c->size * N_FACTS;
    int64_t *all = calloc(n, sizeof *all);
    if (!all)
        return cli_runtime_error("train", "out of memory comparing the ranks' data");
    int64_t *mine = all + (size_t)c->rank * N_FACTS;
    mine[0] = file_size(o->data);
    mine[1] = o->labels ? file_size(o->labels) : 0;
    mine[2] = (int64_t)fp.n_samples;
    mine[3] = (int64_t)fp.n_features;
    mine[4] = (int64_t)fp.target_width;
    mine[5] = (int64_t)fp.n_classes;
    mine[6] = (int64_t)fp.hash;
    /* Each rank fills its own row; the sum of one value and zeros is that
     * value: an all-gather. */
    syn_status st = c->sum_i64(c->ctx, all, n);
    if (st != SYN_OK) {
        free(all);
        return cli_ranks_failed(st);
    }
    /* Every rank sees the same table and stops; rank 0 says why. */
    int rc = SYN_EXIT_OK;
    if (c->rank != 0) {
        for (int r = 1; r < c->size; r++)
            if (memcmp(all, all + (size_t)r * N_FACTS, N_FACTS * sizeof *all))
                rc = SYN_EXIT_RUNTIME;
        free(all);
        /* Rank 0 says why before anyone's MPI_Abort can end it. */
        if (rc != SYN_EXIT_OK)
            c->barrier(c->ctx);
        return rc;
    }
    for (int r = 1; r < c->size && rc == SYN_EXIT_OK; r++) {
        const int64_t *a = all, *b = all + (size_t)r * N_FACTS;
        if (a[0] != b[0] || a[1] != b[1]) {
            int lab = a[0] == b[0];
            rc = cli_runtime_error("train", "rank %d's %s file is %lld bytes, rank 0's (%s) "
                                   "%lld: every rank must read the same data; stopping "
                                   "before the first step", r, lab ? "--labels" : "--data",
                                   (long long)b[lab], lab ? o->labels : o->data,
                                   (long long)a[lab]);
        } else if (memcmp(a + 2, b + 2, (N_FACTS - 2) * sizeof *a)) {
            rc = cli_runtime_error("train", "rank %d's data has the same size as rank 0's "
                                   "(%s) but not the same content (%lld rows, fingerprint "
                                   "%016llx; rank 0: %lld rows, %016llx): every rank must "
                                   "read the same data; stopping before the first step", r,
                                   o->data, (long long)b[2], (unsigned long long)b[6],
                                   (long long)a[2], (unsigned long long)a[6]);
        }
    }
    free(all);
    if (rc != SYN_EXIT_OK) {
        fflush(stderr);
        c->barrier(c->ctx);
    }
    return rc;
}
