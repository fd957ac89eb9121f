//! C entry points of the classification family: cross entropy (index and probability
//! targets), BCE with logits, entropy, KL divergence, distillation KL, sigmoid and softmax focal.
use super::*;
use crate::api::classification::{self as api, EntropyInput};
use crate::api::Float;

/// Options of lossfn_cross_entropy_* (NULL = lossfn_cross_entropy_options_default()).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct lossfn_cross_entropy_options {
    /// LOSSFN_REDUCTION_NONE, _MEAN (default: weighted by `class_weight[target]`, as torch) or _SUM.
    pub reduction: lossfn_reduction,
    /// Index targets only: positions with this target count nowhere. -100.
    pub ignore_index: i64,
    /// 0.0; in [0, 1]: the target becomes (1 - label_smoothing)·onehot + label_smoothing/classes.
    pub label_smoothing: f64,
    /// 1.0; finite. Multiplies every loss value and the gradient (docs/api.md §3).
    pub loss_weight: f64,
    /// 0.0 = unused; > 0 (MEAN only): MEAN divides by it instead of its own denominator.
    pub avg_factor: f64,
    /// false: grad = dL; true: grad += dL.
    pub accumulate: bool,
}

/// The defaults: MEAN, ignore_index -100, label_smoothing 0.
#[no_mangle]
pub extern "C" fn lossfn_cross_entropy_options_default() -> lossfn_cross_entropy_options {
    lossfn_cross_entropy_options { reduction: LOSSFN_REDUCTION_MEAN, ignore_index: -100, label_smoothing: 0.0, loss_weight: 1.0, avg_factor: 0.0, accumulate: false }
}
c_options!(lossfn_cross_entropy_options, lossfn_cross_entropy_options_default, [accumulate]);

impl lossfn_cross_entropy_options {
    /// The safe API's options (the raw reduction checked).
    pub(crate) fn safe(&self) -> Result<api::CrossEntropyOptions> {
        let o = self;
        Ok(safe_options!(o, api::CrossEntropyOptions { ignore_index, label_smoothing }))
    }
}

/// Options of lossfn_bce_with_logits_* (NULL = lossfn_bce_options_default()).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct lossfn_bce_options {
    /// LOSSFN_REDUCTION_NONE, _MEAN (default; weighted mean over `weight`) or _SUM.
    pub reduction: lossfn_reduction,
    /// 1.0; finite. Multiplies every loss value and the gradient (docs/api.md §3).
    pub loss_weight: f64,
    /// 0.0 = unused; > 0 (MEAN only): MEAN divides by it instead of its own denominator.
    pub avg_factor: f64,
    /// false: grad = dL; true: grad += dL.
    pub accumulate: bool,
}

/// The defaults: MEAN.
#[no_mangle]
pub extern "C" fn lossfn_bce_options_default() -> lossfn_bce_options {
    lossfn_bce_options { reduction: LOSSFN_REDUCTION_MEAN, loss_weight: 1.0, avg_factor: 0.0, accumulate: false }
}
c_options!(lossfn_bce_options, lossfn_bce_options_default, [accumulate]);

/// What lossfn_entropy_* receives.
pub type lossfn_input_kind = u32;
/// Logits: softmax over the class axis is applied inside.
pub const LOSSFN_INPUT_LOGITS: lossfn_input_kind = 0;
/// Probabilities already (0·log 0 = 0; the gradient uses max(p, smallest normal)).
pub const LOSSFN_INPUT_PROBS: lossfn_input_kind = 1;

/// Options of lossfn_entropy_* (NULL = lossfn_entropy_options_default()).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct lossfn_entropy_options {
    /// LOSSFN_REDUCTION_NONE, _MEAN (default; over batch*spatial) or _SUM.
    pub reduction: lossfn_reduction,
    /// LOSSFN_INPUT_LOGITS (default) or LOSSFN_INPUT_PROBS.
    pub input: lossfn_input_kind,
    /// 1.0; finite. Multiplies every loss value and the gradient (docs/api.md §3).
    pub loss_weight: f64,
    /// 0.0 = unused; > 0 (MEAN only): MEAN divides by it instead of its own denominator.
    pub avg_factor: f64,
    /// false: grad = dL; true: grad += dL.
    pub accumulate: bool,
}

/// The defaults: MEAN, LOGITS.
#[no_mangle]
pub extern "C" fn lossfn_entropy_options_default() -> lossfn_entropy_options {
    lossfn_entropy_options { reduction: LOSSFN_REDUCTION_MEAN, input: LOSSFN_INPUT_LOGITS, loss_weight: 1.0, avg_factor: 0.0, accumulate: false }
}
c_options!(lossfn_entropy_options, lossfn_entropy_options_default, [accumulate]);

/// Options of lossfn_kl_div_* (NULL = lossfn_kl_div_options_default()).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct lossfn_kl_div_options {
    /// LOSSFN_REDUCTION_MEAN (default; over every element, as torch), _BATCHMEAN (the true KL
    /// per sample: SUM / batch), _SUM or _NONE.
    pub reduction: lossfn_reduction,
    /// false: target holds probabilities; true: log-probabilities.
    pub log_target: bool,
    /// 1.0; finite. Multiplies every loss value and the gradient (docs/api.md §3).
    pub loss_weight: f64,
    /// 0.0 = unused; > 0 (MEAN only): MEAN divides by it instead of its own denominator.
    pub avg_factor: f64,
    /// false: grad = dL; true: grad += dL.
    pub accumulate: bool,
}

/// The defaults: MEAN, log_target false.
#[no_mangle]
pub extern "C" fn lossfn_kl_div_options_default() -> lossfn_kl_div_options {
    lossfn_kl_div_options { reduction: LOSSFN_REDUCTION_MEAN, log_target: false, loss_weight: 1.0, avg_factor: 0.0, accumulate: false }
}
c_options!(lossfn_kl_div_options, lossfn_kl_div_options_default, [log_target, accumulate]);

/// Options of lossfn_kl_div_logits_* (NULL = lossfn_distillation_options_default()).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct lossfn_distillation_options {
    /// LOSSFN_REDUCTION_BATCHMEAN (default; SUM / batch), _MEAN (SUM / (batch*spatial)), _SUM or _NONE.
    pub reduction: lossfn_reduction,
    /// Softmax temperature T: 1.0; > 0.
    pub temperature: f64,
    /// 1.0; finite. Multiplies every loss value and the gradient (docs/api.md §3).
    pub loss_weight: f64,
    /// 0.0 = unused; > 0 (MEAN only): MEAN divides by it instead of its own denominator.
    pub avg_factor: f64,
    /// false: grad = dL; true: grad += dL.
    pub accumulate: bool,
}

/// The defaults: BATCHMEAN, temperature 1.
#[no_mangle]
pub extern "C" fn lossfn_distillation_options_default() -> lossfn_distillation_options {
    lossfn_distillation_options { reduction: LOSSFN_REDUCTION_BATCHMEAN, temperature: 1.0, loss_weight: 1.0, avg_factor: 0.0, accumulate: false }
}
c_options!(lossfn_distillation_options, lossfn_distillation_options_default, [accumulate]);

/// Options of the focal losses (NULL = lossfn_focal_options_default()).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct lossfn_focal_options {
    /// LOSSFN_REDUCTION_NONE, _MEAN (default) or _SUM.
    pub reduction: lossfn_reduction,
    /// Sigmoid only: 0.25; in [0, 1], or negative to disable the alpha_t factor (torchvision);
    /// (1, inf) is INVALID_OPTION (it gives negative loss terms). Softmax: unused.
    pub alpha: f64,
    /// Focusing parameter: 2.0; finite, >= 0 (0 gives the plain cross entropy).
    pub gamma: f64,
    /// Softmax only: positions with this target count nowhere. -100.
    pub ignore_index: i64,
    /// 1.0; finite. Multiplies every loss value and the gradient (docs/api.md §3).
    pub loss_weight: f64,
    /// 0.0 = unused; > 0 (MEAN only): MEAN divides by it instead of its own denominator.
    pub avg_factor: f64,
    /// false: grad = dL; true: grad += dL.
    pub accumulate: bool,
}

/// The defaults: MEAN, alpha 0.25, gamma 2, ignore_index -100.
#[no_mangle]
pub extern "C" fn lossfn_focal_options_default() -> lossfn_focal_options {
    lossfn_focal_options { reduction: LOSSFN_REDUCTION_MEAN, alpha: 0.25, gamma: 2.0, ignore_index: -100, loss_weight: 1.0, avg_factor: 0.0, accumulate: false }
}
c_options!(lossfn_focal_options, lossfn_focal_options_default, [accumulate]);

impl lossfn_focal_options {
    /// The safe API's options (the raw reduction checked).
    pub(crate) fn safe(&self) -> Result<api::FocalOptions> {
        let o = self;
        Ok(safe_options!(o, api::FocalOptions { alpha, gamma, ignore_index }))
    }
}

/// Options of lossfn_varifocal_loss and lossfn_quality_focal_loss (NULL =
/// lossfn_quality_focal_options_default()).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct lossfn_quality_focal_options {
    /// LOSSFN_REDUCTION_NONE, _MEAN (default) or _SUM; every element is a term.
    pub reduction: lossfn_reduction,
    /// Varifocal: 0.75, the weight of the negatives; finite, >= 0. Quality focal: unused.
    pub alpha: f64,
    /// Varifocal: 2.0; quality focal: its beta, 2.0; finite, >= 0.
    pub gamma: f64,
    /// Varifocal: true (positives weighted by their target q; false: by 1).
    pub iou_weighted: bool,
    /// Varifocal: false (mmdet, ultralytics); true: no gradient through the modulating weight
    /// (RT-DETR's .detach()).
    pub detach_weight: bool,
    /// 1.0; finite. Multiplies every loss value and the gradient (docs/api.md §3).
    pub loss_weight: f64,
    /// 0.0 = unused; > 0 (MEAN only): MEAN divides by it instead of its own denominator.
    pub avg_factor: f64,
    /// false: grad = dL; true: grad += dL.
    pub accumulate: bool,
}

/// The defaults: MEAN, alpha 0.75, gamma 2, iou_weighted, no detach.
#[no_mangle]
pub extern "C" fn lossfn_quality_focal_options_default() -> lossfn_quality_focal_options {
    lossfn_quality_focal_options {
        reduction: LOSSFN_REDUCTION_MEAN,
        alpha: 0.75,
        gamma: 2.0,
        iou_weighted: true,
        detach_weight: false,
        loss_weight: 1.0,
        avg_factor: 0.0,
        accumulate: false,
    }
}
c_options!(lossfn_quality_focal_options, lossfn_quality_focal_options_default, [iou_weighted, detach_weight, accumulate]);

/// The shared body of lossfn_cross_entropy_f32/_f64.
#[allow(clippy::too_many_arguments)]
unsafe fn cross_entropy<T: Float>(
    logits: *const T,
    target: *const i64,
    class_weight: *const T,
    shape: lossfn_shape,
    options: *const lossfn_cross_entropy_options,
    loss: *mut T,
    grad_logits: *mut T,
) -> lossfn_status {
    ffi_boundary! {
        let o: lossfn_cross_entropy_options = unsafe { read_options("options", options)? };
        let o = o.safe()?;
        let controls = api::prepare_cross_entropy(&o)?;
        let shape = shape_of(shape)?;
        let mut io = Io::new();
        let logits = unsafe { io.input("logits", logits, shape.len())? };
        let target = unsafe { io.input("target", target, shape.positions())? };
        let class_weight = unsafe { io.optional_input("class_weight", class_weight, shape.classes)? };
        let loss = unsafe { io.output("loss", loss, controls.loss_len(shape.positions()))? };
        let grad = unsafe { io.optional_output("grad_logits", grad_logits, shape.len())? };
        api::compute_cross_entropy(&controls, logits, target, class_weight, shape, &o, loss, grad)
    }
}

/// The shared body of lossfn_cross_entropy_soft_f32/_f64.
#[allow(clippy::too_many_arguments)]
unsafe fn cross_entropy_soft<T: Float>(
    logits: *const T,
    target: *const T,
    class_weight: *const T,
    shape: lossfn_shape,
    options: *const lossfn_cross_entropy_options,
    loss: *mut T,
    grad_logits: *mut T,
) -> lossfn_status {
    ffi_boundary! {
        let o: lossfn_cross_entropy_options = unsafe { read_options("options", options)? };
        let o = o.safe()?;
        let controls = api::prepare_cross_entropy_soft(&o)?;
        let shape = shape_of(shape)?;
        let mut io = Io::new();
        let logits = unsafe { io.input("logits", logits, shape.len())? };
        let target = unsafe { io.input("target", target, shape.len())? };
        let class_weight = unsafe { io.optional_input("class_weight", class_weight, shape.classes)? };
        let loss = unsafe { io.output("loss", loss, controls.loss_len(shape.positions()))? };
        let grad = unsafe { io.optional_output("grad_logits", grad_logits, shape.len())? };
        api::compute_cross_entropy_soft(&controls, logits, target, class_weight, shape, &o, loss, grad)
    }
}

/// The shared body of lossfn_bce_with_logits_f32/_f64.
#[allow(clippy::too_many_arguments)]
unsafe fn bce_with_logits<T: Float>(
    logits: *const T,
    target: *const T,
    weight: *const T,
    pos_weight: *const T,
    shape: lossfn_shape,
    options: *const lossfn_bce_options,
    loss: *mut T,
    grad_logits: *mut T,
) -> lossfn_status {
    ffi_boundary! {
        let o: lossfn_bce_options = unsafe { read_options("options", options)? };
        let o = safe_options!(o, api::BceOptions {});
        let controls = api::prepare_bce(&o)?;
        let shape = shape_of(shape)?;
        let n = shape.len();
        let mut io = Io::new();
        let logits = unsafe { io.input("logits", logits, n)? };
        let target = unsafe { io.input("target", target, n)? };
        let weight = unsafe { io.optional_input("weight", weight, n)? };
        let pos_weight = unsafe { io.optional_input("pos_weight", pos_weight, shape.classes)? };
        let loss = unsafe { io.output("loss", loss, controls.loss_len(n))? };
        let grad = unsafe { io.optional_output("grad_logits", grad_logits, n)? };
        api::compute_bce_with_logits(&controls, logits, target, weight, pos_weight, shape, loss, grad)
    }
}

/// The shared body of lossfn_entropy_f32/_f64.
unsafe fn entropy<T: Float>(
    input: *const T,
    shape: lossfn_shape,
    options: *const lossfn_entropy_options,
    loss: *mut T,
    grad_input: *mut T,
) -> lossfn_status {
    ffi_boundary! {
        let o: lossfn_entropy_options = unsafe { read_options("options", options)? };
        let o = safe_options!(o, api::EntropyOptions {
            input: match o.input {
                LOSSFN_INPUT_LOGITS => EntropyInput::Logits,
                LOSSFN_INPUT_PROBS => EntropyInput::Probs,
                v => return Err(Error::option(format!("`options.input` = {v} is not a lossfn_input_kind (LOGITS = 0, PROBS = 1)"))),
            }
        });
        let controls = api::prepare_entropy(&o)?;
        let shape = shape_of(shape)?;
        let mut io = Io::new();
        let input = unsafe { io.input("input", input, shape.len())? };
        let loss = unsafe { io.output("loss", loss, controls.loss_len(shape.positions()))? };
        let grad = unsafe { io.optional_output("grad_input", grad_input, shape.len())? };
        api::compute_entropy(&controls, input, shape, &o, loss, grad)
    }
}

/// The shared body of lossfn_kl_div_f32/_f64.
unsafe fn kl_div<T: Float>(
    input: *const T,
    target: *const T,
    shape: lossfn_shape,
    options: *const lossfn_kl_div_options,
    loss: *mut T,
    grad_input: *mut T,
) -> lossfn_status {
    ffi_boundary! {
        let o: lossfn_kl_div_options = unsafe { read_options("options", options)? };
        let o = safe_options!(o, api::KlDivOptions { log_target });
        let controls = api::prepare_kl_div(&o)?;
        let shape = shape_of(shape)?;
        let n = shape.len();
        let mut io = Io::new();
        let input = unsafe { io.input("input", input, n)? };
        let target = unsafe { io.input("target", target, n)? };
        let loss = unsafe { io.output("loss", loss, controls.loss_len(n))? };
        let grad = unsafe { io.optional_output("grad_input", grad_input, n)? };
        api::compute_kl_div(&controls, input, target, shape, &o, loss, grad)
    }
}

/// The shared body of lossfn_kl_div_logits_f32/_f64.
unsafe fn kl_div_logits<T: Float>(
    student_logits: *const T,
    teacher_logits: *const T,
    shape: lossfn_shape,
    options: *const lossfn_distillation_options,
    loss: *mut T,
    grad_student: *mut T,
) -> lossfn_status {
    ffi_boundary! {
        let o: lossfn_distillation_options = unsafe { read_options("options", options)? };
        let o = safe_options!(o, api::DistillationOptions { temperature });
        let controls = api::prepare_distillation(&o)?;
        let shape = shape_of(shape)?;
        let n = shape.len();
        let mut io = Io::new();
        let student = unsafe { io.input("student_logits", student_logits, n)? };
        let teacher = unsafe { io.input("teacher_logits", teacher_logits, n)? };
        let loss = unsafe { io.output("loss", loss, controls.loss_len(shape.positions()))? };
        let grad = unsafe { io.optional_output("grad_student", grad_student, n)? };
        api::compute_kl_div_logits(&controls, student, teacher, shape, &o, loss, grad)
    }
}

/// The shared body of lossfn_sigmoid_focal_loss_f32/_f64.
#[allow(clippy::too_many_arguments)]
unsafe fn sigmoid_focal_loss<T: Float>(
    logits: *const T,
    target: *const T,
    weight: *const T,
    shape: lossfn_shape,
    options: *const lossfn_focal_options,
    loss: *mut T,
    grad_logits: *mut T,
) -> lossfn_status {
    ffi_boundary! {
        let o: lossfn_focal_options = unsafe { read_options("options", options)? };
        let o = o.safe()?;
        let controls = api::prepare_sigmoid_focal(&o)?;
        let shape = shape_of(shape)?;
        let n = shape.len();
        let mut io = Io::new();
        let logits = unsafe { io.input("logits", logits, n)? };
        let target = unsafe { io.input("target", target, n)? };
        let weight = unsafe { io.optional_input("weight", weight, n)? };
        let loss = unsafe { io.output("loss", loss, controls.loss_len(n))? };
        let grad = unsafe { io.optional_output("grad_logits", grad_logits, n)? };
        api::compute_sigmoid_focal(&controls, logits, target, weight, shape, &o, loss, grad)
    }
}

/// The shared body of the varifocal and quality focal entry points.
#[allow(clippy::too_many_arguments)]
unsafe fn quality_focal<T: Float>(
    varifocal: bool,
    logits: *const T,
    target: *const T,
    weight: *const T,
    shape: lossfn_shape,
    options: *const lossfn_quality_focal_options,
    loss: *mut T,
    grad_logits: *mut T,
) -> lossfn_status {
    ffi_boundary! {
        let o: lossfn_quality_focal_options = unsafe { read_options("options", options)? };
        let o = safe_options!(o, api::QualityFocalOptions { alpha, gamma, iou_weighted, detach_weight });
        let controls = api::prepare_quality_focal(varifocal, &o)?;
        let shape = shape_of(shape)?;
        let n = shape.len();
        let mut io = Io::new();
        let logits = unsafe { io.input("logits", logits, n)? };
        let target = unsafe { io.input("target", target, n)? };
        let weight = unsafe { io.optional_input("weight", weight, n)? };
        let loss = unsafe { io.output("loss", loss, controls.loss_len(n))? };
        let grad = unsafe { io.optional_output("grad_logits", grad_logits, n)? };
        api::compute_quality_focal(varifocal, &controls, logits, target, weight, shape, &o, loss, grad)
    }
}

/// The shared body of lossfn_softmax_focal_loss_f32/_f64.
#[allow(clippy::too_many_arguments)]
unsafe fn softmax_focal_loss<T: Float>(
    logits: *const T,
    target: *const i64,
    class_alpha: *const T,
    shape: lossfn_shape,
    options: *const lossfn_focal_options,
    loss: *mut T,
    grad_logits: *mut T,
) -> lossfn_status {
    ffi_boundary! {
        let o: lossfn_focal_options = unsafe { read_options("options", options)? };
        let o = o.safe()?;
        let controls = api::prepare_softmax_focal(&o)?;
        let shape = shape_of(shape)?;
        let mut io = Io::new();
        let logits = unsafe { io.input("logits", logits, shape.len())? };
        let target = unsafe { io.input("target", target, shape.positions())? };
        let class_alpha = unsafe { io.optional_input("class_alpha", class_alpha, shape.classes)? };
        let loss = unsafe { io.output("loss", loss, controls.loss_len(shape.positions()))? };
        let grad = unsafe { io.optional_output("grad_logits", grad_logits, shape.len())? };
        api::compute_softmax_focal(&controls, logits, target, class_alpha, shape, &o, loss, grad)
    }
}

/// Softmax cross entropy over the class axis with int64 index targets (one per (n, s)), as
/// torch.nn.functional.cross_entropy for every combination of class_weight, ignore_index,
/// label_smoothing and reduction: `l = (1-eps)·w[y]·(-ln p_y) + (eps/C)·sum_c w[c]·(-ln p_c)`;
/// MEAN = `sum l / sum w[y]` over the non-ignored positions, 0 (not NaN) when that is 0.
/// A target outside [0, classes) that is not ignore_index -> LOSSFN_ERROR_INVALID_TARGET.
/// logits: batch*classes*spatial in shape.layout; class_weight: classes or NULL;
/// loss: 1, or batch*spatial for NONE; grad_logits: batch*classes*spatial or NULL.
///
/// # Safety
/// Pointers must be valid for the stated sizes (see the header's conventions).
#[no_mangle]
pub unsafe extern "C" fn lossfn_cross_entropy_f32(logits: *const f32, target: *const i64, class_weight: *const f32, shape: lossfn_shape, options: *const lossfn_cross_entropy_options, loss: *mut f32, grad_logits: *mut f32) -> lossfn_status {
    unsafe { cross_entropy(logits, target, class_weight, shape, options, loss, grad_logits) }
}
/// Cross entropy with index targets, double precision: see lossfn_cross_entropy_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_cross_entropy_f64(logits: *const f64, target: *const i64, class_weight: *const f64, shape: lossfn_shape, options: *const lossfn_cross_entropy_options, loss: *mut f64, grad_logits: *mut f64) -> lossfn_status {
    unsafe { cross_entropy(logits, target, class_weight, shape, options, loss, grad_logits) }
}
/// Softmax cross entropy with class-probability targets (target: batch*classes*spatial in the
/// logits' layout; ignore_index unused), as torch.nn.functional.cross_entropy with a float
/// target: `l = sum_c w[c]·t'_c·(-ln p_c)`, t' = (1-eps)·t + eps/C. MEAN divides by
/// batch*spatial (as torch, class weights or not). Sizes as lossfn_cross_entropy_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_cross_entropy_soft_f32(logits: *const f32, target: *const f32, class_weight: *const f32, shape: lossfn_shape, options: *const lossfn_cross_entropy_options, loss: *mut f32, grad_logits: *mut f32) -> lossfn_status {
    unsafe { cross_entropy_soft(logits, target, class_weight, shape, options, loss, grad_logits) }
}
/// Cross entropy with probability targets, double precision: see lossfn_cross_entropy_soft_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_cross_entropy_soft_f64(logits: *const f64, target: *const f64, class_weight: *const f64, shape: lossfn_shape, options: *const lossfn_cross_entropy_options, loss: *mut f64, grad_logits: *mut f64) -> lossfn_status {
    unsafe { cross_entropy_soft(logits, target, class_weight, shape, options, loss, grad_logits) }
}
/// Binary cross entropy on logits, as torch.nn.functional.binary_cross_entropy_with_logits
/// (log-sum-exp stable): `l = (1-t)·x + (1 + (pos_weight[c]-1)·t)·softplus(-x)`.
/// logits, target, weight (NULL ok): batch*classes*spatial in shape.layout; pos_weight:
/// classes or NULL. Term weight = `weight[i]`, so MEAN = sum w·l / sum w (torch divides by the
/// element count; identical without weight). loss: 1, or batch*classes*spatial for NONE.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_bce_with_logits_f32(logits: *const f32, target: *const f32, weight: *const f32, pos_weight: *const f32, shape: lossfn_shape, options: *const lossfn_bce_options, loss: *mut f32, grad_logits: *mut f32) -> lossfn_status {
    unsafe { bce_with_logits(logits, target, weight, pos_weight, shape, options, loss, grad_logits) }
}
/// BCE with logits, double precision: see lossfn_bce_with_logits_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_bce_with_logits_f64(logits: *const f64, target: *const f64, weight: *const f64, pos_weight: *const f64, shape: lossfn_shape, options: *const lossfn_bce_options, loss: *mut f64, grad_logits: *mut f64) -> lossfn_status {
    unsafe { bce_with_logits(logits, target, weight, pos_weight, shape, options, loss, grad_logits) }
}
/// Shannon entropy in nats over the class axis, H = -sum_c p_c ln p_c per position, of
/// softmax(input) (LOGITS) or of input itself (PROBS: 0·ln 0 = 0, gradient
/// -(ln max(p, smallest normal) + 1), finite at p = 0). MEAN divides by batch*spatial.
/// input: batch*classes*spatial; loss: 1, or batch*spatial for NONE; grad_input: as input or NULL.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_entropy_f32(input: *const f32, shape: lossfn_shape, options: *const lossfn_entropy_options, loss: *mut f32, grad_input: *mut f32) -> lossfn_status {
    unsafe { entropy(input, shape, options, loss, grad_input) }
}
/// Entropy, double precision: see lossfn_entropy_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_entropy_f64(input: *const f64, shape: lossfn_shape, options: *const lossfn_entropy_options, loss: *mut f64, grad_input: *mut f64) -> lossfn_status {
    unsafe { entropy(input, shape, options, loss, grad_input) }
}
/// KL divergence as torch.nn.functional.kl_div: input holds log-probabilities; pointwise
/// target·(ln target - input) (0 where target == 0), or exp(target)·(target - input) with
/// log_target. MEAN divides by every element (as torch), BATCHMEAN by batch (the true KL).
/// input, target: batch*classes*spatial; loss: 1, or batch*classes*spatial for NONE.
///
/// # Safety
/// Pointers must be valid for the stated sizes; `options->log_target` must be 0 or 1.
#[no_mangle]
pub unsafe extern "C" fn lossfn_kl_div_f32(input: *const f32, target: *const f32, shape: lossfn_shape, options: *const lossfn_kl_div_options, loss: *mut f32, grad_input: *mut f32) -> lossfn_status {
    unsafe { kl_div(input, target, shape, options, loss, grad_input) }
}
/// KL divergence, double precision: see lossfn_kl_div_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_kl_div_f64(input: *const f64, target: *const f64, shape: lossfn_shape, options: *const lossfn_kl_div_options, loss: *mut f64, grad_input: *mut f64) -> lossfn_status {
    unsafe { kl_div(input, target, shape, options, loss, grad_input) }
}
/// Knowledge distillation: T^2 · KL(softmax(teacher/T) || softmax(student/T)) over the class
/// axis, per position; gradient T·(p_student - p_teacher) w.r.t. the student logits only.
/// MEAN divides by batch*spatial, BATCHMEAN (default) by batch.
/// student_logits, teacher_logits: batch*classes*spatial; loss: 1, or batch*spatial for NONE.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_kl_div_logits_f32(student_logits: *const f32, teacher_logits: *const f32, shape: lossfn_shape, options: *const lossfn_distillation_options, loss: *mut f32, grad_student: *mut f32) -> lossfn_status {
    unsafe { kl_div_logits(student_logits, teacher_logits, shape, options, loss, grad_student) }
}
/// Distillation KL, double precision: see lossfn_kl_div_logits_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_kl_div_logits_f64(student_logits: *const f64, teacher_logits: *const f64, shape: lossfn_shape, options: *const lossfn_distillation_options, loss: *mut f64, grad_student: *mut f64) -> lossfn_status {
    unsafe { kl_div_logits(student_logits, teacher_logits, shape, options, loss, grad_student) }
}
/// Sigmoid focal loss, as torchvision.ops.sigmoid_focal_loss: alpha_t·(1-p_t)^gamma·BCE(x, t)
/// elementwise (alpha < 0 disables alpha_t); target in [0, 1]; weight elementwise or NULL
/// (term weight: MEAN = sum w·l / sum w). Gradients stay finite for gamma = 0 and gamma < 1.
/// logits, target, weight: batch*classes*spatial; loss: 1, or batch*classes*spatial for NONE.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_sigmoid_focal_loss_f32(logits: *const f32, target: *const f32, weight: *const f32, shape: lossfn_shape, options: *const lossfn_focal_options, loss: *mut f32, grad_logits: *mut f32) -> lossfn_status {
    unsafe { sigmoid_focal_loss(logits, target, weight, shape, options, loss, grad_logits) }
}
/// Sigmoid focal loss, double precision: see lossfn_sigmoid_focal_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_sigmoid_focal_loss_f64(logits: *const f64, target: *const f64, weight: *const f64, shape: lossfn_shape, options: *const lossfn_focal_options, loss: *mut f64, grad_logits: *mut f64) -> lossfn_status {
    unsafe { sigmoid_focal_loss(logits, target, weight, shape, options, loss, grad_logits) }
}
/// Multi-class (softmax) focal loss: `-class_alpha[y]·(1 - p_y)^gamma·ln p_y` with
/// p = softmax(logits) and int64 index targets (ignore_index as cross entropy); class_alpha:
/// classes or NULL (all 1); term weight 1 per non-ignored position. Sizes as
/// lossfn_cross_entropy_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_softmax_focal_loss_f32(logits: *const f32, target: *const i64, class_alpha: *const f32, shape: lossfn_shape, options: *const lossfn_focal_options, loss: *mut f32, grad_logits: *mut f32) -> lossfn_status {
    unsafe { softmax_focal_loss(logits, target, class_alpha, shape, options, loss, grad_logits) }
}
/// Softmax focal loss, double precision: see lossfn_softmax_focal_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_softmax_focal_loss_f64(logits: *const f64, target: *const i64, class_alpha: *const f64, shape: lossfn_shape, options: *const lossfn_focal_options, loss: *mut f64, grad_logits: *mut f64) -> lossfn_status {
    unsafe { softmax_focal_loss(logits, target, class_alpha, shape, options, loss, grad_logits) }
}

/// Varifocal loss (arXiv 2008.13367) as mmdet varifocal_loss / ultralytics VarifocalLoss /
/// RT-DETR loss_vfl (detach_weight): l = BCE(x, q) * (q > 0 ? (iou_weighted ? q : 1) :
/// alpha * |sigmoid(x) - q|^gamma), q the IoU-aware target (IoU of the assigned class for a
/// positive, 0 elsewhere). logits, target, weight (NULL ok): batch*classes*spatial values in
/// shape's layout; every element is a term. loss: 1 value, or batch*classes*spatial for NONE;
/// grad_logits: batch*classes*spatial values or NULL.
///
/// # Safety
/// Pointers must be valid for the stated sizes (see the header's conventions).
#[no_mangle]
pub unsafe extern "C" fn lossfn_varifocal_loss_f32(logits: *const f32, target: *const f32, weight: *const f32, shape: lossfn_shape, options: *const lossfn_quality_focal_options, loss: *mut f32, grad_logits: *mut f32) -> lossfn_status {
    unsafe { quality_focal(true, logits, target, weight, shape, options, loss, grad_logits) }
}
/// Varifocal loss, double precision: see lossfn_varifocal_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_varifocal_loss_f64(logits: *const f64, target: *const f64, weight: *const f64, shape: lossfn_shape, options: *const lossfn_quality_focal_options, loss: *mut f64, grad_logits: *mut f64) -> lossfn_status {
    unsafe { quality_focal(true, logits, target, weight, shape, options, loss, grad_logits) }
}
/// Quality Focal Loss (GFL) as mmdet quality_focal_loss with dense scores (its
/// quality_focal_loss_tensor_target): l = BCE(x, q) * |q - sigmoid(x)|^gamma (gamma is GFL's
/// beta), gradient through the modulator. mmdet sums over classes and averages over anchors or
/// divides by avg_factor: SUM, or MEAN with avg_factor, gives its value with avg_factor. Sizes
/// as lossfn_varifocal_loss_f32; alpha, iou_weighted and detach_weight are unused.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_quality_focal_loss_f32(logits: *const f32, target: *const f32, weight: *const f32, shape: lossfn_shape, options: *const lossfn_quality_focal_options, loss: *mut f32, grad_logits: *mut f32) -> lossfn_status {
    unsafe { quality_focal(false, logits, target, weight, shape, options, loss, grad_logits) }
}
/// Quality Focal Loss, double precision: see lossfn_quality_focal_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_quality_focal_loss_f64(logits: *const f64, target: *const f64, weight: *const f64, shape: lossfn_shape, options: *const lossfn_quality_focal_options, loss: *mut f64, grad_logits: *mut f64) -> lossfn_status {
    unsafe { quality_focal(false, logits, target, weight, shape, options, loss, grad_logits) }
}
