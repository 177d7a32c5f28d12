/* net.h: networks over one flat parameter vector.
 *
 * A wg_net is an architecture (SimpleCNN or MLP, as docs/METHODS.md defines them), the
 * layout table of its parameter vector, and the activation buffers for batches of
 * up to `cap` images, all allocated by wg_net_init so that a lack of memory shows
 * before any training.  Parameters are NOT owned by the net: theta (and dtheta,
 * optimizer moments) are caller-owned float arrays of wg_net.nparams, so the same
 * net evaluates any point of the landscape. */
#ifndef WEDGE_NET_H
#define WEDGE_NET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { WG_ARCH_SIMPLECNN = 0, WG_ARCH_MLP } wg_arch;
typedef enum { WG_ACT_TANH = 0, WG_ACT_RELU } wg_act;
/* Where SimpleCNN drops out (when dropout > 0): before the classifier only ("dense",
 * the default), or also after every conv block's max pooling ("all").  MLPs drop
 * after every hidden layer either way. */
typedef enum { WG_DROPOUT_DENSE = 0, WG_DROPOUT_ALL } wg_dropout_where;

typedef struct wg_net_opts {
    wg_arch arch;
    int width;        /* SimpleCNN channel multiplier c: 16c/32c/32c channels */
    int depth;        /* MLP hidden layers */
    int hidden;       /* MLP hidden units per layer */
    wg_act activation;
    float dropout;    /* drop probability in [0,1) */
    int in_h, in_w, in_c, classes;
    int im2col_only;  /* 1: no Winograd convolutions (for comparing the two paths) */
    wg_dropout_where dropout_where; /* SimpleCNN's dropout layers (default dense) */
} wg_net_opts;

/* Defaults: SimpleCNN, width 1, depth 2, hidden 256, tanh, no dropout (placed before
 * the classifier when set), 28x28x1, 10 classes. */
void wg_net_opts_default(wg_net_opts *o);

int wg_arch_parse(const char *s, wg_arch *out);
const char *wg_arch_name(wg_arch a);
int wg_act_parse(const char *s, wg_act *out);
const char *wg_act_name(wg_act a);
/* "dense" / "all"; parse returns 0 or WG_EARG (naming the accepted values). */
int wg_dropout_where_parse(const char *s, wg_dropout_where *out);
const char *wg_dropout_where_name(wg_dropout_where w);

/* One named tensor of the parameter vector. */
typedef struct wg_tensor_info {
    char name[24];      /* "conv1.w", "fc.b", ... */
    size_t offset, count;
    int ndim, shape[4];
    int is_weight;      /* 1 for weights (L2 applies, Glorot init), 0 for biases */
    int fan_in, fan_out;
} wg_tensor_info;

typedef enum {
    WG_LAYER_CONV3, WG_LAYER_DENSE, WG_LAYER_TANH, WG_LAYER_RELU, WG_LAYER_MAXPOOL,
    WG_LAYER_DROPOUT
} wg_layer_kind;

typedef struct wg_layer {
    wg_layer_kind kind;
    int h, w, c;        /* input shape per image (dense: h = w = 1, c = features) */
    int k;              /* output channels / features (conv, dense) */
    int oh, ow, oc;     /* output shape per image */
    int param;          /* index of the weight tensor in the layout, -1 if none */
    float *out;         /* (cap, oh, ow, oc); aliases the input for in-place layers */
    float *col;         /* conv by im2col: the forward's im2col cache */
    int wino;           /* conv by Winograd F(2x2,3x3) (winograd.h) instead */
    int wino_nb;        /* images per Winograd block */
    float *U, *Ut;      /* Winograd: transformed filters (forward, input gradient) */
    float *mask;        /* dropout: mask cache */
} wg_layer;

typedef struct wg_net {
    wg_net_opts opts;
    size_t nparams;
    int ntensors, nlayers;
    wg_tensor_info *tensors;
    wg_layer *layers;
    size_t cap;         /* largest batch the buffers hold */
    size_t chunk;       /* images per pass through the layers (<= cap) */
    size_t in_size;     /* floats per input image */
    size_t max_act;     /* floats per image of the largest activation */
    float *input;       /* (cap, in_size): wg_net_forward reads the batch from here */
    float *logits;      /* (cap, classes), = last layer's out */
    float *dlogits;     /* (cap, classes) */
    float *grad[2];     /* (chunk, max_act) ping-pong buffers for backward */
    float *wscratch;    /* Winograd scratch, shared by the layers */
    int last_train;     /* whether the last forward ran in training mode */
    size_t last_batch;
    struct wg_hvp_work *hvp; /* wg_net_hvp's buffers (wg_net_hvp_reserve), or NULL */
} wg_net;

/* Build the architecture and allocate buffers for batches up to cap.  On failure
 * the net is left safe to free and the error record says why (bad option, memory). */
int wg_net_init(wg_net *net, const wg_net_opts *opts, size_t cap);
void wg_net_free(wg_net *net);

/* Glorot-uniform weights (limit sqrt(6/(fan_in+fan_out))), zero biases, from stream
 * `stream` of `seed`. */
void wg_net_init_params(const wg_net *net, float *theta, uint64_t seed, uint64_t stream);

/* Forward the B <= cap images in net->input.  train != 0 enables dropout with masks
 * keyed by (seed, stream); otherwise dropout is the identity.  Returns net->logits. */
const float *wg_net_forward(wg_net *net, const float *theta, size_t B, int train,
                            uint64_t seed, uint64_t stream);

/* Cross-entropy of the last forward's logits against labels y: returns the summed
 * loss over the batch, the correct count, and (if want_grad) leaves
 * d(mean loss)/dlogits in net->dlogits. */
double wg_net_loss(wg_net *net, const int *y, size_t B, int want_grad, size_t *correct);

/* Backpropagate net->dlogits of the last forward: OVERWRITES dtheta (nparams). */
void wg_net_backward(wg_net *net, const float *theta, float *dtheta);

/* Buffers for Hessian-vector products of up to nv_max directions at once: about
 * nv_max x (4 D + the activations of a few images) floats, and for Winograd layers
 * their transformed directions (2 x 16/9 of their weights each).  Keeps a larger
 * earlier reservation; otherwise replaces it.  0, WG_EARG (nv_max not in
 * [1, 65536]) or WG_ENOMEM (the net stays usable, without HVP buffers). */
int wg_net_hvp_reserve(wg_net *net, size_t nv_max);

/* Exact Hessian-vector products (Pearlmutter's R-operator) of the MEAN cross-entropy
 * over the B <= cap images in net->input with labels y, at theta, for the nv
 * directions V (nv x nparams floats, row-major): for each j,
 *     HV[j*D .. j*D+D) += scale * (H V_j + 2 l2 V_j on weight entries),
 * in double (so batches of a larger set accumulate into one array; biases get no
 * l2, as in wg_net_l2).  The network is evaluated as a probe sees it: dropout is the
 * identity.  The Hessian is exact for the network as computed (its tanh, its float
 * rounding): Gauss-Newton part and second-order terms of tanh alike; relu and max
 * pooling contribute their first-order routing only (their second derivatives are
 * zero almost everywhere), and at a max-pooling tie the first input in (dy,dx)
 * order is the one that moves (as in the backward).  Accuracy: float, ~1e-6
 * relative to the largest entries.  nv directions cost much less than nv single
 * products: their derivatives run as wide sgemms next to one forward and backward
 * per image.  Needs wg_net_hvp_reserve(net, >= nv) first.  Afterwards net->logits
 * and net->dlogits hold this batch's evaluation-mode forward and loss gradient; the
 * im2col caches and backward buffers are scratch (as after wg_net_backward), so a
 * backward needs a new forward.  0, or WG_EARG (nothing reserved or too little, B
 * out of range, a label outside [0, classes)); HV is unchanged on error. */
int wg_net_hvp(wg_net *net, const float *theta, const int *y, size_t B, const float *V,
               size_t nv, double l2, double scale, double *HV);

/* lambda * |weights|^2 (biases excluded); if dtheta, adds 2*lambda*w to it. */
double wg_net_l2(const wg_net *net, const float *theta, float *dtheta, double lambda);

/* Forward-only floating point operations per image (multiply-adds count as 2), and
 * the training step's (forward + backward). */
double wg_net_flops(const wg_net *net, int train);

/* Write a one-line description and the layout table (for --help/--verbose). */
void wg_net_describe(const wg_net *net, FILE *f);

#endif
