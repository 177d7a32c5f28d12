/* data.c: image classification datasets as uint8 HWC arrays.
 *
 * Reads MNIST/Fashion-MNIST IDX files through zlib (so NAME.gz and plain NAME alike),
 * CIFAR-10/100 binary batches (planar CHW turned into HWC on load), makes the seeded
 * synthetic dataset, draws seeded subsets and scales batches to floats.  Every file
 * fault becomes one WG_FAIL naming the file and what is wrong with it, because a user
 * with a damaged download must be able to tell which file to fetch again.  It does
 * not shuffle, augment or normalise beyond /255: batch order is training's business. */
#include "wedge/data.h"
#include "wedge/error.h"
#include "wedge/rng.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

/* Limits on what a header (or an option) may claim, checked before allocating, so a
 * corrupt file fails with a message instead of a giant allocation: sides of at most
 * 4096 pixels, at most 64 channels, at most 2^31 images (indices then fit the uint32
 * index arrays of wg_data_batch with room to spare) and at most 2^31 bytes of pixels
 * per file or split (MNIST train is 47 MB, all of CIFAR-10 train 150 MB). */
#define MAX_SIDE 4096
#define MAX_CHANNELS 64
#define MAX_IMAGES ((size_t)1 << 31)
#define MAX_BYTES ((size_t)1 << 31)
#define PATH_CAP 4096

#define IDX_IMAGES_MAGIC 0x00000803u
#define IDX_LABELS_MAGIC 0x00000801u

#define CIFAR_SIDE 32
#define CIFAR_PIXELS (CIFAR_SIDE * CIFAR_SIDE * 3)

/* ---- names ------------------------------------------------------------------- */

static const char *const kind_names[] = {
    [WG_DATA_FASHION_MNIST] = "fashion-mnist",
    [WG_DATA_MNIST] = "mnist",
    [WG_DATA_CIFAR10] = "cifar10",
    [WG_DATA_CIFAR100] = "cifar100",
    [WG_DATA_SYNTHETIC] = "synthetic",
};
#define NKINDS (sizeof kind_names / sizeof kind_names[0])

int wg_data_kind_parse(const char *name, wg_data_kind *out)
{
    for (size_t k = 0; name && k < NKINDS; k++) {
        if (strcmp(name, kind_names[k]) == 0) {
            *out = (wg_data_kind)k;
            return 0;
        }
    }
    return WG_FAIL(WG_EARG,
                   "unknown dataset '%s' (valid: fashion-mnist, mnist, cifar10, cifar100, "
                   "synthetic)", name ? name : "(null)");
}

const char *wg_data_kind_name(wg_data_kind kind)
{
    if ((unsigned)kind < NKINDS)
        return kind_names[kind];
    return "unknown";
}

/* ---- ownership ------------------------------------------------------------------ */

void wg_dataset_free(wg_dataset *ds)
{
    if (!ds)
        return;
    free(ds->pixels);
    free(ds->labels);
    memset(ds, 0, sizeof *ds);
}

void wg_data_free(wg_data *d)
{
    if (!d)
        return;
    wg_dataset_free(&d->train);
    wg_dataset_free(&d->test);
}

/* ---- helpers ---------------------------------------------------------------------- */

/* out = dir/name, without doubling a trailing slash of dir. */
static int join_path(char *out, size_t cap, const char *dir, const char *name)
{
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    int k = snprintf(out, cap, "%.*s/%s", (int)len, dir, name);
    if (k < 0 || (size_t)k >= cap)
        return WG_FAIL(WG_EARG, "%s/%s: path too long (limit %zu bytes)", dir, name, cap - 1);
    return 0;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* zlib's messages start with the path it was opened with; drop it, we print our own. */
static const char *gz_msg(gzFile f, const char *path, int *err)
{
    const char *msg = gzerror(f, err);
    size_t len = strlen(path);
    if (strncmp(msg, path, len) == 0 && msg[len] == ':' && msg[len + 1] == ' ')
        msg += len + 2;
    return msg;
}

static int gz_fail(gzFile f, const char *path)
{
    int err;
    const char *msg = gz_msg(f, path, &err);
    if (err == Z_ERRNO)
        return WG_FAIL(WG_EIO, "%s: read error: %s", path, msg);
    if (err == Z_MEM_ERROR)
        return WG_FAIL(WG_ENOMEM, "%s: out of memory decompressing", path);
    return WG_FAIL(WG_EFORMAT, "%s: corrupt gzip data: %s", path, msg);
}

/* Read up to len bytes; *got says how many arrived.  A short count at end of file is
 * not an error here (the caller knows what it means); a read or gzip error is.  A
 * gzip stream that ends early counts as end of file, so it reads as truncated. */
static int gz_read_full(gzFile f, const char *path, void *buf, size_t len, size_t *got)
{
    unsigned char *p = buf;
    *got = 0;
    while (*got < len) {
        size_t want = len - *got;
        if (want > ((size_t)1 << 30))
            want = (size_t)1 << 30;
        int r = gzread(f, p + *got, (unsigned)want);
        if (r < 0)
            return gz_fail(f, path);
        if (r == 0)
            break;
        *got += (size_t)r;
    }
    if (*got < len) {
        int err;
        gz_msg(f, path, &err);
        if (err != Z_OK && err != Z_BUF_ERROR)
            return gz_fail(f, path);
    }
    return 0;
}

/* ---- IDX ------------------------------------------------------------------------- */

/* Read a whole IDX file of unsigned bytes with `ndims` dimensions (3 for images, 1 for
 * labels) into a new buffer; dims[0] is the item count.  Checks magic, dimensions,
 * size limits, truncation and trailing bytes. */
static int idx_read(const char *path, int ndims, const char *what, uint32_t dims[3],
                    uint8_t **data)
{
    *data = NULL;
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f)
        return WG_FAIL(WG_EIO, "%s: cannot open: %s", path,
                       errno ? strerror(errno) : "out of memory");
    uint8_t *buf = NULL;
    unsigned char hdr[12];
    size_t got, hlen = 4 * (size_t)ndims;
    uint32_t magic;
    int st = gz_read_full(f, path, hdr, 4, &got);
    if (st)
        goto out;
    if (got < 4) {
        st = WG_FAIL(WG_EFORMAT, "%s: truncated: file ends inside the IDX header (%zu bytes)",
                     path, got);
        goto out;
    }
    magic = be32(hdr);
    if ((magic >> 8) != 0x08) {
        st = WG_FAIL(WG_EFORMAT,
                     "%s: bad magic 0x%08x: not an IDX file of unsigned bytes (expected 0x%08x "
                     "for %s)", path, magic,
                     ndims == 3 ? IDX_IMAGES_MAGIC : IDX_LABELS_MAGIC, what);
        goto out;
    }
    if ((magic & 0xffu) != (uint32_t)ndims) {
        st = WG_FAIL(WG_EFORMAT,
                     "%s: wrong dimensions: IDX file has %u dimensions, %s need %d (magic 0x%08x)",
                     path, magic & 0xffu, what, ndims, magic);
        goto out;
    }
    st = gz_read_full(f, path, hdr, hlen, &got);
    if (st)
        goto out;
    if (got < hlen) {
        st = WG_FAIL(WG_EFORMAT, "%s: truncated: file ends inside the IDX header", path);
        goto out;
    }
    size_t item = 1;
    for (int k = 0; k < ndims; k++)
        dims[k] = be32(hdr + 4 * k);
    if (ndims == 3) {
        if (dims[1] < 1 || dims[1] > MAX_SIDE || dims[2] < 1 || dims[2] > MAX_SIDE) {
            st = WG_FAIL(WG_EFORMAT,
                         "%s: wrong dimensions: images of %u rows x %u columns (each must be 1..%d)",
                         path, dims[1], dims[2], MAX_SIDE);
            goto out;
        }
        item = (size_t)dims[1] * dims[2];
    }
    size_t total;
    if (dims[0] > MAX_IMAGES || wg_mul_size(dims[0], item, &total) != 0 || total > MAX_BYTES) {
        st = WG_FAIL(WG_EFORMAT, "%s: header claims %u %s of %zu bytes, over the %zu-byte limit",
                     path, dims[0], what, item, MAX_BYTES);
        goto out;
    }
    buf = wg_alloc(total, 1, what);
    if (!buf) {
        st = WG_ENOMEM;
        goto out;
    }
    st = gz_read_full(f, path, buf, total, &got);
    if (st)
        goto out;
    if (got < total) {
        st = WG_FAIL(WG_EFORMAT,
                     "%s: truncated: header promises %u %s, file holds %zu (%zu of %zu data bytes)",
                     path, dims[0], what, got / item, got, total);
        goto out;
    }
    size_t extra = 0;
    unsigned char scratch[4096];
    do {
        st = gz_read_full(f, path, scratch, sizeof scratch, &got);
        if (st)
            goto out;
        extra += got;
    } while (got == sizeof scratch);
    if (extra) {
        st = WG_FAIL(WG_EFORMAT,
                     "%s: trailing bytes: header promises %u %s, file has %zu bytes more",
                     path, dims[0], what, extra);
        goto out;
    }
out:
    gzclose(f);
    if (st)
        free(buf);
    else
        *data = buf;
    return st;
}

int wg_idx_read_images(const char *path, uint8_t **pixels, size_t *n, int *h, int *w)
{
    uint32_t dims[3];
    *pixels = NULL;
    *n = 0;
    *h = *w = 0;
    int st = idx_read(path, 3, "images", dims, pixels);
    if (st)
        return st;
    *n = dims[0];
    *h = (int)dims[1];
    *w = (int)dims[2];
    return 0;
}

int wg_idx_read_labels(const char *path, uint8_t **labels, size_t *n, int classes)
{
    uint32_t dims[3];
    *labels = NULL;
    *n = 0;
    if (classes < 1 || classes > 256)
        return WG_FAIL(WG_EARG, "%s: %d classes: must be 1..256 for byte labels", path, classes);
    uint8_t *lab;
    int st = idx_read(path, 1, "labels", dims, &lab);
    if (st)
        return st;
    for (size_t i = 0; i < dims[0]; i++) {
        if (lab[i] >= classes) {
            st = WG_FAIL(WG_EFORMAT, "%s: label out of range: label %u at index %zu, expected < %d",
                         path, lab[i], i, classes);
            free(lab);
            return st;
        }
    }
    *labels = lab;
    *n = dims[0];
    return 0;
}

/* Find dir/name.gz or else dir/name; path gets whichever exists. */
static int idx_find(char *path, const char *dir, const char *name, int hint)
{
    char gz[PATH_CAP];
    int st = join_path(path, PATH_CAP, dir, name);
    if (st)
        return st;
    if (strlen(path) + 3 >= PATH_CAP)
        return WG_FAIL(WG_EARG, "%s.gz: path too long", path);
    snprintf(gz, sizeof gz, "%s.gz", path);
    struct stat sb;
    if (stat(gz, &sb) == 0) {
        memcpy(path, gz, strlen(gz) + 1);
        return 0;
    }
    if (stat(path, &sb) == 0)
        return 0;
    return WG_FAIL(WG_EIO, "%s(.gz): cannot open: %s%s", path, strerror(errno),
                   hint ? " (the default Fashion-MNIST is installed by tools/setup.sh)" : "");
}

static int idx_split(wg_dataset *ds, const char *dir, const char *images, const char *labels,
                     int hint)
{
    char ipath[PATH_CAP], lpath[PATH_CAP];
    size_t nl;
    uint8_t *lab = NULL;
    int st = idx_find(ipath, dir, images, hint);
    if (!st)
        st = idx_find(lpath, dir, labels, hint);
    if (!st)
        st = wg_idx_read_images(ipath, &ds->pixels, &ds->n, &ds->h, &ds->w);
    if (!st)
        st = wg_idx_read_labels(lpath, &lab, &nl, 10);
    ds->labels = lab;
    if (st)
        return st;
    ds->c = 1;
    ds->classes = 10;
    if (nl != ds->n)
        return WG_FAIL(WG_EFORMAT, "%s: count mismatch: %zu labels but %s holds %zu images",
                       lpath, nl, ipath, ds->n);
    if (ds->n == 0)
        return WG_FAIL(WG_EFORMAT, "%s: empty: header promises 0 images", ipath);
    return 0;
}

static int load_idx(wg_data *d, const char *dir, int hint)
{
    int st = idx_split(&d->train, dir, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", hint);
    if (!st)
        st = idx_split(&d->test, dir, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", hint);
    if (!st && (d->test.h != d->train.h || d->test.w != d->train.w))
        st = WG_FAIL(WG_EFORMAT,
                     "%s/t10k-images-idx3-ubyte: wrong dimensions: test images are %dx%d but "
                     "train images are %dx%d", dir, d->test.h, d->test.w, d->train.h, d->train.w);
    return st;
}

/* ---- CIFAR ------------------------------------------------------------------------ */

typedef struct cifar_fmt {
    const char *subdir;     /* where the official archive unpacks */
    const char *train[5];
    int ntrain;
    const char *test;
    size_t rec;             /* bytes per record */
    int label_at;           /* offset of the label used */
    int classes;
} cifar_fmt;

static const cifar_fmt cifar10 = {
    "cifar-10-batches-bin",
    {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
     "data_batch_5.bin"}, 5, "test_batch.bin", 1 + CIFAR_PIXELS, 0, 10};
static const cifar_fmt cifar100 = {
    "cifar-100-binary", {"train.bin"}, 1, "test.bin", 2 + CIFAR_PIXELS, 1, 100};

/* Read `nfiles` CIFAR batch files of base/ into one split: sizes first (so that a
 * short last file fails before the big allocation), then records, CHW -> HWC. */
static int cifar_split(wg_dataset *ds, const cifar_fmt *fmt, const char *base,
                       const char *const *names, int nfiles)
{
    FILE *fp[5] = {NULL};
    char path[5][PATH_CAP];
    size_t count[5], n = 0;
    unsigned char *rec = NULL;
    int st = 0;
    for (int k = 0; k < nfiles && !st; k++) {
        st = join_path(path[k], PATH_CAP, base, names[k]);
        if (st)
            break;
        fp[k] = fopen(path[k], "rb");
        if (!fp[k]) {
            st = WG_FAIL(WG_EIO, "%s: cannot open: %s", path[k], strerror(errno));
            break;
        }
        struct stat sb;
        if (fstat(fileno(fp[k]), &sb) != 0) {
            st = WG_FAIL(WG_EIO, "%s: cannot stat: %s", path[k], strerror(errno));
        } else if (!S_ISREG(sb.st_mode)) {
            st = WG_FAIL(WG_EIO, "%s: not a regular file", path[k]);
        } else if (sb.st_size == 0 || (size_t)sb.st_size % fmt->rec != 0) {
            st = WG_FAIL(WG_EFORMAT,
                         "%s: size %lld bytes is not a whole, nonzero number of %zu-byte records",
                         path[k], (long long)sb.st_size, fmt->rec);
        } else if ((size_t)sb.st_size / fmt->rec > MAX_IMAGES - n ||
                   n + (size_t)sb.st_size / fmt->rec > MAX_BYTES / CIFAR_PIXELS) {
            st = WG_FAIL(WG_EFORMAT, "%s: too large (%lld bytes; a split may hold %zu bytes)",
                         path[k], (long long)sb.st_size, MAX_BYTES);
        } else {
            count[k] = (size_t)sb.st_size / fmt->rec;
            n += count[k];
        }
    }
    if (st)
        goto out;
    ds->pixels = wg_alloc(n, CIFAR_PIXELS, "CIFAR pixels");
    ds->labels = wg_alloc(n, 1, "CIFAR labels");
    rec = wg_alloc(fmt->rec, 1, "CIFAR record");
    if (!ds->pixels || !ds->labels || !rec) {
        st = WG_ENOMEM;
        goto out;
    }
    ds->h = ds->w = CIFAR_SIDE;
    ds->c = 3;
    ds->classes = fmt->classes;
    size_t i = 0;
    const int plane = CIFAR_SIDE * CIFAR_SIDE;
    for (int k = 0; k < nfiles; k++) {
        for (size_t r = 0; r < count[k]; r++, i++) {
            if (fread(rec, 1, fmt->rec, fp[k]) != fmt->rec) {
                st = ferror(fp[k])
                         ? WG_FAIL(WG_EIO, "%s: read error: %s", path[k], strerror(errno))
                         : WG_FAIL(WG_EFORMAT,
                                   "%s: truncated: file shrank to %zu records while being read",
                                   path[k], r);
                goto out;
            }
            /* CIFAR-100's coarse label (20 superclasses) is not used but still checked:
             * a bad one means the file is not what it claims to be. */
            if (fmt->label_at == 1 && rec[0] >= 20) {
                st = WG_FAIL(WG_EFORMAT,
                             "%s: label out of range: record %zu has coarse label %u, expected < 20",
                             path[k], r, rec[0]);
                goto out;
            }
            if (rec[fmt->label_at] >= fmt->classes) {
                st = WG_FAIL(WG_EFORMAT, "%s: label out of range: record %zu has label %u, "
                             "expected < %d", path[k], r, rec[fmt->label_at], fmt->classes);
                goto out;
            }
            ds->labels[i] = rec[fmt->label_at];
            const unsigned char *src = rec + fmt->label_at + 1;
            uint8_t *dst = ds->pixels + i * CIFAR_PIXELS;
            for (int p = 0; p < plane; p++) {
                dst[3 * p + 0] = src[p];
                dst[3 * p + 1] = src[plane + p];
                dst[3 * p + 2] = src[2 * plane + p];
            }
        }
    }
    ds->n = n;
out:
    for (int k = 0; k < nfiles; k++)
        if (fp[k])
            fclose(fp[k]);
    free(rec);
    return st;
}

static int load_cifar(wg_data *d, const cifar_fmt *fmt, const char *dir)
{
    /* The files may sit in dir itself or in the subdirectory the archive unpacks to;
     * the first training file decides which. */
    char probe[PATH_CAP], sub[PATH_CAP];
    struct stat sb;
    const char *base = dir;
    int st = join_path(probe, PATH_CAP, dir, fmt->train[0]);
    if (st)
        return st;
    if (stat(probe, &sb) != 0) {
        int e = errno;
        char alt[PATH_CAP];
        st = join_path(sub, PATH_CAP, dir, fmt->subdir);
        if (!st)
            st = join_path(alt, PATH_CAP, sub, fmt->train[0]);
        if (st)
            return st;
        if (stat(alt, &sb) != 0)
            return WG_FAIL(WG_EIO, "%s: cannot open: %s (also looked for %s)", probe,
                           strerror(e), alt);
        base = sub;
    }
    st = cifar_split(&d->train, fmt, base, fmt->train, fmt->ntrain);
    if (!st)
        st = cifar_split(&d->test, fmt, base, &fmt->test, 1);
    return st;
}

/* ---- synthetic ------------------------------------------------------------------- */

/* A class template is, per channel, a sum of plane waves with integer numbers of
 * cycles per image side (so that a cyclic shift is exact): SYNTH_LOW broad waves of
 * 1..2 cycles and SYNTH_HIGH fine waves with a period of 4..6 pixels in a random
 * direction.  An image is its template cyclically shifted by up to SYNTH_SHIFT pixels
 * each way, with random contrast and brightness, plus gaussian noise.  A shift of up
 * to 2 pixels scrambles the phase of the fine waves, so their average over shifts is
 * nearly zero and a linear classifier can only use the weak broad waves, while local
 * filters (a convolution, or hidden units) detect the fine ones at any phase. */
#define SYNTH_CLASSES 10
#define SYNTH_LOW 2
#define SYNTH_HIGH 3
#define SYNTH_SHIFT 2
#define SYNTH_PERIOD_MIN 4.0 /* fine waves: period in [4, 6) pixels */
#define SYNTH_PERIOD_SPAN 2.0
#define SYNTH_AMP_LOW 8.0    /* standard deviation of the broad part, in pixel units */
#define SYNTH_AMP_HIGH 40.0  /* ... of the fine part */
#define SYNTH_NOISE 60.0f    /* per-pixel noise standard deviation */
/* With these, on the default 2000/500 28x28 split, softmax regression reaches about
 * 70-75% test accuracy and a 128-unit MLP about 98%. */

typedef struct wave {
    double fx, fy, phase, amp;
} wave;

static void synth_waves(wg_rng *r, wave *wv, int nw, int fine, int h, int w, double std)
{
    const double two_pi = 6.283185307179586;
    double power = 0.0;
    for (int j = 0; j < nw; j++) {
        if (fine) {
            double period = SYNTH_PERIOD_MIN + SYNTH_PERIOD_SPAN * wg_rng_uniform(r);
            double theta = 0.5 * two_pi * wg_rng_uniform(r);
            wv[j].fx = round(w / period * cos(theta));
            wv[j].fy = round(h / period * sin(theta));
            if (wv[j].fx == 0.0 && wv[j].fy == 0.0)
                wv[j].fx = 1.0; /* only for images a few pixels wide */
        } else {
            do {
                wv[j].fx = (double)wg_rng_below(r, 5) - 2.0;
                wv[j].fy = (double)wg_rng_below(r, 3);
            } while (wv[j].fy == 0.0 && wv[j].fx <= 0.0);
        }
        wv[j].phase = two_pi * wg_rng_uniform(r);
        wv[j].amp = 0.5 + wg_rng_uniform(r);
        power += 0.5 * wv[j].amp * wv[j].amp;
    }
    for (int j = 0; j < nw; j++)
        wv[j].amp *= std / sqrt(power);
}

static void synth_templates(float *tpl, int h, int w, int c, uint64_t seed)
{
    wg_rng r;
    wg_rng_init(&r, seed, wg_rng_stream(WG_RNG_SYNTH, 0, 0, 0));
    const double two_pi = 6.283185307179586;
    size_t hwc = (size_t)h * w * c;
    for (int k = 0; k < SYNTH_CLASSES; k++) {
        float *t = tpl + (size_t)k * hwc;
        for (int ch = 0; ch < c; ch++) {
            wave wv[SYNTH_LOW + SYNTH_HIGH];
            synth_waves(&r, wv, SYNTH_LOW, 0, h, w, SYNTH_AMP_LOW);
            synth_waves(&r, wv + SYNTH_LOW, SYNTH_HIGH, 1, h, w, SYNTH_AMP_HIGH);
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    double v = 0.0;
                    for (int j = 0; j < SYNTH_LOW + SYNTH_HIGH; j++)
                        v += wv[j].amp * sin(two_pi * (wv[j].fx * x / w + wv[j].fy * y / h) +
                                             wv[j].phase);
                    t[((size_t)y * w + x) * c + ch] = (float)v;
                }
            }
        }
    }
}

int wg_data_synthetic(wg_dataset *out, size_t n, int h, int w, int c,
                      uint64_t seed, uint64_t stream)
{
    if (!out)
        return WG_FAIL(WG_EARG, "synthetic data: no output dataset");
    memset(out, 0, sizeof *out);
    if (h < 1 || h > MAX_SIDE || w < 1 || w > MAX_SIDE || c < 1 || c > MAX_CHANNELS)
        return WG_FAIL(WG_EARG, "synthetic data: image shape %dx%dx%d out of range (sides "
                       "1..%d, channels 1..%d)", h, w, c, MAX_SIDE, MAX_CHANNELS);
    size_t hwc = (size_t)h * w * c, total;
    if (n > MAX_IMAGES || wg_mul_size(n, hwc, &total) != 0 || total > MAX_BYTES)
        return WG_FAIL(WG_EARG, "synthetic data: %zu images of %zu bytes exceed the %zu-byte "
                       "limit", n, hwc, MAX_BYTES);
    float *tpl = wg_alloc(SYNTH_CLASSES * hwc, sizeof *tpl, "synthetic templates");
    float *noise = wg_alloc(hwc, sizeof *noise, "synthetic noise");
    out->pixels = wg_alloc(n, hwc, "synthetic pixels");
    out->labels = wg_alloc(n, 1, "synthetic labels");
    if (!tpl || !noise || !out->pixels || !out->labels) {
        free(tpl);
        free(noise);
        wg_dataset_free(out);
        return WG_ENOMEM;
    }
    synth_templates(tpl, h, w, c, seed);
    for (size_t i = 0; i < n; i++) {
        /* One stream per image: image i is the same whatever n is. */
        wg_rng r;
        wg_rng_init(&r, seed, wg_rng_stream(WG_RNG_SYNTH, 1, stream, i));
        int k = (int)wg_rng_below(&r, SYNTH_CLASSES);
        int dy = (int)wg_rng_below(&r, 2 * SYNTH_SHIFT + 1) - SYNTH_SHIFT;
        int dx = (int)wg_rng_below(&r, 2 * SYNTH_SHIFT + 1) - SYNTH_SHIFT;
        float contrast = 0.7f + 0.6f * wg_rng_uniformf(&r);
        float bright = 128.0f + 30.0f * (wg_rng_uniformf(&r) - 0.5f);
        wg_rng_fill_normal(&r, noise, hwc);
        const float *t = tpl + (size_t)k * hwc;
        uint8_t *dst = out->pixels + i * hwc;
        for (int y = 0; y < h; y++) {
            int sy = ((y - dy) % h + h) % h;
            for (int x = 0; x < w; x++) {
                int sx = ((x - dx) % w + w) % w;
                const float *src = t + ((size_t)sy * w + sx) * c;
                size_t o = ((size_t)y * w + x) * c;
                for (int ch = 0; ch < c; ch++) {
                    float v = bright + contrast * src[ch] + SYNTH_NOISE * noise[o + ch];
                    v = v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v;
                    dst[o + ch] = (uint8_t)(v + 0.5f);
                }
            }
        }
        out->labels[i] = (uint8_t)k;
    }
    free(tpl);
    free(noise);
    out->n = n;
    out->h = h;
    out->w = w;
    out->c = c;
    out->classes = SYNTH_CLASSES;
    return 0;
}

/* ---- subsets ---------------------------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int wg_dataset_subset(wg_dataset *ds, size_t size, uint64_t seed, uint64_t stream)
{
    if (!ds)
        return WG_FAIL(WG_EARG, "subset: no dataset");
    /* Drawing all n without replacement and sorting is the identity: nothing to do. */
    if (size == 0 || size == ds->n)
        return 0;
    if (size > ds->n)
        return WG_FAIL(WG_EARG, "subset of %zu images requested from a split of %zu", size,
                       ds->n);
    if (ds->n > UINT32_MAX)
        return WG_FAIL(WG_EARG, "subset: split of %zu images is too large", ds->n);
    size_t hwc = (size_t)ds->h * ds->w * ds->c;
    uint32_t *idx = wg_alloc(ds->n, sizeof *idx, "subset indices");
    if (!idx)
        return WG_ENOMEM;
    wg_rng r;
    wg_rng_init(&r, seed, stream);
    for (size_t i = 0; i < ds->n; i++)
        idx[i] = (uint32_t)i;
    /* Partial Fisher-Yates: idx[0..size) is a uniform draw without replacement. */
    for (size_t i = 0; i < size; i++) {
        size_t j = i + (size_t)wg_rng_below(&r, ds->n - i);
        uint32_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
    qsort(idx, size, sizeof *idx, cmp_u32);
    /* Ascending idx[k] >= k: moving image idx[k] down to slot k never overwrites an
     * image still to be moved. */
    for (size_t k = 0; k < size; k++) {
        if (idx[k] == k)
            continue;
        memcpy(ds->pixels + k * hwc, ds->pixels + (size_t)idx[k] * hwc, hwc);
        ds->labels[k] = ds->labels[idx[k]];
    }
    free(idx);
    ds->n = size;
    /* Give back the tail; if the allocator declines, the larger block is still fine. */
    uint8_t *p = realloc(ds->pixels, size * hwc);
    if (p)
        ds->pixels = p;
    p = realloc(ds->labels, size);
    if (p)
        ds->labels = p;
    return 0;
}

static int subset_split(wg_data *d, wg_dataset *ds, const char *split, size_t size,
                        uint64_t seed, uint64_t a)
{
    if (size > ds->n)
        return WG_FAIL(WG_EARG, "%s: %s_size %zu is larger than the %s split (%zu images)",
                       wg_data_kind_name(d->kind), split, size, split, ds->n);
    return wg_dataset_subset(ds, size, seed, wg_rng_stream(WG_RNG_SUBSET, a, 0, 0));
}

/* ---- loading ------------------------------------------------------------------------ */

static int load_synthetic(wg_data *d, const wg_data_opts *o)
{
    size_t ntrain = o->synth_train ? o->synth_train : 2000;
    size_t ntest = o->synth_test ? o->synth_test : 500;
    int h = o->synth_h ? o->synth_h : 28;
    int w = o->synth_w ? o->synth_w : 28;
    int c = o->synth_c ? o->synth_c : 1;
    int st = wg_data_synthetic(&d->train, ntrain, h, w, c, o->synth_seed, 0);
    if (!st)
        st = wg_data_synthetic(&d->test, ntest, h, w, c, o->synth_seed, 1);
    return st;
}

int wg_data_load(wg_data *d, const wg_data_opts *opts)
{
    if (!d)
        return WG_FAIL(WG_EARG, "wg_data_load: no output");
    memset(d, 0, sizeof *d);
    if (!opts)
        return WG_FAIL(WG_EARG, "wg_data_load: no options");
    d->kind = opts->kind;
    const char *dir = opts->path && opts->path[0] ? opts->path : NULL;
    int st, is_default = 0;
    if (!dir && opts->kind == WG_DATA_FASHION_MNIST) {
        dir = WG_FASHION_MNIST_PATH;
        is_default = 1;
    }
    if (!dir && opts->kind != WG_DATA_SYNTHETIC && (unsigned)opts->kind < NKINDS)
        return WG_FAIL(WG_EARG, "%s: no data path given (only fashion-mnist has a default)",
                       wg_data_kind_name(opts->kind));
    switch (opts->kind) {
    case WG_DATA_FASHION_MNIST:
    case WG_DATA_MNIST:
        st = load_idx(d, dir, is_default);
        break;
    case WG_DATA_CIFAR10:
        st = load_cifar(d, &cifar10, dir);
        break;
    case WG_DATA_CIFAR100:
        st = load_cifar(d, &cifar100, dir);
        break;
    case WG_DATA_SYNTHETIC:
        st = load_synthetic(d, opts);
        break;
    default:
        st = WG_FAIL(WG_EARG, "unknown dataset kind %d", (int)opts->kind);
        break;
    }
    if (!st)
        st = subset_split(d, &d->train, "train", opts->train_size, opts->subset_seed, 0);
    if (!st)
        st = subset_split(d, &d->test, "test", opts->test_size, opts->subset_seed, 1);
    if (st)
        wg_data_free(d);
    return st;
}

/* ---- batches ------------------------------------------------------------------------ */

/* pixel/255 for every byte, computed by the compiler: one load per pixel instead of a
 * division, and the same rounding as the division. */
#define S1(i) ((float)(i) / 255.0f)
#define S4(i) S1(i), S1((i) + 1), S1((i) + 2), S1((i) + 3)
#define S16(i) S4(i), S4((i) + 4), S4((i) + 8), S4((i) + 12)
#define S64(i) S16(i), S16((i) + 16), S16((i) + 32), S16((i) + 48)
static const float byte_scale[256] = {S64(0), S64(64), S64(128), S64(192)};

void wg_data_batch(const wg_dataset *ds, const uint32_t *idx, size_t first, size_t b,
                   float *x, int *y)
{
    size_t hwc = (size_t)ds->h * ds->w * ds->c;
    for (size_t i = 0; i < b; i++) {
        size_t src = idx ? idx[i] : first + i;
        assert(src < ds->n);
        const uint8_t *p = ds->pixels + src * hwc;
        float *dst = x + i * hwc;
        for (size_t j = 0; j < hwc; j++)
            dst[j] = byte_scale[p[j]];
        if (y)
            y[i] = ds->labels[src];
    }
}
