//! Segmentation losses over a class tensor described by a [`Shape`]: Dice, Jaccard, Tversky (with
//! Focal Tversky) and generalized Dice (MONAI `DiceLoss`, `DiceLoss(jaccard=True)`, `TverskyLoss`,
//! `GeneralizedDiceLoss`) on index or soft targets; Dice + cross entropy and Dice + softmax focal fused on one softmax
//! (MONAI `DiceCELoss`, `DiceFocalLoss`); the two-phase statistics of a batch score split across
//! data-parallel ranks; the Lovász-Softmax and Lovász hinge losses (segmentation_models_pytorch
//! `LovaszLoss`).
//!
//! Index targets are `i64`, one per position (n, s) at `n·spatial + s`; soft targets hold
//! batch·classes·spatial values in the input's layout. A score is a (sample, class) pair, or a
//! class pooled over the batch ([`OverlapOptions::batch`]); NONE writes one value per score.
//!
//! ```
//! use lossfn::overlap::{dice_loss, OverlapOptions, Layout, Shape};
//!
//! // One image of 4 pixels, 2 classes, logits class-major ([N, C, S]), labels 1 1 0 0.
//! let logits = [-2.0f32, -2.0, 2.0, 2.0, 2.0, 2.0, -2.0, -2.0];
//! let shape = Shape { batch: 1, classes: 2, spatial: 4, layout: Layout::Ncs };
//! let (mut loss, mut grad) = ([0f32], [0f32; 8]);
//! dice_loss(&logits, &[1, 1, 0, 0], None, shape, &OverlapOptions::default(), &mut loss, Some(&mut grad))?;
//! assert!(loss[0] > 0.0 && loss[0] < 0.2); // a good prediction
//!
//! // Soft labels are for soft targets: with index targets the option is refused.
//! let options = OverlapOptions { soft_label: true, ..Default::default() };
//! let err = dice_loss(&logits, &[1, 1, 0, 0], None, shape, &options, &mut loss, None).unwrap_err();
//! assert!(matches!(err, lossfn::Error::InvalidOption(_)));
//! # Ok::<(), lossfn::Error>(())
//! ```
use super::classification::{check_shape, CrossEntropyOptions, FocalOptions};
use super::{check_len, check_opt_len, check_option, check_outputs, mul_size, run_loss, Float, Reduction};
use crate::error::{Error, Result};
use crate::kernels::lovasz::{self as lk};
use crate::kernels::overlap::{self as k, Args, InvalidTarget, Params, PartParams, PixelLoss, Score, Target};
pub use crate::kernels::classification::{Layout, Shape};
pub use crate::kernels::overlap::{Activation, GdiceWeight};
use crate::reduce::{Controls, Output};

options! {
    /// Options of the Dice, Jaccard, Tversky and generalized Dice losses, of the Dice part of the
    /// fused losses and of the two-phase functions (`lossfn_overlap_options`). MEAN is the
    /// weighted mean over the scores (`class_weight`).
    OverlapOptions {
        /// SOFTMAX (default; over every class, also without the background), SIGMOID or NONE
        /// (the input is probabilities).
        activation: Activation = Activation::Softmax,
        /// 1e-5, added to the numerator; finite, >= 0.
        smooth_nr: f64 = 1e-5,
        /// 1e-5, added to the denominator; finite, >= 0.
        smooth_dr: f64 = 1e-5,
        /// true; false drops class 0 from the scores (it stays in the softmax). Needs classes >= 2.
        include_background: bool = true,
        /// false: one score per (sample, class); true: sums pooled over the batch, one per class.
        batch: bool = false,
        /// Dice and Jaccard only: false; true uses Σp² and Σg² for P and G.
        squared_pred: bool = false,
        /// Tversky only: weight of false positives, 0.3; finite, >= 0.
        alpha: f64 = 0.3,
        /// Tversky only: weight of false negatives, 0.7; finite, >= 0.
        beta: f64 = 0.7,
        /// 1.0: each score's loss is 1 − score; otherwise max(0, 1 − score)^gamma (Focal
        /// Tversky: e.g. 0.75); finite, > 0.
        gamma: f64 = 1.0,
        /// Index targets only: -100; positions with this target count nowhere. Soft targets:
        /// only -100.
        ignore_index: i64 = -100,
        /// Generalized Dice only: SQUARE (default, w = 1/G²), SIMPLE (1/G) or UNIFORM (1).
        w_type: GdiceWeight = GdiceWeight::Square,
        /// Soft targets only: false; true uses MONAI's soft-label sums (TP = Σ min(p, g) for
        /// p, g >= 0).
        soft_label: bool = false,
    } reduction = Reduction::Mean
}

options! {
    /// Options of [`lovasz_softmax_loss`] and [`lovasz_hinge_loss`] (`lossfn_lovasz_options`).
    /// MEAN is over the images with `per_image`, else the one value.
    LovaszOptions {
        /// Lovász-Softmax only: SOFTMAX (default) or NONE (the input is probabilities); SIGMOID
        /// is refused (use the hinge for binary masks).
        activation: Activation = Activation::Softmax,
        /// false: one loss over the whole batch (smp's default); true: one per image.
        per_image: bool = false,
        /// Lovász-Softmax only: true (smp's classes='present'); false: every class.
        classes_present: bool = true,
        /// -100; positions whose target equals it count nowhere.
        ignore_index: i64 = -100,
    } reduction = Reduction::Mean
}

/// Which batch score the two-phase functions compute (`lossfn_overlap_kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OverlapKind {
    /// Dice ([`dice_loss`]).
    Dice,
    /// Tversky, Focal Tversky with gamma != 1 ([`tversky_loss`]).
    Tversky,
    /// Generalized Dice ([`generalized_dice_loss`]).
    GeneralizedDice,
    /// Jaccard ([`jaccard_loss`]).
    Jaccard,
}

/// The targets of one call: class indices or soft values.
#[derive(Clone, Copy)]
pub(crate) enum Targets<'a, T> {
    Index(&'a [i64]),
    Soft(&'a [T]),
}

impl<T> Targets<'_, T> {
    fn is_soft(&self) -> bool {
        matches!(self, Targets::Soft(_))
    }
}

/// The validated options of one overlap call: its output controls and kernel parameters.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Prepared {
    pub(crate) controls: Controls,
    params: Params,
}

impl Prepared {
    /// The number of loss values of NONE (scores; samples for generalized Dice).
    pub(crate) fn terms(&self, shape: &Shape) -> usize {
        k::loss_count(shape, &self.params)
    }
}

/// Reads and validates the options into kernel parameters (`soft`: the kind of target).
fn params(kind: OverlapKind, o: &OverlapOptions, classes: usize, soft: bool) -> Result<Params> {
    let nonneg = |v: f64| v.is_finite() && v >= 0.0;
    check_option("options.smooth_nr", o.smooth_nr, nonneg(o.smooth_nr), "finite, >= 0")?;
    check_option("options.smooth_dr", o.smooth_dr, nonneg(o.smooth_dr), "finite, >= 0")?;
    check_option("options.gamma", o.gamma, o.gamma.is_finite() && o.gamma > 0.0, "finite, > 0")?;
    let score = match kind {
        OverlapKind::Dice => Score::Dice { squared_pred: o.squared_pred, jaccard: false },
        OverlapKind::Jaccard => Score::Dice { squared_pred: o.squared_pred, jaccard: true },
        OverlapKind::Tversky => {
            check_option("options.alpha", o.alpha, nonneg(o.alpha), "finite, >= 0")?;
            check_option("options.beta", o.beta, nonneg(o.beta), "finite, >= 0")?;
            Score::Tversky { alpha: o.alpha, beta: o.beta }
        }
        OverlapKind::GeneralizedDice => {
            // MONAI's GeneralizedDiceLoss has no squared denominator; silently dropping the
            // request would train a different loss than asked for.
            if o.squared_pred {
                return Err(Error::option(
                    "`options.squared_pred` = true: generalized Dice (MONAI GeneralizedDiceLoss) has no \
                     squared-prediction denominator",
                ));
            }
            Score::Generalized { w_type: o.w_type }
        }
    };
    // MONAI only warns here and silently changes the computation; a single class cannot lose
    // its background, and its softmax is the constant 1 (zero gradient): both are errors.
    if classes == 1 && !o.include_background {
        return Err(Error::option(
            "`options.include_background` = false needs classes >= 2 (it would leave no score); \
             for one-channel binary segmentation keep the channel (include_background = true)",
        ));
    }
    if classes == 1 && o.activation == Activation::Softmax {
        return Err(Error::option(
            "`options.activation` = SOFTMAX over classes = 1 is the constant 1 (zero gradient); \
             use SIGMOID for one-channel binary segmentation",
        ));
    }
    if !soft && o.soft_label {
        return Err(Error::option(
            "`options.soft_label` = true: index targets are hard (one-hot) labels; soft_label \
             applies to soft targets (dice_loss_soft, tversky_loss_soft, generalized_dice_loss_soft)",
        ));
    }
    if soft && o.ignore_index != -100 {
        return Err(Error::option(format!(
            "`options.ignore_index` = {} is not accepted with soft targets (only the default -100)",
            o.ignore_index
        )));
    }
    Ok(Params {
        score,
        activation: o.activation,
        smooth_nr: o.smooth_nr,
        smooth_dr: o.smooth_dr,
        include_background: o.include_background,
        batch: o.batch,
        gamma: o.gamma,
        reduction: crate::reduce::Reduction::Mean.into(),
        soft_label: o.soft_label,
    })
}

/// Validates the options of an overlap loss (the C API does so before its buffers).
pub(crate) fn prepare(kind: OverlapKind, o: &OverlapOptions, shape: &Shape, soft: bool) -> Result<Prepared> {
    let controls = o.controls(false)?;
    check_shape(shape)?;
    Ok(Prepared { controls, params: params(kind, o, shape.classes, soft)? })
}

/// INVALID_TARGET for the first bad index target, with its sample and position.
fn target_error(e: InvalidTarget, shape: &Shape, ignore_index: i64) -> Error {
    bad_target(e.index, &e.value, &format!("a class in [0, {})", shape.classes), shape, ignore_index)
}

/// INVALID_TARGET naming target `index` (its sample and position), its value and what it must be.
fn bad_target(index: usize, value: &dyn std::fmt::Display, what: &str, shape: &Shape, ignore_index: i64) -> Error {
    let spatial = shape.spatial.max(1);
    Error::target(format!(
        "`target`[{index}] = {value} (sample {}, position {}) is not {what} nor ignore_index ({ignore_index})",
        index / spatial,
        index % spatial
    ))
}

/// Checks the input and target lengths and builds the kernel's arguments.
fn args<'a, T>(input_name: &str, input: &'a [T], target: Targets<'a, T>, class_weight: Option<&'a [T]>, shape: Shape, ignore_index: i64) -> Result<Args<'a, T>> {
    check_len(input_name, input.len(), shape.len(), "batch x classes x spatial")?;
    let target = match target {
        Targets::Index(t) => {
            check_len("target", t.len(), shape.positions(), "one label per position: batch x spatial")?;
            Target::Index { target: t, ignore_index }
        }
        Targets::Soft(t) => {
            check_len("target", t.len(), shape.len(), "the input's length")?;
            Target::Soft(t)
        }
    };
    check_opt_len("class_weight", class_weight, shape.classes, "one per class")?;
    Ok(Args { input, target, class_weight, shape })
}

/// Checks the lengths and computes an overlap loss.
#[allow(clippy::too_many_arguments)]
pub(crate) fn compute<T: Float>(p: &Prepared, input: &[T], target: Targets<'_, T>, class_weight: Option<&[T]>, shape: Shape, o: &OverlapOptions, loss: &mut [T], grad_input: Option<&mut [T]>) -> Result<()> {
    let args = args("input", input, target, class_weight, shape, o.ignore_index)?;
    check_outputs(&p.controls, p.terms(&shape), loss, "grad_input", grad_input.as_deref(), shape.len())?;
    run_loss(&p.controls, loss, grad_input, "grad_input", |reduction, none, grad| {
        k::overlap(&args, &Params { reduction, ..p.params }, none, grad).map_err(|e| target_error(e, &shape, o.ignore_index))
    })
}

/// One overlap loss: prepare, then compute.
#[allow(clippy::too_many_arguments)]
fn overlap_loss<T: Float>(kind: OverlapKind, input: &[T], target: Targets<'_, T>, class_weight: Option<&[T]>, shape: Shape, o: &OverlapOptions, loss: &mut [T], grad_input: Option<&mut [T]>) -> Result<()> {
    let p = prepare(kind, o, &shape, target.is_soft())?;
    compute(&p, input, target, class_weight, shape, o, loss, grad_input)
}

/// Dice loss (MONAI `DiceLoss`) on index targets: per score, 1 − (2·TP + smooth_nr) /
/// (Σp + Σg + smooth_dr) with TP = Σp·g, p = activation(input), g = one-hot(target) (never
/// materialised); with gamma != 1, max(0, 1 − score)^gamma. `input`: batch·classes·spatial in
/// `shape.layout`; `target`: batch·spatial labels in [0, classes) or `ignore_index`;
/// `class_weight`: classes or `None` (a score's term weight is its class's); `loss`: 1 value, or
/// one per score for NONE (`[batch][C']`, or `[C']` with `batch`; C' = classes, or classes − 1
/// without background); `grad_input`: like `input`, or `None`.
#[allow(clippy::too_many_arguments)]
pub fn dice_loss<T: Float>(input: &[T], target: &[i64], class_weight: Option<&[T]>, shape: Shape, options: &OverlapOptions, loss: &mut [T], grad_input: Option<&mut [T]>) -> Result<()> {
    overlap_loss(OverlapKind::Dice, input, Targets::Index(target), class_weight, shape, options, loss, grad_input)
}

/// Dice loss on soft (or multi-label) targets (`target` like `input`). As [`dice_loss`]
/// otherwise.
#[allow(clippy::too_many_arguments)]
pub fn dice_loss_soft<T: Float>(input: &[T], target: &[T], class_weight: Option<&[T]>, shape: Shape, options: &OverlapOptions, loss: &mut [T], grad_input: Option<&mut [T]>) -> Result<()> {
    overlap_loss(OverlapKind::Dice, input, Targets::Soft(target), class_weight, shape, options, loss, grad_input)
}

/// Jaccard loss (soft IoU) as MONAI `DiceLoss(jaccard=True)`, on index targets: per score,
/// 1 − (2·TP + smooth_nr) / (2·(P + G − TP) + smooth_dr), TP = Σp·g, P = Σp, G = Σg (Σp², Σg²
/// with `squared_pred`; MONAI's soft TP with `soft_label`), i.e. TP / (TP + FP + FN) up to the
/// smoothing; with gamma != 1, max(0, 1 − score)^gamma. Buffers and options as [`dice_loss`].
#[allow(clippy::too_many_arguments)]
pub fn jaccard_loss<T: Float>(input: &[T], target: &[i64], class_weight: Option<&[T]>, shape: Shape, options: &OverlapOptions, loss: &mut [T], grad_input: Option<&mut [T]>) -> Result<()> {
    overlap_loss(OverlapKind::Jaccard, input, Targets::Index(target), class_weight, shape, options, loss, grad_input)
}

/// Jaccard loss on soft (or multi-label) targets (`target` like `input`). As [`jaccard_loss`]
/// otherwise.
#[allow(clippy::too_many_arguments)]
pub fn jaccard_loss_soft<T: Float>(input: &[T], target: &[T], class_weight: Option<&[T]>, shape: Shape, options: &OverlapOptions, loss: &mut [T], grad_input: Option<&mut [T]>) -> Result<()> {
    overlap_loss(OverlapKind::Jaccard, input, Targets::Soft(target), class_weight, shape, options, loss, grad_input)
}

/// Tversky loss (MONAI `TverskyLoss`) on index targets: per score, 1 − (TP + smooth_nr) /
/// (TP + alpha·FP + beta·FN + smooth_dr), FP = Σp·(1 − g), FN = Σ(1 − p)·g; Focal Tversky with
/// gamma != 1. Buffers as [`dice_loss`].
#[allow(clippy::too_many_arguments)]
pub fn tversky_loss<T: Float>(input: &[T], target: &[i64], class_weight: Option<&[T]>, shape: Shape, options: &OverlapOptions, loss: &mut [T], grad_input: Option<&mut [T]>) -> Result<()> {
    overlap_loss(OverlapKind::Tversky, input, Targets::Index(target), class_weight, shape, options, loss, grad_input)
}

/// Tversky loss on soft (or multi-label) targets (`target` like `input`).
#[allow(clippy::too_many_arguments)]
pub fn tversky_loss_soft<T: Float>(input: &[T], target: &[T], class_weight: Option<&[T]>, shape: Shape, options: &OverlapOptions, loss: &mut [T], grad_input: Option<&mut [T]>) -> Result<()> {
    overlap_loss(OverlapKind::Tversky, input, Targets::Soft(target), class_weight, shape, options, loss, grad_input)
}

/// Generalized Dice loss (Sudre et al. 2017) as MONAI `GeneralizedDiceLoss`, on index targets:
/// per sample (or once for the pooled batch), 1 − (2·Σ_c w_c·TP_c + smooth_nr) /
/// (Σ_c w_c·(P_c + G_c) + smooth_dr), w_c from `w_type` (a class absent from the sample gets the
/// largest finite weight, as MONAI). No class weights (the weights are the loss's own). `loss`:
/// 1 value, or for NONE one per sample (1 with `batch`). Buffers as [`dice_loss`] otherwise.
pub fn generalized_dice_loss<T: Float>(input: &[T], target: &[i64], shape: Shape, options: &OverlapOptions, loss: &mut [T], grad_input: Option<&mut [T]>) -> Result<()> {
    overlap_loss(OverlapKind::GeneralizedDice, input, Targets::Index(target), None, shape, options, loss, grad_input)
}

/// Generalized Dice loss on soft (or multi-label) targets (`target` like `input`).
pub fn generalized_dice_loss_soft<T: Float>(input: &[T], target: &[T], shape: Shape, options: &OverlapOptions, loss: &mut [T], grad_input: Option<&mut [T]>) -> Result<()> {
    overlap_loss(OverlapKind::GeneralizedDice, input, Targets::Soft(target), None, shape, options, loss, grad_input)
}

// ------------------------------------------------------------------------------------------
// Dice fused with a per-position loss.
// ------------------------------------------------------------------------------------------

/// Renames the options struct an error message names: the shared checks say `options.x`; the
/// fused call has two structs (`dice`, and `ce` or `focal`).
pub(crate) fn in_struct(e: Error, name: &str) -> Error {
    e.with_message(e.message().replace("`options.", &format!("`{name}.")))
}

/// The options struct of the part fused with Dice: its argument name and what it computes.
pub(crate) trait FusedPart {
    /// The argument's name (`ce`, `focal`).
    const NAME: &'static str;
    fn ignore_index(&self) -> i64;
    fn part_controls(&self) -> Result<Controls>;
    /// The validated part.
    fn part(&self) -> Result<PixelLoss>;
}

impl FusedPart for CrossEntropyOptions {
    const NAME: &'static str = "ce";
    fn ignore_index(&self) -> i64 {
        self.ignore_index
    }
    fn part_controls(&self) -> Result<Controls> {
        self.controls(false)
    }
    fn part(&self) -> Result<PixelLoss> {
        check_option("ce.label_smoothing", self.label_smoothing, (0.0..=1.0).contains(&self.label_smoothing), "in [0, 1]")?;
        Ok(PixelLoss::CrossEntropy { label_smoothing: self.label_smoothing })
    }
}

impl FusedPart for FocalOptions {
    const NAME: &'static str = "focal";
    fn ignore_index(&self) -> i64 {
        self.ignore_index
    }
    fn part_controls(&self) -> Result<Controls> {
        self.controls(false)
    }
    fn part(&self) -> Result<PixelLoss> {
        check_option("focal.gamma", self.gamma, self.gamma.is_finite() && self.gamma >= 0.0, "finite, >= 0")?;
        Ok(PixelLoss::Focal { gamma: self.gamma })
    }
}

/// The validated options of a fused call.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PreparedFused {
    params: Params,
    part: PartParams,
    accumulate: bool,
}

/// Validates the options of [`dice_ce_loss`] / [`dice_focal_loss`].
pub(crate) fn prepare_fused<S: FusedPart>(d: &OverlapOptions, c: &S, shape: &Shape) -> Result<PreparedFused> {
    use crate::reduce::{Reduce, Reduction};
    let name = S::NAME;
    // Each part's reduction, λ and avg_factor are its own; NONE (per-score and per-position
    // values of two shapes) and MEAN_DENOMINATOR (two denominators: ask dice_loss and
    // cross_entropy for theirs) are refused.
    let part = |name: &str, controls: Controls| -> Result<Reduce> {
        match controls.output {
            Output::Reduced(kind @ (Reduction::Mean | Reduction::Sum)) => Ok(Reduce { kind, loss_weight: controls.loss_weight, avg_factor: controls.avg_factor }),
            _ => Err(Error::option(format!(
                "`{name}.reduction` must be LOSSFN_REDUCTION_MEAN or _SUM for the fused loss (NONE has two \
                 shapes; for MEAN_DENOMINATOR ask each part's own function for its denominator)"
            ))),
        }
    };
    let dice_controls = d.controls(false).map_err(|e| in_struct(e, "dice"))?;
    let other_controls = c.part_controls().map_err(|e| in_struct(e, name))?;
    let dice_reduce = part("dice", dice_controls)?;
    let other_reduce = part(name, other_controls)?;
    if d.activation != Activation::Softmax {
        return Err(Error::option(format!(
            "`dice.activation` = {:?}: the fused parts share one softmax (LOSSFN_ACTIVATION_SOFTMAX)",
            d.activation
        )));
    }
    if d.ignore_index != c.ignore_index() {
        return Err(Error::option(format!(
            "`dice.ignore_index` = {} differs from `{name}.ignore_index` = {}: ignored positions count in neither part",
            d.ignore_index,
            c.ignore_index()
        )));
    }
    if dice_controls.accumulate != other_controls.accumulate {
        return Err(Error::option(format!(
            "`dice.accumulate` = {} differs from `{name}.accumulate` = {}: the call writes one gradient",
            dice_controls.accumulate, other_controls.accumulate
        )));
    }
    if d.soft_label {
        return Err(Error::option("`dice.soft_label` = true: index targets are hard (one-hot) labels"));
    }
    let pixel = c.part()?;
    check_shape(shape)?;
    let params = params(OverlapKind::Dice, d, shape.classes, false).map_err(|e| in_struct(e, "dice"))?;
    Ok(PreparedFused {
        params: Params { reduction: dice_reduce, ..params },
        part: PartParams { reduction: other_reduce, loss: pixel },
        accumulate: d.accumulate,
    })
}

/// Checks the lengths and computes a fused loss.
#[allow(clippy::too_many_arguments)]
pub(crate) fn compute_fused<T: Float>(p: &PreparedFused, logits: &[T], target: &[i64], class_weight: Option<&[T]>, shape: Shape, ignore_index: i64, loss: &mut [T], grad_logits: Option<&mut [T]>) -> Result<()> {
    let args = args("logits", logits, Targets::Index(target), class_weight, shape, ignore_index)?;
    check_len("loss", loss.len(), 3, "[total, Dice part, other part]")?;
    check_opt_len("grad_logits", grad_logits.as_deref(), shape.len(), "the input's length")?;
    // The kernel scales each part itself; the shared layer only adds `accumulate`.
    let controls = Controls { accumulate: p.accumulate, ..Controls::plain(crate::reduce::Reduction::Sum) };
    run_loss(&controls, loss, grad_logits, "grad_logits", |_, _, grad| {
        let (dice, other) = k::overlap_fused(&args, &p.params, &p.part, grad).map_err(|e| target_error(e, &shape, ignore_index))?;
        Ok([dice + other, dice, other])
    })
}

/// Dice + cross entropy on one softmax (MONAI `DiceCELoss`), in the passes Dice alone makes.
/// The Dice part equals [`dice_loss`] with `dice` (activation SOFTMAX; its `loss_weight` is
/// MONAI's lambda_dice), the cross-entropy part [`cross_entropy`](super::classification::cross_entropy)
/// with `ce` (its `loss_weight` is lambda_ce). `class_weight` (classes or `None`) weighs both
/// parts. `ignore_index` and `accumulate` must be equal in both structs; each part's reduction
/// is MEAN or SUM. `loss`: 3 values `[total, Dice part, CE part]`; `grad_logits`: the gradient
/// of the total, or `None`.
#[allow(clippy::too_many_arguments)]
pub fn dice_ce_loss<T: Float>(logits: &[T], target: &[i64], class_weight: Option<&[T]>, shape: Shape, dice: &OverlapOptions, ce: &CrossEntropyOptions, loss: &mut [T], grad_logits: Option<&mut [T]>) -> Result<()> {
    let p = prepare_fused(dice, ce, &shape)?;
    compute_fused(&p, logits, target, class_weight, shape, dice.ignore_index, loss, grad_logits)
}

/// Dice + softmax focal on one softmax: the focal part equals
/// [`softmax_focal_loss`](super::classification::softmax_focal_loss) with `focal` (gamma;
/// `focal.alpha` unused) and `class_weight` as its class_alpha (MONAI's `DiceFocalLoss` pairs
/// Dice with a sigmoid focal; this is MONAI's `FocalLoss(use_softmax=True)` term by term).
/// As [`dice_ce_loss`] otherwise; `loss`: `[total, Dice part, focal part]`.
#[allow(clippy::too_many_arguments)]
pub fn dice_focal_loss<T: Float>(logits: &[T], target: &[i64], class_weight: Option<&[T]>, shape: Shape, dice: &OverlapOptions, focal: &FocalOptions, loss: &mut [T], grad_logits: Option<&mut [T]>) -> Result<()> {
    let p = prepare_fused(dice, focal, &shape)?;
    compute_fused(&p, logits, target, class_weight, shape, dice.ignore_index, loss, grad_logits)
}

// ------------------------------------------------------------------------------------------
// The two-phase batch score across data-parallel ranks (docs/distributed.md).
// ------------------------------------------------------------------------------------------

/// The validated parameters of a two-phase call and its number of statistics triples C'.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PreparedStats {
    pub(crate) prepared: Prepared,
    pub(crate) count: usize,
}

/// Validates the options of a two-phase call (`batch` must be true); `class_weight`: whether
/// the call has class weights (generalized Dice takes none).
pub(crate) fn prepare_stats(kind: OverlapKind, o: &OverlapOptions, shape: &Shape, soft: bool, class_weight: bool) -> Result<PreparedStats> {
    let controls = o.controls(false)?;
    if !o.batch {
        return Err(Error::option(
            "`options.batch` = false: the two-phase statistics are for the batch-pooled score (batch = true); \
             per-sample scores need no exchange (each rank calls the loss itself, with the MEAN recipe)",
        ));
    }
    check_shape(shape)?;
    let params = params(kind, o, shape.classes, soft)?;
    if kind == OverlapKind::GeneralizedDice && class_weight {
        return Err(Error::option("`class_weight` must be NULL for LOSSFN_OVERLAP_GENERALIZED_DICE (its class weights are the loss's own)"));
    }
    let count = k::stats_count(shape, &params);
    Ok(PreparedStats { prepared: Prepared { controls, params }, count })
}

/// The statistics' length must be 3·C' (a C' whose 3·C' overflows is INVALID_SIZE, whatever the
/// length); else `error` (INVALID_OPTION for phase 1's output, INVALID_SIZE for phase 2's input).
pub(crate) fn check_stats_len(stats_len: usize, count: usize, o: &OverlapOptions, error: fn(String) -> Error) -> Result<()> {
    let expected = mul_size("`shape.classes`: 3 statistics per class", count, 3)?;
    if stats_len == expected {
        return Ok(());
    }
    Err(error(format!(
        "`stats_len` = {stats_len}, expected 3 x {count} (one [TP, P, G] triple per class kept: include_background = {})",
        o.include_background
    )))
}

/// Checks the lengths and computes phase 1 (into a scratch first: nothing is written on error).
pub(crate) fn compute_stats<T: Float>(p: &PreparedStats, input: &[T], target: Targets<'_, T>, shape: Shape, o: &OverlapOptions, stats: &mut [f64]) -> Result<()> {
    check_stats_len(stats.len(), p.count, o, Error::option)?;
    let args = args("input", input, target, None, shape, o.ignore_index)?;
    let mut sums = vec![0f64; stats.len()];
    k::overlap_stats(&args, &p.prepared.params, &mut sums).map_err(|e| target_error(e, &shape, o.ignore_index))?;
    stats.copy_from_slice(&sums);
    Ok(())
}

/// Checks summed statistics: no NaN, and no negative sum where every term is >= 0 (G of index
/// targets, a count; TP and P of probabilities from SOFTMAX or SIGMOID with index targets).
fn check_stats(stats: &[f64], params: &Params, index: bool) -> Result<()> {
    let nonneg = |q: usize| match q {
        0 | 1 => index && params.activation != Activation::None,
        _ => index,
    };
    for (i, &v) in stats.iter().enumerate() {
        if v.is_nan() || (v < 0.0 && nonneg(i % 3)) {
            return Err(Error::option(format!(
                "`global_stats`[{i}] = {v} ({} of score {}): not a sum of this loss's statistics (a broken all-reduce?)",
                ["TP", "P", "G"][i % 3],
                i / 3
            )));
        }
    }
    Ok(())
}

/// Checks the lengths and the statistics and computes phase 2.
#[allow(clippy::too_many_arguments)]
pub(crate) fn compute_from_stats<T: Float>(
    p: &PreparedStats,
    input: &[T],
    target: Targets<'_, T>,
    class_weight: Option<&[T]>,
    shape: Shape,
    o: &OverlapOptions,
    global_stats: &[f64],
    loss: &mut [T],
    grad_input: Option<&mut [T]>,
) -> Result<()> {
    check_stats_len(global_stats.len(), p.count, o, Error::size)?;
    let index = !target.is_soft();
    let args = args("input", input, target, class_weight, shape, o.ignore_index)?;
    let params = &p.prepared.params;
    check_stats(global_stats, params, index)?;
    let controls = &p.prepared.controls;
    check_outputs(controls, p.prepared.terms(&shape), loss, "grad_input", grad_input.as_deref(), shape.len())?;
    run_loss(controls, loss, grad_input, "grad_input", |reduction, none, grad| {
        k::overlap_from_stats(&args, &Params { reduction, ..*params }, global_stats, none, grad).map_err(|e| target_error(e, &shape, o.ignore_index))
    })
}

/// Phase 1 of the exact batch score across data-parallel ranks: this rank's statistics of a
/// batch-pooled Dice, Tversky or generalized Dice (`kind`; `options.batch` must be true), one
/// `[TP, P, G]` triple per class kept, in the order of the NONE output (`stats`: 3·C' values;
/// another length is INVALID_OPTION). Sum them over the ranks (all-reduce), then call
/// [`overlap_loss_from_stats`]. `input`, `target` as [`dice_loss`].
pub fn overlap_stats<T: Float>(kind: OverlapKind, input: &[T], target: &[i64], shape: Shape, options: &OverlapOptions, stats: &mut [f64]) -> Result<()> {
    let p = prepare_stats(kind, options, &shape, false, false)?;
    compute_stats(&p, input, Targets::Index(target), shape, options, stats)
}

/// Phase 1 on soft (or multi-label) targets (`target` like `input`).
pub fn overlap_stats_soft<T: Float>(kind: OverlapKind, input: &[T], target: &[T], shape: Shape, options: &OverlapOptions, stats: &mut [f64]) -> Result<()> {
    let p = prepare_stats(kind, options, &shape, true, false)?;
    compute_stats(&p, input, Targets::Soft(target), shape, options, stats)
}

/// Phase 2: the loss of the whole batch from the statistics summed over all ranks
/// (`global_stats`, 3·C' values: another length is INVALID_SIZE; NaN, or a negative count or
/// probability sum, INVALID_OPTION) and this rank's gradient of it. Options, `class_weight`
/// (`None` for generalized Dice) and `loss` as the kind's own function with `batch`; with one
/// rank's statistics it equals that function bit for bit.
#[allow(clippy::too_many_arguments)]
pub fn overlap_loss_from_stats<T: Float>(
    kind: OverlapKind,
    input: &[T],
    target: &[i64],
    class_weight: Option<&[T]>,
    shape: Shape,
    options: &OverlapOptions,
    global_stats: &[f64],
    loss: &mut [T],
    grad_input: Option<&mut [T]>,
) -> Result<()> {
    let p = prepare_stats(kind, options, &shape, false, class_weight.is_some())?;
    compute_from_stats(&p, input, Targets::Index(target), class_weight, shape, options, global_stats, loss, grad_input)
}

/// Phase 2 on soft (or multi-label) targets (`target` like `input`).
#[allow(clippy::too_many_arguments)]
pub fn overlap_loss_from_stats_soft<T: Float>(
    kind: OverlapKind,
    input: &[T],
    target: &[T],
    class_weight: Option<&[T]>,
    shape: Shape,
    options: &OverlapOptions,
    global_stats: &[f64],
    loss: &mut [T],
    grad_input: Option<&mut [T]>,
) -> Result<()> {
    let p = prepare_stats(kind, options, &shape, true, class_weight.is_some())?;
    compute_from_stats(&p, input, Targets::Soft(target), class_weight, shape, options, global_stats, loss, grad_input)
}

// ------------------------------------------------------------------------------------------
// Lovász.
// ------------------------------------------------------------------------------------------

/// The validated options of a Lovász call.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PreparedLovasz {
    pub(crate) controls: Controls,
    params: lk::Params,
    activation: Activation,
}

impl PreparedLovasz {
    /// The number of loss values of NONE (one per image with `per_image`, else 1).
    pub(crate) fn terms(&self, shape: &Shape) -> usize {
        lk::group_count(shape, self.params.per_image)
    }
}

/// Validates the options of [`lovasz_softmax_loss`] (`hinge` false) or [`lovasz_hinge_loss`].
pub(crate) fn prepare_lovasz(hinge: bool, o: &LovaszOptions, shape: &Shape) -> Result<PreparedLovasz> {
    let controls = o.controls(false)?;
    check_shape(shape)?;
    let activation = match o.activation {
        // The hinge takes raw logits; its activation is unused.
        _ if hinge => Activation::None,
        Activation::Sigmoid => {
            return Err(Error::option(
                "`options.activation` = SIGMOID: Lovász-Softmax takes SOFTMAX or NONE (probabilities); \
                 for binary masks use lossfn_lovasz_hinge_loss",
            ))
        }
        a => a,
    };
    if hinge && shape.classes != 1 {
        return Err(Error::option(format!(
            "`shape.classes` = {}: the Lovász hinge is binary (one logit per position, classes = 1)",
            shape.classes
        )));
    }
    if !hinge && shape.classes == 1 && activation == Activation::Softmax {
        return Err(Error::option(
            "`options.activation` = SOFTMAX over classes = 1 is the constant 1 (zero gradient); \
             for one-channel binary segmentation use lossfn_lovasz_hinge_loss",
        ));
    }
    let params = lk::Params {
        per_image: o.per_image,
        classes_present: o.classes_present,
        ignore_index: o.ignore_index,
        reduction: crate::reduce::Reduction::Mean.into(),
    };
    Ok(PreparedLovasz { controls, params, activation })
}

/// Checks the lengths and computes a Lovász loss.
pub(crate) fn compute_lovasz<T: Float>(p: &PreparedLovasz, input: &[T], target: Targets<'_, T>, shape: Shape, loss: &mut [T], grad: Option<&mut [T]>) -> Result<()> {
    let hinge = target.is_soft();
    let (input_name, grad_name) = if hinge { ("logits", "grad_logits") } else { ("input", "grad_input") };
    check_len(input_name, input.len(), shape.len(), "batch x classes x spatial")?;
    let variant = match target {
        Targets::Index(target) => {
            check_len("target", target.len(), shape.positions(), "one label per position: batch x spatial")?;
            lk::Variant::Softmax { target, activation: p.activation }
        }
        Targets::Soft(target) => {
            check_len("target", target.len(), shape.positions(), "one 0/1 target per position: batch x spatial")?;
            lk::Variant::Hinge { target }
        }
    };
    check_outputs(&p.controls, p.terms(&shape), loss, grad_name, grad.as_deref(), shape.len())?;
    run_loss(&p.controls, loss, grad, grad_name, |reduction, none, grad| {
        lk::lovasz(input, variant, shape, &lk::Params { reduction, ..p.params }, none, grad).map_err(|e| {
            let what = if hinge { "0 or 1" } else { "a class in [0, classes)" };
            bad_target(e.index, &e.value, what, &shape, p.params.ignore_index)
        })
    })
}

/// Lovász-Softmax loss (Berman et al. 2018) as segmentation_models_pytorch `LovaszLoss`
/// ('multiclass'): per class counted, the errors |[y = c] − p_c| over the valid positions of the
/// batch (or of one image, `per_image`) sorted in decreasing order (ties by position) dotted with
/// the Lovász gradient of the Jaccard loss; the mean over the classes counted. `input`:
/// batch·classes·spatial (logits, or probabilities with activation NONE); `target`: batch·spatial
/// labels or `ignore_index`; `loss`: 1 value, or one per image for NONE with `per_image`;
/// `grad_input`: like `input` (the subgradient of the sorted form), or `None`.
pub fn lovasz_softmax_loss<T: Float>(input: &[T], target: &[i64], shape: Shape, options: &LovaszOptions, loss: &mut [T], grad_input: Option<&mut [T]>) -> Result<()> {
    let p = prepare_lovasz(false, options, &shape)?;
    compute_lovasz(&p, input, Targets::Index(target), shape, loss, grad_input)
}

/// Lovász hinge loss (binary) as segmentation_models_pytorch `LovaszLoss` ('binary'): raw
/// logits, `shape.classes` = 1, targets 0 or 1 (or `ignore_index`) one per position; the errors
/// 1 − x·(2t − 1) sorted in decreasing order, their positive parts dotted with the Lovász
/// gradient. As [`lovasz_softmax_loss`] otherwise (`activation`, `classes_present` unused).
pub fn lovasz_hinge_loss<T: Float>(logits: &[T], target: &[T], shape: Shape, options: &LovaszOptions, loss: &mut [T], grad_logits: Option<&mut [T]>) -> Result<()> {
    let p = prepare_lovasz(true, options, &shape)?;
    compute_lovasz(&p, logits, Targets::Soft(target), shape, loss, grad_logits)
}
