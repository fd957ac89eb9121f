/* The C API from C: conventions, bad input, threads, and every regression fixture in f32 and f64. */
#include "check.h"
#include "json.h"

#include <lossfn.h>
#include <string.h>

typedef lossfn_status (*reg_f32)(const float *, const float *, const float *, size_t,
                                 const lossfn_regression_options *, float *, float *);
typedef lossfn_status (*reg_f64)(const double *, const double *, const double *, size_t,
                                 const lossfn_regression_options *, double *, double *);

/* Every regression loss of the header (its form list), so a new one needs no edit here. */
#define REGRESSION_ENTRY(name) {#name, lossfn_##name##_f32, lossfn_##name##_f64},
static const struct {
    const char *name;
    reg_f32 f32;
    reg_f64 f64;
} REGRESSION[] = {LOSSFN_REGRESSION_LOSSES(REGRESSION_ENTRY)};
#define N_REGRESSION (sizeof REGRESSION / sizeof REGRESSION[0])

static void last_error(char *buf, size_t len) { lossfn_last_error(buf, len); }

static void test_common(void) {
    char msg[256];
    CHECK(strcmp(lossfn_status_name(LOSSFN_ERROR_OVERLAP), "LOSSFN_ERROR_OVERLAP") == 0, "status name");
    CHECK(strcmp(lossfn_status_name(1234), "LOSSFN_UNKNOWN_STATUS") == 0, "unknown status name");
    CHECK(lossfn_version_number() == LOSSFN_VERSION_NUMBER, "library %u vs header %d", lossfn_version_number(), LOSSFN_VERSION_NUMBER);
    snprintf(msg, sizeof msg, "%d.%d.%d", LOSSFN_VERSION_MAJOR, LOSSFN_VERSION_MINOR, LOSSFN_VERSION_PATCH);
    CHECK(strcmp(lossfn_version_string(), msg) == 0, "version string %s", lossfn_version_string());
    CHECK(lossfn_set_num_threads(2) == LOSSFN_OK && lossfn_get_num_threads() == 2, "threads");
    CHECK(lossfn_set_num_threads(0) == LOSSFN_OK && lossfn_get_num_threads() >= 1, "default threads");
    lossfn_regression_options d = lossfn_regression_options_default();
    CHECK(d.reduction == LOSSFN_REDUCTION_MEAN && d.beta == 1.0 && d.delta == 1.0, "regression defaults");
    CHECK(lossfn_last_error(NULL, 0) == 0, "no error yet");
}

static void test_bad_input(void) {
    float x[4] = {1, 2, 3, 4}, t[4] = {0, 0, 0, 0}, loss[4] = {7, 7, 7, 7}, grad[4] = {7, 7, 7, 7};
    char msg[256];
    lossfn_regression_options o = lossfn_regression_options_default();

    CHECK(lossfn_l1_loss_f32(NULL, t, NULL, 4, NULL, loss, grad) == LOSSFN_ERROR_NULL_POINTER, "NULL input");
    last_error(msg, sizeof msg);
    CHECK(strstr(msg, "input") != NULL, "message names input: %s", msg);
    CHECK(lossfn_l1_loss_f32(NULL, NULL, NULL, 0, NULL, loss, NULL) == LOSSFN_OK && loss[0] == 0.0f, "empty input is fine");
    loss[0] = 7;
    CHECK(lossfn_l1_loss_f32(x, t, NULL, (size_t)-1 / 2, NULL, loss, grad) == LOSSFN_ERROR_INVALID_SIZE, "overflow");
    o.reduction = 42;
    CHECK(lossfn_mse_loss_f32(x, t, NULL, 4, &o, loss, grad) == LOSSFN_ERROR_INVALID_OPTION, "bad reduction");
    o = lossfn_regression_options_default();
    o.delta = 0.0;
    CHECK(lossfn_huber_loss_f32(x, t, NULL, 4, &o, loss, grad) == LOSSFN_ERROR_INVALID_OPTION, "delta 0");
    last_error(msg, sizeof msg);
    CHECK(strstr(msg, "delta") != NULL, "message names delta: %s", msg);
    o = lossfn_regression_options_default();
    o.beta = NAN;
    CHECK(lossfn_smooth_l1_loss_f32(x, t, NULL, 4, &o, loss, grad) == LOSSFN_ERROR_INVALID_OPTION, "beta NaN");
    CHECK(lossfn_mse_loss_f32(x, t, NULL, 4, NULL, loss, x) == LOSSFN_ERROR_OVERLAP, "grad over input");
    CHECK(lossfn_mse_loss_f32(x, t, NULL, 4, NULL, grad + 3, grad) == LOSSFN_ERROR_OVERLAP, "loss inside grad");
    for (int i = 0; i < 4; i++) CHECK(loss[i] == 7.0f && grad[i] == 7.0f && x[i] == (float)(i + 1), "nothing written at %d", i);
    CHECK(lossfn_mse_loss_f32(x, t, NULL, 4, NULL, loss, grad) == LOSSFN_OK, "ok call");
    CHECK(lossfn_last_error(NULL, 0) == 0, "success clears the error");
    CHECK(loss[0] == 7.5f && grad[3] == 2.0f, "mse %g grad %g", loss[0], grad[3]);
}

static void test_fixtures(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/regression.json", fixtures_dir());
    json *doc = json_load(path);
    CHECK(doc != NULL, "cannot read %s", path);
    if (!doc) return;
    const json *cases = json_get(doc, "cases");
    int ran = 0;
    for (size_t ci = 0; ci < cases->count; ci++) {
        const json *c = cases->items[ci];
        const char *fn = json_get(c, "fn")->string;
        size_t k = 0;
        while (k < N_REGRESSION && strcmp(REGRESSION[k].name, fn)) k++;
        CHECK(k < N_REGRESSION, "case %zu: %s is not in LOSSFN_REGRESSION_LOSSES", ci, fn);
        if (k == N_REGRESSION) continue;
        lossfn_regression_options o = lossfn_regression_options_default();
        const json *opts = json_get(c, "opts");
        if (json_get(opts, "reduction")) o.reduction = (lossfn_reduction)json_get(opts, "reduction")->number;
        if (json_get(opts, "beta")) o.beta = json_get(opts, "beta")->number;
        if (json_get(opts, "delta")) o.delta = json_get(opts, "delta")->number;
        const json *in = json_get(c, "inputs");
        size_t n = (size_t)json_get(c, "n")->number;
        size_t nl = o.reduction == LOSSFN_REDUCTION_NONE ? n : 1;
        double *x = json_doubles(json_get(in, "input")), *t = json_doubles(json_get(in, "target"));
        double *w = json_doubles(json_get(in, "weight"));
        double *loss = json_doubles(json_get(c, "loss")), *grad = json_doubles(json_get(c, "grad"));
        double *l64 = calloc(nl + 1, sizeof(double)), *g64 = calloc(n + 1, sizeof(double));
        float *x32 = calloc(n + 1, 4), *t32 = calloc(n + 1, 4), *w32 = calloc(n + 1, 4), *l32 = calloc(nl + 1, 4), *g32 = calloc(n + 1, 4);
        for (size_t i = 0; i < n; i++) {
            x32[i] = (float)x[i];
            t32[i] = (float)t[i];
            if (w) w32[i] = (float)w[i];
        }
        if (json_has_dtype(c, "f64")) {
            CHECK(REGRESSION[k].f64(x, t, w, n, &o, l64, g64) == LOSSFN_OK, "case %zu f64", ci);
            CHECK(close_to(l64, loss, nl, 0) < 0, "case %zu %s f64 loss %g vs %g", ci, fn, l64[0], loss[0]);
            if (grad) CHECK(close_to(g64, grad, n, 0) < 0, "case %zu %s f64 grad", ci, fn);
            ran++;
        }
        if (json_has_dtype(c, "f32")) {
            CHECK(REGRESSION[k].f32(x32, t32, w ? w32 : NULL, n, &o, l32, g32) == LOSSFN_OK, "case %zu f32", ci);
            for (size_t i = 0; i < nl; i++) l64[i] = l32[i];
            for (size_t i = 0; i < n; i++) g64[i] = g32[i];
            CHECK(close_to(l64, loss, nl, 1) < 0, "case %zu %s f32 loss %g vs %g", ci, fn, l64[0], loss[0]);
            if (grad) CHECK(close_to(g64, grad, n, 1) < 0, "case %zu %s f32 grad", ci, fn);
            ran++;
        }
        free(x); free(t); free(w); free(loss); free(grad); free(l64); free(g64);
        free(x32); free(t32); free(w32); free(l32); free(g32);
    }
    CHECK(ran >= 150, "ran %d fixture calls", ran);
    printf("regression fixtures: %d calls through the C ABI\n", ran);
    json_free(doc);
}

int main(void) {
    test_common();
    test_bad_input();
    test_fixtures();
    return finish();
}
