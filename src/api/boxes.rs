//! Box losses — IoU (UnitBox), GIoU, DIoU, CIoU (torchvision / ultralytics / mmdet), SIoU,
//! EIoU / Focal-EIoU, CDIoU — the pairwise IoU matrix, and the rotated-box ProbIoU loss and
//! matrix (ultralytics `probiou`, `batch_probiou`).
//!
//! A box is 4 values in [`Options::format`] (5 for rotated boxes: cx, cy, w, h, angle in
//! radians); `pred` and `target` hold n boxes, `weight` n term weights or `None`, the gradient
//! comes back in pred's format.
//!
//! ```
//! use lossfn::boxes::{ciou_loss, CiouVariant, Format, Options};
//!
//! let pred = [10.0f64, 10.0, 20.0, 20.0, 0.0, 0.0, 4.0, 4.0];
//! let target = [12.0f64, 10.0, 22.0, 20.0, 0.0, 0.0, 4.0, 4.0];
//! let options = Options { format: Format::Xyxy, ciou_variant: CiouVariant::Ultralytics, ..Options::default() };
//! let (mut loss, mut grad) = ([0f64], [0f64; 8]);
//! ciou_loss(&pred, &target, None, &options, &mut loss, Some(&mut grad))?;
//! assert!(loss[0] > 0.0 && loss[0] < 1.0);
//! // The second box equals its target: no gradient reaches it (up to eps's share in the areas).
//! assert!(grad[4..].iter().all(|g| g.abs() < 1e-6));
//!
//! // 7 values are not whole boxes.
//! let err = ciou_loss(&pred[..7], &target[..7], None, &options, &mut loss, None).unwrap_err();
//! assert!(matches!(err, lossfn::Error::InvalidSize(_)));
//! # Ok::<(), lossfn::Error>(())
//! ```
use super::{check_len, check_opt_len, check_option, check_outputs, run_loss, Float, Reduction};
use crate::error::{Error, Result};
use crate::reduce::Controls;
use crate::kernels::boxes::{self as k, Args, BoxLoss};
pub use crate::kernels::boxes::{CiouVariant, Format, IouKind, IouMode};
use crate::kernels::rotated;

options! {
    /// Options of the box losses (`lossfn_box_options`). Each loss reads (and validates) only the
    /// fields it uses: format, reduction, eps always; `iou_mode` for [`iou_loss`], `gamma` for
    /// [`eiou_loss`], `lambda` for [`cdiou_loss`], `ciou_variant` for [`ciou_loss`].
    Options {
        /// XYXY (default), XYWH, CXCYWH or LTRB; target in the same format; the gradient in it.
        format: Format = Format::Xyxy,
        /// 1e-7; finite, > 0. Added to the IoU, GIoU, distance and EIoU denominators.
        eps: f64 = 1e-7,
        /// [`iou_loss`] only: LINEAR (default), SQUARE or LOG.
        iou_mode: IouMode = IouMode::Linear,
        /// [`eiou_loss`] only: 0 = EIoU (default); > 0 = Focal-EIoU, term weight IoU^gamma.
        gamma: f64 = 0.0,
        /// [`cdiou_loss`] only: weight of the corner-distance term, 1.0; finite, >= 0.
        lambda: f64 = 1.0,
        /// [`ciou_loss`] only: TORCHVISION (default), ULTRALYTICS or MMDET.
        ciou_variant: CiouVariant = CiouVariant::Torchvision,
    } reduction = Reduction::Mean
}

/// An eps option or argument: finite, > 0.
pub(crate) fn check_eps(name: &str, eps: f64) -> Result<()> {
    check_option(name, eps, eps > 0.0 && eps.is_finite(), "finite, > 0")
}

/// The number of boxes in `buf` (`width` values each), else INVALID_SIZE.
pub(crate) fn boxes_in(name: &str, len: usize, width: usize) -> Result<usize> {
    if len % width != 0 {
        return Err(Error::size(format!("`{name}` has {len} values, not a whole number of boxes of {width}")));
    }
    Ok(len / width)
}

/// The lengths of a per-box loss: n boxes of `width` in `pred`, the same in `target`, n weights.
#[allow(clippy::too_many_arguments)]
pub(crate) fn check_box_buffers<T>(
    width: usize,
    pred: &[T],
    target: &[T],
    weight: Option<&[T]>,
    controls: &crate::reduce::Controls,
    loss: &[T],
    grad_pred: Option<&[T]>,
) -> Result<usize> {
    let n = boxes_in("pred", pred.len(), width)?;
    check_len("target", target.len(), pred.len(), "pred's length")?;
    check_opt_len("weight", weight, n, "one per box")?;
    check_outputs(controls, n, loss, "grad_pred", grad_pred, pred.len())?;
    Ok(n)
}

/// Which box loss.
#[derive(Clone, Copy)]
pub(crate) enum Which {
    Iou,
    Giou,
    Diou,
    Ciou,
    Siou,
    Eiou,
    Cdiou,
}

/// A box-loss call's validated options: the C API validates them before its buffers, then calls
/// [`compute`].
pub(crate) struct Prepared {
    controls: Controls,
    kind: BoxLoss,
    format: Format,
    eps: f64,
}

/// Validates the options `which` reads.
pub(crate) fn prepare(which: Which, options: &Options) -> Result<Prepared> {
    let o = options;
    let controls = o.controls(false)?;
    check_eps("options.eps", o.eps)?;
    let kind = match which {
        Which::Iou => BoxLoss::Iou(o.iou_mode),
        Which::Giou => BoxLoss::Giou,
        Which::Diou => BoxLoss::Diou,
        Which::Ciou => BoxLoss::Ciou(o.ciou_variant),
        Which::Siou => BoxLoss::Siou,
        Which::Eiou => {
            check_option("options.gamma", o.gamma, o.gamma >= 0.0 && o.gamma.is_finite(), "finite, >= 0")?;
            BoxLoss::Eiou { gamma: o.gamma }
        }
        Which::Cdiou => {
            check_option("options.lambda", o.lambda, o.lambda >= 0.0 && o.lambda.is_finite(), "finite, >= 0")?;
            BoxLoss::Cdiou { lambda: o.lambda }
        }
    };
    Ok(Prepared { controls, kind, format: o.format, eps: o.eps })
}

/// Checks the lengths and computes.
pub(crate) fn compute<T: Float>(p: &Prepared, pred: &[T], target: &[T], weight: Option<&[T]>, loss: &mut [T], grad_pred: Option<&mut [T]>) -> Result<()> {
    check_box_buffers(4, pred, target, weight, &p.controls, loss, grad_pred.as_deref())?;
    let args = Args { pred, target, weight };
    run_loss(&p.controls, loss, grad_pred, "grad_pred", |r, none, grad| Ok(k::box_loss(p.kind, p.format, p.eps, &args, r, none, grad)))
}

/// The shared body of the seven box losses.
fn call<T: Float>(which: Which, pred: &[T], target: &[T], weight: Option<&[T]>, options: &Options, loss: &mut [T], grad_pred: Option<&mut [T]>) -> Result<()> {
    compute(&prepare(which, options)?, pred, target, weight, loss, grad_pred)
}

/// IoU loss (UnitBox) by `options.iou_mode`: 1 − IoU (LINEAR), 1 − IoU² (SQUARE), or
/// −ln(max(IoU, eps)) (LOG), IoU = I / (max(U, 0) + eps). `pred`, `target`: n·4 values;
/// `weight`: n or `None`; `loss`: 1 value, or n for NONE; `grad_pred`: n·4 or `None`.
/// At a min/max tie the subgradient is split evenly, as torch does; degenerate boxes give
/// finite values of the same formulas.
pub fn iou_loss<T: Float>(pred: &[T], target: &[T], weight: Option<&[T]>, options: &Options, loss: &mut [T], grad_pred: Option<&mut [T]>) -> Result<()> {
    call(Which::Iou, pred, target, weight, options, loss, grad_pred)
}

/// GIoU loss: 1 − IoU + (C − U) / (C + eps), C the enclosing box's area, as
/// `torchvision.ops.generalized_box_iou_loss`. Buffers as [`iou_loss`].
pub fn giou_loss<T: Float>(pred: &[T], target: &[T], weight: Option<&[T]>, options: &Options, loss: &mut [T], grad_pred: Option<&mut [T]>) -> Result<()> {
    call(Which::Giou, pred, target, weight, options, loss, grad_pred)
}

/// DIoU loss: 1 − IoU + ρ²/c² (centre distance over the enclosing diagonal), as
/// `torchvision.ops.distance_box_iou_loss`. Buffers as [`iou_loss`].
pub fn diou_loss<T: Float>(pred: &[T], target: &[T], weight: Option<&[T]>, options: &Options, loss: &mut [T], grad_pred: Option<&mut [T]>) -> Result<()> {
    call(Which::Diou, pred, target, weight, options, loss, grad_pred)
}

/// CIoU loss: DIoU + α·v, by `options.ciou_variant` as torchvision `complete_box_iou_loss`,
/// ultralytics `bbox_iou(..., CIoU=True)` or mmdet `ciou_loss` (docs/boxes.md). Buffers as
/// [`iou_loss`].
pub fn ciou_loss<T: Float>(pred: &[T], target: &[T], weight: Option<&[T]>, options: &Options, loss: &mut [T], grad_pred: Option<&mut [T]>) -> Result<()> {
    call(Which::Ciou, pred, target, weight, options, loss, grad_pred)
}

/// SIoU loss (arXiv 2205.12740) as mmdet `siou_loss`. Buffers as [`iou_loss`].
pub fn siou_loss<T: Float>(pred: &[T], target: &[T], weight: Option<&[T]>, options: &Options, loss: &mut [T], grad_pred: Option<&mut [T]>) -> Result<()> {
    call(Which::Siou, pred, target, weight, options, loss, grad_pred)
}

/// EIoU loss (arXiv 2101.08158); `options.gamma` > 0 gives Focal-EIoU (term weight IoU^γ,
/// no gradient through it). Buffers as [`iou_loss`].
pub fn eiou_loss<T: Float>(pred: &[T], target: &[T], weight: Option<&[T]>, options: &Options, loss: &mut [T], grad_pred: Option<&mut [T]>) -> Result<()> {
    call(Which::Eiou, pred, target, weight, options, loss, grad_pred)
}

/// CDIoU loss: 1 − IoU + λ·(Σ of the 4 corner distances) / (4·√(cw² + ch²) + eps)
/// (arXiv 2103.11696). Buffers as [`iou_loss`].
pub fn cdiou_loss<T: Float>(pred: &[T], target: &[T], weight: Option<&[T]>, options: &Options, loss: &mut [T], grad_pred: Option<&mut [T]>) -> Result<()> {
    call(Which::Cdiou, pred, target, weight, options, loss, grad_pred)
}

/// The lengths of a pairwise matrix: n and m boxes of `width`, `out` n·m.
fn check_matrix<T>(width: usize, boxes1: &[T], boxes2: &[T], out: &[T]) -> Result<()> {
    let n = boxes_in("boxes1", boxes1.len(), width)?;
    let m = boxes_in("boxes2", boxes2.len(), width)?;
    check_len("out", out.len(), super::mul_size("`out`: n x m", n, m)?, "n x m")
}

/// Pairwise similarity matrix (no gradient): `out[i·m + j] = kind(boxes1[i], boxes2[j])` with
/// the loss formulas' eps (finite, > 0). `boxes1`: n·4 values, `boxes2`: m·4, both in `format`;
/// `out`: n·m values.
pub fn box_iou_matrix<T: Float>(boxes1: &[T], boxes2: &[T], format: Format, kind: IouKind, eps: f64, out: &mut [T]) -> Result<()> {
    check_eps("eps", eps)?;
    compute_box_iou_matrix(boxes1, boxes2, format, kind, eps, out)
}

/// [`box_iou_matrix`] after its eps was checked (the C API checks it before its buffers).
pub(crate) fn compute_box_iou_matrix<T: Float>(boxes1: &[T], boxes2: &[T], format: Format, kind: IouKind, eps: f64, out: &mut [T]) -> Result<()> {
    check_matrix(4, boxes1, boxes2, out)?;
    k::box_iou_matrix(boxes1, boxes2, format, kind, eps, out);
    Ok(())
}

options! {
    /// Options of [`probiou_loss`] (`lossfn_rotated_box_options`).
    RotatedOptions {
        /// 1e-7; finite, > 0: ultralytics' eps, at each of its places.
        eps: f64 = 1e-7,
        /// 0.0; finite, >= 0: added to w²/12 and h²/12 (ultralytics' `floor`; its RotatedBboxLoss
        /// passes 0.01).
        floor: f64 = 0.0,
    } reduction = Reduction::Mean
}

/// ProbIoU loss of rotated boxes, 1 − probiou(pred_i, target_i), as ultralytics `probiou`
/// (CIoU=False), which RotatedBboxLoss trains OBB models with. A box is (cx, cy, w, h, angle in
/// radians): `pred`, `target` n·5 values; `weight` n or `None`; `loss` 1 value, or n for NONE;
/// `grad_pred` n·5 or `None`.
pub fn probiou_loss<T: Float>(pred: &[T], target: &[T], weight: Option<&[T]>, options: &RotatedOptions, loss: &mut [T], grad_pred: Option<&mut [T]>) -> Result<()> {
    compute_probiou(&prepare_probiou(options)?, pred, target, weight, loss, grad_pred)
}

/// A ProbIoU call's validated options.
pub(crate) struct PreparedProbiou {
    controls: Controls,
    eps: f64,
    floor: f64,
}

/// Validates the options of [`probiou_loss`].
pub(crate) fn prepare_probiou(options: &RotatedOptions) -> Result<PreparedProbiou> {
    let o = options;
    let controls = o.controls(false)?;
    check_eps("options.eps", o.eps)?;
    check_option("options.floor", o.floor, o.floor >= 0.0 && o.floor.is_finite(), "finite, >= 0")?;
    Ok(PreparedProbiou { controls, eps: o.eps, floor: o.floor })
}

/// Checks the lengths and computes.
pub(crate) fn compute_probiou<T: Float>(p: &PreparedProbiou, pred: &[T], target: &[T], weight: Option<&[T]>, loss: &mut [T], grad_pred: Option<&mut [T]>) -> Result<()> {
    check_box_buffers(5, pred, target, weight, &p.controls, loss, grad_pred.as_deref())?;
    let args = rotated::Args { pred, target, weight };
    run_loss(&p.controls, loss, grad_pred, "grad_pred", |r, none, grad| Ok(rotated::probiou_loss(&args, p.eps, p.floor, r, none, grad)))
}

/// Pairwise ProbIoU (no gradient): `out[i·m + j] = probiou(boxes1[i], boxes2[j])`, as
/// ultralytics `batch_probiou`. `boxes1`: n·5 values, `boxes2`: m·5; eps finite, > 0
/// (ultralytics: 1e-7); `out`: n·m.
pub fn probiou_matrix<T: Float>(boxes1: &[T], boxes2: &[T], eps: f64, out: &mut [T]) -> Result<()> {
    check_eps("eps", eps)?;
    compute_probiou_matrix(boxes1, boxes2, eps, out)
}

/// [`probiou_matrix`] after its eps was checked (the C API checks it before its buffers).
pub(crate) fn compute_probiou_matrix<T: Float>(boxes1: &[T], boxes2: &[T], eps: f64, out: &mut [T]) -> Result<()> {
    check_matrix(5, boxes1, boxes2, out)?;
    rotated::probiou_matrix(boxes1, boxes2, eps, out);
    Ok(())
}
