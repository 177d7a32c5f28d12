/* kind.c: the table of task kinds, indexed by wg_task_kind (the codes stored in the
 * output's `kind` variable).  A new kind is a row here, its enum value in sweep.h
 * and its file src/task_<name>.c. */
#include "wedge/kind.h"

#include <stddef.h>

static const wg_kind *const KINDS[WG_TASK_KINDS] = {
    [WG_TASK_TRAIN] = &wg_kind_train,     [WG_TASK_TUNNEL] = &wg_kind_tunnel,
    [WG_TASK_PLANE] = &wg_kind_plane,     [WG_TASK_CONNECT] = &wg_kind_connect,
    [WG_TASK_HESSIAN] = &wg_kind_hessian, [WG_TASK_SUBSPACE] = &wg_kind_subspace,
    [WG_TASK_SWA] = &wg_kind_swa,         [WG_TASK_SLICE] = &wg_kind_slice,
};

const wg_kind *wg_kind_get(int kind)
{
    return kind >= 0 && kind < WG_TASK_KINDS ? KINDS[kind] : NULL;
}

int wg_kind_enabled(const wg_plan *p, int kind)
{
    return kind == WG_TASK_TRAIN || (kind > 0 && kind < WG_TASK_KINDS && p->enabled[kind]);
}

const char *wg_task_kind_name(wg_task_kind k)
{
    const wg_kind *kd = wg_kind_get((int)k);
    return kd ? kd->name : "?";
}
