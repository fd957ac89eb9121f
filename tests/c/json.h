/* A minimal JSON reader for the C fixture tests (header-only, C99): parses a whole document into
 * a tree of json nodes. Enough for tests/fixtures: objects, arrays, numbers, strings without
 * escapes beyond \" and \\, true/false/null. Memory is released with json_free. */
#ifndef LOSSFN_TEST_JSON_H
#define LOSSFN_TEST_JSON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_kind;

typedef struct json {
    json_kind kind;
    double number;    /* JSON_NUMBER, JSON_BOOL (0/1) */
    char *string;     /* JSON_STRING; the key for members of an object */
    char *key;        /* member name when the parent is an object */
    struct json **items;
    size_t count;
} json;

static inline const char *json_skip(const char *p) {
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') p++;
    return p;
}

static inline char *json_parse_string(const char **pp) {
    const char *p = *pp + 1;
    size_t cap = 16, len = 0;
    char *s = (char *)malloc(cap);
    while (*p && *p != '"') {
        char c = *p++;
        if (c == '\\' && *p) c = *p++;
        if (len + 1 >= cap) s = (char *)realloc(s, cap *= 2);
        s[len++] = c;
    }
    s[len] = 0;
    *pp = *p ? p + 1 : p;
    return s;
}

static inline json *json_parse_value(const char **pp);

static inline void json_push(json *parent, json *child) {
    parent->items = (json **)realloc(parent->items, (parent->count + 1) * sizeof(json *));
    parent->items[parent->count++] = child;
}

static inline json *json_parse_value(const char **pp) {
    const char *p = json_skip(*pp);
    json *v = (json *)calloc(1, sizeof(json));
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        v->kind = *p == '{' ? JSON_OBJECT : JSON_ARRAY;
        p = json_skip(p + 1);
        while (*p && *p != close) {
            char *key = NULL;
            if (v->kind == JSON_OBJECT) {
                key = json_parse_string(&p);
                p = json_skip(p);
                if (*p == ':') p++;
            }
            json *child = json_parse_value(&p);
            child->key = key;
            json_push(v, child);
            p = json_skip(p);
            if (*p == ',') p = json_skip(p + 1);
        }
        if (*p) p++;
    } else if (*p == '"') {
        v->kind = JSON_STRING;
        v->string = json_parse_string(&p);
    } else if (!strncmp(p, "true", 4) || !strncmp(p, "false", 5)) {
        v->kind = JSON_BOOL;
        v->number = *p == 't';
        p += *p == 't' ? 4 : 5;
    } else if (!strncmp(p, "null", 4)) {
        v->kind = JSON_NULL;
        p += 4;
    } else {
        char *end;
        v->kind = JSON_NUMBER;
        v->number = strtod(p, &end);
        p = end;
    }
    *pp = p;
    return v;
}

static inline void json_free(json *v) {
    if (!v) return;
    for (size_t i = 0; i < v->count; i++) json_free(v->items[i]);
    free(v->items);
    free(v->string);
    free(v->key);
    free(v);
}

/* Reads and parses a file; NULL when it cannot be read. */
static inline json *json_load(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = (char *)malloc((size_t)n + 1);
    size_t got = fread(text, 1, (size_t)n, f);
    fclose(f);
    text[got] = 0;
    const char *p = text;
    json *v = json_parse_value(&p);
    free(text);
    return v;
}

/* The member `key` of an object, or NULL. */
static inline const json *json_get(const json *obj, const char *key) {
    if (!obj || obj->kind != JSON_OBJECT) return NULL;
    for (size_t i = 0; i < obj->count; i++)
        if (!strcmp(obj->items[i]->key, key)) return obj->items[i];
    return NULL;
}

static inline int json_is_null(const json *v) { return !v || v->kind == JSON_NULL; }

/* The numbers of an array, as doubles (malloc'ed; NULL for null/absent). */
static inline double *json_doubles(const json *arr) {
    if (json_is_null(arr)) return NULL;
    double *out = (double *)malloc((arr->count ? arr->count : 1) * sizeof(double));
    for (size_t i = 0; i < arr->count; i++) out[i] = arr->items[i]->number;
    return out;
}

/* Whether the case applies to dtype ("f32"/"f64"). */
static inline int json_has_dtype(const json *c, const char *dtype) {
    const json *d = json_get(c, "dtypes");
    if (json_is_null(d)) return 1;
    for (size_t i = 0; i < d->count; i++)
        if (!strcmp(d->items[i]->string, dtype)) return 1;
    return 0;
}

#endif
