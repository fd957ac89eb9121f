//! Helpers shared by the box-family tests: calling the C entry points on f64 data in either
//! precision, an independent f64 reference of the IoU and the CIoU aspect term, random boxes
//! away from min/max ties, and format conversion.
#![allow(dead_code)]
use lossfn::capi::*;
use std::ptr::{null, null_mut};

pub type LossFn<T> = unsafe extern "C" fn(*const T, *const T, *const T, usize, *const lossfn_box_options, *mut T, *mut T) -> lossfn_status;
pub type MatrixFn<T> = unsafe extern "C" fn(*const T, usize, *const T, usize, lossfn_box_format, lossfn_iou_kind, f64, *mut T) -> lossfn_status;

pub const LOSSES: [&str; 7] = ["iou_loss", "giou_loss", "diou_loss", "ciou_loss", "siou_loss", "eiou_loss", "cdiou_loss"];
pub const FORMATS: [u32; 4] = [LOSSFN_BOX_XYXY, LOSSFN_BOX_XYWH, LOSSFN_BOX_CXCYWH, LOSSFN_BOX_LTRB];

/// f32 or f64, converted from and to f64.
pub trait Float: Copy + Default + 'static {
    const NAME: &'static str;
    fn of(x: f64) -> Self;
    fn f64(self) -> f64;
    fn loss_fn(name: &str) -> LossFn<Self>;
    fn matrix_fn() -> MatrixFn<Self>;
}

impl Float for f32 {
    const NAME: &'static str = "f32";
    fn of(x: f64) -> Self {
        x as f32
    }
    fn f64(self) -> f64 {
        self as f64
    }
    fn loss_fn(name: &str) -> LossFn<f32> {
        match name {
            "iou_loss" => lossfn_iou_loss_f32,
            "giou_loss" => lossfn_giou_loss_f32,
            "diou_loss" => lossfn_diou_loss_f32,
            "ciou_loss" => lossfn_ciou_loss_f32,
            "siou_loss" => lossfn_siou_loss_f32,
            "eiou_loss" => lossfn_eiou_loss_f32,
            "cdiou_loss" => lossfn_cdiou_loss_f32,
            _ => panic!("unknown box fn {name}"),
        }
    }
    fn matrix_fn() -> MatrixFn<f32> {
        lossfn_box_iou_matrix_f32
    }
}

impl Float for f64 {
    const NAME: &'static str = "f64";
    fn of(x: f64) -> Self {
        x
    }
    fn f64(self) -> f64 {
        self
    }
    fn loss_fn(name: &str) -> LossFn<f64> {
        match name {
            "iou_loss" => lossfn_iou_loss_f64,
            "giou_loss" => lossfn_giou_loss_f64,
            "diou_loss" => lossfn_diou_loss_f64,
            "ciou_loss" => lossfn_ciou_loss_f64,
            "siou_loss" => lossfn_siou_loss_f64,
            "eiou_loss" => lossfn_eiou_loss_f64,
            "cdiou_loss" => lossfn_cdiou_loss_f64,
            _ => panic!("unknown box fn {name}"),
        }
    }
    fn matrix_fn() -> MatrixFn<f64> {
        lossfn_box_iou_matrix_f64
    }
}

/// One call's outputs, widened to f64.
pub struct Out {
    pub status: u32,
    pub loss: Vec<f64>,
    pub grad: Vec<f64>,
}

/// Calls loss `name` in precision `T` on f64 data (4 values per box).
pub fn call<T: Float>(name: &str, pred: &[f64], target: &[f64], weight: Option<&[f64]>, o: &lossfn_box_options, with_grad: bool) -> Out {
    let n = pred.len() / 4;
    let conv = |v: &[f64]| v.iter().map(|&x| T::of(x)).collect::<Vec<T>>();
    let (p, t) = (conv(pred), conv(target));
    let w = weight.map(conv);
    let mut loss = vec![T::default(); if o.reduction == LOSSFN_REDUCTION_NONE { n } else { 1 }];
    let mut grad = vec![T::default(); 4 * n];
    let status = unsafe {
        T::loss_fn(name)(
            p.as_ptr(),
            t.as_ptr(),
            w.as_ref().map_or(null(), |w| w.as_ptr()),
            n,
            o,
            loss.as_mut_ptr(),
            if with_grad { grad.as_mut_ptr() } else { null_mut() },
        )
    };
    Out { status, loss: loss.iter().map(|v| v.f64()).collect(), grad: grad.iter().map(|v| v.f64()).collect() }
}

/// f64 call that must succeed; returns (loss, grad).
pub fn run64(name: &str, pred: &[f64], target: &[f64], weight: Option<&[f64]>, o: &lossfn_box_options) -> (Vec<f64>, Vec<f64>) {
    let r = call::<f64>(name, pred, target, weight, o, true);
    assert_eq!(r.status, LOSSFN_OK, "{name}: {}", crate::common::last_error());
    (r.loss, r.grad)
}

/// Options with the given loss-specific settings.
pub fn opts(format: u32, reduction: u32) -> lossfn_box_options {
    lossfn_box_options { format, reduction, ..lossfn_box_options_default() }
}

/// A box (4 numbers in `format`) as corners.
pub fn to_xyxy(format: u32, b: &[f64]) -> [f64; 4] {
    match format {
        LOSSFN_BOX_XYXY => [b[0], b[1], b[2], b[3]],
        LOSSFN_BOX_XYWH => [b[0], b[1], b[0] + b[2], b[1] + b[3]],
        LOSSFN_BOX_CXCYWH => [b[0] - 0.5 * b[2], b[1] - 0.5 * b[3], b[0] + 0.5 * b[2], b[1] + 0.5 * b[3]],
        LOSSFN_BOX_LTRB => [-b[0], -b[1], b[2], b[3]],
        _ => panic!("format {format}"),
    }
}

/// Corners as 4 numbers in `format`.
pub fn from_xyxy(format: u32, c: [f64; 4]) -> [f64; 4] {
    let [x1, y1, x2, y2] = c;
    match format {
        LOSSFN_BOX_XYXY => c,
        LOSSFN_BOX_XYWH => [x1, y1, x2 - x1, y2 - y1],
        LOSSFN_BOX_CXCYWH => [0.5 * (x1 + x2), 0.5 * (y1 + y2), x2 - x1, y2 - y1],
        LOSSFN_BOX_LTRB => [-x1, -y1, x2, y2],
        _ => panic!("format {format}"),
    }
}

/// Independent reference: IoU = I / (max(U, 0) + eps) on corners.
pub fn ref_iou(p: [f64; 4], t: [f64; 4], eps: f64) -> f64 {
    let iw = (p[2].min(t[2]) - p[0].max(t[0])).max(0.0);
    let ih = (p[3].min(t[3]) - p[1].max(t[1])).max(0.0);
    let inter = iw * ih;
    let union = (p[2] - p[0]) * (p[3] - p[1]) + (t[2] - t[0]) * (t[3] - t[1]) - inter;
    inter / (union.max(0.0) + eps)
}

/// Independent reference: the CIoU aspect term v = 4/π² (atan2(W, H) − atan2(w, h))².
pub fn ref_v(p: [f64; 4], t: [f64; 4]) -> f64 {
    let d = (t[2] - t[0]).atan2(t[3] - t[1]) - (p[2] - p[0]).atan2(p[3] - p[1]);
    4.0 / (std::f64::consts::PI * std::f64::consts::PI) * d * d
}

/// Whether a pred/target pair is at least `gap` away from every kink of the formulas: the
/// min/max ties of the overlap and enclosing box, max(overlap, 0), max(union, 0), zero widths,
/// zero corner distances and the atan2 branch cut.
pub fn away_from_kinks(p: [f64; 4], t: [f64; 4], gap: f64) -> bool {
    let ix = p[2].min(t[2]) - p[0].max(t[0]);
    let iy = p[3].min(t[3]) - p[1].max(t[1]);
    let (w, h, tw, th) = (p[2] - p[0], p[3] - p[1], t[2] - t[0], t[3] - t[1]);
    let union = w * h + tw * th - ix.max(0.0) * iy.max(0.0);
    (0..4).all(|k| (p[k] - t[k]).abs() > gap)
        && [ix, iy, w, h, union].iter().all(|v| v.abs() > gap)
        // the other pairings of min/max: x2 vs X1 etc. only matter through ix/cw, covered above
        && tw.abs() > gap
        && th.abs() > gap
}

/// `n` random (pred, target) pairs in corners: overlapping, nested, disjoint, far apart, and
/// some inverted predictions — all away from kinks by `gap`.
pub fn random_pairs(rng: &mut crate::common::Rng, n: usize, gap: f64) -> (Vec<[f64; 4]>, Vec<[f64; 4]>) {
    let (mut ps, mut ts) = (Vec::new(), Vec::new());
    while ps.len() < n {
        let (cx, cy) = (rng.uniform(-5.0, 15.0), rng.uniform(-5.0, 15.0));
        let (w, h) = (rng.uniform(0.3, 6.0), rng.uniform(0.3, 6.0));
        let t = [cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0];
        let kind = rng.below(10);
        let spread = if kind == 0 { 30.0 } else { 1.0 };
        let (pcx, pcy) = (cx + rng.uniform(-1.0, 1.0) * w * spread, cy + rng.uniform(-1.0, 1.0) * h * spread);
        let (mut pw, mut ph) = (w * rng.uniform(0.3, 2.5), h * rng.uniform(0.3, 2.5));
        if kind == 1 {
            pw = -pw; // inverted prediction (x2 < x1)
        }
        if kind == 2 {
            ph = -ph;
        }
        let p = [pcx - pw / 2.0, pcy - ph / 2.0, pcx + pw / 2.0, pcy + ph / 2.0];
        if away_from_kinks(p, t, gap) {
            ps.push(p);
            ts.push(t);
        }
    }
    (ps, ts)
}

/// Flattens boxes given as corners into `format`.
pub fn flat(format: u32, boxes: &[[f64; 4]]) -> Vec<f64> {
    boxes.iter().flat_map(|&b| from_xyxy(format, b)).collect()
}
