/* train_options.c - the options of `synapse train` in one table. A row says
 * how the option is parsed (the cli_option fields), its default, and
 * whether a checkpoint stores it and how a resume treats it. The parser,
 * the defaults, the checkpoint's option block (train_ckpt.c, which stores
 * the options by name and checks every one on reading) and the resume
 * checks all work from this table, so a new option is one row here (and a
 * line of the help text in train.c). */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "train.h"

/* --activation, --optimizer and --loss: the library's names (syn_activation_name,
 * syn_optim_name), indexed by the enum value, filled by train_names_init()
 * before any command runs; a checkpoint stores the chosen word, so the
 * order may grow with the enums (version 1 stored indices: train_ckpt.c
 * maps its own order). */
const char *train_activation_names[SYN_ACT_COUNT_ + 1];
const char *train_optimizer_names[SYN_OPTIM_COUNT_ + 1];
const char *train_loss_names[SYN_LOSS_COUNT_ + 1]; /* syn_loss_name, the same way */

void train_names_init(void)
{
    for (int a = 0; a < SYN_ACT_COUNT_; a++)
        train_activation_names[a] = syn_activation_name((syn_activation)a);
    train_activation_names[SYN_ACT_COUNT_] = NULL;
    for (int k = 0; k < SYN_OPTIM_COUNT_; k++)
        train_optimizer_names[k] = syn_optim_name((syn_optim_kind)k);
    train_optimizer_names[SYN_OPTIM_COUNT_] = NULL;
    for (int l = 0; l < SYN_LOSS_COUNT_; l++)
        train_loss_names[l] = syn_loss_name((syn_loss)l);
    train_loss_names[SYN_LOSS_COUNT_] = NULL;
}
/* Indexed by syn_schedule_kind. */
const char *const train_schedule_names[] = {"constant", "step", "cosine", "exponential",
                                            "onecycle", "plateau", NULL};
const char *const train_scale_names[] = {"none", "minmax", "standard", NULL};
const char *const train_task_names[] = {"auto", "classify", "regress", NULL};
/* Indexed by syn_init. */
const char *const train_init_names[] = {"auto", "uniform", "xavier", "he", "torch", NULL};
_Static_assert(sizeof train_init_names / sizeof train_init_names[0] == SYN_INIT_COUNT_ + 1,
               "one --weight-init name per syn_init");

#define AT(member) offsetof(train_options, member)
/* name, kind, member, min, max, choices, flag value, default, string default,
 * resume rule, how the default reads when it is a sentinel (NULL: as a value). */
#define ROW(name, kind, member, min, max, choices, flag, def, def_text, resume, means) \
    {name, kind, AT(member), min, max, choices, flag, def, def_text, resume, means}

const train_option_row train_option_rows[] = {
    /* Paths may differ on resume: the data is checked by content. */
    ROW("--data", CLI_STRING, data, 0, 0, NULL, 0, 0, NULL, OPT_TAKE, NULL),
    ROW("--labels", CLI_STRING, labels, 0, 0, NULL, 0, 0, NULL, OPT_TAKE, NULL),
    ROW("--target", CLI_STRING, target, 0, 0, NULL, 0, 0, NULL, OPT_MATCH, NULL),
    ROW("--test-data", CLI_STRING, test_data, 0, 0, NULL, 0, 0, NULL, OPT_TAKE, NULL),
    ROW("--test-labels", CLI_STRING, test_labels, 0, 0, NULL, 0, 0, NULL, OPT_TAKE, NULL),
    ROW("--task", CLI_CHOICE, task, 0, 0, train_task_names, 0, 0, NULL, OPT_MATCH, NULL),
    ROW("--delimiter", CLI_STRING, delimiter, 0, 0, NULL, 0, 0, NULL, OPT_MATCH, NULL),
    /* The network's input shape: part of the architecture, so it must agree. */
    ROW("--input-shape", CLI_STRING, input_shape, 0, 0, NULL, 0, 0, NULL, OPT_MATCH,
        "the data's"),
    /* One field, two flags: 0 detect, 1 --header, -1 --no-header. */
    ROW("--header", CLI_FLAG, header, 0, 0, NULL, 1, 0, NULL, OPT_MATCH, "detection"),
    ROW("--no-header", CLI_FLAG, header, 0, 0, NULL, -1, 0, NULL, OPT_LOCAL, "detection"),
    /* -1: chosen from the rows (train.c, choose_plan), as are --hidden,
     * --batch and, without --epochs, --schedule and --weight-decay. */
    ROW("--val-split", CLI_DOUBLE, val_split, 0, 0.99, NULL, 0, -1, NULL, OPT_MATCH,
        "the default"),
    /* How the CSV's columns are encoded: the data's fingerprint is taken
     * before the imputation, so these must agree for it to mean anything. */
    ROW("--na-values", CLI_STRING, na_values, 0, 0, NULL, 0, 0, NULL, OPT_MATCH,
        "the default list"),
    ROW("--categorical", CLI_STRING, categorical, 0, 0, NULL, 0, 0, NULL, OPT_MATCH, "none"),
    ROW("--ignore", CLI_STRING, ignore, 0, 0, NULL, 0, 0, NULL, OPT_MATCH, "none"),
    /* 0: 100. */
    ROW("--max-categories", CLI_LONG, max_categories, 1, 1e9, NULL, 0, 0, NULL, OPT_MATCH,
        "100"),
    /* Only the test set's unseen categories: the training is the same. */
    ROW("--strict", CLI_FLAG, strict, 0, 0, NULL, 1, 0, NULL, OPT_LOCAL, NULL),
    ROW("--scale", CLI_CHOICE, scale, 0, 0, train_scale_names, 0, SYN_SCALE_STANDARD, NULL,
        OPT_MATCH, NULL),
    ROW("--hidden", CLI_STRING, hidden, 0, 0, NULL, 0, 0, NULL, OPT_MATCH, NULL),
    ROW("--layers", CLI_STRING, layers, 0, 0, NULL, 0, 0, NULL, OPT_MATCH, NULL),
    ROW("--activation", CLI_CHOICE, activation, 0, 0, train_activation_names, 0, SYN_ACT_RELU,
        NULL, OPT_MATCH, NULL),
    /* -1: inferred from the data. */
    ROW("--loss", CLI_CHOICE, loss, 0, 0, train_loss_names, 0, -1, NULL, OPT_MATCH,
        "the default"),
    /* CrossEntropyLoss(label_smoothing=); below 1 (train.c checks). */
    ROW("--label-smoothing", CLI_DOUBLE, label_smoothing, 0, 1, NULL, 0, 0, NULL, OPT_MATCH,
        NULL),
    /* "balanced" (sklearn's n_samples / (n_classes * count)) or a list. */
    ROW("--class-weights", CLI_STRING, class_weights, 0, 0, NULL, 0, 0, NULL, OPT_MATCH,
        "none"),
    /* 0: HuberLoss's default, 1.0. */
    ROW("--huber-delta", CLI_DOUBLE, huber_delta, 1e-30, 1e30, NULL, 0, 0, NULL, OPT_MATCH,
        "1.0"),
    ROW("--optimizer", CLI_CHOICE, optimizer, 0, 0, train_optimizer_names, 0, SYN_OPTIM_ADAM,
        NULL, OPT_MATCH, NULL),
    /* -1: the optimizer's default. */
    ROW("--lr", CLI_DOUBLE, lr, 1e-12, 1e12, NULL, 0, -1, NULL, OPT_MATCH, "the default"),
    ROW("--weight-decay", CLI_DOUBLE, weight_decay, 0, 1e6, NULL, 0, -1, NULL, OPT_MATCH,
        "the default"),
    /* The optimizers' own settings (syn_optim_desc); -1: the optimizer's
     * default. Each applies to the optimizers that have it, and is refused
     * with another (train.c, create_trainer). */
    ROW("--momentum", CLI_DOUBLE, momentum, 0, 1, NULL, 0, -1, NULL, OPT_MATCH, "the default"),
    ROW("--beta1", CLI_DOUBLE, beta1, 0, 1, NULL, 0, -1, NULL, OPT_MATCH, "the default"),
    ROW("--beta2", CLI_DOUBLE, beta2, 0, 1, NULL, 0, -1, NULL, OPT_MATCH, "the default"),
    ROW("--eps", CLI_DOUBLE, eps, 1e-30, 1, NULL, 0, -1, NULL, OPT_MATCH, "the default"),
    ROW("--alpha", CLI_DOUBLE, alpha, 0, 1, NULL, 0, -1, NULL, OPT_MATCH, "the default"),
    ROW("--centered", CLI_FLAG, centered, 0, 0, NULL, 1, 0, NULL, OPT_MATCH, NULL),
    ROW("--lr-decay", CLI_DOUBLE, lr_decay, 0, 1e6, NULL, 0, -1, NULL, OPT_MATCH,
        "the default"),
    ROW("--initial-accumulator", CLI_DOUBLE, initial_accumulator, 0, 1e6, NULL, 0, -1, NULL,
        OPT_MATCH, "the default"),
    ROW("--momentum-decay", CLI_DOUBLE, momentum_decay, 0, 1e6, NULL, 0, -1, NULL, OPT_MATCH,
        "the default"),
    ROW("--batch", CLI_LONG, batch, 0, 1e8, NULL, 0, -1, NULL, OPT_MATCH, "the default"),
    /* 0: no --epochs, the run stops on its own. */
    ROW("--epochs", CLI_LONG, epochs, 1, 1e7, NULL, 0, 0, NULL, OPT_MATCH,
        "none (the run stops on its own)"),
    ROW("--schedule", CLI_CHOICE, schedule, 0, 0, train_schedule_names, 0, -1, NULL,
        OPT_MATCH, "the default"),
    /* 0: no warmup. */
    ROW("--warmup", CLI_LONG, warmup, 1, 1e7, NULL, 0, 0, NULL, OPT_MATCH, "none"),
    /* -1: step 0.1, exponential to 1/100 of the rate over the run. */
    ROW("--gamma", CLI_DOUBLE, gamma, 1e-6, 1e3, NULL, 0, -1, NULL, OPT_MATCH, "the default"),
    /* How the weights start; a resume takes them from the checkpoint. */
    ROW("--weight-init", CLI_CHOICE, weight_init, 0, 0, train_init_names, 0, SYN_INIT_AUTO, NULL,
        OPT_MATCH, NULL),
    ROW("--seed", CLI_LONG, seed, 0, 9.2e18, NULL, 0, 1, NULL, OPT_MATCH, NULL),
    /* 0: no early stopping. */
    ROW("--early-stop", CLI_LONG, early_stop, 1, 1e7, NULL, 0, 0, NULL, OPT_MATCH,
        "the default"),
    ROW("--tol", CLI_DOUBLE, tol, 0, 1, NULL, 0, -1, NULL, OPT_MATCH, "the default"),
    /* 0: the default cap. */
    ROW("--max-epochs", CLI_LONG, max_epochs, 1, 1e7, NULL, 0, 0, NULL, OPT_MATCH,
        "the default"),
    ROW("--threads", CLI_LONG, threads, 0, 4096, NULL, 0, 0, NULL, OPT_LOCAL, NULL),
    /* How the batch's gradient is summed (synapse.h, SYN_SHARDS); under
     * mpirun always sharded. Stored as the run trained (1 under mpirun
     * too); a resume takes it, and cmd_train refuses to shard a run the
     * checkpoint holds as plain: the sums would round another way. */
    ROW("--shards", CLI_FLAG, shards, 0, 0, NULL, 1, 0, NULL, OPT_TAKE, NULL),
    ROW("--rank-timeout", CLI_DOUBLE, rank_timeout, 1, 1e6, NULL, 0, 120, NULL, OPT_LOCAL,
        NULL),
    ROW("--max-memory", CLI_STRING, max_memory, 0, 0, NULL, 0, 0, NULL, OPT_LOCAL, NULL),
    ROW("--checkpoint", CLI_STRING, checkpoint, 0, 0, NULL, 0, 0, NULL, OPT_LOCAL, NULL),
    /* 0: only after each epoch. */
    ROW("--checkpoint-every", CLI_LONG, checkpoint_every, 1, 1e12, NULL, 0, 0, NULL, OPT_TAKE,
        "off"),
    ROW("--resume", CLI_STRING, resume, 0, 0, NULL, 0, 0, NULL, OPT_LOCAL, NULL),
    ROW("--init", CLI_STRING, init, 0, 0, NULL, 0, 0, NULL, OPT_LOCAL, NULL),
    ROW("--out", CLI_STRING, out, 0, 0, NULL, 0, 0, NULL, OPT_TAKE, NULL),
    ROW("--log", CLI_STRING, log, 0, 0, NULL, 0, 0, NULL, OPT_TAKE, NULL),
    ROW("--plot", CLI_STRING, plot, 0, 0, NULL, 0, 0, NULL, OPT_TAKE, NULL),
    ROW("--report", CLI_STRING, report, 0, 0, NULL, 0, 0, NULL, OPT_TAKE, NULL),
    ROW("--quiet", CLI_FLAG, quiet, 0, 0, NULL, 1, 0, NULL, OPT_LOCAL, NULL),
    ROW("--silent", CLI_FLAG, quiet, 0, 0, NULL, 2, 0, NULL, OPT_LOCAL, NULL),
};

#define N_ROWS (sizeof train_option_rows / sizeof train_option_rows[0])
const size_t n_train_option_rows = N_ROWS;

static void *field(train_options *o, const train_option_row *r)
{
    return (char *)o + r->offset;
}

static const void *cfield(const train_options *o, const train_option_row *r)
{
    return (const char *)o + r->offset;
}

void train_options_defaults(train_options *o)
{
    memset(o, 0, sizeof *o);
    for (size_t i = 0; i < N_ROWS; i++) {
        const train_option_row *r = &train_option_rows[i];
        void *at = field(o, r);
        switch (r->kind) {
        case CLI_STRING: *(const char **)at = r->def_text; break;
        case CLI_LONG: *(long *)at = (long)r->def; break;
        case CLI_DOUBLE: *(double *)at = r->def; break;
        case CLI_CHOICE:
        case CLI_FLAG: *(int *)at = (int)r->def; break;
        }
    }
}

void train_options_sentinels(train_options *o)
{
    memset(o, 0, sizeof *o);
    for (size_t i = 0; i < N_ROWS; i++) {
        const train_option_row *r = &train_option_rows[i];
        void *at = field(o, r);
        switch (r->kind) {
        case CLI_STRING: *(const char **)at = NULL; break;
        case CLI_LONG: *(long *)at = LONG_MIN; break;
        case CLI_DOUBLE: *(double *)at = -INFINITY; break;
        case CLI_CHOICE:
        case CLI_FLAG: *(int *)at = INT_MIN; break;
        }
    }
}

cli_parse_result train_options_parse(int argc, char **argv, train_options *o,
                                     void (*usage)(FILE *))
{
    cli_option table[N_ROWS];
    for (size_t i = 0; i < N_ROWS; i++) {
        const train_option_row *r = &train_option_rows[i];
        table[i] = (cli_option){r->name, r->kind, field(o, r), r->min, r->max, r->choices,
                                r->flag_value};
    }
    return cli_parse("train", argc, argv, 1, table, N_ROWS, usage, NULL, 0, NULL);
}

const train_option_row *train_option_find(const char *name)
{
    for (size_t i = 0; i < N_ROWS; i++)
        if (!strcmp(train_option_rows[i].name, name))
            return &train_option_rows[i];
    return NULL;
}

static int n_choices(const char *const *choices)
{
    int n = 0;
    while (choices[n])
        n++;
    return n;
}

/* The flag of r's field that sets the value v, or NULL. */
static const train_option_row *flag_for(const train_option_row *r, int v)
{
    for (size_t i = 0; i < N_ROWS; i++) {
        const train_option_row *q = &train_option_rows[i];
        if (q->kind == CLI_FLAG && q->offset == r->offset && q->flag_value == v)
            return q;
    }
    return NULL;
}

/* The message name of a field two flags share ("--header/--no-header"). */
void train_option_label(const train_option_row *r, char *buf, size_t size)
{
    snprintf(buf, size, "%s", r->name);
    if (r->kind != CLI_FLAG)
        return;
    for (size_t i = 0; i < N_ROWS; i++) {
        const train_option_row *q = &train_option_rows[i];
        size_t used = strlen(buf);
        if (q != r && q->kind == CLI_FLAG && q->offset == r->offset && used < size)
            snprintf(buf + used, size - used, "/%s", q->name);
    }
}

int train_option_valid(const train_option_row *r, const train_options *o, char *why,
                       size_t size)
{
    const void *at = cfield(o, r);
    char label[64];
    train_option_label(r, label, sizeof label);
    switch (r->kind) {
    case CLI_STRING: return 1;
    case CLI_LONG: {
        long v = *(const long *)at;
        if (v == (long)r->def || ((double)v >= r->min && (double)v <= r->max))
            return 1;
        snprintf(why, size, "%s %ld is outside [%.0f, %.0f]", label, v, r->min, r->max);
        return 0;
    }
    case CLI_DOUBLE: {
        double v = *(const double *)at;
        if (v == r->def || (isfinite(v) && v >= r->min && v <= r->max))
            return 1;
        snprintf(why, size, "%s %g is outside [%g, %g]", label, v, r->min, r->max);
        return 0;
    }
    case CLI_CHOICE: {
        int v = *(const int *)at;
        if (v == (int)r->def || (v >= 0 && v < n_choices(r->choices)))
            return 1;
        snprintf(why, size, "%s %d is not one of its %d choices", label, v,
                 n_choices(r->choices));
        return 0;
    }
    case CLI_FLAG: {
        int v = *(const int *)at;
        if (v == (int)r->def || flag_for(r, v))
            return 1;
        snprintf(why, size, "%s %d is not a value its flags set", label, v);
        return 0;
    }
    }
    return 0;
}

void train_option_text(const train_option_row *r, const train_options *o, char *buf,
                       size_t size)
{
    const void *at = cfield(o, r);
    /* A default that is a sentinel (-1: "the optimizer's default") reads as words. */
    int is_default = 0;
    switch (r->kind) {
    case CLI_LONG: is_default = *(const long *)at == (long)r->def; break;
    case CLI_DOUBLE: is_default = *(const double *)at == r->def; break;
    case CLI_CHOICE:
    case CLI_FLAG: is_default = *(const int *)at == (int)r->def; break;
    case CLI_STRING: is_default = *(const char *const *)at == NULL; break;
    }
    if (is_default && r->default_means) {
        snprintf(buf, size, "%s", r->default_means);
        return;
    }
    switch (r->kind) {
    case CLI_STRING: {
        const char *p = *(const char *const *)at;
        snprintf(buf, size, "%s%s%s", p ? "'" : "", p ? p : "the default", p ? "'" : "");
        return;
    }
    case CLI_LONG: snprintf(buf, size, "%ld", *(const long *)at); return;
    case CLI_DOUBLE: snprintf(buf, size, "%g", *(const double *)at); return;
    case CLI_CHOICE: {
        int v = *(const int *)at;
        if (v >= 0 && v < n_choices(r->choices))
            snprintf(buf, size, "%s", r->choices[v]);
        else
            snprintf(buf, size, "choice %d", v);
        return;
    }
    case CLI_FLAG: {
        const train_option_row *q = flag_for(r, *(const int *)at);
        snprintf(buf, size, "%s", q ? q->name : "neither flag");
        return;
    }
    }
}

static size_t field_size(const train_option_row *r)
{
    switch (r->kind) {
    case CLI_STRING: return sizeof(const char *);
    case CLI_LONG: return sizeof(long);
    case CLI_DOUBLE: return sizeof(double);
    case CLI_CHOICE:
    case CLI_FLAG: return sizeof(int);
    }
    return 0;
}

static int given(const train_option_row *r, const train_options *g)
{
    const void *at = cfield(g, r);
    switch (r->kind) {
    case CLI_STRING: return *(const char *const *)at != NULL;
    case CLI_LONG: return *(const long *)at != LONG_MIN;
    case CLI_DOUBLE: return *(const double *)at != -INFINITY;
    case CLI_CHOICE:
    case CLI_FLAG: return *(const int *)at != INT_MIN;
    }
    return 0;
}

static int equal(const train_option_row *r, const train_options *a, const train_options *b)
{
    if (r->kind != CLI_STRING)
        return memcmp(cfield(a, r), cfield(b, r), field_size(r)) == 0 ||
               (r->kind == CLI_DOUBLE &&
                *(const double *)cfield(a, r) == *(const double *)cfield(b, r));
    const char *p = *(const char *const *)cfield(a, r), *q = *(const char *const *)cfield(b, r);
    return p == q || (p && q && !strcmp(p, q));
}

int train_options_merge(train_options *o, const train_options *given_opts,
                        const train_options *stored)
{
    for (size_t i = 0; i < N_ROWS; i++) {
        const train_option_row *r = &train_option_rows[i];
        if (r->resume == OPT_LOCAL)
            continue;
        int is_given = given(r, given_opts);
        if (is_given && r->resume == OPT_MATCH && !equal(r, o, stored)) {
            char now[256], then[256], label[64];
            train_option_text(r, o, now, sizeof now);
            train_option_text(r, stored, then, sizeof then);
            train_option_label(r, label, sizeof label);
            return cli_usage_error("train", "%s is %s but the checkpoint %s was trained with "
                                   "%s; a resumed run keeps its options", label, now,
                                   o->resume, then);
        }
        if (!is_given)
            memcpy(field(o, r), cfield(stored, r), field_size(r));
    }
    if (!o->checkpoint)
        o->checkpoint = o->resume;
    return SYN_EXIT_OK;
}
