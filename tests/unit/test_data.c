/* test_data.c: unit tests of data.c, the dataset loaders.
 *
 * Writes small files in the real formats (plain and gzipped IDX, CIFAR-10/100 binary
 * batches) into a temporary directory, then checks what comes back: pixels (CHW->HWC
 * at chosen positions), labels and shapes, and that every kind of damaged file gives
 * an error whose message names the file and the fault.  Also covers subsets, the
 * synthetic generator, batch scaling, and loads the real Fashion-MNIST, which
 * tools/setup.sh installs: its absence is a failure, not a skip. */
#include "wedge/data.h"
#include "wedge/error.h"
#include "wedge/rng.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* Short enough that every path built under it fits the buffers below. */
#define ROOT_CAP 512
#define DIR_CAP 1024
#define PATH_CAP 2048
static char tmproot[ROOT_CAP];

/* ---- file writing helpers ---------------------------------------------------------- */

static void write_bytes(const char *path, const void *buf, size_t len, int gz)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        assert_non_null(f);
        if (len)
            assert_int_equal(gzwrite(f, buf, (unsigned)len), (int)len);
        assert_int_equal(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        if (len)
            assert_int_equal(fwrite(buf, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
    }
}

/* A fresh directory tmproot/name (parents must exist). */
static void make_dir(char *out, const char *name)
{
    snprintf(out, DIR_CAP, "%s/%s", tmproot, name);
    assert_int_equal(mkdir(out, 0700), 0);
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Test pattern: pixel j of image i, label of item i. */
static uint8_t pix(size_t i, size_t j, int salt) { return (uint8_t)(i * 7 + j * 3 + salt); }
static uint8_t lab(size_t i) { return (uint8_t)(i * 3 % 10); }

/* Write an IDX file: magic, dims[0..nd), then `count` data bytes (may differ from
 * what the dims promise, for truncation/trailing tests).  Images get the pix()
 * pattern (item size dims[1]*dims[2]), labels lab(). */
static void write_idx(const char *dir, const char *name, uint32_t magic, const uint32_t *dims,
                      int nd, size_t count, int gz, int salt)
{
    size_t hdr = 4 + 4 * (size_t)nd;
    unsigned char *buf = malloc(hdr + count + 1);
    assert_non_null(buf);
    put_be32(buf, magic);
    for (int k = 0; k < nd; k++)
        put_be32(buf + 4 + 4 * k, dims[k]);
    size_t item = nd == 3 ? (size_t)dims[1] * dims[2] : 1;
    for (size_t b = 0; b < count; b++)
        buf[hdr + b] = nd == 3 ? pix(b / item, b % item, salt) : lab(b);
    char path[PATH_CAP];
    snprintf(path, sizeof path, "%s/%s%s", dir, name, gz ? ".gz" : "");
    write_bytes(path, buf, hdr + count, gz);
    free(buf);
}

static void write_images(const char *dir, const char *name, uint32_t n, uint32_t h, uint32_t w,
                         int gz)
{
    uint32_t dims[3] = {n, h, w};
    write_idx(dir, name, 0x803, dims, 3, (size_t)n * h * w, gz, 0);
}

static void write_labels(const char *dir, const char *name, uint32_t n, int gz)
{
    uint32_t dims[1] = {n};
    write_idx(dir, name, 0x801, dims, 1, n, gz, 0);
}

/* A valid MNIST-style directory: 6 train and 4 test images of 5x4; the train files
 * gzipped, the test files plain. */
static void write_mnist(const char *dir)
{
    write_images(dir, "train-images-idx3-ubyte", 6, 5, 4, 1);
    write_labels(dir, "train-labels-idx1-ubyte", 6, 1);
    write_images(dir, "t10k-images-idx3-ubyte", 4, 5, 4, 0);
    write_labels(dir, "t10k-labels-idx1-ubyte", 4, 0);
}

static void remove_file(const char *dir, const char *name)
{
    char path[PATH_CAP];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(unlink(path), 0);
}

/* CIFAR records: label byte(s), then planes R, G, B, each 32x32 row-major.  Channel
 * ch at (y, x) of record r of file f holds cifar_px(f, r, ch, y*32+x). */
static uint8_t cifar_px(int f, int r, int ch, int p) { return (uint8_t)(p * 5 + ch * 70 + f * 11 + r * 3); }
static uint8_t cifar_label(int f, int r, int classes) { return (uint8_t)((f * 7 + r * 3 + 1) % classes); }

static void write_cifar(const char *dir, const char *name, int f, int nrec, int nlabels,
                        int classes, size_t extra)
{
    size_t rec = (size_t)nlabels + 3072;
    unsigned char *buf = calloc(rec * nrec + extra + 1, 1);
    assert_non_null(buf);
    for (int r = 0; r < nrec; r++) {
        unsigned char *p = buf + rec * r;
        if (nlabels == 2)
            *p++ = (uint8_t)(r % 20); /* coarse */
        *p++ = cifar_label(f, r, classes);
        for (int ch = 0; ch < 3; ch++)
            for (int q = 0; q < 1024; q++)
                *p++ = cifar_px(f, r, ch, q);
    }
    char path[PATH_CAP];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    write_bytes(path, buf, rec * nrec + extra, 0);
    free(buf);
}

static const int cifar10_counts[6] = {1, 2, 1, 1, 2, 3}; /* batches 1..5, test */

static void write_cifar10(const char *dir)
{
    char name[64];
    for (int f = 0; f < 5; f++) {
        snprintf(name, sizeof name, "data_batch_%d.bin", f + 1);
        write_cifar(dir, name, f, cifar10_counts[f], 1, 10, 0);
    }
    write_cifar(dir, "test_batch.bin", 5, cifar10_counts[5], 1, 10, 0);
}

/* ---- assertion helpers ------------------------------------------------------------- */

static wg_data_opts opts_for(wg_data_kind kind, const char *path)
{
    wg_data_opts o;
    memset(&o, 0, sizeof o);
    o.kind = kind;
    o.path = path;
    return o;
}

static void expect_empty(const wg_data *d)
{
    assert_null(d->train.pixels);
    assert_null(d->train.labels);
    assert_null(d->test.pixels);
    assert_null(d->test.labels);
    assert_int_equal(d->train.n, 0);
    assert_int_equal(d->test.n, 0);
}

/* The message of status st must name `file` and the fault `word`. */
static void expect_fault(int st, int code, const char *file, const char *word)
{
    const char *m = wg_err_msg();
    if (st != code)
        fail_msg("status %d (%s), expected %d; message: %s", st, wg_err_name(st), code, m);
    assert_int_equal(wg_err_code(), code);
    if (!strstr(m, file) || !strstr(m, word))
        fail_msg("message \"%s\" should name \"%s\" and say \"%s\"", m, file, word);
}

/* Load kind from dir and expect a fault; *d must come back freeable and empty. */
static void expect_load_fault(wg_data_kind kind, const char *dir, int code, const char *file,
                              const char *word)
{
    wg_data d;
    wg_data_opts o = opts_for(kind, dir);
    wg_err_clear();
    int st = wg_data_load(&d, &o);
    expect_fault(st, code, file, word);
    expect_empty(&d);
    wg_data_free(&d);
}

/* ---- names ------------------------------------------------------------------------ */

static void test_data_kind_names(void **state)
{
    (void)state;
    const char *names[] = {"fashion-mnist", "mnist", "cifar10", "cifar100", "synthetic"};
    for (int k = 0; k < 5; k++) {
        wg_data_kind kind;
        wg_err_clear();
        assert_int_equal(wg_data_kind_parse(names[k], &kind), 0);
        assert_int_equal(kind, k);
        assert_string_equal(wg_data_kind_name(kind), names[k]);
    }
    wg_data_kind kind = WG_DATA_MNIST;
    wg_err_clear();
    assert_int_equal(wg_data_kind_parse("cifar-10", &kind), WG_EARG);
    assert_int_equal(kind, WG_DATA_MNIST);
    assert_non_null(strstr(wg_err_msg(), "cifar-10"));
    for (int k = 0; k < 5; k++)
        assert_non_null(strstr(wg_err_msg(), names[k]));
    wg_err_clear();
    assert_int_equal(wg_data_kind_parse(NULL, &kind), WG_EARG);
    assert_string_equal(wg_data_kind_name((wg_data_kind)42), "unknown");
    wg_err_clear();
}

/* ---- IDX ------------------------------------------------------------------------ */

static void test_data_idx_read_plain_and_gzip(void **state)
{
    (void)state;
    char dir[DIR_CAP], path[PATH_CAP];
    make_dir(dir, "idx");
    for (int gz = 0; gz < 2; gz++) {
        write_images(dir, gz ? "img-gz" : "img", 3, 2, 5, gz);
        write_labels(dir, gz ? "lab-gz" : "lab", 7, gz);
        uint8_t *px = NULL, *lb = NULL;
        size_t n = 0;
        int h = 0, w = 0;
        snprintf(path, sizeof path, "%s/%s", dir, gz ? "img-gz.gz" : "img");
        wg_err_clear();
        assert_int_equal(wg_idx_read_images(path, &px, &n, &h, &w), 0);
        assert_int_equal(n, 3);
        assert_int_equal(h, 2);
        assert_int_equal(w, 5);
        for (size_t i = 0; i < 3; i++)
            for (size_t j = 0; j < 10; j++)
                assert_int_equal(px[i * 10 + j], pix(i, j, 0));
        snprintf(path, sizeof path, "%s/%s", dir, gz ? "lab-gz.gz" : "lab");
        assert_int_equal(wg_idx_read_labels(path, &lb, &n, 10), 0);
        assert_int_equal(n, 7);
        for (size_t i = 0; i < 7; i++)
            assert_int_equal(lb[i], lab(i));
        free(px);
        free(lb);
        /* labels 0..9 with 9 classes: out of range, and nothing handed back */
        lb = (uint8_t *)path;
        wg_err_clear();
        int st = wg_idx_read_labels(path, &lb, &n, 9);
        expect_fault(st, WG_EFORMAT, gz ? "lab-gz.gz" : "lab", "range");
        assert_null(lb);
        assert_int_equal(n, 0);
    }
    wg_err_clear();
}

static void test_data_mnist_load(void **state)
{
    (void)state;
    char dir[DIR_CAP];
    make_dir(dir, "mnist");
    write_mnist(dir);
    /* Where both NAME.gz and NAME exist, NAME.gz wins: give the plain one other pixels. */
    uint32_t dims[3] = {6, 5, 4};
    write_idx(dir, "train-images-idx3-ubyte", 0x803, dims, 3, 6 * 20, 0, 99);

    wg_data d;
    wg_data_opts o = opts_for(WG_DATA_MNIST, dir);
    wg_err_clear();
    assert_int_equal(wg_data_load(&d, &o), 0);
    assert_int_equal(d.kind, WG_DATA_MNIST);
    const wg_dataset *sp[2] = {&d.train, &d.test};
    const size_t ns[2] = {6, 4};
    for (int s = 0; s < 2; s++) {
        assert_int_equal(sp[s]->n, ns[s]);
        assert_int_equal(sp[s]->h, 5);
        assert_int_equal(sp[s]->w, 4);
        assert_int_equal(sp[s]->c, 1);
        assert_int_equal(sp[s]->classes, 10);
        for (size_t i = 0; i < ns[s]; i++) {
            assert_int_equal(sp[s]->labels[i], lab(i));
            for (size_t j = 0; j < 20; j++)
                assert_int_equal(sp[s]->pixels[i * 20 + j], pix(i, j, 0));
        }
    }
    wg_data_free(&d);
    expect_empty(&d);
    wg_data_free(&d); /* twice is fine */
    wg_data_free(NULL);
    wg_dataset_free(NULL);
}

static void test_data_idx_bad_magic(void **state)
{
    (void)state;
    char dir[DIR_CAP];
    make_dir(dir, "badmagic");
    write_mnist(dir);
    uint32_t dims[3] = {6, 5, 4};
    write_idx(dir, "train-images-idx3-ubyte", 0x12345678u, dims, 3, 120, 1, 0);
    expect_load_fault(WG_DATA_MNIST, dir, WG_EFORMAT, "train-images-idx3-ubyte.gz", "magic");
}

static void test_data_idx_wrong_ndims(void **state)
{
    (void)state;
    char dir[DIR_CAP];
    make_dir(dir, "ndims");
    write_mnist(dir);
    uint32_t dims[3] = {4, 20, 0};
    write_idx(dir, "t10k-images-idx3-ubyte", 0x802, dims, 2, 80, 0, 0);
    expect_load_fault(WG_DATA_MNIST, dir, WG_EFORMAT, "t10k-images-idx3-ubyte", "dimensions");

    write_mnist(dir);
    uint32_t ldims[3] = {6, 1, 1};
    write_idx(dir, "train-labels-idx1-ubyte", 0x803, ldims, 3, 6, 1, 0);
    expect_load_fault(WG_DATA_MNIST, dir, WG_EFORMAT, "train-labels-idx1-ubyte.gz", "dimensions");

    /* zero-sized images are not images */
    write_mnist(dir);
    uint32_t zdims[3] = {6, 0, 4};
    write_idx(dir, "train-images-idx3-ubyte", 0x803, zdims, 3, 0, 1, 0);
    expect_load_fault(WG_DATA_MNIST, dir, WG_EFORMAT, "train-images-idx3-ubyte.gz", "dimensions");

    /* an absurd header fails before allocating: 2^32-1 images of 4096x4096 */
    write_mnist(dir);
    uint32_t hdims[3] = {0xffffffffu, 4096, 4096};
    write_idx(dir, "train-images-idx3-ubyte", 0x803, hdims, 3, 16, 1, 0);
    expect_load_fault(WG_DATA_MNIST, dir, WG_EFORMAT, "train-images-idx3-ubyte.gz", "limit");
}

static void test_data_idx_truncated_images(void **state)
{
    (void)state;
    char dir[DIR_CAP];
    make_dir(dir, "truncimg");
    write_mnist(dir);
    uint32_t dims[3] = {6, 5, 4};
    write_idx(dir, "train-images-idx3-ubyte", 0x803, dims, 3, 6 * 20 - 25, 1, 0);
    expect_load_fault(WG_DATA_MNIST, dir, WG_EFORMAT, "train-images-idx3-ubyte.gz",
                      "truncated: header promises 6 images, file holds 4");

    /* a file that ends inside the header */
    char path[PATH_CAP];
    write_mnist(dir);
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte", dir);
    write_bytes(path, "\0\0\x08", 3, 0);
    expect_load_fault(WG_DATA_MNIST, dir, WG_EFORMAT, "t10k-images-idx3-ubyte", "truncated");

    /* a gzip stream cut short reads as truncated too */
    write_mnist(dir);
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(truncate(path, sb.st_size - 20), 0);
    expect_load_fault(WG_DATA_MNIST, dir, WG_EFORMAT, "train-images-idx3-ubyte.gz", "truncated");
}

static void test_data_idx_truncated_labels(void **state)
{
    (void)state;
    char dir[DIR_CAP];
    make_dir(dir, "trunclab");
    write_mnist(dir);
    uint32_t dims[1] = {6};
    write_idx(dir, "train-labels-idx1-ubyte", 0x801, dims, 1, 2, 1, 0);
    expect_load_fault(WG_DATA_MNIST, dir, WG_EFORMAT, "train-labels-idx1-ubyte.gz",
                      "truncated: header promises 6 labels, file holds 2");
}

static void test_data_idx_trailing_bytes(void **state)
{
    (void)state;
    char dir[DIR_CAP];
    make_dir(dir, "trailing");
    write_mnist(dir);
    uint32_t dims[3] = {4, 5, 4};
    write_idx(dir, "t10k-images-idx3-ubyte", 0x803, dims, 3, 4 * 20 + 7, 0, 0);
    expect_load_fault(WG_DATA_MNIST, dir, WG_EFORMAT, "t10k-images-idx3-ubyte", "trailing");

    write_mnist(dir);
    uint32_t ldims[1] = {6};
    write_idx(dir, "train-labels-idx1-ubyte", 0x801, ldims, 1, 7, 1, 0);
    expect_load_fault(WG_DATA_MNIST, dir, WG_EFORMAT, "train-labels-idx1-ubyte.gz", "trailing");
}

static void test_data_idx_count_mismatch(void **state)
{
    (void)state;
    char dir[DIR_CAP];
    make_dir(dir, "mismatch");
    write_mnist(dir);
    write_labels(dir, "t10k-labels-idx1-ubyte", 5, 0);
    /* the train split loads first and must be freed again */
    expect_load_fault(WG_DATA_MNIST, dir, WG_EFORMAT, "t10k-labels-idx1-ubyte", "mismatch");

    /* train and test images of different sizes */
    write_mnist(dir);
    write_images(dir, "t10k-images-idx3-ubyte", 4, 4, 5, 0);
    expect_load_fault(WG_DATA_MNIST, dir, WG_EFORMAT, "t10k-images-idx3-ubyte", "dimensions");
}

static void test_data_idx_label_out_of_range(void **state)
{
    (void)state;
    char dir[DIR_CAP], path[PATH_CAP];
    make_dir(dir, "labrange");
    write_mnist(dir);
    unsigned char buf[8 + 4] = {0, 0, 8, 1, 0, 0, 0, 4, 1, 2, 10, 3};
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte", dir);
    write_bytes(path, buf, sizeof buf, 0);
    expect_load_fault(WG_DATA_MNIST, dir, WG_EFORMAT, "t10k-labels-idx1-ubyte", "out of range");
    assert_non_null(strstr(wg_err_msg(), "index 2"));
}

static void test_data_missing_files(void **state)
{
    (void)state;
    char dir[DIR_CAP];
    snprintf(dir, sizeof dir, "%s/no-such-dir", tmproot);
    expect_load_fault(WG_DATA_MNIST, dir, WG_EIO, "no-such-dir/train-images-idx3-ubyte", "open");
    expect_load_fault(WG_DATA_CIFAR10, dir, WG_EIO, "no-such-dir/data_batch_1.bin", "open");
    expect_load_fault(WG_DATA_CIFAR100, dir, WG_EIO, "no-such-dir/train.bin", "open");

    make_dir(dir, "onemissing");
    write_mnist(dir);
    remove_file(dir, "t10k-labels-idx1-ubyte");
    expect_load_fault(WG_DATA_MNIST, dir, WG_EIO, "t10k-labels-idx1-ubyte", "open");

    make_dir(dir, "cifarmissing");
    write_cifar10(dir);
    remove_file(dir, "data_batch_4.bin");
    expect_load_fault(WG_DATA_CIFAR10, dir, WG_EIO, "data_batch_4.bin", "open");

    /* only fashion-mnist has a default path */
    wg_data d;
    wg_data_opts o = opts_for(WG_DATA_MNIST, NULL);
    wg_err_clear();
    expect_fault(wg_data_load(&d, &o), WG_EARG, "mnist", "path");
    expect_empty(&d);
    wg_err_clear();
}

/* ---- CIFAR ------------------------------------------------------------------------ */

static void check_cifar_image(const wg_dataset *ds, size_t i, int f, int r, int classes)
{
    const uint8_t *img = ds->pixels + i * 3072;
    assert_int_equal(ds->labels[i], cifar_label(f, r, classes));
    /* a few spot checks first, spelled out: (y, x, ch) -> HWC offset (y*32+x)*3+ch */
    assert_int_equal(img[0], cifar_px(f, r, 0, 0));
    assert_int_equal(img[1], cifar_px(f, r, 1, 0));
    assert_int_equal(img[2], cifar_px(f, r, 2, 0));
    assert_int_equal(img[(0 * 32 + 1) * 3 + 0], cifar_px(f, r, 0, 1));
    assert_int_equal(img[(1 * 32 + 0) * 3 + 2], cifar_px(f, r, 2, 32));
    assert_int_equal(img[(31 * 32 + 31) * 3 + 1], cifar_px(f, r, 1, 1023));
    for (int y = 0; y < 32; y++)
        for (int x = 0; x < 32; x++)
            for (int ch = 0; ch < 3; ch++)
                assert_int_equal(img[(y * 32 + x) * 3 + ch], cifar_px(f, r, ch, y * 32 + x));
}

static void test_data_cifar10_load(void **state)
{
    (void)state;
    char top[DIR_CAP], dir[PATH_CAP];
    make_dir(top, "c10");
    make_dir(dir, "c10sub");
    write_cifar10(top);
    snprintf(dir, sizeof dir, "%s/c10sub/cifar-10-batches-bin", tmproot);
    assert_int_equal(mkdir(dir, 0700), 0);
    write_cifar10(dir);
    const char *paths[2] = {top, NULL};
    char subparent[PATH_CAP];
    snprintf(subparent, sizeof subparent, "%s/c10sub", tmproot);
    paths[1] = subparent;
    for (int v = 0; v < 2; v++) {
        wg_data d;
        wg_data_opts o = opts_for(WG_DATA_CIFAR10, paths[v]);
        wg_err_clear();
        assert_int_equal(wg_data_load(&d, &o), 0);
        assert_int_equal(d.train.n, 7);
        assert_int_equal(d.test.n, 3);
        assert_int_equal(d.train.h, 32);
        assert_int_equal(d.train.w, 32);
        assert_int_equal(d.train.c, 3);
        assert_int_equal(d.train.classes, 10);
        assert_int_equal(d.test.c, 3);
        size_t i = 0;
        for (int f = 0; f < 5; f++)
            for (int r = 0; r < cifar10_counts[f]; r++)
                check_cifar_image(&d.train, i++, f, r, 10);
        for (int r = 0; r < 3; r++)
            check_cifar_image(&d.test, (size_t)r, 5, r, 10);
        wg_data_free(&d);
    }
}

static void test_data_cifar10_faults(void **state)
{
    (void)state;
    char dir[DIR_CAP];
    make_dir(dir, "c10bad");
    write_cifar10(dir);
    write_cifar(dir, "data_batch_3.bin", 2, 2, 1, 10, 100);
    expect_load_fault(WG_DATA_CIFAR10, dir, WG_EFORMAT, "data_batch_3.bin", "record");

    write_cifar10(dir);
    write_cifar(dir, "test_batch.bin", 0, 0, 1, 10, 0); /* empty */
    expect_load_fault(WG_DATA_CIFAR10, dir, WG_EFORMAT, "test_batch.bin", "record");

    write_cifar10(dir);
    write_cifar(dir, "data_batch_5.bin", 4, 2, 1, 11, 0); /* labels up to 10 */
    expect_load_fault(WG_DATA_CIFAR10, dir, WG_EFORMAT, "data_batch_5.bin", "out of range");
}

static void test_data_cifar100_load(void **state)
{
    (void)state;
    char top[DIR_CAP], dir[PATH_CAP];
    make_dir(top, "c100");
    write_cifar(top, "train.bin", 0, 4, 2, 100, 0);
    write_cifar(top, "test.bin", 1, 2, 2, 100, 0);
    make_dir(dir, "c100sub");
    snprintf(dir, sizeof dir, "%s/c100sub/cifar-100-binary", tmproot);
    assert_int_equal(mkdir(dir, 0700), 0);
    write_cifar(dir, "train.bin", 0, 4, 2, 100, 0);
    write_cifar(dir, "test.bin", 1, 2, 2, 100, 0);
    char subparent[PATH_CAP];
    snprintf(subparent, sizeof subparent, "%s/c100sub", tmproot);
    const char *paths[2] = {top, subparent};
    for (int v = 0; v < 2; v++) {
        wg_data d;
        wg_data_opts o = opts_for(WG_DATA_CIFAR100, paths[v]);
        wg_err_clear();
        assert_int_equal(wg_data_load(&d, &o), 0);
        assert_int_equal(d.train.n, 4);
        assert_int_equal(d.test.n, 2);
        assert_int_equal(d.train.classes, 100);
        assert_int_equal(d.train.c, 3);
        for (int r = 0; r < 4; r++)
            check_cifar_image(&d.train, (size_t)r, 0, r, 100);
        for (int r = 0; r < 2; r++)
            check_cifar_image(&d.test, (size_t)r, 1, r, 100);
        wg_data_free(&d);
    }
    /* fine labels of 100 and up are out of range; 3073-byte records are not whole */
    write_cifar(top, "test.bin", 15, 2, 2, 256, 0); /* fine labels 106, 109 */
    expect_load_fault(WG_DATA_CIFAR100, top, WG_EFORMAT, "test.bin", "out of range");
    write_cifar(top, "train.bin", 0, 4, 1, 100, 0);
    expect_load_fault(WG_DATA_CIFAR100, top, WG_EFORMAT, "train.bin", "record");
}

/* ---- subsets ---------------------------------------------------------------------- */

static int same_image(const wg_dataset *a, size_t i, const wg_dataset *b, size_t j)
{
    size_t hwc = (size_t)a->h * a->w * a->c;
    return a->labels[i] == b->labels[j] &&
           memcmp(a->pixels + i * hwc, b->pixels + j * hwc, hwc) == 0;
}

static int same_dataset(const wg_dataset *a, const wg_dataset *b)
{
    if (a->n != b->n || a->h != b->h || a->w != b->w || a->c != b->c)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (!same_image(a, i, b, i))
            return 0;
    return 1;
}

static void test_data_subset(void **state)
{
    (void)state;
    wg_dataset full, a, b, c;
    wg_err_clear();
    assert_int_equal(wg_data_synthetic(&full, 200, 6, 5, 2, 11, 0), 0);
    assert_int_equal(wg_data_synthetic(&a, 200, 6, 5, 2, 11, 0), 0);
    assert_int_equal(wg_data_synthetic(&b, 200, 6, 5, 2, 11, 0), 0);
    assert_int_equal(wg_data_synthetic(&c, 200, 6, 5, 2, 11, 0), 0);
    uint64_t s0 = wg_rng_stream(WG_RNG_SUBSET, 0, 0, 0);
    assert_int_equal(wg_dataset_subset(&a, 37, 5, s0), 0);
    assert_int_equal(wg_dataset_subset(&b, 37, 5, s0), 0);
    assert_int_equal(wg_dataset_subset(&c, 37, 6, s0), 0);
    assert_int_equal(a.n, 37);
    assert_int_equal(c.n, 37);
    assert_true(same_dataset(&a, &b));
    assert_false(same_dataset(&a, &c));
    /* drawn without replacement, in original order: a forward scan finds them all */
    size_t j = 0;
    for (size_t i = 0; i < a.n; i++, j++) {
        while (j < full.n && !same_image(&a, i, &full, j))
            j++;
        assert_true(j < full.n);
    }
    /* size 0 and size n keep everything; too large is an error */
    assert_int_equal(wg_dataset_subset(&b, 0, 5, s0), 0);
    assert_int_equal(b.n, 37);
    assert_int_equal(wg_dataset_subset(&b, 37, 5, s0), 0);
    assert_true(same_dataset(&a, &b));
    wg_err_clear();
    assert_int_equal(wg_dataset_subset(&b, 38, 5, s0), WG_EARG);
    assert_int_equal(b.n, 37);
    wg_dataset_free(&full);
    wg_dataset_free(&a);
    wg_dataset_free(&b);
    wg_dataset_free(&c);
    wg_err_clear();
}

static void test_data_load_subset(void **state)
{
    (void)state;
    wg_data_opts o = opts_for(WG_DATA_SYNTHETIC, NULL);
    o.synth_train = 60;
    o.synth_test = 30;
    o.synth_h = o.synth_w = 6;
    o.synth_seed = 3;
    o.train_size = 25;
    o.test_size = 10;
    o.subset_seed = 8;
    wg_data d, e;
    wg_dataset t, u;
    wg_err_clear();
    assert_int_equal(wg_data_load(&d, &o), 0);
    assert_int_equal(d.train.n, 25);
    assert_int_equal(d.test.n, 10);
    /* the documented streams: SUBSET (0,0,0) for train, (1,0,0) for test */
    assert_int_equal(wg_data_synthetic(&t, 60, 6, 6, 1, 3, 0), 0);
    assert_int_equal(wg_data_synthetic(&u, 30, 6, 6, 1, 3, 1), 0);
    assert_int_equal(wg_dataset_subset(&t, 25, 8, wg_rng_stream(WG_RNG_SUBSET, 0, 0, 0)), 0);
    assert_int_equal(wg_dataset_subset(&u, 10, 8, wg_rng_stream(WG_RNG_SUBSET, 1, 0, 0)), 0);
    assert_true(same_dataset(&d.train, &t));
    assert_true(same_dataset(&d.test, &u));
    /* another subset seed, another subset */
    o.subset_seed = 9;
    assert_int_equal(wg_data_load(&e, &o), 0);
    assert_false(same_dataset(&d.train, &e.train));
    wg_data_free(&e);
    /* too large: WG_EARG naming the dataset, the split and both sizes */
    o.train_size = 61;
    wg_err_clear();
    expect_fault(wg_data_load(&e, &o), WG_EARG, "synthetic", "train");
    assert_non_null(strstr(wg_err_msg(), "61"));
    assert_non_null(strstr(wg_err_msg(), "60"));
    expect_empty(&e);
    o.train_size = 0;
    o.test_size = 31;
    wg_err_clear();
    expect_fault(wg_data_load(&e, &o), WG_EARG, "synthetic", "test");
    assert_non_null(strstr(wg_err_msg(), "31"));
    assert_non_null(strstr(wg_err_msg(), "30"));
    expect_empty(&e);
    wg_data_free(&d);
    wg_dataset_free(&t);
    wg_dataset_free(&u);
    wg_err_clear();
}

/* ---- synthetic -------------------------------------------------------------------- */

/* Nearest-class-mean accuracy on `test` with means from `train`. */
static double centroid_accuracy(const wg_dataset *train, const wg_dataset *test)
{
    size_t hwc = (size_t)train->h * train->w * train->c;
    double *mean = calloc(10 * hwc, sizeof *mean);
    size_t count[10] = {0};
    assert_non_null(mean);
    for (size_t i = 0; i < train->n; i++) {
        count[train->labels[i]]++;
        for (size_t j = 0; j < hwc; j++)
            mean[train->labels[i] * hwc + j] += train->pixels[i * hwc + j];
    }
    for (int k = 0; k < 10; k++)
        for (size_t j = 0; j < hwc; j++)
            mean[k * hwc + j] /= count[k] ? (double)count[k] : 1.0;
    size_t ok = 0;
    for (size_t i = 0; i < test->n; i++) {
        int best = 0;
        double bestd = 1e300;
        for (int k = 0; k < 10; k++) {
            double dist = 0.0;
            for (size_t j = 0; j < hwc; j++) {
                double e = test->pixels[i * hwc + j] - mean[k * hwc + j];
                dist += e * e;
            }
            if (dist < bestd) {
                bestd = dist;
                best = k;
            }
        }
        ok += best == test->labels[i];
    }
    free(mean);
    return (double)ok / (double)test->n;
}

static void test_data_synthetic(void **state)
{
    (void)state;
    wg_data d;
    wg_data_opts o = opts_for(WG_DATA_SYNTHETIC, NULL);
    o.synth_seed = 1;
    wg_err_clear();
    assert_int_equal(wg_data_load(&d, &o), 0);
    assert_int_equal(d.kind, WG_DATA_SYNTHETIC);
    assert_int_equal(d.train.n, 2000);
    assert_int_equal(d.test.n, 500);
    assert_int_equal(d.train.h, 28);
    assert_int_equal(d.train.w, 28);
    assert_int_equal(d.train.c, 1);
    assert_int_equal(d.test.h, 28);
    assert_int_equal(d.train.classes, 10);
    size_t hist[10] = {0};
    for (size_t i = 0; i < d.train.n; i++) {
        assert_in_range(d.train.labels[i], 0, 9);
        hist[d.train.labels[i]]++;
    }
    for (int k = 0; k < 10; k++)
        assert_in_range(hist[k], 120, 280); /* uniform labels: 200 each, give or take */
    /* Train and test share the class templates (they depend on synth_seed only):
     * class means of train classify test far above chance ... */
    double acc = centroid_accuracy(&d.train, &d.test);
    if (acc < 0.3)
        fail_msg("nearest-class-mean accuracy %.3f: train and test look unrelated", acc);
    /* ... but another seed's templates do not. */
    wg_dataset other;
    assert_int_equal(wg_data_synthetic(&other, 500, 28, 28, 1, 2, 1), 0);
    double acc2 = centroid_accuracy(&d.train, &other);
    if (acc2 > 0.25)
        fail_msg("accuracy %.3f on another seed's data: templates ignore the seed", acc2);
    wg_dataset_free(&other);
    wg_data_free(&d);
}

static void test_data_synthetic_deterministic(void **state)
{
    (void)state;
    wg_dataset a, b, c, e, p;
    wg_err_clear();
    assert_int_equal(wg_data_synthetic(&a, 40, 8, 7, 3, 5, 0), 0);
    assert_int_equal(wg_data_synthetic(&b, 40, 8, 7, 3, 5, 0), 0);
    assert_int_equal(wg_data_synthetic(&c, 40, 8, 7, 3, 5, 1), 0);
    assert_int_equal(wg_data_synthetic(&e, 40, 8, 7, 3, 6, 0), 0);
    assert_int_equal(wg_data_synthetic(&p, 15, 8, 7, 3, 5, 0), 0);
    assert_int_equal(a.h, 8);
    assert_int_equal(a.w, 7);
    assert_int_equal(a.c, 3);
    assert_int_equal(a.classes, 10);
    assert_true(same_dataset(&a, &b));
    assert_false(same_dataset(&a, &c)); /* another stream */
    assert_false(same_dataset(&a, &e)); /* another seed */
    for (size_t i = 0; i < 15; i++)     /* image i does not depend on n */
        assert_true(same_image(&a, i, &p, i));
    for (size_t i = 0; i < a.n; i++)
        assert_true(a.labels[i] < 10 && c.labels[i] < 10 && e.labels[i] < 10);
    /* bad shapes are argument errors and leave the output empty */
    wg_dataset z;
    wg_err_clear();
    assert_int_equal(wg_data_synthetic(&z, 10, 0, 8, 1, 5, 0), WG_EARG);
    assert_null(z.pixels);
    wg_dataset_free(&z);
    wg_dataset_free(&a);
    wg_dataset_free(&b);
    wg_dataset_free(&c);
    wg_dataset_free(&e);
    wg_dataset_free(&p);
    wg_err_clear();
}

/* ---- batches ---------------------------------------------------------------------- */

static void test_data_batch_scaling(void **state)
{
    (void)state;
    wg_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.n = 4;
    ds.h = 8;
    ds.w = 4;
    ds.c = 2; /* 64 bytes per image: the four images hold 0..255 */
    ds.classes = 10;
    ds.pixels = malloc(256);
    ds.labels = malloc(4);
    assert_non_null(ds.pixels);
    assert_non_null(ds.labels);
    for (int v = 0; v < 256; v++)
        ds.pixels[v] = (uint8_t)v;
    for (int i = 0; i < 4; i++)
        ds.labels[i] = (uint8_t)(9 - i);
    float x[3 * 64];
    int y[3];
    wg_data_batch(&ds, NULL, 1, 3, x, y);
    for (int j = 0; j < 3 * 64; j++)
        assert_float_equal(x[j], (float)(64 + j) / 255.0f, 1e-7f);
    assert_int_equal(y[0], 8);
    assert_int_equal(y[2], 6);
    assert_true(x[3 * 64 - 1] == 1.0f);
    const uint32_t idx[2] = {3, 0};
    wg_data_batch(&ds, idx, 0, 2, x, y);
    for (int j = 0; j < 64; j++) {
        assert_float_equal(x[j], (float)(192 + j) / 255.0f, 1e-7f);
        assert_float_equal(x[64 + j], (float)j / 255.0f, 1e-7f);
    }
    assert_true(x[64] == 0.0f);
    assert_int_equal(y[0], 6);
    assert_int_equal(y[1], 9);
    wg_dataset_free(&ds);
    assert_null(ds.pixels);
}

/* ---- the real Fashion-MNIST ------------------------------------------------------- */

static void test_data_fashion_mnist_real(void **state)
{
    (void)state;
    wg_data d;
    wg_data_opts o = opts_for(WG_DATA_FASHION_MNIST, NULL);
    wg_err_clear();
    int st = wg_data_load(&d, &o);
    if (st != 0)
        fail_msg("cannot load Fashion-MNIST from %s: %s\n"
                 "  Run tools/setup.sh (it installs the dataset-fashion-mnist package).",
                 WG_FASHION_MNIST_PATH, wg_err_msg());
    const wg_dataset *sp[2] = {&d.train, &d.test};
    const size_t ns[2] = {60000, 10000};
    for (int s = 0; s < 2; s++) {
        assert_int_equal(sp[s]->n, ns[s]);
        assert_int_equal(sp[s]->h, 28);
        assert_int_equal(sp[s]->w, 28);
        assert_int_equal(sp[s]->c, 1);
        assert_int_equal(sp[s]->classes, 10);
        size_t hist[10] = {0};
        for (size_t i = 0; i < sp[s]->n; i++) {
            assert_true(sp[s]->labels[i] < 10);
            hist[sp[s]->labels[i]]++;
        }
        for (int k = 0; k < 10; k++)
            assert_int_equal(hist[k], ns[s] / 10); /* Fashion-MNIST is exactly balanced */
    }
    /* not all black: the mean pixel of Fashion-MNIST is about 73 */
    double sum = 0.0;
    for (size_t j = 0; j < 1000 * 784; j++)
        sum += d.train.pixels[j];
    assert_in_range((unsigned)(sum / (1000 * 784)), 50, 100);
    wg_data_free(&d);
}

/* ---- fixture ---------------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
    if (!t || !*t || strlen(t) > ROOT_CAP - 64)
        t = "/tmp";
    snprintf(tmproot, sizeof tmproot, "%s/wedge-test-data-XXXXXX", t);
    return mkdtemp(tmproot) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return nftw(tmproot, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_data_kind_names),
        cmocka_unit_test(test_data_idx_read_plain_and_gzip),
        cmocka_unit_test(test_data_mnist_load),
        cmocka_unit_test(test_data_idx_bad_magic),
        cmocka_unit_test(test_data_idx_wrong_ndims),
        cmocka_unit_test(test_data_idx_truncated_images),
        cmocka_unit_test(test_data_idx_truncated_labels),
        cmocka_unit_test(test_data_idx_trailing_bytes),
        cmocka_unit_test(test_data_idx_count_mismatch),
        cmocka_unit_test(test_data_idx_label_out_of_range),
        cmocka_unit_test(test_data_missing_files),
        cmocka_unit_test(test_data_cifar10_load),
        cmocka_unit_test(test_data_cifar10_faults),
        cmocka_unit_test(test_data_cifar100_load),
        cmocka_unit_test(test_data_subset),
        cmocka_unit_test(test_data_load_subset),
        cmocka_unit_test(test_data_synthetic),
        cmocka_unit_test(test_data_synthetic_deterministic),
        cmocka_unit_test(test_data_batch_scaling),
        cmocka_unit_test(test_data_fashion_mnist_real),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
