/* test_cli_loss_schedule.c - `synapse train`'s loss and schedule options:
 * --loss huber|l1 (+ --huber-delta), --label-smoothing, --class-weights
 * balanced|list land in the model (synapse info shows them, the loss
 * options are in the file); --schedule exponential|onecycle|plateau and
 * --warmup give the per-epoch rates the log's lr column records; bad
 * values are refused with a message that names the option; the options
 * are kept by a checkpoint and must agree on resume. */
#include <math.h>
#include <stdint.h>
#include <unistd.h>

#include "check.h"
#include "cli_run.h"
#include "synapse.h"

static char tmp_dir[] = "/tmp/syn_test_cli_ls_XXXXXX";

/* Under valgrind every traced child is ~50x slower: the refusals, which
 * all take the same path out, are then checked one in three (all of them
 * in the other builds), as the hostile tests do less under it. */
static int under_valgrind(void)
{
    const char *pre = getenv("LD_PRELOAD");
    return pre && strstr(pre, "vgpreload") != NULL;
}

static cli_result run(const char *args)
{
    return cli_run_in(tmp_dir, args);
}

/* Three classes of unequal size (60/30/10 rows) in two features, and a
 * regression table with a few outliers. */
static void write_data(void)
{
    FILE *fp = fopen(cli_path(tmp_dir, "cls.csv"), "w");
    fprintf(fp, "a,b,label\n");
    uint64_t s = 7;
    for (int i = 0; i < 100; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        double u = (double)(s >> 11) / 9007199254740992.0;
        int c = i < 60 ? 0 : i < 90 ? 1 : 2;
        fprintf(fp, "%.4f,%.4f,%s\n", c + u, (c == 1) - u * 0.5, c == 0 ? "x" : c == 1 ? "y"
                                                                                       : "z");
    }
    fclose(fp);
    fp = fopen(cli_path(tmp_dir, "reg.csv"), "w");
    fprintf(fp, "x,y\n");
    for (int i = 0; i < 120; i++) {
        double x = i / 60.0 - 1.0;
        fprintf(fp, "%.4f,%.4f\n", x, 2 * x + (i % 17 == 0 ? 8.0 : 0.1 * sin(i)));
    }
    fclose(fp);
}

/* The log's lr column (the 11th) of each row. */
static size_t log_rates(const char *log, double *lr, size_t cap)
{
    size_t n = 0;
    const char *line = log ? strchr(log, '\n') : NULL;
    while (line && line[1] && n < cap) {
        line++;
        const char *p = line;
        for (int c = 0; c < 10 && p; c++)
            p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL;
        lr[n++] = p ? strtod(p, NULL) : NAN;
        line = strchr(line, '\n');
    }
    return n;
}

static void test_losses(void)
{
    cli_result r = run("train --data cls.csv --hidden 8 --epochs 5 --label-smoothing 0.1 "
                       "--class-weights balanced --out w.syn --quiet");
    CHECK(r.code == 0, "smoothing + balanced weights: %d %s", r.code, r.err);
    cli_result_free(&r);
    syn_net *net = NULL;
    CHECK_OK(syn_net_load(cli_path(tmp_dir, "w.syn"), &net, NULL, NULL));
    syn_loss_options lo;
    /* sklearn's balanced weights n / (3 count); classes in order x, y, z. */
    CHECK(net && syn_net_loss_options(net, &lo) == SYN_OK && lo.label_smoothing == 0.1f &&
              lo.n_class_weights == 3 && lo.class_weights[0] < lo.class_weights[1] &&
              lo.class_weights[1] < lo.class_weights[2],
          "the model keeps the options");
    /* --epochs without --early-stop trains on all 100 rows: 60, 30, 10. */
    const double want[3] = {100.0 / 180.0, 100.0 / 90.0, 100.0 / 30.0};
    for (int c = 0; net && lo.n_class_weights == 3 && c < 3; c++)
        CHECK_CLOSE(lo.class_weights[c], want[c], 1e-6, 0, "balanced weight %d: %g", c,
                    (double)lo.class_weights[c]);
    syn_net_free(net);
    r = run("info w.syn");
    CHECK(r.code == 0 && strstr(r.out, "label smoothing 0.1") && strstr(r.out, "class weights"),
          "info: %s", r.out);
    cli_result_free(&r);
    r = run("train --data cls.csv --hidden 8 --epochs 3 --class-weights 1,2,0.5 --out l.syn --quiet");
    CHECK(r.code == 0, "a weight list: %s", r.err);
    cli_result_free(&r);
    r = run("train --data reg.csv --hidden 8 --epochs 20 --loss huber --huber-delta 0.5 --out h.syn "
            "--quiet");
    CHECK(r.code == 0, "huber: %s", r.err);
    cli_result_free(&r);
    net = NULL;
    CHECK_OK(syn_net_load(cli_path(tmp_dir, "h.syn"), &net, NULL, NULL));
    CHECK(net && syn_net_loss(net) == SYN_LOSS_HUBER &&
              syn_net_loss_options(net, &lo) == SYN_OK && lo.huber_delta == 0.5f,
          "huber and its delta in the model");
    syn_net_free(net);
    r = run("train --data reg.csv --hidden 8 --epochs 20 --loss l1 --out a.syn --quiet --test-data reg.csv");
    CHECK(r.code == 0 && strstr(r.out, "test:"), "l1: %s %s", r.err, r.out);
    cli_result_free(&r);
    const struct {
        const char *args, *says;
    } bad[] = {
        {"--data cls.csv --label-smoothing 1", "--label-smoothing must be below 1"},
        {"--data cls.csv --label-smoothing -0.1", "--label-smoothing expects a number"},
        {"--data cls.csv --label-smoothing nan", "--label-smoothing expects a number"},
        {"--data cls.csv --class-weights 1,2", "lists 2 weights, but the data has 3 classes"},
        {"--data cls.csv --class-weights 1,-2,1", "item 2"},
        {"--data cls.csv --class-weights 0,0,0", "all 0"},
        {"--data cls.csv --class-weights 1,nan,1", "item 2"},
        {"--data reg.csv --class-weights 1", "applies to the cross-entropy loss"},
        {"--data cls.csv --loss mse --label-smoothing 0.1", "not to this run's mse"},
        {"--data reg.csv --huber-delta 2", "--huber-delta applies to --loss huber"},
        {"--data reg.csv --loss huber --huber-delta nan", "--huber-delta expects a number"},
        {"--data reg.csv --loss huber --huber-delta 0", "--huber-delta expects a number"},
    };
    size_t stride = under_valgrind() ? 3 : 1;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i += stride) {
        char args[256];
        snprintf(args, sizeof args, "train %s --hidden 4 --epochs 2 --out bad.syn", bad[i].args);
        r = run(args);
        CHECK(r.code == 2 && strstr(r.err, bad[i].says), "%s: %d %s", bad[i].args, r.code,
              r.err);
        CHECK(access(cli_path(tmp_dir, "bad.syn"), F_OK) != 0, "%s wrote no model",
              bad[i].args);
        cli_result_free(&r);
    }
}

static void test_schedules(void)
{
    double lr[64];
    cli_result r = run("train --data cls.csv --hidden 8 --epochs 6 --lr 0.01 --schedule exponential "
                       "--gamma 0.5 --warmup 2 --out e.syn --log e.csv --quiet");
    CHECK(r.code == 0, "exponential + warmup: %s", r.err);
    cli_result_free(&r);
    char *log = cli_read_file(cli_path(tmp_dir, "e.csv"), NULL);
    size_t n = log_rates(log, lr, 64);
    const double want[6] = {0.01 / 3, 0.01 * (1.0 / 3 + 2.0 / 3 * 0.5), 0.01, 0.005, 0.0025,
                            0.00125};
    CHECK(n == 6, "6 log rows: %zu", n);
    for (size_t e = 0; e < n && e < 6; e++)
        CHECK_CLOSE(lr[e], want[e], 1e-6, 0, "epoch %zu: lr %g, want %g", e + 1, lr[e],
                    want[e]);
    free(log);
    r = run("train --data cls.csv --hidden 8 --epochs 4 --schedule onecycle --lr 0.05 --out o.syn "
            "--log o.csv --quiet");
    CHECK(r.code == 0, "onecycle: %s", r.err);
    cli_result_free(&r);
    log = cli_read_file(cli_path(tmp_dir, "o.csv"), NULL);
    n = log_rates(log, lr, 64);
    CHECK(n == 4 && fabs(lr[0] - 0.05 / 25) < 1e-9 && lr[1] > lr[0] && lr[3] < lr[1],
          "onecycle starts at max_lr / 25, rises, falls: %g %g %g", lr[0], lr[1], lr[3]);
    free(log);
    const struct {
        const char *args, *says;
    } bad[] = {
        {"--schedule onecycle", "--schedule onecycle needs --epochs N"},
        {"--epochs 3 --warmup 3", "--warmup 3 leaves none of the run's 3 epochs"},
        {"--epochs 3 --schedule cosine --gamma 0.5", "--gamma belongs to --schedule step"},
        {"--epochs 3 --schedule exponential --gamma 0", "--gamma expects a number"},
        {"--epochs 3 --schedule sometimes", "--schedule expects one of"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i += under_valgrind() ? 2 : 1) {
        char args[256];
        snprintf(args, sizeof args, "train --data cls.csv --hidden 4 %s --out bad.syn",
                 bad[i].args);
        r = run(args);
        CHECK(r.code == 2 && strstr(r.err, bad[i].says), "%s: %d %s", bad[i].args, r.code,
              r.err);
        cli_result_free(&r);
    }
}

/* The options are the run's: stored in the checkpoint, recomputed on
 * resume (balanced weights from the same rows), and a resume that gives
 * another value is refused. The mid-run resume of these schedules is
 * test_schedule's (the trainer's state); this is the command's part. */
static void test_resume_options(void)
{
    const char *common = "train --data cls.csv --hidden 8 --epochs 6 --schedule plateau --warmup 2 "
                         "--label-smoothing 0.05 --class-weights balanced --lr 0.2 "
                         "--optimizer sgd --batch 16 --threads 1 --quiet";
    char args[512];
    snprintf(args, sizeof args, "%s --out whole.syn --log whole.csv --checkpoint c.ckpt",
             common);
    cli_result r = run(args);
    CHECK(r.code == 0, "plateau run: %s", r.err);
    cli_result_free(&r);
    r = run("train --resume c.ckpt --out resumed.syn");
    CHECK(r.code == 0 && strstr(r.err, "all 6 epochs are done"), "resume: %s", r.err);
    cli_result_free(&r);
    size_t na = 0, nb = 0;
    char *a = cli_read_file(cli_path(tmp_dir, "whole.syn"), &na);
    char *b = cli_read_file(cli_path(tmp_dir, "resumed.syn"), &nb);
    CHECK(a && b && na == nb && !memcmp(a, b, na), "the resumed model is the whole run's");
    free(a);
    free(b);
    const char *other[] = {"--label-smoothing 0.1", "--class-weights 1,1,1", "--warmup 1",
                           "--schedule cosine"};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i += under_valgrind() ? 2 : 1) {
        snprintf(args, sizeof args, "train --resume c.ckpt --out r2.syn %s", other[i]);
        r = run(args);
        CHECK(r.code == 2 && strstr(r.err, "a resumed run keeps its options"), "%s: %d %s",
              other[i], r.code, r.err);
        cli_result_free(&r);
    }
    a = cli_read_file(cli_path(tmp_dir, "whole.csv"), NULL);
    double lr[16];
    size_t n = log_rates(a, lr, 16);
    CHECK(n == 6 && fabs(lr[0] - 0.2 / 3) < 1e-7 && fabs(lr[1] - 0.2 * 2 / 3) < 1e-7 &&
              fabs(lr[2] - 0.2) < 1e-7,
          "warmup from lr / 3, then the base rate: %g %g %g", lr[0], lr[1], lr[2]);
    free(a);
}

int main(void)
{
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    write_data();
    test_losses();
    test_schedules();
    test_resume_options();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    if (check_failed_ == 0 && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp_dir);
    return check_finish();
}
