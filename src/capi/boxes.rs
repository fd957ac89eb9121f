//! C entry points of the box family: IoU (UnitBox), GIoU, DIoU, CIoU, EIoU / Focal-EIoU, CDIoU,
//! and the pairwise IoU matrix.
use super::*;
use crate::api::boxes::{self as api, CiouVariant, Format, IouKind, IouMode, Which};
use crate::api::Float;

/// How four numbers describe a box.
pub type lossfn_box_format = u32;
/// x1, y1, x2, y2.
pub const LOSSFN_BOX_XYXY: lossfn_box_format = 0;
/// x1, y1, w, h (COCO).
pub const LOSSFN_BOX_XYWH: lossfn_box_format = 1;
/// cx, cy, w, h (YOLO, DETR).
pub const LOSSFN_BOX_CXCYWH: lossfn_box_format = 2;
/// l, t, r, b: distances from one shared point (FCOS, UnitBox); corners (-l, -t, r, b).
pub const LOSSFN_BOX_LTRB: lossfn_box_format = 3;

/// The IoU loss variant (lossfn_iou_loss only).
pub type lossfn_iou_mode = u32;
/// 1 - IoU.
pub const LOSSFN_IOU_LINEAR: lossfn_iou_mode = 0;
/// 1 - IoU^2.
pub const LOSSFN_IOU_SQUARE: lossfn_iou_mode = 1;
/// -ln(max(IoU, eps)) (UnitBox).
pub const LOSSFN_IOU_LOG: lossfn_iou_mode = 2;

/// The similarity held by lossfn_box_iou_matrix.
pub type lossfn_iou_kind = u32;
/// IoU = I / (max(U, 0) + eps).
pub const LOSSFN_IOU_KIND_IOU: lossfn_iou_kind = 0;
/// IoU - (C - U) / (C + eps), C the enclosing box's area.
pub const LOSSFN_IOU_KIND_GIOU: lossfn_iou_kind = 1;
/// IoU - rho^2 / c^2 (centre distance over the enclosing diagonal).
pub const LOSSFN_IOU_KIND_DIOU: lossfn_iou_kind = 2;
/// DIoU - alpha * v (aspect-ratio term).
pub const LOSSFN_IOU_KIND_CIOU: lossfn_iou_kind = 3;

/// Which CIoU formula lossfn_ciou_loss follows (docs/api.md §5).
pub type lossfn_ciou_variant = u32;
/// torchvision complete_box_iou_loss (the 0.1 behaviour).
pub const LOSSFN_CIOU_TORCHVISION: lossfn_ciou_variant = 0;
/// ultralytics/utils/metrics.py bbox_iou(..., CIoU=True): eps on h, alpha = v / (v - iou + (1 + eps)).
pub const LOSSFN_CIOU_ULTRALYTICS: lossfn_ciou_variant = 1;
/// mmdet/models/losses/iou_loss.py ciou_loss (its alpha and clamping).
pub const LOSSFN_CIOU_MMDET: lossfn_ciou_variant = 2;

/// Options of the box losses (NULL = lossfn_box_options_default()). Each loss reads only the
/// fields it uses (and validates only those): format, reduction, eps always; iou_mode for
/// lossfn_iou_loss, gamma for lossfn_eiou_loss, lambda for lossfn_cdiou_loss, ciou_variant for
/// lossfn_ciou_loss.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct lossfn_box_options {
    /// LOSSFN_BOX_XYXY (default), _XYWH, _CXCYWH or _LTRB; target uses the same format as pred,
    /// and grad_pred comes back in it.
    pub format: lossfn_box_format,
    /// LOSSFN_REDUCTION_NONE, _MEAN (default) or _SUM.
    pub reduction: lossfn_reduction,
    /// 1e-7; finite, > 0. Added to the IoU, GIoU, distance and EIoU denominators (an eps below
    /// the smallest normal float/double is raised to it, so that its reciprocal stays finite).
    pub eps: f64,
    /// iou_loss only: LOSSFN_IOU_LINEAR (default), _SQUARE or _LOG.
    pub iou_mode: lossfn_iou_mode,
    /// eiou_loss only: 0 = EIoU (default); > 0 = Focal-EIoU with term weight IoU^gamma (paper: 0.5).
    pub gamma: f64,
    /// cdiou_loss only: weight of the corner-distance term, 1.0; finite, >= 0.
    pub lambda: f64,
    /// ciou_loss only: LOSSFN_CIOU_TORCHVISION (default), _ULTRALYTICS or _MMDET (docs/api.md §5).
    pub ciou_variant: lossfn_ciou_variant,
    /// 1.0; finite. Multiplies every loss value and the gradient (docs/api.md §3).
    pub loss_weight: f64,
    /// 0.0 = unused; > 0 (MEAN only): MEAN divides by it instead of its own denominator.
    pub avg_factor: f64,
    /// false: grad = dL; true: grad += dL.
    pub accumulate: bool,
}

/// The defaults: XYXY, MEAN, eps 1e-7, LINEAR, gamma 0, lambda 1.
#[no_mangle]
pub extern "C" fn lossfn_box_options_default() -> lossfn_box_options {
    lossfn_box_options {
        format: LOSSFN_BOX_XYXY,
        reduction: LOSSFN_REDUCTION_MEAN,
        eps: 1e-7,
        iou_mode: LOSSFN_IOU_LINEAR,
        gamma: 0.0,
        lambda: 1.0,
        ciou_variant: LOSSFN_CIOU_TORCHVISION,
        loss_weight: 1.0,
        avg_factor: 0.0,
        accumulate: false,
    }
}
c_options!(lossfn_box_options, lossfn_box_options_default, [accumulate]);

fn format(value: lossfn_box_format, name: &str) -> Result<Format> {
    match value {
        LOSSFN_BOX_XYXY => Ok(Format::Xyxy),
        LOSSFN_BOX_XYWH => Ok(Format::Xywh),
        LOSSFN_BOX_CXCYWH => Ok(Format::Cxcywh),
        LOSSFN_BOX_LTRB => Ok(Format::Ltrb),
        v => Err(Error::option(format!("`{name}` = {v} is not a lossfn_box_format"))),
    }
}

/// `options.ciou_variant` (the CIoU losses and the DFL box branch).
pub(crate) fn ciou_variant(value: lossfn_ciou_variant) -> Result<CiouVariant> {
    match value {
        LOSSFN_CIOU_TORCHVISION => Ok(CiouVariant::Torchvision),
        LOSSFN_CIOU_ULTRALYTICS => Ok(CiouVariant::Ultralytics),
        LOSSFN_CIOU_MMDET => Ok(CiouVariant::Mmdet),
        v => Err(Error::option(format!("`options.ciou_variant` = {v} is not a lossfn_ciou_variant"))),
    }
}

/// The buffers of a per-box loss: `pred` and `target` n·`width` values, `weight` n or NULL,
/// `loss` (`loss_len` values), `grad_pred` n·`width` or NULL (width 4, or 5 for rotated boxes).
pub(crate) struct BoxBuffers<'a, T> {
    pub pred: &'a [T],
    pub target: &'a [T],
    pub weight: Option<&'a [T]>,
    pub loss: &'a mut [T],
    pub grad: Option<&'a mut [T]>,
}

/// Checks and takes the buffers of a pairwise matrix: `boxes1` n·`width` values, `boxes2`
/// m·`width`, `out` n·m.
///
/// # Safety
/// The pointers must be valid for the sizes they are checked against (see [`Io`]).
pub(crate) unsafe fn matrix_buffers<'a, T>(
    width: usize,
    boxes1: *const T,
    n: usize,
    boxes2: *const T,
    m: usize,
    out: *mut T,
) -> Result<(&'a [T], &'a [T], &'a mut [T])> {
    let len1 = mul_size(&format!("`n` boxes x {width} values"), n, width)?;
    let len2 = mul_size(&format!("`m` boxes x {width} values"), m, width)?;
    let cells = mul_size("`out`: n x m", n, m)?;
    let mut io = Io::new();
    let boxes1 = unsafe { io.input("boxes1", boxes1, len1)? };
    let boxes2 = unsafe { io.input("boxes2", boxes2, len2)? };
    Ok((boxes1, boxes2, unsafe { io.output("out", out, cells)? }))
}

/// Checks and takes the buffers of a per-box loss (in argument order, after its options).
///
/// # Safety
/// The pointers must be valid for the sizes they are checked against (see [`Io`]).
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn box_buffers<'a, T>(
    width: usize,
    pred: *const T,
    target: *const T,
    weight: *const T,
    n: usize,
    loss_len: usize,
    loss: *mut T,
    grad_pred: *mut T,
) -> Result<BoxBuffers<'a, T>> {
    let len = mul_size(&format!("`n` boxes x {width} values"), n, width)?;
    let mut io = Io::new();
    Ok(BoxBuffers {
        pred: unsafe { io.input("pred", pred, len)? },
        target: unsafe { io.input("target", target, len)? },
        weight: unsafe { io.optional_input("weight", weight, n)? },
        loss: unsafe { io.output("loss", loss, loss_len)? },
        grad: unsafe { io.optional_output("grad_pred", grad_pred, len)? },
    })
}

/// `options.iou_mode`.
fn iou_mode(value: lossfn_iou_mode) -> Result<IouMode> {
    match value {
        LOSSFN_IOU_LINEAR => Ok(IouMode::Linear),
        LOSSFN_IOU_SQUARE => Ok(IouMode::Square),
        LOSSFN_IOU_LOG => Ok(IouMode::Log),
        v => Err(Error::option(format!("`options.iou_mode` = {v} is not a lossfn_iou_mode"))),
    }
}

/// The C options as the safe API's: the raw enum values checked (each loss reads only its own:
/// iou_mode for IoU, ciou_variant for CIoU; the others take the default there).
fn options_of(o: &lossfn_box_options, which: Which) -> Result<api::Options> {
    Ok(safe_options!(o, api::Options {
        format: format(o.format, "options.format")?,
        eps,
        iou_mode: if matches!(which, Which::Iou) { iou_mode(o.iou_mode)? } else { IouMode::Linear },
        gamma,
        lambda,
        ciou_variant: if matches!(which, Which::Ciou) { ciou_variant(o.ciou_variant)? } else { CiouVariant::Torchvision },
    }))
}

/// The shared body of the fourteen loss entry points: the options (before the buffers), pointers
/// → slices, then the safe API's computation.
#[allow(clippy::too_many_arguments)]
unsafe fn entry<T: Float>(
    which: Which,
    pred: *const T,
    target: *const T,
    weight: *const T,
    n: usize,
    options: *const lossfn_box_options,
    loss: *mut T,
    grad_pred: *mut T,
) -> lossfn_status {
    ffi_boundary! {
        let o: lossfn_box_options = unsafe { read_options("options", options)? };
        let options = options_of(&o, which)?;
        let p = api::prepare(which, &options)?;
        let b = unsafe { box_buffers(4, pred, target, weight, n, options.reduction.loss_len(n), loss, grad_pred)? };
        api::compute(&p, b.pred, b.target, b.weight, b.loss, b.grad)
    }
}

/// IoU loss (UnitBox) by options.iou_mode: 1 - IoU (LINEAR), 1 - IoU^2 (SQUARE), or
/// -ln(max(IoU, eps)) (LOG, gradient 0 where IoU < eps), IoU = I / (max(U, 0) + eps).
/// pred, target: n*4 values in options.format; weight: n values or NULL (term weight `weight[i]`);
/// loss: 1 value, or n (w_i * l_i) for NONE; grad_pred: n*4 values in pred's format, or NULL.
/// All box losses: at a min/max tie (e.g. an edge shared with the target) the subgradient is
/// split evenly, as torch does; degenerate boxes (zero or negative width/height) give finite
/// values of the same formulas.
///
/// # Safety
/// Pointers must be valid for the stated sizes (see the header's conventions).
#[no_mangle]
pub unsafe extern "C" fn lossfn_iou_loss_f32(pred: *const f32, target: *const f32, weight: *const f32, n: usize, options: *const lossfn_box_options, loss: *mut f32, grad_pred: *mut f32) -> lossfn_status {
    unsafe { entry(Which::Iou, pred, target, weight, n, options, loss, grad_pred) }
}
/// IoU loss, double precision: see lossfn_iou_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_iou_loss_f64(pred: *const f64, target: *const f64, weight: *const f64, n: usize, options: *const lossfn_box_options, loss: *mut f64, grad_pred: *mut f64) -> lossfn_status {
    unsafe { entry(Which::Iou, pred, target, weight, n, options, loss, grad_pred) }
}
/// GIoU loss: 1 - IoU + (C - U) / (C + eps), C the enclosing box's area, as
/// torchvision.ops.generalized_box_iou_loss. Sizes as lossfn_iou_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_giou_loss_f32(pred: *const f32, target: *const f32, weight: *const f32, n: usize, options: *const lossfn_box_options, loss: *mut f32, grad_pred: *mut f32) -> lossfn_status {
    unsafe { entry(Which::Giou, pred, target, weight, n, options, loss, grad_pred) }
}
/// GIoU loss, double precision: see lossfn_giou_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_giou_loss_f64(pred: *const f64, target: *const f64, weight: *const f64, n: usize, options: *const lossfn_box_options, loss: *mut f64, grad_pred: *mut f64) -> lossfn_status {
    unsafe { entry(Which::Giou, pred, target, weight, n, options, loss, grad_pred) }
}
/// DIoU loss: 1 - IoU + rho^2 / c^2 (centre distance over the enclosing diagonal, c^2 + eps), as
/// torchvision.ops.distance_box_iou_loss. Sizes as lossfn_iou_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_diou_loss_f32(pred: *const f32, target: *const f32, weight: *const f32, n: usize, options: *const lossfn_box_options, loss: *mut f32, grad_pred: *mut f32) -> lossfn_status {
    unsafe { entry(Which::Diou, pred, target, weight, n, options, loss, grad_pred) }
}
/// DIoU loss, double precision: see lossfn_diou_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_diou_loss_f64(pred: *const f64, target: *const f64, weight: *const f64, n: usize, options: *const lossfn_box_options, loss: *mut f64, grad_pred: *mut f64) -> lossfn_status {
    unsafe { entry(Which::Diou, pred, target, weight, n, options, loss, grad_pred) }
}
/// CIoU loss: DIoU + alpha * v, v = 4/pi^2 (atan2(W, H) - atan2(w, h))^2, alpha a constant
/// (no gradient), by options.ciou_variant: TORCHVISION (default) alpha = v / (1 - IoU + v + eps),
/// as torchvision.ops.complete_box_iou_loss; ULTRALYTICS the same with heights h + eps in the
/// areas and the aspect ratios, as ultralytics bbox_iou(xywh=False, CIoU=True) (YOLOv8 BboxLoss);
/// MMDET heights + eps in v only, alpha = [IoU > 0.5] v / (1 - IoU + v), loss = 1 - clamp(CIoU,
/// -1, 1) (2 and no gradient below), as mmdet ciou_loss. Sizes as lossfn_iou_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_ciou_loss_f32(pred: *const f32, target: *const f32, weight: *const f32, n: usize, options: *const lossfn_box_options, loss: *mut f32, grad_pred: *mut f32) -> lossfn_status {
    unsafe { entry(Which::Ciou, pred, target, weight, n, options, loss, grad_pred) }
}
/// CIoU loss, double precision: see lossfn_ciou_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_ciou_loss_f64(pred: *const f64, target: *const f64, weight: *const f64, n: usize, options: *const lossfn_box_options, loss: *mut f64, grad_pred: *mut f64) -> lossfn_status {
    unsafe { entry(Which::Ciou, pred, target, weight, n, options, loss, grad_pred) }
}
/// SIoU loss (arXiv 2205.12740) as mmdet siou_loss (neg_gamma = false, its default):
/// 1 - clamp(IoU - (Delta + Omega) / 2, -1, 1) with angle cost L = 2|a||b| / (a^2 + b^2) for the
/// centre offsets a, b (target - pred, each + eps), distance cost Delta = 2 - exp(g rx) - exp(g ry),
/// g = 2 - L, rx = (a / cw)^2, ry = (b / ch)^2 (enclosing sides clamped to >= eps), and shape cost
/// Omega = sum over w, h (+ eps) of (1 - exp(-|s - S| / max(s, S)))^4; no gradient where clamped.
/// Sizes as lossfn_iou_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_siou_loss_f32(pred: *const f32, target: *const f32, weight: *const f32, n: usize, options: *const lossfn_box_options, loss: *mut f32, grad_pred: *mut f32) -> lossfn_status {
    unsafe { entry(Which::Siou, pred, target, weight, n, options, loss, grad_pred) }
}
/// SIoU loss, double precision: see lossfn_siou_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_siou_loss_f64(pred: *const f64, target: *const f64, weight: *const f64, n: usize, options: *const lossfn_box_options, loss: *mut f64, grad_pred: *mut f64) -> lossfn_status {
    unsafe { entry(Which::Siou, pred, target, weight, n, options, loss, grad_pred) }
}
/// EIoU loss: 1 - IoU + rho^2/c^2 + (w - W)^2/(cw^2 + eps) + (h - H)^2/(ch^2 + eps)
/// (arXiv 2101.08158). options.gamma > 0 gives Focal-EIoU: the term weight is IoU^gamma
/// (a constant, no gradient through it) times `weight[i]`, so `loss[i]` = IoU^gamma w_i l_i for NONE
/// and MEAN = sum(IoU^gamma w l) / sum(IoU^gamma w) (0 when that is 0). Sizes as lossfn_iou_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_eiou_loss_f32(pred: *const f32, target: *const f32, weight: *const f32, n: usize, options: *const lossfn_box_options, loss: *mut f32, grad_pred: *mut f32) -> lossfn_status {
    unsafe { entry(Which::Eiou, pred, target, weight, n, options, loss, grad_pred) }
}
/// EIoU / Focal-EIoU loss, double precision: see lossfn_eiou_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_eiou_loss_f64(pred: *const f64, target: *const f64, weight: *const f64, n: usize, options: *const lossfn_box_options, loss: *mut f64, grad_pred: *mut f64) -> lossfn_status {
    unsafe { entry(Which::Eiou, pred, target, weight, n, options, loss, grad_pred) }
}
/// CDIoU loss: 1 - IoU + lambda * (sum of the 4 corner distances) / (4 sqrt(cw^2 + ch^2) + eps)
/// (arXiv 2103.11696; its reference code used lambda = 0.001). A corner distance of 0
/// contributes gradient 0. Sizes as lossfn_iou_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_cdiou_loss_f32(pred: *const f32, target: *const f32, weight: *const f32, n: usize, options: *const lossfn_box_options, loss: *mut f32, grad_pred: *mut f32) -> lossfn_status {
    unsafe { entry(Which::Cdiou, pred, target, weight, n, options, loss, grad_pred) }
}
/// CDIoU loss, double precision: see lossfn_cdiou_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_cdiou_loss_f64(pred: *const f64, target: *const f64, weight: *const f64, n: usize, options: *const lossfn_box_options, loss: *mut f64, grad_pred: *mut f64) -> lossfn_status {
    unsafe { entry(Which::Cdiou, pred, target, weight, n, options, loss, grad_pred) }
}

/// The shared body of the two matrix entry points.
#[allow(clippy::too_many_arguments)]
unsafe fn matrix<T: Float>(
    boxes1: *const T,
    n: usize,
    boxes2: *const T,
    m: usize,
    format_: lossfn_box_format,
    kind: lossfn_iou_kind,
    eps: f64,
    out: *mut T,
) -> lossfn_status {
    ffi_boundary! {
        let format = format(format_, "format")?;
        let kind = match kind {
            LOSSFN_IOU_KIND_IOU => IouKind::Iou,
            LOSSFN_IOU_KIND_GIOU => IouKind::Giou,
            LOSSFN_IOU_KIND_DIOU => IouKind::Diou,
            LOSSFN_IOU_KIND_CIOU => IouKind::Ciou,
            v => return Err(Error::option(format!("`kind` = {v} is not a lossfn_iou_kind"))),
        };
        api::check_eps("eps", eps)?;
        let (boxes1, boxes2, out) = unsafe { matrix_buffers(4, boxes1, n, boxes2, m, out)? };
        api::compute_box_iou_matrix(boxes1, boxes2, format, kind, eps, out)
    }
}

/// Pairwise similarity matrix (no gradient): `out[i*m + j] = kind(boxes1[i], boxes2[j])` with the
/// loss formulas' eps (finite, > 0; torchvision's box_iou uses none: pass a tiny eps, e.g. 1e-7).
/// boxes1: n*4 values, boxes2: m*4 values, both in `format`; out: n*m values.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_box_iou_matrix_f32(boxes1: *const f32, n: usize, boxes2: *const f32, m: usize, format: lossfn_box_format, kind: lossfn_iou_kind, eps: f64, out: *mut f32) -> lossfn_status {
    unsafe { matrix(boxes1, n, boxes2, m, format, kind, eps, out) }
}
/// Pairwise similarity matrix, double precision: see lossfn_box_iou_matrix_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_box_iou_matrix_f64(boxes1: *const f64, n: usize, boxes2: *const f64, m: usize, format: lossfn_box_format, kind: lossfn_iou_kind, eps: f64, out: *mut f64) -> lossfn_status {
    unsafe { matrix(boxes1, n, boxes2, m, format, kind, eps, out) }
}
