/* report_html.c - writes the report of a run as one self-contained HTML
 * file: provenance, the model's layers and input preprocessing, the curves
 * of the run, the evaluation (eval.c's numbers: the classification report
 * and confusion heat maps, or per-output scores and residual plots), the
 * misclassified images and first-layer weights of an image model, and the
 * timings. Nothing is fetched: styles and a short script are inline, charts
 * are inline SVG (plot.c), images are canvases drawn from inline pixels.
 * Every string that came from a file or the command line is escaped.
 * Numbers the test compares with `synapse eval --json` carry data-metric
 * and data-value attributes (%.10g, as the JSON prints them). */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

#define MAX_HEAT_CLASSES 40    /* confusion tables beyond this are unreadable */
#define MAX_MISCLASSIFIED 40   /* images in the grid */
#define MAX_WEIGHT_IMAGES 64   /* first-layer units drawn */
#define MAX_SCATTER_POINTS 1500
#define MAX_SCATTER_TARGETS 4
#define MAX_LISTED_COLUMNS 60
#define MAX_LISTED_CATEGORIES 12
#define PRED_BATCH 256

/* ------------------------------------------------------------- escaping */

/* Text for HTML content and quoted attributes: the five special
 * characters as entities, control bytes dropped, and bytes that are not
 * UTF-8 as U+FFFD (a file's names may be any bytes). */
static void html(FILE *fp, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        unsigned char c = *p;
        size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
                   : (c & 0xF8) == 0xF0 ? 4 : 0;
        int valid = len > 0 && !(len == 2 && c < 0xC2) && !(len == 4 && c > 0xF4);
        for (size_t i = 1; valid && i < len; i++)
            valid = (p[i] & 0xC0) == 0x80;
        if (valid && len == 3)
            valid = !(c == 0xE0 && p[1] < 0xA0) && !(c == 0xED && p[1] >= 0xA0);
        if (valid && len == 4)
            valid = !(c == 0xF0 && p[1] < 0x90) && !(c == 0xF4 && p[1] >= 0x90);
        if (!valid) {
            fputs("\xEF\xBF\xBD", fp);
            p++;
            continue;
        }
        switch (c) {
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '&': fputs("&amp;", fp); break;
        case '"': fputs("&quot;", fp); break;
        case '\'': fputs("&#39;", fp); break;
        default:
            if (len > 1)
                fwrite(p, 1, len, fp);
            else if (c >= 0x20 && c != 0x7F)
                fputc(c, fp);
            else if (c == '\t' || c == '\n')
                fputc(' ', fp);
        }
        p += len;
    }
}

/* A number as shown (4 significant decimals) with its exact value for the
 * test; NaN reads "n/a". */
static void metric(FILE *fp, const char *key, double v, const char *extra)
{
    fprintf(fp, "<td class=\"num\" data-metric=\"%s\"%s", key, extra ? extra : "");
    if (isfinite(v))
        fprintf(fp, fabs(v) < 1e5 ? " data-value=\"%.10g\">%.4f</td>"
                                  : " data-value=\"%.10g\">%.4g</td>", v, v);
    else
        fputs(" data-value=\"null\">n/a</td>", fp);
}

static void count_cell(FILE *fp, const char *key, uint64_t v, const char *extra)
{
    fprintf(fp, "<td class=\"num\" data-metric=\"%s\"%s data-value=\"%llu\">%llu</td>", key,
            extra ? extra : "", (unsigned long long)v, (unsigned long long)v);
}

static void fmt_number(FILE *fp, double v)
{
    if (isfinite(v))
        fprintf(fp, fabs(v) < 1e5 ? "%.4f" : "%.4g", v);
    else
        fputs("n/a", fp);
}

static const char base64_digits[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64(FILE *fp, const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)b[i] << 16 | (i + 1 < n ? (uint32_t)b[i + 1] << 8 : 0) |
                     (i + 2 < n ? b[i + 2] : 0);
        fputc(base64_digits[v >> 18 & 63], fp);
        fputc(base64_digits[v >> 12 & 63], fp);
        fputc(i + 1 < n ? base64_digits[v >> 6 & 63] : '=', fp);
        fputc(i + 2 < n ? base64_digits[v & 63] : '=', fp);
    }
}

/* Where the report has nothing to draw, it says why, in place. */
static void missing(FILE *fp, const char *what)
{
    fputs("<p class=\"missing\">", fp);
    html(fp, what);
    fputs("</p>\n", fp);
}

/* --------------------------------------------------------------- style */

static const char style[] =
"*{box-sizing:border-box}\n"
"body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',"
"sans-serif;color:#1d2430;background:#f3f5f8}\n"
"main{max-width:1240px;margin:0 auto;padding:20px 24px 40px}\n"
"header h1{font-size:26px;margin:8px 0 2px}header p{margin:0;color:#556}\n"
"section{background:#fff;border:1px solid #dde2ea;border-radius:8px;padding:14px 18px;"
"margin:16px 0;break-inside:avoid-page}\n"
"h2{font-size:19px;margin:0 0 10px;border-bottom:1px solid #e6e9ef;padding-bottom:6px}\n"
"h3{font-size:15px;margin:14px 0 6px;color:#334}\n"
".cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:10px;"
"margin:14px 0}\n"
".card{background:#fff;border:1px solid #dde2ea;border-radius:8px;padding:10px 14px}\n"
".card b{display:block;font-size:24px;font-variant-numeric:tabular-nums}\n"
".card span{color:#556;font-size:13px}\n"
".grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:12px}\n"
/* A grid item may shrink below its table's width: the table scrolls. */
".grid2>*{min-width:0}\n"
".chart{width:100%;height:auto;display:block;max-width:500px}\n"
".scroll{overflow-x:auto;max-width:100%}\n"
"table{border-collapse:collapse;font-variant-numeric:tabular-nums}\n"
"th,td{padding:3px 9px;border-bottom:1px solid #edf0f4;text-align:left;vertical-align:top}\n"
"th{background:#f6f8fb;font-weight:600}\n"
"td.num,th.num{text-align:right;white-space:nowrap}\n"
"tr.total td{font-weight:600;border-top:2px solid #ccd}\n"
"table.kv th{width:13em;white-space:nowrap}\n"
"td.path,code,pre{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:13px;"
"word-break:break-all}\n"
"pre{background:#f6f8fb;border:1px solid #e3e7ee;border-radius:5px;padding:8px 10px;"
"white-space:pre-wrap;margin:4px 0}\n"
".missing{color:#8a5a00;background:#fff8e6;border-left:4px solid #f0b400;padding:6px 10px;"
"margin:8px 0}\n"
"table.heat td{text-align:right;min-width:2.6em;padding:3px 5px;border:1px solid #fff}\n"
"table.heat th{font-size:12px;padding:2px 5px;vertical-align:middle}\n"
"table.heat th.row{text-align:left;max-width:12em;overflow:hidden;text-overflow:ellipsis;"
"white-space:nowrap}\n"
".imgs{display:flex;flex-wrap:wrap;gap:8px}\n"
".imgs figure{margin:0;width:92px;text-align:center;font-size:11px;line-height:1.25}\n"
".imgs canvas{width:84px;height:84px;image-rendering:pixelated;border:1px solid #ccd;"
"background:#000}\n"
".imgs.weights figure{width:64px}.imgs.weights canvas{width:60px;height:60px}\n"
".imgs figcaption{overflow-wrap:anywhere}\n"
".bar{display:flex;height:26px;border-radius:4px;overflow:hidden;margin:6px 0;"
"border:1px solid #ccd}\n"
".bar div{color:#fff;font-size:12px;line-height:26px;padding:0 6px;white-space:nowrap;"
"overflow:hidden}\n"
".legend{max-width:500px;padding:0 0 6px 16px;font-size:13px;line-height:1.6}\n"
".legend span{display:inline-block;margin-right:16px;white-space:nowrap}\n"
".legend i{display:inline-block;width:26px;height:0;margin-right:6px;vertical-align:4px}\n"
"footer{color:#667;font-size:12px;margin-top:20px}\n"
"@media (max-width:700px){main{padding:10px}section{padding:10px 10px}"
".grid2{grid-template-columns:1fr}header h1{font-size:21px}body{font-size:14px}"
"table.kv th{width:auto;white-space:normal}.card b{font-size:20px}"
".cards{grid-template-columns:repeat(2,1fr)}.chart text{font-size:15px}"
/* Five images to a row on a phone, seven weight images. */
".imgs{gap:4px}.imgs figure{width:62px}.imgs canvas{width:60px;height:60px}"
".imgs.weights figure{width:44px}.imgs.weights canvas{width:42px;height:42px}}\n"
"@media print{body{background:#fff;font-size:11pt}main{max-width:none;padding:0}"
"section{border:none;padding:0;margin:12px 0}.scroll{overflow:visible}"
".grid2{grid-template-columns:1fr}.chart{max-width:440px}.legend{max-width:440px}"
/* The heat maps keep their colours on paper (browsers drop backgrounds). */
"table.heat td{padding:1px 3px;font-size:9pt;-webkit-print-color-adjust:exact;"
"print-color-adjust:exact}a{color:inherit}}\n";

/* Draws each canvas from its inline pixels: data-gray holds bytes 0..255,
 * data-signed bytes where 128 is zero (weights: red positive, blue
 * negative). Written for this file; no library. */
static const char script[] =
"(function(){\n"
"function bytes(s){var b=atob(s),a=new Uint8Array(b.length);"
"for(var i=0;i<b.length;i++)a[i]=b.charCodeAt(i);return a;}\n"
"var cs=document.querySelectorAll('canvas[data-gray],canvas[data-signed]');\n"
"for(var k=0;k<cs.length;k++){var c=cs[k],ctx=c.getContext('2d');if(!ctx)continue;\n"
"var g=c.getAttribute('data-gray'),v=bytes(g!==null?g:c.getAttribute('data-signed'));\n"
"var img=ctx.createImageData(c.width,c.height),d=img.data;\n"
"for(var i=0;i<v.length&&i<c.width*c.height;i++){var r,gg,b;\n"
"if(g!==null){r=gg=b=v[i];}else{var t=(v[i]-128)/127;\n"
"if(t>=0){r=255;gg=b=Math.round(255*(1-t));}else{b=255;r=gg=Math.round(255*(1+t));}}\n"
"d[4*i]=r;d[4*i+1]=gg;d[4*i+2]=b;d[4*i+3]=255;}\n"
"ctx.putImageData(img,0,0);}\n"
"})();\n";

/* --------------------------------------------------------------- state */

typedef struct writer {
    FILE *fp;
    const report_input *in;
    const model_info *m;
    eval_report ev;
    int have_eval;
    size_t n_rows;          /* evaluated rows */
    size_t n_out;
    /* Per evaluated row: predicted and true class (classifiers), or the
     * outputs and targets (regression, n_out each). NULL when not made. */
    uint32_t *pred_class, *true_class;
    float *pred_out, *true_out;
} writer;

static size_t row_at(const writer *w, size_t i)
{
    return w->in->eval_rows ? w->in->eval_rows[i] : i;
}

/* The class an output row predicts: argmax, or the 0.5 threshold of a
 * single output (as syn_evaluate counts it, src/train.c). */
static uint32_t class_of(const float *row, size_t n_out)
{
    if (n_out == 1)
        return row[0] >= 0.5f ? 1 : 0;
    size_t best = 0;
    for (size_t j = 1; j < n_out; j++)
        if (row[j] > row[best])
            best = j;
    return (uint32_t)best;
}

/* Runs the model over the evaluated rows once, keeping what the image grid
 * and the regression plots need. Returns 0 (and draws without them) when
 * memory or the library refuses. */
static int predict_rows(writer *w)
{
    const syn_dataset *ds = w->in->eval_data;
    size_t n = w->n_rows, f = syn_dataset_n_features(ds), t = syn_dataset_target_width(ds);
    size_t batch = n < PRED_BATCH ? n : PRED_BATCH;
    if (n == 0 || f > SIZE_MAX / sizeof(float) / PRED_BATCH || t != w->n_out ||
        (!w->m->classify && n > SIZE_MAX / sizeof(float) / (w->n_out + 1)))
        return 0;
    float *x = malloc(batch * f * sizeof *x), *y = malloc(batch * t * sizeof *y);
    size_t *rows = malloc(batch * sizeof *rows);
    syn_workspace *ws = NULL;
    int ok = x && y && rows && syn_workspace_create_inference(w->m->net, batch, &ws) == SYN_OK &&
             syn_workspace_set_threads(ws, (int)w->in->threads) == SYN_OK;
    if (ok && w->m->classify) {
        w->pred_class = malloc(n * sizeof *w->pred_class);
        w->true_class = malloc(n * sizeof *w->true_class);
        ok = w->pred_class && w->true_class;
    } else if (ok) {
        w->pred_out = malloc(n * w->n_out * sizeof *w->pred_out);
        w->true_out = malloc(n * w->n_out * sizeof *w->true_out);
        ok = w->pred_out && w->true_out;
    }
    for (size_t at = 0; ok && at < n; at += batch) {
        size_t b = n - at < batch ? n - at : batch;
        for (size_t i = 0; i < b; i++)
            rows[i] = row_at(w, at + i);
        const float *out = NULL;
        ok = syn_dataset_gather(ds, rows, b, x, y) == SYN_OK &&
             syn_forward(w->m->net, ws, x, b, &out) == SYN_OK;
        for (size_t i = 0; ok && i < b; i++) {
            if (w->m->classify) {
                w->pred_class[at + i] = class_of(out + i * w->n_out, w->n_out);
                w->true_class[at + i] = class_of(y + i * t, t);
            } else {
                memcpy(w->pred_out + (at + i) * w->n_out, out + i * w->n_out,
                       w->n_out * sizeof(float));
                memcpy(w->true_out + (at + i) * w->n_out, y + i * t, t * sizeof(float));
            }
        }
    }
    syn_workspace_free(ws);
    free(x);
    free(y);
    free(rows);
    if (!ok) {
        free(w->pred_class);
        free(w->true_class);
        free(w->pred_out);
        free(w->true_out);
        w->pred_class = w->true_class = NULL;
        w->pred_out = w->true_out = NULL;
    }
    return ok;
}

/* ------------------------------------------------------------- header */

/* The last part of a path, for the summary cards (the full path is in
 * the evaluation section and the provenance). */
static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

static void write_summary(writer *w)
{
    FILE *fp = w->fp;
    const report_history *h = w->in->history;
    fputs("<div class=\"cards\">\n", fp);
    if (w->have_eval && w->m->classify) {
        fprintf(fp, "<div class=\"card\"><b data-metric=\"summary_accuracy\" data-value="
                "\"%.10g\">%.2f%%</b><span>accuracy on ", w->ev.ev.accuracy,
                100.0 * w->ev.ev.accuracy);
        html(fp, w->in->eval_short ? w->in->eval_short : base_name(w->in->eval_what));
        fputs("</span></div>\n", fp);
        fprintf(fp, "<div class=\"card\"><b>%.4f</b><span>macro F1</span></div>\n",
                w->ev.summary.macro.f1);
    } else if (w->have_eval) {
        fprintf(fp, "<div class=\"card\"><b>%.4f</b><span>R&#178; on ", w->ev.overall.r2);
        html(fp, w->in->eval_short ? w->in->eval_short : base_name(w->in->eval_what));
        fprintf(fp, "</span></div>\n<div class=\"card\"><b>%.4g</b><span>RMSE (mean over "
                "outputs)</span></div>\n", w->ev.overall.rmse);
    }
    if (w->have_eval) {
        fputs("<div class=\"card\"><b>", fp);
        fmt_number(fp, w->ev.ev.loss);
        fputs("</b><span>loss</span></div>\n", fp);
    }
    if (h && h->n_epochs) {
        fprintf(fp, "<div class=\"card\"><b>%zu</b><span>epochs", h->n_epochs);
        if (h->saved_epoch)
            fprintf(fp, "; the model holds epoch %zu", h->saved_epoch);
        fputs("</span></div>\n", fp);
    }
    fprintf(fp, "<div class=\"card\"><b>%zu</b><span>parameters</span></div>\n",
            syn_net_param_count(w->m->net));
    fputs("</div>\n", fp);
}

/* ---------------------------------------------------------- provenance */

static void kv_text(FILE *fp, const char *key, const char *value)
{
    fprintf(fp, "<tr><th>%s</th><td>", key);
    html(fp, value);
    fputs("</td></tr>\n", fp);
}

/* The CPU's model name and the vector extensions the kernels can use,
 * from /proc/cpuinfo (Linux); "not known" elsewhere. */
static void cpu_description(char *model, size_t model_size, char *features, size_t size)
{
    static const char *const wanted[] = {"sse2", "sse4_2", "avx", "avx2", "fma", "avx512f",
                                         "avx512bw", "avx512vl", "asimd", "neon", "sve"};
    snprintf(model, model_size, "not known");
    snprintf(features, size, "not known");
    FILE *fp = fopen("/proc/cpuinfo", "r");
    if (!fp)
        return;
    char line[8192];
    int have_model = 0, have_flags = 0;
    while (fgets(line, sizeof line, fp) && !(have_model && have_flags)) {
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        char *value = colon + 1 + strspn(colon + 1, " \t");
        value[strcspn(value, "\n")] = '\0';
        if (!have_model && (!strncmp(line, "model name", 10) || !strncmp(line, "Model", 5))) {
            snprintf(model, model_size, "%s", value);
            have_model = 1;
        } else if (!have_flags && (!strncmp(line, "flags", 5) ||
                                   !strncmp(line, "Features", 8))) {
            size_t used = 0;
            features[0] = '\0';
            for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++) {
                size_t len = strlen(wanted[i]);
                for (char *p = strstr(value, wanted[i]); p; p = strstr(p + 1, wanted[i]))
                    if ((p == value || p[-1] == ' ') && (p[len] == ' ' || !p[len])) {
                        int k = snprintf(features + used, size - used, "%s%s",
                                         used ? " " : "", wanted[i]);
                        used += k > 0 && (size_t)k < size - used ? (size_t)k : 0;
                        break;
                    }
            }
            if (!used)
                snprintf(features, size, "none of the vector extensions synapse uses");
            have_flags = 1;
        }
    }
    fclose(fp);
}

static void write_files(writer *w)
{
    FILE *fp = w->fp;
    fputs("<h3>Files</h3>\n<p>Sizes and checksums as the files are now (sha256sum prints "
          "the same).</p>\n<div class=\"scroll\"><table><tr><th>role</th><th>path</th>"
          "<th class=\"num\">bytes</th><th>SHA-256</th></tr>\n", fp);
    for (size_t i = 0; i < w->in->n_files; i++) {
        const report_file *f = &w->in->files[i];
        char hex[65];
        uint64_t size = 0;
        fputs("<tr><td>", fp);
        html(fp, f->role);
        fputs("</td><td class=\"path\">", fp);
        html(fp, f->path);
        if (report_sha256_file(f->path, hex, &size))
            fprintf(fp, "</td><td class=\"num\">%llu</td><td><code>%s</code></td></tr>\n",
                    (unsigned long long)size, hex);
        else
            fputs("</td><td class=\"num\">-</td><td>could not be read now</td></tr>\n", fp);
    }
    fputs("</table></div>\n", fp);
}

static void write_provenance(writer *w)
{
    FILE *fp = w->fp;
    const report_input *in = w->in;
    syn_train_meta meta;
    int have_meta = syn_net_meta(w->m->net, &meta) == SYN_OK;
    fputs("<section id=\"provenance\"><h2>Provenance</h2>\n<table class=\"kv\">\n", fp);
    char buf[512];
    snprintf(buf, sizeof buf, "%s (this report)%s%s%s", syn_version(),
             have_meta && meta.library_version[0] ? "; the model was trained by " : "",
             have_meta ? meta.library_version : "", "");
    kv_text(fp, "synapse", buf);
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm) && strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm))
        kv_text(fp, "date", buf);
    kv_text(fp, "model", in->model_path);
    if (in->have_seed) {
        snprintf(buf, sizeof buf, "%llu", (unsigned long long)in->seed);
        kv_text(fp, "seed", buf);
    } else if (have_meta) {
        snprintf(buf, sizeof buf, "%llu (from the model file)", (unsigned long long)meta.seed);
        kv_text(fp, "seed", buf);
    }
    if (have_meta && meta.optimizer[0]) {
        snprintf(buf, sizeof buf, "%s, %llu epochs, %llu samples seen", meta.optimizer,
                 (unsigned long long)meta.epochs, (unsigned long long)meta.samples_seen);
        kv_text(fp, "training", buf);
    }
    char model[256], features[256];
    cpu_description(model, sizeof model, features, sizeof features);
    kv_text(fp, "CPU", model);
    kv_text(fp, "CPU features", features);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (in->threads > 0)
        snprintf(buf, sizeof buf, "%ld (--threads) of %ld online CPUs", in->threads, cpus);
    else
        snprintf(buf, sizeof buf, "up to %ld (all online CPUs, fewer while the machine is "
                 "busy)", cpus);
    kv_text(fp, "threads", buf);
    struct utsname u;
    if (uname(&u) == 0) {
        snprintf(buf, sizeof buf, "%s %s %s", u.sysname, u.release, u.machine);
        kv_text(fp, "system", buf);
    }
    fputs("</table>\n<h3>Command line</h3>\n", fp);
    if (in->command_line) {
        fputs("<pre data-field=\"command\">", fp);
        html(fp, in->command_line);
        fputs("</pre>\n", fp);
    } else {
        missing(fp, "The training command line was not recorded: a --log file and a model "
                    "do not store it (synapse train --report FILE.html records it). Below: "
                    "the command that made this report.");
    }
    if (in->n_options) {
        fputs("<h3>Every option, defaults included</h3>\n<div class=\"scroll\"><table>"
              "<tr><th>option</th><th>value</th></tr>\n", fp);
        for (size_t i = 0; i < in->n_options; i++) {
            fputs("<tr><td><code>", fp);
            html(fp, in->option_names[i]);
            fputs("</code></td><td>", fp);
            html(fp, in->option_values[i]);
            fputs("</td></tr>\n", fp);
        }
        fputs("</table></div>\n", fp);
    }
    write_files(w);
    fprintf(fp, "<h3>%s</h3>\n", in->command_line ? "To reproduce the run (the same synapse "
            "version and files)" : "To make this report again");
    if (in->reproduce) {
        fputs("<pre data-field=\"reproduce\">", fp);
        html(fp, in->reproduce);
        fputs("</pre>\n", fp);
    } else {
        missing(fp, "not recorded");
    }
    fputs("</section>\n", fp);
}

/* --------------------------------------------------------------- model */

static void write_preprocessing(writer *w)
{
    FILE *fp = w->fp;
    const syn_net *net = w->m->net;
    fputs("<h3>Input preprocessing</h3>\n", fp);
    const syn_encoding *enc = syn_net_encoding(net);
    if (w->in->is_idx)
        fprintf(fp, "<p>IDX images: %zu pixels per image, read as numbers 0 to 255.</p>\n",
                syn_net_n_inputs(net));
    if (enc) {
        size_t n = syn_encoding_n_columns(enc);
        fprintf(fp, "<p>%zu input columns, matched by name in files with a header, encoded "
                "into %zu inputs.</p>\n<div class=\"scroll\"><table><tr><th>column</th>"
                "<th>kind</th><th>inputs</th><th>missing becomes</th></tr>\n", n,
                syn_encoding_n_inputs(enc));
        for (size_t i = 0; i < n && i < MAX_LISTED_COLUMNS; i++) {
            syn_column_info c;
            if (syn_encoding_column(enc, i, &c) != SYN_OK)
                continue;
            fputs("<tr><td>", fp);
            html(fp, c.name[0] ? c.name : "(unnamed)");
            if (c.kind == SYN_COLUMN_NUMERIC) {
                fprintf(fp, "</td><td>numeric</td><td class=\"num\">%zu</td><td>%.6g</td></tr>"
                        "\n", c.first_input + 1, (double)c.fill);
                continue;
            }
            fputs("</td><td>categorical, one-hot:", fp);
            for (size_t k = 0; k < c.width && k < MAX_LISTED_CATEGORIES; k++) {
                fputs(k ? ", " : " ", fp);
                html(fp, syn_encoding_category(enc, i, k));
            }
            fprintf(fp, "%s</td><td class=\"num\">%zu-%zu</td><td>", c.width >
                    MAX_LISTED_CATEGORIES ? ", ..." : "", c.first_input + 1,
                    c.first_input + c.width);
            html(fp, syn_encoding_category(enc, i, c.fill_category));
            fputs("</td></tr>\n", fp);
        }
        fputs("</table></div>\n", fp);
        if (n > MAX_LISTED_COLUMNS)
            fprintf(fp, "<p>... and %zu more columns (synapse info lists them).</p>\n",
                    n - MAX_LISTED_COLUMNS);
    } else if (!w->in->is_idx) {
        missing(fp, "The model records no input columns: its inputs are a row's numbers, in "
                    "order.");
    }
    const float *offset = NULL, *scale = NULL;
    size_t n_in = syn_net_n_inputs(net);
    if (syn_net_input_scaling(net, &offset, &scale) != SYN_OK || !offset || !scale) {
        fputs("<p>Input scaling: none (the inputs go to the first layer as they are).</p>\n",
              fp);
        return;
    }
    double olo = INFINITY, ohi = -INFINITY, slo = INFINITY, shi = -INFINITY;
    for (size_t j = 0; j < n_in; j++) {
        olo = fmin(olo, offset[j]);
        ohi = fmax(ohi, offset[j]);
        slo = fmin(slo, scale[j]);
        shi = fmax(shi, scale[j]);
    }
    fprintf(fp, "<p>Input scaling, part of the model: x' = (x - offset) &#215; scale per "
            "input, offset in [%.4g, %.4g], scale in [%.4g, %.4g] (fitted on the training "
            "rows).</p>\n", olo, ohi, slo, shi);
}

static void write_model(writer *w)
{
    FILE *fp = w->fp;
    const syn_net *net = w->m->net;
    size_t n = syn_net_n_layers(net);
    report_layer *rows = n <= SIZE_MAX / sizeof *rows ? calloc(n ? n : 1, sizeof *rows) : NULL;
    fputs("<section id=\"model\"><h2>Model</h2>\n", fp);
    static const char *const loss_names[] = {"mean squared error", "binary cross-entropy",
                                             "cross-entropy"};
    syn_loss loss = syn_net_loss(net);
    fprintf(fp, "<p>%zu inputs, %zu outputs; loss: %s.</p>\n", syn_net_n_inputs(net),
            syn_net_n_outputs(net), (unsigned)loss < 3 ? loss_names[loss] : "unknown");
    if (!rows || !report_layers(net, rows)) {
        missing(fp, "The layer table could not be built (out of memory or a layer the "
                    "library does not describe).");
    } else {
        fputs("<div class=\"scroll\"><table><tr><th>#</th><th>layer</th><th>activation"
              "</th><th class=\"num\">input</th><th class=\"num\">output width</th>"
              "<th class=\"num\">parameters</th><th class=\"num\">memory</th></tr>\n", fp);
        size_t total = 0, bytes = 0;
        for (size_t i = 0; i < n; i++) {
            char mem[32];
            cli_format_bytes(mem, sizeof mem, rows[i].bytes);
            fprintf(fp, "<tr><td>%zu</td><td>%s</td><td>%s</td><td class=\"num\">%zu</td>"
                    "<td class=\"num\">%zu</td><td class=\"num\">%zu</td><td class=\"num\">"
                    "%s</td></tr>\n", i + 1, rows[i].kind, rows[i].detail, rows[i].n_in,
                    rows[i].units, rows[i].params, mem);
            total += rows[i].params;
            bytes += rows[i].bytes;
        }
        char mem[32];
        cli_format_bytes(mem, sizeof mem, bytes);
        fprintf(fp, "<tr class=\"total\"><td></td><td>total</td><td></td><td></td><td></td>"
                "<td class=\"num\" data-metric=\"params\" data-value=\"%zu\">%zu</td>"
                "<td class=\"num\">%s</td></tr>\n</table></div>\n", total, total, mem);
        fputs("<p>Memory: the float32 parameters (and batch norm's running statistics).", fp);
        /* What training allocates, from the plans the library sizes it by (as
         * synapse info states it). */
        syn_layer_desc *descs = calloc(n ? n : 1, sizeof *descs);
        int ok = descs != NULL;
        for (size_t i = 0; ok && i < n; i++)
            ok = syn_net_layer(net, i, &descs[i], NULL) == SYN_OK;
        syn_net_desc desc = {.n_inputs = syn_net_n_inputs(net), .n_layers = n,
                             .layers = descs, .loss = syn_net_loss(net),
                             .reduction = syn_net_reduction(net)};
        size_t train = 0;
        if (ok && syn_net_memory_estimate(&desc, SYN_OPTIM_ADAM, 128, &train) == SYN_OK) {
            cli_format_bytes(mem, sizeof mem, train);
            fprintf(fp, " Training with adam at batch 128 allocates %s (parameters, "
                    "gradients, moments, workspace).", mem);
        }
        free(descs);
        fputs("</p>\n", fp);
    }
    free(rows);
    if (w->m->classify) {
        fprintf(fp, "<p>%zu classes:", w->m->n_classes);
        for (size_t c = 0; c < w->m->n_classes && c < 100; c++) {
            fputs(c ? ", " : " ", fp);
            html(fp, w->m->classes[c]);
        }
        fputs(w->m->n_classes > 100 ? ", ...</p>\n" : ".</p>\n", fp);
    }
    write_preprocessing(w);
    fputs("</section>\n", fp);
}

/* -------------------------------------------------------------- curves */

static double *column(const report_history *h, size_t offset)
{
    double *v = malloc((h->n_epochs ? h->n_epochs : 1) * sizeof *v);
    for (size_t i = 0; v && i < h->n_epochs; i++)
        v[i] = *(const double *)((const char *)&h->epochs[i] + offset);
    return v;
}

static int any_value(const double *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        if (isfinite(v[i]))
            return 1;
    return 0;
}

/* allow_log: 0 linear, 1 a log axis past two decades, 2 past one (a
 * learning rate cut tenfold). */
static void chart(writer *w, const char *title, const char *y_label, const double *a,
                  const char *a_name, const double *b, const char *b_name, int unit,
                  int allow_log, const char *absent)
{
    const report_history *h = w->in->history;
    if (!any_value(a, h->n_epochs) && !any_value(b, h->n_epochs)) {
        fputs("<div>", w->fp);
        missing(w->fp, absent);
        fputs("</div>\n", w->fp);
        return;
    }
    cli_series s[2] = {{a_name, a, "#1f77b4", 0}, {b_name, b, "#e8710a", 1}};
    char best[64], stop[64];
    snprintf(best, sizeof best, h->restored ? "best epoch %zu" : "saved epoch %zu",
             h->saved_epoch);
    snprintf(stop, sizeof stop, "last epoch %zu", h->n_epochs);
    cli_chart c = {.title = title, .y_label = y_label, .n = h->n_epochs, .series = s,
                   .n_series = any_value(b, h->n_epochs) ? 2 : 1, .unit_interval = unit,
                   .allow_log = allow_log, .log_ratio = allow_log == 2 ? 9.99 : 0,
                   .best_epoch = h->saved_epoch,
                   .stop_epoch = h->restored ? h->n_epochs : 0, .best_label = best,
                   .stop_label = stop};
    fputs("<div>", w->fp);
    cli_chart_svg(w->fp, &c);
    fputs("</div>\n", w->fp);
}

static void write_curves(writer *w)
{
    FILE *fp = w->fp;
    const report_history *h = w->in->history;
    fputs("<section id=\"curves\"><h2>Training curves</h2>\n", fp);
    if (!h || !h->n_epochs) {
        missing(fp, h && h->source ? "The log records no epoch." :
                    "No log was given (synapse train --log FILE.csv records one; pass it "
                    "with --log), so there are no curves.");
        fputs("</section>\n", fp);
        return;
    }
    fprintf(fp, "<p>%zu epochs", h->n_epochs);
    if (h->source) {
        fputs(", from the log <code>", fp);
        html(fp, h->source);
        fputs("</code>", fp);
    }
    fputs(". ", fp);
    if (h->saved_epoch && h->restored)
        fprintf(fp, "Early stopping restored the weights of epoch <b data-field=\"best_epoch\">"
                "%zu</b>, the best on the monitored loss; the model holds them.", h->saved_epoch);
    else if (h->saved_epoch)
        fprintf(fp, "The model holds the weights of the last epoch, <b data-field="
                "\"best_epoch\">%zu</b>.", h->saved_epoch);
    else
        fputs("The log does not record which epoch the model holds (a run that did not "
              "finish writing it).", fp);
    fputs("</p>\n<p>Why training stopped: ", fp);
    if (h->stop_reason[0])
        html(fp, h->stop_reason);
    else
        fputs(h->has_stop ? "not recorded (the run did not finish)" :
                            "not recorded (a log of a synapse before the stop column)", fp);
    fputs(".</p>\n<div class=\"grid2\">\n", fp);
    double *tl = column(h, offsetof(report_epoch, train_loss));
    double *vl = column(h, offsetof(report_epoch, val_loss));
    double *ta = column(h, offsetof(report_epoch, train_acc));
    double *va = column(h, offsetof(report_epoch, val_acc));
    double *lr = column(h, offsetof(report_epoch, lr));
    double *sps = column(h, offsetof(report_epoch, samples_per_second));
    if (tl && vl && ta && va && lr && sps) {
        chart(w, "Loss", "loss", tl, "training", vl, "validation", 0, 1,
              "The log has no loss values.");
        if (w->m->classify)
            chart(w, "Accuracy", "accuracy", ta, "training", va, "validation", 1, 0,
                  "The log has no accuracy values.");
        chart(w, "Learning rate", "learning rate", lr, "learning rate", NULL, NULL, 0, 2,
              h->has_lr ? "The log has no learning rates." :
                          "Learning rate: not recorded (a log of a synapse before the lr "
                          "column).");
        chart(w, "Throughput", "samples per second", sps, "training", NULL, NULL, 0, 0,
              "Samples per second: not recorded in the log.");
    } else {
        missing(fp, "out of memory drawing the curves");
    }
    free(tl);
    free(vl);
    free(ta);
    free(va);
    free(lr);
    free(sps);
    fputs("</div>\n</section>\n", fp);
}

/* ---------------------------------------------------------- evaluation */

static void class_metrics_row(writer *w, const char *label, long c, const syn_class_metrics *m,
                              const char *key)
{
    FILE *fp = w->fp;
    char extra[64];
    if (c >= 0)
        snprintf(extra, sizeof extra, " data-class=\"%ld\"", c);
    else
        snprintf(extra, sizeof extra, " data-avg=\"%s\"", key);
    fprintf(fp, "<tr%s><td>", c < 0 ? " class=\"total\"" : "");
    html(fp, label);
    fputs("</td>", fp);
    metric(fp, "precision", m->precision, extra);
    metric(fp, "recall", m->recall, extra);
    metric(fp, "f1", m->f1, extra);
    count_cell(fp, "support", m->support, extra);
    fputs("</tr>\n", fp);
}

/* A cell of a heat map: the blue of its share, white text on dark. */
static void heat_cell(FILE *fp, double share, const char *text, const char *attrs)
{
    share = share < 0 ? 0 : share > 1 ? 1 : share;
    int r = (int)lround(255 - share * (255 - 31)), g = (int)lround(255 - share * (255 - 94)),
        b = (int)lround(255 - share * (255 - 160));
    fprintf(fp, "<td style=\"background:rgb(%d,%d,%d);color:%s\"%s>%s</td>", r, g, b,
            share > 0.5 ? "#fff" : "#1d2430", attrs, text);
}

static void write_heat(writer *w, int normalized)
{
    FILE *fp = w->fp;
    size_t k = w->ev.k;
    const uint64_t *cm = w->ev.confusion;
    uint64_t largest = 1;
    for (size_t i = 0; i < k * k; i++)
        largest = cm[i] > largest ? cm[i] : largest;
    fprintf(fp, "<div><h3>%s</h3>\n<div class=\"scroll\"><table class=\"heat\"%s><tr><th>"
            "true \\ predicted</th>", normalized ? "Row-normalized (share of each true class)"
            : "Counts", normalized ? "" : " id=\"confusion\"");
    for (size_t c = 0; c < k; c++) {
        fprintf(fp, "<th class=\"num\" title=\"");
        html(fp, w->m->classes[c]);
        fprintf(fp, "\">%zu</th>", c);
    }
    fputs("</tr>\n", fp);
    for (size_t r = 0; r < k; r++) {
        uint64_t support = w->ev.cm[r].support;
        fputs("<tr><th class=\"row\" title=\"", fp);
        html(fp, w->m->classes[r]);
        char index[32];
        snprintf(index, sizeof index, "%zu", r);
        fprintf(fp, "\">%zu", r);
        /* Unnamed classes are their numbers: not twice. */
        if (strcmp(index, w->m->classes[r])) {
            fputc(' ', fp);
            html(fp, w->m->classes[r]);
        }
        fputs("</th>", fp);
        for (size_t c = 0; c < k; c++) {
            uint64_t v = cm[r * k + c];
            char text[32], attrs[96];
            if (normalized) {
                double share = support ? (double)v / (double)support : 0.0;
                snprintf(text, sizeof text, support ? "%.2f" : "-", share);
                heat_cell(fp, share, text, "");
            } else {
                snprintf(text, sizeof text, "%llu", (unsigned long long)v);
                snprintf(attrs, sizeof attrs, " data-row=\"%zu\" data-col=\"%zu\" data-value="
                         "\"%llu\"", r, c, (unsigned long long)v);
                heat_cell(fp, sqrt((double)v / (double)largest), text, attrs);
            }
        }
        fputs("</tr>\n", fp);
    }
    fputs("</table></div></div>\n", fp);
}

static void write_classifier(writer *w)
{
    FILE *fp = w->fp;
    const eval_report *r = &w->ev;
    fputs("<h3>Classification report</h3>\n<p>sklearn's definitions "
          "(classification_report); a class never predicted has precision 0.</p>\n"
          "<div class=\"scroll\"><table id=\"class-report\"><tr><th>class</th><th class="
          "\"num\">precision</th><th class=\"num\">recall</th><th class=\"num\">F1</th>"
          "<th class=\"num\">support</th></tr>\n", fp);
    for (size_t c = 0; c < r->k; c++)
        class_metrics_row(w, w->m->classes[c], (long)c, &r->cm[c], NULL);
    class_metrics_row(w, "macro avg", -1, &r->summary.macro, "macro");
    class_metrics_row(w, "weighted avg", -1, &r->summary.weighted, "weighted");
    fputs("</table></div>\n", fp);
    if (r->k > MAX_HEAT_CLASSES) {
        char why[160];
        snprintf(why, sizeof why, "Confusion matrix: %zu classes are too many to draw as a "
                 "heat map (up to %d); synapse eval --json has it.", r->k, MAX_HEAT_CLASSES);
        missing(fp, why);
    } else {
        fputs("<p>Confusion matrix: rows are the true class, columns the predicted one "
              "(numbered as the rows).</p>\n<div class=\"grid2\">\n", fp);
        write_heat(w, 0);
        write_heat(w, 1);
        fputs("</div>\n", fp);
    }
    fputs("<h3>Most confused</h3>\n", fp);
    if (!r->n_pairs) {
        fputs("<p>No class was confused with another.</p>\n", fp);
        return;
    }
    fputs("<div class=\"scroll\"><table><tr><th>true</th><th>predicted as</th><th class="
          "\"num\">rows</th><th class=\"num\">of the true class</th></tr>\n", fp);
    for (size_t i = 0; i < r->n_pairs; i++) {
        const confused_pair *p = &r->pairs[i];
        fputs("<tr><td>", fp);
        html(fp, w->m->classes[p->truth]);
        fputs("</td><td>", fp);
        html(fp, w->m->classes[p->predicted]);
        fprintf(fp, "</td><td class=\"num\">%llu</td><td class=\"num\">%.1f%%</td></tr>\n",
                (unsigned long long)p->count,
                100.0 * (double)p->count / (double)r->cm[p->truth].support);
    }
    fputs("</table></div>\n", fp);
}

static void target_row(writer *w, const char *name, const syn_target_eval *t, long j)
{
    char extra[48];
    if (j >= 0)
        snprintf(extra, sizeof extra, " data-target=\"%ld\"", j);
    else
        snprintf(extra, sizeof extra, " data-avg=\"overall\"");
    fprintf(w->fp, "<tr%s><td>", j < 0 ? " class=\"total\"" : "");
    html(w->fp, name);
    fputs("</td>", w->fp);
    metric(w->fp, "mse", t->mse, extra);
    metric(w->fp, "rmse", t->rmse, extra);
    metric(w->fp, "mae", t->mae, extra);
    metric(w->fp, "r2", t->r2, extra);
    fputs("</tr>\n", w->fp);
}

static void write_regression_plots(writer *w)
{
    FILE *fp = w->fp;
    size_t n_out = w->n_out, n = w->n_rows;
    if (!w->pred_out) {
        missing(fp, "Residual plots: the predictions could not be computed (out of memory).");
        return;
    }
    size_t stride = n > MAX_SCATTER_POINTS ? (n + MAX_SCATTER_POINTS - 1) / MAX_SCATTER_POINTS
                                           : 1;
    size_t shown = (n + stride - 1) / stride;
    double *tx = malloc(shown * sizeof *tx), *py = malloc(shown * sizeof *py),
           *res = malloc(shown * sizeof *res);
    if (!tx || !py || !res) {
        missing(fp, "Residual plots: out of memory.");
    } else {
        if (stride > 1)
            fprintf(fp, "<p>Plots show every %zuth row (%zu of %zu).</p>\n", stride, shown, n);
        for (size_t j = 0; j < n_out && j < MAX_SCATTER_TARGETS; j++) {
            char buf[32], title[2][160];
            const char *name = eval_target_name(&w->ev, j, buf, sizeof buf);
            for (size_t i = 0; i < shown; i++) {
                tx[i] = w->true_out[i * stride * n_out + j];
                py[i] = w->pred_out[i * stride * n_out + j];
                res[i] = tx[i] - py[i];
            }
            snprintf(title[0], sizeof title[0], "%.60s: predicted vs true", name);
            snprintf(title[1], sizeof title[1], "%.60s: residual (true - predicted)", name);
            cli_scatter a = {title[0], "true", "predicted", tx, py, shown, 1, 0};
            cli_scatter b = {title[1], "predicted", "residual", py, res, shown, 0, 1};
            fputs("<div class=\"grid2\"><div>", fp);
            cli_scatter_svg(fp, &a);
            fputs("</div><div>", fp);
            cli_scatter_svg(fp, &b);
            fputs("</div></div>\n", fp);
        }
        if (n_out > MAX_SCATTER_TARGETS)
            fprintf(fp, "<p>Plots of the first %d of %zu outputs.</p>\n", MAX_SCATTER_TARGETS,
                    n_out);
    }
    free(tx);
    free(py);
    free(res);
}

static void write_regression(writer *w)
{
    FILE *fp = w->fp;
    fputs("<h3>Scores</h3>\n<p>sklearn.metrics definitions, per output and their uniform "
          "average.</p>\n<div class=\"scroll\"><table id=\"regression\"><tr><th>output</th>"
          "<th class=\"num\">MSE</th><th class=\"num\">RMSE</th><th class=\"num\">MAE</th>"
          "<th class=\"num\">R&#178;</th></tr>\n", fp);
    for (size_t j = 0; j < w->ev.n_targets; j++) {
        char buf[32];
        target_row(w, eval_target_name(&w->ev, j, buf, sizeof buf), &w->ev.targets[j],
                   (long)j);
    }
    target_row(w, "mean", &w->ev.overall, -1);
    fputs("</table></div>\n", fp);
    write_regression_plots(w);
}

static void write_evaluation(writer *w)
{
    FILE *fp = w->fp;
    fputs("<section id=\"evaluation\"><h2>Evaluation</h2>\n", fp);
    if (!w->have_eval) {
        missing(fp, w->in->eval_what);
        fputs("</section>\n", fp);
        return;
    }
    fprintf(fp, "<p>On ");
    html(fp, w->in->eval_what);
    fprintf(fp, ": <span data-metric=\"samples\" data-value=\"%zu\">%zu</span> rows, loss "
            "<span data-metric=\"loss\" data-value=\"%.10g\">", w->ev.ev.samples,
            w->ev.ev.samples, w->ev.ev.loss);
    fmt_number(fp, w->ev.ev.loss);
    fputs("</span>", fp);
    if (w->m->classify)
        fprintf(fp, ", accuracy <span data-metric=\"accuracy\" data-value=\"%.10g\">%.4f"
                "</span>", w->ev.ev.accuracy, w->ev.ev.accuracy);
    fputs(".</p>\n", fp);
    (w->m->classify ? write_classifier : write_regression)(w);
    fputs("</section>\n", fp);
}

/* -------------------------------------------------------------- images */

/* The side of a square image of n pixels, or 0. */
static size_t square_side(size_t n)
{
    size_t s = (size_t)llround(sqrt((double)n));
    return s >= 2 && s * s == n ? s : 0;
}

/* One image as a canvas: its pixels stretched to 0..255 (any IDX value
 * range reads), base64 inline. */
static void gray_canvas(FILE *fp, const float *x, size_t side, unsigned char *bytes)
{
    size_t n = side * side;
    float lo = x[0], hi = x[0];
    for (size_t i = 1; i < n; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    /* Pixels already in 0..255 keep their values: images stay comparable. */
    if (lo >= 0 && hi <= 255 && hi > 1) {
        lo = 0;
        hi = 255;
    }
    float span = hi > lo ? hi - lo : 1;
    for (size_t i = 0; i < n; i++)
        bytes[i] = (unsigned char)lroundf(255.0f * (x[i] - lo) / span);
    fprintf(fp, "<canvas width=\"%zu\" height=\"%zu\" data-gray=\"", side, side);
    base64(fp, bytes, n);
    fputs("\"></canvas>", fp);
}

static void write_misclassified(writer *w, size_t side)
{
    FILE *fp = w->fp;
    size_t n_pixels = side * side, wrong = 0;
    for (size_t i = 0; i < w->n_rows; i++)
        wrong += w->pred_class[i] != w->true_class[i];
    fprintf(fp, "<h3>Misclassified images</h3>\n<p>%zu of %zu rows are misclassified", wrong,
            w->n_rows);
    if (wrong > MAX_MISCLASSIFIED)
        fprintf(fp, "; the first %d are shown", MAX_MISCLASSIFIED);
    fputs(". Under each: the true class, then the predicted one.</p>\n", fp);
    if (!wrong)
        return;
    float *x = malloc(n_pixels * sizeof *x);
    unsigned char *bytes = malloc(n_pixels);
    if (!x || !bytes) {
        missing(fp, "out of memory drawing the images");
    } else {
        fputs("<div class=\"imgs\" id=\"misclassified\">\n", fp);
        for (size_t i = 0, shown = 0; i < w->n_rows && shown < MAX_MISCLASSIFIED; i++) {
            if (w->pred_class[i] == w->true_class[i])
                continue;
            size_t row = row_at(w, i);
            if (syn_dataset_gather(w->in->eval_data, &row, 1, x, NULL) != SYN_OK)
                break;
            fprintf(fp, "<figure data-row=\"%zu\">", row);
            gray_canvas(fp, x, side, bytes);
            fputs("<figcaption>", fp);
            html(fp, w->m->classes[w->true_class[i]]);
            fputs("<br>&#8594; ", fp);
            html(fp, w->m->classes[w->pred_class[i]]);
            fputs("</figcaption></figure>\n", fp);
            shown++;
        }
        fputs("</div>\n", fp);
    }
    free(x);
    free(bytes);
}

/* The first layer's weights of each unit as an image of the input's shape:
 * what pattern of pixels the unit responds to. */
static void write_weights(writer *w, size_t side)
{
    FILE *fp = w->fp;
    syn_layer_desc d;
    size_t n_in = 0, w_off = 0;
    size_t count = 0;
    const float *params = syn_net_params_const(w->m->net, &count);
    /* A dense first layer only: a norm's gamma is not an image of weights. */
    if (syn_net_layer(w->m->net, 0, &d, &n_in) != SYN_OK || d.kind != SYN_LAYER_DENSE ||
        n_in != side * side ||
        syn_net_layer_offsets(w->m->net, 0, &w_off, NULL) != SYN_OK ||
        w_off > count || d.units > (count - w_off) / n_in)
        return;
    size_t shown = d.units < MAX_WEIGHT_IMAGES ? d.units : MAX_WEIGHT_IMAGES;
    fprintf(fp, "<h3>First-layer weights</h3>\n<p>Each of %s%zu units of the first dense "
            "layer as a %zux%zu image: red weights raise its output, blue lower it (on the "
            "scaled inputs; each image on its own scale).</p>\n<div class=\"imgs weights\" "
            "id=\"weights\">\n", shown < d.units ? "the first " : "the ", shown, side, side);
    unsigned char *bytes = malloc(n_in);
    for (size_t u = 0; bytes && u < shown; u++) {
        const float *row = params + w_off + u * n_in; /* weights are [units x n_in] */
        float largest = 0;
        for (size_t i = 0; i < n_in; i++)
            largest = fabsf(row[i]) > largest ? fabsf(row[i]) : largest;
        for (size_t i = 0; i < n_in; i++)
            bytes[i] = (unsigned char)(128 + lroundf(127.0f * (largest > 0 ? row[i] / largest
                                                                          : 0.0f)));
        fprintf(fp, "<figure><canvas width=\"%zu\" height=\"%zu\" data-signed=\"", side, side);
        base64(fp, bytes, n_in);
        fprintf(fp, "\"></canvas><figcaption>unit %zu</figcaption></figure>\n", u + 1);
    }
    free(bytes);
    fputs("</div>\n", fp);
}

static void write_images(writer *w)
{
    if (!w->in->is_idx || !w->m->classify)
        return;
    FILE *fp = w->fp;
    fputs("<section id=\"images\"><h2>Images</h2>\n", fp);
    size_t side = square_side(syn_net_n_inputs(w->m->net));
    if (!side) {
        missing(fp, "The images are not square, and IDX shapes other than square ones are "
                    "not drawn.");
    } else {
        if (!w->have_eval)
            missing(fp, "Misclassified images: no evaluation data.");
        else if (!w->pred_class)
            missing(fp, "Misclassified images: the predictions could not be computed.");
        else
            write_misclassified(w, side);
        write_weights(w, side);
    }
    fputs("</section>\n", fp);
}

/* ------------------------------------------------------------- timings */

static void share_bar(FILE *fp, const char *name, double seconds, double total,
                      const char *color)
{
    if (!(seconds > 0))
        return;
    fprintf(fp, "<div style=\"width:%.2f%%;background:%s\" title=\"%s %.3g s\">%s %.0f%%"
            "</div>", 100.0 * seconds / total, color, name, seconds, name,
            100.0 * seconds / total);
}

static void write_timings(writer *w)
{
    FILE *fp = w->fp;
    const report_input *in = w->in;
    const report_history *h = in->history;
    fputs("<section id=\"timings\"><h2>Timings</h2>\n", fp);
    double sum = 0, lo = INFINITY, hi = 0;
    size_t timed = 0;
    for (size_t i = 0; h && i < h->n_epochs; i++) {
        double s = h->epochs[i].seconds;
        if (!isfinite(s))
            continue;
        sum += s;
        lo = fmin(lo, s);
        hi = fmax(hi, s);
        timed++;
    }
    if (timed) {
        fprintf(fp, "<p>Time per epoch (training pass): mean %.3g s, fastest %.3g s, slowest "
                "%.3g s, %.4g s over %zu epochs.</p>\n", sum / (double)timed, lo, hi, sum, timed);
        if (timed >= 2) {
            double *sec = column(h, offsetof(report_epoch, seconds));
            if (sec) {
                cli_series s = {"seconds", sec, "#1f77b4", 0};
                cli_chart c = {.title = "Seconds per epoch", .y_label = "seconds",
                               .n = h->n_epochs, .series = &s, .n_series = 1};
                fputs("<div class=\"grid2\"><div>", fp);
                cli_chart_svg(fp, &c);
                fputs("</div></div>\n", fp);
            }
            free(sec);
        }
    } else {
        missing(fp, "Time per epoch: not recorded (no log, or a log without seconds).");
    }
    double total = 0;
    double parts[3] = {in->load_seconds, in->train_seconds, in->eval_seconds};
    int have_all = 1;
    for (int i = 0; i < 3; i++) {
        have_all = have_all && isfinite(parts[i]);
        total += isfinite(parts[i]) ? parts[i] : 0;
    }
    if (have_all && total > 0) {
        fprintf(fp, "<p>Where this run's %.3g s went: loading %.3g s, training %.3g s, "
                "evaluating %.3g s (validation and test passes).</p>\n<div class=\"bar\">",
                total, parts[0], parts[1], parts[2]);
        share_bar(fp, "loading", parts[0], total, "#8c6bb1");
        share_bar(fp, "training", parts[1], total, "#1f77b4");
        share_bar(fp, "evaluating", parts[2], total, "#e8710a");
        fputs("</div>\n", fp);
    } else {
        missing(fp, "Shares of loading, training and evaluating: not recorded (a log does not "
                    "store them; synapse train --report measures them).");
    }
    if (in->peak_memory) {
        char mem[32];
        cli_format_bytes(mem, sizeof mem, in->peak_memory);
        fprintf(fp, "<p>Peak memory of the training process (resident): %s.</p>\n", mem);
    } else {
        missing(fp, "Peak memory: not recorded (a log does not store it; synapse train "
                    "--report measures it).");
    }
    fputs("</section>\n", fp);
}

/* ---------------------------------------------------------------- all */

static int write_document(writer *w)
{
    FILE *fp = w->fp;
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          /* Nothing may load from anywhere: the file is the whole report. */
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
          "<title>", fp);
    html(fp, w->in->title);
    fprintf(fp, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n<header><h1>", style);
    html(fp, w->in->title);
    fputs("</h1><p>", fp);
    html(fp, w->in->model_path);
    fputs(w->m->classify ? " &#183; classifier" : " &#183; regression", fp);
    fputs("</p></header>\n", fp);
    write_summary(w);
    write_curves(w);
    write_evaluation(w);
    write_images(w);
    write_model(w);
    write_timings(w);
    write_provenance(w);
    fprintf(fp, "<footer>Written by synapse %s report. Self-contained: it loads nothing from "
            "the network.</footer>\n</main>\n<script>\n%s</script>\n</body>\n</html>\n",
            syn_version(), script);
    return !ferror(fp);
}

int report_write(const char *cmd, const char *path, const report_input *in)
{
    writer w;
    memset(&w, 0, sizeof w);
    w.in = in;
    w.m = in->model;
    w.n_out = syn_net_n_outputs(in->model->net);
    int rc = SYN_EXIT_OK;
    if (in->eval_data) {
        w.n_rows = in->eval_rows ? in->n_eval_rows : syn_dataset_n_samples(in->eval_data);
        rc = eval_compute(cmd, w.m, in->eval_data, in->eval_rows, in->n_eval_rows,
                          in->threads, in->eval_what, &w.ev);
        w.have_eval = rc == SYN_EXIT_OK;
        if (w.have_eval)
            predict_rows(&w);
    }
    cli_out_file f;
    if (rc == SYN_EXIT_OK)
        rc = cli_out_open(cmd, path, &f);
    if (rc == SYN_EXIT_OK) {
        w.fp = f.fp;
        write_document(&w);
        rc = cli_out_commit(cmd, &f);
    }
    eval_report_free(&w.ev);
    free(w.pred_class);
    free(w.true_class);
    free(w.pred_out);
    free(w.true_out);
    return rc;
}
