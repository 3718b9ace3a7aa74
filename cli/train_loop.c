/* train_loop.c - the epoch loop of `synapse train`: progress on stderr (a
 * bar redrawn in place on a terminal, a line per epoch otherwise), the
 * validation pass, early stopping with the best weights restored, the
 * per-epoch CSV log, checkpoints (every N batches and after each epoch),
 * divergence reporting, saving the model with its metadata, the test
 * evaluation and the plot. A resumed run starts from the epochs already
 * recorded in run->progress. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report.h"
#include "train.h"

typedef struct loop_state loop_state;

#define REDRAW_SECONDS 0.1
#define BAR_WIDTH 24

/* saved, test_loss, test_accuracy and stop are filled when the run ends
 * (the log is rewritten then): saved is 1 on the epoch whose weights --out
 * holds (the one early stopping restored, else the last), and the test
 * set's result of those weights is on that row; the last row says why the
 * run stopped (for synapse report). New columns go at the end, so that
 * readers by position keep working. A resumed run's log equals the
 * uninterrupted run's but for the times, so the command line (which
 * differs) is not in it: --report records it. */
static const char log_header[] =
    "epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds,samples_per_second,"
    "saved,test_loss,test_accuracy,lr,stop";

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct progress {
    int tty;           /* stderr is a terminal and not --quiet: draw the bar */
    size_t n_epochs;
    double start, last_draw;
    double loss_sum;
    size_t samples, correct;
    int classify;      /* labelled data: show the running accuracy */
    int drawn;         /* a bar is on the current line */
} progress;

static void clear_bar(progress *p)
{
    if (p->drawn)
        fputs("\r\033[K", stderr);
    p->drawn = 0;
}

/* Four decimals, but a huge value (an exploding loss) in %g: "%.4f" of
 * 1e77 is a 78-digit number. */
static const char *value_format(double v)
{
    return fabs(v) < 1e5 ? "%.4f" : "%.4g";
}

/* The terminal's width: TIOCGWINSZ on stderr (asked at every redraw, so a
 * resized window is followed), else $COLUMNS, else 80. */
static size_t terminal_columns(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *env = getenv("COLUMNS");
    char *end;
    long cols = env ? strtol(env, &end, 10) : 0;
    if (env && *env && !*end && cols > 0 && cols < 10000)
        return (size_t)cols;
    return 80;
}

/* The bar's fields, each optional, in the order they are given up when the
 * terminal is narrow: the bar shrinks first, then goes, then the rate, the
 * ETA and the accuracy; what is left is cut to fit. */
typedef struct bar_fields {
    char head[48], count[48], loss[48], acc[32], rate[48], eta[32];
    size_t filled_of_1000;
} bar_fields;

static size_t compose_bar(char *out, size_t size, const bar_fields *f, size_t bar_w,
                          int rate, int eta, int acc)
{
    char bar[BAR_WIDTH + 3] = "";
    if (bar_w) {
        size_t filled = f->filled_of_1000 * bar_w / 1000;
        bar[0] = '[';
        for (size_t i = 0; i < bar_w; i++)
            bar[1 + i] = i < filled ? '#' : '.';
        bar[1 + bar_w] = ']';
        bar[2 + bar_w] = '\0';
    }
    int n = snprintf(out, size, "%s%s%s %s %s%s%s%s", f->head, bar_w ? " " : "", bar, f->count,
                     f->loss, acc ? f->acc : "", rate ? f->rate : "", eta ? f->eta : "");
    return n < 0 ? 0 : (size_t)n;
}

/* The longest variant that fits `budget` columns (all ASCII). */
static void fit_bar(char *out, size_t size, const bar_fields *f, size_t budget)
{
    size_t without = compose_bar(out, size, f, 0, 1, 1, 1);
    if (without + 3 + BAR_WIDTH <= budget) {
        compose_bar(out, size, f, BAR_WIDTH, 1, 1, 1);
        return;
    }
    if (without + 3 + 8 <= budget) {
        compose_bar(out, size, f, budget - without - 3, 1, 1, 1);
        return;
    }
    static const int keep[][3] = {{1, 1, 1}, {0, 1, 1}, {0, 0, 1}, {0, 0, 0}};
    for (size_t v = 0; v < sizeof keep / sizeof keep[0]; v++)
        if (compose_bar(out, size, f, 0, keep[v][0], keep[v][1], keep[v][2]) <= budget)
            return;
    if (budget < size)
        out[budget] = '\0';
}

/* Keeps the running loss and redraws the bar at most every REDRAW_SECONDS
 * (a terminal is slow next to a small batch), one column short of the
 * terminal's width: a line that reached the last column would wrap, and
 * "\r" would then redraw only its second half, leaving the first behind. */
static void show_batch(progress *p, const syn_batch_report *r)
{
    size_t epoch = r->epoch, batch = r->batch, n_batches = r->n_batches;
    p->loss_sum += r->loss * (double)r->samples;
    p->samples += r->samples;
    p->correct += r->correct;
    if (!p->tty)
        return;
    double t = now_seconds();
    if (t - p->last_draw < REDRAW_SECONDS && batch + 1 < n_batches)
        return;
    p->last_draw = t;
    double elapsed = t - p->start;
    double eta = elapsed / (double)(batch + 1) * (double)(n_batches - batch - 1);
    bar_fields f;
    char rate[32], loss_text[32], total[32] = "";
    f.filled_of_1000 = (batch + 1) * 1000 / n_batches;
    cli_human_count(rate, sizeof rate, elapsed > 0 ? (double)p->samples / elapsed : 0.0);
    if (p->n_epochs)
        snprintf(total, sizeof total, "/%zu", p->n_epochs);
    snprintf(f.head, sizeof f.head, "epoch %zu%s", epoch + 1, total);
    snprintf(f.count, sizeof f.count, "%zu/%zu", batch + 1, n_batches);
    double loss = p->loss_sum / (double)p->samples;
    snprintf(loss_text, sizeof loss_text, value_format(loss), loss);
    snprintf(f.loss, sizeof f.loss, "loss %s", loss_text);
    f.acc[0] = '\0';
    if (p->classify)
        snprintf(f.acc, sizeof f.acc, " acc %.4f", (double)p->correct / (double)p->samples);
    snprintf(f.rate, sizeof f.rate, " %s samples/s", rate);
    snprintf(f.eta, sizeof f.eta, " ETA %.1fs", eta);
    char line[256];
    size_t cols = terminal_columns();
    fit_bar(line, sizeof line, &f, cols > 1 ? cols - 1 : 1);
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
    p->drawn = 1;
}

/* Appends " name value" to the summary's fields (none for a NaN). */
static void add_value(char fields[][48], size_t *n, const char *name, double v)
{
    if (isnan(v))
        return;
    char num[32];
    snprintf(num, sizeof num, value_format(v), v);
    snprintf(fields[(*n)++], 48, "%s %s", name, num);
}

/* The epoch's summary line; on a terminal narrower than it, wrapped at
 * field boundaries with an indent, so no field is cut or left behind. */
static void print_epoch(progress *p, const epoch_result *r)
{
    char fields[8][48], rate[32];
    size_t n = 0;
    double sps = r->seconds > 0 ? (double)r->stats.samples / r->seconds : 0.0;
    cli_human_count(rate, sizeof rate, sps);
    clear_bar(p);
    if (p->n_epochs)
        snprintf(fields[n++], 48, "epoch %zu/%zu", r->stats.epoch + 1, p->n_epochs);
    else
        snprintf(fields[n++], 48, "epoch %zu", r->stats.epoch + 1);
    add_value(fields, &n, "loss", r->stats.loss);
    add_value(fields, &n, "acc", r->stats.accuracy);
    add_value(fields, &n, "val_loss", r->val_loss);
    add_value(fields, &n, "val_acc", r->val_acc);
    snprintf(fields[n++], 48, "%s samples/s", rate);
    snprintf(fields[n++], 48, "%.1fs", r->seconds);
    size_t cols = p->tty ? terminal_columns() : SIZE_MAX, used = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(fields[i]);
        if (i && used + 1 + len >= cols) {
            fputs("\n ", stderr);
            used = 1;
        }
        used += (size_t)fprintf(stderr, "%s%s", i && used > 1 ? " " : "", fields[i]);
    }
    fputc('\n', stderr);
}

/* A CSV number, or an empty field for a value that does not exist. */
static void log_value(FILE *fp, double v)
{
    fputc(',', fp);
    if (!isnan(v))
        fprintf(fp, "%.9g", v);
}

/* What the end of a run adds to the log and the plot. */
typedef struct run_outcome {
    size_t saved_epoch;        /* 1-based; 0 while the run goes on */
    int have_test;
    double test_loss, test_acc;
    const char *stop;          /* why the run stopped ("" unknown) */
} run_outcome;

/* Returns 0 when the row could not be written (errno says why). `last`:
 * the run's last row, which carries the end's stop. */
static int log_epoch(FILE *fp, const epoch_result *r, const run_outcome *end, int last)
{
    double sps = r->seconds > 0 ? (double)r->stats.samples / r->seconds : NAN;
    size_t epoch = r->stats.epoch + 1;
    fprintf(fp, "%zu", epoch);
    log_value(fp, r->stats.loss);
    log_value(fp, r->stats.accuracy);
    log_value(fp, r->val_loss);
    log_value(fp, r->val_acc);
    log_value(fp, r->seconds);
    log_value(fp, sps);
    int saved = end && end->saved_epoch == epoch;
    if (end && end->saved_epoch)
        fprintf(fp, ",%d", saved);
    else
        fputc(',', fp);
    log_value(fp, saved && end->have_test ? end->test_loss : NAN);
    log_value(fp, saved && end->have_test ? end->test_acc : NAN);
    /* A float: 7 digits name it without a tail of float noise. */
    fprintf(fp, ",%.7g", (double)r->stats.lr);
    fputc(',', fp);
    if (end && last && end->stop)
        cli_csv_field(fp, end->stop);
    fputc('\n', fp);
    /* The reason of a failure is read here: by the commit, errno would tell
     * of some later call. */
    return fflush(fp) == 0 && !ferror(fp);
}

static syn_status validate(train_run *run, epoch_result *r)
{
    r->val_loss = r->val_acc = NAN;
    if (run->n_val == 0)
        return SYN_OK;
    syn_eval ev;
    syn_status st = syn_evaluate(run->net, run->eval_ws, run->data, run->val_rows, run->n_val,
                                 &ev, NULL);
    if (st == SYN_OK) {
        r->val_loss = ev.loss;
        r->val_acc = ev.accuracy;
    }
    return st;
}

/* What the stopping rule watches: the validation loss when there are
 * validation rows (Keras's EarlyStopping default; a classifier's validation
 * error moves in steps of one row, too coarse to rank epochs on a few
 * hundred rows), else the training loss (sklearn's MLP default). */
static const char *monitored_name(const train_run *run)
{
    return run->n_val ? "validation loss" : "training loss";
}

static double monitored_value(const train_run *run, const epoch_result *r)
{
    return run->n_val ? r->val_loss : r->stats.loss;
}

/* The stopping rule after an epoch: keeps the best weights (validation
 * only: the training loss of the best epoch says nothing of the others'
 * generalisation), lowers the rate on a plateau; returns nonzero when the
 * run is to stop. */
static int stopping_rule(const train_options *o, train_run *run, const epoch_result *r,
                         syn_status *st)
{
    train_progress *p = &run->progress;
    if (!run->plan.stopping)
        return 0;
    syn_plateau_action action;
    double loss = monitored_value(run, r);
    *st = syn_plateau_update(&p->plateau, r->stats.epoch, loss, &action);
    if (*st != SYN_OK)
        return 0;
    if (action == SYN_PLATEAU_IMPROVED && run->n_val) {
        *st = run->best ? syn_net_copy_params(run->best, run->net)
                        : syn_net_clone(run->net, &run->best);
        p->have_best = 1;
        p->best = *r;
        p->best_epoch = r->stats.epoch;
    } else if (action == SYN_PLATEAU_CUT_LR) {
        syn_trainer_state state;
        syn_trainer_get_state(run->trainer, &state);
        float lr = state.base_lr * p->plateau.lr_factor;
        *st = syn_trainer_set_base_lr(run->trainer, lr);
        if (!o->quiet)
            fprintf(stderr, "epoch %zu: %s has not improved for %zu epochs; learning rate "
                    "%g -> %g\n", r->stats.epoch + 1, monitored_name(run),
                    p->plateau.since_best, (double)state.base_lr, (double)lr);
    }
    return action == SYN_PLATEAU_STOP;
}

/* --schedule plateau: ReduceLROnPlateau on the monitored loss (the
 * validation loss, else the training loss), in the trainer. */
static syn_status plateau_schedule(const train_options *o, train_run *run,
                                   const epoch_result *r)
{
    syn_trainer_state before;
    syn_trainer_get_state(run->trainer, &before);
    int lowered = 0;
    syn_status st = syn_trainer_observe_loss(run->trainer, monitored_value(run, r), &lowered);
    if (st == SYN_OK && lowered && !o->quiet) {
        syn_trainer_state after;
        syn_trainer_get_state(run->trainer, &after);
        fprintf(stderr, "epoch %zu: %s has not improved for %zu epochs (plateau schedule); "
                "learning rate %g -> %g\n", r->stats.epoch + 1, monitored_name(run),
                before.plateau.since_cut + 1, (double)before.base_lr, (double)after.base_lr);
    }
    return st;
}

/* Why the run ended after its last epoch, for the log and the report. */
static void stop_reason(const train_run *run, int by_rule, char *buf, size_t size)
{
    const train_progress *p = &run->progress;
    if (by_rule)
        snprintf(buf, size, "the %s had not improved for %zu epochs", monitored_name(run),
                 p->plateau.since_best);
    else if (run->plan.stopping)
        snprintf(buf, size, "the cap of %zu epochs (%s)", run->plan.max_epochs,
                 run->plan.auto_epochs ? "--max-epochs" : "--epochs");
    else
        snprintf(buf, size, "all %zu epochs of --epochs ran", run->plan.max_epochs);
}

/* Why the run ended, after its last epoch (a rule's stop or its cap). */
static void report_stop(const train_options *o, train_run *run, char *stop, size_t size,
                        int by_rule)
{
    const train_progress *p = &run->progress;
    stop_reason(run, by_rule, stop, size);
    if (o->quiet || !run->plan.stopping || !p->n_results)
        return;
    size_t last = p->results[p->n_results - 1].stats.epoch + 1;
    if (by_rule)
        fprintf(stderr, "stopped at epoch %zu: %s has not improved for %zu epochs", last,
                monitored_name(run), p->plateau.since_best);
    else
        fprintf(stderr, "stopped at epoch %zu: the cap of %zu epochs (%s)", last,
                run->plan.max_epochs, run->plan.auto_epochs ? "--max-epochs" : "--epochs");
    if (p->have_best && run->best)
        fprintf(stderr, "; restored epoch %zu (%s %.4f)\n", p->best_epoch + 1,
                monitored_name(run), monitored_value(run, &p->best));
    else
        fputc('\n', stderr);
}

/* Regression targets were standardised: the model learns to predict in
 * the data's units by folding the inverse into its output layer. */
static syn_status unscale_outputs(train_run *run)
{
    if (!run->plan.scale_targets)
        return SYN_OK;
    float *mul = malloc(run->n_targets * sizeof(float));
    if (!mul)
        return SYN_ERR_OUT_OF_MEMORY;
    for (size_t j = 0; j < run->n_targets; j++)
        mul[j] = (float)(1.0 / (double)run->target_scale[j]);
    syn_status st = syn_net_scale_outputs(run->net, mul, run->target_offset);
    free(mul);
    return st;
}

static syn_status set_meta(const train_options *o, train_run *run, const epoch_result *last,
                           uint64_t samples_seen)
{
    syn_train_meta m;
    memset(&m, 0, sizeof m);
    /* Finished epochs: after a stop mid-epoch the trainer counts the cut
     * epoch too, the results do not. */
    m.epochs = run->progress.n_results;
    m.seed = (uint64_t)o->seed;
    m.samples_seen = samples_seen;
    m.train_loss = last ? last->stats.loss : NAN;
    m.train_accuracy = last ? last->stats.accuracy : NAN;
    m.val_loss = last ? last->val_loss : NAN;
    m.val_accuracy = last ? last->val_acc : NAN;
    snprintf(m.library_version, sizeof m.library_version, "%s", syn_version());
    snprintf(m.optimizer, sizeof m.optimizer, "%s", syn_optim_name(o->optimizer));
    return syn_net_set_meta(run->net, &m);
}

/* The saved model on the test set (after finish_model: in the data's
 * units, the restored weights). */
static int evaluate_test(const train_options *o, train_run *run, syn_eval *ev,
                         double *trained_units_loss)
{
    syn_target_eval *per = NULL;
    if (run->plan.scale_targets && !(per = calloc(run->n_targets, sizeof *per)))
        return cli_runtime_error("train", "out of memory");
    syn_status st = syn_evaluate_targets(run->net, run->eval_ws, run->test, NULL, 0, ev, NULL,
                                         per);
    *trained_units_loss = ev->loss;
    /* The log and plot show losses as trained: standardised targets, where
     * an output's error is its data-unit error times its scale, and the
     * MSE loss is the mean over the outputs. */
    if (st == SYN_OK && per) {
        double sum = 0.0;
        for (size_t j = 0; j < run->n_targets; j++)
            sum += per[j].mse * (double)run->target_scale[j] * (double)run->target_scale[j];
        *trained_units_loss = sum / (double)run->n_targets;
    }
    free(per);
    return st == SYN_OK ? SYN_EXIT_OK : cli_library_error("train", st, NULL, o->test_data);
}

static void print_test(const train_options *o, const train_run *run, const syn_eval *ev)
{
    /* --quiet keeps the one result a scripted run wants; --silent drops it. */
    if (o->quiet >= 2)
        return;
    if (run->classify)
        printf("test: loss %.4g accuracy %.4f (%zu samples)\n", ev->loss, ev->accuracy,
               ev->samples);
    else
        printf("test: loss %.4g mse %.6g mae %.6g r2 %.4f (%zu samples)\n", ev->loss, ev->mse,
               ev->mae, ev->r2, ev->samples);
}

/* The epoch whose weights the saved model holds (1-based). */
static size_t saved_epoch(const train_run *run)
{
    const train_progress *p = &run->progress;
    if (p->have_best && run->best)
        return p->best_epoch + 1;
    return p->n_results ? p->results[p->n_results - 1].stats.epoch + 1 : 0;
}

static int write_plot(const train_options *o, train_run *run, const run_outcome *end)
{
    run->history.test_epoch = end->have_test ? end->saved_epoch : 0;
    run->history.test_loss = end->test_loss;
    run->history.test_acc = end->test_acc;
    run->history.restored_epoch = run->progress.have_best && run->best ? end->saved_epoch : 0;
    cli_out_file f;
    int rc = cli_out_open("train", o->plot, &f);
    if (rc != SYN_EXIT_OK)
        return rc;
    char title[512];
    snprintf(title, sizeof title, "synapse train: %s", o->data);
    cli_plot_svg(f.fp, &run->history, title, run->classify);
    return cli_out_commit("train", &f);
}

/* The loop's running state. */
struct loop_state {
    const train_options *o;
    train_run *run;
    progress prog;
    cli_out_file log;
    syn_status ckpt_status; /* the first failed checkpoint write */
    syn_error ckpt_err;
    int stopped;            /* the signal that stopped the run (signals.c) */
    int warned_growth;      /* the exploding-loss warning was given */
    syn_batch_report stopped_at;
    char stop[192];         /* why the run stopped, for the log and the report */
    char *command;          /* the command line (malloc'd; NULL: out of memory) */
    double train_seconds, eval_seconds; /* this invocation's passes */
};

/* --report: after the model, the log and the plot are written. */
static int write_report(const train_options *o, train_run *run, const loop_state *s,
                        const run_outcome *end)
{
    train_report_facts facts = {.saved_epoch = end->saved_epoch,
                                .restored = run->progress.have_best && run->best,
                                .stop = s->stop, .command = s->command,
                                .train_seconds = s->train_seconds,
                                .eval_seconds = s->eval_seconds};
    return train_report(o, run, &facts);
}

/* Rewrites the log with the end's columns and commits it. */
static int finish_log(loop_state *s, const run_outcome *end)
{
    FILE *fp = s->log.fp;
    const train_progress *p = &s->run->progress;
    if (!s->log.write_errno) {
        if (fflush(fp) != 0 || fseek(fp, 0, SEEK_SET) != 0 || ftruncate(fileno(fp), 0) != 0)
            s->log.write_errno = errno ? errno : EIO;
    }
    if (!s->log.write_errno) {
        fprintf(fp, "%s\n", log_header);
        for (size_t i = 0; i < p->n_results; i++)
            if (!log_epoch(fp, &p->results[i], end, i + 1 == p->n_results) &&
                !s->log.write_errno)
                s->log.write_errno = errno;
    }
    return cli_out_commit("train", &s->log);
}

/* Writes the checkpoint: the trainer's state with the command's own
 * (options, data fingerprint, results so far, best weights). */
static syn_status save_checkpoint(loop_state *s)
{
    uint8_t *block = NULL;
    size_t size = 0;
    memset(&s->ckpt_err, 0, sizeof s->ckpt_err);
    /* The metadata of the epochs so far, for `synapse info` on the file. */
    train_run *run = s->run;
    const train_progress *p = &run->progress;
    syn_status st = set_meta(s->o, run, p->n_results ? &p->results[p->n_results - 1] : NULL,
                             p->samples_seen);
    if (st != SYN_OK)
        return st;
    /* A regression's checkpoint is a model in the data's units (for eval
     * and predict on it); the parameters as trained go in the block, and
     * the network gets them back bit for bit after the write. */
    size_t n_params = 0;
    float *params = syn_net_params(run->net, &n_params), *trained = NULL;
    if (run->plan.scale_targets) {
        if (!(trained = malloc(n_params * sizeof(float))))
            return SYN_ERR_OUT_OF_MEMORY;
        memcpy(trained, params, n_params * sizeof(float));
        st = unscale_outputs(run);
    }
    if (st == SYN_OK && !train_ckpt_encode(s->o, run, trained, n_params, &block, &size))
        st = SYN_ERR_OUT_OF_MEMORY;
    if (st == SYN_OK) {
        cli_signals_block(1);
        st = syn_checkpoint_save(run->trainer, block, size, s->o->checkpoint, &s->ckpt_err);
        cli_signals_block(0);
    }
    if (trained)
        memcpy(params, trained, n_params * sizeof(float));
    free(trained);
    free(block);
    return st;
}

/* The per-batch callback: progress, and a checkpoint every
 * --checkpoint-every batches counted over the whole run. The trainer has
 * already moved its position past this batch, so the checkpoint holds the
 * batch's update. A failed write stops the epoch (the previous checkpoint
 * is intact: writes are atomic). */
static int on_batch(void *user, const syn_batch_report *r)
{
    loop_state *s = user;
    cli_ranks_batch_done(r);
    show_batch(&s->prog, r);
    if (cli_stop_requested()) {
        /* Here the trainer's position is just past this batch: a checkpoint
         * written now resumes exactly. */
        s->stopped = cli_stop_requested();
        s->stopped_at = *r;
        if (s->o->checkpoint)
            s->ckpt_status = save_checkpoint(s);
        return 1;
    }
    if (!s->o->checkpoint || s->o->checkpoint_every <= 0)
        return 0;
    uint64_t global = (uint64_t)r->epoch * r->n_batches + r->batch + 1;
    if (global % (uint64_t)s->o->checkpoint_every != 0)
        return 0;
    s->ckpt_status = save_checkpoint(s);
    return s->ckpt_status != SYN_OK;
}

/* A loss that stays finite while it grows by orders of magnitude is a
 * divergence the NaN check never sees (Adam's normalised steps keep the
 * weights finite): warn once, when an epoch's loss exceeds GROWTH times
 * the lowest so far. */
#define GROWTH 1e3
static void warn_growth(const train_options *o, const train_run *run, loop_state *s,
                        const epoch_result *r)
{
    const train_progress *p = &run->progress;
    size_t lowest = 0;
    for (size_t i = 1; i < p->n_results; i++)
        if (p->results[i].stats.loss < p->results[lowest].stats.loss)
            lowest = i;
    double low = p->n_results ? p->results[lowest].stats.loss : NAN;
    if (o->quiet || s->warned_growth || !(low > 0) || !(r->stats.loss > GROWTH * low))
        return;
    s->warned_growth = 1;
    clear_bar(&s->prog);
    char lr[32] = "the default";
    if (o->lr > 0)
        snprintf(lr, sizeof lr, "%g", o->lr);
    fprintf(stderr, "synapse train: warning: the training loss grew from %.4g (epoch %zu) to "
            "%.4g (epoch %zu), more than %gx; the learning rate (--lr %s) is probably too "
            "high\n", low, lowest + 1, r->stats.loss, r->stats.epoch + 1, GROWTH, lr);
}

/* One epoch: train (timed), validate, record; returns the library status. */
static syn_status run_epoch(const train_options *o, train_run *run, loop_state *s,
                            epoch_result *r)
{
    memset(r, 0, sizeof *r);
    /* A resumed epoch's running figures start from the sums saved with it. */
    syn_trainer_state state;
    syn_trainer_get_state(run->trainer, &state);
    s->prog.loss_sum = state.loss_sum;
    s->prog.samples = (size_t)state.samples;
    s->prog.correct = (size_t)state.correct;
    s->prog.start = s->prog.last_draw = now_seconds();
    syn_status st = syn_trainer_epoch(run->trainer, run->data, run->train_rows, run->n_train,
                                      on_batch, s, &r->stats);
    r->seconds = now_seconds() - s->prog.start;
    s->train_seconds += r->seconds;
    if (st == SYN_OK && s->ckpt_status != SYN_OK)
        return s->ckpt_status;
    if (st == SYN_OK && s->stopped)
        return SYN_OK; /* the cut epoch is not a result */
    if (st != SYN_OK)
        return st;
    run->progress.samples_seen += r->stats.samples;
    double started = now_seconds();
    st = validate(run, r);
    s->eval_seconds += now_seconds() - started;
    if (st != SYN_OK)
        return st;
    if (!cli_history_push(&run->history, r->stats.loss, r->stats.accuracy, r->val_loss,
                          r->val_acc) ||
        !train_progress_push(&run->progress, r))
        return SYN_ERR_OUT_OF_MEMORY;
    if (s->log.fp && !log_epoch(s->log.fp, r, NULL, 0) && !s->log.write_errno)
        s->log.write_errno = errno;
    if (!o->quiet)
        print_epoch(&s->prog, r);
    warn_growth(o, run, s, r);
    return SYN_OK;
}

static void report_divergence(train_run *run, loop_state *s, const epoch_result *r)
{
    clear_bar(&s->prog);
    size_t b = run->plan.batch;
    size_t n_batches = b > 0 ? (run->n_train + b - 1) / b : 1;
    fprintf(stderr, "synapse train: training diverged at epoch %zu, batch %zu/%zu (loss or "
            "gradient is NaN/Inf); try a lower learning rate (--lr, now %g)\n",
            r->stats.epoch + 1, r->stats.batches + 1, n_batches, (double)r->stats.lr);
    snprintf(s->stop, sizeof s->stop, "diverged in epoch %zu (loss or gradient NaN/Inf)",
             r->stats.epoch + 1);
}

/* After the loop: best weights back, metadata, save. Returns an exit code. */
static int finish_model(const train_options *o, train_run *run)
{
    const train_progress *p = &run->progress;
    const epoch_result *last = p->n_results ? &p->results[p->n_results - 1] : NULL;
    const epoch_result *meta_from = last;
    syn_status st = SYN_OK;
    if (p->have_best && run->best) {
        st = syn_net_copy_params(run->net, run->best);
        meta_from = &p->best;
    }
    if (st == SYN_OK)
        st = unscale_outputs(run);
    if (st == SYN_OK)
        st = set_meta(o, run, meta_from, p->samples_seen);
    if (st != SYN_OK)
        return cli_library_error("train", st, NULL, "finishing the model");
    if (o->no_output)
        return SYN_EXIT_OK;
    syn_error err = {{0}};
    cli_signals_block(1);
    st = syn_net_save(run->net, NULL, o->out, &err);
    cli_signals_block(0);
    if (st != SYN_OK)
        return cli_library_error("train", st, &err, o->out);
    return SYN_EXIT_OK;
}

static int checkpoint_error(loop_state *s)
{
    clear_bar(&s->prog);
    if (s->ckpt_err.message[0])
        return cli_runtime_error("train", "checkpoint %.*s; stopping (the previous checkpoint "
                                 "is intact)", (int)strcspn(s->ckpt_err.message, "\r\n"),
                                 s->ckpt_err.message);
    return cli_runtime_error("train", "checkpoint %s: %s; stopping", s->o->checkpoint,
                             syn_strerror(s->ckpt_status));
}

static int run_epochs(const train_options *o, train_run *run, loop_state *s, int *diverged)
{
    while (syn_trainer_epochs_done(run->trainer) < run->plan.max_epochs) {
        epoch_result r;
        syn_status st = run_epoch(o, run, s, &r);
        if (st == SYN_OK && s->stopped)
            return SYN_EXIT_OK;
        if (st == SYN_ERR_DIVERGED) {
            /* No checkpoint is written after this: the last one holds the
             * last good state. */
            report_divergence(run, s, &r);
            *diverged = 1;
            return SYN_EXIT_OK;
        }
        if (s->ckpt_status != SYN_OK)
            return checkpoint_error(s);
        if (st == SYN_OK && run->plan.plateau)
            st = plateau_schedule(o, run, &r);
        if (st == SYN_OK && stopping_rule(o, run, &r, &st) && st == SYN_OK) {
            report_stop(o, run, s->stop, sizeof s->stop, 1);
            return SYN_EXIT_OK;
        }
        /* After each epoch, with its results and early-stopping update. */
        if (st == SYN_OK && o->checkpoint && (s->ckpt_status = save_checkpoint(s)) != SYN_OK)
            return checkpoint_error(s);
        if (st != SYN_OK) {
            clear_bar(&s->prog);
            if (st == SYN_ERR_COMM)
                return cli_ranks_failed(st);
            return cli_library_error("train", st, NULL, "training");
        }
    }
    report_stop(o, run, s->stop, sizeof s->stop, 0);
    return SYN_EXIT_OK;
}

/* After SIGINT/SIGTERM stopped the loop at a batch boundary: the model of
 * the finished epochs' run so far (none if no epoch finished: that would
 * be the random start), the log, and what to do next. */
static int finish_stopped(const train_options *o, train_run *run, loop_state *s)
{
    clear_bar(&s->prog);
    const syn_batch_report *at = &s->stopped_at;
    const char *name = s->stopped == SIGINT ? "SIGINT" : s->stopped == SIGTERM ? "SIGTERM"
                                                                                : "a signal";
    fprintf(stderr, "synapse train: interrupted by %s after batch %zu/%zu of epoch %zu\n", name,
            at->batch + 1, at->n_batches, at->epoch + 1);
    int rc = SYN_EXIT_OK;
    if (run->progress.n_results == 0) {
        cli_out_abort(&s->log);
        fprintf(stderr, "synapse train: no epoch finished, so no model was saved (%s is "
                "unchanged)\n", o->out);
    } else {
        rc = finish_model(o, run);
        snprintf(s->stop, sizeof s->stop, "interrupted by %s in epoch %zu", name,
                 at->epoch + 1);
        run_outcome end = {.saved_epoch = saved_epoch(run), .test_loss = NAN,
                           .test_acc = NAN, .stop = s->stop};
        if (s->log.fp) {
            int log_rc = finish_log(s, &end);
            rc = rc == SYN_EXIT_OK ? log_rc : rc;
        }
        if (rc == SYN_EXIT_OK && o->plot)
            rc = write_plot(o, run, &end);
        if (rc == SYN_EXIT_OK && o->report)
            rc = write_report(o, run, s, &end);
        if (rc == SYN_EXIT_OK)
            fprintf(stderr, "synapse train: saved %s (%zu finished epochs, and the batches "
                    "of epoch %zu so far)\n", o->out, run->progress.n_results, at->epoch + 1);
    }
    if (o->checkpoint && s->ckpt_status == SYN_OK)
        fprintf(stderr, "synapse train: checkpoint %s holds the run after that batch; "
                "continue with: synapse train --resume %s --out %s\n", o->checkpoint,
                o->checkpoint, o->out);
    else if (o->checkpoint)
        checkpoint_error(s);
    else
        fprintf(stderr, "synapse train: no checkpoint was written (--checkpoint FILE makes a "
                "run resumable)\n");
    return rc == SYN_EXIT_OK ? 128 + s->stopped : rc;
}

/* The one line before the first epoch: what was chosen and why. */
static void report_plan(const train_options *o, train_run *run)
{
    if (o->quiet)
        return;
    const train_plan *pl = &run->plan;
    size_t n = syn_dataset_n_samples(run->data), f = syn_dataset_n_features(run->data);
    /* The task and classes are on the line before (describe_data). */
    char val[160], batch[32], rule[256];
    if (run->n_val)
        snprintf(val, sizeof val, ": %zu training, %zu validation%s", run->n_train, run->n_val,
                 pl->stratified ? " (stratified)" : "");
    else
        snprintf(val, sizeof val, ", all for training%s", pl->auto_val
                 ? " (too few for a validation split)" : "");
    if (pl->batch)
        snprintf(batch, sizeof batch, "batch %zu", pl->batch);
    else
        snprintf(batch, sizeof batch, "full batch");
    syn_trainer_state state;
    syn_trainer_get_state(run->trainer, &state);
    const syn_plateau *r = &run->progress.plateau;
    if (pl->stopping) {
        int k = snprintf(rule, sizeof rule, "stops when the %s has not improved by %g "
                         "(relative) for %zu epochs, at most %zu epochs", monitored_name(run),
                         r->tol, r->patience, pl->max_epochs);
        if (r->lr_patience && k > 0 && (size_t)k < sizeof rule)
            snprintf(rule + k, sizeof rule - (size_t)k, "; learning rate x%g after %zu",
                     (double)r->lr_factor, r->lr_patience);
    } else {
        snprintf(rule, sizeof rule, "%zu epochs", pl->max_epochs);
    }
    syn_optim_desc od = syn_optimizer_desc(syn_trainer_optimizer(run->trainer));
    const char *hidden = o->init     ? "those of --init"
                         : o->layers ? o->layers
                         : *pl->hidden ? pl->hidden
                                       : "none";
    /* A schedule other than the default's, and a warmup, are named. */
    char sched[96] = "";
    const syn_schedule *sc = &state.train.schedule;
    int named = o->schedule >= 0 || sc->warmup;
    if (named)
        snprintf(sched, sizeof sched, ", %s schedule%s", syn_schedule_name(sc->kind),
                 sc->warmup ? " after a linear warmup" : "");
    if (named && sc->warmup) {
        size_t k = strlen(sched);
        snprintf(sched + k, sizeof sched - k, " of %zu epoch%s", sc->warmup,
                 sc->warmup == 1 ? "" : "s");
    }
    fprintf(stderr, "train: %zu features, %zu rows%s; hidden %s; %s, %s lr %g weight decay %g%s; "
            "%s%s\n", f, n, val, hidden, batch, syn_optim_name(o->optimizer),
            (double)state.base_lr, (double)od.weight_decay, sched, rule,
            pl->scale_targets ? "; targets standardised while training" : "");
}

/* A resumed run's log and plot start with the epochs it already ran. */
static int replay_progress(train_run *run, loop_state *s)
{
    const train_progress *p = &run->progress;
    for (size_t i = 0; i < p->n_results; i++) {
        const epoch_result *r = &p->results[i];
        if (!cli_history_push(&run->history, r->stats.loss, r->stats.accuracy, r->val_loss,
                              r->val_acc))
            return 0;
        if (s->log.fp && !log_epoch(s->log.fp, r, NULL, 0) && !s->log.write_errno)
            s->log.write_errno = errno;
    }
    return 1;
}

static int run_loop(const train_options *o, train_run *run, loop_state *init);

int train_loop(const train_options *o, train_run *run)
{
    loop_state s;
    memset(&s, 0, sizeof s);
    s.command = report_command_line(run->argc, run->argv);
    int rc = run_loop(o, run, &s);
    free(s.command);
    return rc;
}

static int run_loop(const train_options *o, train_run *run, loop_state *init)
{
    loop_state s = *init;
    s.o = o;
    s.run = run;
    s.prog.tty = !o->quiet && isatty(STDERR_FILENO);
    s.prog.n_epochs = run->plan.auto_epochs ? 0 : run->plan.max_epochs;
    s.prog.classify = syn_dataset_n_classes(run->data) > 0;
    int rc = o->log ? cli_out_open("train", o->log, &s.log) : SYN_EXIT_OK;
    if (rc != SYN_EXIT_OK)
        return rc;
    if (s.log.fp)
        fprintf(s.log.fp, "%s\n", log_header);
    if (!replay_progress(run, &s))
        rc = cli_runtime_error("train", "out of memory");
    int diverged = 0;
    if (rc == SYN_EXIT_OK)
        report_plan(o, run);
    cli_signals_graceful(1);
    if (rc == SYN_EXIT_OK)
        rc = run_epochs(o, run, &s, &diverged);
    /* From here a signal ends the command at once (saves are blocked). */
    cli_signals_graceful(0);
    if (rc == SYN_EXIT_OK && s.stopped)
        return finish_stopped(o, run, &s);
    /* A model that finished no epoch is the random start (or --init's
     * model unchanged): it must not replace what --out holds. */
    if (rc == SYN_EXIT_OK && diverged && syn_trainer_epochs_done(run->trainer) == 0) {
        cli_out_abort(&s.log);
        fprintf(stderr, "synapse train: no epoch finished, so nothing was saved (%s is "
                "unchanged)\n", o->out);
        return SYN_EXIT_RUNTIME;
    }
    if (rc == SYN_EXIT_OK)
        rc = finish_model(o, run);
    /* The test set scores the saved weights; its result goes in the log and
     * the plot too, so it is measured before they are written. */
    run_outcome end = {.saved_epoch = saved_epoch(run), .test_loss = NAN, .test_acc = NAN,
                       .stop = s.stop};
    syn_eval test_ev;
    double started = now_seconds();
    if (rc == SYN_EXIT_OK && run->test && !diverged &&
        (rc = evaluate_test(o, run, &test_ev, &end.test_loss)) == SYN_EXIT_OK) {
        end.have_test = 1;
        end.test_acc = test_ev.accuracy;
    }
    s.eval_seconds += now_seconds() - started;
    if (s.log.fp) {
        int log_rc = finish_log(&s, &end);
        rc = rc == SYN_EXIT_OK ? log_rc : rc;
    }
    if (rc == SYN_EXIT_OK && o->plot)
        rc = write_plot(o, run, &end);
    if (rc == SYN_EXIT_OK && o->report)
        rc = write_report(o, run, &s, &end);
    if (rc == SYN_EXIT_OK && diverged) {
        fprintf(stderr, "synapse train: saved %s with the last good epoch's weights (%zu "
                "epochs)\n", o->out, syn_trainer_epochs_done(run->trainer));
        return SYN_EXIT_RUNTIME;
    }
    if (rc == SYN_EXIT_OK && end.have_test)
        print_test(o, run, &test_ev);
    if (rc == SYN_EXIT_OK && !o->quiet)
        printf("saved %s (%zu parameters, %zu epochs)\n", o->out,
               syn_net_param_count(run->net), syn_trainer_epochs_done(run->trainer));
    return rc;
}
