//! Helpers shared by the overlap tests: calling the eight entry points from f64 data, and a
//! plain (slow, obviously correct) f64 reference of the loss.
#![allow(dead_code)]
use lossfn::capi::*;
use std::ptr::{null, null_mut};

pub type IndexFn<T> =
    unsafe extern "C" fn(*const T, *const i64, *const T, lossfn_shape, *const lossfn_overlap_options, *mut T, *mut T) -> lossfn_status;
pub type SoftFn<T> =
    unsafe extern "C" fn(*const T, *const T, *const T, lossfn_shape, *const lossfn_overlap_options, *mut T, *mut T) -> lossfn_status;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Dice,
    Tversky,
    Jaccard,
}

/// Every score of the per-(sample, class) losses: the suites iterate over it.
pub const KINDS: [Kind; 3] = [Kind::Dice, Kind::Tversky, Kind::Jaccard];

impl Kind {
    /// Whether `squared_pred` changes the sums (Dice and Jaccard).
    pub fn reads_squared_pred(self) -> bool {
        self != Kind::Tversky
    }
}

/// Targets of a call: class indices or soft values (in the input's layout).
#[derive(Clone, Debug)]
pub enum Tgt {
    Index(Vec<i64>),
    Soft(Vec<f64>),
}

pub trait Elem: Copy + Default + 'static {
    fn of(v: f64) -> Self;
    fn back(self) -> f64;
    fn index_fn(kind: Kind) -> IndexFn<Self>;
    fn soft_fn(kind: Kind) -> SoftFn<Self>;
}

impl Elem for f32 {
    fn of(v: f64) -> Self {
        v as f32
    }
    fn back(self) -> f64 {
        self as f64
    }
    fn index_fn(kind: Kind) -> IndexFn<f32> {
        match kind {
            Kind::Dice => lossfn_dice_loss_f32,
            Kind::Tversky => lossfn_tversky_loss_f32,
            Kind::Jaccard => lossfn_jaccard_loss_f32,
        }
    }
    fn soft_fn(kind: Kind) -> SoftFn<f32> {
        match kind {
            Kind::Dice => lossfn_dice_loss_soft_f32,
            Kind::Tversky => lossfn_tversky_loss_soft_f32,
            Kind::Jaccard => lossfn_jaccard_loss_soft_f32,
        }
    }
}

impl Elem for f64 {
    fn of(v: f64) -> Self {
        v
    }
    fn back(self) -> f64 {
        self
    }
    fn index_fn(kind: Kind) -> IndexFn<f64> {
        match kind {
            Kind::Dice => lossfn_dice_loss_f64,
            Kind::Tversky => lossfn_tversky_loss_f64,
            Kind::Jaccard => lossfn_jaccard_loss_f64,
        }
    }
    fn soft_fn(kind: Kind) -> SoftFn<f64> {
        match kind {
            Kind::Dice => lossfn_dice_loss_soft_f64,
            Kind::Tversky => lossfn_tversky_loss_soft_f64,
            Kind::Jaccard => lossfn_jaccard_loss_soft_f64,
        }
    }
}

pub fn shape(batch: usize, classes: usize, spatial: usize, layout: u32) -> lossfn_shape {
    lossfn_shape { batch, classes, spatial, layout }
}

/// Length of the loss output for these options.
pub fn loss_len(sh: &lossfn_shape, o: &lossfn_overlap_options) -> usize {
    if o.reduction != LOSSFN_REDUCTION_NONE {
        return 1;
    }
    let c = if o.include_background { sh.classes } else { sh.classes - 1 };
    if o.batch {
        c
    } else {
        sh.batch * c
    }
}

/// Calls the entry point for `kind`/target type in precision T on f64 data converted to T;
/// returns (status, loss, grad) as f64.
pub fn call<T: Elem>(
    kind: Kind,
    x: &[f64],
    t: &Tgt,
    w: Option<&[f64]>,
    sh: lossfn_shape,
    o: &lossfn_overlap_options,
    with_grad: bool,
) -> (u32, Vec<f64>, Vec<f64>) {
    let xs: Vec<T> = x.iter().map(|&v| T::of(v)).collect();
    let ws: Option<Vec<T>> = w.map(|w| w.iter().map(|&v| T::of(v)).collect());
    let mut loss = vec![T::default(); loss_len(&sh, o)];
    let mut grad = vec![T::default(); x.len()];
    let wp = ws.as_ref().map_or(null(), |w| w.as_ptr());
    let gp = if with_grad { grad.as_mut_ptr() } else { null_mut() };
    let st = match t {
        Tgt::Index(t) => unsafe { T::index_fn(kind)(xs.as_ptr(), t.as_ptr(), wp, sh, o, loss.as_mut_ptr(), gp) },
        Tgt::Soft(t) => {
            let ts: Vec<T> = t.iter().map(|&v| T::of(v)).collect();
            unsafe { T::soft_fn(kind)(xs.as_ptr(), ts.as_ptr(), wp, sh, o, loss.as_mut_ptr(), gp) }
        }
    };
    (st, loss.into_iter().map(T::back).collect(), grad.into_iter().map(T::back).collect())
}

/// Flat index of (n, c, s).
pub fn at(sh: &lossfn_shape, n: usize, c: usize, s: usize) -> usize {
    if sh.layout == LOSSFN_LAYOUT_NCS {
        (n * sh.classes + c) * sh.spatial + s
    } else {
        (n * sh.spatial + s) * sh.classes + c
    }
}

/// The loss written the plain way, in f64, straight from the formulas of docs/overlap.md:
/// activation, one-hot g (0 at ignored positions, where p also counts as 0), per-score sums,
/// score, focal power, class weights, reduction. Returns the `loss` output.
pub fn reference(kind: Kind, x: &[f64], t: &Tgt, w: Option<&[f64]>, sh: lossfn_shape, o: &lossfn_overlap_options) -> Vec<f64> {
    let (nb, nc, ns) = (sh.batch, sh.classes, sh.spatial);
    let mut p = vec![0.0; x.len()];
    let mut g = vec![0.0; x.len()];
    for n in 0..nb {
        for s in 0..ns {
            let valid = match t {
                Tgt::Index(t) => t[n * ns + s] != o.ignore_index,
                Tgt::Soft(_) => true,
            };
            let m = (0..nc).map(|c| x[at(&sh, n, c, s)]).fold(f64::NEG_INFINITY, f64::max);
            let z: f64 = (0..nc).map(|c| (x[at(&sh, n, c, s)] - m).exp()).sum();
            for c in 0..nc {
                let i = at(&sh, n, c, s);
                let v = x[i];
                let pv = match o.activation {
                    LOSSFN_ACTIVATION_NONE => v,
                    LOSSFN_ACTIVATION_SIGMOID => 1.0 / (1.0 + (-v).exp()),
                    _ => (v - m).exp() / z,
                };
                p[i] = if valid { pv } else { 0.0 };
                g[i] = match t {
                    Tgt::Index(t) => (valid && t[n * ns + s] == c as i64) as u8 as f64,
                    Tgt::Soft(t) => t[i],
                };
            }
        }
    }
    let squared = kind.reads_squared_pred() && o.squared_pred;
    let soft_label = o.soft_label && !squared && matches!(t, Tgt::Soft(_));
    let groups = if o.batch { 1 } else { nb };
    let first = if o.include_background { 0 } else { 1 };
    let mut wl = Vec::new();
    let mut ws = Vec::new();
    for grp in 0..groups {
        for c in first..nc {
            let (mut tp, mut sp, mut sg) = (0.0, 0.0, 0.0);
            let samples = if o.batch { 0..nb } else { grp..grp + 1 };
            for n in samples {
                for s in 0..ns {
                    let i = at(&sh, n, c, s);
                    if soft_label {
                        // MONAI's soft-label sums: TP = (|p| + |g| − |p − g|)/2 = min(p, g) here
                        tp += (p[i].abs() + g[i].abs() - (p[i] - g[i]).abs()) / 2.0;
                        sp += p[i].abs();
                        sg += g[i].abs();
                        continue;
                    }
                    tp += p[i] * g[i];
                    sp += if squared { p[i] * p[i] } else { p[i] };
                    sg += if squared { g[i] * g[i] } else { g[i] };
                }
            }
            let (num, den) = match kind {
                Kind::Dice => (2.0 * tp + o.smooth_nr, sp + sg + o.smooth_dr),
                Kind::Tversky => (tp + o.smooth_nr, tp + o.alpha * (sp - tp) + o.beta * (sg - tp) + o.smooth_dr),
                // TP / (TP + FP + FN) with MONAI's smoothing (DiceLoss(jaccard=True)).
                Kind::Jaccard => (2.0 * tp + o.smooth_nr, 2.0 * ((sp - tp) + (sg - tp) + tp) + o.smooth_dr),
            };
            let score = if den == 0.0 { 1.0 } else { num / den };
            let l = if o.gamma == 1.0 { 1.0 - score } else { (1.0 - score).max(0.0).powf(o.gamma) };
            let wc = w.map_or(1.0, |w| w[c]);
            wl.push(wc * l);
            ws.push(wc);
        }
    }
    match o.reduction {
        LOSSFN_REDUCTION_NONE => wl,
        LOSSFN_REDUCTION_SUM => vec![wl.iter().sum()],
        _ => {
            let den: f64 = ws.iter().sum();
            vec![if den == 0.0 { 0.0 } else { wl.iter().sum::<f64>() / den }]
        }
    }
}
