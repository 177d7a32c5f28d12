/* plan_print.c: a plan as text (`wedge expand`): one line per task with its swept
 * values, what its kind says distinguishes it, its dependencies and, with --reuse,
 * the output it would be taken from; then totals. */
#include <stdio.h>
#include <string.h>

#include "wedge/kind.h"
#include "wedge/sweep.h"

static int axis_item(const wg_axis *ax, size_t i, char *buf, size_t cap)
{
    if (ax->is_text)
        return snprintf(buf, cap, "%s=%s", ax->name, ax->text[i]);
    return snprintf(buf, cap, "%s=%g", ax->name, ax->num[i]);
}

/* "N task(s): a train, b hessian, ..." of the tasks not taken (all: taken NULL). */
static void kind_totals(const wg_plan *plan, const char *const *taken, FILE *f)
{
    size_t nk[WG_TASK_KINDS] = {0}, n = 0;
    for (size_t id = 0; id < plan->ntasks; id++)
        if (!taken || !taken[id])
            nk[plan->tasks[id].kind]++, n++;
    fprintf(f, "%zu task%s: %zu train", n, n == 1 ? "" : "s", nk[WG_TASK_TRAIN]);
    for (int k = 1; k < WG_TASK_KINDS; k++)
        if (nk[k])
            fprintf(f, ", %zu %s", nk[k], wg_task_kind_name((wg_task_kind)k));
}

void wg_plan_print(const wg_plan *plan, FILE *f)
{
    wg_plan_print_taken(plan, NULL, f);
}

void wg_plan_print_taken(const wg_plan *plan, const char *const *taken, FILE *f)
{
    /* Pad every key=value to its axis's widest, so that columns line up. */
    int width[WG_MAX_AXES] = {0};
    char item[128], what[160];
    for (size_t a = 0; a < plan->naxes; a++)
        for (size_t i = 0; i < plan->axes[a].n; i++) {
            int w = axis_item(&plan->axes[a], i, item, sizeof item);
            if (w > width[a])
                width[a] = w;
        }
    for (size_t id = 0; id < plan->ntasks; id++) {
        const wg_task *t = &plan->tasks[id];
        fprintf(f, "%6zu  %-*s", t->id, plan->naxes ? 6 : 0, wg_task_kind_name(t->kind));
        for (size_t a = 0; a < plan->naxes; a++) {
            axis_item(&plan->axes[a], t->axis_index[a], item, sizeof item);
            fprintf(f, " %-*s", width[a], item);
        }
        wg_kind_get(t->kind)->describe(plan, t, what, sizeof what);
        if (what[0])
            fprintf(f, "  %s", what);
        fprintf(f, "  deps:");
        if (t->ndeps == 0)
            fprintf(f, " -");
        for (size_t d = 0; d < t->ndeps; d++)
            fprintf(f, " %zu", t->deps[d]);
        if (taken && taken[id])
            fprintf(f, "  taken from %s", taken[id]);
        fputc('\n', f);
    }
    kind_totals(plan, NULL, f);
    fprintf(f, "; %zu ax%s", plan->naxes, plan->naxes == 1 ? "is" : "es");
    for (size_t a = 0; a < plan->naxes;) {
        size_t b = a + 1;
        int g = plan->axes[a].zip_group;
        while (g >= 0 && b < plan->naxes && plan->axes[b].zip_group == g)
            b++;
        fprintf(f, "%s", a == 0 ? " (" : " x ");
        if (b - a > 1)
            fputc('(', f);
        for (size_t k = a; k < b; k++)
            fprintf(f, "%s%s", k > a ? ", " : "", plan->axes[k].name);
        if (b - a > 1)
            fputc(')', f);
        a = b;
    }
    fprintf(f, "%s\n", plan->naxes ? ")" : "");
    if (taken) {
        fputs("to run: ", f);
        kind_totals(plan, taken, f);
        fputc('\n', f);
    }
}
