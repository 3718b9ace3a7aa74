/* test_hostile_faults.c - regressions of issue 11's defects that are about
 * what a failing run keeps and says:
 *  3. divergence in the first epoch must not replace an existing --out
 *     (it wrote the random start over it, "epochs 0");
 *  5. under `ulimit -f` a save fails with EFBIG, reported, the temporary
 *     file removed and the previous model kept (it died of SIGXFSZ, 153);
 *  8. one class: train refuses it; a model file of one class (written
 *     elsewhere) is refused by eval and predict (they printed "(null)").
 * Every child runs under a hard time limit (hostile.h). */
#include "check.h"
#include "hostile.h"
#include "synapse.h"

static char dir[] = "/tmp/syn_hostile_faults_XXXXXX";
static h_counts counts;

static const char *path(const char *name)
{
    return cli_path(dir, name);
}

static h_result run(const char *line)
{
    h_opts o = {.dir = dir, .stdin_fd = -1};
    h_result r = h_run(&o, h_argv(line));
    h_count(&counts, &r, line);
    return r;
}

static void kept(const char *name, const char *ref, const char *what)
{
    int same = h_same_file(path(name), path(ref));
    counts.lost += !same;
    CHECK(same, "%s: %s unchanged", what, name);
}

static void test_first_epoch_divergence(void)
{
    h_copy(path("ref.syn"), path("keep.syn"));
    h_result r = run("train --data three.csv --out keep.syn --lr 1e12 --optimizer sgd "
                     "--batch 4 --epochs 3 --log keep.csv --threads 1");
    CHECK(r.exited && r.code == 1, "divergence: exit 1, got %d", r.code);
    CHECK(strstr(r.err, "diverged at epoch 1") && strstr(r.err, "nothing was saved"),
          "divergence: the message says nothing was saved: %s", r.err);
    kept("keep.syn", "ref.syn", "divergence in epoch 1");
    CHECK(access(path("keep.csv"), F_OK) != 0, "%s", "no log written either");
    CHECK(!h_leftover(dir, "keep.syn.tmp") && !h_leftover(dir, "keep.csv.tmp"),
          "%s", "no temporary file left");
    h_free(&r);
}

static void test_file_size_limit(void)
{
    h_copy(path("ref.syn"), path("keep.syn"));
    h_opts o = {.dir = dir, .stdin_fd = -1, .fsize = 4096};
    char line[] = "train --data three.csv --out keep.syn --hidden 200 --epochs 1 --quiet";
    h_result r = h_run(&o, h_argv(line));
    h_count(&counts, &r, "ulimit -f 4");
    CHECK(r.exited && r.code == 1, "ulimit -f: exit 1, not %s %d", r.exited ? "exit" : "signal",
          r.exited ? r.code : r.sig);
    CHECK(strstr(r.err, "File too large") != NULL, "ulimit -f: the reason: %s", r.err);
    kept("keep.syn", "ref.syn", "ulimit -f");
    CHECK(!h_leftover(dir, "keep.syn.tmp"), "%s", "ulimit -f: the temporary file is removed");
    h_free(&r);
}

/* A one-output softmax classifier with one class name, as another program
 * could write it. */
static void write_one_class_model(const char *file)
{
    syn_layer_desc layers[] = {{.units = 3, .activation = SYN_ACT_RELU},
                               {.units = 1, .activation = SYN_ACT_SOFTMAX}};
    syn_net_desc d = {.n_inputs = 2, .n_layers = 2, .layers = layers,
                      .loss = SYN_LOSS_CROSS_ENTROPY, .reduction = SYN_REDUCTION_MEAN,
                      .init = SYN_INIT_AUTO, .seed = 1};
    syn_net *net = NULL;
    const char *names[] = {"x"};
    CHECK_OK(syn_net_create(&d, &net));
    CHECK_OK(syn_net_set_class_names(net, names, 1));
    CHECK_OK(syn_net_save(net, NULL, file, NULL));
    syn_net_free(net);
}

static void test_one_class(void)
{
    FILE *fp = fopen(path("one.csv"), "w");
    fputs("a,b,label\n1,2,x\n3,4,x\n5,6,x\n", fp);
    fclose(fp);
    h_copy(path("ref.syn"), path("keep.syn"));
    h_result r = run("train --data one.csv --out keep.syn --epochs 1");
    CHECK(r.exited && r.code == 1 && strstr(r.err, "at least 2 classes"),
          "one class: refused: %d %s", r.code, r.err);
    kept("keep.syn", "ref.syn", "one class");
    h_free(&r);
    write_one_class_model(path("one.syn"));
    const char *cmds[] = {"eval --model one.syn --data one.csv",
                          "predict --model one.syn --data one.csv --target label"};
    for (int i = 0; i < 2; i++) {
        r = run(cmds[i]);
        CHECK(r.exited && r.code == 1 && strstr(r.err, "single class"),
              "%s: refused: %d %s", cmds[i], r.code, r.err);
        CHECK(!strstr(r.out, "(null)") && !strstr(r.err, "(null)"), "%s: no (null)", cmds[i]);
        h_free(&r);
    }
}

int main(void)
{
    if (!mkdtemp(dir))
        return perror("mkdtemp"), 1;
    h_copy(SYN_TEST_DIR "/fixtures/model/ckpt_v1/three.csv", path("three.csv"));
    h_copy(SYN_TEST_DIR "/fixtures/model/ckpt_v1/v1.syn", path("ref.syn"));
    test_first_epoch_divergence();
    test_file_size_limit();
    test_one_class();
    return h_finish(&counts, dir);
}
