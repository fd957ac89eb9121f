//! C entry points of the overlap (segmentation) family: Dice, Tversky (with Focal Tversky) and
//! generalized Dice, on index or soft targets.
use super::*;
use crate::api::overlap::{self as api, FusedPart, OverlapKind, Targets};
use crate::api::Float;
use crate::kernels::classification::Shape;
use crate::kernels::overlap::{Activation, GdiceWeight};

/// How the overlap losses turn their input into probabilities.
pub type lossfn_activation = u32;
/// The input already is probabilities.
pub const LOSSFN_ACTIVATION_NONE: lossfn_activation = 0;
/// Elementwise sigmoid (multi-label).
pub const LOSSFN_ACTIVATION_SIGMOID: lossfn_activation = 1;
/// Softmax over the class axis (over every class, also when include_background is false).
pub const LOSSFN_ACTIVATION_SOFTMAX: lossfn_activation = 2;

/// Class weights of the generalized Dice loss (docs/api.md §7).
pub type lossfn_gdice_weight = u32;
/// w_c = 1 / (sum g_c)^2.
pub const LOSSFN_GDICE_SQUARE: lossfn_gdice_weight = 0;
/// w_c = 1 / sum g_c.
pub const LOSSFN_GDICE_SIMPLE: lossfn_gdice_weight = 1;
/// w_c = 1.
pub const LOSSFN_GDICE_UNIFORM: lossfn_gdice_weight = 2;

/// Options of the overlap losses (NULL = lossfn_overlap_options_default()).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct lossfn_overlap_options {
    /// LOSSFN_REDUCTION_NONE, _MEAN (default; weighted mean over the scores) or _SUM.
    pub reduction: lossfn_reduction,
    /// LOSSFN_ACTIVATION_SOFTMAX (default), _SIGMOID or _NONE.
    pub activation: lossfn_activation,
    /// 1e-5, added to the numerator; finite, >= 0.
    pub smooth_nr: f64,
    /// 1e-5, added to the denominator; finite, >= 0.
    pub smooth_dr: f64,
    /// true; false drops class 0 from the scores (it stays in the softmax). Needs classes >= 2.
    pub include_background: bool,
    /// false: one score per (sample, class); true: sums pooled over the batch, one score per class.
    pub batch: bool,
    /// dice and jaccard only: false; true uses sum(p^2) and sum(g^2) for P and G.
    pub squared_pred: bool,
    /// tversky only: weight of false positives, 0.3; finite, >= 0.
    pub alpha: f64,
    /// tversky only: weight of false negatives, 0.7; finite, >= 0.
    pub beta: f64,
    /// 1.0: each score's loss is 1 - score; otherwise max(0, 1 - score)^gamma, gradient 0 where
    /// that base is 0 (Focal Tversky: e.g. 0.75); finite, > 0.
    pub gamma: f64,
    /// index targets only: -100; positions with this target count nowhere (zero gradient).
    /// Soft targets: only the default -100 (another value is INVALID_OPTION).
    pub ignore_index: i64,
    /// generalized Dice only: LOSSFN_GDICE_SQUARE (default), _SIMPLE or _UNIFORM (docs/api.md §7).
    pub w_type: lossfn_gdice_weight,
    /// false; true (soft targets only; index targets: INVALID_OPTION): MONAI's soft-label sums
    /// (compute_tp_fp_fn with soft_label=True): TP = (sum|p| + sum|g| - sum|p - g|) / 2,
    /// P = sum|p|, G = sum|g| (TP = sum min(p, g) for p, g >= 0); no change with squared_pred.
    pub soft_label: bool,
    /// 1.0; finite. Multiplies every loss value and the gradient (docs/api.md §3).
    pub loss_weight: f64,
    /// 0.0 = unused; > 0 (MEAN only): MEAN divides by it instead of its own denominator.
    pub avg_factor: f64,
    /// false: grad = dL; true: grad += dL.
    pub accumulate: bool,
}

/// The defaults: MEAN, SOFTMAX, smooth_nr = smooth_dr = 1e-5, include_background, per-sample
/// scores, no squared prediction, alpha 0.3, beta 0.7, gamma 1, ignore_index -100.
#[no_mangle]
pub extern "C" fn lossfn_overlap_options_default() -> lossfn_overlap_options {
    lossfn_overlap_options {
        reduction: LOSSFN_REDUCTION_MEAN,
        activation: LOSSFN_ACTIVATION_SOFTMAX,
        smooth_nr: 1e-5,
        smooth_dr: 1e-5,
        include_background: true,
        batch: false,
        squared_pred: false,
        alpha: 0.3,
        beta: 0.7,
        gamma: 1.0,
        ignore_index: -100,
        w_type: LOSSFN_GDICE_SQUARE,
        soft_label: false,
        loss_weight: 1.0,
        avg_factor: 0.0,
        accumulate: false,
    }
}
c_options!(lossfn_overlap_options, lossfn_overlap_options_default, [include_background, batch, squared_pred, soft_label, accumulate]);

/// A C activation value (`options.activation`).
pub(crate) fn activation(v: lossfn_activation) -> Result<Activation> {
    match v {
        LOSSFN_ACTIVATION_NONE => Ok(Activation::None),
        LOSSFN_ACTIVATION_SIGMOID => Ok(Activation::Sigmoid),
        LOSSFN_ACTIVATION_SOFTMAX => Ok(Activation::Softmax),
        v => Err(Error::option(format!("`options.activation` = {v} is not a lossfn_activation"))),
    }
}

/// The safe API's options from the C struct: the raw enum values checked (`w_type` only where
/// `kind` reads it: the other kinds leave it unused, as the C contract says).
fn overlap_options(o: &lossfn_overlap_options, kind: OverlapKind) -> Result<api::OverlapOptions> {
    Ok(safe_options!(o, api::OverlapOptions {
        activation: activation(o.activation)?,
        smooth_nr,
        smooth_dr,
        include_background,
        batch,
        squared_pred,
        alpha,
        beta,
        gamma,
        ignore_index,
        w_type: match o.w_type {
            _ if kind != OverlapKind::GeneralizedDice => GdiceWeight::Square,
            LOSSFN_GDICE_SQUARE => GdiceWeight::Square,
            LOSSFN_GDICE_SIMPLE => GdiceWeight::Simple,
            LOSSFN_GDICE_UNIFORM => GdiceWeight::Uniform,
            v => return Err(Error::option(format!("`options.w_type` = {v} is not a lossfn_gdice_weight"))),
        },
        soft_label,
    }))
}

/// Index targets (int64, one per position) or soft targets (in the input's type and layout).
enum TargetPtr<T> {
    Index(*const i64),
    Soft(*const T),
}

impl<T> TargetPtr<T> {
    fn is_soft(&self) -> bool {
        matches!(self, TargetPtr::Soft(_))
    }

    /// The target slice of a call of `shape`.
    ///
    /// # Safety
    /// As [`Io::input`].
    unsafe fn read<'a>(self, io: &mut Io, shape: &Shape) -> Result<Targets<'a, T>> {
        Ok(match self {
            TargetPtr::Index(t) => Targets::Index(unsafe { io.input("target", t, shape.positions())? }),
            TargetPtr::Soft(t) => Targets::Soft(unsafe { io.input("target", t, shape.len())? }),
        })
    }
}

/// The shared body of the eight entry points.
#[allow(clippy::too_many_arguments)]
unsafe fn entry<T: Float>(
    kind: OverlapKind,
    input: *const T,
    target: TargetPtr<T>,
    class_weight: *const T,
    shape: lossfn_shape,
    options: *const lossfn_overlap_options,
    loss: *mut T,
    grad_input: *mut T,
) -> lossfn_status {
    ffi_boundary! {
        let o: lossfn_overlap_options = unsafe { read_options("options", options)? };
        let o = overlap_options(&o, kind)?;
        let shape = shape_of(shape)?;
        let p = api::prepare(kind, &o, &shape, target.is_soft())?;
        let mut io = Io::new();
        let input = unsafe { io.input("input", input, shape.len())? };
        let target = unsafe { target.read(&mut io, &shape)? };
        let class_weight = unsafe { io.optional_input("class_weight", class_weight, shape.classes)? };
        let loss = unsafe { io.output("loss", loss, p.controls.loss_len(p.terms(&shape)))? };
        let grad = unsafe { io.optional_output("grad_input", grad_input, shape.len())? };
        api::compute(&p, input, target, class_weight, shape, &o, loss, grad)
    }
}

/// Dice loss (MONAI convention) on index targets: per score, 1 - (2 TP + smooth_nr) /
/// (sum p + sum g + smooth_dr) with TP = sum p*g, p = activation(input), g = one-hot(target)
/// (never materialised). A score is a (sample, class) pair, or a class pooled over the batch
/// (options.batch). With gamma != 1 each score's loss is max(0, 1 - score)^gamma.
/// input: batch*classes*spatial in shape.layout; target: batch*spatial class indices in
/// [0, classes) or options.ignore_index (those positions count nowhere); class_weight: classes
/// or NULL, the term weight of a score is its class's weight (MEAN = sum w*l / sum w).
/// loss: 1 value, or for NONE one w*l per score, `[batch][C']` (batch = false) or `[C']`
/// (batch = true), C' = classes, or classes - 1 without background.
/// grad_input: batch*classes*spatial or NULL. A score whose denominator is exactly 0 (empty
/// masks with smooth_dr = 0) is 1 with zero gradient.
///
/// # Safety
/// Pointers must be valid for the stated sizes (see the header's conventions).
#[no_mangle]
pub unsafe extern "C" fn lossfn_dice_loss_f32(input: *const f32, target: *const i64, class_weight: *const f32, shape: lossfn_shape, options: *const lossfn_overlap_options, loss: *mut f32, grad_input: *mut f32) -> lossfn_status {
    unsafe { entry(OverlapKind::Dice, input, TargetPtr::Index(target), class_weight, shape, options, loss, grad_input) }
}
/// Dice loss on index targets, double precision: see lossfn_dice_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_dice_loss_f64(input: *const f64, target: *const i64, class_weight: *const f64, shape: lossfn_shape, options: *const lossfn_overlap_options, loss: *mut f64, grad_input: *mut f64) -> lossfn_status {
    unsafe { entry(OverlapKind::Dice, input, TargetPtr::Index(target), class_weight, shape, options, loss, grad_input) }
}
/// Dice loss on soft (or multi-label) targets: as lossfn_dice_loss_f32, with target holding
/// batch*classes*spatial values in the input's layout (options.ignore_index unused).
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_dice_loss_soft_f32(input: *const f32, target: *const f32, class_weight: *const f32, shape: lossfn_shape, options: *const lossfn_overlap_options, loss: *mut f32, grad_input: *mut f32) -> lossfn_status {
    unsafe { entry(OverlapKind::Dice, input, TargetPtr::Soft(target), class_weight, shape, options, loss, grad_input) }
}
/// Dice loss on soft targets, double precision: see lossfn_dice_loss_soft_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_dice_loss_soft_f64(input: *const f64, target: *const f64, class_weight: *const f64, shape: lossfn_shape, options: *const lossfn_overlap_options, loss: *mut f64, grad_input: *mut f64) -> lossfn_status {
    unsafe { entry(OverlapKind::Dice, input, TargetPtr::Soft(target), class_weight, shape, options, loss, grad_input) }
}
/// Jaccard loss (soft IoU) as MONAI DiceLoss(jaccard=True), on index targets: per score,
/// 1 - (2 TP + smooth_nr) / (2 (P + G - TP) + smooth_dr), TP = sum p*g, P = sum p, G = sum g
/// (sum p^2 and sum g^2 with options.squared_pred), i.e. TP / (TP + FP + FN) up to the smoothing.
/// With gamma != 1 each score's loss is max(0, 1 - score)^gamma. Arguments, sizes and options as
/// lossfn_dice_loss_f32 (alpha, beta, w_type unused).
///
/// # Safety
/// Pointers must be valid for the stated sizes (see the header's conventions).
#[no_mangle]
pub unsafe extern "C" fn lossfn_jaccard_loss_f32(input: *const f32, target: *const i64, class_weight: *const f32, shape: lossfn_shape, options: *const lossfn_overlap_options, loss: *mut f32, grad_input: *mut f32) -> lossfn_status {
    unsafe { entry(OverlapKind::Jaccard, input, TargetPtr::Index(target), class_weight, shape, options, loss, grad_input) }
}
/// Jaccard loss on index targets, double precision: see lossfn_jaccard_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_jaccard_loss_f64(input: *const f64, target: *const i64, class_weight: *const f64, shape: lossfn_shape, options: *const lossfn_overlap_options, loss: *mut f64, grad_input: *mut f64) -> lossfn_status {
    unsafe { entry(OverlapKind::Jaccard, input, TargetPtr::Index(target), class_weight, shape, options, loss, grad_input) }
}
/// Jaccard loss on soft (or multi-label) targets: as lossfn_jaccard_loss_f32, with target holding
/// batch*classes*spatial values in the input's layout (options.ignore_index unused; with
/// options.soft_label MONAI's soft TP).
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_jaccard_loss_soft_f32(input: *const f32, target: *const f32, class_weight: *const f32, shape: lossfn_shape, options: *const lossfn_overlap_options, loss: *mut f32, grad_input: *mut f32) -> lossfn_status {
    unsafe { entry(OverlapKind::Jaccard, input, TargetPtr::Soft(target), class_weight, shape, options, loss, grad_input) }
}
/// Jaccard loss on soft targets, double precision: see lossfn_jaccard_loss_soft_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_jaccard_loss_soft_f64(input: *const f64, target: *const f64, class_weight: *const f64, shape: lossfn_shape, options: *const lossfn_overlap_options, loss: *mut f64, grad_input: *mut f64) -> lossfn_status {
    unsafe { entry(OverlapKind::Jaccard, input, TargetPtr::Soft(target), class_weight, shape, options, loss, grad_input) }
}
/// Tversky loss (MONAI convention) on index targets: per score, 1 - (TP + smooth_nr) /
/// (TP + alpha FP + beta FN + smooth_dr), FP = sum p*(1-g), FN = sum (1-p)*g. Focal Tversky
/// with gamma != 1: max(0, 1 - score)^gamma. Arguments and sizes as lossfn_dice_loss_f32
/// (options.squared_pred unused).
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_tversky_loss_f32(input: *const f32, target: *const i64, class_weight: *const f32, shape: lossfn_shape, options: *const lossfn_overlap_options, loss: *mut f32, grad_input: *mut f32) -> lossfn_status {
    unsafe { entry(OverlapKind::Tversky, input, TargetPtr::Index(target), class_weight, shape, options, loss, grad_input) }
}
/// Tversky loss on index targets, double precision: see lossfn_tversky_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_tversky_loss_f64(input: *const f64, target: *const i64, class_weight: *const f64, shape: lossfn_shape, options: *const lossfn_overlap_options, loss: *mut f64, grad_input: *mut f64) -> lossfn_status {
    unsafe { entry(OverlapKind::Tversky, input, TargetPtr::Index(target), class_weight, shape, options, loss, grad_input) }
}
/// Tversky loss on soft (or multi-label) targets: as lossfn_tversky_loss_f32, with target
/// holding batch*classes*spatial values in the input's layout (options.ignore_index unused).
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_tversky_loss_soft_f32(input: *const f32, target: *const f32, class_weight: *const f32, shape: lossfn_shape, options: *const lossfn_overlap_options, loss: *mut f32, grad_input: *mut f32) -> lossfn_status {
    unsafe { entry(OverlapKind::Tversky, input, TargetPtr::Soft(target), class_weight, shape, options, loss, grad_input) }
}
/// Tversky loss on soft targets, double precision: see lossfn_tversky_loss_soft_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_tversky_loss_soft_f64(input: *const f64, target: *const f64, class_weight: *const f64, shape: lossfn_shape, options: *const lossfn_overlap_options, loss: *mut f64, grad_input: *mut f64) -> lossfn_status {
    unsafe { entry(OverlapKind::Tversky, input, TargetPtr::Soft(target), class_weight, shape, options, loss, grad_input) }
}
/// Generalized Dice loss (Sudre et al. 2017) exactly as MONAI GeneralizedDiceLoss, on index
/// targets: per sample (or once for the batch pooled, options.batch), over the classes kept
/// (include_background), 1 - (2 sum_c w_c TP_c + smooth_nr) / (sum_c w_c (P_c + G_c) +
/// smooth_dr), with TP, P, G as lossfn_dice_loss_f32 and w_c = 1/G_c^2 (options.w_type SQUARE),
/// 1/G_c (SIMPLE) or 1 (UNIFORM). A class absent from the sample (infinite w_c) gets the
/// largest finite weight of the sample (0 when every class is absent), as MONAI. The weights
/// depend on the target only and are computed in the data's precision (MONAI: float32 even
/// for float64 data). With gamma != 1 each score's loss is max(0, 1 - score)^gamma.
/// input: batch*classes*spatial in shape.layout; target: batch*spatial class indices or
/// options.ignore_index. No class_weight (the weights are the loss's own). loss: 1 value, or
/// for NONE one per sample (`[batch]`), or 1 with options.batch. grad_input:
/// batch*classes*spatial or NULL. options.squared_pred = true is INVALID_OPTION.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_generalized_dice_loss_f32(input: *const f32, target: *const i64, shape: lossfn_shape, options: *const lossfn_overlap_options, loss: *mut f32, grad_input: *mut f32) -> lossfn_status {
    unsafe { entry(OverlapKind::GeneralizedDice, input, TargetPtr::Index(target), std::ptr::null(), shape, options, loss, grad_input) }
}
/// Generalized Dice loss on index targets, double precision (weights in f64): see
/// lossfn_generalized_dice_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_generalized_dice_loss_f64(input: *const f64, target: *const i64, shape: lossfn_shape, options: *const lossfn_overlap_options, loss: *mut f64, grad_input: *mut f64) -> lossfn_status {
    unsafe { entry(OverlapKind::GeneralizedDice, input, TargetPtr::Index(target), std::ptr::null(), shape, options, loss, grad_input) }
}
/// Generalized Dice loss on soft (or multi-label) targets: as
/// lossfn_generalized_dice_loss_f32, with target holding batch*classes*spatial values in the
/// input's layout (options.ignore_index unused; options.soft_label as for Dice).
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_generalized_dice_loss_soft_f32(input: *const f32, target: *const f32, shape: lossfn_shape, options: *const lossfn_overlap_options, loss: *mut f32, grad_input: *mut f32) -> lossfn_status {
    unsafe { entry(OverlapKind::GeneralizedDice, input, TargetPtr::Soft(target), std::ptr::null(), shape, options, loss, grad_input) }
}
/// Generalized Dice loss on soft targets, double precision: see
/// lossfn_generalized_dice_loss_soft_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_generalized_dice_loss_soft_f64(input: *const f64, target: *const f64, shape: lossfn_shape, options: *const lossfn_overlap_options, loss: *mut f64, grad_input: *mut f64) -> lossfn_status {
    unsafe { entry(OverlapKind::GeneralizedDice, input, TargetPtr::Soft(target), std::ptr::null(), shape, options, loss, grad_input) }
}

/// The C options struct of the part fused with Dice, and its safe counterpart.
trait CPart: COptions {
    type Safe: FusedPart;
    /// The safe API's options (the raw reduction checked).
    fn part_options(&self) -> Result<Self::Safe>;
}

impl CPart for lossfn_cross_entropy_options {
    type Safe = crate::api::classification::CrossEntropyOptions;
    fn part_options(&self) -> Result<Self::Safe> {
        self.safe()
    }
}

impl CPart for lossfn_focal_options {
    type Safe = crate::api::classification::FocalOptions;
    fn part_options(&self) -> Result<Self::Safe> {
        self.safe()
    }
}

/// The shared body of lossfn_dice_ce_loss_* and lossfn_dice_focal_loss_*.
#[allow(clippy::too_many_arguments)]
unsafe fn fused_entry<T: Float, C: CPart>(
    logits: *const T,
    target: *const i64,
    class_weight: *const T,
    shape: lossfn_shape,
    dice: *const lossfn_overlap_options,
    other: *const C,
    loss: *mut T,
    grad_logits: *mut T,
) -> lossfn_status {
    ffi_boundary! {
        let name = <C::Safe as FusedPart>::NAME;
        let d: lossfn_overlap_options = unsafe { read_options("dice", dice)? };
        let c: C = unsafe { read_options(name, other)? };
        let d = overlap_options(&d, OverlapKind::Dice).map_err(|e| api::in_struct(e, "dice"))?;
        let c = c.part_options().map_err(|e| api::in_struct(e, name))?;
        let shape = shape_of(shape)?;
        let p = api::prepare_fused(&d, &c, &shape)?;
        let mut io = Io::new();
        let logits = unsafe { io.input("logits", logits, shape.len())? };
        let target = unsafe { io.input("target", target, shape.positions())? };
        let class_weight = unsafe { io.optional_input("class_weight", class_weight, shape.classes)? };
        let loss = unsafe { io.output("loss", loss, 3)? };
        let grad = unsafe { io.optional_output("grad_logits", grad_logits, shape.len())? };
        api::compute_fused(&p, logits, target, class_weight, shape, d.ignore_index, loss, grad)
    }
}

/// Dice + cross entropy on one softmax (MONAI DiceCELoss), in the passes Dice alone makes.
/// Each part equals lossfn's own function with its options: the Dice part lossfn_dice_loss_f32
/// with `dice` (activation must be SOFTMAX; its loss_weight is MONAI's lambda_dice), the
/// cross-entropy part lossfn_cross_entropy_f32 with `ce` (label_smoothing; its loss_weight is
/// lambda_ce). class_weight (classes or NULL) weighs both parts, as MONAI's `weight`. ignore_index
/// and accumulate must be equal in both structs (ignored positions count in neither part).
/// Each part's reduction is MEAN or SUM (NONE and MEAN_DENOMINATOR are INVALID_OPTION), with its
/// own avg_factor. logits: batch*classes*spatial in shape.layout; target: batch*spatial class
/// indices. loss: 3 values [total, Dice part, cross-entropy part], each part after its
/// loss_weight; grad_logits (or NULL): the gradient of the total.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_dice_ce_loss_f32(logits: *const f32, target: *const i64, class_weight: *const f32, shape: lossfn_shape, dice: *const lossfn_overlap_options, ce: *const lossfn_cross_entropy_options, loss: *mut f32, grad_logits: *mut f32) -> lossfn_status {
    unsafe { fused_entry(logits, target, class_weight, shape, dice, ce, loss, grad_logits) }
}
/// Dice + cross entropy, double precision: see lossfn_dice_ce_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_dice_ce_loss_f64(logits: *const f64, target: *const i64, class_weight: *const f64, shape: lossfn_shape, dice: *const lossfn_overlap_options, ce: *const lossfn_cross_entropy_options, loss: *mut f64, grad_logits: *mut f64) -> lossfn_status {
    unsafe { fused_entry(logits, target, class_weight, shape, dice, ce, loss, grad_logits) }
}
/// Dice + softmax focal on one softmax, in the passes Dice alone makes (MONAI's DiceFocalLoss
/// pairs Dice with a sigmoid focal; this is the softmax focal, term by term MONAI's
/// FocalLoss(use_softmax=True), reduced as lossfn_softmax_focal_loss_f32: MEAN over the positions
/// that count). The Dice part equals lossfn_dice_loss_f32 with `dice` (activation SOFTMAX; its
/// loss_weight is lambda_dice), the focal part lossfn_softmax_focal_loss_f32 with `focal` (gamma;
/// `focal.alpha` unused; its loss_weight is lambda_focal) and class_weight as its class_alpha.
/// class_weight (classes or NULL) weighs both parts. ignore_index and accumulate must be equal in
/// both structs. Each part's reduction is MEAN or SUM (NONE and MEAN_DENOMINATOR are
/// INVALID_OPTION), with its own avg_factor. loss: 3 values [total, Dice part, focal part], each
/// part after its loss_weight; grad_logits (or NULL): the gradient of the total.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_dice_focal_loss_f32(logits: *const f32, target: *const i64, class_weight: *const f32, shape: lossfn_shape, dice: *const lossfn_overlap_options, focal: *const lossfn_focal_options, loss: *mut f32, grad_logits: *mut f32) -> lossfn_status {
    unsafe { fused_entry(logits, target, class_weight, shape, dice, focal, loss, grad_logits) }
}
/// Dice + softmax focal, double precision: see lossfn_dice_focal_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_dice_focal_loss_f64(logits: *const f64, target: *const i64, class_weight: *const f64, shape: lossfn_shape, dice: *const lossfn_overlap_options, focal: *const lossfn_focal_options, loss: *mut f64, grad_logits: *mut f64) -> lossfn_status {
    unsafe { fused_entry(logits, target, class_weight, shape, dice, focal, loss, grad_logits) }
}

/// Which batch score the two-phase functions compute (docs/distributed.md).
pub type lossfn_overlap_kind = u32;
/// Dice (lossfn_dice_loss_f32).
pub const LOSSFN_OVERLAP_DICE: lossfn_overlap_kind = 0;
/// Tversky, Focal Tversky with gamma != 1 (lossfn_tversky_loss_f32).
pub const LOSSFN_OVERLAP_TVERSKY: lossfn_overlap_kind = 1;
/// Generalized Dice (lossfn_generalized_dice_loss_f32).
pub const LOSSFN_OVERLAP_GENERALIZED_DICE: lossfn_overlap_kind = 2;
/// Jaccard (lossfn_jaccard_loss_f32).
pub const LOSSFN_OVERLAP_JACCARD: lossfn_overlap_kind = 3;

/// A C kind value.
fn overlap_kind(kind: lossfn_overlap_kind) -> Result<OverlapKind> {
    match kind {
        LOSSFN_OVERLAP_DICE => Ok(OverlapKind::Dice),
        LOSSFN_OVERLAP_TVERSKY => Ok(OverlapKind::Tversky),
        LOSSFN_OVERLAP_GENERALIZED_DICE => Ok(OverlapKind::GeneralizedDice),
        LOSSFN_OVERLAP_JACCARD => Ok(OverlapKind::Jaccard),
        v => Err(Error::option(format!("`kind` = {v} is not a lossfn_overlap_kind (DICE 0, TVERSKY 1, GENERALIZED_DICE 2, JACCARD 3)"))),
    }
}

/// The shared body of lossfn_overlap_stats_*.
unsafe fn stats_entry<T: Float>(
    kind: lossfn_overlap_kind,
    input: *const T,
    target: TargetPtr<T>,
    shape: lossfn_shape,
    options: *const lossfn_overlap_options,
    stats: *mut f64,
    stats_len: usize,
) -> lossfn_status {
    ffi_boundary! {
        let o: lossfn_overlap_options = unsafe { read_options("options", options)? };
        let kind = overlap_kind(kind)?;
        let o = overlap_options(&o, kind)?;
        let shape = shape_of(shape)?;
        let p = api::prepare_stats(kind, &o, &shape, target.is_soft(), false)?;
        api::check_stats_len(stats_len, p.count, &o, Error::option)?;
        let mut io = Io::new();
        let input = unsafe { io.input("input", input, shape.len())? };
        let target = unsafe { target.read(&mut io, &shape)? };
        let stats = unsafe { io.output("stats", stats, stats_len)? };
        api::compute_stats(&p, input, target, shape, &o, stats)
    }
}

/// The shared body of lossfn_overlap_loss_from_stats_*.
#[allow(clippy::too_many_arguments)]
unsafe fn from_stats_entry<T: Float>(
    kind: lossfn_overlap_kind,
    input: *const T,
    target: TargetPtr<T>,
    class_weight: *const T,
    shape: lossfn_shape,
    options: *const lossfn_overlap_options,
    global_stats: *const f64,
    stats_len: usize,
    loss: *mut T,
    grad_input: *mut T,
) -> lossfn_status {
    ffi_boundary! {
        let o: lossfn_overlap_options = unsafe { read_options("options", options)? };
        let kind = overlap_kind(kind)?;
        let o = overlap_options(&o, kind)?;
        let shape = shape_of(shape)?;
        let p = api::prepare_stats(kind, &o, &shape, target.is_soft(), !class_weight.is_null())?;
        api::check_stats_len(stats_len, p.count, &o, Error::size)?;
        let mut io = Io::new();
        let input = unsafe { io.input("input", input, shape.len())? };
        let target = unsafe { target.read(&mut io, &shape)? };
        let class_weight = unsafe { io.optional_input("class_weight", class_weight, shape.classes)? };
        let stats = unsafe { io.input("global_stats", global_stats, stats_len)? };
        let loss = unsafe { io.output("loss", loss, p.prepared.controls.loss_len(p.prepared.terms(&shape)))? };
        let grad = unsafe { io.optional_output("grad_input", grad_input, shape.len())? };
        api::compute_from_stats(&p, input, target, class_weight, shape, &o, stats, loss, grad)
    }
}

/// Phase 1 of the exact batch score across data-parallel ranks (docs/distributed.md): this
/// rank's statistics of a batch-pooled Dice, Tversky or generalized Dice (`kind`), in double,
/// as one [TP, P, G] triple per class kept (C' = classes, or classes - 1 without background), in
/// the order of the NONE output: TP = sum p*g, P = sum p, G = sum g (sum p^2 and sum g^2 for
/// Dice with squared_pred; MONAI's soft TP with soft_label). options.batch must be true.
/// input: batch*classes*spatial in shape.layout; target: batch*spatial class indices or
/// options.ignore_index. stats: stats_len = 3*C' doubles (another stats_len: INVALID_OPTION).
/// Sum the stats of all ranks (MPI_Allreduce, SUM), then call
/// lossfn_overlap_loss_from_stats_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_overlap_stats_f32(kind: lossfn_overlap_kind, input: *const f32, target: *const i64, shape: lossfn_shape, options: *const lossfn_overlap_options, stats: *mut f64, stats_len: usize) -> lossfn_status {
    unsafe { stats_entry(kind, input, TargetPtr::Index(target), shape, options, stats, stats_len) }
}
/// Phase 1, double precision: see lossfn_overlap_stats_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_overlap_stats_f64(kind: lossfn_overlap_kind, input: *const f64, target: *const i64, shape: lossfn_shape, options: *const lossfn_overlap_options, stats: *mut f64, stats_len: usize) -> lossfn_status {
    unsafe { stats_entry(kind, input, TargetPtr::Index(target), shape, options, stats, stats_len) }
}
/// Phase 1 on soft (or multi-label) targets: as lossfn_overlap_stats_f32, with target holding
/// batch*classes*spatial values in the input's layout.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_overlap_stats_soft_f32(kind: lossfn_overlap_kind, input: *const f32, target: *const f32, shape: lossfn_shape, options: *const lossfn_overlap_options, stats: *mut f64, stats_len: usize) -> lossfn_status {
    unsafe { stats_entry(kind, input, TargetPtr::Soft(target), shape, options, stats, stats_len) }
}
/// Phase 1 on soft targets, double precision: see lossfn_overlap_stats_soft_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_overlap_stats_soft_f64(kind: lossfn_overlap_kind, input: *const f64, target: *const f64, shape: lossfn_shape, options: *const lossfn_overlap_options, stats: *mut f64, stats_len: usize) -> lossfn_status {
    unsafe { stats_entry(kind, input, TargetPtr::Soft(target), shape, options, stats, stats_len) }
}
/// Phase 2: the loss of the whole batch from the statistics summed over all ranks
/// (global_stats, stats_len = 3*C' doubles; statistics of another class count or
/// include_background: INVALID_SIZE; NaN, or a negative count or probability sum:
/// INVALID_OPTION), and this rank's gradient of it (grad_input: batch*classes*spatial or NULL;
/// one pass over the input). Every rank gets the same loss (the whole batch's; no further
/// all-reduce). Options, class_weight (NULL for GENERALIZED_DICE) and loss as the kind's own
/// function (lossfn_dice_loss_f32, lossfn_tversky_loss_f32, lossfn_generalized_dice_loss_f32)
/// with options.batch = true; with one rank's statistics it equals that function bit for bit.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_overlap_loss_from_stats_f32(kind: lossfn_overlap_kind, input: *const f32, target: *const i64, class_weight: *const f32, shape: lossfn_shape, options: *const lossfn_overlap_options, global_stats: *const f64, stats_len: usize, loss: *mut f32, grad_input: *mut f32) -> lossfn_status {
    unsafe { from_stats_entry(kind, input, TargetPtr::Index(target), class_weight, shape, options, global_stats, stats_len, loss, grad_input) }
}
/// Phase 2, double precision: see lossfn_overlap_loss_from_stats_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_overlap_loss_from_stats_f64(kind: lossfn_overlap_kind, input: *const f64, target: *const i64, class_weight: *const f64, shape: lossfn_shape, options: *const lossfn_overlap_options, global_stats: *const f64, stats_len: usize, loss: *mut f64, grad_input: *mut f64) -> lossfn_status {
    unsafe { from_stats_entry(kind, input, TargetPtr::Index(target), class_weight, shape, options, global_stats, stats_len, loss, grad_input) }
}
/// Phase 2 on soft targets: as lossfn_overlap_loss_from_stats_f32, with target holding
/// batch*classes*spatial values in the input's layout.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_overlap_loss_from_stats_soft_f32(kind: lossfn_overlap_kind, input: *const f32, target: *const f32, class_weight: *const f32, shape: lossfn_shape, options: *const lossfn_overlap_options, global_stats: *const f64, stats_len: usize, loss: *mut f32, grad_input: *mut f32) -> lossfn_status {
    unsafe { from_stats_entry(kind, input, TargetPtr::Soft(target), class_weight, shape, options, global_stats, stats_len, loss, grad_input) }
}
/// Phase 2 on soft targets, double precision: see lossfn_overlap_loss_from_stats_soft_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_overlap_loss_from_stats_soft_f64(kind: lossfn_overlap_kind, input: *const f64, target: *const f64, class_weight: *const f64, shape: lossfn_shape, options: *const lossfn_overlap_options, global_stats: *const f64, stats_len: usize, loss: *mut f64, grad_input: *mut f64) -> lossfn_status {
    unsafe { from_stats_entry(kind, input, TargetPtr::Soft(target), class_weight, shape, options, global_stats, stats_len, loss, grad_input) }
}
