/* setting.c: the table of settings (setting.h) and everything that reads a value
 * into a setting or checks a setting as a whole.  One table holds every key's type,
 * range, default, documentation, `wedge train` option and output coordinate, so the
 * YAML parser, the command line and the output cannot disagree. */
#include "wedge/setting.h"

#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wedge/error.h"
#include "wedge/rng.h"

/* Choice keys are stored into enum fields through an int. */
_Static_assert(sizeof(wg_data_kind) == sizeof(int), "enum size");
_Static_assert(sizeof(wg_act) == sizeof(int), "enum size");
_Static_assert(sizeof(wg_opt_kind) == sizeof(int), "enum size");
_Static_assert(sizeof(wg_sched_kind) == sizeof(int), "enum size");
_Static_assert(sizeof(wg_dropout_where) == sizeof(int), "enum size");

static const char *const model_names[WG_MODELS] = {"simplecnn", "mlp", "toy"};
const char *wg_model_name(int m) { return m >= 0 && m < WG_MODELS ? model_names[m] : "?"; }

static const char *data_choice(int i) { return wg_data_kind_name((wg_data_kind)i); }
static const char *model_choice(int i) { return wg_model_name(i); }
static const char *act_choice(int i) { return wg_act_name((wg_act)i); }
static const char *opt_choice(int i) { return wg_opt_name((wg_opt_kind)i); }
static const char *sched_choice(int i) { return wg_sched_name((wg_sched_kind)i); }
static const char *where_choice(int i) { return wg_dropout_where_name((wg_dropout_where)i); }

#define AT(f) .off = offsetof(wg_setting, f)
#define NAME_KEY(k, fn, n, d, f) \
    .name = k, .type = WG_KEY_NAME, .choice = fn, .nchoices = n, .deflt = d, .st = WG_ST_ENUM, AT(f)
#define INT_KEY(k, l, h, d, s, f) \
    .name = k, .type = WG_KEY_INT, .lo = l, .hi = h, .deflt = d, .st = s, AT(f)
#define FLOAT_KEY(k, l, lopen, h, hopen, d, s, f) \
    .name = k, .type = WG_KEY_FLOAT, .lo = l, .lo_open = lopen, .hi = h, .hi_open = hopen, \
    .deflt = d, .st = s, AT(f)
#define COORD(v, ln, u) .var = v, .long_name = ln, .units = u

const wg_key wg_keys[WG_NKEYS] = {
    [WG_K_DATA_NAME] = {NAME_KEY("data.name", data_choice, 5, "fashion-mnist", data),
                        .doc = "dataset: fashion-mnist, mnist, cifar10, cifar100 or synthetic",
                        .option = "data", COORD("dataset", "dataset", NULL)},
    [WG_K_DATA_PATH] = {.name = "data.path", .type = WG_KEY_TEXT, .deflt = "", .st = WG_ST_STR,
                        AT(data_path), .cap = sizeof(((wg_setting *)0)->data_path),
                        .doc = "dataset directory (fashion-mnist: " WG_FASHION_MNIST_PATH ")",
                        .option = "data-path"},
    [WG_K_TRAIN_SIZE] = {INT_KEY("data.train_size", 0, WG_INT_EXACT, "0", WG_ST_SIZE, train_size),
                         .doc = "seeded training subset of N images (0: all)",
                         .option = "train-size",
                         COORD("train_size", "training set size (0 = whole split)", "images")},
    [WG_K_TEST_SIZE] = {INT_KEY("data.test_size", 0, WG_INT_EXACT, "0", WG_ST_SIZE, test_size),
                        .doc = "seeded test subset of N images (0: all)", .option = "test-size",
                        COORD("test_size", "test set size (0 = whole split)", "images")},
    [WG_K_SYNTH_TRAIN] = {INT_KEY("data.synthetic_train", 1, WG_INT_EXACT, "2000", WG_ST_SIZE,
                                  synth_train),
                          .doc = "synthetic data: training images", .option = "synthetic-train"},
    [WG_K_SYNTH_TEST] = {INT_KEY("data.synthetic_test", 1, WG_INT_EXACT, "500", WG_ST_SIZE,
                                 synth_test),
                         .doc = "synthetic data: test images", .option = "synthetic-test"},
    [WG_K_SYNTH_SIZE] = {INT_KEY("data.synthetic_size", 8, 64, "28", WG_ST_INT, synth_size),
                         .doc = "synthetic data: image height and width",
                         .option = "synthetic-size"},
    [WG_K_SYNTH_CHANNELS] = {.name = "data.synthetic_channels", .type = WG_KEY_INT, .lo = 1,
                             .hi = 3, .only13 = 1, .deflt = "1", .st = WG_ST_INT,
                             AT(synth_channels), .doc = "synthetic data: channels (1 or 3)",
                             .option = "synthetic-channels"},
    [WG_K_ARCH] = {NAME_KEY("model.arch", model_choice, WG_MODELS, "simplecnn", model),
                   .doc = "model: simplecnn, mlp, or toy (the wedge model of the paper)",
                   .option = "arch", COORD("arch", "architecture", NULL)},
    [WG_K_WIDTH] = {INT_KEY("model.width", 1, 64, "1", WG_ST_INT, net.width),
                    .doc = "simplecnn channel multiplier c: 16c/32c/32c channels",
                    .option = "width", COORD("width", "SimpleCNN width multiplier", "1")},
    [WG_K_DEPTH] = {INT_KEY("model.depth", 0, 32, "2", WG_ST_INT, net.depth),
                    .doc = "mlp hidden layers", .option = "depth",
                    COORD("depth", "MLP hidden layers", "1")},
    [WG_K_HIDDEN] = {INT_KEY("model.hidden", 1, 65536, "256", WG_ST_INT, net.hidden),
                     .doc = "mlp units per hidden layer", .option = "hidden",
                     COORD("hidden", "MLP hidden units per layer", "1")},
    [WG_K_ACTIVATION] = {NAME_KEY("model.activation", act_choice, 2, "tanh", net.activation),
                         .doc = "activation: tanh or relu", .option = "activation",
                         COORD("activation", "activation function", NULL)},
    [WG_K_DROPOUT] = {FLOAT_KEY("model.dropout", 0, 0, 1, 1, "0", WG_ST_FLOAT, net.dropout),
                      .doc = "drop probability in [0, 1)", .option = "dropout",
                      COORD("dropout", "dropout probability", "1")},
    [WG_K_DROPOUT_WHERE] = {NAME_KEY("model.dropout_where", where_choice, 2, "dense",
                                     net.dropout_where),
                            .doc = "simplecnn dropout: before the dense layer only (dense) or also "
                                   "after every conv block (all)",
                            .option = "dropout-where",
                            COORD("dropout_where", "where SimpleCNN drops units", NULL)},
    [WG_K_TOY_DIM] = {INT_KEY("model.dim", 2, 100000000, "1000", WG_ST_INT, toy_dim),
                      .doc = "toy model: dimension D", .option = "dim",
                      COORD("dim", "toy model: dimension D (NaN for a network)", "1"),
                      .toy_only = 1},
    [WG_K_TOY_LONG] = {INT_KEY("model.long", 0, 100000000, "100", WG_ST_INT, toy_long),
                       .doc = "toy model: long directions n (< D)", .option = "long",
                       COORD("long", "toy model: long directions n (NaN for a network)", "1"),
                       .toy_only = 1},
    [WG_K_OPTIMIZER] = {NAME_KEY("train.optimizer", opt_choice, 2, "adam", train.optimizer),
                        .doc = "optimizer: adam or sgd", .option = "optimizer",
                        COORD("optimizer", "optimizer", NULL)},
    [WG_K_LR] = {FLOAT_KEY("train.lr", 0, 1, INFINITY, 0, "1e-3", WG_ST_DOUBLE, train.lr),
                 .doc = "learning rate", .option = "lr", COORD("lr", "learning rate", "1")},
    [WG_K_MOMENTUM] = {FLOAT_KEY("train.momentum", 0, 0, 1, 1, "0.9", WG_ST_DOUBLE,
                                 train.momentum),
                       .doc = "sgd momentum", .option = "momentum",
                       COORD("momentum", "SGD momentum", "1")},
    [WG_K_L2] = {FLOAT_KEY("train.l2", 0, 0, INFINITY, 0, "0", WG_ST_DOUBLE, train.l2),
                 .doc = "lambda of lambda*|w|^2 (weights only)", .option = "l2",
                 COORD("l2", "L2 coefficient lambda of lambda*|w|^2", "1")},
    [WG_K_BATCH] = {INT_KEY("train.batch_size", 1, WG_INT_EXACT, "128", WG_ST_SIZE,
                            train.batch_size),
                    .doc = "minibatch size", .option = "batch-size",
                    COORD("batch_size", "minibatch size", "images")},
    [WG_K_EPOCHS] = {INT_KEY("train.epochs", 1, 100000, "10", WG_ST_INT, train.epochs),
                     .doc = "training epochs", .option = "epochs",
                     COORD("epochs", "training epochs", "epochs")},
    [WG_K_SNAPSHOTS] = {.name = "train.snapshots", .type = WG_KEY_INTLIST, .lo = 1, .hi = 100000,
                        .st = WG_ST_LIST, AT(snapshots),
                        .doc = "epochs whose parameters are kept (the final one always)"},
    [WG_K_SCHEDULE] = {NAME_KEY("train.schedule", sched_choice, 2, "constant", train.schedule),
                       .doc = "learning-rate schedule: constant or cyclic", .option = "schedule",
                       COORD("schedule", "learning-rate schedule", NULL)},
    [WG_K_CYCLE] = {FLOAT_KEY("train.cycle_epochs", 0, 1, INFINITY, 0, "1", WG_ST_DOUBLE,
                              train.cycle_epochs),
                    .doc = "cyclic schedule: epochs per cycle", .option = "cycle-epochs",
                    COORD("cycle_epochs", "cyclic schedule: epochs per cycle", "epochs")},
    [WG_K_MIN_RATIO] = {FLOAT_KEY("train.min_ratio", 0, 1, 1, 0, "0.01", WG_ST_DOUBLE,
                                  train.min_ratio),
                        .doc = "cyclic schedule: lowest rate / lr", .option = "min-ratio",
                        COORD("min_ratio", "cyclic schedule: lowest lr / lr", "1")},
    [WG_K_STEPS] = {INT_KEY("train.steps", 0, WG_INT_EXACT, "0", WG_ST_LONG, train.max_steps),
                    .doc = "step budget: stop after this many optimizer steps (0: none; "
                           "train.epochs then follows from it)",
                    .option = "steps", COORD("steps", "optimizer step budget (0: none)", "1")},
    [WG_K_PROBE] = {INT_KEY("train.probe_size", 0, 1e8, "0", WG_ST_SIZE, train.probe_size),
                    .doc = "a fixed probe of N training images whose loss is recorded after "
                           "every epoch (train_probe_loss); the stop rules read it",
                    .option = "probe-size"},
    [WG_K_UNTIL_LOSS] = {FLOAT_KEY("train.until_loss", 0, 0, INFINITY, 0, "0", WG_ST_DOUBLE,
                                   train.until_loss),
                         .doc = "stop once the training-probe loss is at most this (0: off; "
                                "train.epochs is the maximum)",
                         .option = "until-loss",
                         COORD("until_loss", "stop rule: training-probe loss reached (0: off)",
                               "nat")},
    [WG_K_UNTIL_PLATEAU] = {FLOAT_KEY("train.until_plateau", 0, 0, 1, 1, "0", WG_ST_DOUBLE,
                                      train.until_plateau),
                            .doc = "stop once an epoch lowers the training-probe loss by less "
                                   "than this fraction (0: off)",
                            .option = "until-plateau",
                            COORD("until_plateau",
                                  "stop rule: relative improvement per epoch below (0: off)",
                                  "1")},
    [WG_K_REPLICATE] = {INT_KEY("seed", 0, WG_INT_EXACT, "0", WG_ST_LONG, replicate),
                        .doc = "replicate seed (initialisation, batch order, dropout)",
                        .option = "seed", COORD("seed", "replicate seed", "1")},
};

int wg_key_find(const char *dotted)
{
    for (int k = 0; k < WG_NKEYS; k++)
        if (strcmp(wg_keys[k].name, dotted) == 0)
            return k;
    return -1;
}

const char *wg_key_short(const wg_key *k)
{
    const char *d = strrchr(k->name, '.');
    return d ? d + 1 : k->name;
}

int wg_key_in_section(const wg_key *k, const char *sec)
{
    size_t n = strlen(sec);
    return strncmp(k->name, sec, n) == 0 && k->name[n] == '.';
}

/* ---- values ------------------------------------------------------------------------------ */

static int is_bool(const char *s)
{
    static const char *const b[] = {"true", "false", "yes", "no", "on", "off", "y", "n"};
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) {
        size_t k = 0;
        while (s[k] && b[i][k] && (s[k] | 0x20) == b[i][k])
            k++;
        if (!s[k] && !b[i][k])
            return 1;
    }
    return 0;
}

static int is_null_text(const char *s)
{
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
           !strcmp(s, "NULL");
}

int wg_parse_int(const char *what, const char *s, int quoted, double *out, char *err,
                 size_t cap)
{
    if (quoted)
        return snprintf(err, cap, "%s: expected an integer, got the string \"%s\"", what, s), -1;
    if (is_null_text(s))
        return snprintf(err, cap, "%s: missing value (expected an integer)", what), -1;
    if (is_bool(s))
        return snprintf(err, cap, "%s: expected an integer, got the boolean '%s'", what, s), -1;
    if (strchr(s, 'x') || strchr(s, 'X'))
        return snprintf(err, cap, "%s: expected a decimal integer, got '%s'", what, s), -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end)
        return snprintf(err, cap, "%s: expected an integer, got '%s'", what, s), -1;
    if (errno == ERANGE || v > (long long)WG_INT_EXACT || v < -(long long)WG_INT_EXACT)
        return snprintf(err, cap, "%s: integer '%s' is too large", what, s), -1;
    *out = (double)v;
    return 0;
}

int wg_parse_float(const char *what, const char *s, int quoted, double *out, char *err,
                   size_t cap)
{
    if (quoted)
        return snprintf(err, cap, "%s: expected a number, got the string \"%s\"", what, s), -1;
    if (is_null_text(s))
        return snprintf(err, cap, "%s: missing value (expected a number)", what), -1;
    if (is_bool(s))
        return snprintf(err, cap, "%s: expected a number, got the boolean '%s'", what, s), -1;
    if (strchr(s, 'x') || strchr(s, 'X'))
        return snprintf(err, cap, "%s: expected a decimal number, got '%s'", what, s), -1;
    const char *t = s + (*s == '+' || *s == '-');
    int neg = *s == '-';
    if (!strcmp(t, ".inf") || !strcmp(t, ".Inf") || !strcmp(t, ".INF")) {
        *out = neg ? -INFINITY : INFINITY;
        return 0;
    }
    if (!strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN")) {
        *out = NAN;
        return 0;
    }
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end)
        return snprintf(err, cap, "%s: expected a number, got '%s'", what, s), -1;
    *out = v;
    return 0;
}

static void join_choices(const wg_key *k, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (int i = 0; i < k->nchoices; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", k->choice(i));
    }
}

void wg_key_type_desc(const wg_key *k, char *buf, size_t cap)
{
    switch (k->type) {
    case WG_KEY_INT: snprintf(buf, cap, "an integer"); break;
    case WG_KEY_FLOAT: snprintf(buf, cap, "a number"); break;
    case WG_KEY_TEXT: snprintf(buf, cap, "a string"); break;
    case WG_KEY_INTLIST: snprintf(buf, cap, "a list of integers"); break;
    case WG_KEY_NAME: {
        char list[128];
        join_choices(k, list, sizeof list);
        snprintf(buf, cap, "one of %s", list);
        break;
    }
    }
}

void wg_key_range_desc(const wg_key *k, char *buf, size_t cap)
{
    if (k->only13)
        snprintf(buf, cap, "1 or 3");
    else if (k->type == WG_KEY_INT && k->hi >= WG_INT_EXACT)
        snprintf(buf, cap, ">= %.0f", k->lo);
    else if (k->type == WG_KEY_INT || k->type == WG_KEY_INTLIST)
        snprintf(buf, cap, "in [%.0f, %.0f]", k->lo, k->hi);
    else if (isinf(k->hi))
        snprintf(buf, cap, "%s %g", k->lo_open ? ">" : ">=", k->lo);
    else
        snprintf(buf, cap, "in %c%g, %g%c", k->lo_open ? '(' : '[', k->lo, k->hi,
                 k->hi_open ? ')' : ']');
}

int wg_key_check_range(const wg_key *k, double v, const char *repr, char *err, size_t cap)
{
    char r[64];
    wg_key_range_desc(k, r, sizeof r);
    if (!isfinite(v))
        return snprintf(err, cap, "%s = %s: must be a finite number %s", k->name, repr, r), -1;
    /* a float field must satisfy the range after rounding too (0.99999999999 -> 1.0f) */
    double stored = k->st == WG_ST_FLOAT ? (double)(float)v : v;
    int ok = 1;
    for (int pass = 0; pass < 2; pass++) {
        double x = pass ? stored : v;
        ok = ok && (k->lo_open ? x > k->lo : x >= k->lo) && (k->hi_open ? x < k->hi : x <= k->hi);
    }
    if (ok && k->only13)
        ok = v == 1 || v == 3;
    if (ok)
        return 0;
    if (k->type == WG_KEY_INT && v > k->hi && k->hi >= WG_INT_EXACT)
        return snprintf(err, cap, "%s = %s is too large (at most %.0f)", k->name, repr, k->hi),
               -1;
    return snprintf(err, cap, "%s = %s is out of range: must be %s", k->name, repr, r), -1;
}

int wg_key_choice(const wg_key *k, const char *s)
{
    for (int i = 0; i < k->nchoices; i++)
        if (strcmp(s, k->choice(i)) == 0)
            return i;
    return -1;
}

/* Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
static size_t edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 63 || m > 63)
        return (size_t)-1;
    size_t d[64][64];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[n][m];
}

const char *wg_suggest(const char *s, const char *const *cands, size_t n)
{
    const char *best = NULL;
    size_t bestd = 3, len = strlen(s);
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(s, cands[i]);
        if (d < bestd && d < len) {
            best = cands[i];
            bestd = d;
        }
    }
    for (size_t i = 0; !best && len >= 2 && i < n; i++) {
        size_t cl = strlen(cands[i]);
        if (strncmp(cands[i], s, len) == 0 || (cl >= 2 && strncmp(s, cands[i], cl) == 0))
            best = cands[i];
    }
    return best;
}

int wg_key_convert(const wg_key *k, const char *s, int quoted, double *num, char *err,
                   size_t cap)
{
    *num = 0;
    switch (k->type) {
    case WG_KEY_INT:
    case WG_KEY_INTLIST:
        return wg_parse_int(k->name, s, quoted, num, err, cap) ||
               wg_key_check_range(k, *num, s, err, cap) ? -1 : 0;
    case WG_KEY_FLOAT:
        return wg_parse_float(k->name, s, quoted, num, err, cap) ||
               wg_key_check_range(k, *num, s, err, cap) ? -1 : 0;
    case WG_KEY_NAME: {
        int i = wg_key_choice(k, s);
        if (i >= 0) {
            *num = i;
            return 0;
        }
        const char *names[16];
        for (int c = 0; c < k->nchoices && c < 16; c++)
            names[c] = k->choice(c);
        char list[128];
        join_choices(k, list, sizeof list);
        const char *sug = *s ? wg_suggest(s, names, (size_t)k->nchoices) : NULL;
        if (!*s && !quoted)
            snprintf(err, cap, "%s: missing value (expected one of %s)", k->name, list);
        else if (sug)
            snprintf(err, cap, "%s '%s' is not one of %s (did you mean '%s'?)", k->name, s, list,
                     sug);
        else
            snprintf(err, cap, "%s '%s' is not one of %s", k->name, s, list);
        return -1;
    }
    case WG_KEY_TEXT:
        if (strlen(s) >= k->cap)
            return snprintf(err, cap, "%s is too long (%zu bytes; at most %zu)", k->name,
                            strlen(s), k->cap - 1), -1;
        return 0;
    }
    return -1;
}

void wg_key_apply(wg_setting *s, const wg_key *k, double num, const char *text)
{
    char *p = (char *)s + k->off;
    switch (k->st) {
    case WG_ST_SIZE: { size_t v = (size_t)num; memcpy(p, &v, sizeof v); break; }
    case WG_ST_INT:
    case WG_ST_ENUM: { int v = (int)num; memcpy(p, &v, sizeof v); break; }
    case WG_ST_LONG: { long v = (long)num; memcpy(p, &v, sizeof v); break; }
    case WG_ST_FLOAT: { float v = (float)num; memcpy(p, &v, sizeof v); break; }
    case WG_ST_DOUBLE: memcpy(p, &num, sizeof num); break;
    case WG_ST_STR: snprintf(p, k->cap, "%s", text); break;
    case WG_ST_LIST: break;
    }
}

/* The double that prints like the float x (its shortest decimal form). */
static double shortest(float x)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.9g", (double)x);
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, (double)x);
        if ((float)strtod(buf, NULL) == x)
            break;
    }
    return strtod(buf, NULL);
}

double wg_key_value(const wg_setting *s, const wg_key *k)
{
    if (k->toy_only && !wg_setting_is_toy(s))
        return NAN;
    const char *p = (const char *)s + k->off;
    switch (k->st) {
    case WG_ST_SIZE: { size_t v; memcpy(&v, p, sizeof v); return (double)v; }
    case WG_ST_INT:
    case WG_ST_ENUM: { int v; memcpy(&v, p, sizeof v); return v; }
    case WG_ST_LONG: { long v; memcpy(&v, p, sizeof v); return (double)v; }
    case WG_ST_FLOAT: { float v; memcpy(&v, p, sizeof v); return shortest(v); }
    case WG_ST_DOUBLE: { double v; memcpy(&v, p, sizeof v); return v; }
    case WG_ST_STR:
    case WG_ST_LIST: return NAN;
    }
    return NAN;
}

const char *wg_key_text(const wg_setting *s, const wg_key *k)
{
    if (k->type == WG_KEY_NAME) {
        int v;
        memcpy(&v, (const char *)s + k->off, sizeof v);
        return k->choice(v);
    }
    if (k->st == WG_ST_STR)
        return (const char *)s + k->off;
    return "";
}

/* ---- whole settings ------------------------------------------------------------------------ */

int wg_setting_defaults(wg_setting *s)
{
    memset(s, 0, sizeof *s);
    wg_net_opts_default(&s->net);
    for (int i = 0; i < WG_NKEYS; i++) {
        const wg_key *k = &wg_keys[i];
        double x;
        char err[256];
        if (!k->deflt)
            continue;
        if (wg_key_convert(k, k->deflt, 0, &x, err, sizeof err))
            return WG_FAIL(WG_EARG, "internal: bad default of %s: %s", k->name, err);
        wg_key_apply(s, k, x, k->deflt);
    }
    return 0;
}

void wg_setting_derive(wg_setting *s, uint64_t master, size_t *ntrain, size_t *ntest)
{
    wg_net_opts *o = &s->net;
    o->arch = s->model == WG_MODEL_MLP ? WG_ARCH_MLP : WG_ARCH_SIMPLECNN;
    o->classes = 10;
    switch (s->data) {
    case WG_DATA_CIFAR10:
    case WG_DATA_CIFAR100:
        o->in_h = o->in_w = 32;
        o->in_c = 3;
        o->classes = s->data == WG_DATA_CIFAR100 ? 100 : 10;
        *ntrain = 50000;
        *ntest = 10000;
        break;
    case WG_DATA_SYNTHETIC:
        o->in_h = o->in_w = s->synth_size;
        o->in_c = s->synth_channels;
        *ntrain = s->synth_train;
        *ntest = s->synth_test;
        break;
    default: /* MNIST, Fashion-MNIST */
        o->in_h = o->in_w = 28;
        o->in_c = 1;
        *ntrain = 60000;
        *ntest = 10000;
        break;
    }
    s->train.seed = wg_setting_seed(master, s->replicate);
    /* a step budget sets the epochs: as many as its steps start (the last may be cut) */
    if (s->train.max_steps > 0) {
        size_t n = s->train_size ? s->train_size : *ntrain, bs = s->train.batch_size;
        long spe = s->model == WG_MODEL_TOY ? WG_TOY_EPOCH_STEPS
                   : bs > 0 && n >= bs     ? (long)((n + bs - 1) / bs)
                                            : 1;
        long e = (s->train.max_steps + spe - 1) / spe;
        s->train.epochs = e > 100000 ? 100001 : (int)e;
    }
}

int wg_setting_resolve_snapshots(wg_setting *s)
{
    int v[WG_MAX_SNAPSHOTS + 1], n = 0;
    for (int i = 0; i < s->nsnapshots; i++) {
        int x = s->snapshots[i], j = n;
        while (j > 0 && v[j - 1] > x)
            j--;
        if (j > 0 && v[j - 1] == x)
            continue;
        memmove(v + j + 1, v + j, (size_t)(n - j) * sizeof *v);
        v[j] = x;
        n++;
    }
    if (n == 0 || v[n - 1] != s->train.epochs)
        v[n++] = s->train.epochs;
    if (n > WG_MAX_SNAPSHOTS)
        return -1;
    memcpy(s->snapshots, v, (size_t)n * sizeof *v);
    s->nsnapshots = n;
    return 0;
}

/* A fault's message and the keys to blame. */
static int fault(wg_setting_fault *f, const char *section, const int *swept, int nswept,
                 const int *given, int ngiven, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
static int fault(wg_setting_fault *f, const char *section, const int *swept, int nswept,
                 const int *given, int ngiven, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->msg, sizeof f->msg, fmt, ap);
    va_end(ap);
    f->section = section;
    f->nswept = nswept;
    f->ngiven = ngiven;
    memcpy(f->swept, swept, (size_t)nswept * sizeof *swept);
    if (ngiven)
        memcpy(f->given, given, (size_t)ngiven * sizeof *given);
    return -1;
}

int wg_setting_check(const wg_setting *s, wg_setting_fault *f)
{
    memset(f, 0, sizeof *f);
    wg_setting d = *s;
    size_t ntrain, ntest;
    wg_setting_derive(&d, 0, &ntrain, &ntest);
    const char *kind = wg_data_kind_name(s->data);
    size_t eff = s->train_size ? s->train_size : ntrain;
    if (wg_setting_is_toy(s)) {
        /* the toy model has no data: only its own shape matters */
        static const int k[] = {WG_K_TOY_LONG, WG_K_TOY_DIM};
        if (s->toy_long >= s->toy_dim)
            return fault(f, "model", k, 2, k, 2, "model.long = %d must be less than model.dim = %d",
                         s->toy_long, s->toy_dim);
    } else {
        if (!s->data_path[0] && s->data != WG_DATA_FASHION_MNIST && s->data != WG_DATA_SYNTHETIC) {
            static const int k[] = {WG_K_DATA_NAME, WG_K_DATA_PATH};
            return fault(f, "data", k, 2, NULL, 0,
                         "data.name %s needs data.path (only fashion-mnist has a default)", kind);
        }
        static const int ktr[] = {WG_K_TRAIN_SIZE, WG_K_DATA_NAME, WG_K_SYNTH_TRAIN};
        if (s->train_size > ntrain)
            return fault(f, "data", ktr, 3, ktr, 3,
                         "data.train_size = %zu exceeds the %zu training images of %s",
                         s->train_size, ntrain, kind);
        static const int kte[] = {WG_K_TEST_SIZE, WG_K_DATA_NAME, WG_K_SYNTH_TEST};
        if (s->test_size > ntest)
            return fault(f, "data", kte, 3, kte, 3,
                         "data.test_size = %zu exceeds the %zu test images of %s", s->test_size,
                         ntest, kind);
        static const int kb[] = {WG_K_BATCH, WG_K_TRAIN_SIZE, WG_K_DATA_NAME, WG_K_SYNTH_TRAIN};
        if (s->train.batch_size > eff)
            return fault(f, "train", kb, 4, kb, 4,
                         "train.batch_size = %zu is larger than the training set (%zu images "
                         "of %s)", s->train.batch_size, eff, kind);
    }
    if ((s->train.until_loss > 0 || s->train.until_plateau > 0) && s->train.probe_size == 0) {
        static const int k[] = {WG_K_PROBE, WG_K_UNTIL_LOSS, WG_K_UNTIL_PLATEAU};
        return fault(f, "train", k, 3, k, 3,
                     "train.until_loss and train.until_plateau read a fixed training probe: "
                     "set train.probe_size (e.g. 10000)");
    }
    if (s->train.epochs > 100000) {
        static const int k[] = {WG_K_STEPS, WG_K_BATCH};
        return fault(f, "train", k, 2, k, 2,
                     "train.steps = %ld makes more than 100000 epochs", s->train.max_steps);
    }
    for (int i = 0; i < s->nsnapshots; i++)
        if (s->snapshots[i] > s->train.epochs) {
            static const int ke[] = {WG_K_EPOCHS}, ks[] = {WG_K_SNAPSHOTS};
            return fault(f, NULL, ke, 1, ks, 1,
                         "train.snapshots: epoch %d is beyond train.epochs = %d",
                         s->snapshots[i], s->train.epochs);
        }
    if (s->model == WG_MODEL_SIMPLECNN && (d.net.in_h < 8 || d.net.in_w < 8)) {
        static const int k[] = {WG_K_SYNTH_SIZE, WG_K_ARCH};
        return fault(f, "data", k, 2, k, 2, "simplecnn needs images of at least 8x8, got %dx%d",
                     d.net.in_h, d.net.in_w);
    }
    return 0;
}

size_t wg_setting_nparams(const wg_setting *s)
{
    if (wg_setting_is_toy(s))
        return s->toy_dim > 0 ? (size_t)s->toy_dim : 0;
    wg_net net;
    if (wg_net_init(&net, &s->net, 1) != 0) {
        wg_err_clear();
        return 0;
    }
    size_t D = net.nparams;
    wg_net_free(&net);
    return D;
}

double wg_setting_flops(const wg_setting *s)
{
    const wg_net_opts *o = &s->net;
    if (wg_setting_is_toy(s))
        return 1.0;
    if (o->arch == WG_ARCH_SIMPLECNN)
        return 3.0e6 * o->width * o->width * (o->in_h * o->in_w / 784.0);
    double in = (double)o->in_h * o->in_w * o->in_c, h = o->hidden, k = o->classes;
    if (o->depth == 0)
        return 2 * in * k;
    return 2 * (in * h + (o->depth - 1) * h * h + h * k);
}

uint64_t wg_setting_seed(uint64_t master, long replicate)
{
    return wg_rng_stream(WG_RNG_INIT, master, (uint64_t)replicate, 0x5EED);
}
