/* synapse_mpi.h - synapse's communication interface (syn_comm, synapse.h)
 * on MPI, for data-parallel training over the ranks of an MPI job. Built
 * as its own library (libsynapse_mpi) when CMake finds MPI; -DSYN_MPI=OFF
 * leaves it out. The program owns MPI: it calls MPI_Init before
 * syn_mpi_create and MPI_Finalize after syn_mpi_free; synapse only uses a
 * duplicate of the communicator it is given, from the calling thread.
 *
 *     syn_mpi_prepare();
 *     MPI_Init(&argc, &argv);
 *     syn_mpi *mpi;
 *     syn_mpi_create(MPI_COMM_WORLD, 120.0, &mpi);
 *     syn_trainer_set_comm(trainer, syn_mpi_comm(mpi));
 *     ... syn_trainer_epoch on every rank, the same rows ...
 *     syn_mpi_free(mpi);
 *     MPI_Finalize();
 */
#ifndef SYNAPSE_MPI_H
#define SYNAPSE_MPI_H

#include <mpi.h>

#include "synapse.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct syn_mpi syn_mpi;

/* Call before MPI_Init (optional): asks OpenMPI for the all-reduce that
 * suits the trainer's, unless the environment already chooses one. The
 * comm's all-reduces are in place and non-blocking (libnbc), for which
 * OpenMPI 4.1 always takes a binomial tree: every byte goes to rank 0 and
 * back, and rank 0 alone adds. This sets
 * OMPI_MCA_coll_libnbc_iallreduce_algorithm=3 (reduce-scatter then
 * all-gather: each rank adds and sends its 1/N of the buffer; 2x faster
 * here at 2 ranks for 7.5 MB) if that variable is unset; other MPIs ignore
 * it. The process's environment is changed: call it from the program's
 * start, before any thread. Results do not depend on it (integer sums).
 * Errors: OUT_OF_MEMORY (setenv failed). */
syn_status syn_mpi_prepare(void);

/* A syn_comm over a duplicate of comm (errors returned, not fatal). Every
 * collective waits at most timeout_seconds (> 0) for the other ranks, then
 * fails with SYN_ERR_COMM and a detail naming the operation and the rank:
 * a rank that hangs (stopped, swapping, deadlocked) cannot hang the others
 * forever; a rank that dies is noticed by the launcher (mpirun ends the job
 * within seconds). After a failure the communicator is unusable: the
 * program should end (MPI_Abort). Errors: INVALID_ARGUMENT, OUT_OF_MEMORY,
 * SYN_ERR_COMM (MPI refused to duplicate comm). Collective: every rank of
 * comm calls it. */
syn_status syn_mpi_create(MPI_Comm comm, double timeout_seconds, syn_mpi **out);
/* Frees the duplicate communicator (collective, like MPI_Comm_free). */
void syn_mpi_free(syn_mpi *mpi);
/* The comm to give syn_trainer_set_comm; valid until syn_mpi_free. */
const syn_comm *syn_mpi_comm(const syn_mpi *mpi);
/* What the last failed call met ("rank 2 of 4: all-reduce of 1834 int64:
 * no answer from the other ranks within 120 s"), or "". */
const char *syn_mpi_detail(const syn_mpi *mpi);

#ifdef __cplusplus
}
#endif

#endif
