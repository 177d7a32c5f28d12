/* data.h: image classification datasets held as uint8 pixels.
 *
 * Loads MNIST and Fashion-MNIST (IDX, plain or gzipped), CIFAR-10 and CIFAR-100
 * (the "binary version" files), and makes seeded synthetic data for tests.  Pixels
 * stay uint8 in HWC order (CIFAR's planar CHW is converted on load) and are scaled
 * to [0,1] floats only per batch, by wg_data_batch().  A file that is missing,
 * truncated or inconsistent is an error naming the file and the fault. */
#ifndef WEDGE_DATA_H
#define WEDGE_DATA_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    WG_DATA_FASHION_MNIST = 0,
    WG_DATA_MNIST,
    WG_DATA_CIFAR10,
    WG_DATA_CIFAR100,
    WG_DATA_SYNTHETIC
} wg_data_kind;

#define WG_FASHION_MNIST_PATH "/usr/share/datasets/fashion-mnist"

/* One split (train or test) of a dataset. Owns pixels and labels. */
typedef struct wg_dataset {
    size_t n;               /* number of images */
    int h, w, c;            /* image shape, HWC */
    int classes;            /* labels are in [0, classes) */
    uint8_t *pixels;        /* n * h*w*c, image i at pixels + i*h*w*c */
    uint8_t *labels;        /* n */
} wg_dataset;

/* A loaded dataset's two splits. */
typedef struct wg_data {
    wg_data_kind kind;
    wg_dataset train, test;
} wg_data;

/* Options for wg_data_load. train_size/test_size 0 mean "all"; a size larger than
 * the split is WG_EARG.  Subsets are drawn without replacement from stream
 * WG_RNG_SUBSET of subset_seed (train and test use different sub-streams) and keep
 * the drawn order sorted by original index. */
typedef struct wg_data_opts {
    wg_data_kind kind;
    const char *path;       /* directory; NULL = default for the kind (fashion-mnist
                               only; others require a path) */
    size_t train_size, test_size;
    uint64_t subset_seed;
    /* synthetic only: */
    size_t synth_train, synth_test; /* split sizes before subsetting (default 2000/500) */
    int synth_h, synth_w, synth_c;  /* default 28x28x1 */
    uint64_t synth_seed;
} wg_data_opts;

/* Parse/print dataset names: "fashion-mnist", "mnist", "cifar10", "cifar100",
 * "synthetic". wg_data_kind_parse returns 0 or WG_EARG. */
int wg_data_kind_parse(const char *name, wg_data_kind *out);
const char *wg_data_kind_name(wg_data_kind kind);

/* Load (or generate) a dataset.  On failure *d is left empty (safe to free) and the
 * error record names the file and the fault.
 *  IDX files: {train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
 *    t10k-labels-idx1-ubyte}, each tried as NAME.gz then NAME (zlib reads both).
 *  CIFAR-10:  data_batch_1.bin .. data_batch_5.bin and test_batch.bin, 3073-byte
 *    records (label, 1024 R, 1024 G, 1024 B); also accepted inside a
 *    cifar-10-batches-bin/ subdirectory of path.
 *  CIFAR-100: train.bin and test.bin, 3074-byte records (coarse label, fine label,
 *    pixels); the fine label (100 classes) is used; also accepted inside
 *    cifar-100-binary/.
 * Faults reported: missing file, bad magic, wrong dimensions, truncated file,
 * image and label counts that disagree, label out of range, file size not a whole
 * number of records. */
int wg_data_load(wg_data *d, const wg_data_opts *opts);
void wg_data_free(wg_data *d);

/* Single-file readers (exposed for tests). Read an IDX image file (magic 0x00000803,
 * 3 dims) / label file (magic 0x00000801, 1 dim), plain or gzipped, into newly
 * allocated arrays owned by the caller. */
int wg_idx_read_images(const char *path, uint8_t **pixels, size_t *n, int *h, int *w);
int wg_idx_read_labels(const char *path, uint8_t **labels, size_t *n, int classes);

/* Seeded synthetic dataset: `classes` (10) class templates of smooth random
 * patterns, each image = its class template + per-image noise and random shift,
 * clipped to uint8. Learnable (a small CNN reaches >90%) but not trivial. */
int wg_data_synthetic(wg_dataset *out, size_t n, int h, int w, int c,
                      uint64_t seed, uint64_t stream);

/* Keep a seeded random subset of `size` images of ds (in place). */
int wg_dataset_subset(wg_dataset *ds, size_t size, uint64_t seed, uint64_t stream);

void wg_dataset_free(wg_dataset *ds);

/* Fill x[b*h*w*c] with images idx[0..b) scaled to [0,1] (pixel/255) and y[b] with
 * their labels. idx may be NULL for images first..first+b. */
void wg_data_batch(const wg_dataset *ds, const uint32_t *idx, size_t first, size_t b,
                   float *x, int *y);

#endif
