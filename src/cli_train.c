/* cli_train.c: `wedge train`: one model, its settings on the command line, a table of
 * per-epoch statistics on stdout.  A quick way to try a setting before sweeping it.
 * Its options are the settings table's (setting.h), with the same ranges, defaults
 * and whole-setting checks as a sweep's keys, and it trains through the same calls,
 * so `wedge train --seed R` prints the numbers of a sweep's training task with
 * replicate R (and master seed 0). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "wedge/data.h"
#include "wedge/error.h"
#include "wedge/net.h"
#include "wedge/objective.h"
#include "wedge/setting.h"
#include "wedge/toy.h"
#include "wedge/train.h"

enum { O_THREADS = 1000, O_DESCRIBE };

static void usage(FILE *f)
{
    fprintf(f, "usage: wedge train [OPTIONS]\n"
               "\n"
               "Train one model and print, per epoch, the training loss and accuracy\n"
               "(mean over the epoch's minibatches, dropout on), the test loss and accuracy\n"
               "(whole test split, dropout off), |theta| and the epoch's wall time.  The\n"
               "options are the sweep keys of the same name (docs/sweep-format.md).\n");
    static const char *const sections[] = {"data", "model", "train", NULL};
    static const char *const titles[] = {"data", "model", "training"};
    char arg[48], def[64];
    for (int sec = 0; sections[sec]; sec++) {
        fprintf(f, "%s:\n", titles[sec]);
        for (int i = 0; i < WG_NKEYS; i++) {
            const wg_key *k = &wg_keys[i];
            int here = wg_key_in_section(k, sections[sec]) ||
                       (sec == 2 && strchr(k->name, '.') == NULL);
            if (!k->option || !here)
                continue;
            snprintf(arg, sizeof arg, "--%s %s", k->option,
                     k->type == WG_KEY_NAME ? "NAME" : k->type == WG_KEY_TEXT ? "DIR" : "X");
            snprintf(def, sizeof def, k->deflt && *k->deflt ? " (default %s)" : "",
                     k->deflt ? k->deflt : "");
            fprintf(f, "  %-24s %s%s\n", arg, k->doc, def);
        }
    }
    fprintf(f, "other:\n"
               "  --threads N              OpenBLAS threads (default 1, or OPENBLAS_NUM_THREADS)\n"
               "  --describe               print the parameter layout table first\n"
               "  -h, --help               this text\n");
}

typedef struct train_cli {
    wg_setting s;
    int threads, describe;
    int given[WG_NKEYS];
} train_cli;

/* The long options: one per key with an `option`, then ours. */
static struct option long_opts[WG_NKEYS + 4];

static void build_options(void)
{
    int n = 0;
    for (int i = 0; i < WG_NKEYS; i++)
        if (wg_keys[i].option)
            long_opts[n++] = (struct option){wg_keys[i].option, required_argument, 0, i};
    long_opts[n++] = (struct option){"threads", required_argument, 0, O_THREADS};
    long_opts[n++] = (struct option){"describe", no_argument, 0, O_DESCRIBE};
    long_opts[n++] = (struct option){"help", no_argument, 0, 'h'};
    long_opts[n] = (struct option){0, 0, 0, 0};
}

static int parse(train_cli *c, int argc, char **argv)
{
    int ch, bad = 0;
    long l;
    char err[512];
    optind = 1;
    argv[0] = "wedge train"; /* getopt's messages name the command */
    while ((ch = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
        if (ch == 'h') {
            usage(stdout);
            return 1;
        } else if (ch == O_THREADS) {
            if (!(bad |= wg_cli_long("--threads", optarg, 1, 1024, &l) != 0))
                c->threads = (int)l;
        } else if (ch == O_DESCRIBE) {
            c->describe = 1;
        } else if (ch >= 0 && ch < WG_NKEYS) {
            const wg_key *k = &wg_keys[ch];
            double x;
            if (wg_key_convert(k, optarg, 0, &x, err, sizeof err)) {
                fprintf(stderr, "wedge train: --%s: %s\n", k->option, err);
                bad = 1;
            } else {
                wg_key_apply(&c->s, k, x, optarg);
                c->given[ch] = 1;
            }
        } else {
            bad = 1; /* getopt printed why */
        }
    }
    if (optind < argc) {
        fprintf(stderr, "wedge train: unexpected argument '%s'\n", argv[optind]);
        bad = 1;
    }
    if (!bad) {
        wg_setting_fault f;
        if (wg_setting_check(&c->s, &f)) {
            fprintf(stderr, "wedge train: %s (options", f.msg);
            for (int i = 0; i < f.nswept; i++)
                if (wg_keys[f.swept[i]].option)
                    fprintf(stderr, " --%s", wg_keys[f.swept[i]].option);
            fprintf(stderr, ")\n");
            bad = 1;
        }
    }
    if (bad)
        fprintf(stderr, "try 'wedge train --help'\n");
    return bad ? -1 : 0;
}

static int print_epoch(void *user, const wg_epoch_stats *s, const float *theta, size_t n)
{
    (void)user;
    (void)theta;
    (void)n;
    printf("%5d  %10.4f  %9.4f  %9.4f  %8.4f  %9.3f  %7.2f\n", s->epoch, s->train_loss,
           s->train_acc, s->test_loss, s->test_acc, s->param_norm, s->seconds);
    fflush(stdout);
    return 0;
}

/* The model and its data, as a sweep's training task has them (src/exec.c). */
static int load(const wg_setting *s, wg_data *data, wg_objective *f, wg_objective *test)
{
    if (wg_setting_is_toy(s))
        return wg_objective_toy(f, (size_t)s->toy_dim, (size_t)s->toy_long);
    wg_data_opts o = {.kind = s->data,
                      .path = s->data_path[0] ? s->data_path : NULL,
                      .train_size = s->train_size,
                      .test_size = s->test_size,
                      .synth_train = s->synth_train,
                      .synth_test = s->synth_test,
                      .synth_h = s->synth_size,
                      .synth_w = s->synth_size,
                      .synth_c = s->synth_channels};
    int rc = wg_data_load(data, &o);
    if (rc == 0)
        rc = wg_objective_net_train(f, &s->net, &data->train, s->train.batch_size, s->train.l2);
    if (rc == 0 && data->test.n > 0)
        rc = wg_objective_net(test, &s->net, &data->test, s->train.batch_size);
    return rc;
}

static void preamble(const train_cli *c, const wg_data *data, size_t D)
{
    const wg_setting *s = &c->s;
    printf("# ");
    if (wg_setting_is_toy(s)) {
        printf("toy wedge model, D = %d, n = %d\n", s->toy_dim, s->toy_long);
    } else {
        wg_net net;
        if (c->describe && wg_net_init(&net, &s->net, 1) == 0) {
            wg_net_describe(&net, stdout);
            wg_net_free(&net);
        } else {
            wg_err_clear();
            if (s->model == WG_MODEL_SIMPLECNN)
                printf("simplecnn width %d", s->net.width);
            else
                printf("mlp %d x %d", s->net.depth, s->net.hidden);
            printf(", %s, dropout %g, D = %zu\n", wg_act_name(s->net.activation),
                   (double)s->net.dropout, D);
        }
        printf("# %s: %zu training / %zu test images of %dx%dx%d\n",
               wg_data_kind_name(data->kind), data->train.n, data->test.n, data->train.h,
               data->train.w, data->train.c);
    }
    printf("# %s lr %g l2 %g batch %zu epochs %d schedule %s seed %ld\n",
           wg_opt_name(s->train.optimizer), s->train.lr, s->train.l2, s->train.batch_size,
           s->train.epochs, wg_sched_name(s->train.schedule), s->replicate);
    printf("epoch  train_loss  train_acc  test_loss  test_acc    |theta|  seconds\n");
    fflush(stdout);
}

int wg_cli_train(int argc, char **argv)
{
    train_cli c;
    memset(&c, 0, sizeof c);
    if (wg_setting_defaults(&c.s)) {
        wg_cli_report("train");
        return WG_EXIT_FAIL;
    }
    build_options();
    int p = parse(&c, argc, argv);
    if (p != 0)
        return p > 0 ? WG_EXIT_OK : WG_EXIT_USAGE;
    wg_cli_threads(c.threads);
    size_t ntrain, ntest;
    wg_setting_derive(&c.s, 0, &ntrain, &ntest);

    wg_data data = {0};
    wg_objective f = {0}, test = {0};
    float *theta = NULL;
    int rc = load(&c.s, &data, &f, &test);
    if (rc == 0 && !(theta = wg_alloc(f.dim, sizeof *theta, "parameters")))
        rc = WG_ENOMEM;
    if (rc == 0) {
        f.init(f.ctx, theta, c.s.train.seed);
        preamble(&c, &data, f.dim);
        rc = wg_train(&f, &test, theta, &c.s.train, print_epoch, NULL);
    }
    if (rc)
        wg_cli_report("train");
    free(theta);
    wg_objective_free(&f);
    wg_objective_free(&test);
    wg_data_free(&data);
    return rc ? WG_EXIT_FAIL : WG_EXIT_OK;
}
