/* cli_schema.c: `wedge schema [--json | --markdown]`: the settings, the task kinds
 * with their options and output variables, and the output's own variables, printed
 * from the tables the runner itself reads (setting.h, kind.h, store.h), so that
 * docs, tools and tests can take names from here instead of keeping copies. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "wedge/kind.h"
#include "wedge/setting.h"
#include "wedge/store.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: wedge schema [--json | --markdown]\n"
               "\n"
               "Print what a sweep can say and what its output holds: every setting (key,\n"
               "type, range, default, `wedge train` option, output coordinate), every task\n"
               "kind (its code in the output's `kind` variable, sweep section, options and\n"
               "output variables) and the variables every output has.\n"
               "  --json       as one JSON document (for tools and tests)\n"
               "  --markdown   as the tables of docs/sweep-format.md and docs/output-format.md\n"
               "  -h, --help   this text\n");
}

static const char *type_name(wg_type t)
{
    static const char *const names[] = {"byte", "int", "float", "double", "char"};
    return (unsigned)t < 5 ? names[t] : "?";
}

static const char *key_type_name(wg_key_type t)
{
    static const char *const names[] = {"integer", "number", "name", "string",
                                        "list of integers"};
    return (unsigned)t < 5 ? names[t] : "?";
}

static const char *opt_type_name(wg_opt_type t)
{
    static const char *const names[] = {"integer", "integer", "number", "yes/no", "name",
                                        "list of integers", "list of numbers",
                                        "list of names"};
    return (unsigned)t < 8 ? names[t] : "?";
}

static const char *fill_name(int fill, wg_type t)
{
    if (fill == WG_FILL_MINUS1)
        return "-1";
    if (fill == WG_FILL_NONE)
        return "none";
    return t == WG_T_DOUBLE ? "NaN" : "netCDF default";
}

/* "[lo, hi]"-style range of an option. */
static void opt_range(const wg_option *o, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (o->type == WG_OPT_ENUM || o->type == WG_OPT_SET) {
        for (int i = 0; i < o->nchoices; i++) {
            size_t used = strlen(buf);
            snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", o->choices[i]);
        }
    } else if (o->type != WG_OPT_BOOL) {
        if (isinf(o->hi))
            snprintf(buf, cap, "%s %g", o->lo_open ? ">" : ">=", o->lo);
        else
            snprintf(buf, cap, "%c%g, %g]", o->lo_open ? '(' : '[', o->lo, o->hi);
    }
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void json_field(FILE *f, const char *name, const char *value, int comma)
{
    fprintf(f, "%s", comma ? ", " : "");
    json_str(f, name);
    fprintf(f, ": ");
    if (value)
        json_str(f, value);
    else
        fprintf(f, "null");
}

static void json_vars(FILE *f, const wg_var *vars, int n)
{
    fprintf(f, "[");
    for (int i = 0; i < n; i++) {
        const wg_var *v = &vars[i];
        char dims[128];
        snprintf(dims, sizeof dims, "%s%s%s", v->per_task ? "task" : "",
                 v->per_task && *v->dims ? " " : "", v->dims);
        fprintf(f, "%s\n    {", i ? "," : "");
        json_field(f, "name", v->name, 0);
        json_field(f, "dims", dims, 1);
        json_field(f, "type", type_name(v->type), 1);
        char ln[512];
        const char *units = wg_units_cf(v->units, v->long_name, ln, sizeof ln);
        json_field(f, "long_name", ln, 1);
        json_field(f, "units", units, 1);
        json_field(f, "fill", fill_name(v->fill, v->type), 1);
        json_field(f, "flag_meanings", v->flags, 1);
        fprintf(f, ", \"coordinate\": %s, \"from_plan\": %s}", v->coordinate ? "true" : "false",
                v->plan_value ? "true" : "false");
    }
    fprintf(f, "]");
}

static void print_json(FILE *f)
{
    char buf[256];
    fprintf(f, "{\n  \"settings\": [");
    for (int i = 0; i < WG_NKEYS; i++) {
        const wg_key *k = &wg_keys[i];
        fprintf(f, "%s\n    {", i ? "," : "");
        json_field(f, "key", k->name, 0);
        json_field(f, "type", key_type_name(k->type), 1);
        if (k->type == WG_KEY_NAME) {
            buf[0] = '\0';
            for (int c = 0; c < k->nchoices; c++) {
                size_t used = strlen(buf);
                snprintf(buf + used, sizeof buf - used, "%s%s", c ? ", " : "", k->choice(c));
            }
        } else if (k->type == WG_KEY_TEXT) {
            buf[0] = '\0';
        } else {
            wg_key_range_desc(k, buf, sizeof buf);
        }
        json_field(f, "range", buf, 1);
        json_field(f, "default", k->deflt, 1);
        json_field(f, "option", k->option, 1);
        json_field(f, "coordinate", k->var, 1);
        char ln[512];
        const char *units = wg_units_cf(k->units, k->long_name, ln, sizeof ln);
        json_field(f, "long_name", ln, 1);
        json_field(f, "units", units, 1);
        json_field(f, "doc", k->doc, 1);
        fprintf(f, "}");
    }
    fprintf(f, "\n  ],\n  \"kinds\": [");
    for (int kc = 0; kc < WG_TASK_KINDS; kc++) {
        const wg_kind *k = wg_kind_get(kc);
        fprintf(f, "%s\n   {\"code\": %d", kc ? "," : "", kc);
        json_field(f, "name", k->name, 1);
        json_field(f, "summary", k->summary, 1);
        json_field(f, "section", k->section, 1);
        fprintf(f, ",\n    \"args\": [");
        for (int a = 0; a < WG_TASK_ARGS && k->args[a]; a++) {
            fprintf(f, "%s", a ? ", " : "");
            json_str(f, k->args[a]);
        }
        fprintf(f, "],\n    \"options\": [");
        for (int i = 0; i < k->noptions; i++) {
            const wg_option *o = &k->options[i];
            opt_range(o, buf, sizeof buf);
            fprintf(f, "%s\n    {", i ? "," : "");
            json_field(f, "key", o->key, 0);
            json_field(f, "type", opt_type_name(o->type), 1);
            json_field(f, "range", buf, 1);
            json_field(f, "default", o->deflt, 1);
            json_field(f, "scope", o->scope == WG_SCOPE_NET ? "network"
                                   : o->scope == WG_SCOPE_TOY ? "toy" : "any", 1);
            json_field(f, "doc", o->doc, 1);
            fprintf(f, "}");
        }
        fprintf(f, "],\n    \"dims\": [");
        for (int i = 0; i < k->ndims; i++) {
            fprintf(f, "%s", i ? ", " : "");
            json_str(f, k->dims[i].name);
        }
        fprintf(f, "],\n    \"variables\": ");
        json_vars(f, k->vars, k->nvars);
        fprintf(f, "}");
    }
    int n;
    const wg_var *common = wg_store_common(&n);
    fprintf(f, "\n  ],\n  \"variables\": ");
    json_vars(f, common, n);
    fprintf(f, ",\n  \"status\": [\"pending\", \"done\", \"failed\", \"diverged\"]\n}\n");
}

/* Markdown cells: '|' escaped. */
static void md(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '|')
            fputc('\\', f);
        fputc(*s, f);
    }
}

/* A variable's flag meanings; "(kinds)" (the kind variable's) from the kind table. */
static void md_flags(FILE *f, const char *flags)
{
    if (strcmp(flags, "(kinds)") != 0) {
        fprintf(f, " (flags: %s)", flags);
        return;
    }
    fprintf(f, " (flags:");
    for (int k = 0; k < WG_TASK_KINDS; k++)
        fprintf(f, " %d %s", k, wg_kind_get(k)->name);
    fprintf(f, ")");
}

static void md_vars(FILE *f, const wg_var *vars, int n)
{
    fprintf(f, "| variable | dimensions | type | units | fill | meaning |\n"
               "|---|---|---|---|---|---|\n");
    for (int i = 0; i < n; i++) {
        const wg_var *v = &vars[i];
        fprintf(f, "| `%s` | %s", v->name, v->per_task ? "task" : "");
        for (const char *d = v->dims; *d; d++) { /* "a b" -> ", a, b" */
            if (d == v->dims && v->per_task)
                fputs(", ", f);
            if (*d == ' ')
                fputs(", ", f);
            else
                fputc(*d, f);
        }
        char ln[512];
        const char *units = wg_units_cf(v->units, v->long_name, ln, sizeof ln);
        fprintf(f, " | %s | %s | %s | ", type_name(v->type), units ? units : "",
                fill_name(v->fill, v->type));
        md(f, ln);
        if (v->flags)
            md_flags(f, v->flags);
        fprintf(f, " |\n");
    }
}

static void print_markdown(FILE *f)
{
    char buf[256];
    static const char *const sections[] = {"data", "model", "train"};
    for (int s = 0; s < 3; s++) {
        fprintf(f, "<!-- wedge schema: settings %s -->\n", sections[s]);
        fprintf(f, "| key | type | range | default | `wedge train` | meaning |\n"
                   "|---|---|---|---|---|---|\n");
        for (int i = 0; i < WG_NKEYS; i++) {
            const wg_key *k = &wg_keys[i];
            if (!wg_key_in_section(k, sections[s]))
                continue;
            if (k->type == WG_KEY_NAME) {
                buf[0] = '\0';
                for (int c = 0; c < k->nchoices; c++) {
                    size_t used = strlen(buf);
                    snprintf(buf + used, sizeof buf - used, "%s`%s`", c ? ", " : "",
                             k->choice(c));
                }
            } else if (k->type == WG_KEY_TEXT) {
                snprintf(buf, sizeof buf, "at most %zu bytes", k->cap - 1);
            } else {
                wg_key_range_desc(k, buf, sizeof buf);
            }
            fprintf(f, "| `%s` | %s | %s | %s | %s%s | ", wg_key_short(k), key_type_name(k->type),
                    buf, k->deflt && *k->deflt ? k->deflt : "-", k->option ? "--" : "",
                    k->option ? k->option : "");
            md(f, k->doc);
            fprintf(f, " |\n");
        }
        fprintf(f, "\n");
    }
    for (int kc = 1; kc < WG_TASK_KINDS; kc++) {
        const wg_kind *k = wg_kind_get(kc);
        fprintf(f, "<!-- wedge schema: options %s -->\n", k->name);
        fprintf(f, "| `%s` key | type | range | default | meaning |\n|---|---|---|---|---|\n",
                k->section);
        for (int i = 0; i < k->noptions; i++) {
            const wg_option *o = &k->options[i];
            opt_range(o, buf, sizeof buf);
            fprintf(f, "| `%s` | %s | %s | %s | ", o->key, opt_type_name(o->type), buf,
                    o->deflt ? o->deflt : "-");
            md(f, o->doc);
            if (o->scope)
                fprintf(f, " (%s only)", o->scope == WG_SCOPE_NET ? "networks" : "toy model");
            fprintf(f, " |\n");
        }
        fprintf(f, "\n");
    }
    int n;
    fprintf(f, "<!-- wedge schema: variables -->\n");
    const wg_var *common = wg_store_common(&n);
    md_vars(f, common, n);
    fprintf(f, "\n");
    for (int kc = 0; kc < WG_TASK_KINDS; kc++) {
        const wg_kind *k = wg_kind_get(kc);
        fprintf(f, "<!-- wedge schema: variables %s -->\n", k->name);
        md_vars(f, k->vars, k->nvars);
        fprintf(f, "\n");
    }
}

static void print_text(FILE *f)
{
    char buf[256];
    fprintf(f, "settings (sweep keys; `wedge train --OPTION`; output coordinate):\n");
    for (int i = 0; i < WG_NKEYS; i++) {
        const wg_key *k = &wg_keys[i];
        fprintf(f, "  %-24s %-8s default %-14s %s%s%s\n", k->name, key_type_name(k->type),
                k->deflt && *k->deflt ? k->deflt : "-", k->doc, k->var ? " -> " : "",
                k->var ? k->var : "");
    }
    for (int kc = 0; kc < WG_TASK_KINDS; kc++) {
        const wg_kind *k = wg_kind_get(kc);
        fprintf(f, "\nkind %d %s: %s\n", kc, k->name, k->summary);
        if (k->section)
            fprintf(f, "  section %s:\n", k->section);
        for (int i = 0; i < k->noptions; i++) {
            const wg_option *o = &k->options[i];
            opt_range(o, buf, sizeof buf);
            fprintf(f, "    %-14s %-16s %-22s default %-10s %s\n", o->key, opt_type_name(o->type),
                    buf, o->deflt ? o->deflt : "-", o->doc);
        }
        fprintf(f, "  variables:\n");
        for (int i = 0; i < k->nvars; i++)
            fprintf(f, "    %-28s (task%s%s) %s\n", k->vars[i].name, *k->vars[i].dims ? " " : "",
                    k->vars[i].dims, k->vars[i].long_name);
    }
    int n;
    const wg_var *common = wg_store_common(&n);
    fprintf(f, "\nevery output:\n");
    for (int i = 0; i < n; i++)
        fprintf(f, "    %-28s %s\n", common[i].name, common[i].long_name);
}

int wg_cli_schema(int argc, char **argv)
{
    enum { O_JSON = 256, O_MD };
    static const struct option opts[] = {{"json", no_argument, 0, O_JSON},
                                         {"markdown", no_argument, 0, O_MD},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int ch, how = 0;
    optind = 1;
    argv[0] = "wedge schema";
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (ch == O_JSON || ch == O_MD) {
            how = ch;
        } else if (ch == 'h') {
            usage(stdout);
            return WG_EXIT_OK;
        } else {
            fprintf(stderr, "try 'wedge schema --help'\n");
            return WG_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "wedge schema: unexpected argument '%s' (try 'wedge schema --help')\n",
                argv[optind]);
        return WG_EXIT_USAGE;
    }
    if (how == O_JSON)
        print_json(stdout);
    else if (how == O_MD)
        print_markdown(stdout);
    else
        print_text(stdout);
    return WG_EXIT_OK;
}
