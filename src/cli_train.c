/* cli_train.c: `wedge train`: one network, options on the command line, a table of
 * per-epoch statistics on stdout.  A quick way to try a setting before sweeping it;
 * the sweep runner uses the same library calls. */
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
#include "wedge/train.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: wedge train [OPTIONS]\n"
        "\n"
        "Train one network and print, per epoch, the training loss and accuracy\n"
        "(mean over the epoch's minibatches, dropout on), the test loss and accuracy\n"
        "(whole test split, dropout off), |theta| and the epoch's wall time.\n"
        "\n"
        "data:\n"
        "  --data NAME          fashion-mnist (default), mnist, cifar10, cifar100, synthetic\n"
        "  --data-path DIR      dataset directory (default for fashion-mnist:\n"
        "                       " WG_FASHION_MNIST_PATH ")\n"
        "  --train-size N       seeded training subset of N images (default 0 = all)\n"
        "  --test-size N        seeded test subset (default 0 = all)\n"
        "model:\n"
        "  --arch A             simplecnn (default) or mlp\n"
        "  --width C            simplecnn channel multiplier: 16C/32C/32C (default 1)\n"
        "  --depth N            mlp hidden layers (default 2)\n"
        "  --hidden N           mlp units per hidden layer (default 256)\n"
        "  --activation A       tanh (default) or relu\n"
        "  --dropout P          drop probability in [0,1) (default 0)\n"
        "training:\n"
        "  --optimizer O        adam (default) or sgd\n"
        "  --lr X               learning rate (default 1e-3)\n"
        "  --momentum X         sgd momentum (default 0.9)\n"
        "  --l2 X               lambda of lambda*|w|^2, weights only (default 0)\n"
        "  --batch-size N       minibatch size (default 128)\n"
        "  --epochs N           epochs (default 10)\n"
        "  --schedule S         constant (default) or cyclic\n"
        "  --cycle-epochs X     cyclic: epochs per cycle (default 1)\n"
        "  --min-ratio X        cyclic: lowest lr as a fraction of --lr (default 0.01)\n"
        "  --seed N             seed of initialisation, batch order, dropout and\n"
        "                       subsets (default 0)\n"
        "other:\n"
        "  --threads N          OpenBLAS threads (default 1, or OPENBLAS_NUM_THREADS)\n"
        "  --describe           print the parameter layout table first\n"
        "  -h, --help           this text\n");
}

enum {
    O_DATA = 256, O_DATA_PATH, O_TRAIN_SIZE, O_TEST_SIZE, O_ARCH, O_WIDTH, O_DEPTH,
    O_HIDDEN, O_ACT, O_DROPOUT, O_OPT, O_LR, O_MOMENTUM, O_L2, O_BATCH, O_EPOCHS,
    O_SCHEDULE, O_CYCLE, O_MIN_RATIO, O_SEED, O_THREADS, O_DESCRIBE
};

static const struct option long_opts[] = {
    {"data", required_argument, 0, O_DATA},
    {"data-path", required_argument, 0, O_DATA_PATH},
    {"train-size", required_argument, 0, O_TRAIN_SIZE},
    {"test-size", required_argument, 0, O_TEST_SIZE},
    {"arch", required_argument, 0, O_ARCH},
    {"width", required_argument, 0, O_WIDTH},
    {"depth", required_argument, 0, O_DEPTH},
    {"hidden", required_argument, 0, O_HIDDEN},
    {"activation", required_argument, 0, O_ACT},
    {"dropout", required_argument, 0, O_DROPOUT},
    {"optimizer", required_argument, 0, O_OPT},
    {"lr", required_argument, 0, O_LR},
    {"momentum", required_argument, 0, O_MOMENTUM},
    {"l2", required_argument, 0, O_L2},
    {"batch-size", required_argument, 0, O_BATCH},
    {"epochs", required_argument, 0, O_EPOCHS},
    {"schedule", required_argument, 0, O_SCHEDULE},
    {"cycle-epochs", required_argument, 0, O_CYCLE},
    {"min-ratio", required_argument, 0, O_MIN_RATIO},
    {"seed", required_argument, 0, O_SEED},
    {"threads", required_argument, 0, O_THREADS},
    {"describe", no_argument, 0, O_DESCRIBE},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0}};

typedef struct train_cli {
    wg_data_opts data;
    wg_net_opts net;
    wg_train_opts train;
    int threads, describe;
} train_cli;

static int parse(train_cli *c, int argc, char **argv)
{
    int ch, bad = 0;
    double d;
    long l;
    optind = 1;
    argv[0] = "wedge train"; /* getopt's messages name the command */
    while ((ch = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
        const char *name = NULL;
        for (const struct option *o = long_opts; o->name; o++)
            if (o->val == ch)
                name = o->name;
        char opt[40];
        snprintf(opt, sizeof opt, "--%s", name ? name : "?");
        switch (ch) {
        case 'h': usage(stdout); return 1;
        case O_DATA:
            if (wg_data_kind_parse(optarg, &c->data.kind)) {
                wg_cli_report("train");
                bad = 1;
            }
            break;
        case O_DATA_PATH: c->data.path = optarg; break;
        case O_TRAIN_SIZE:
            if (!(bad |= wg_cli_long(opt, optarg, 0, 100000000, &l) != 0))
                c->data.train_size = (size_t)l;
            break;
        case O_TEST_SIZE:
            if (!(bad |= wg_cli_long(opt, optarg, 0, 100000000, &l) != 0))
                c->data.test_size = (size_t)l;
            break;
        case O_ARCH:
            if (strcmp(optarg, "simplecnn") != 0 && strcmp(optarg, "mlp") != 0) {
                fprintf(stderr, "wedge train: --arch '%s': expected simplecnn or mlp\n", optarg);
                bad = 1;
            } else {
                wg_arch_parse(optarg, &c->net.arch);
            }
            break;
        case O_WIDTH:
            if (!(bad |= wg_cli_long(opt, optarg, 1, 64, &l) != 0))
                c->net.width = (int)l;
            break;
        case O_DEPTH:
            if (!(bad |= wg_cli_long(opt, optarg, 0, 32, &l) != 0))
                c->net.depth = (int)l;
            break;
        case O_HIDDEN:
            if (!(bad |= wg_cli_long(opt, optarg, 1, 65536, &l) != 0))
                c->net.hidden = (int)l;
            break;
        case O_ACT:
            if (wg_act_parse(optarg, &c->net.activation)) {
                wg_cli_report("train");
                bad = 1;
            }
            break;
        case O_DROPOUT:
            if (!(bad |= wg_cli_double(opt, optarg, 0.0, 0.999999, &d) != 0))
                c->net.dropout = (float)d;
            break;
        case O_OPT:
            if (wg_opt_parse(optarg, &c->train.optimizer)) {
                wg_cli_report("train");
                bad = 1;
            }
            break;
        case O_LR:
            if (!(bad |= wg_cli_double(opt, optarg, 1e-12, 1e6, &d) != 0))
                c->train.lr = d;
            break;
        case O_MOMENTUM:
            if (!(bad |= wg_cli_double(opt, optarg, 0.0, 0.999999, &d) != 0))
                c->train.momentum = d;
            break;
        case O_L2:
            if (!(bad |= wg_cli_double(opt, optarg, 0.0, 1e6, &d) != 0))
                c->train.l2 = d;
            break;
        case O_BATCH:
            if (!(bad |= wg_cli_long(opt, optarg, 1, 1 << 20, &l) != 0))
                c->train.batch_size = (size_t)l;
            break;
        case O_EPOCHS:
            if (!(bad |= wg_cli_long(opt, optarg, 0, 100000, &l) != 0))
                c->train.epochs = (int)l;
            break;
        case O_SCHEDULE:
            if (wg_sched_parse(optarg, &c->train.schedule)) {
                wg_cli_report("train");
                bad = 1;
            }
            break;
        case O_CYCLE:
            if (!(bad |= wg_cli_double(opt, optarg, 1e-6, 1e6, &d) != 0))
                c->train.cycle_epochs = d;
            break;
        case O_MIN_RATIO:
            if (!(bad |= wg_cli_double(opt, optarg, 1e-9, 1.0, &d) != 0))
                c->train.min_ratio = d;
            break;
        case O_SEED:
            if (!(bad |= wg_cli_long(opt, optarg, 0, 0x7fffffffL, &l) != 0))
                c->train.seed = (uint64_t)l;
            break;
        case O_THREADS:
            if (!(bad |= wg_cli_long(opt, optarg, 1, 1024, &l) != 0))
                c->threads = (int)l;
            break;
        case O_DESCRIBE: c->describe = 1; break;
        default: bad = 1; break; /* getopt printed why */
        }
    }
    if (optind < argc) {
        fprintf(stderr, "wedge train: unexpected argument '%s'\n", argv[optind]);
        bad = 1;
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

int wg_cli_train(int argc, char **argv)
{
    train_cli c;
    memset(&c, 0, sizeof c);
    c.data.kind = WG_DATA_FASHION_MNIST;
    wg_net_opts_default(&c.net);
    wg_train_opts_default(&c.train);
    int p = parse(&c, argc, argv);
    if (p != 0)
        return p > 0 ? WG_EXIT_OK : WG_EXIT_USAGE;
    wg_cli_threads(c.threads);
    c.data.subset_seed = c.train.seed;

    wg_data data = {0};
    wg_net net = {0};
    wg_objective f = {0}, test = {0};
    float *theta = NULL;
    int rc = wg_data_load(&data, &c.data);
    if (rc == 0) {
        c.net.in_h = data.train.h;
        c.net.in_w = data.train.w;
        c.net.in_c = data.train.c;
        c.net.classes = data.train.classes;
        rc = wg_net_init(&net, &c.net, 1);
    }
    if (rc == 0)
        rc = wg_objective_net_train(&f, &c.net, &data.train, c.train.batch_size, c.train.l2);
    if (rc == 0 && data.test.n > 0)
        rc = wg_objective_net(&test, &c.net, &data.test, c.train.batch_size);
    if (rc == 0 && !(theta = wg_alloc(net.nparams, sizeof *theta, "parameters")))
        rc = WG_ENOMEM;
    if (rc == 0) {
        f.init(f.ctx, theta, c.train.seed);
        printf("# ");
        if (c.describe)
            wg_net_describe(&net, stdout);
        else {
            FILE *out = stdout;
            wg_net_opts *o = &c.net;
            if (o->arch == WG_ARCH_SIMPLECNN)
                fprintf(out, "simplecnn width %d", o->width);
            else
                fprintf(out, "mlp %d x %d", o->depth, o->hidden);
            fprintf(out, ", %s, dropout %g, D = %zu\n", wg_act_name(o->activation),
                    (double)o->dropout, net.nparams);
        }
        printf("# %s: %zu training / %zu test images of %dx%dx%d\n",
               wg_data_kind_name(data.kind), data.train.n, data.test.n, data.train.h,
               data.train.w, data.train.c);
        printf("# %s lr %g l2 %g batch %zu epochs %d schedule %s seed %llu\n",
               wg_opt_name(c.train.optimizer), c.train.lr, c.train.l2, c.train.batch_size,
               c.train.epochs, wg_sched_name(c.train.schedule),
               (unsigned long long)c.train.seed);
        printf("epoch  train_loss  train_acc  test_loss  test_acc    |theta|  seconds\n");
        fflush(stdout);
        rc = wg_train(&f, &test, theta, &c.train, print_epoch, NULL);
    }
    if (rc)
        wg_cli_report("train");
    free(theta);
    wg_objective_free(&f);
    wg_objective_free(&test);
    wg_net_free(&net);
    wg_data_free(&data);
    return rc ? WG_EXIT_FAIL : WG_EXIT_OK;
}
