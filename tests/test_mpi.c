/* test_mpi.c - `mpirun -np N synapse train` (README, "Training on several
 * machines"), label mpi; skipped (77) when mpirun is missing or synapse was
 * built without MPI. On this one machine, with --oversubscribe and
 * OpenMPI's allow-run-as-root settings:
 *  - 1, 2, 3 and 4 ranks over shared memory (btl self,vader) and over TCP
 *    on loopback (btl self,tcp) save byte-identical models, identical to
 *    `synapse train --shards` on one process; rank 0 alone prints and
 *    writes (one epoch line per epoch, one log); a net with batch norm at
 *    1, 2 and 3 ranks saves the --shards model too;
 *  - kill -9 of rank 1 mid-run ends the job within 30 s, non-zero, with
 *    mpirun naming the rank and synapse naming the step; --resume from the
 *    last checkpoint with 3 ranks (and on one, with --shards and without:
 *    the checkpoint records the sharding) ends with the model of an
 *    uninterrupted run, byte for byte; a plain checkpoint is not resumed
 *    under mpirun;
 *  - a rank that stops answering (SIGSTOP) ends the job after --rank-timeout
 *    with an error naming the operation, the rank and the step;
 *  - two ranks in two network namespaces joined by a veth pair (mpirun in
 *    one, OpenMPI's rsh agent set to `ip netns exec` for the other), so
 *    the TCP path crosses a real link: the --shards model again; skipped
 *    with the reason where `ip netns add` is not allowed;
 *  - a rank whose data differs in content, or in size, or cannot be read,
 *    stops the job before the first step with an error naming the rank and
 *    the file; no model is written. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "cli_run.h"

#ifndef SYN_TEST_HAVE_MPI
int main(void)
{
    printf("skipped: synapse was built without MPI (-DSYN_MPI=OFF or no libopenmpi-dev)\n");
    return 77;
}
#else

static char dir[256];

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* A 3-class table of `rows` rows and 10 features. */
static void write_data(const char *name, size_t rows, int spoil)
{
    FILE *fp = fopen(cli_path(dir, name), "w");
    unsigned s = 12345;
    fprintf(fp, "f0,f1,f2,f3,f4,f5,f6,f7,f8,f9,y\n");
    for (size_t r = 0; r < rows; r++) {
        double v[10], sum = 0;
        for (int j = 0; j < 10; j++) {
            s = s * 1103515245u + 12345u;
            v[j] = (double)((s >> 8) % 20000) / 10000.0 - 1.0;
            sum += v[j] * (j % 3 == 0 ? 1 : -0.5);
            if (spoil && r == rows / 2 && j == 3) /* another value of the same width */
                fprintf(fp, "%s,", v[j] < 0 ? (v[j] == -0.1111 ? "-0.2222" : "-0.1111")
                                            : (v[j] == 0.1111 ? "0.2222" : "0.1111"));
            else
                fprintf(fp, "%.4f,", v[j]);
        }
        fprintf(fp, "%d\n", sum > 0.3 ? 2 : sum > -0.3 ? 1 : 0);
    }
    fclose(fp);
}

/* Runs a shell command in dir under a hard time limit; exit code (-1 if
 * killed), stderr kept in dir/err.txt. */
static int run_sh(const char *cmd, double *seconds)
{
    char full[8192];
    snprintf(full, sizeof full, "cd '%s' && timeout -k 5 240 %s > out.txt 2> err.txt", dir, cmd);
    double t0 = now_seconds();
    int status = system(full);
    if (seconds)
        *seconds = now_seconds() - t0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *err_text(void)
{
    char *t = cli_read_file(cli_path(dir, "err.txt"), NULL);
    return t ? t : calloc(1, 1);
}

static int same_file(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    char *x = cli_read_file(cli_path(dir, a), &na), *y = cli_read_file(cli_path(dir, b), &nb);
    int same = x && y && na == nb && !memcmp(x, y, na);
    free(x);
    free(y);
    return same;
}

static int exists(const char *name)
{
    struct stat st;
    return stat(cli_path(dir, name), &st) == 0;
}

static size_t count(const char *text, const char *what)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, what)); p++)
        n++;
    return n;
}

/* 1500 rows at batch 400: 6 shards a batch (syn_shard_count), last batch 300
 * (4 shards). */
#define TRAIN "--data d.csv --target y --hidden 32,16 --batch 400 --seed 3"
#define MPIRUN "mpirun --oversubscribe"

static void identity(void)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' train " TRAIN " --epochs 3 --shards --quiet --out ref.syn",
             SYN_CLI_PATH);
    CHECK(run_sh(cmd, NULL) == 0, "--shards reference run");
    const char *btls[] = {"self,vader", "self,tcp"};
    for (int b = 0; b < 2; b++)
        for (int n = 1; n <= 4; n++) {
            int verbose = b == 0 && n == 3;
            snprintf(cmd, sizeof cmd,
                     MPIRUN " --mca btl %s -np %d '%s' train " TRAIN " --epochs 3 %s "
                     "--out m.syn --log m.log", btls[b], n, SYN_CLI_PATH,
                     verbose ? "" : "--quiet");
            remove(cli_path(dir, "m.syn"));
            double secs;
            int rc = run_sh(cmd, &secs);
            char *err = err_text();
            CHECK(rc == 0, "btl %s, %d ranks: exit %d: %s", btls[b], n, rc, err);
            CHECK(same_file("m.syn", "ref.syn"), "btl %s, %d ranks: model differs from "
                  "--shards on one process", btls[b], n);
            CHECK(exists("m.log"), "btl %s, %d ranks: rank 0 wrote the log", btls[b], n);
            if (verbose)
                CHECK(count(err, "epoch 1/3") == 1 && count(err, "epoch 3/3") == 1,
                      "3 ranks: one progress line per epoch (rank 0 alone prints): %s", err);
            printf("btl %s, %d ranks: %.2f s\n", btls[b], n, secs);
            free(err);
        }
}

/* Batch norm (twice, one before dropout): statistics over the global batch,
 * so 1, 2 and 3 ranks save the --shards model byte for byte; 1 rank = 3
 * ranks would fail with each rank's statistics its own rows'. */
#define BN_LAYERS "--layers '32:linear,bn:relu,dropout:0.2,16:linear,bn:tanh'"

static void batch_norm_identity(void)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' train --data d.csv --target y " BN_LAYERS " --batch 400 "
             "--seed 3 --epochs 3 --shards --quiet --out bn_ref.syn", SYN_CLI_PATH);
    CHECK(run_sh(cmd, NULL) == 0, "batch norm --shards reference run");
    for (int n = 1; n <= 3; n++) {
        snprintf(cmd, sizeof cmd, MPIRUN " -np %d '%s' train --data d.csv --target y "
                 BN_LAYERS " --batch 400 --seed 3 --epochs 3 --quiet --out bn.syn", n,
                 SYN_CLI_PATH);
        remove(cli_path(dir, "bn.syn"));
        int rc = run_sh(cmd, NULL);
        char *err = err_text();
        CHECK(rc == 0, "batch norm, %d ranks: exit %d: %s", n, rc, err);
        CHECK(same_file("bn.syn", "bn_ref.syn"), "batch norm, %d ranks: model differs from "
              "--shards on one process", n);
        free(err);
    }
}

/* The pid of rank `rank` among mpirun's children (OMPI_COMM_WORLD_RANK in
 * their environments), or 0. */
static pid_t rank_pid(pid_t mpirun, int rank)
{
    char cmd[128], want[64];
    snprintf(cmd, sizeof cmd, "pgrep -P %d", (int)mpirun);
    snprintf(want, sizeof want, "OMPI_COMM_WORLD_RANK=%d", rank);
    FILE *p = popen(cmd, "r");
    int pid, found = 0;
    while (p && !found && fscanf(p, "%d", &pid) == 1) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/environ", pid);
        size_t n = 0;
        char *env = cli_read_file(path, &n);
        for (size_t i = 0; env && i < n; i += strlen(env + i) + 1)
            if (!strcmp(env + i, want))
                found = pid;
        free(env);
    }
    if (p)
        pclose(p);
    return found;
}

/* Starts `mpirun -np 2 synapse train TRAIN EXTRA` in dir, stderr to
 * err_file; the pid is mpirun's (the shell execs it). */
static pid_t start_job(const char *err_file, const char *extra)
{
    char line[2048];
    snprintf(line, sizeof line, "exec mpirun --oversubscribe -np 2 '%s' train " TRAIN
             " --quiet %s 2> %s > /dev/null", SYN_CLI_PATH, extra, err_file);
    fflush(NULL);
    pid_t job = fork();
    if (job == 0) {
        if (chdir(dir) != 0)
            _exit(126);
        execl("/bin/sh", "sh", "-c", line, (char *)NULL);
        _exit(127);
    }
    return job;
}

/* Waits up to 60 s for dir/name to appear (rank 0's first checkpoint:
 * training has begun). */
static void wait_for_file(const char *name)
{
    double t0 = now_seconds();
    while (!exists(name) && now_seconds() - t0 < 60)
        usleep(20000);
}

/* Waits up to 60 s for the job (then kills it and `victim`); returns the
 * seconds from `since`, *ended whether it ended by itself. */
static double wait_job(pid_t job, pid_t victim, double since, int *status, int *ended)
{
    pid_t w = 0;
    while ((w = waitpid(job, status, WNOHANG)) == 0 && now_seconds() - since < 60)
        usleep(20000);
    double took = now_seconds() - since;
    *ended = w == job;
    if (w == 0) {
        if (victim > 0)
            kill(victim, SIGKILL);
        kill(job, SIGKILL);
        waitpid(job, status, 0);
    }
    return took;
}

static void kill_and_resume(void)
{
    char cmd[2048];
    /* Long enough that the job still runs when rank 1 is found and killed
     * on a fast, quiet machine (40 epochs ended within 0.3 s of the first
     * checkpoint there). */
    const char *opts = TRAIN " --epochs 400 --quiet";
    snprintf(cmd, sizeof cmd, "'%s' train %s --shards --out whole.syn", SYN_CLI_PATH, opts);
    CHECK(run_sh(cmd, NULL) == 0, "uninterrupted --shards run");
    pid_t job = start_job("kill_err.txt", "--epochs 400 --checkpoint ck --checkpoint-every 5 "
                          "--out k.syn");
    /* Wait for a checkpoint, then kill rank 1. */
    wait_for_file("ck");
    usleep(300000);
    pid_t victim = rank_pid(job, 1);
    CHECK(victim > 0, "found rank 1 among mpirun's children");
    int status = 0, ended = 0;
    double killed = now_seconds();
    if (victim > 0)
        kill(victim, SIGKILL);
    double took = wait_job(job, 0, killed, &status, &ended);
    char *err = cli_read_file(cli_path(dir, "kill_err.txt"), NULL);
    if (!err)
        err = calloc(1, 1);
    CHECK(ended && took < 30.0, "the job ended %.1f s after kill -9 of rank 1", took);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) != 0, "non-zero exit: status %d", status);
    CHECK(strstr(err, "rank 1") != NULL, "mpirun names rank 1: %s", err);
    CHECK(strstr(err, "(rank 0 of 2)") && strstr(err, "after batch"),
          "synapse names the rank and the step: %s", err);
    CHECK(!exists("k.syn"), "no model from the killed job");
    printf("kill -9 of rank 1: job ended after %.2f s\n", took);
    free(err);
    /* Resume with another number of ranks, and on one process. */
    char cp[2048];
    snprintf(cp, sizeof cp, "cp '%s/ck' '%s/ck1' && cp '%s/ck' '%s/ck0'", dir, dir, dir, dir);
    CHECK(system(cp) == 0, "copy of the checkpoint");
    snprintf(cmd, sizeof cmd, MPIRUN " -np 3 '%s' train %s --resume ck --out r3.syn",
             SYN_CLI_PATH, opts);
    int rc = run_sh(cmd, NULL);
    err = err_text();
    CHECK(rc == 0, "resume on 3 ranks: exit %d: %s", rc, err);
    free(err);
    CHECK(same_file("r3.syn", "whole.syn"), "resumed on 3 ranks = uninterrupted run");
    snprintf(cmd, sizeof cmd, "'%s' train %s --shards --resume ck1 --out r1.syn",
             SYN_CLI_PATH, opts);
    CHECK(run_sh(cmd, NULL) == 0, "resume with --shards on one process");
    CHECK(same_file("r1.syn", "whole.syn"), "resumed on one process = uninterrupted run");
    /* The checkpoint records that the run was sharded: a resume without
     * mpirun or --shards goes on sharded too (the plain path's sums would
     * round another way). */
    snprintf(cmd, sizeof cmd, "'%s' train %s --resume ck0 --out r0.syn", SYN_CLI_PATH, opts);
    CHECK(run_sh(cmd, NULL) == 0, "resume on one process without --shards");
    CHECK(same_file("r0.syn", "whole.syn"), "resumed without --shards = uninterrupted run");
    /* A plain run's checkpoint is not continued sharded. */
    snprintf(cmd, sizeof cmd, "'%s' train " TRAIN " --epochs 2 --quiet --checkpoint plain.ckpt "
             "--out p.syn && " MPIRUN " -np 2 '%s' train --resume plain.ckpt --out q.syn",
             SYN_CLI_PATH, SYN_CLI_PATH);
    rc = run_sh(cmd, NULL);
    err = err_text();
    CHECK(rc != 0 && strstr(err, "trained on one process without --shards; mpirun sums"),
          "mpirun resume of a plain checkpoint refused: exit %d: %s", rc, err);
    CHECK(!exists("q.syn"), "no model from the refused resume");
    free(err);
}

/* SIGSTOP of rank 1: rank 0's collective times out after 3 s. */
static void hung_rank(void)
{
    pid_t job = start_job("hang_err.txt", "--epochs 200 --rank-timeout 3 --out h.syn "
                          "--checkpoint hck --checkpoint-every 1");
    wait_for_file("hck");
    pid_t victim = rank_pid(job, 1);
    CHECK(victim > 0, "found rank 1");
    if (victim > 0)
        kill(victim, SIGSTOP);
    int status = 0, ended = 0;
    double took = wait_job(job, victim, now_seconds(), &status, &ended);
    if (victim > 0)
        kill(victim, SIGCONT);
    char *err = cli_read_file(cli_path(dir, "hang_err.txt"), NULL);
    if (!err)
        err = calloc(1, 1);
    CHECK(ended && took >= 2.5 && took < 30.0, "the job ended %.1f s after SIGSTOP", took);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) != 0, "non-zero exit: status %d", status);
    CHECK(strstr(err, "(rank 0 of 2): all-reduce") && strstr(err, "no answer from the other ranks within 3 s")
              && strstr(err, "epoch"),
          "rank 0 names the wait, itself and the step: %s", err);
    printf("SIGSTOP of rank 1: job ended after %.2f s\n", took);
    free(err);
}

/* Two "machines": namespaces A (10.9.0.1) and B (10.9.0.2) joined by a veth
 * pair; mpirun runs in A and starts B's daemon through the agent script. */
static void namespaces(void)
{
    char a[32], b[32], va[16], vb[16], cmd[4096];
    int id = (int)getpid() % 100000;
    snprintf(a, sizeof a, "syn%da", id);
    snprintf(b, sizeof b, "syn%db", id);
    snprintf(va, sizeof va, "synv%da", id);
    snprintf(vb, sizeof vb, "synv%db", id);
    snprintf(cmd, sizeof cmd, "ip netns add %s 2> '%s/ns_err.txt'", a, dir);
    if (system(cmd) != 0) {
        char *why = cli_read_file(cli_path(dir, "ns_err.txt"), NULL);
        printf("namespaces: skipped: 'ip netns add' is not allowed here (%s)\n",
               why ? strtok(why, "\n") : "no reason given");
        free(why);
        return;
    }
    snprintf(cmd, sizeof cmd,
             "ip netns add %s && ip link add %s type veth peer name %s && "
             "ip link set %s netns %s && ip link set %s netns %s && "
             "ip -n %s addr add 10.9.0.1/24 dev %s && ip -n %s addr add 10.9.0.2/24 dev %s && "
             "ip -n %s link set %s up && ip -n %s link set %s up && "
             "ip -n %s link set lo up && ip -n %s link set lo up",
             b, va, vb, va, a, vb, b, a, va, b, vb, a, va, b, vb, a, b);
    int ok = system(cmd) == 0;
    CHECK(ok, "namespaces and veth pair set up");
    FILE *fp = fopen(cli_path(dir, "agent.sh"), "w");
    fprintf(fp, "#!/bin/sh\n# rsh agent: HOST CMD... runs CMD in HOST's namespace\n"
                "host=$1; shift\ncase $host in\n10.9.0.1) ns=%s ;;\n10.9.0.2) ns=%s ;;\n"
                "*) echo \"agent: unknown host $host\" >&2; exit 1 ;;\nesac\n"
                "echo \"$host\" >> '%s/agent.log'\n"
                "exec ip netns exec $ns sh -c \"$*\"\n", a, b, dir);
    fclose(fp);
    chmod(cli_path(dir, "agent.sh"), 0755);
    if (ok) {
        snprintf(cmd, sizeof cmd,
                 "ip netns exec %s mpirun --host 10.9.0.1:1,10.9.0.2:1 -np 2 "
                 "--mca plm_rsh_agent '%s/agent.sh' --mca btl self,tcp "
                 "--mca btl_tcp_if_include 10.9.0.0/24 --mca oob_tcp_if_include 10.9.0.0/24 "
                 "'%s' train " TRAIN " --epochs 3 --quiet --out ns.syn",
                 a, dir, SYN_CLI_PATH);
        double secs;
        int rc = run_sh(cmd, &secs);
        char *err = err_text();
        CHECK(rc == 0, "two namespaces: exit %d: %s", rc, err);
        free(err);
        CHECK(same_file("ns.syn", "ref.syn"), "two namespaces: the --shards model");
        char *log = cli_read_file(cli_path(dir, "agent.log"), NULL);
        CHECK(log && strstr(log, "10.9.0.2"), "rank 1 was started in namespace B");
        free(log);
        printf("two namespaces over a veth pair: %.2f s\n", secs);
    }
    snprintf(cmd, sizeof cmd, "ip netns del %s; ip netns del %s", a, b);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove the namespaces %s and %s\n", a, b);
}

static void mismatched_data(void)
{
    write_data("spoiled.csv", 1500, 1);   /* one value changed: same size */
    write_data("longer.csv", 1501, 0);
    const struct {
        const char *file, *says;
    } cases[] = {{"spoiled.csv", "not the same content"}, {"longer.csv", "bytes"},
                 {"missing.csv", "missing.csv"}};
    for (int i = 0; i < 3; i++) {
        char cmd[2048];
        const char *rest = "--target y --hidden 8 --batch 400 --epochs 2 --quiet --out bad.syn";
        snprintf(cmd, sizeof cmd,
                 MPIRUN " -np 1 '%s' train --data d.csv %s : -np 1 '%s' train --data %s %s",
                 SYN_CLI_PATH, rest, SYN_CLI_PATH, cases[i].file, rest);
        double secs;
        int rc = run_sh(cmd, &secs);
        char *err = err_text();
        CHECK(rc != 0 && rc != -1, "%s on rank 1: exit %d", cases[i].file, rc);
        CHECK(strstr(err, "rank 1") && strstr(err, cases[i].says),
              "%s on rank 1: the error names the rank and says '%s': %s", cases[i].file,
              cases[i].says, err);
        CHECK(!exists("bad.syn"), "%s: no model written", cases[i].file);
        CHECK(secs < 30, "%s: ended in %.1f s", cases[i].file, secs);
        free(err);
    }
}

int main(void)
{
    if (system("command -v mpirun > /dev/null 2>&1") != 0) {
        printf("skipped: mpirun is not installed (apt-get install openmpi-bin)\n");
        return 77;
    }
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    /* Not the caller's MCA settings, and no network interfaces but loopback. */
    setenv("OMPI_MCA_btl_tcp_if_include", "lo", 1);
    setenv("OMPI_MCA_oob_tcp_if_include", "lo", 1);
    snprintf(dir, sizeof dir, "/tmp/syn_mpi_XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    write_data("d.csv", 1500, 0);
    identity();
    batch_norm_identity();
    namespaces();
    kill_and_resume();
    hung_rank();
    mismatched_data();
    char rm[512];
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    if (check_failed_ == 0 && !getenv("SYN_KEEP") && system(rm) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_finish();
}
#endif
