//! Distribution Focal Loss (ultralytics `DFLoss`, GFL) and the YOLOv8/11 box branch built on it
//! (ultralytics `BboxLoss`: decode, IoU loss and DFL from the raw distribution logits).
//!
//! ```
//! use lossfn::dfl::{dfl_loss, Options};
//!
//! // One box of one side over 4 bins; the target 1.25 lies between bins 1 and 2.
//! let logits = [0.1f64, 2.0, 1.0, -1.0];
//! let (mut loss, mut grad) = ([0f64], [0f64; 4]);
//! dfl_loss(&logits, &[1.25], None, 1, 4, &Options::default(), &mut loss, Some(&mut grad))?;
//! // The gradient of a softmax cross entropy sums to 0 over the bins.
//! assert!(grad.iter().sum::<f64>().abs() < 1e-12);
//! # Ok::<(), lossfn::Error>(())
//! ```
use super::boxes::{boxes_in, check_eps};
use super::{check_len, check_opt_len, check_option, check_outputs, mul_size, run_loss, Float, Reduction};
use crate::error::{Error, Result};
use crate::reduce::Controls;
use crate::kernels::boxes::{BoxLoss, IouMode};
pub use crate::kernels::boxes::{CiouVariant, IouKind};
use crate::kernels::dfl::{self as k, Args, BoxArgs, Gains};

options! {
    /// Options of [`dfl_loss`] (`lossfn_dfl_options`); NONE gives one value per box.
    Options {} reduction = Reduction::Mean
}

fn check_bins(bins: usize) -> Result<()> {
    if bins < 2 {
        return Err(Error::size(format!("`bins` = {bins}: a distribution needs at least 2 bins")));
    }
    Ok(())
}

/// Distribution Focal Loss as ultralytics `DFLoss`: n = `target.len() / sides` boxes of `sides`
/// distances, each a distribution over `bins` logits. `logits`: n·sides·bins values; `target`:
/// n·sides distances in bin units (clamped to [0, bins − 1 − 0.01] as ultralytics); `weight`: n
/// or `None`; `loss`: 1 value, or n for NONE (the mean over the sides); `grad_logits`: like
/// `logits`, or `None`.
#[allow(clippy::too_many_arguments)]
pub fn dfl_loss<T: Float>(
    logits: &[T],
    target: &[T],
    weight: Option<&[T]>,
    sides: usize,
    bins: usize,
    options: &Options,
    loss: &mut [T],
    grad_logits: Option<&mut [T]>,
) -> Result<()> {
    compute(&prepare(options, bins)?, logits, target, weight, sides, bins, loss, grad_logits)
}

/// Validates the options and `bins` (the C API does so before its buffers, then calls
/// [`compute`]).
pub(crate) fn prepare(options: &Options, bins: usize) -> Result<Controls> {
    let o = options;
    let controls = o.controls(false)?;
    check_bins(bins)?;
    Ok(controls)
}

/// Checks the lengths and computes.
#[allow(clippy::too_many_arguments)]
pub(crate) fn compute<T: Float>(
    controls: &Controls,
    logits: &[T],
    target: &[T],
    weight: Option<&[T]>,
    sides: usize,
    bins: usize,
    loss: &mut [T],
    grad_logits: Option<&mut [T]>,
) -> Result<()> {
    if sides == 0 && !target.is_empty() {
        return Err(Error::size(format!("`sides` = 0 with {} target values", target.len())));
    }
    let n = if sides == 0 { 0 } else { boxes_in("target", target.len(), sides)? };
    let len = mul_size("`n` x `sides` rows x `bins`", target.len(), bins)?;
    check_len("logits", logits.len(), len, "target's length x bins")?;
    check_opt_len("weight", weight, n, "one per box")?;
    check_outputs(controls, n, loss, "grad_logits", grad_logits.as_deref(), len)?;
    let args = Args { logits, target, weight, sides, bins };
    run_loss(controls, loss, grad_logits, "grad_logits", |r, none, grad| Ok(k::dfl(&args, r, none, grad)))
}

options! {
    /// Options of [`dfl_box_loss`] (`lossfn_dfl_box_options`; CIoU as ultralytics computes it by
    /// default). NONE is refused (two reduced values); `avg_factor` is ultralytics'
    /// `target_scores_sum`.
    BoxOptions {
        /// The IoU loss on the decoded boxes: IOU, GIOU, DIOU or CIOU (default).
        iou: IouKind = IouKind::Ciou,
        /// With CIOU: ULTRALYTICS (default), TORCHVISION or MMDET.
        ciou_variant: CiouVariant = CiouVariant::Ultralytics,
        /// 1e-7; finite, > 0.
        eps: f64 = 1e-7,
        /// Gain of the IoU part, 1.0; finite, >= 0.
        iou_weight: f64 = 1.0,
        /// Gain of the DFL part, 1.0; finite, >= 0.
        dfl_weight: f64 = 1.0,
    } reduction = Reduction::Mean
}

/// The YOLOv8/11 box branch (ultralytics `BboxLoss` with DFL) on n = `anchors.len() / 2`
/// foreground anchors: the distances decoded as the softmax expectation over `bins` bins, boxes
/// anchor ∓ distances, the IoU loss of `options.iou` against `target` (xyxy, stride units) and DFL
/// on the same logits. `logits`: n·4·bins; `anchors`: n·2; `target`: n·4; `weight`: n or `None`;
/// `loss`: 2 values `[L_iou, L_dfl]` (1, the denominator, for MEAN_DENOMINATOR); `grad_logits`:
/// like `logits` (the gradient of L_iou + L_dfl), or `None`.
#[allow(clippy::too_many_arguments)]
pub fn dfl_box_loss<T: Float>(
    logits: &[T],
    anchors: &[T],
    target: &[T],
    weight: Option<&[T]>,
    bins: usize,
    options: &BoxOptions,
    loss: &mut [T],
    grad_logits: Option<&mut [T]>,
) -> Result<()> {
    compute_box(&prepare_box(options, bins)?, logits, anchors, target, weight, bins, loss, grad_logits)
}

/// A box-branch call's validated options.
pub(crate) struct PreparedBox {
    controls: Controls,
    kind: BoxLoss,
    eps: f64,
    gains: Gains,
    loss_len: usize,
}

/// Validates the options and `bins` (the C API does so before its buffers, then calls
/// [`compute_box`]).
pub(crate) fn prepare_box(options: &BoxOptions, bins: usize) -> Result<PreparedBox> {
    let o = options;
    let controls = o.controls(false)?;
    if o.reduction == Reduction::None {
        return Err(Error::option(
            "`options.reduction` = NONE: lossfn_dfl_box_loss gives two reduced values (MEAN, SUM or MEAN_DENOMINATOR)",
        ));
    }
    let kind = match o.iou {
        IouKind::Iou => BoxLoss::Iou(IouMode::Linear),
        IouKind::Giou => BoxLoss::Giou,
        IouKind::Diou => BoxLoss::Diou,
        IouKind::Ciou => BoxLoss::Ciou(o.ciou_variant),
    };
    check_eps("options.eps", o.eps)?;
    let gain = |name, v: f64| check_option(name, v, v >= 0.0 && v.is_finite(), "finite, >= 0");
    gain("options.iou_weight", o.iou_weight)?;
    gain("options.dfl_weight", o.dfl_weight)?;
    check_bins(bins)?;
    let loss_len = if o.reduction == Reduction::MeanDenominator { 1 } else { 2 };
    Ok(PreparedBox { controls, kind, eps: o.eps, gains: Gains { iou: o.iou_weight, dfl: o.dfl_weight }, loss_len })
}

impl PreparedBox {
    /// The loss buffer's length: `[L_iou, L_dfl]`, or the denominator alone.
    pub(crate) fn loss_len(&self) -> usize {
        self.loss_len
    }
}

/// Checks the lengths and computes.
#[allow(clippy::too_many_arguments)]
pub(crate) fn compute_box<T: Float>(
    p: &PreparedBox,
    logits: &[T],
    anchors: &[T],
    target: &[T],
    weight: Option<&[T]>,
    bins: usize,
    loss: &mut [T],
    grad_logits: Option<&mut [T]>,
) -> Result<()> {
    let n = boxes_in("anchors", anchors.len(), 2)?;
    let rows = mul_size("`n` anchors x 4 sides", n, 4)?;
    let len = mul_size("`n` x 4 rows x `bins`", rows, bins)?;
    check_len("target", target.len(), rows, "4 per anchor")?;
    check_len("logits", logits.len(), len, "4 x bins per anchor")?;
    check_opt_len("weight", weight, n, "one per anchor")?;
    check_len("loss", loss.len(), p.loss_len, "[L_iou, L_dfl]; 1 for MEAN_DENOMINATOR")?;
    check_opt_len("grad_logits", grad_logits.as_deref(), len, "logits' length")?;
    let args = BoxArgs { logits, anchors, target, weight, bins };
    run_loss(&p.controls, loss, grad_logits, "grad_logits", |r, _, grad| Ok(k::dfl_box(p.kind, p.eps, p.gains, &args, r, grad)))
}
