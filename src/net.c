/* net.c: SimpleCNN and MLP as layer lists over one flat parameter vector.
 *
 * wg_net_init turns options into a layout table (named views into theta) and a
 * list of layers, and allocates every activation, cache and gradient buffer for
 * batches of up to `cap` images in one go.  Elementwise activations run in place
 * on their input (their backward needs only their output); dropout has its own
 * buffer because the activation before it must keep its output.  This file owns
 * the wiring, layers.c the arithmetic. */
#include "wedge/net.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wedge/error.h"
#include "wedge/layers.h"
#include "wedge/rng.h"
#include "wedge/winograd.h"

#define MAX_TENSORS 64
#define MAX_LAYERS 64
/* Hessian-vector products: the most memory the grouped activations of one pass
 * (images x directions) may use. */
#ifndef HVP_BYTES
#define HVP_BYTES (32u << 20)
#endif
#ifndef CHUNK_BYTES
#define CHUNK_BYTES (4u << 20) /* working set of one chunk of images */
#endif
#ifndef MIN_CHUNK
#define MIN_CHUNK 16
#endif
/* Convolutions with at least this many input channels run by Winograd F(2x2,3x3)
 * (2.25x fewer operations; with fewer channels its short sgemms lose it); and the
 * most transform buffer one Winograd block of images may use.  Blocks as large as
 * the chunk measured fastest (SimpleCNN c = 1..4; 1, 2, 4, 8 and 16 MB compared):
 * each of the 16 sgemms repacks its C x K filter matrix per block, which small
 * blocks pay for over and over.  F(4x4,3x3) (36 sgemms on a quarter of the tiles,
 * 4x fewer multiplications than im2col) measured slower than F(2x2) on the same
 * networks: 3-8% in layer 3 alone (7x7), 15-25% in layers 2-3; its sgemms are short
 * (64-256 tile rows per chunk) and its 6x6 transforms spill registers. */
#ifndef WINO_MIN_C
#define WINO_MIN_C 16
#endif
#ifndef WINO_BYTES
#define WINO_BYTES (16u << 20)
#endif

void wg_net_opts_default(wg_net_opts *o)
{
    memset(o, 0, sizeof *o);
    o->arch = WG_ARCH_SIMPLECNN;
    o->width = 1;
    o->depth = 2;
    o->hidden = 256;
    o->activation = WG_ACT_TANH;
    o->dropout = 0.0f;
    o->in_h = 28;
    o->in_w = 28;
    o->in_c = 1;
    o->classes = 10;
}

static const char *arch_names[] = {"simplecnn", "mlp"};
static const char *act_names[] = {"tanh", "relu"};
static const char *dropout_where_names[] = {"dense", "all"};

static int parse_name(const char *s, const char *const *names, int n, int *out,
                      const char *what)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return 0;
        }
    char list[128] = "";
    for (int i = 0; i < n; i++) {
        strncat(list, names[i], sizeof list - strlen(list) - 1);
        if (i + 1 < n)
            strncat(list, ", ", sizeof list - strlen(list) - 1);
    }
    return WG_FAIL(WG_EARG, "unknown %s '%s' (expected one of: %s)", what, s, list);
}

int wg_arch_parse(const char *s, wg_arch *out)
{
    int v = 0;
    int rc = parse_name(s, arch_names, 2, &v, "architecture");
    if (rc == 0)
        *out = (wg_arch)v;
    return rc;
}

const char *wg_arch_name(wg_arch a) { return (unsigned)a < 2 ? arch_names[a] : "?"; }

int wg_act_parse(const char *s, wg_act *out)
{
    int v = 0;
    int rc = parse_name(s, act_names, 2, &v, "activation");
    if (rc == 0)
        *out = (wg_act)v;
    return rc;
}

const char *wg_act_name(wg_act a) { return (unsigned)a < 2 ? act_names[a] : "?"; }

int wg_dropout_where_parse(const char *s, wg_dropout_where *out)
{
    int v = 0;
    int rc = parse_name(s, dropout_where_names, 2, &v, "dropout placement");
    if (rc == 0)
        *out = (wg_dropout_where)v;
    return rc;
}

const char *wg_dropout_where_name(wg_dropout_where w)
{
    return (unsigned)w < 2 ? dropout_where_names[w] : "?";
}

/* ---- building the layer list ------------------------------------------------- */

typedef struct builder {
    wg_net *net;
    int h, w, c; /* current activation shape per image */
} builder;

static int add_tensor(wg_net *net, const char *name, int ndim, const int *shape,
                      int is_weight, int fan_in, int fan_out)
{
    if (net->ntensors >= MAX_TENSORS)
        return WG_FAIL(WG_EARG, "network too deep (more than %d tensors)", MAX_TENSORS);
    wg_tensor_info *t = &net->tensors[net->ntensors];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->offset = net->nparams;
    t->count = 1;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = shape[i];
        t->count *= (size_t)shape[i];
    }
    t->is_weight = is_weight;
    t->fan_in = fan_in;
    t->fan_out = fan_out;
    net->nparams += t->count;
    return net->ntensors++;
}

static wg_layer *add_layer(builder *bd, wg_layer_kind kind)
{
    wg_net *net = bd->net;
    if (net->nlayers >= MAX_LAYERS) {
        WG_FAIL(WG_EARG, "network too deep (more than %d layers)", MAX_LAYERS);
        return NULL;
    }
    wg_layer *L = &net->layers[net->nlayers++];
    memset(L, 0, sizeof *L);
    L->kind = kind;
    L->h = bd->h;
    L->w = bd->w;
    L->c = bd->c;
    L->oh = bd->h;
    L->ow = bd->w;
    L->oc = bd->c;
    L->param = -1;
    return L;
}

static int add_conv(builder *bd, int k, int idx)
{
    wg_layer *L = add_layer(bd, WG_LAYER_CONV3);
    if (!L)
        return WG_EARG;
    char name[24];
    snprintf(name, sizeof name, "conv%d.w", idx);
    int ws[2] = {9 * bd->c, k}, bs[1] = {k};
    int t = add_tensor(bd->net, name, 2, ws, 1, 9 * bd->c, 9 * k);
    snprintf(name, sizeof name, "conv%d.b", idx);
    if (t < 0 || add_tensor(bd->net, name, 1, bs, 0, 0, 0) < 0)
        return WG_EARG;
    L->k = k;
    L->oc = k;
    L->param = t;
    bd->c = k;
    return 0;
}

static int add_dense(builder *bd, int k, const char *prefix)
{
    int in = bd->h * bd->w * bd->c;
    bd->h = bd->w = 1;
    bd->c = in;
    wg_layer *L = add_layer(bd, WG_LAYER_DENSE);
    if (!L)
        return WG_EARG;
    char name[24];
    snprintf(name, sizeof name, "%s.w", prefix);
    int ws[2] = {in, k}, bs[1] = {k};
    int t = add_tensor(bd->net, name, 2, ws, 1, in, k);
    snprintf(name, sizeof name, "%s.b", prefix);
    if (t < 0 || add_tensor(bd->net, name, 1, bs, 0, 0, 0) < 0)
        return WG_EARG;
    L->k = k;
    L->oc = k;
    L->param = t;
    bd->c = k;
    return 0;
}

static int add_simple(builder *bd, wg_layer_kind kind)
{
    wg_layer *L = add_layer(bd, kind);
    if (!L)
        return WG_EARG;
    if (kind == WG_LAYER_MAXPOOL) {
        L->oh = bd->h / 2;
        L->ow = bd->w / 2;
        bd->h = L->oh;
        bd->w = L->ow;
    }
    return 0;
}

static int build(builder *bd, const wg_net_opts *o)
{
    wg_layer_kind act = o->activation == WG_ACT_RELU ? WG_LAYER_RELU : WG_LAYER_TANH;
    int rc = 0;
    if (o->arch == WG_ARCH_SIMPLECNN) {
        const int ch[3] = {16 * o->width, 32 * o->width, 32 * o->width};
        for (int i = 0; i < 3 && rc == 0; i++) {
            rc = add_conv(bd, ch[i], i + 1);
            if (rc == 0)
                rc = add_simple(bd, act);
            if (rc == 0)
                rc = add_simple(bd, WG_LAYER_MAXPOOL);
            /* the last block's dropout is the one before the classifier */
            if (rc == 0 && o->dropout > 0.0f && (i == 2 || o->dropout_where == WG_DROPOUT_ALL))
                rc = add_simple(bd, WG_LAYER_DROPOUT);
        }
        if (rc == 0)
            rc = add_dense(bd, o->classes, "fc");
        return rc;
    }
    for (int i = 0; i < o->depth && rc == 0; i++) {
        char name[16];
        snprintf(name, sizeof name, "fc%d", i + 1);
        rc = add_dense(bd, o->hidden, name);
        if (rc == 0)
            rc = add_simple(bd, act);
        if (rc == 0 && o->dropout > 0.0f)
            rc = add_simple(bd, WG_LAYER_DROPOUT);
    }
    if (rc == 0)
        rc = add_dense(bd, o->classes, "out");
    return rc;
}

static int check_opts(const wg_net_opts *o)
{
    if (o->arch != WG_ARCH_SIMPLECNN && o->arch != WG_ARCH_MLP)
        return WG_FAIL(WG_EARG, "architecture '%s' is not a network", wg_arch_name(o->arch));
    if (o->in_h < 1 || o->in_w < 1 || o->in_c < 1 || o->in_h > 4096 || o->in_w > 4096 ||
        o->in_c > 64)
        return WG_FAIL(WG_EARG, "input shape %dx%dx%d out of range", o->in_h, o->in_w,
                       o->in_c);
    if (o->classes < 2 || o->classes > 100000)
        return WG_FAIL(WG_EARG, "classes = %d: need at least 2", o->classes);
    if (!(o->dropout >= 0.0f && o->dropout < 1.0f))
        return WG_FAIL(WG_EARG, "dropout = %g: must be in [0, 1)", (double)o->dropout);
    if (o->dropout_where != WG_DROPOUT_DENSE && o->dropout_where != WG_DROPOUT_ALL)
        return WG_FAIL(WG_EARG, "dropout placement %d: expected dense or all",
                       (int)o->dropout_where);
    if (o->arch == WG_ARCH_SIMPLECNN) {
        if (o->width < 1 || o->width > 64)
            return WG_FAIL(WG_EARG, "width = %d: must be in [1, 64]", o->width);
        if (o->in_h < 8 || o->in_w < 8)
            return WG_FAIL(WG_EARG, "simplecnn needs inputs of at least 8x8 (three 2x2 pools), got %dx%d",
                           o->in_h, o->in_w);
    } else {
        if (o->depth < 0 || o->depth > 32)
            return WG_FAIL(WG_EARG, "depth = %d: must be in [0, 32]", o->depth);
        if (o->hidden < 1 || o->hidden > 1 << 16)
            return WG_FAIL(WG_EARG, "hidden = %d: must be in [1, 65536]", o->hidden);
    }
    return 0;
}

int wg_net_init(wg_net *net, const wg_net_opts *opts, size_t cap)
{
    memset(net, 0, sizeof *net);
    int rc = check_opts(opts);
    if (rc)
        return rc;
    if (cap < 1 || cap > (1u << 20))
        return WG_FAIL(WG_EARG, "batch capacity %zu out of range", cap);
    net->opts = *opts;
    net->cap = cap;
    net->tensors = wg_calloc(MAX_TENSORS, sizeof *net->tensors, "layout table");
    net->layers = wg_calloc(MAX_LAYERS, sizeof *net->layers, "layer list");
    if (!net->tensors || !net->layers) {
        wg_net_free(net);
        return WG_ENOMEM;
    }
    builder bd = {net, opts->in_h, opts->in_w, opts->in_c};
    net->in_size = (size_t)opts->in_h * opts->in_w * opts->in_c;
    rc = build(&bd, opts);
    if (rc) {
        wg_net_free(net);
        return rc;
    }

    /* Size every buffer, then carve them from separate allocations (sizes are in
     * floats per image times cap; overflow-checked). */
    net->max_act = net->in_size;
    float *prev = NULL;
    net->input = wg_alloc(cap, net->in_size * sizeof(float), "network input batch");
    if (!net->input) {
        wg_net_free(net);
        return WG_ENOMEM;
    }
    prev = net->input;
    for (int i = 0; i < net->nlayers; i++) {
        wg_layer *L = &net->layers[i];
        size_t in_n = (size_t)L->h * L->w * L->c, out_n = (size_t)L->oh * L->ow * L->oc;
        if (out_n > net->max_act)
            net->max_act = out_n;
        if (in_n > net->max_act)
            net->max_act = in_n;
        switch (L->kind) {
        case WG_LAYER_TANH:
        case WG_LAYER_RELU:
            L->out = prev;
            break;
        case WG_LAYER_CONV3:
            L->wino = !opts->im2col_only && L->c >= WINO_MIN_C;
            if (L->wino) {
                L->U = wg_alloc(16 * (size_t)L->c, (size_t)L->k * sizeof(float),
                                "Winograd filters");
                L->Ut = wg_alloc(16 * (size_t)L->c, (size_t)L->k * sizeof(float),
                                 "Winograd filters");
            } else {
                L->col = wg_alloc(cap, (size_t)L->h * L->w * 9 * L->c * sizeof(float),
                                  "im2col cache");
            }
            L->out = wg_alloc(cap, out_n * sizeof(float), "activations");
            break;
        case WG_LAYER_MAXPOOL:
            L->out = wg_alloc(cap, out_n * sizeof(float), "activations");
            break;
        case WG_LAYER_DROPOUT:
            L->mask = wg_alloc(cap, out_n * sizeof(float), "dropout mask");
            L->out = wg_alloc(cap, out_n * sizeof(float), "activations");
            break;
        case WG_LAYER_DENSE:
            L->out = wg_alloc(cap, out_n * sizeof(float), "activations");
            break;
        }
        if (!L->out || (L->kind == WG_LAYER_CONV3 && !L->col && !(L->U && L->Ut)) ||
            (L->kind == WG_LAYER_DROPOUT && !L->mask)) {
            wg_net_free(net);
            return WG_ENOMEM;
        }
        prev = L->out;
    }
    net->logits = prev;
    /* Layers run over chunks of the batch small enough that a chunk's activations and
     * im2col rows stay in cache between layers (measured on SimpleCNN c = 1: 16-image
     * chunks train 1.4x faster than whole 128-image batches); nets with small
     * activations (MLPs) keep whole batches, where sgemm is most efficient. */
    /* (Winograd layers keep no im2col cache; their im2col row count stands in for
     * their transform buffers' share.  With Winograd, 2, 4 and 8 MB chunks measured
     * within noise of each other on a loaded machine; 4 MB stays.) */
    size_t per_image = net->in_size;
    for (int i = 0; i < net->nlayers; i++) {
        const wg_layer *L = &net->layers[i];
        per_image += (size_t)L->oh * L->ow * L->oc;
        if (L->kind == WG_LAYER_CONV3)
            per_image += (size_t)L->h * L->w * 9 * L->c;
    }
    net->chunk = (CHUNK_BYTES / sizeof(float)) / per_image;
    if (net->chunk < MIN_CHUNK)
        net->chunk = MIN_CHUNK;
    if (net->chunk > cap)
        net->chunk = cap;
    size_t wscratch = 0;
    for (int i = 0; i < net->nlayers; i++) {
        wg_layer *L = &net->layers[i];
        if (!L->wino)
            continue;
        size_t per = wg_wino_scratch(1, L->h, L->w, L->c, L->k) * sizeof(float);
        size_t nb = WINO_BYTES / per;
        L->wino_nb = nb < 1 ? 1 : nb > net->chunk ? (int)net->chunk : (int)nb;
        size_t need = wg_wino_scratch(L->wino_nb, L->h, L->w, L->c, L->k);
        if (need > wscratch)
            wscratch = need;
    }
    if (wscratch) {
        net->wscratch = wg_alloc(wscratch, sizeof(float), "Winograd scratch");
        if (!net->wscratch) {
            wg_net_free(net);
            return WG_ENOMEM;
        }
    }
    net->dlogits = wg_alloc(cap, (size_t)opts->classes * sizeof(float), "logit gradients");
    net->grad[0] = wg_alloc(cap, net->max_act * sizeof(float), "backward buffer");
    net->grad[1] = wg_alloc(cap, net->max_act * sizeof(float), "backward buffer");
    if (!net->dlogits || !net->grad[0] || !net->grad[1]) {
        wg_net_free(net);
        return WG_ENOMEM;
    }
    return 0;
}

static void hvp_free(struct wg_hvp_work *w);

void wg_net_free(wg_net *net)
{
    if (!net)
        return;
    if (net->layers)
        for (int i = 0; i < net->nlayers; i++) {
            wg_layer *L = &net->layers[i];
            if (L->kind != WG_LAYER_TANH && L->kind != WG_LAYER_RELU)
                free(L->out);
            free(L->col);
            free(L->U);
            free(L->Ut);
            free(L->mask);
        }
    free(net->layers);
    free(net->tensors);
    free(net->input);
    free(net->dlogits);
    free(net->grad[0]);
    free(net->grad[1]);
    free(net->wscratch);
    hvp_free(net->hvp);
    memset(net, 0, sizeof *net);
}

void wg_net_init_params(const wg_net *net, float *theta, uint64_t seed, uint64_t stream)
{
    for (int i = 0; i < net->ntensors; i++) {
        const wg_tensor_info *t = &net->tensors[i];
        float *p = theta + t->offset;
        if (!t->is_weight) {
            memset(p, 0, t->count * sizeof *p);
            continue;
        }
        /* each tensor its own sub-stream: adding a layer never shifts another's init */
        wg_rng r;
        wg_rng_init(&r, seed, wg_rng_stream(WG_RNG_INIT, stream, (uint64_t)i, 0));
        float limit = (float)sqrt(6.0 / (double)(t->fan_in + t->fan_out));
        wg_rng_fill_uniform(&r, p, t->count, -limit, limit);
    }
}

/* ---- forward / backward --------------------------------------------------------- */

/* Per-image float sizes of a layer's input and output. */
static size_t in_floats(const wg_layer *L) { return (size_t)L->h * L->w * L->c; }
static size_t out_floats(const wg_layer *L) { return (size_t)L->oh * L->ow * L->oc; }

/* Winograd filters from theta: the forward's, or (transpose) the input gradient's
 * (not needed by the first layer, which has no input gradient). */
static void wino_filters(wg_net *net, const float *theta, int transpose)
{
    for (int i = transpose ? 1 : 0; i < net->nlayers; i++) {
        wg_layer *L = &net->layers[i];
        if (L->wino)
            wg_wino_weights(transpose ? L->Ut : L->U, theta + net->tensors[L->param].offset,
                            L->c, L->k, transpose);
    }
}

/* Forward images [c0, c0+n) through every layer. */
static void forward_chunk(wg_net *net, const float *theta, size_t c0, size_t n, int train,
                          uint64_t seed, uint64_t stream)
{
    const float *in = net->input + c0 * net->in_size;
    const int b = (int)n;
    for (int i = 0; i < net->nlayers; i++) {
        wg_layer *L = &net->layers[i];
        const size_t ni = in_floats(L), no = out_floats(L), cnt = n * ni;
        float *out = L->out + c0 * no;
        const wg_tensor_info *t = L->param >= 0 ? &net->tensors[L->param] : NULL;
        switch (L->kind) {
        case WG_LAYER_CONV3:
            if (L->wino)
                wg_wino_conv(out, net->wscratch, L->wino_nb, in, L->U, theta + t[1].offset,
                             b, L->h, L->w, L->c, L->k);
            else
                wg_conv3_forward(out, L->col + c0 * 9 * ni, in, theta + t->offset,
                                 theta + t[1].offset, b, L->h, L->w, L->c, L->k);
            break;
        case WG_LAYER_DENSE:
            wg_dense_forward(out, in, theta + t->offset, theta + t[1].offset, b, L->c, L->k);
            break;
        case WG_LAYER_TANH:
            wg_tanh_forward(out, in, cnt);
            break;
        case WG_LAYER_RELU:
            wg_relu_forward(out, in, cnt);
            break;
        case WG_LAYER_MAXPOOL:
            wg_maxpool_forward(out, in, b, L->h, L->w, L->c);
            break;
        case WG_LAYER_DROPOUT:
            if (train)
                wg_dropout_forward(out, L->mask + c0 * ni, in, cnt, net->opts.dropout, seed,
                                   wg_rng_stream(WG_RNG_DROPOUT, stream, (uint64_t)i, 0),
                                   c0 * ni);
            else
                memcpy(out, in, cnt * sizeof *in);
            break;
        }
        in = out;
    }
}

const float *wg_net_forward(wg_net *net, const float *theta, size_t B, int train,
                            uint64_t seed, uint64_t stream)
{
    wino_filters(net, theta, 0);
    for (size_t c0 = 0; c0 < B; c0 += net->chunk)
        forward_chunk(net, theta, c0, B - c0 < net->chunk ? B - c0 : net->chunk, train,
                      seed, stream);
    net->last_train = train;
    net->last_batch = B;
    return net->logits;
}

double wg_net_loss(wg_net *net, const int *y, size_t B, int want_grad, size_t *correct)
{
    return wg_softmax_xent(want_grad ? net->dlogits : NULL, NULL, net->logits, y, (int)B,
                           net->opts.classes, 1.0f / (float)B, correct);
}

/* Backpropagate images [c0, c0+n); beta 0 for the first chunk, 1 after. */
static void backward_chunk(wg_net *net, const float *theta, float *dtheta, size_t c0,
                           size_t n, float beta)
{
    const int b = (int)n;
    float *g = net->dlogits + c0 * (size_t)net->opts.classes;
    int which = 0;
    for (int i = net->nlayers - 1; i >= 0; i--) {
        wg_layer *L = &net->layers[i];
        const size_t ni = in_floats(L), no = out_floats(L), cnt = n * ni;
        const float *in = i > 0 ? net->layers[i - 1].out + c0 * ni : net->input + c0 * ni;
        const float *out = L->out + c0 * no;
        float *din = i > 0 ? net->grad[which] : NULL;
        const wg_tensor_info *t = L->param >= 0 ? &net->tensors[L->param] : NULL;
        switch (L->kind) {
        case WG_LAYER_CONV3:
            if (L->wino) {
                wg_wino_backward_params(dtheta + t->offset, dtheta + t[1].offset,
                                        net->wscratch, L->wino_nb, in, g, beta, b, L->h,
                                        L->w, L->c, L->k);
                if (din)
                    wg_wino_conv(din, net->wscratch, L->wino_nb, g, L->Ut, NULL, b, L->h,
                                 L->w, L->k, L->c);
            } else {
                wg_conv3_backward(din, dtheta + t->offset, dtheta + t[1].offset,
                                  L->col + c0 * 9 * ni, g, theta + t->offset, beta, b, L->h,
                                  L->w, L->c, L->k);
            }
            break;
        case WG_LAYER_DENSE:
            wg_dense_backward(din, dtheta + t->offset, dtheta + t[1].offset, g, in,
                              theta + t->offset, beta, b, L->c, L->k);
            break;
        case WG_LAYER_MAXPOOL:
            if (din)
                wg_maxpool_backward(din, g, out, in, b, L->h, L->w, L->c);
            break;
        case WG_LAYER_TANH: /* in place: the output y is L->out */
            wg_tanh_backward(g, g, out, cnt);
            continue;
        case WG_LAYER_RELU:
            wg_relu_backward(g, g, out, cnt);
            continue;
        case WG_LAYER_DROPOUT:
            if (din) {
                if (net->last_train)
                    wg_dropout_backward(din, g, L->mask + c0 * ni, cnt);
                else
                    memcpy(din, g, cnt * sizeof *g);
            }
            break;
        }
        g = din;
        which ^= 1;
    }
}

void wg_net_backward(wg_net *net, const float *theta, float *dtheta)
{
    const size_t B = net->last_batch;
    wino_filters(net, theta, 1);
    for (size_t c0 = 0; c0 < B; c0 += net->chunk)
        backward_chunk(net, theta, dtheta, c0, B - c0 < net->chunk ? B - c0 : net->chunk,
                       c0 == 0 ? 0.0f : 1.0f);
}

/* ---- Hessian-vector products (R-operator) ------------------------------------- */

/* wg_net_hvp runs, chunk by chunk of images, the ordinary forward, the R-forward
 * (derivatives of every activation along the nv directions, "grouped": per pixel the
 * nv derivatives side by side, layers.h), the derivative of the loss gradient, and
 * then backward and R-backward in lockstep: each layer turns (dout, R dout) into
 * (din, R din) and adds the derivative of its parameter gradient to accumulators.
 * The ordinary backward skips its parameter gradient (nobody needs it).  Packed
 * copies of the directions and the accumulators keep each tensor at nv * its offset
 * in theta. */
struct wg_hvp_work {
    size_t nv_max;
    size_t slots;                /* (image, direction) pairs a pass holds */
    float *rout[MAX_LAYERS];     /* grouped output of each layer (slots, out floats);
                                    in-place layers and dropout alias their input's */
    float *rcol[MAX_LAYERS];     /* im2col conv layers past the first: grouped im2col */
    float *uv[MAX_LAYERS];       /* Winograd layers: the directions' filters (16,C,nv*K) */
    float *uvt[MAX_LAYERS];      /* and transposed, for the input gradient (16,K,nv*C) */
    float *rgrad[2];             /* (slots, max_act): R-backward ping-pong */
    float *rflat[2];             /* (slots, flat_max): the dense layer after a spatial
                                    one, its R input and R input gradient flattened
                                    per direction (layers.h: (B,G,C), not (B,H,W,G,C)) */
    size_t flat_max;
    float *vn, *vm;              /* directions packed (rows,nv,K) and (nv,rows,K) */
    float *accm, *accn;          /* dgrad/dV_j in the same two layouts (biases in accm) */
    double *dwork;               /* softmax probabilities, bias sums */
    size_t ndwork;
    float *rscratch;             /* Winograd R-operator scratch */
    size_t nrscratch;
};

static void hvp_free(struct wg_hvp_work *w)
{
    if (!w)
        return;
    for (int i = 0; i < MAX_LAYERS; i++) {
        free(w->rcol[i]);
        free(w->uv[i]);
        free(w->uvt[i]);
    }
    /* rout: owned where not an alias of the previous layer's */
    for (int i = 0; i < MAX_LAYERS; i++)
        if (w->rout[i] && (i == 0 || w->rout[i] != w->rout[i - 1]))
            free(w->rout[i]);
    free(w->rgrad[0]);
    free(w->rgrad[1]);
    free(w->rflat[0]);
    free(w->rflat[1]);
    free(w->vn);
    free(w->vm);
    free(w->accm);
    free(w->accn);
    free(w->dwork);
    free(w->rscratch);
    free(w);
}

/* Layers whose grouped output is their input's (elementwise in place; dropout,
 * which probes evaluate as the identity). */
static int r_aliases(const wg_layer *L)
{
    return L->kind == WG_LAYER_TANH || L->kind == WG_LAYER_RELU || L->kind == WG_LAYER_DROPOUT;
}

/* Pixels of the grouped R activation a dense layer reads: 1 unless the layer
 * flattens a spatial map (a dense layer after a pooling one).  The dense R kernels
 * take (B,G,C), direction j's C = H*W*C' inputs contiguous; a spatial map holds them
 * (B,H,W,G,C'), so such a layer's R input is regrouped on the way in and its R input
 * gradient on the way out (rflat[0] keeps the R input from the R-forward to the
 * R-backward of a chunk: the networks have one such layer, SimpleCNN's classifier). */
static size_t dense_pixels(const wg_net *net, int i)
{
    if (i == 0 || net->layers[i].kind != WG_LAYER_DENSE)
        return 1;
    const wg_layer *prev = &net->layers[i - 1];
    return (size_t)prev->oh * prev->ow;
}

/* (n, P, G, C) -> (n, G, P*C), or back with to_flat 0. */
static void regroup(float *restrict dst, const float *restrict src, size_t n, size_t P,
                    size_t G, size_t C, int to_flat)
{
    for (size_t b = 0; b < n; b++)
        for (size_t p = 0; p < P; p++)
            for (size_t g = 0; g < G; g++) {
                size_t grouped = ((b * P + p) * G + g) * C, flat = ((b * G + g) * P + p) * C;
                if (to_flat)
                    memcpy(dst + flat, src + grouped, C * sizeof *dst);
                else
                    memcpy(dst + grouped, src + flat, C * sizeof *dst);
            }
}

/* Winograd images per block for G directions within the reserved R scratch. */
static int wino_rblock(const struct wg_hvp_work *w, const wg_layer *L, size_t n, int G)
{
    size_t fixed = wg_wino_rscratch(0, L->h, L->w, L->c, L->k, G);
    size_t per = wg_wino_rscratch(1, L->h, L->w, L->c, L->k, G) - fixed;
    size_t nb = w->nrscratch > fixed ? (w->nrscratch - fixed) / per : 0;
    if (nb < 1)
        nb = 1;
    return nb > n ? (int)n : (int)nb;
}

int wg_net_hvp_reserve(wg_net *net, size_t nv_max)
{
    if (nv_max < 1 || nv_max > (1u << 16))
        return WG_FAIL(WG_EARG, "Hessian-vector products of %zu directions at once: "
                                "expected 1 to 65536", nv_max);
    if (net->hvp && net->hvp->nv_max >= nv_max)
        return 0;
    hvp_free(net->hvp);
    net->hvp = NULL;
    struct wg_hvp_work *w = wg_calloc(1, sizeof *w, "Hessian-vector product buffers");
    if (!w)
        return WG_ENOMEM;
    w->nv_max = nv_max;
    /* images per pass: as many as the net's chunk, within HVP_BYTES of grouped
     * activations (at least one image with every direction) */
    size_t per_slot = 2 * net->max_act, maxk = (size_t)net->opts.classes;
    for (int i = 0; i < net->nlayers; i++) {
        const wg_layer *L = &net->layers[i];
        if (!r_aliases(L))
            per_slot += out_floats(L);
        if (L->kind == WG_LAYER_CONV3 && !L->wino && i > 0)
            per_slot += 9 * in_floats(L);
        if (L->param >= 0 && (size_t)L->k > maxk)
            maxk = (size_t)L->k;
        if (dense_pixels(net, i) > 1 && in_floats(L) > w->flat_max)
            w->flat_max = in_floats(L);
    }
    per_slot += 2 * w->flat_max;
    size_t n = (HVP_BYTES / sizeof(float)) / per_slot / nv_max;
    if (n < 1)
        n = 1;
    if (n > net->chunk)
        n = net->chunk;
    w->slots = n * nv_max;
    int rc = 0;
    for (int i = 0; i < net->nlayers && rc == 0; i++) {
        const wg_layer *L = &net->layers[i];
        if (r_aliases(L)) {
            w->rout[i] = w->rout[i - 1]; /* never the first layer */
            continue;
        }
        w->rout[i] = wg_alloc(w->slots, out_floats(L) * sizeof(float), "R activations");
        if (!w->rout[i])
            rc = WG_ENOMEM;
        if (rc == 0 && L->kind == WG_LAYER_CONV3 && !L->wino && i > 0) {
            w->rcol[i] = wg_alloc(w->slots, 9 * in_floats(L) * sizeof(float), "R im2col");
            if (!w->rcol[i])
                rc = WG_ENOMEM;
        }
        if (rc == 0 && L->wino) {
            size_t nt = 16 * (size_t)L->c * (size_t)L->k;
            w->uv[i] = wg_alloc(nt, nv_max * sizeof(float), "transformed directions");
            if (i > 0)
                w->uvt[i] = wg_alloc(nt, nv_max * sizeof(float), "transformed directions");
            if (!w->uv[i] || (i > 0 && !w->uvt[i]))
                rc = WG_ENOMEM;
            size_t per = wg_wino_rscratch(1, L->h, L->w, L->c, L->k, (int)nv_max) -
                         wg_wino_rscratch(0, L->h, L->w, L->c, L->k, (int)nv_max);
            size_t nb = WINO_BYTES / (per * sizeof(float));
            nb = nb < 1 ? 1 : nb > n ? n : nb;
            size_t need = wg_wino_rscratch((int)nb, L->h, L->w, L->c, L->k, (int)nv_max);
            if (need > w->nrscratch)
                w->nrscratch = need;
        }
    }
    size_t nd = 0;
    if (rc == 0 && wg_mul_size(nv_max, net->nparams, &nd))
        rc = WG_FAIL(WG_ENOMEM, "%zu directions of %zu parameters overflow", nv_max,
                     net->nparams);
    if (rc == 0) {
        w->rgrad[0] = wg_alloc(w->slots, net->max_act * sizeof(float), "R gradients");
        w->rgrad[1] = wg_alloc(w->slots, net->max_act * sizeof(float), "R gradients");
        for (int k = 0; k < 2 && w->flat_max; k++) {
            w->rflat[k] = wg_alloc(w->slots, w->flat_max * sizeof(float), "R gradients");
            if (!w->rflat[k])
                rc = WG_ENOMEM;
        }
        w->vn = wg_alloc(nd, sizeof(float), "packed directions");
        w->vm = wg_alloc(nd, sizeof(float), "packed directions");
        w->accm = wg_alloc(nd, sizeof(float), "Hessian-vector accumulators");
        w->accn = wg_alloc(nd, sizeof(float), "Hessian-vector accumulators");
        w->ndwork = nv_max * maxk;
        w->dwork = wg_alloc(w->ndwork, sizeof(double), "Hessian-vector sums");
        w->rscratch = w->nrscratch ? wg_alloc(w->nrscratch, sizeof(float), "Winograd R scratch")
                                   : NULL;
        if (!w->rgrad[0] || !w->rgrad[1] || !w->vn || !w->vm || !w->accm || !w->accn ||
            !w->dwork || (w->nrscratch && !w->rscratch))
            rc = WG_ENOMEM;
    }
    if (rc) {
        hvp_free(w);
        return rc;
    }
    net->hvp = w;
    return 0;
}

/* The directions, packed per parameter layer (tensor t at nv * t->offset): weights
 * as (rows, nv, K) in vn and (nv, rows, K) in vm, biases (nv, K) in vn; Winograd
 * layers' weights transformed instead. */
static void pack_directions(const wg_net *net, struct wg_hvp_work *w, const float *V,
                            size_t nv)
{
    const size_t D = net->nparams;
    for (int i = 0; i < net->nlayers; i++) {
        const wg_layer *L = &net->layers[i];
        if (L->param < 0)
            continue;
        const wg_tensor_info *t = &net->tensors[L->param], *tb = t + 1;
        const size_t rows = (size_t)t->shape[0], K = (size_t)t->shape[1];
        for (size_t j = 0; j < nv; j++) {
            const float *v = V + j * D;
            memcpy(w->vn + nv * tb->offset + j * K, v + tb->offset, K * sizeof *v);
            if (L->wino) {
                wg_wino_weights_group(w->uv[i], v + t->offset, L->c, L->k, 0, (int)nv, (int)j);
                if (i > 0)
                    wg_wino_weights_group(w->uvt[i], v + t->offset, L->c, L->k, 1, (int)nv,
                                          (int)j);
                continue;
            }
            memcpy(w->vm + nv * t->offset + j * t->count, v + t->offset, t->count * sizeof *v);
            for (size_t r = 0; r < rows; r++)
                memcpy(w->vn + nv * t->offset + (r * nv + j) * K, v + t->offset + r * K,
                       K * sizeof *v);
        }
    }
}

/* R-forward of images [c0, c0+n) after their ordinary forward. */
static void rforward_chunk(wg_net *net, struct wg_hvp_work *w, const float *theta, size_t c0,
                           size_t n, size_t nv)
{
    const float *in = net->input + c0 * net->in_size, *Rin = NULL;
    const int b = (int)n, G = (int)nv;
    for (int i = 0; i < net->nlayers; i++) {
        wg_layer *L = &net->layers[i];
        const size_t ni = in_floats(L), no = out_floats(L);
        const float *out = L->out + c0 * no;
        float *Rout = w->rout[i];
        const wg_tensor_info *t = L->param >= 0 ? &net->tensors[L->param] : NULL;
        const size_t P = n * (size_t)L->h * L->w; /* pixels of the chunk */
        switch (L->kind) {
        case WG_LAYER_CONV3:
            if (L->wino)
                wg_wino_rconv(Rout, w->rscratch, wino_rblock(w, L, n, G), Rin, L->U, in,
                              w->uv[i], w->vn + nv * t[1].offset, b, L->h, L->w, L->c, L->k, G);
            else
                wg_conv3_rforward(Rout, w->rcol[i], Rin, L->col + c0 * 9 * ni,
                                  theta + t->offset, w->vn + nv * t->offset,
                                  w->vn + nv * t[1].offset, b, L->h, L->w, L->c, L->k, G);
            break;
        case WG_LAYER_DENSE:
            if (Rin && dense_pixels(net, i) > 1) {
                const size_t px = dense_pixels(net, i);
                regroup(w->rflat[0], Rin, n, px, nv, ni / px, 1);
                Rin = w->rflat[0]; /* kept for the R-backward's dW */
            }
            wg_dense_rforward(Rout, Rin, in, theta + t->offset, w->vn + nv * t->offset,
                              w->vn + nv * t[1].offset, b, L->c, L->k, G);
            break;
        case WG_LAYER_TANH:
            wg_tanh_rforward(Rout, Rin, out, P, L->c, G);
            break;
        case WG_LAYER_RELU:
            wg_relu_rforward(Rout, Rin, out, P, L->c, G);
            break;
        case WG_LAYER_MAXPOOL:
            wg_maxpool_rforward(Rout, Rin, out, in, b, L->h, L->w, L->c, G);
            break;
        case WG_LAYER_DROPOUT: /* the identity in evaluation mode; Rout is Rin */
            break;
        }
        in = out;
        Rin = Rout;
    }
}

/* Backward and R-backward of images [c0, c0+n) from net->dlogits and w->rgrad[0];
 * the accumulators are overwritten (beta 0) or added to (beta 1). */
static void rbackward_chunk(wg_net *net, struct wg_hvp_work *w, const float *theta,
                            size_t c0, size_t n, size_t nv, float beta)
{
    const int b = (int)n, G = (int)nv;
    float *g = net->dlogits + c0 * (size_t)net->opts.classes, *Rg = w->rgrad[0];
    int which = 0;
    for (int i = net->nlayers - 1; i >= 0; i--) {
        wg_layer *L = &net->layers[i];
        const size_t ni = in_floats(L), no = out_floats(L), cnt = n * ni;
        const size_t P = n * (size_t)L->h * L->w;
        const float *in = i > 0 ? net->layers[i - 1].out + c0 * ni : net->input + c0 * ni;
        const float *Rin = i > 0 ? w->rout[i - 1] : NULL;
        const float *out = L->out + c0 * no;
        float *din = i > 0 ? net->grad[which] : NULL;
        float *Rdin = i > 0 ? w->rgrad[which ^ 1] : NULL;
        const wg_tensor_info *t = L->param >= 0 ? &net->tensors[L->param] : NULL;
        float *dWm = t ? w->accm + nv * t->offset : NULL, *dWn = t ? w->accn + nv * t->offset : NULL;
        float *db = t ? w->accm + nv * t[1].offset : NULL;
        switch (L->kind) {
        case WG_LAYER_CONV3:
            if (L->wino) {
                int nb = wino_rblock(w, L, n, G);
                wg_wino_rbackward_params(dWm, w->rscratch, nb, Rin, in, g, Rg, beta, b, L->h,
                                         L->w, L->c, L->k, G);
                if (din) {
                    wg_wino_rconv(Rdin, w->rscratch, nb, Rg, L->Ut, g, w->uvt[i], NULL, b,
                                  L->h, L->w, L->k, L->c, G);
                    wg_wino_conv(din, net->wscratch, L->wino_nb, g, L->Ut, NULL, b, L->h, L->w,
                                 L->k, L->c);
                }
            } else {
                float *col = L->col + c0 * 9 * ni;
                wg_conv3_rbackward(Rdin, dWm, dWn, Rin ? w->rcol[i] : NULL, col, g, Rg,
                                   theta + t->offset, w->vm + nv * t->offset, beta, b, L->h,
                                   L->w, L->c, L->k, G);
                if (din)
                    wg_conv3_backward_input(din, col, g, theta + t->offset, b, L->h, L->w,
                                            L->c, L->k);
            }
            wg_bias_grad_wide(db, Rg, P, G * L->k, beta, w->dwork);
            break;
        case WG_LAYER_DENSE:
            if (Rin && dense_pixels(net, i) > 1) {
                const size_t px = dense_pixels(net, i);
                wg_dense_rbackward(w->rflat[1], dWm, dWn, w->rflat[0], in, g, Rg,
                                   theta + t->offset, w->vm + nv * t->offset, beta, b, L->c,
                                   L->k, G);
                regroup(Rdin, w->rflat[1], n, px, nv, ni / px, 0);
            } else {
                wg_dense_rbackward(Rdin, dWm, dWn, Rin, in, g, Rg, theta + t->offset,
                                   w->vm + nv * t->offset, beta, b, L->c, L->k, G);
            }
            if (din)
                wg_dense_backward_input(din, g, theta + t->offset, b, L->c, L->k);
            wg_bias_grad_wide(db, Rg, n, G * L->k, beta, w->dwork);
            break;
        case WG_LAYER_MAXPOOL:
            if (din) {
                wg_maxpool_rbackward(Rdin, Rg, out, in, b, L->h, L->w, L->c, G);
                wg_maxpool_backward(din, g, out, in, b, L->h, L->w, L->c);
            }
            break;
        case WG_LAYER_TANH: /* in place; R uses dout before it is overwritten */
            wg_tanh_rbackward(Rg, Rg, g, out, w->rout[i], P, L->c, G);
            wg_tanh_backward(g, g, out, cnt);
            continue;
        case WG_LAYER_RELU:
            wg_relu_rbackward(Rg, Rg, out, P, L->c, G);
            wg_relu_backward(g, g, out, cnt);
            continue;
        case WG_LAYER_DROPOUT: /* the identity */
            continue;
        }
        g = din;
        Rg = Rdin;
        which ^= 1;
    }
}

/* HV_j += scale * (accumulated dgrad/dV_j + 2 l2 V_j on weights). */
static void unpack_hv(const wg_net *net, const struct wg_hvp_work *w, const float *V,
                      size_t nv, double l2, double scale, double *HV)
{
    const size_t D = net->nparams;
    for (int i = 0; i < net->nlayers; i++) {
        const wg_layer *L = &net->layers[i];
        if (L->param < 0)
            continue;
        const wg_tensor_info *t = &net->tensors[L->param], *tb = t + 1;
        const size_t rows = (size_t)t->shape[0], K = (size_t)t->shape[1];
        /* Winograd layers leave their whole derivative in accm; others split it, and the
         * first layer's accm part is zero (its input does not move) */
        const int use_m = L->wino || i > 0, use_n = !L->wino;
        const float *am = w->accm + nv * t->offset, *an = w->accn + nv * t->offset;
        const double wl2 = t->is_weight ? 2.0 * l2 : 0.0;
        for (size_t j = 0; j < nv; j++) {
            double *hv = HV + j * D + t->offset;
            const float *v = V + j * D + t->offset;
            for (size_t r = 0; r < rows; r++)
                for (size_t k = 0; k < K; k++) {
                    double s = wl2 * v[r * K + k];
                    if (use_m)
                        s += am[(j * rows + r) * K + k];
                    if (use_n)
                        s += an[(r * nv + j) * K + k];
                    hv[r * K + k] += scale * s;
                }
            const float *ab = w->accm + nv * tb->offset + j * K;
            double *hb = HV + j * D + tb->offset;
            for (size_t k = 0; k < K; k++)
                hb[k] += scale * (double)ab[k];
        }
    }
}

int wg_net_hvp(wg_net *net, const float *theta, const int *y, size_t B, const float *V,
               size_t nv, double l2, double scale, double *HV)
{
    struct wg_hvp_work *w = net->hvp;
    if (nv == 0)
        return 0;
    if (!w || nv > w->nv_max)
        return WG_FAIL(WG_EARG, "Hessian-vector products of %zu directions, buffers for %zu "
                                "(wg_net_hvp_reserve)", nv, w ? w->nv_max : 0);
    if (B < 1 || B > net->cap)
        return WG_FAIL(WG_EARG, "Hessian-vector product of a batch of %zu images (capacity %zu)",
                       B, net->cap);
    const int K = net->opts.classes;
    for (size_t b = 0; b < B; b++)
        if (y[b] < 0 || y[b] >= K)
            return WG_FAIL(WG_EARG, "label %d of image %zu is not a class in [0, %d)", y[b], b,
                           K);
    pack_directions(net, w, V, nv);
    wino_filters(net, theta, 0);
    wino_filters(net, theta, 1);
    size_t n = w->slots / nv;
    if (n > net->chunk)
        n = net->chunk;
    const int last = net->nlayers - 1;
    for (size_t c0 = 0; c0 < B; c0 += n) {
        const size_t m = B - c0 < n ? B - c0 : n;
        forward_chunk(net, theta, c0, m, 0, 0, 0);
        rforward_chunk(net, w, theta, c0, m, nv);
        wg_softmax_xent_r(net->dlogits + c0 * (size_t)K, w->rgrad[0],
                          net->logits + c0 * (size_t)K, w->rout[last], y + c0, (int)m, K,
                          (int)nv, 1.0f / (float)B, w->dwork);
        rbackward_chunk(net, w, theta, c0, m, nv, c0 == 0 ? 0.0f : 1.0f);
    }
    unpack_hv(net, w, V, nv, l2, scale, HV);
    net->last_train = 0;
    net->last_batch = B;
    return 0;
}

double wg_net_l2(const wg_net *net, const float *theta, float *dtheta, double lambda)
{
    double sum = 0.0;
    for (int i = 0; i < net->ntensors; i++) {
        const wg_tensor_info *t = &net->tensors[i];
        if (!t->is_weight)
            continue;
        const float *w = theta + t->offset;
        for (size_t j = 0; j < t->count; j++)
            sum += (double)w[j] * w[j];
        if (dtheta && lambda != 0.0) {
            float *d = dtheta + t->offset;
            const float s = (float)(2.0 * lambda);
            for (size_t j = 0; j < t->count; j++)
                d[j] += s * w[j];
        }
    }
    return lambda * sum;
}

double wg_net_flops(const wg_net *net, int train)
{
    double f = 0.0;
    for (int i = 0; i < net->nlayers; i++) {
        const wg_layer *L = &net->layers[i];
        double mac;
        if (L->kind == WG_LAYER_CONV3)
            mac = (double)L->h * L->w * 9.0 * L->c * L->k;
        else if (L->kind == WG_LAYER_DENSE)
            mac = (double)L->c * L->k;
        else
            continue;
        /* forward; backward adds the weight gradient and, past layer 0, the input's */
        f += 2.0 * mac * (train ? (i == 0 ? 2.0 : 3.0) : 1.0);
    }
    return f;
}

void wg_net_describe(const wg_net *net, FILE *f)
{
    const wg_net_opts *o = &net->opts;
    if (o->arch == WG_ARCH_SIMPLECNN)
        fprintf(f, "simplecnn width %d (%d/%d/%d channels), %s, dropout %g%s",
                o->width, 16 * o->width, 32 * o->width, 32 * o->width,
                wg_act_name(o->activation), (double)o->dropout,
                o->dropout > 0.0f && o->dropout_where == WG_DROPOUT_ALL
                    ? " (after every conv block)" : "");
    else
        fprintf(f, "mlp depth %d hidden %d, %s, dropout %g", o->depth, o->hidden,
                wg_act_name(o->activation), (double)o->dropout);
    fprintf(f, " on %dx%dx%d inputs: D = %zu parameters\n", o->in_h, o->in_w, o->in_c,
            net->nparams);
    for (int i = 0; i < net->ntensors; i++) {
        const wg_tensor_info *t = &net->tensors[i];
        fprintf(f, "  %-10s offset %8zu  count %8zu  shape", t->name, t->offset, t->count);
        for (int d = 0; d < t->ndim; d++)
            fprintf(f, "%s%d", d ? "x" : " ", t->shape[d]);
        fputc('\n', f);
    }
}
