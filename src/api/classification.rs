//! Class-axis losses over a class tensor described by a [`Shape`] (batch, classes, spatial,
//! layout): cross entropy (index and probability targets), BCE with logits, entropy, KL
//! divergence, distillation KL, sigmoid / softmax focal, Varifocal and Quality Focal.
//!
//! Index targets are `i64`, one per position (n, s) at `n·spatial + s`; per-position outputs
//! (NONE) use the same order.
//!
//! ```
//! use lossfn::classification::{cross_entropy, CrossEntropyOptions, Layout, Shape};
//!
//! // Two rows of three classes ([N, C]), labels 0 and 2.
//! let logits = [2.0f32, 0.5, -1.0, 0.0, 0.0, 3.0];
//! let shape = Shape { batch: 2, classes: 3, spatial: 1, layout: Layout::Nsc };
//! let (mut loss, mut grad) = ([0f32], [0f32; 6]);
//! cross_entropy(&logits, &[0, 2], None, shape, &CrossEntropyOptions::default(), &mut loss, Some(&mut grad))?;
//! assert!(loss[0] > 0.0 && grad[0] < 0.0 && grad[5] < 0.0);
//!
//! // A label outside [0, classes) that is not ignore_index is refused, naming its position.
//! let err = cross_entropy(&logits, &[0, 3], None, shape, &CrossEntropyOptions::default(), &mut loss, None).unwrap_err();
//! assert!(matches!(err, lossfn::Error::InvalidTarget(_)));
//! # Ok::<(), lossfn::Error>(())
//! ```
use super::{check_len, check_opt_len, check_option, check_outputs, mul_size, run_loss, Float, Reduction};
use crate::error::{Error, Result};
use crate::kernels::classification::{self as k, InvalidTarget};
pub use crate::kernels::classification::{EntropyInput, Layout, Shape};
use crate::reduce::Controls;

/// Checks a shape: classes > 0, and batch·spatial·classes within `usize`.
pub(crate) fn check_shape(shape: &Shape) -> Result<()> {
    if shape.classes == 0 {
        return Err(Error::size("`shape.classes` is 0"));
    }
    let positions = mul_size("`shape`: batch x spatial", shape.batch, shape.spatial)?;
    mul_size("`shape`: batch x spatial x classes", positions, shape.classes)?;
    Ok(())
}

/// The INVALID_TARGET error of a bad index target, naming its (n, s) and value.
pub(crate) fn target_error(e: InvalidTarget, shape: &Shape, ignore_index: i64) -> Error {
    let (n, s) = (e.position / shape.spatial, e.position % shape.spatial);
    Error::target(format!(
        "`target` at (n={n}, s={s}) is {}: not a class in [0, {}) nor ignore_index ({ignore_index})",
        e.value, shape.classes
    ))
}

/// What one loss value of NONE covers.
#[derive(Clone, Copy)]
enum Per {
    Position,
    Element,
}

/// The shape and the lengths every class-axis call shares: the input (`name`) of the shape's
/// elements, the loss (one value per position or per element for NONE), the gradient.
#[allow(clippy::too_many_arguments)]
fn check_common<T>(shape: &Shape, controls: &Controls, name: &str, input: &[T], per: Per, loss: &[T], grad_name: &str, grad: Option<&[T]>) -> Result<()> {
    check_shape(shape)?;
    let terms = match per {
        Per::Position => shape.positions(),
        Per::Element => shape.len(),
    };
    check_len(name, input.len(), shape.len(), "batch x classes x spatial")?;
    check_outputs(controls, terms, loss, grad_name, grad, shape.len())
}

options! {
    /// Options of [`cross_entropy`] and [`cross_entropy_soft`] (`lossfn_cross_entropy_options`).
    CrossEntropyOptions {
        /// -100; index targets equal to it are ignored (probability targets accept only -100).
        ignore_index: i64 = -100,
        /// 0.0; in [0, 1].
        label_smoothing: f64 = 0.0,
    } reduction = Reduction::Mean
}
options! {
    /// Options of [`bce_with_logits`] (`lossfn_bce_options`).
    BceOptions {} reduction = Reduction::Mean
}
options! {
    /// Options of [`entropy`] (`lossfn_entropy_options`).
    EntropyOptions {
        /// LOGITS (default; softmax inside) or PROBS.
        input: EntropyInput = EntropyInput::Logits,
    } reduction = Reduction::Mean
}
options! {
    /// Options of [`kl_div`] (`lossfn_kl_div_options`); BATCHMEAN accepted.
    KlDivOptions {
        /// false; true: `target` holds log-probabilities.
        log_target: bool = false,
    } reduction = Reduction::Mean
}
options! {
    /// Options of [`kl_div_logits`] (`lossfn_distillation_options`); BATCHMEAN (default) accepted.
    DistillationOptions {
        /// 1.0; finite, > 0.
        temperature: f64 = 1.0,
    } reduction = Reduction::BatchMean
}
options! {
    /// Options of [`sigmoid_focal_loss`] and [`softmax_focal_loss`] (`lossfn_focal_options`).
    FocalOptions {
        /// Sigmoid focal only: 0.25; in [0, 1], or finite negative to disable it.
        alpha: f64 = 0.25,
        /// 2.0; finite, >= 0.
        gamma: f64 = 2.0,
        /// Softmax focal only: -100.
        ignore_index: i64 = -100,
    } reduction = Reduction::Mean
}
options! {
    /// Options of [`varifocal_loss`] and [`quality_focal_loss`] (`lossfn_quality_focal_options`).
    QualityFocalOptions {
        /// Varifocal only: 0.75; finite, >= 0.
        alpha: f64 = 0.75,
        /// 2.0; finite, >= 0.
        gamma: f64 = 2.0,
        /// Varifocal only: true (mmdet's default).
        iou_weighted: bool = true,
        /// Varifocal only: false; true detaches the focal weight (RT-DETR, ultralytics).
        detach_weight: bool = false,
    } reduction = Reduction::Mean
}

fn check_smoothing(eps: f64) -> Result<()> {
    check_option("options.label_smoothing", eps, (0.0..=1.0).contains(&eps), "in [0, 1]")
}

fn check_gamma(gamma: f64) -> Result<()> {
    check_option("options.gamma", gamma, gamma >= 0.0 && gamma.is_finite(), "finite, >= 0")
}

/// Softmax cross entropy with index targets, as `torch.nn.functional.cross_entropy` (class
/// weights, ignore_index, label smoothing). `logits`: batch·classes·spatial in `shape.layout`;
/// `target`: batch·spatial labels; `class_weight`: classes or `None`; `loss`: 1 value, or
/// batch·spatial for NONE; `grad_logits`: like `logits`, or `None`.
#[allow(clippy::too_many_arguments)]
pub fn cross_entropy<T: Float>(logits: &[T], target: &[i64], class_weight: Option<&[T]>, shape: Shape, options: &CrossEntropyOptions, loss: &mut [T], grad_logits: Option<&mut [T]>) -> Result<()> {
    let controls = prepare_cross_entropy(options)?;
    compute_cross_entropy(&controls, logits, target, class_weight, shape, options, loss, grad_logits)
}

/// Validates the options of [`cross_entropy`] (the C API does so before its buffers).
pub(crate) fn prepare_cross_entropy(o: &CrossEntropyOptions) -> Result<Controls> {
    let controls = o.controls(false)?;
    check_smoothing(o.label_smoothing)?;
    Ok(controls)
}

/// Checks the lengths and computes.
#[allow(clippy::too_many_arguments)]
pub(crate) fn compute_cross_entropy<T: Float>(controls: &Controls, logits: &[T], target: &[i64], class_weight: Option<&[T]>, shape: Shape, o: &CrossEntropyOptions, loss: &mut [T], grad_logits: Option<&mut [T]>) -> Result<()> {
    check_common(&shape, controls, "logits", logits, Per::Position, loss, "grad_logits", grad_logits.as_deref())?;
    check_len("target", target.len(), shape.positions(), "one label per position: batch x spatial")?;
    check_opt_len("class_weight", class_weight, shape.classes, "one per class")?;
    let args = k::CrossEntropy { logits, target, class_weight, ignore_index: o.ignore_index, label_smoothing: o.label_smoothing };
    run_loss(controls, loss, grad_logits, "grad_logits", |r, none, grad| {
        k::cross_entropy(shape, &args, r, none, grad).map_err(|e| target_error(e, &shape, o.ignore_index))
    })
}

/// Softmax cross entropy with probability targets (`target` like `logits`), as torch's with
/// class-probability targets. Buffers as [`cross_entropy`] otherwise.
#[allow(clippy::too_many_arguments)]
pub fn cross_entropy_soft<T: Float>(logits: &[T], target: &[T], class_weight: Option<&[T]>, shape: Shape, options: &CrossEntropyOptions, loss: &mut [T], grad_logits: Option<&mut [T]>) -> Result<()> {
    let controls = prepare_cross_entropy_soft(options)?;
    compute_cross_entropy_soft(&controls, logits, target, class_weight, shape, options, loss, grad_logits)
}

/// Validates the options of [`cross_entropy_soft`].
pub(crate) fn prepare_cross_entropy_soft(o: &CrossEntropyOptions) -> Result<Controls> {
    let controls = prepare_cross_entropy(o)?;
    if o.ignore_index != -100 {
        return Err(Error::option(format!(
            "`options.ignore_index` = {} is not accepted with probability targets (only the default -100; torch refuses it too)",
            o.ignore_index
        )));
    }
    Ok(controls)
}

/// Checks the lengths and computes.
#[allow(clippy::too_many_arguments)]
pub(crate) fn compute_cross_entropy_soft<T: Float>(controls: &Controls, logits: &[T], target: &[T], class_weight: Option<&[T]>, shape: Shape, o: &CrossEntropyOptions, loss: &mut [T], grad_logits: Option<&mut [T]>) -> Result<()> {
    check_common(&shape, controls, "logits", logits, Per::Position, loss, "grad_logits", grad_logits.as_deref())?;
    check_len("target", target.len(), shape.len(), "logits' length")?;
    check_opt_len("class_weight", class_weight, shape.classes, "one per class")?;
    let args = k::CrossEntropySoft { logits, target, class_weight, label_smoothing: o.label_smoothing };
    run_loss(controls, loss, grad_logits, "grad_logits", |r, none, grad| Ok(k::cross_entropy_soft(shape, &args, r, none, grad)))
}

/// Binary cross entropy with logits, elementwise, as `torch.nn.functional.binary_cross_entropy_with_logits`.
/// `logits`, `target`, `weight` (or `None`): batch·classes·spatial; `pos_weight`: classes or
/// `None`; `loss`: 1 value, or one per element for NONE; `grad_logits`: like `logits`, or `None`.
#[allow(clippy::too_many_arguments)]
pub fn bce_with_logits<T: Float>(logits: &[T], target: &[T], weight: Option<&[T]>, pos_weight: Option<&[T]>, shape: Shape, options: &BceOptions, loss: &mut [T], grad_logits: Option<&mut [T]>) -> Result<()> {
    let controls = prepare_bce(options)?;
    compute_bce_with_logits(&controls, logits, target, weight, pos_weight, shape, loss, grad_logits)
}

/// Validates the options of [`bce_with_logits`].
pub(crate) fn prepare_bce(o: &BceOptions) -> Result<Controls> {
    o.controls(false)
}

/// Checks the lengths and computes.
#[allow(clippy::too_many_arguments)]
pub(crate) fn compute_bce_with_logits<T: Float>(controls: &Controls, logits: &[T], target: &[T], weight: Option<&[T]>, pos_weight: Option<&[T]>, shape: Shape, loss: &mut [T], grad_logits: Option<&mut [T]>) -> Result<()> {
    check_common(&shape, controls, "logits", logits, Per::Element, loss, "grad_logits", grad_logits.as_deref())?;
    check_len("target", target.len(), shape.len(), "logits' length")?;
    check_opt_len("weight", weight, shape.len(), "logits' length")?;
    check_opt_len("pos_weight", pos_weight, shape.classes, "one per class")?;
    let args = k::Bce { logits, target, weight, pos_weight };
    run_loss(controls, loss, grad_logits, "grad_logits", |r, none, grad| Ok(k::bce_with_logits(shape, &args, r, none, grad)))
}

/// Shannon entropy in nats per position of softmax(logits) or of probabilities
/// (`options.input`). `input`: batch·classes·spatial; `loss`: 1 value, or batch·spatial for NONE;
/// `grad_input`: like `input`, or `None`.
pub fn entropy<T: Float>(input: &[T], shape: Shape, options: &EntropyOptions, loss: &mut [T], grad_input: Option<&mut [T]>) -> Result<()> {
    let controls = prepare_entropy(options)?;
    compute_entropy(&controls, input, shape, options, loss, grad_input)
}

/// Validates the options of [`entropy`].
pub(crate) fn prepare_entropy(o: &EntropyOptions) -> Result<Controls> {
    o.controls(false)
}

/// Checks the lengths and computes.
pub(crate) fn compute_entropy<T: Float>(controls: &Controls, input: &[T], shape: Shape, o: &EntropyOptions, loss: &mut [T], grad_input: Option<&mut [T]>) -> Result<()> {
    check_common(&shape, controls, "input", input, Per::Position, loss, "grad_input", grad_input.as_deref())?;
    run_loss(controls, loss, grad_input, "grad_input", |r, none, grad| Ok(k::entropy(shape, input, o.input, r, none, grad)))
}

/// KL divergence with log-probability `input`, elementwise, as `torch.nn.functional.kl_div`
/// (BATCHMEAN accepted). `input`, `target`: batch·classes·spatial; `loss`: 1 value, or one per
/// element for NONE; `grad_input`: like `input`, or `None`.
pub fn kl_div<T: Float>(input: &[T], target: &[T], shape: Shape, options: &KlDivOptions, loss: &mut [T], grad_input: Option<&mut [T]>) -> Result<()> {
    let controls = prepare_kl_div(options)?;
    compute_kl_div(&controls, input, target, shape, options, loss, grad_input)
}

/// Validates the options of [`kl_div`].
pub(crate) fn prepare_kl_div(o: &KlDivOptions) -> Result<Controls> {
    o.controls(true)
}

/// Checks the lengths and computes.
pub(crate) fn compute_kl_div<T: Float>(controls: &Controls, input: &[T], target: &[T], shape: Shape, o: &KlDivOptions, loss: &mut [T], grad_input: Option<&mut [T]>) -> Result<()> {
    check_common(&shape, controls, "input", input, Per::Element, loss, "grad_input", grad_input.as_deref())?;
    check_len("target", target.len(), shape.len(), "input's length")?;
    let args = k::KlDiv { input, target, log_target: o.log_target };
    run_loss(controls, loss, grad_input, "grad_input", |r, none, grad| Ok(k::kl_div(shape, &args, r, none, grad)))
}

/// Distillation KL from logits: T²·KL(softmax(teacher/T) ‖ softmax(student/T)) per position
/// (BATCHMEAN default). `student_logits`, `teacher_logits`: batch·classes·spatial; `loss`: 1
/// value, or batch·spatial for NONE; `grad_student`: like `student_logits`, or `None`.
pub fn kl_div_logits<T: Float>(student_logits: &[T], teacher_logits: &[T], shape: Shape, options: &DistillationOptions, loss: &mut [T], grad_student: Option<&mut [T]>) -> Result<()> {
    let controls = prepare_distillation(options)?;
    compute_kl_div_logits(&controls, student_logits, teacher_logits, shape, options, loss, grad_student)
}

/// Validates the options of [`kl_div_logits`].
pub(crate) fn prepare_distillation(o: &DistillationOptions) -> Result<Controls> {
    let controls = o.controls(true)?;
    let t = o.temperature;
    check_option("options.temperature", t, t > 0.0 && t.is_finite(), "finite, > 0")?;
    Ok(controls)
}

/// Checks the lengths and computes.
pub(crate) fn compute_kl_div_logits<T: Float>(controls: &Controls, student_logits: &[T], teacher_logits: &[T], shape: Shape, o: &DistillationOptions, loss: &mut [T], grad_student: Option<&mut [T]>) -> Result<()> {
    check_common(&shape, controls, "student_logits", student_logits, Per::Position, loss, "grad_student", grad_student.as_deref())?;
    check_len("teacher_logits", teacher_logits.len(), shape.len(), "student_logits' length")?;
    let args = k::Distillation { student: student_logits, teacher: teacher_logits, temperature: o.temperature };
    run_loss(controls, loss, grad_student, "grad_student", |r, none, grad| Ok(k::kl_div_logits(shape, &args, r, none, grad)))
}

/// Sigmoid focal loss, elementwise, as `torchvision.ops.sigmoid_focal_loss`. `logits`,
/// `target`, `weight` (or `None`): batch·classes·spatial; `loss`: 1 value, or one per element for
/// NONE; `grad_logits`: like `logits`, or `None`.
#[allow(clippy::too_many_arguments)]
pub fn sigmoid_focal_loss<T: Float>(logits: &[T], target: &[T], weight: Option<&[T]>, shape: Shape, options: &FocalOptions, loss: &mut [T], grad_logits: Option<&mut [T]>) -> Result<()> {
    let controls = prepare_sigmoid_focal(options)?;
    compute_sigmoid_focal(&controls, logits, target, weight, shape, options, loss, grad_logits)
}

/// Validates the options of [`sigmoid_focal_loss`].
pub(crate) fn prepare_sigmoid_focal(o: &FocalOptions) -> Result<Controls> {
    let controls = o.controls(false)?;
    check_option("options.alpha", o.alpha, o.alpha.is_finite() && o.alpha <= 1.0, "in [0, 1], or finite negative to disable it")?;
    check_gamma(o.gamma)?;
    Ok(controls)
}

/// Checks the lengths and computes.
#[allow(clippy::too_many_arguments)]
pub(crate) fn compute_sigmoid_focal<T: Float>(controls: &Controls, logits: &[T], target: &[T], weight: Option<&[T]>, shape: Shape, o: &FocalOptions, loss: &mut [T], grad_logits: Option<&mut [T]>) -> Result<()> {
    check_common(&shape, controls, "logits", logits, Per::Element, loss, "grad_logits", grad_logits.as_deref())?;
    check_len("target", target.len(), shape.len(), "logits' length")?;
    check_opt_len("weight", weight, shape.len(), "logits' length")?;
    let args = k::SigmoidFocal { logits, target, weight, alpha: o.alpha, gamma: o.gamma };
    run_loss(controls, loss, grad_logits, "grad_logits", |r, none, grad| Ok(k::sigmoid_focal_loss(shape, &args, r, none, grad)))
}

/// Varifocal loss (mmdet `varifocal_loss`; `detach_weight` as RT-DETR / ultralytics), IoU-aware
/// targets q in `target`. Buffers as [`sigmoid_focal_loss`].
#[allow(clippy::too_many_arguments)]
pub fn varifocal_loss<T: Float>(logits: &[T], target: &[T], weight: Option<&[T]>, shape: Shape, options: &QualityFocalOptions, loss: &mut [T], grad_logits: Option<&mut [T]>) -> Result<()> {
    let controls = prepare_quality_focal(true, options)?;
    compute_quality_focal(true, &controls, logits, target, weight, shape, options, loss, grad_logits)
}

/// Quality Focal Loss (GFL, mmdet `quality_focal_loss`), soft targets q in `target`. Buffers
/// as [`sigmoid_focal_loss`].
#[allow(clippy::too_many_arguments)]
pub fn quality_focal_loss<T: Float>(logits: &[T], target: &[T], weight: Option<&[T]>, shape: Shape, options: &QualityFocalOptions, loss: &mut [T], grad_logits: Option<&mut [T]>) -> Result<()> {
    let controls = prepare_quality_focal(false, options)?;
    compute_quality_focal(false, &controls, logits, target, weight, shape, options, loss, grad_logits)
}

/// Validates the options of [`varifocal_loss`] / [`quality_focal_loss`].
pub(crate) fn prepare_quality_focal(varifocal: bool, o: &QualityFocalOptions) -> Result<Controls> {
    let controls = o.controls(false)?;
    if varifocal {
        check_option("options.alpha", o.alpha, o.alpha >= 0.0 && o.alpha.is_finite(), "finite, >= 0")?;
    }
    check_gamma(o.gamma)?;
    Ok(controls)
}

/// Checks the lengths and computes.
#[allow(clippy::too_many_arguments)]
pub(crate) fn compute_quality_focal<T: Float>(varifocal: bool, controls: &Controls, logits: &[T], target: &[T], weight: Option<&[T]>, shape: Shape, o: &QualityFocalOptions, loss: &mut [T], grad_logits: Option<&mut [T]>) -> Result<()> {
    check_common(&shape, controls, "logits", logits, Per::Element, loss, "grad_logits", grad_logits.as_deref())?;
    check_len("target", target.len(), shape.len(), "logits' length")?;
    check_opt_len("weight", weight, shape.len(), "logits' length")?;
    let args = k::QualityFocal { logits, target, weight, alpha: o.alpha, gamma: o.gamma, iou_weighted: o.iou_weighted, detach_weight: o.detach_weight };
    let kernel = if varifocal { k::varifocal_loss::<T> } else { k::quality_focal_loss::<T> };
    run_loss(controls, loss, grad_logits, "grad_logits", |r, none, grad| Ok(kernel(shape, &args, r, none, grad)))
}

/// Softmax focal loss with index targets (per position, α per class from `class_alpha` or 1).
/// `logits`: batch·classes·spatial; `target`: batch·spatial labels; `class_alpha`: classes or
/// `None`; `loss`: 1 value, or batch·spatial for NONE; `grad_logits`: like `logits`, or `None`.
#[allow(clippy::too_many_arguments)]
pub fn softmax_focal_loss<T: Float>(logits: &[T], target: &[i64], class_alpha: Option<&[T]>, shape: Shape, options: &FocalOptions, loss: &mut [T], grad_logits: Option<&mut [T]>) -> Result<()> {
    let controls = prepare_softmax_focal(options)?;
    compute_softmax_focal(&controls, logits, target, class_alpha, shape, options, loss, grad_logits)
}

/// Validates the options of [`softmax_focal_loss`].
pub(crate) fn prepare_softmax_focal(o: &FocalOptions) -> Result<Controls> {
    let controls = o.controls(false)?;
    check_gamma(o.gamma)?;
    Ok(controls)
}

/// Checks the lengths and computes.
#[allow(clippy::too_many_arguments)]
pub(crate) fn compute_softmax_focal<T: Float>(controls: &Controls, logits: &[T], target: &[i64], class_alpha: Option<&[T]>, shape: Shape, o: &FocalOptions, loss: &mut [T], grad_logits: Option<&mut [T]>) -> Result<()> {
    check_common(&shape, controls, "logits", logits, Per::Position, loss, "grad_logits", grad_logits.as_deref())?;
    check_len("target", target.len(), shape.positions(), "one label per position: batch x spatial")?;
    check_opt_len("class_alpha", class_alpha, shape.classes, "one per class")?;
    let args = k::SoftmaxFocal { logits, target, class_alpha, gamma: o.gamma, ignore_index: o.ignore_index };
    run_loss(controls, loss, grad_logits, "grad_logits", |r, none, grad| {
        k::softmax_focal_loss(shape, &args, r, none, grad).map_err(|e| target_error(e, &shape, o.ignore_index))
    })
}
