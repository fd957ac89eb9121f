// lossfn.hpp: header-only C++17 wrapper over lossfn.h.
//
// Typed overloads for float and double that throw lossfn::error (carrying the status and the
// library's message) on failure (or, without exceptions, return the status), plus std::vector conveniences that allocate
// the outputs. No state, no RAII types: every call is a direct call into the C API.
//
// Every loss has the same shape: two pointer overloads (float, double) returning
// detail::check(lossfn_<name>_f32/_f64(...)), and one vector template whose sizes are checked with
// LOSSFN_SIZE_CHECK_ and whose optional vectors are `const std::vector<detail::same_t<T>> *`
// (T comes from the data, so `nullptr` works). Each form (losses with the same parameters) is one
// macro LOSSFN_<FORM>_(name) expanded over lossfn.h's list of that form's losses
// (LOSSFN_<FORM>_LOSSES): a loss added to the C API in an existing form is wrapped here without an
// edit. A new form needs its macro and its LOSSFN_<FORM>_LOSSES(LOSSFN_<FORM>_) line
// (tests/fuzz_smoke.rs fails until every header function is wrapped).
#ifndef LOSSFN_HPP
#define LOSSFN_HPP

#include "lossfn.h"

// Exceptions are used where the compiler has them on. With -fno-exceptions (or
// LOSSFN_HPP_NO_EXCEPTIONS defined) nothing throws: the raw-pointer forms return the
// lossfn_status, the vector forms report it in loss_grad::status (empty vectors on a size error),
// and lossfn_last_error() has the message of a failed library call.
#ifndef LOSSFN_HPP_EXCEPTIONS
#if !defined(LOSSFN_HPP_NO_EXCEPTIONS) && (defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND))
#define LOSSFN_HPP_EXCEPTIONS 1
#else
#define LOSSFN_HPP_EXCEPTIONS 0
#endif
#endif

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>
#include <type_traits>

namespace lossfn {

#if LOSSFN_HPP_EXCEPTIONS
/// A failed lossfn call: status() is the LOSSFN_ERROR_* code, what() the library's message.
class error : public std::runtime_error {
public:
    error(lossfn_status status, const std::string &message)
        : std::runtime_error(std::string(lossfn_status_name(status)) + ": " + message), status_(status) {}
    lossfn_status status() const noexcept { return status_; }

private:
    lossfn_status status_;
};
#endif

template <class T> struct loss_grad;

namespace detail {
/// Returns the status; a non-zero one throws lossfn::error with the calling thread's last error
/// message when exceptions are on (so a returned status is then always LOSSFN_OK).
inline lossfn_status check(lossfn_status status) {
#if LOSSFN_HPP_EXCEPTIONS
    if (status == LOSSFN_OK) return status;
    std::string message(lossfn_last_error(nullptr, 0), '\0');
    lossfn_last_error(message.data(), message.size() + 1);
    throw error(status, message);
#else
    return status;
#endif
}
template <class T> void set_status(std::vector<T> &, lossfn_status) {}
template <class T> void set_status(loss_grad<T> &r, lossfn_status status) { r.status = status; }
/// A vector form's sizes disagree: throws lossfn::error(LOSSFN_ERROR_INVALID_SIZE, what) with
/// exceptions; without, returns an empty result (status LOSSFN_ERROR_INVALID_SIZE for loss_grad).
template <class R> R size_error(const char *what) {
#if LOSSFN_HPP_EXCEPTIONS
    throw error(LOSSFN_ERROR_INVALID_SIZE, what);
#else
    (void)what;
    R r{};
    set_status(r, LOSSFN_ERROR_INVALID_SIZE);
    return r;
#endif
}
template <class T> const T *data_or_null(const std::vector<T> *v) { return v ? v->data() : nullptr; }
// The one size check of the vector forms (inside a function returning loss_grad<T>):
// LOSSFN_SIZE_CHECK_(target.size() == input.size(), "l1_loss: target size differs from input size");
#define LOSSFN_SIZE_CHECK_(cond, what) \
    if (!(cond)) return detail::size_error<loss_grad<T>>(what)
/// T in a non-deduced context: the optional `const std::vector<same_t<T>> *` arguments of the
/// vector forms take their T from the data vectors, so that a plain `nullptr` is accepted.
template <class T> struct same { using type = T; };
template <class T> using same_t = typename same<T>::type;
}  // namespace detail

/// Loss output(s) and gradient of a vector call: loss holds 1 value, or the unreduced values for
/// LOSSFN_REDUCTION_NONE; grad is d loss / d input (empty when not requested).
template <class T> struct loss_grad {
    std::vector<T> loss;
    std::vector<T> grad;
    /// LOSSFN_OK, or (without exceptions) the failure's status.
    lossfn_status status = LOSSFN_OK;
    bool ok() const { return status == LOSSFN_OK; }
    /// The reduced loss (the first value).
    T value() const { return loss.at(0); }
};

inline std::string version() { return lossfn_version_string(); }
inline lossfn_status set_num_threads(std::size_t n) { return detail::check(lossfn_set_num_threads(n)); }
inline std::size_t num_threads() { return lossfn_get_num_threads(); }

inline std::size_t loss_size(lossfn_reduction reduction, std::size_t unreduced) {
    return reduction == LOSSFN_REDUCTION_NONE ? unreduced : 1;
}

// ---- regression: L1 (MAE), MSE (L2), Smooth L1, Huber ----
#define LOSSFN_REGRESSION_(name)                                                                                          \
    inline lossfn_status name(const float *input, const float *target, const float *weight, std::size_t n,                \
                     const lossfn_regression_options *options, float *loss, float *grad_input) {                          \
        return detail::check(lossfn_##name##_f32(input, target, weight, n, options, loss, grad_input));                   \
    }                                                                                                                     \
    inline lossfn_status name(const double *input, const double *target, const double *weight, std::size_t n,             \
                     const lossfn_regression_options *options, double *loss, double *grad_input) {                        \
        return detail::check(lossfn_##name##_f64(input, target, weight, n, options, loss, grad_input));                   \
    }                                                                                                                     \
    template <class T>                                                                                                    \
    loss_grad<T> name(const std::vector<T> &input, const std::vector<T> &target,                                          \
                      const lossfn_regression_options &options = lossfn_regression_options_default(),                     \
                      const std::vector<detail::same_t<T>> *weight = nullptr, bool with_grad = true) {                    \
        LOSSFN_SIZE_CHECK_(target.size() == input.size(), #name ": target size differs from input size");                 \
        LOSSFN_SIZE_CHECK_(!weight || weight->size() == input.size(), #name ": weight size differs from input size");     \
        loss_grad<T> r{std::vector<T>(loss_size(options.reduction, input.size())),                                        \
                       std::vector<T>(with_grad ? input.size() : 0)};                                                     \
        r.status = name(input.data(), target.data(), detail::data_or_null(weight), input.size(), &options, r.loss.data(), \
             with_grad ? r.grad.data() : nullptr);                                                                        \
        return r;                                                                                                         \
    }
LOSSFN_REGRESSION_LOSSES(LOSSFN_REGRESSION_)
#undef LOSSFN_REGRESSION_

// ---- boxes (section owned by the box losses) ----
// IoU (UnitBox), GIoU, DIoU, CIoU, EIoU / Focal-EIoU, CDIoU. pred, target: n*4 values in
// options.format; weight: n values or null; loss: 1 value (n for NONE); grad_pred: n*4 or null,
// in pred's format.

/// Box options with the given format and reduction, defaults otherwise.
inline lossfn_box_options box_options(lossfn_box_format format, lossfn_reduction reduction = LOSSFN_REDUCTION_MEAN) {
    lossfn_box_options o = lossfn_box_options_default();
    o.format = format;
    o.reduction = reduction;
    return o;
}

#define LOSSFN_BOX_(name)                                                                                     \
    inline lossfn_status name(const float *pred, const float *target, const float *weight, std::size_t n,     \
                     const lossfn_box_options *options, float *loss, float *grad_pred) {                      \
        return detail::check(lossfn_##name##_f32(pred, target, weight, n, options, loss, grad_pred));         \
    }                                                                                                         \
    inline lossfn_status name(const double *pred, const double *target, const double *weight, std::size_t n,  \
                     const lossfn_box_options *options, double *loss, double *grad_pred) {                    \
        return detail::check(lossfn_##name##_f64(pred, target, weight, n, options, loss, grad_pred));         \
    }                                                                                                         \
    template <class T>                                                                                        \
    loss_grad<T> name(const std::vector<T> &pred, const std::vector<T> &target,                               \
                      const lossfn_box_options &options = lossfn_box_options_default(),                       \
                      const std::vector<detail::same_t<T>> *weight = nullptr,                                 \
                      bool with_grad = true) {                                                                \
        LOSSFN_SIZE_CHECK_(pred.size() % 4 == 0, #name ": pred size is not a multiple of 4");                 \
        LOSSFN_SIZE_CHECK_(target.size() == pred.size(), #name ": target size differs from pred size");       \
        const std::size_t n = pred.size() / 4;                                                                \
        LOSSFN_SIZE_CHECK_(!weight || weight->size() == n, #name ": weight size is not the number of boxes"); \
        loss_grad<T> r{std::vector<T>(loss_size(options.reduction, n)),                                       \
                       std::vector<T>(with_grad ? pred.size() : 0)};                                          \
        r.status = name(pred.data(), target.data(), detail::data_or_null(weight), n, &options, r.loss.data(), \
             with_grad ? r.grad.data() : nullptr);                                                            \
        return r;                                                                                             \
    }
LOSSFN_BOX_LOSSES(LOSSFN_BOX_)
#undef LOSSFN_BOX_

// ---- rotated boxes: ProbIoU (ultralytics probiou / batch_probiou) ----
// pred, target: n*5 values (cx, cy, w, h, angle in radians); weight: n values or null; loss: 1
// value (n for NONE); grad_pred: n*5 or null.
#define LOSSFN_ROTATED_BOX_(name)                                                                              \
    inline lossfn_status name(const float *pred, const float *target, const float *weight, std::size_t n,      \
                              const lossfn_rotated_box_options *options, float *loss, float *grad_pred) {      \
        return detail::check(lossfn_##name##_f32(pred, target, weight, n, options, loss, grad_pred));          \
    }                                                                                                          \
    inline lossfn_status name(const double *pred, const double *target, const double *weight, std::size_t n,   \
                              const lossfn_rotated_box_options *options, double *loss, double *grad_pred) {    \
        return detail::check(lossfn_##name##_f64(pred, target, weight, n, options, loss, grad_pred));          \
    }                                                                                                          \
    template <class T>                                                                                         \
    loss_grad<T> name(const std::vector<T> &pred, const std::vector<T> &target,                                \
                      const lossfn_rotated_box_options &options = lossfn_rotated_box_options_default(),        \
                      const std::vector<detail::same_t<T>> *weight = nullptr, bool with_grad = true) {         \
        LOSSFN_SIZE_CHECK_(pred.size() % 5 == 0, #name ": pred size is not a multiple of 5");                  \
        LOSSFN_SIZE_CHECK_(target.size() == pred.size(), #name ": target size differs from pred size");        \
        const std::size_t n = pred.size() / 5;                                                                 \
        LOSSFN_SIZE_CHECK_(!weight || weight->size() == n, #name ": weight size is not the number of boxes");  \
        loss_grad<T> r{std::vector<T>(loss_size(options.reduction, n)),                                        \
                       std::vector<T>(with_grad ? pred.size() : 0)};                                           \
        r.status = name(pred.data(), target.data(), detail::data_or_null(weight), n, &options, r.loss.data(),  \
                        with_grad ? r.grad.data() : nullptr);                                                  \
        return r;                                                                                              \
    }
LOSSFN_ROTATED_BOX_LOSSES(LOSSFN_ROTATED_BOX_)
#undef LOSSFN_ROTATED_BOX_

/// Pairwise ProbIoU (no gradient): out[i*m + j] = probiou(boxes1[i], boxes2[j]).
inline lossfn_status probiou_matrix(const float *boxes1, std::size_t n, const float *boxes2, std::size_t m, double eps,
                                    float *out) {
    return detail::check(lossfn_probiou_matrix_f32(boxes1, n, boxes2, m, eps, out));
}
inline lossfn_status probiou_matrix(const double *boxes1, std::size_t n, const double *boxes2, std::size_t m, double eps,
                                    double *out) {
    return detail::check(lossfn_probiou_matrix_f64(boxes1, n, boxes2, m, eps, out));
}
/// The n x m matrix (row-major) for boxes1 (n*5 values) against boxes2 (m*5 values).
template <class T>
std::vector<T> probiou_matrix(const std::vector<T> &boxes1, const std::vector<T> &boxes2, double eps = 1e-7) {
    if (!(boxes1.size() % 5 == 0 && boxes2.size() % 5 == 0)) return detail::size_error<std::vector<T>>("probiou_matrix: sizes are not multiples of 5");
    const std::size_t n = boxes1.size() / 5, m = boxes2.size() / 5;
    std::vector<T> out(n * m);
    // Without exceptions a failed call gives an empty matrix (lossfn_last_error() says why).
    if (probiou_matrix(boxes1.data(), n, boxes2.data(), m, eps, out.data()) != LOSSFN_OK) out.clear();
    return out;
}

/// Pairwise similarity (no gradient): out[i*m + j] = kind(boxes1[i], boxes2[j]).
inline lossfn_status box_iou_matrix(const float *boxes1, std::size_t n, const float *boxes2, std::size_t m,
                           lossfn_box_format format, lossfn_iou_kind kind, double eps, float *out) {
    return detail::check(lossfn_box_iou_matrix_f32(boxes1, n, boxes2, m, format, kind, eps, out));
}
inline lossfn_status box_iou_matrix(const double *boxes1, std::size_t n, const double *boxes2, std::size_t m,
                           lossfn_box_format format, lossfn_iou_kind kind, double eps, double *out) {
    return detail::check(lossfn_box_iou_matrix_f64(boxes1, n, boxes2, m, format, kind, eps, out));
}
/// The n x m matrix (row-major) for boxes1 (n*4 values) against boxes2 (m*4 values).
template <class T>
std::vector<T> box_iou_matrix(const std::vector<T> &boxes1, const std::vector<T> &boxes2,
                              lossfn_box_format format = LOSSFN_BOX_XYXY, lossfn_iou_kind kind = LOSSFN_IOU_KIND_IOU,
                              double eps = 1e-7) {
    if (!(boxes1.size() % 4 == 0 && boxes2.size() % 4 == 0)) return detail::size_error<std::vector<T>>("box_iou_matrix: sizes are not multiples of 4");
    const std::size_t n = boxes1.size() / 4, m = boxes2.size() / 4;
    std::vector<T> out(n * m);
    // Without exceptions a failed call gives an empty matrix (lossfn_last_error() says why).
    if (box_iou_matrix(boxes1.data(), n, boxes2.data(), m, format, kind, eps, out.data()) != LOSSFN_OK) out.clear();
    return out;
}

// Distribution Focal Loss (ultralytics DFLoss): logits n*sides*bins, target n*sides, weight n or
// null; loss 1 value (n for NONE); grad_logits n*sides*bins or null.
/// n = target.size() / sides boxes; logits holds n*sides*bins values.
#define LOSSFN_DFL_(name)                                                                                                    \
    inline lossfn_status name(const float *logits, const float *target, const float *weight, std::size_t n,                  \
                                  std::size_t sides, std::size_t bins, const lossfn_dfl_options *options, float *loss,       \
                                  float *grad_logits) {                                                                      \
        return detail::check(lossfn_##name##_f32(logits, target, weight, n, sides, bins, options, loss, grad_logits));       \
    }                                                                                                                        \
    inline lossfn_status name(const double *logits, const double *target, const double *weight, std::size_t n,               \
                                  std::size_t sides, std::size_t bins, const lossfn_dfl_options *options, double *loss,      \
                                  double *grad_logits) {                                                                     \
        return detail::check(lossfn_##name##_f64(logits, target, weight, n, sides, bins, options, loss, grad_logits));       \
    }                                                                                                                        \
    template <class T>                                                                                                       \
    loss_grad<T> name(const std::vector<T> &logits, const std::vector<T> &target, std::size_t sides, std::size_t bins,       \
                          const lossfn_dfl_options &options = lossfn_dfl_options_default(),                                  \
                          const std::vector<detail::same_t<T>> *weight = nullptr, bool with_grad = true) {                   \
        LOSSFN_SIZE_CHECK_(sides > 0 && target.size() % sides == 0, #name ": target size is not a multiple of sides");       \
        const std::size_t n = target.size() / sides;                                                                         \
        LOSSFN_SIZE_CHECK_(logits.size() == target.size() * bins, #name ": logits size is not target size x bins");          \
        LOSSFN_SIZE_CHECK_(!weight || weight->size() == n, #name ": weight size is not the number of boxes");                \
        loss_grad<T> r{std::vector<T>(loss_size(options.reduction, n)), std::vector<T>(with_grad ? logits.size() : 0)};      \
        r.status = name(logits.data(), target.data(), detail::data_or_null(weight), n, sides, bins, &options, r.loss.data(), \
                            with_grad ? r.grad.data() : nullptr);                                                            \
        return r;                                                                                                            \
    }
LOSSFN_DFL_LOSSES(LOSSFN_DFL_)
#undef LOSSFN_DFL_

// The YOLOv8/11 box branch (ultralytics BboxLoss with DFL): logits n*4*bins, anchors n*2, target n*4
// xyxy, weight n or null; loss 2 values [L_iou, L_dfl] (1, the denominator, for MEAN_DENOMINATOR);
// grad_logits n*4*bins or null (the gradient of L_iou + L_dfl).
/// n = anchors.size() / 2 anchors; `value()` is L_iou, `loss[1]` L_dfl.
#define LOSSFN_DFL_BOX_(name)                                                                                                \
    inline lossfn_status name(const float *logits, const float *anchors, const float *target, const float *weight,           \
                              std::size_t n, std::size_t bins, const lossfn_dfl_box_options *options, float *loss,           \
                              float *grad_logits) {                                                                          \
        return detail::check(lossfn_##name##_f32(logits, anchors, target, weight, n, bins, options, loss, grad_logits));     \
    }                                                                                                                        \
    inline lossfn_status name(const double *logits, const double *anchors, const double *target, const double *weight,       \
                              std::size_t n, std::size_t bins, const lossfn_dfl_box_options *options, double *loss,          \
                              double *grad_logits) {                                                                         \
        return detail::check(lossfn_##name##_f64(logits, anchors, target, weight, n, bins, options, loss, grad_logits));     \
    }                                                                                                                        \
    template <class T>                                                                                                       \
    loss_grad<T> name(const std::vector<T> &logits, const std::vector<T> &anchors, const std::vector<detail::same_t<T>> &target, \
                      std::size_t bins, const lossfn_dfl_box_options &options = lossfn_dfl_box_options_default(),            \
                      const std::vector<detail::same_t<T>> *weight = nullptr, bool with_grad = true) {                       \
        LOSSFN_SIZE_CHECK_(anchors.size() % 2 == 0, #name ": anchors size is not a multiple of 2");                          \
        const std::size_t n = anchors.size() / 2;                                                                            \
        LOSSFN_SIZE_CHECK_(target.size() == 4 * n, #name ": target size is not 4 x the number of anchors");                  \
        LOSSFN_SIZE_CHECK_(logits.size() == target.size() * bins, #name ": logits size is not target size x bins");          \
        LOSSFN_SIZE_CHECK_(!weight || weight->size() == n, #name ": weight size is not the number of anchors");              \
        const std::size_t values = options.reduction == LOSSFN_REDUCTION_MEAN_DENOMINATOR ? 1 : 2;                           \
        loss_grad<T> r{std::vector<T>(values), std::vector<T>(with_grad ? logits.size() : 0)};                               \
        r.status = name(logits.data(), anchors.data(), target.data(), detail::data_or_null(weight), n, bins, &options,       \
                        r.loss.data(), with_grad ? r.grad.data() : nullptr);                                                 \
        return r;                                                                                                            \
    }
LOSSFN_DFL_BOX_LOSSES(LOSSFN_DFL_BOX_)
#undef LOSSFN_DFL_BOX_

// Keypoint OKS loss (ultralytics KeypointLoss): pred, target n*k*2; visible n*k; area n; sigmas k;
// loss 1 value (n*k for NONE); grad_pred n*k*2 or null.
/// n = area.size() instances of k = sigmas.size() keypoints.
#define LOSSFN_KEYPOINT_(name)                                                                                                 \
    inline lossfn_status name(const float *pred, const float *target, const float *visible, const float *area,                 \
                                           const float *sigmas, std::size_t n, std::size_t k,                                  \
                                           const lossfn_keypoint_options *options, float *loss, float *grad_pred) {            \
        return detail::check(lossfn_##name##_f32(pred, target, visible, area, sigmas, n, k, options, loss, grad_pred));        \
    }                                                                                                                          \
    inline lossfn_status name(const double *pred, const double *target, const double *visible, const double *area,             \
                                           const double *sigmas, std::size_t n, std::size_t k,                                 \
                                           const lossfn_keypoint_options *options, double *loss, double *grad_pred) {          \
        return detail::check(lossfn_##name##_f64(pred, target, visible, area, sigmas, n, k, options, loss, grad_pred));        \
    }                                                                                                                          \
    template <class T>                                                                                                         \
    loss_grad<T> name(const std::vector<T> &pred, const std::vector<T> &target, const std::vector<T> &visible,                 \
                                   const std::vector<T> &area, const std::vector<T> &sigmas,                                   \
                                   const lossfn_keypoint_options &options = lossfn_keypoint_options_default(),                 \
                                   bool with_grad = true) {                                                                    \
        const std::size_t n = area.size(), k = sigmas.size();                                                                  \
        LOSSFN_SIZE_CHECK_(pred.size() == n * k * 2 && target.size() == pred.size(), #name ": pred/target size is not n*k*2"); \
        LOSSFN_SIZE_CHECK_(visible.size() == n * k, #name ": visible size is not n*k");                                        \
        loss_grad<T> r{std::vector<T>(loss_size(options.reduction, n * k)), std::vector<T>(with_grad ? pred.size() : 0)};      \
        r.status = name(pred.data(), target.data(), visible.data(), area.data(), sigmas.data(), n, k, &options,                \
                                     r.loss.data(), with_grad ? r.grad.data() : nullptr);                                      \
        return r;                                                                                                              \
    }
LOSSFN_KEYPOINT_LOSSES(LOSSFN_KEYPOINT_)
#undef LOSSFN_KEYPOINT_

// ---- end boxes ----

// ---- classification (section owned by the classification losses) ----
// Cross entropy (index / probability targets), BCE with logits, entropy, KL divergence,
// distillation KL, sigmoid and softmax focal loss over a class tensor described by a
// lossfn_shape (batch, classes, spatial, layout). Index targets: int64_t, batch*spatial.

/// A class-tensor shape: [batch, classes] rows by default, or e.g. NCHW with
/// spatial = H*W and LOSSFN_LAYOUT_NCS.
inline lossfn_shape class_shape(std::size_t batch, std::size_t classes, std::size_t spatial = 1,
                                lossfn_layout layout = LOSSFN_LAYOUT_NSC) {
    lossfn_shape s;
    s.batch = batch;
    s.classes = classes;
    s.spatial = spatial;
    s.layout = layout;
    return s;
}

namespace detail {
inline std::size_t elements(const lossfn_shape &s) { return s.batch * s.classes * s.spatial; }
inline std::size_t positions(const lossfn_shape &s) { return s.batch * s.spatial; }
}  // namespace detail

// Each loss: raw-pointer overloads (sizes as in lossfn.h; throw lossfn::error on failure, or return
// the status) and a vector convenience that checks the sizes against `shape`, allocates the outputs
// (loss: 1 value, or per position / per element for NONE) and returns {loss, grad}.

#define LOSSFN_CROSS_ENTROPY_INDEX_(name)                                                                                             \
    inline lossfn_status name(const float *logits, const int64_t *target, const float *class_weight, lossfn_shape shape,              \
                              const lossfn_cross_entropy_options *options, float *loss, float *grad_logits) {                         \
        return detail::check(lossfn_##name##_f32(logits, target, class_weight, shape, options, loss, grad_logits));                   \
    }                                                                                                                                 \
    inline lossfn_status name(const double *logits, const int64_t *target, const double *class_weight, lossfn_shape shape,            \
                              const lossfn_cross_entropy_options *options, double *loss, double *grad_logits) {                       \
        return detail::check(lossfn_##name##_f64(logits, target, class_weight, shape, options, loss, grad_logits));                   \
    }                                                                                                                                 \
    template <class T>                                                                                                                \
    loss_grad<T> name(const std::vector<T> &logits, const std::vector<int64_t> &target, lossfn_shape shape,                           \
                               const lossfn_cross_entropy_options &options = lossfn_cross_entropy_options_default(),                  \
                               const std::vector<detail::same_t<T>> *class_weight = nullptr,                                          \
                               bool with_grad = true) {                                                                               \
        LOSSFN_SIZE_CHECK_(logits.size() == detail::elements(shape), #name ": logits size does not match shape");                     \
        LOSSFN_SIZE_CHECK_(target.size() == detail::positions(shape), #name ": target size does not match shape");                    \
        LOSSFN_SIZE_CHECK_(!class_weight || class_weight->size() == shape.classes, #name ": class_weight size does not match shape"); \
        loss_grad<T> r{std::vector<T>(loss_size(options.reduction, detail::positions(shape))),                                        \
                       std::vector<T>(with_grad ? logits.size() : 0)};                                                                \
        r.status = name(logits.data(), target.data(), detail::data_or_null(class_weight), shape, &options, r.loss.data(),             \
                      with_grad ? r.grad.data() : nullptr);                                                                           \
        return r;                                                                                                                     \
    }
LOSSFN_CROSS_ENTROPY_INDEX_LOSSES(LOSSFN_CROSS_ENTROPY_INDEX_)
#undef LOSSFN_CROSS_ENTROPY_INDEX_

#define LOSSFN_CROSS_ENTROPY_(name)                                                                                                   \
    inline lossfn_status name(const float *logits, const float *target, const float *class_weight, lossfn_shape shape,                \
                                   const lossfn_cross_entropy_options *options, float *loss, float *grad_logits) {                    \
        return detail::check(lossfn_##name##_f32(logits, target, class_weight, shape, options, loss, grad_logits));                   \
    }                                                                                                                                 \
    inline lossfn_status name(const double *logits, const double *target, const double *class_weight,                                 \
                                   lossfn_shape shape, const lossfn_cross_entropy_options *options, double *loss,                     \
                                   double *grad_logits) {                                                                             \
        return detail::check(lossfn_##name##_f64(logits, target, class_weight, shape, options, loss, grad_logits));                   \
    }                                                                                                                                 \
    template <class T>                                                                                                                \
    loss_grad<T> name(const std::vector<T> &logits, const std::vector<T> &target, lossfn_shape shape,                                 \
                                    const lossfn_cross_entropy_options &options = lossfn_cross_entropy_options_default(),             \
                                    const std::vector<detail::same_t<T>> *class_weight = nullptr,                                     \
                                    bool with_grad = true) {                                                                          \
        LOSSFN_SIZE_CHECK_(logits.size() == detail::elements(shape), #name ": logits size does not match shape");                     \
        LOSSFN_SIZE_CHECK_(target.size() == detail::elements(shape), #name ": target size does not match shape");                     \
        LOSSFN_SIZE_CHECK_(!class_weight || class_weight->size() == shape.classes, #name ": class_weight size does not match shape"); \
        loss_grad<T> r{std::vector<T>(loss_size(options.reduction, detail::positions(shape))),                                        \
                       std::vector<T>(with_grad ? logits.size() : 0)};                                                                \
        r.status = name(logits.data(), target.data(), detail::data_or_null(class_weight), shape, &options,                            \
                           r.loss.data(), with_grad ? r.grad.data() : nullptr);                                                       \
        return r;                                                                                                                     \
    }
LOSSFN_CROSS_ENTROPY_LOSSES(LOSSFN_CROSS_ENTROPY_)
#undef LOSSFN_CROSS_ENTROPY_

#define LOSSFN_BCE_(name)                                                                                                       \
    inline lossfn_status name(const float *logits, const float *target, const float *weight, const float *pos_weight,           \
                                lossfn_shape shape, const lossfn_bce_options *options, float *loss, float *grad_logits) {       \
        return detail::check(lossfn_##name##_f32(logits, target, weight, pos_weight, shape, options, loss, grad_logits));       \
    }                                                                                                                           \
    inline lossfn_status name(const double *logits, const double *target, const double *weight, const double *pos_weight,       \
                                lossfn_shape shape, const lossfn_bce_options *options, double *loss, double *grad_logits) {     \
        return detail::check(lossfn_##name##_f64(logits, target, weight, pos_weight, shape, options, loss, grad_logits));       \
    }                                                                                                                           \
    template <class T>                                                                                                          \
    loss_grad<T> name(const std::vector<T> &logits, const std::vector<T> &target, lossfn_shape shape,                           \
                                 const lossfn_bce_options &options = lossfn_bce_options_default(),                              \
                                 const std::vector<detail::same_t<T>> *weight = nullptr,                                        \
                                 const std::vector<detail::same_t<T>> *pos_weight = nullptr,                                    \
                                 bool with_grad = true) {                                                                       \
        LOSSFN_SIZE_CHECK_(logits.size() == detail::elements(shape), #name ": logits size does not match shape");               \
        LOSSFN_SIZE_CHECK_(target.size() == detail::elements(shape), #name ": target size does not match shape");               \
        LOSSFN_SIZE_CHECK_(!weight || weight->size() == detail::elements(shape), #name ": weight size does not match shape");   \
        LOSSFN_SIZE_CHECK_(!pos_weight || pos_weight->size() == shape.classes, #name ": pos_weight size does not match shape"); \
        loss_grad<T> r{std::vector<T>(loss_size(options.reduction, logits.size())),                                             \
                       std::vector<T>(with_grad ? logits.size() : 0)};                                                          \
        r.status = name(logits.data(), target.data(), detail::data_or_null(weight), detail::data_or_null(pos_weight),           \
                        shape, &options, r.loss.data(), with_grad ? r.grad.data() : nullptr);                                   \
        return r;                                                                                                               \
    }
LOSSFN_BCE_LOSSES(LOSSFN_BCE_)
#undef LOSSFN_BCE_

#define LOSSFN_ENTROPY_(name)                                                                                               \
    inline lossfn_status name(const float *input, lossfn_shape shape, const lossfn_entropy_options *options, float *loss,   \
                        float *grad_input) {                                                                                \
        return detail::check(lossfn_##name##_f32(input, shape, options, loss, grad_input));                                 \
    }                                                                                                                       \
    inline lossfn_status name(const double *input, lossfn_shape shape, const lossfn_entropy_options *options, double *loss, \
                        double *grad_input) {                                                                               \
        return detail::check(lossfn_##name##_f64(input, shape, options, loss, grad_input));                                 \
    }                                                                                                                       \
    template <class T>                                                                                                      \
    loss_grad<T> name(const std::vector<T> &input, lossfn_shape shape,                                                      \
                         const lossfn_entropy_options &options = lossfn_entropy_options_default(), bool with_grad = true) { \
        LOSSFN_SIZE_CHECK_(input.size() == detail::elements(shape), #name ": input size does not match shape");             \
        loss_grad<T> r{std::vector<T>(loss_size(options.reduction, detail::positions(shape))),                              \
                       std::vector<T>(with_grad ? input.size() : 0)};                                                       \
        r.status = name(input.data(), shape, &options, r.loss.data(), with_grad ? r.grad.data() : nullptr);                 \
        return r;                                                                                                           \
    }
LOSSFN_ENTROPY_LOSSES(LOSSFN_ENTROPY_)
#undef LOSSFN_ENTROPY_

#define LOSSFN_KL_DIV_(name)                                                                                                       \
    inline lossfn_status name(const float *input, const float *target, lossfn_shape shape, const lossfn_kl_div_options *options,   \
                       float *loss, float *grad_input) {                                                                           \
        return detail::check(lossfn_##name##_f32(input, target, shape, options, loss, grad_input));                                \
    }                                                                                                                              \
    inline lossfn_status name(const double *input, const double *target, lossfn_shape shape, const lossfn_kl_div_options *options, \
                       double *loss, double *grad_input) {                                                                         \
        return detail::check(lossfn_##name##_f64(input, target, shape, options, loss, grad_input));                                \
    }                                                                                                                              \
    template <class T>                                                                                                             \
    loss_grad<T> name(const std::vector<T> &input, const std::vector<T> &target, lossfn_shape shape,                               \
                        const lossfn_kl_div_options &options = lossfn_kl_div_options_default(), bool with_grad = true) {           \
        LOSSFN_SIZE_CHECK_(input.size() == detail::elements(shape), #name ": input size does not match shape");                    \
        LOSSFN_SIZE_CHECK_(target.size() == detail::elements(shape), #name ": target size does not match shape");                  \
        loss_grad<T> r{std::vector<T>(loss_size(options.reduction, input.size())),                                                 \
                       std::vector<T>(with_grad ? input.size() : 0)};                                                              \
        r.status = name(input.data(), target.data(), shape, &options, r.loss.data(), with_grad ? r.grad.data() : nullptr);         \
        return r;                                                                                                                  \
    }
LOSSFN_KL_DIV_LOSSES(LOSSFN_KL_DIV_)
#undef LOSSFN_KL_DIV_

#define LOSSFN_DISTILLATION_(name)                                                                                                \
    inline lossfn_status name(const float *student_logits, const float *teacher_logits, lossfn_shape shape,                       \
                              const lossfn_distillation_options *options, float *loss, float *grad_student) {                     \
        return detail::check(lossfn_##name##_f32(student_logits, teacher_logits, shape, options, loss, grad_student));            \
    }                                                                                                                             \
    inline lossfn_status name(const double *student_logits, const double *teacher_logits, lossfn_shape shape,                     \
                              const lossfn_distillation_options *options, double *loss, double *grad_student) {                   \
        return detail::check(lossfn_##name##_f64(student_logits, teacher_logits, shape, options, loss, grad_student));            \
    }                                                                                                                             \
    template <class T>                                                                                                            \
    loss_grad<T> name(const std::vector<T> &student_logits, const std::vector<T> &teacher_logits,                                 \
                               lossfn_shape shape,                                                                                \
                               const lossfn_distillation_options &options = lossfn_distillation_options_default(),                \
                               bool with_grad = true) {                                                                           \
        LOSSFN_SIZE_CHECK_(student_logits.size() == detail::elements(shape), #name ": student_logits size does not match shape"); \
        LOSSFN_SIZE_CHECK_(teacher_logits.size() == detail::elements(shape), #name ": teacher_logits size does not match shape"); \
        loss_grad<T> r{std::vector<T>(loss_size(options.reduction, detail::positions(shape))),                                    \
                       std::vector<T>(with_grad ? student_logits.size() : 0)};                                                    \
        r.status = name(student_logits.data(), teacher_logits.data(), shape, &options, r.loss.data(),                             \
                      with_grad ? r.grad.data() : nullptr);                                                                       \
        return r;                                                                                                                 \
    }
LOSSFN_DISTILLATION_LOSSES(LOSSFN_DISTILLATION_)
#undef LOSSFN_DISTILLATION_

#define LOSSFN_FOCAL_(name)                                                                                                   \
    inline lossfn_status name(const float *logits, const float *target, const float *weight, lossfn_shape shape,              \
                                   const lossfn_focal_options *options, float *loss, float *grad_logits) {                    \
        return detail::check(lossfn_##name##_f32(logits, target, weight, shape, options, loss, grad_logits));                 \
    }                                                                                                                         \
    inline lossfn_status name(const double *logits, const double *target, const double *weight, lossfn_shape shape,           \
                                   const lossfn_focal_options *options, double *loss, double *grad_logits) {                  \
        return detail::check(lossfn_##name##_f64(logits, target, weight, shape, options, loss, grad_logits));                 \
    }                                                                                                                         \
    template <class T>                                                                                                        \
    loss_grad<T> name(const std::vector<T> &logits, const std::vector<T> &target, lossfn_shape shape,                         \
                                    const lossfn_focal_options &options = lossfn_focal_options_default(),                     \
                                    const std::vector<detail::same_t<T>> *weight = nullptr,                                   \
                                    bool with_grad = true) {                                                                  \
        LOSSFN_SIZE_CHECK_(logits.size() == detail::elements(shape), #name ": logits size does not match shape");             \
        LOSSFN_SIZE_CHECK_(target.size() == detail::elements(shape), #name ": target size does not match shape");             \
        LOSSFN_SIZE_CHECK_(!weight || weight->size() == detail::elements(shape), #name ": weight size does not match shape"); \
        loss_grad<T> r{std::vector<T>(loss_size(options.reduction, logits.size())),                                           \
                       std::vector<T>(with_grad ? logits.size() : 0)};                                                        \
        r.status = name(logits.data(), target.data(), detail::data_or_null(weight), shape, &options, r.loss.data(),           \
                           with_grad ? r.grad.data() : nullptr);                                                              \
        return r;                                                                                                             \
    }
LOSSFN_FOCAL_LOSSES(LOSSFN_FOCAL_)
#undef LOSSFN_FOCAL_

// Varifocal (mmdet / ultralytics / RT-DETR with detach_weight) and Quality Focal (GFL) losses:
// elementwise over a class tensor, IoU-aware targets q; weight elementwise or null.
#define LOSSFN_QUALITY_FOCAL_(name)                                                                                           \
    inline lossfn_status name(const float *logits, const float *target, const float *weight, lossfn_shape shape,              \
                              const lossfn_quality_focal_options *options, float *loss, float *grad_logits) {                 \
        return detail::check(lossfn_##name##_f32(logits, target, weight, shape, options, loss, grad_logits));                 \
    }                                                                                                                         \
    inline lossfn_status name(const double *logits, const double *target, const double *weight, lossfn_shape shape,           \
                              const lossfn_quality_focal_options *options, double *loss, double *grad_logits) {               \
        return detail::check(lossfn_##name##_f64(logits, target, weight, shape, options, loss, grad_logits));                 \
    }                                                                                                                         \
    template <class T>                                                                                                        \
    loss_grad<T> name(const std::vector<T> &logits, const std::vector<T> &target, lossfn_shape shape,                         \
                      const lossfn_quality_focal_options &options = lossfn_quality_focal_options_default(),                   \
                      const std::vector<detail::same_t<T>> *weight = nullptr,                                                 \
                      bool with_grad = true) {                                                                                \
        LOSSFN_SIZE_CHECK_(logits.size() == detail::elements(shape), #name ": logits size does not match shape");             \
        LOSSFN_SIZE_CHECK_(target.size() == detail::elements(shape), #name ": target size does not match shape");             \
        LOSSFN_SIZE_CHECK_(!weight || weight->size() == detail::elements(shape), #name ": weight size does not match shape"); \
        loss_grad<T> r{std::vector<T>(loss_size(options.reduction, logits.size())),                                           \
                       std::vector<T>(with_grad ? logits.size() : 0)};                                                        \
        r.status = name(logits.data(), target.data(), detail::data_or_null(weight), shape, &options, r.loss.data(),           \
                        with_grad ? r.grad.data() : nullptr);                                                                 \
        return r;                                                                                                             \
    }
LOSSFN_QUALITY_FOCAL_LOSSES(LOSSFN_QUALITY_FOCAL_)
#undef LOSSFN_QUALITY_FOCAL_

#define LOSSFN_FOCAL_INDEX_(name)                                                                                                  \
    inline lossfn_status name(const float *logits, const int64_t *target, const float *class_alpha, lossfn_shape shape,            \
                                   const lossfn_focal_options *options, float *loss, float *grad_logits) {                         \
        return detail::check(lossfn_##name##_f32(logits, target, class_alpha, shape, options, loss, grad_logits));                 \
    }                                                                                                                              \
    inline lossfn_status name(const double *logits, const int64_t *target, const double *class_alpha,                              \
                                   lossfn_shape shape, const lossfn_focal_options *options, double *loss,                          \
                                   double *grad_logits) {                                                                          \
        return detail::check(lossfn_##name##_f64(logits, target, class_alpha, shape, options, loss, grad_logits));                 \
    }                                                                                                                              \
    template <class T>                                                                                                             \
    loss_grad<T> name(const std::vector<T> &logits, const std::vector<int64_t> &target, lossfn_shape shape,                        \
                                    const lossfn_focal_options &options = lossfn_focal_options_default(),                          \
                                    const std::vector<detail::same_t<T>> *class_alpha = nullptr,                                   \
                                    bool with_grad = true) {                                                                       \
        LOSSFN_SIZE_CHECK_(logits.size() == detail::elements(shape), #name ": logits size does not match shape");                  \
        LOSSFN_SIZE_CHECK_(target.size() == detail::positions(shape), #name ": target size does not match shape");                 \
        LOSSFN_SIZE_CHECK_(!class_alpha || class_alpha->size() == shape.classes, #name ": class_alpha size does not match shape"); \
        loss_grad<T> r{std::vector<T>(loss_size(options.reduction, detail::positions(shape))),                                     \
                       std::vector<T>(with_grad ? logits.size() : 0)};                                                             \
        r.status = name(logits.data(), target.data(), detail::data_or_null(class_alpha), shape, &options,                          \
                           r.loss.data(), with_grad ? r.grad.data() : nullptr);                                                    \
        return r;                                                                                                                  \
    }
LOSSFN_FOCAL_INDEX_LOSSES(LOSSFN_FOCAL_INDEX_)
#undef LOSSFN_FOCAL_INDEX_

// ---- end classification ----

// ---- overlap (section owned by the segmentation losses) ----
/// Number of loss values for these options: 1, or one per score for LOSSFN_REDUCTION_NONE
/// ([batch][C'] per sample, [C'] with options.batch; C' = classes, minus 1 without background).
inline std::size_t overlap_loss_size(const lossfn_shape &shape, const lossfn_overlap_options &options) {
    std::size_t classes = options.include_background ? shape.classes : (shape.classes ? shape.classes - 1 : 0);
    return loss_size(options.reduction, options.batch ? classes : shape.batch * classes);
}

// Dice and Tversky on index targets (int64, batch*spatial) or soft targets (the input's type and
// layout). Pointer overloads mirror the C functions; the vector ones allocate loss and grad.
#define LOSSFN_OVERLAP_INDEX_(name)                                                                                                   \
    inline lossfn_status name(const float *input, const int64_t *target, const float *class_weight, lossfn_shape shape,               \
                     const lossfn_overlap_options *options, float *loss, float *grad_input) {                                         \
        return detail::check(lossfn_##name##_f32(input, target, class_weight, shape, options, loss, grad_input));                     \
    }                                                                                                                                 \
    inline lossfn_status name(const double *input, const int64_t *target, const double *class_weight, lossfn_shape shape,             \
                     const lossfn_overlap_options *options, double *loss, double *grad_input) {                                       \
        return detail::check(lossfn_##name##_f64(input, target, class_weight, shape, options, loss, grad_input));                     \
    }                                                                                                                                 \
    template <class T>                                                                                                                \
    loss_grad<T> name(const std::vector<T> &input, const std::vector<int64_t> &target, lossfn_shape shape,                            \
                      const lossfn_overlap_options &options = lossfn_overlap_options_default(),                                       \
                      const std::vector<detail::same_t<T>> *class_weight = nullptr, bool with_grad = true) {                          \
        LOSSFN_SIZE_CHECK_(input.size() == shape.batch * shape.classes * shape.spatial,                                               \
            #name ": input size differs from batch*classes*spatial");                                                                 \
        LOSSFN_SIZE_CHECK_(target.size() == shape.batch * shape.spatial,                                                              \
            #name ": target size differs from batch*spatial");                                                                        \
        LOSSFN_SIZE_CHECK_(!class_weight || class_weight->size() == shape.classes, #name ": class_weight size differs from classes"); \
        loss_grad<T> r{std::vector<T>(overlap_loss_size(shape, options)), std::vector<T>(with_grad ? input.size() : 0)};              \
        r.status = name(input.data(), target.data(), detail::data_or_null(class_weight), shape, &options, r.loss.data(),              \
             with_grad ? r.grad.data() : nullptr);                                                                                    \
        return r;                                                                                                                     \
    }
LOSSFN_OVERLAP_INDEX_LOSSES(LOSSFN_OVERLAP_INDEX_)
#undef LOSSFN_OVERLAP_INDEX_
#define LOSSFN_OVERLAP_(name)                                                                                                         \
    inline lossfn_status name(const float *input, const float *target, const float *class_weight,                                     \
                            lossfn_shape shape, const lossfn_overlap_options *options, float *loss,                                   \
                            float *grad_input) {                                                                                      \
        return detail::check(lossfn_##name##_f32(input, target, class_weight, shape, options, loss, grad_input));                     \
    }                                                                                                                                 \
    inline lossfn_status name(const double *input, const double *target, const double *class_weight,                                  \
                            lossfn_shape shape, const lossfn_overlap_options *options, double *loss,                                  \
                            double *grad_input) {                                                                                     \
        return detail::check(lossfn_##name##_f64(input, target, class_weight, shape, options, loss, grad_input));                     \
    }                                                                                                                                 \
    template <class T>                                                                                                                \
    loss_grad<T> name(const std::vector<T> &input, const std::vector<T> &target, lossfn_shape shape,                                  \
                             const lossfn_overlap_options &options = lossfn_overlap_options_default(),                                \
                             const std::vector<detail::same_t<T>> *class_weight = nullptr, bool with_grad = true) {                   \
        LOSSFN_SIZE_CHECK_(input.size() == shape.batch * shape.classes * shape.spatial,                                               \
            #name ": input size differs from batch*classes*spatial");                                                                 \
        LOSSFN_SIZE_CHECK_(target.size() == input.size(),                                                                             \
            #name ": target size differs from input size");                                                                           \
        LOSSFN_SIZE_CHECK_(!class_weight || class_weight->size() == shape.classes, #name ": class_weight size differs from classes"); \
        loss_grad<T> r{std::vector<T>(overlap_loss_size(shape, options)), std::vector<T>(with_grad ? input.size() : 0)};              \
        r.status = name(input.data(), target.data(), detail::data_or_null(class_weight), shape, &options,                             \
                    r.loss.data(), with_grad ? r.grad.data() : nullptr);                                                              \
        return r;                                                                                                                     \
    }
LOSSFN_OVERLAP_LOSSES(LOSSFN_OVERLAP_)
#undef LOSSFN_OVERLAP_

/// Number of loss values of generalized Dice: 1, or for LOSSFN_REDUCTION_NONE one per sample
/// (1 with options.batch).
inline std::size_t generalized_dice_loss_size(const lossfn_shape &shape, const lossfn_overlap_options &options) {
    return loss_size(options.reduction, options.batch ? 1 : shape.batch);
}

namespace detail {
/// The second parameter's type of a C function pointer type (the target of generalized Dice).
template <class F> struct second_param;
template <class R, class A, class B, class... Rest> struct second_param<R (*)(A, B, Rest...)> {
    using type = B;
};
/// The element type of the target of C function F (int64_t for index targets, else the data type
/// of the vector form, T).
template <class F, class T>
using target_elem_t = typename std::conditional<
    std::is_same<typename second_param<F>::type, const int64_t *>::value, int64_t, T>::type;
}  // namespace detail

// Generalized Dice (no class_weight: its weights are its own), one macro for both lists: the
// target type (int64 class indices, batch*spatial; or soft targets in the input's type and layout)
// is read off the C function.
#define LOSSFN_GENERALIZED_DICE_(name)                                                                                         \
    inline lossfn_status name(const float *input, detail::target_elem_t<decltype(&lossfn_##name##_f32), float> const *target, \
                              lossfn_shape shape, const lossfn_overlap_options *options, float *loss, float *grad_input) {    \
        return detail::check(lossfn_##name##_f32(input, target, shape, options, loss, grad_input));                           \
    }                                                                                                                          \
    inline lossfn_status name(const double *input,                                                                             \
                              detail::target_elem_t<decltype(&lossfn_##name##_f64), double> const *target,                     \
                              lossfn_shape shape, const lossfn_overlap_options *options, double *loss, double *grad_input) {  \
        return detail::check(lossfn_##name##_f64(input, target, shape, options, loss, grad_input));                           \
    }                                                                                                                          \
    template <class T>                                                                                                         \
    loss_grad<T> name(const std::vector<T> &input,                                                                             \
                      const std::vector<detail::target_elem_t<decltype(&lossfn_##name##_f32), T>> &target,                   \
                      lossfn_shape shape, const lossfn_overlap_options &options = lossfn_overlap_options_default(),            \
                      bool with_grad = true) {                                                                                 \
        using tgt = detail::target_elem_t<decltype(&lossfn_##name##_f32), T>;                                                  \
        LOSSFN_SIZE_CHECK_(input.size() == shape.batch * shape.classes * shape.spatial,                                        \
            #name ": input size differs from batch*classes*spatial");                                                          \
        LOSSFN_SIZE_CHECK_(target.size() == (std::is_same<tgt, int64_t>::value ? shape.batch * shape.spatial : input.size()), \
            #name ": target size does not match shape");                                                                       \
        loss_grad<T> r{std::vector<T>(generalized_dice_loss_size(shape, options)),                                             \
                       std::vector<T>(with_grad ? input.size() : 0)};                                                          \
        r.status = name(input.data(), target.data(), shape, &options, r.loss.data(), with_grad ? r.grad.data() : nullptr);    \
        return r;                                                                                                              \
    }
LOSSFN_GENERALIZED_DICE_INDEX_LOSSES(LOSSFN_GENERALIZED_DICE_)
LOSSFN_GENERALIZED_DICE_LOSSES(LOSSFN_GENERALIZED_DICE_)
#undef LOSSFN_GENERALIZED_DICE_

// The batch score across data-parallel ranks in two phases (docs/distributed.md). Phase 1
// (overlap_stats, _soft) gives this rank's [TP, P, G] per class kept, in double; the trainer sums
// them over the ranks (MPI_Allreduce, SUM); phase 2 (overlap_loss_from_stats, _soft) gives the
// whole batch's loss and this rank's gradient. The target type (int64 class indices,
// batch*spatial; or soft targets in the input's type and layout) is read off the C function.
/// Number of statistics of the two phases: 3 per class kept (C' = classes, minus 1 without
/// background).
inline std::size_t overlap_stats_size(const lossfn_shape &shape, const lossfn_overlap_options &options) {
    return 3 * (options.include_background ? shape.classes : (shape.classes ? shape.classes - 1 : 0));
}
namespace detail {
/// The third parameter's type of a C function pointer type (the target of the two phases).
template <class F> struct third_param;
template <class R, class A, class B, class C, class... Rest> struct third_param<R (*)(A, B, C, Rest...)> {
    using type = C;
};
template <class F, class T>
using stats_target_t = typename std::conditional<
    std::is_same<typename third_param<F>::type, const int64_t *>::value, int64_t, T>::type;
}  // namespace detail
#define LOSSFN_OVERLAP_STATS_(name)                                                                                            \
    inline lossfn_status name(lossfn_overlap_kind kind, const float *input,                                                    \
                              detail::stats_target_t<decltype(&lossfn_##name##_f32), float> const *target, lossfn_shape shape, \
                              const lossfn_overlap_options *options, double *stats, std::size_t stats_len) {                   \
        return detail::check(lossfn_##name##_f32(kind, input, target, shape, options, stats, stats_len));                     \
    }                                                                                                                          \
    inline lossfn_status name(lossfn_overlap_kind kind, const double *input,                                                   \
                              detail::stats_target_t<decltype(&lossfn_##name##_f64), double> const *target,                    \
                              lossfn_shape shape, const lossfn_overlap_options *options, double *stats, std::size_t stats_len) { \
        return detail::check(lossfn_##name##_f64(kind, input, target, shape, options, stats, stats_len));                     \
    }                                                                                                                          \
    template <class T>                                                                                                         \
    std::vector<double> name(lossfn_overlap_kind kind, const std::vector<T> &input,                                            \
                             const std::vector<detail::stats_target_t<decltype(&lossfn_##name##_f32), T>> &target,           \
                             lossfn_shape shape, const lossfn_overlap_options &options) {                                      \
        using tgt = detail::stats_target_t<decltype(&lossfn_##name##_f32), T>;                                                 \
        if (!(input.size() == shape.batch * shape.classes * shape.spatial))                                                    \
            return detail::size_error<std::vector<double>>(#name ": input size differs from batch*classes*spatial");           \
        if (!(target.size() == (std::is_same<tgt, int64_t>::value ? shape.batch * shape.spatial : input.size())))            \
            return detail::size_error<std::vector<double>>(#name ": target size does not match shape");                        \
        std::vector<double> stats(overlap_stats_size(shape, options));                                                        \
        if (name(kind, input.data(), target.data(), shape, &options, stats.data(), stats.size()) != LOSSFN_OK) return {};     \
        return stats;                                                                                                          \
    }
LOSSFN_OVERLAP_STATS_INDEX_LOSSES(LOSSFN_OVERLAP_STATS_)
LOSSFN_OVERLAP_STATS_LOSSES(LOSSFN_OVERLAP_STATS_)
#undef LOSSFN_OVERLAP_STATS_
#define LOSSFN_OVERLAP_FROM_STATS_(name)                                                                                       \
    inline lossfn_status name(lossfn_overlap_kind kind, const float *input,                                                    \
                              detail::stats_target_t<decltype(&lossfn_##name##_f32), float> const *target,                     \
                              const float *class_weight, lossfn_shape shape, const lossfn_overlap_options *options,            \
                              const double *global_stats, std::size_t stats_len, float *loss, float *grad_input) {             \
        return detail::check(lossfn_##name##_f32(kind, input, target, class_weight, shape, options, global_stats, stats_len,   \
                                                 loss, grad_input));                                                           \
    }                                                                                                                          \
    inline lossfn_status name(lossfn_overlap_kind kind, const double *input,                                                   \
                              detail::stats_target_t<decltype(&lossfn_##name##_f64), double> const *target,                    \
                              const double *class_weight, lossfn_shape shape, const lossfn_overlap_options *options,           \
                              const double *global_stats, std::size_t stats_len, double *loss, double *grad_input) {           \
        return detail::check(lossfn_##name##_f64(kind, input, target, class_weight, shape, options, global_stats, stats_len,   \
                                                 loss, grad_input));                                                           \
    }                                                                                                                          \
    template <class T>                                                                                                         \
    loss_grad<T> name(lossfn_overlap_kind kind, const std::vector<T> &input,                                                   \
                      const std::vector<detail::stats_target_t<decltype(&lossfn_##name##_f32), T>> &target,                  \
                      lossfn_shape shape, const lossfn_overlap_options &options, const std::vector<double> &global_stats,      \
                      const std::vector<detail::same_t<T>> *class_weight = nullptr, bool with_grad = true) {                   \
        using tgt = detail::stats_target_t<decltype(&lossfn_##name##_f32), T>;                                                 \
        LOSSFN_SIZE_CHECK_(input.size() == shape.batch * shape.classes * shape.spatial,                                        \
            #name ": input size differs from batch*classes*spatial");                                                          \
        LOSSFN_SIZE_CHECK_(target.size() == (std::is_same<tgt, int64_t>::value ? shape.batch * shape.spatial : input.size()), \
            #name ": target size does not match shape");                                                                       \
        LOSSFN_SIZE_CHECK_(!class_weight || class_weight->size() == shape.classes, #name ": class_weight size differs from classes"); \
        std::size_t values = kind == LOSSFN_OVERLAP_GENERALIZED_DICE ? loss_size(options.reduction, 1)                         \
                                                                     : overlap_loss_size(shape, options);                      \
        loss_grad<T> r{std::vector<T>(values), std::vector<T>(with_grad ? input.size() : 0)};                                 \
        r.status = name(kind, input.data(), target.data(), detail::data_or_null(class_weight), shape, &options,               \
                        global_stats.data(), global_stats.size(), r.loss.data(), with_grad ? r.grad.data() : nullptr);        \
        return r;                                                                                                              \
    }
LOSSFN_OVERLAP_FROM_STATS_INDEX_LOSSES(LOSSFN_OVERLAP_FROM_STATS_)
LOSSFN_OVERLAP_FROM_STATS_LOSSES(LOSSFN_OVERLAP_FROM_STATS_)
#undef LOSSFN_OVERLAP_FROM_STATS_
namespace detail {
/// The options struct of a fused loss's second part: the sixth parameter of C function F.
template <class F> struct part_options;
template <class R, class A0, class A1, class A2, class A3, class A4, class O, class... Rest>
struct part_options<R (*)(A0, A1, A2, A3, A4, const O *, Rest...)> {
    using type = O;
};
}  // namespace detail

// Dice fused with a per-position loss on one softmax: dice_ce_loss (MONAI DiceCELoss; second
// struct lossfn_cross_entropy_options) and dice_focal_loss (softmax focal; lossfn_focal_options).
// loss is [total, dice part, other part]; the vector form's `other` may be nullptr (defaults).
#define LOSSFN_DICE_FUSED_(name)                                                                                              \
    inline lossfn_status name(const float *logits, const int64_t *target, const float *class_weight, lossfn_shape shape,      \
                              const lossfn_overlap_options *dice,                                                              \
                              const detail::part_options<decltype(&lossfn_##name##_f32)>::type *other, float *loss,            \
                              float *grad_logits) {                                                                             \
        return detail::check(lossfn_##name##_f32(logits, target, class_weight, shape, dice, other, loss, grad_logits));       \
    }                                                                                                                           \
    inline lossfn_status name(const double *logits, const int64_t *target, const double *class_weight, lossfn_shape shape,    \
                              const lossfn_overlap_options *dice,                                                              \
                              const detail::part_options<decltype(&lossfn_##name##_f64)>::type *other, double *loss,           \
                              double *grad_logits) {                                                                            \
        return detail::check(lossfn_##name##_f64(logits, target, class_weight, shape, dice, other, loss, grad_logits));       \
    }                                                                                                                           \
    template <class T>                                                                                                          \
    loss_grad<T> name(const std::vector<T> &logits, const std::vector<int64_t> &target, lossfn_shape shape,                    \
                      const lossfn_overlap_options &dice = lossfn_overlap_options_default(),                                   \
                      const detail::part_options<decltype(&lossfn_##name##_f32)>::type *other = nullptr,                       \
                      const std::vector<detail::same_t<T>> *class_weight = nullptr, bool with_grad = true) {                   \
        LOSSFN_SIZE_CHECK_(logits.size() == shape.batch * shape.classes * shape.spatial,                                       \
            #name ": logits size differs from batch*classes*spatial");                                                          \
        LOSSFN_SIZE_CHECK_(target.size() == shape.batch * shape.spatial, #name ": target size differs from batch*spatial");     \
        LOSSFN_SIZE_CHECK_(!class_weight || class_weight->size() == shape.classes, #name ": class_weight size differs from classes"); \
        loss_grad<T> r{std::vector<T>(3), std::vector<T>(with_grad ? logits.size() : 0)};                                      \
        r.status = name(logits.data(), target.data(), detail::data_or_null(class_weight), shape, &dice, other, r.loss.data(),  \
                        with_grad ? r.grad.data() : nullptr);                                                                   \
        return r;                                                                                                               \
    }
LOSSFN_DICE_CE_LOSSES(LOSSFN_DICE_FUSED_)
LOSSFN_DICE_FOCAL_LOSSES(LOSSFN_DICE_FUSED_)
#undef LOSSFN_DICE_FUSED_

/// Number of loss values of the Lovász losses: 1, or for LOSSFN_REDUCTION_NONE with
/// options.per_image one per image.
inline std::size_t lovasz_loss_size(const lossfn_shape &shape, const lossfn_lovasz_options &options) {
    return loss_size(options.reduction, options.per_image ? shape.batch : 1);
}

// Lovász-Softmax (int64 class indices, batch*spatial) and the Lovász hinge (binary targets in the
// input's type, batch*spatial; classes = 1), one macro for both lists: the target type is read
// off the C function.
#define LOSSFN_LOVASZ_(name)                                                                                                   \
    inline lossfn_status name(const float *input, detail::target_elem_t<decltype(&lossfn_##name##_f32), float> const *target, \
                              lossfn_shape shape, const lossfn_lovasz_options *options, float *loss, float *grad_input) {     \
        return detail::check(lossfn_##name##_f32(input, target, shape, options, loss, grad_input));                           \
    }                                                                                                                          \
    inline lossfn_status name(const double *input,                                                                             \
                              detail::target_elem_t<decltype(&lossfn_##name##_f64), double> const *target,                     \
                              lossfn_shape shape, const lossfn_lovasz_options *options, double *loss, double *grad_input) {   \
        return detail::check(lossfn_##name##_f64(input, target, shape, options, loss, grad_input));                           \
    }                                                                                                                          \
    template <class T>                                                                                                         \
    loss_grad<T> name(const std::vector<T> &input,                                                                             \
                      const std::vector<detail::target_elem_t<decltype(&lossfn_##name##_f32), T>> &target,                   \
                      lossfn_shape shape, const lossfn_lovasz_options &options = lossfn_lovasz_options_default(),              \
                      bool with_grad = true) {                                                                                 \
        LOSSFN_SIZE_CHECK_(input.size() == shape.batch * shape.classes * shape.spatial,                                        \
            #name ": input size differs from batch*classes*spatial");                                                          \
        LOSSFN_SIZE_CHECK_(target.size() == shape.batch * shape.spatial, #name ": target size differs from batch*spatial");   \
        loss_grad<T> r{std::vector<T>(lovasz_loss_size(shape, options)), std::vector<T>(with_grad ? input.size() : 0)};       \
        r.status = name(input.data(), target.data(), shape, &options, r.loss.data(), with_grad ? r.grad.data() : nullptr);    \
        return r;                                                                                                              \
    }
LOSSFN_LOVASZ_INDEX_LOSSES(LOSSFN_LOVASZ_)
LOSSFN_LOVASZ_LOSSES(LOSSFN_LOVASZ_)
#undef LOSSFN_LOVASZ_
// ---- end overlap ----

}  // namespace lossfn

#undef LOSSFN_SIZE_CHECK_

#endif  // LOSSFN_HPP
