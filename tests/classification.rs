//! Classification family through the C ABI (its fixtures: tests/fixture_replay.rs): finite
//! differences and an independent f64 reference on random inputs in both layouts, edge
//! cases, bad input, determinism across thread counts and SIMD paths.
mod common;
use common::*;
use lossfn::capi::*;
use std::ptr::{null, null_mut};

// ---------------------------------------------------------------------------------------------
// One call of any classification function, described in f64.

#[derive(Clone, Debug)]
struct Call {
    f: &'static str,
    shape: lossfn_shape,
    ce: lossfn_cross_entropy_options,
    bce: lossfn_bce_options,
    ent: lossfn_entropy_options,
    kl: lossfn_kl_div_options,
    kd: lossfn_distillation_options,
    focal: lossfn_focal_options,
    qf: lossfn_quality_focal_options,
    /// logits / input / student_logits.
    x: Vec<f64>,
    /// Float target / teacher_logits.
    t: Option<Vec<f64>>,
    /// Index target.
    y: Option<Vec<i64>>,
    /// class_weight / weight / class_alpha.
    w: Option<Vec<f64>>,
    /// pos_weight.
    pw: Option<Vec<f64>>,
}

const FNS: [&str; 10] = [
    "cross_entropy",
    "cross_entropy_soft",
    "bce_with_logits",
    "entropy",
    "kl_div",
    "kl_div_logits",
    "sigmoid_focal_loss",
    "softmax_focal_loss",
    "varifocal_loss",
    "quality_focal_loss",
];

fn static_name(name: &str) -> &'static str {
    FNS.iter().find(|&&f| f == name).unwrap_or_else(|| panic!("unknown classification fn {name}"))
}

impl Call {
    fn new(f: &str, shape: lossfn_shape, x: Vec<f64>) -> Self {
        Call {
            f: static_name(f),
            shape,
            ce: lossfn_cross_entropy_options_default(),
            bce: lossfn_bce_options_default(),
            ent: lossfn_entropy_options_default(),
            kl: lossfn_kl_div_options_default(),
            kd: lossfn_distillation_options_default(),
            focal: lossfn_focal_options_default(),
            qf: lossfn_quality_focal_options_default(),
            x,
            t: None,
            y: None,
            w: None,
            pw: None,
        }
    }

    fn reduction(&self) -> u32 {
        match self.f {
            "cross_entropy" | "cross_entropy_soft" => self.ce.reduction,
            "bce_with_logits" => self.bce.reduction,
            "entropy" => self.ent.reduction,
            "kl_div" => self.kl.reduction,
            "kl_div_logits" => self.kd.reduction,
            "varifocal_loss" | "quality_focal_loss" => self.qf.reduction,
            _ => self.focal.reduction,
        }
    }

    fn set_reduction(&mut self, r: u32) {
        self.ce.reduction = r;
        self.bce.reduction = r;
        self.ent.reduction = r;
        self.kl.reduction = r;
        self.kd.reduction = r;
        self.focal.reduction = r;
        self.qf.reduction = r;
    }


    fn elements(&self) -> usize {
        self.shape.batch * self.shape.classes * self.shape.spatial
    }

    /// Per-element NONE output (else per position).
    fn elementwise(&self) -> bool {
        matches!(self.f, "bce_with_logits" | "kl_div" | "sigmoid_focal_loss" | "varifocal_loss" | "quality_focal_loss")
    }

    fn loss_len(&self) -> usize {
        if self.reduction() != LOSSFN_REDUCTION_NONE {
            1
        } else if self.elementwise() {
            self.elements()
        } else {
            self.shape.batch * self.shape.spatial
        }
    }


    /// Calls the `T` entry point; returns (status, loss, grad) in f64.
    fn run<T: Dt>(&self, with_grad: bool) -> (u32, Vec<f64>, Vec<f64>) {
        let x: Vec<T> = self.x.iter().map(|&v| T::of(v)).collect();
        let t: Option<Vec<T>> = self.t.as_ref().map(|v| v.iter().map(|&v| T::of(v)).collect());
        let w: Option<Vec<T>> = self.w.as_ref().map(|v| v.iter().map(|&v| T::of(v)).collect());
        let pw: Option<Vec<T>> = self.pw.as_ref().map(|v| v.iter().map(|&v| T::of(v)).collect());
        let mut loss = vec![T::default(); self.loss_len()];
        let mut grad = vec![T::default(); self.elements()];
        let p = |v: &Option<Vec<T>>| v.as_ref().map_or(null(), |v| v.as_ptr());
        let y = self.y.as_ref().map_or(null(), |v| v.as_ptr());
        let (l, g) = (loss.as_mut_ptr(), if with_grad { grad.as_mut_ptr() } else { null_mut() });
        let s = self.shape;
        let st = unsafe {
            match self.f {
                "cross_entropy" => T::CE(x.as_ptr(), y, p(&w), s, &self.ce, l, g),
                "cross_entropy_soft" => T::CE_SOFT(x.as_ptr(), p(&t), p(&w), s, &self.ce, l, g),
                "bce_with_logits" => T::BCE(x.as_ptr(), p(&t), p(&w), p(&pw), s, &self.bce, l, g),
                "entropy" => T::ENTROPY(x.as_ptr(), s, &self.ent, l, g),
                "kl_div" => T::KL(x.as_ptr(), p(&t), s, &self.kl, l, g),
                "kl_div_logits" => T::KD(x.as_ptr(), p(&t), s, &self.kd, l, g),
                "sigmoid_focal_loss" => T::SIGMOID_FOCAL(x.as_ptr(), p(&t), p(&w), s, &self.focal, l, g),
                "softmax_focal_loss" => T::SOFTMAX_FOCAL(x.as_ptr(), y, p(&w), s, &self.focal, l, g),
                "varifocal_loss" => T::VARIFOCAL(x.as_ptr(), p(&t), p(&w), s, &self.qf, l, g),
                "quality_focal_loss" => T::QUALITY_FOCAL(x.as_ptr(), p(&t), p(&w), s, &self.qf, l, g),
                f => unreachable!("{f}"),
            }
        };
        (st, loss.into_iter().map(T::back).collect(), grad.into_iter().map(T::back).collect())
    }

    /// f64 call that must succeed: (loss, grad).
    fn ok(&self) -> (Vec<f64>, Vec<f64>) {
        let (st, l, g) = self.run::<f64>(true);
        assert_eq!(st, LOSSFN_OK, "{} failed: {}", self.f, last_error());
        (l, g)
    }

    /// The scalar whose gradient the call returns: the reduced loss, or Σ of the NONE values.
    fn scalar(&self, x: &[f64]) -> f64 {
        let mut c = self.clone();
        c.x = x.to_vec();
        let (st, l, _) = c.run::<f64>(false);
        assert_eq!(st, LOSSFN_OK);
        l.iter().sum()
    }
}

type CeFn<T> = unsafe extern "C" fn(*const T, *const i64, *const T, lossfn_shape, *const lossfn_cross_entropy_options, *mut T, *mut T) -> u32;
type SoftFn<T> = unsafe extern "C" fn(*const T, *const T, *const T, lossfn_shape, *const lossfn_cross_entropy_options, *mut T, *mut T) -> u32;
type BceFn<T> = unsafe extern "C" fn(*const T, *const T, *const T, *const T, lossfn_shape, *const lossfn_bce_options, *mut T, *mut T) -> u32;
type EntFn<T> = unsafe extern "C" fn(*const T, lossfn_shape, *const lossfn_entropy_options, *mut T, *mut T) -> u32;
type KlFn<T> = unsafe extern "C" fn(*const T, *const T, lossfn_shape, *const lossfn_kl_div_options, *mut T, *mut T) -> u32;
type KdFn<T> = unsafe extern "C" fn(*const T, *const T, lossfn_shape, *const lossfn_distillation_options, *mut T, *mut T) -> u32;
type SfFn<T> = unsafe extern "C" fn(*const T, *const T, *const T, lossfn_shape, *const lossfn_focal_options, *mut T, *mut T) -> u32;
type QfFn<T> = unsafe extern "C" fn(*const T, *const T, *const T, lossfn_shape, *const lossfn_quality_focal_options, *mut T, *mut T) -> u32;
type SmFn<T> = unsafe extern "C" fn(*const T, *const i64, *const T, lossfn_shape, *const lossfn_focal_options, *mut T, *mut T) -> u32;

/// The entry points of one precision.
trait Dt: Copy + Default + 'static {
    fn of(v: f64) -> Self;
    fn back(self) -> f64;
    const CE: CeFn<Self>;
    const CE_SOFT: SoftFn<Self>;
    const BCE: BceFn<Self>;
    const ENTROPY: EntFn<Self>;
    const KL: KlFn<Self>;
    const KD: KdFn<Self>;
    const SIGMOID_FOCAL: SfFn<Self>;
    const SOFTMAX_FOCAL: SmFn<Self>;
    const VARIFOCAL: QfFn<Self>;
    const QUALITY_FOCAL: QfFn<Self>;
}

impl Dt for f32 {
    fn of(v: f64) -> Self {
        v as f32
    }
    fn back(self) -> f64 {
        self as f64
    }
    const CE: CeFn<f32> = lossfn_cross_entropy_f32;
    const CE_SOFT: SoftFn<f32> = lossfn_cross_entropy_soft_f32;
    const BCE: BceFn<f32> = lossfn_bce_with_logits_f32;
    const ENTROPY: EntFn<f32> = lossfn_entropy_f32;
    const KL: KlFn<f32> = lossfn_kl_div_f32;
    const KD: KdFn<f32> = lossfn_kl_div_logits_f32;
    const SIGMOID_FOCAL: SfFn<f32> = lossfn_sigmoid_focal_loss_f32;
    const SOFTMAX_FOCAL: SmFn<f32> = lossfn_softmax_focal_loss_f32;
    const VARIFOCAL: QfFn<f32> = lossfn_varifocal_loss_f32;
    const QUALITY_FOCAL: QfFn<f32> = lossfn_quality_focal_loss_f32;
}

impl Dt for f64 {
    fn of(v: f64) -> Self {
        v
    }
    fn back(self) -> f64 {
        self
    }
    const CE: CeFn<f64> = lossfn_cross_entropy_f64;
    const CE_SOFT: SoftFn<f64> = lossfn_cross_entropy_soft_f64;
    const BCE: BceFn<f64> = lossfn_bce_with_logits_f64;
    const ENTROPY: EntFn<f64> = lossfn_entropy_f64;
    const KL: KlFn<f64> = lossfn_kl_div_f64;
    const KD: KdFn<f64> = lossfn_kl_div_logits_f64;
    const SIGMOID_FOCAL: SfFn<f64> = lossfn_sigmoid_focal_loss_f64;
    const SOFTMAX_FOCAL: SmFn<f64> = lossfn_softmax_focal_loss_f64;
    const VARIFOCAL: QfFn<f64> = lossfn_varifocal_loss_f64;
    const QUALITY_FOCAL: QfFn<f64> = lossfn_quality_focal_loss_f64;
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

// ---------------------------------------------------------------------------------------------
// Fixtures.

// ---------------------------------------------------------------------------------------------
// Random calls of every function and option combination.

fn shape(batch: usize, classes: usize, spatial: usize, layout: u32) -> lossfn_shape {
    lossfn_shape { batch, classes, spatial, layout }
}

/// A random probability vector per position, in the layout of `s`.
fn random_probs(rng: &mut Rng, s: lossfn_shape, zeros: bool) -> Vec<f64> {
    let (n, c, sp) = (s.batch, s.classes, s.spatial);
    let mut out = vec![0.0; n * c * sp];
    for b in 0..n {
        for j in 0..sp {
            let raw: Vec<f64> = (0..c).map(|_| if zeros && rng.below(3) == 0 { 0.0 } else { rng.uniform(0.05, 1.0) }).collect();
            let total: f64 = raw.iter().sum::<f64>().max(1e-300);
            for (k, v) in raw.iter().enumerate() {
                out[at(s, b, k, j)] = v / total;
            }
        }
    }
    out
}

/// Flat index of (n, c, s).
fn at(s: lossfn_shape, n: usize, c: usize, j: usize) -> usize {
    if s.layout == LOSSFN_LAYOUT_NCS {
        (n * s.classes + c) * s.spatial + j
    } else {
        (n * s.spatial + j) * s.classes + c
    }
}

/// Every function with several option sets, on random data of shape `s`.
fn random_calls(rng: &mut Rng, s: lossfn_shape) -> Vec<Call> {
    let (ne, np, c) = (s.batch * s.classes * s.spatial, s.batch * s.spatial, s.classes);
    let logits = |rng: &mut Rng| rng.vec(ne, -4.0, 4.0);
    let mut calls = Vec::new();
    for reduction in [LOSSFN_REDUCTION_MEAN, LOSSFN_REDUCTION_SUM, LOSSFN_REDUCTION_NONE] {
        // Cross entropy: weights × ignore × smoothing.
        for weighted in [false, true] {
            for smoothing in [0.0, 0.25] {
                for ignore in [-100i64, 1] {
                    let mut k = Call::new("cross_entropy", s, logits(rng));
                    k.y = Some((0..np).map(|_| rng.below(c as u64) as i64).collect());
                    k.w = weighted.then(|| rng.vec(c, 0.2, 2.0));
                    k.set_reduction(reduction);
                    k.ce.label_smoothing = smoothing;
                    k.ce.ignore_index = ignore;
                    calls.push(k);
                }
            }
        }
        for weighted in [false, true] {
            let mut k = Call::new("cross_entropy_soft", s, logits(rng));
            k.t = Some(random_probs(rng, s, true));
            k.w = weighted.then(|| rng.vec(c, 0.2, 2.0));
            k.set_reduction(reduction);
            k.ce.label_smoothing = if weighted { 0.1 } else { 0.0 };
            calls.push(k);
        }
        for (weighted, pos) in [(false, false), (true, false), (false, true), (true, true)] {
            let mut k = Call::new("bce_with_logits", s, logits(rng));
            k.t = Some(rng.vec(ne, 0.0, 1.0));
            k.w = weighted.then(|| rng.vec(ne, 0.0, 2.0));
            k.pw = pos.then(|| rng.vec(c, 0.3, 3.0));
            k.set_reduction(reduction);
            calls.push(k);
        }
        for input in [LOSSFN_INPUT_LOGITS, LOSSFN_INPUT_PROBS] {
            let x = if input == LOSSFN_INPUT_PROBS { random_probs(rng, s, false) } else { logits(rng) };
            let mut k = Call::new("entropy", s, x);
            k.ent.input = input;
            k.set_reduction(reduction);
            calls.push(k);
        }
        for log_target in [false, true] {
            let target = random_probs(rng, s, true);
            let input: Vec<f64> = random_probs(rng, s, false).iter().map(|p| p.ln()).collect();
            let mut k = Call::new("kl_div", s, input);
            k.t = Some(if log_target { target.iter().map(|&p| if p > 0.0 { p.ln() } else { -30.0 }).collect() } else { target });
            k.kl.log_target = log_target;
            k.set_reduction(reduction);
            calls.push(k);
        }
        for temperature in [1.0, 2.5, 0.5] {
            let mut k = Call::new("kl_div_logits", s, logits(rng));
            k.t = Some(logits(rng));
            k.kd.temperature = temperature;
            k.set_reduction(reduction);
            calls.push(k);
        }
        for (alpha, gamma, weighted) in [(0.25, 2.0, false), (-1.0, 0.0, true), (0.6, 0.5, true), (0.25, 1.5, false)] {
            let mut k = Call::new("sigmoid_focal_loss", s, logits(rng));
            k.t = Some((0..ne).map(|_| if rng.below(4) == 0 { rng.uniform(0.0, 1.0) } else { rng.below(2) as f64 }).collect());
            k.w = weighted.then(|| rng.vec(ne, 0.0, 2.0));
            k.focal.alpha = alpha;
            k.focal.gamma = gamma;
            k.set_reduction(reduction);
            calls.push(k);
        }
        for (gamma, alpha, ignore) in [(2.0, false, -100i64), (0.0, true, 0), (0.5, true, -100), (1.5, false, 2)] {
            let mut k = Call::new("softmax_focal_loss", s, logits(rng));
            k.y = Some((0..np).map(|_| rng.below(c as u64) as i64).collect());
            k.w = alpha.then(|| rng.vec(c, 0.1, 1.0));
            k.focal.gamma = gamma;
            k.focal.ignore_index = ignore;
            k.set_reduction(reduction);
            calls.push(k);
        }
        // IoU-aware targets: a quarter positives with q in (0.05, 1), the rest 0. Drawn from a
        // stream of their own, so the calls above keep the inputs they always had.
        let mut own = Rng(rng.0 ^ 0x9e37_79b9_7f4a_7c15);
        let rng = &mut own;
        let quality = |rng: &mut Rng| (0..ne).map(|_| if rng.below(4) == 0 { rng.uniform(0.05, 1.0) } else { 0.0 }).collect::<Vec<f64>>();
        for (gamma, iou_weighted, detach, weighted) in [(2.0, true, false, false), (1.5, false, false, true), (0.5, true, true, true), (1.0, true, false, false)] {
            let mut k = Call::new("varifocal_loss", s, logits(rng));
            k.t = Some(quality(rng));
            k.w = weighted.then(|| rng.vec(ne, 0.0, 2.0));
            k.qf.gamma = gamma;
            k.qf.iou_weighted = iou_weighted;
            k.qf.detach_weight = detach;
            k.set_reduction(reduction);
            calls.push(k);
        }
        for (beta, weighted) in [(2.0, false), (0.5, true), (1.0, true)] {
            let mut k = Call::new("quality_focal_loss", s, logits(rng));
            k.t = Some(quality(rng));
            k.w = weighted.then(|| rng.vec(ne, 0.0, 2.0));
            k.qf.gamma = beta;
            k.set_reduction(reduction);
            calls.push(k);
        }
    }
    calls
}

#[test]
fn gradients_match_finite_differences() {
    let mut rng = Rng(17);
    let mut checked = 0;
    for layout in [LOSSFN_LAYOUT_NCS, LOSSFN_LAYOUT_NSC] {
        for call in random_calls(&mut rng, shape(2, 5, 3, layout)) {
            // A detached varifocal weight makes the gradient differ from the loss's derivative
            // by design (RT-DETR); the independent reference and the fixtures check it.
            if call.f == "varifocal_loss" && call.qf.detach_weight {
                continue;
            }
            let (_, g) = call.ok();
            let fd = finite_diff(&call.x, 1e-6, |x| call.scalar(x));
            assert_close(&format!("{} fd {:?}", call.f, call), &g, &fd, 1e-6, 1e-8);
            checked += 1;
        }
    }
    assert!(checked > 150);
}

// ---------------------------------------------------------------------------------------------
// An independent f64 reference, written from the torch / torchvision formulas with std math.

/// (loss values (reduced: 1), gradient) of `c` computed naively.
fn reference(c: &Call) -> (Vec<f64>, Vec<f64>) {
    let s = c.shape;
    let (nb, nc, sp) = (s.batch, s.classes, s.spatial);
    let red = c.reduction();
    let x = &c.x;
    let mut vals = Vec::new(); // per term
    let mut wts = Vec::new(); // per term MEAN weight
    let mut grads: Vec<Vec<(usize, f64)>> = Vec::new(); // per term: d value / d x
    let log_softmax = |v: &[f64]| {
        let m = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = m + v.iter().map(|z| (z - m).exp()).sum::<f64>().ln();
        v.iter().map(|z| z - lse).collect::<Vec<f64>>()
    };
    let sigmoid = |z: f64| 1.0 / (1.0 + (-z).exp());
    let softplus = |z: f64| z.max(0.0) + (-z.abs()).exp().ln_1p();
    let elementwise = c.elementwise();
    if elementwise {
        for i in 0..x.len() {
            let (z, t) = (x[i], c.t.as_ref().unwrap()[i]);
            let cls = if s.layout == LOSSFN_LAYOUT_NCS { (i / sp) % nc } else { i % nc };
            let w = c.w.as_ref().map_or(1.0, |w| w[i]);
            let (l, d) = match c.f {
                "bce_with_logits" => {
                    let pw = c.pw.as_ref().map_or(1.0, |p| p[cls]);
                    let lw = 1.0 + (pw - 1.0) * t;
                    ((1.0 - t) * z + lw * softplus(-z), (1.0 - t) - lw * sigmoid(-z))
                }
                "sigmoid_focal_loss" => {
                    let (a, gm) = (c.focal.alpha, c.focal.gamma);
                    let p = sigmoid(z);
                    let ce = |z: f64| (1.0 - t) * z + softplus(-z);
                    let f = |z: f64| {
                        let p = sigmoid(z);
                        let pt = p * t + (1.0 - p) * (1.0 - t);
                        let at = if a >= 0.0 { a * t + (1.0 - a) * (1.0 - t) } else { 1.0 };
                        at * ce(z) * (1.0 - pt).powf(gm)
                    };
                    let _ = p;
                    // Derivative by a tiny complex-free central difference is not exact enough:
                    // use the closed form of torchvision's autograd instead.
                    let pt = p * t + (1.0 - p) * (1.0 - t);
                    let at = if a >= 0.0 { a * t + (1.0 - a) * (1.0 - t) } else { 1.0 };
                    let b = 1.0 - pt;
                    let db = p * (1.0 - p) * (1.0 - 2.0 * t);
                    let d = at * ((p - t) * b.powf(gm) + if gm > 0.0 { ce(z) * gm * b.powf(gm - 1.0) * db } else { 0.0 });
                    (f(z), d)
                }
                // Written from mmdet's formulas in plain f64, derivative by hand: BCE·f with
                // f = q or 1 (positives) or α|σ − q|^γ (negatives), through f unless detached.
                "varifocal_loss" | "quality_focal_loss" => {
                    let (a, gm) = (c.qf.alpha, c.qf.gamma);
                    let p = sigmoid(z);
                    let ce = (1.0 - t) * z + softplus(-z);
                    let b = (p - t).abs();
                    let sgn = if p > t { 1.0 } else if p < t { -1.0 } else { 0.0 };
                    let dpow = if gm > 0.0 && b > 0.0 { gm * b.powf(gm - 1.0) * sgn * p * (1.0 - p) } else { 0.0 };
                    let (f, df) = if c.f == "quality_focal_loss" {
                        (b.powf(gm), dpow)
                    } else if t > 0.0 {
                        (if c.qf.iou_weighted { t } else { 1.0 }, 0.0)
                    } else {
                        (a * b.powf(gm), if c.qf.detach_weight { 0.0 } else { a * dpow })
                    };
                    (ce * f, (p - t) * f + ce * df)
                }
                "kl_div" => {
                    if c.kl.log_target {
                        (t.exp() * (t - z), -t.exp())
                    } else {
                        (if t > 0.0 { t * t.ln() } else { 0.0 } - t * z, -t)
                    }
                }
                f => unreachable!("{f}"),
            };
            vals.push(w * l);
            wts.push(w);
            grads.push(vec![(i, w * d)]);
        }
    } else {
        for n in 0..nb {
            for j in 0..sp {
                let idx: Vec<usize> = (0..nc).map(|k| at(s, n, k, j)).collect();
                let z: Vec<f64> = idx.iter().map(|&i| x[i]).collect();
                let lp = log_softmax(&z);
                let p: Vec<f64> = lp.iter().map(|v| v.exp()).collect();
                let pos = n * sp + j;
                let (l, w, d): (f64, f64, Vec<f64>) = match c.f {
                    "cross_entropy" => {
                        let y = c.y.as_ref().unwrap()[pos];
                        if y == c.ce.ignore_index {
                            (0.0, 0.0, vec![0.0; nc])
                        } else {
                            let y = y as usize;
                            let cw = |k: usize| c.w.as_ref().map_or(1.0, |w| w[k]);
                            let e = c.ce.label_smoothing;
                            let mut l = (1.0 - e) * cw(y) * -lp[y];
                            let mut d: Vec<f64> = (0..nc).map(|k| (1.0 - e) * cw(y) * (p[k] - if k == y { 1.0 } else { 0.0 })).collect();
                            for k in 0..nc {
                                l += e / nc as f64 * cw(k) * -lp[k];
                                for (q, dq) in d.iter_mut().enumerate() {
                                    *dq += e / nc as f64 * cw(k) * (p[q] - if q == k { 1.0 } else { 0.0 });
                                }
                            }
                            (l, cw(y), d)
                        }
                    }
                    "cross_entropy_soft" => {
                        let e = c.ce.label_smoothing;
                        let tgt = c.t.as_ref().unwrap();
                        let tp: Vec<f64> = idx.iter().map(|&i| tgt[i] * (1.0 - e) + e / nc as f64).collect();
                        let cw = |k: usize| c.w.as_ref().map_or(1.0, |w| w[k]);
                        let l = (0..nc).map(|k| -cw(k) * tp[k] * lp[k]).sum();
                        let a: f64 = (0..nc).map(|k| cw(k) * tp[k]).sum();
                        (l, 1.0, (0..nc).map(|k| p[k] * a - cw(k) * tp[k]).collect())
                    }
                    "entropy" => {
                        if c.ent.input == LOSSFN_INPUT_PROBS {
                            let l = -z.iter().map(|&q| if q > 0.0 { q * q.ln() } else { 0.0 }).sum::<f64>();
                            (l, 1.0, z.iter().map(|&q| -(q.max(f64::MIN_POSITIVE).ln() + 1.0)).collect())
                        } else {
                            let h = -(0..nc).map(|k| p[k] * lp[k]).sum::<f64>();
                            (h, 1.0, (0..nc).map(|k| -p[k] * (lp[k] + h)).collect())
                        }
                    }
                    "kl_div_logits" => {
                        let tt = c.kd.temperature;
                        let teacher: Vec<f64> = idx.iter().map(|&i| c.t.as_ref().unwrap()[i] / tt).collect();
                        let student: Vec<f64> = z.iter().map(|v| v / tt).collect();
                        let (lq, ls) = (log_softmax(&teacher), log_softmax(&student));
                        let l = tt * tt * (0..nc).map(|k| lq[k].exp() * (lq[k] - ls[k])).sum::<f64>();
                        (l, 1.0, (0..nc).map(|k| tt * (ls[k].exp() - lq[k].exp())).collect())
                    }
                    "softmax_focal_loss" => {
                        let y = c.y.as_ref().unwrap()[pos];
                        if y == c.focal.ignore_index {
                            (0.0, 0.0, vec![0.0; nc])
                        } else {
                            let y = y as usize;
                            let a = c.w.as_ref().map_or(1.0, |w| w[y]);
                            let gm = c.focal.gamma;
                            let u = 1.0 - p[y];
                            let l = -a * u.powf(gm) * lp[y];
                            let f = u.powf(gm) - if gm > 0.0 && u > 0.0 { gm * p[y] * lp[y] * u.powf(gm - 1.0) } else { 0.0 };
                            (l, 1.0, (0..nc).map(|k| a * f * (p[k] - if k == y { 1.0 } else { 0.0 })).collect())
                        }
                    }
                    f => unreachable!("{f}"),
                };
                vals.push(l);
                wts.push(w);
                grads.push(idx.iter().cloned().zip(d).collect());
            }
        }
    }
    let den = match (red, c.f) {
        (LOSSFN_REDUCTION_MEAN, "kl_div") => x.len() as f64,
        (LOSSFN_REDUCTION_MEAN, _) => wts.iter().sum(),
        (LOSSFN_REDUCTION_BATCHMEAN, _) => nb as f64,
        _ => 1.0,
    };
    let scale = if den == 0.0 { 0.0 } else { 1.0 / den };
    let mut g = vec![0.0; x.len()];
    for terms in &grads {
        for &(i, d) in terms {
            g[i] += scale * d;
        }
    }
    let loss = if red == LOSSFN_REDUCTION_NONE { vals } else { vec![vals.iter().sum::<f64>() * scale] };
    (loss, g)
}

#[test]
fn random_inputs_match_an_independent_reference() {
    let mut rng = Rng(23);
    for (b, c, sp) in [(3, 7, 5), (2, 1, 4), (4, 13, 1), (1, 40, 37)] {
        for layout in [LOSSFN_LAYOUT_NCS, LOSSFN_LAYOUT_NSC] {
            for call in random_calls(&mut rng, shape(b, c, sp, layout)) {
                let (el, eg) = reference(&call);
                let (l, g) = call.ok();
                let what = format!("{} {:?} ce {:?} focal {:?} kd {:?} kl {:?} ent {:?}", call.f, call.shape, call.ce, call.focal, call.kd, call.kl, call.ent);
                assert_close(&format!("{what} loss"), &l, &el, 1e-10, 1e-12);
                assert_close(&format!("{what} grad"), &g, &eg, 1e-9, 1e-12);
                let (st, l32, g32) = call.run::<f32>(true);
                assert_eq!(st, LOSSFN_OK);
                assert_close(&format!("{what} f32 loss"), &l32, &el, 2e-5, 2e-6);
                // With γ < 1 the modulator's derivative grows as |q − σ|^(γ−1): near σ = q the
                // gradient is ill-conditioned in f32 (|q − σ| ~ 1e-3 has a relative error of
                // ~1e-4 there), so for those the f32 gradient is held to 1e-4.
                let ill = matches!(call.f, "varifocal_loss" | "quality_focal_loss") && call.qf.gamma < 1.0;
                assert_close(&format!("{what} f32 grad"), &g32, &eg, if ill { 1e-4 } else { 2e-5 }, 2e-6);
            }
        }
    }
}

#[test]
fn batchmean_divides_by_batch() {
    let mut rng = Rng(5);
    for layout in [LOSSFN_LAYOUT_NCS, LOSSFN_LAYOUT_NSC] {
        let s = shape(3, 4, 5, layout);
        for f in ["kl_div", "kl_div_logits"] {
            let mut k = Call::new(f, s, if f == "kl_div" { random_probs(&mut rng, s, false).iter().map(|p| p.ln()).collect() } else { rng.vec(60, -3.0, 3.0) });
            k.t = Some(if f == "kl_div" { random_probs(&mut rng, s, true) } else { rng.vec(60, -3.0, 3.0) });
            k.set_reduction(LOSSFN_REDUCTION_BATCHMEAN);
            let (el, eg) = reference(&k);
            let (l, g) = k.ok();
            assert_close(f, &l, &el, 1e-10, 1e-12);
            assert_close(f, &g, &eg, 1e-9, 1e-12);
            k.set_reduction(LOSSFN_REDUCTION_SUM);
            let (sum, _) = k.ok();
            assert!((l[0] - sum[0] / 3.0).abs() <= 1e-12 * sum[0].abs(), "{f}: BATCHMEAN {} vs SUM/3 {}", l[0], sum[0] / 3.0);
        }
    }
}

/// The two layouts hold the same tensor: the results agree (to rounding: sums run in another order).
#[test]
fn layouts_agree() {
    let mut rng = Rng(29);
    let (nb, nc, sp) = (3, 6, 11);
    for call in random_calls(&mut rng, shape(nb, nc, sp, LOSSFN_LAYOUT_NCS)) {
        let ncs = call.shape;
        let nsc = lossfn_shape { layout: LOSSFN_LAYOUT_NSC, ..ncs };
        let to_nsc = |v: &Vec<f64>| {
            let mut out = vec![0.0; v.len()];
            for n in 0..nb {
                for c in 0..nc {
                    for j in 0..sp {
                        out[at(nsc, n, c, j)] = v[at(ncs, n, c, j)];
                    }
                }
            }
            out
        };
        let mut other = call.clone();
        other.shape = nsc;
        other.x = to_nsc(&call.x);
        other.t = call.t.as_ref().map(to_nsc);
        if matches!(call.f, "bce_with_logits" | "sigmoid_focal_loss" | "varifocal_loss" | "quality_focal_loss") {
            other.w = call.w.as_ref().map(to_nsc);
        }
        let (l1, g1) = call.ok();
        let (l2, g2) = other.ok();
        let l1 = if call.elementwise() && l1.len() > 1 { to_nsc(&l1) } else { l1 };
        assert_close(&format!("{} loss", call.f), &l2, &l1, 1e-13, 1e-15);
        assert_close(&format!("{} grad", call.f), &g2, &to_nsc(&g1), 1e-13, 1e-15);
    }
}

// ---------------------------------------------------------------------------------------------
// Edge cases.

#[test]
fn extreme_logits_stay_finite_in_f32() {
    let mut rng = Rng(31);
    for layout in [LOSSFN_LAYOUT_NCS, LOSSFN_LAYOUT_NSC] {
        for mut call in random_calls(&mut rng, shape(2, 4, 9, layout)) {
            if call.f == "kl_div" || (call.f == "entropy" && call.ent.input == LOSSFN_INPUT_PROBS) {
                continue; // inputs are log-probabilities / probabilities, not logits
            }
            for v in call.x.iter_mut() {
                *v = if *v > 0.0 { 1e4 } else { -1e4 };
            }
            if let Some(t) = call.t.as_mut().filter(|_| call.f == "kl_div_logits") {
                for v in t.iter_mut() {
                    *v = if *v > 1.0 { 1e4 } else { -1e4 };
                }
            }
            for gamma in [call.focal.gamma, 0.0, 0.3] {
                call.focal.gamma = gamma;
                let (st, l, g) = call.run::<f32>(true);
                assert_eq!(st, LOSSFN_OK);
                assert_finite(&format!("{} loss {:?}", call.f, call.focal), &l);
                assert_finite(&format!("{} grad {:?}", call.f, call.focal), &g);
                let (_, l64, g64) = call.run::<f64>(true);
                assert_finite(call.f, &l64);
                assert_finite(call.f, &g64);
            }
        }
    }
}

#[test]
fn focal_gradients_are_finite_for_small_gamma_at_saturation() {
    // p_t = 1 exactly in f32 and f64: the (1 - p_t)^(gamma - 1) factor must never be formed.
    for gamma in [0.0, 0.25, 0.5, 0.999, 1.0, 2.0] {
        for layout in [LOSSFN_LAYOUT_NCS, LOSSFN_LAYOUT_NSC] {
            let s = shape(1, 2, 2, layout);
            let mut sig = Call::new("sigmoid_focal_loss", s, vec![800.0, -800.0, 40.0, -40.0]);
            sig.t = Some(vec![1.0, 0.0, 1.0, 0.0]);
            sig.focal.gamma = gamma;
            let mut soft = Call::new("softmax_focal_loss", s, vec![800.0, -800.0, 40.0, -40.0]);
            soft.y = Some(if layout == LOSSFN_LAYOUT_NCS { vec![0, 1] } else { vec![0, 0] });
            soft.focal.gamma = gamma;
            for call in [sig, soft] {
                for (st, l, g) in [call.run::<f32>(true), call.run::<f64>(true)] {
                    assert_eq!(st, LOSSFN_OK);
                    assert_finite(&format!("{} gamma {gamma}", call.f), &l);
                    assert_finite(&format!("{} gamma {gamma} grad", call.f), &g);
                }
            }
        }
    }
}

#[test]
fn entropy_of_probabilities_with_zeros_is_finite() {
    let s = shape(2, 3, 1, LOSSFN_LAYOUT_NSC);
    let mut k = Call::new("entropy", s, vec![0.0, 1.0, 0.0, 0.5, 0.0, 0.5]);
    k.ent.input = LOSSFN_INPUT_PROBS;
    for (st, l, g) in [k.run::<f32>(true), k.run::<f64>(true)] {
        assert_eq!(st, LOSSFN_OK);
        assert_finite("entropy", &l);
        assert_finite("entropy grad", &g);
        assert!((l[0] - 0.5 * 2f64.ln()).abs() < 1e-6, "{l:?}");
    }
}

#[test]
fn all_ignored_or_zero_weight_mean_is_zero() {
    let s = shape(2, 3, 2, LOSSFN_LAYOUT_NCS);
    let x: Vec<f64> = (0..12).map(|i| i as f64 * 0.3 - 1.0).collect();
    for f in ["cross_entropy", "softmax_focal_loss"] {
        let mut k = Call::new(f, s, x.clone());
        k.y = Some(vec![-100; 4]);
        let (l, g) = k.ok();
        assert_eq!((l, g), (vec![0.0], vec![0.0; 12]), "{f}");
    }
    // Class weights that are 0 for every target present.
    let mut k = Call::new("cross_entropy", s, x.clone());
    k.y = Some(vec![1, 1, 2, 2]);
    k.w = Some(vec![1.0, 0.0, 0.0]);
    assert_eq!(k.ok(), (vec![0.0], vec![0.0; 12]));
    // Elementwise weights all 0.
    for f in ["bce_with_logits", "sigmoid_focal_loss", "varifocal_loss", "quality_focal_loss"] {
        let mut k = Call::new(f, s, x.clone());
        k.t = Some(vec![0.5; 12]);
        k.w = Some(vec![0.0; 12]);
        assert_eq!(k.ok(), (vec![0.0], vec![0.0; 12]), "{f}");
    }
}

#[test]
fn empty_batch_and_spatial() {
    for s in [shape(0, 3, 4, LOSSFN_LAYOUT_NCS), shape(2, 3, 0, LOSSFN_LAYOUT_NSC), shape(0, 5, 0, LOSSFN_LAYOUT_NSC)] {
        for call in random_calls(&mut Rng(1), s) {
            let (l, g) = call.ok();
            assert!(g.is_empty());
            if call.reduction() == LOSSFN_REDUCTION_NONE {
                assert!(l.is_empty());
            } else {
                assert_eq!(l, vec![0.0], "{}", call.f);
            }
        }
    }
}

#[test]
fn nan_propagates() {
    let mut rng = Rng(37);
    for layout in [LOSSFN_LAYOUT_NCS, LOSSFN_LAYOUT_NSC] {
        for mut call in random_calls(&mut rng, shape(1, 3, 2, layout)) {
            if call.reduction() == LOSSFN_REDUCTION_NONE {
                continue;
            }
            let valid = if call.focal.ignore_index == 0 && call.f == "softmax_focal_loss" { 1 } else { 0 };
            if let Some(y) = call.y.as_mut() {
                y.fill(valid);
            }
            call.x[0] = f64::NAN;
            let (l, _) = call.ok();
            assert!(l[0].is_nan(), "{}: {l:?}", call.f);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Bad input.

fn status_name(st: u32) -> String {
    unsafe { std::ffi::CStr::from_ptr(lossfn_status_name(st)) }.to_string_lossy().into_owned()
}

/// Asserts that a call fails with `status`, a message containing every `needle`, and wrote nothing.
fn assert_rejected(status: u32, needles: &[&str], f: impl FnOnce(*mut f32, *mut f32) -> u32) {
    let mut loss = [7.5f32; 64];
    let mut grad = [7.5f32; 64];
    let st = f(loss.as_mut_ptr(), grad.as_mut_ptr());
    assert_eq!(st, status, "status {} ({})", status_name(st), last_error());
    let msg = last_error();
    for needle in needles {
        assert!(msg.contains(needle), "message {msg:?} does not name {needle:?}");
    }
    assert!(loss.iter().chain(grad.iter()).all(|&v| v == 7.5), "something was written on error");
}

#[test]
fn invalid_targets_are_rejected_before_writing() {
    let x = [0.5f32; 24];
    for layout in [LOSSFN_LAYOUT_NCS, LOSSFN_LAYOUT_NSC] {
        let s = shape(2, 4, 3, layout);
        for (pos, bad, n, sp) in [(4usize, 4i64, 1usize, 1usize), (0, -1, 0, 0), (5, i64::MAX, 1, 2), (2, -101, 0, 2)] {
            let mut y = [0i64, 1, 2, 3, -100, 1];
            y[pos] = bad;
            let needles = [format!("(n={n}, s={sp})"), format!("is {bad}"), "target".to_string()];
            let needles: Vec<&str> = needles.iter().map(|s| s.as_str()).collect();
            for reduction in [LOSSFN_REDUCTION_NONE, LOSSFN_REDUCTION_MEAN] {
                let o = lossfn_cross_entropy_options { reduction, ..lossfn_cross_entropy_options_default() };
                assert_rejected(LOSSFN_ERROR_INVALID_TARGET, &needles, |l, g| unsafe { lossfn_cross_entropy_f32(x.as_ptr(), y.as_ptr(), null(), s, &o, l, g) });
                let o = lossfn_focal_options { reduction, ..lossfn_focal_options_default() };
                assert_rejected(LOSSFN_ERROR_INVALID_TARGET, &needles, |l, g| unsafe { lossfn_softmax_focal_loss_f32(x.as_ptr(), y.as_ptr(), null(), s, &o, l, g) });
            }
        }
    }
    // The first bad position in memory order is reported, also on a large input.
    let n = 300_000;
    let x = vec![0.0f32; n * 2];
    let mut y = vec![0i64; n];
    y[200_000] = 9;
    y[250_000] = 7;
    let mut loss = [7.5f32];
    let st = unsafe { lossfn_cross_entropy_f32(x.as_ptr(), y.as_ptr(), null(), shape(1, 2, n, LOSSFN_LAYOUT_NCS), null(), loss.as_mut_ptr(), null_mut()) };
    assert_eq!(st, LOSSFN_ERROR_INVALID_TARGET);
    assert!(last_error().contains("(n=0, s=200000) is 9"), "{}", last_error());
    assert_eq!(loss, [7.5]);
}

#[test]
fn bad_options_and_shapes_are_rejected() {
    let x = [0.5f32; 24];
    let t = [0.25f32; 24];
    let y = [0i64; 6];
    let s = shape(2, 4, 3, LOSSFN_LAYOUT_NCS);
    let ce = lossfn_cross_entropy_options_default();
    let e = LOSSFN_ERROR_INVALID_OPTION;
    for eps in [-0.1, 1.5, f64::NAN] {
        let o = lossfn_cross_entropy_options { label_smoothing: eps, ..ce };
        assert_rejected(e, &["label_smoothing"], |l, g| unsafe { lossfn_cross_entropy_f32(x.as_ptr(), y.as_ptr(), null(), s, &o, l, g) });
        assert_rejected(e, &["label_smoothing"], |l, g| unsafe { lossfn_cross_entropy_soft_f32(x.as_ptr(), t.as_ptr(), null(), s, &o, l, g) });
    }
    // BATCHMEAN only for the KL functions; unknown reductions everywhere.
    for (r, needle) in [(LOSSFN_REDUCTION_BATCHMEAN, "BATCHMEAN"), (7, "reduction")] {
        let o = lossfn_cross_entropy_options { reduction: r, ..ce };
        assert_rejected(e, &[needle], |l, g| unsafe { lossfn_cross_entropy_f32(x.as_ptr(), y.as_ptr(), null(), s, &o, l, g) });
        let o = lossfn_bce_options { reduction: r, ..lossfn_bce_options_default() };
        assert_rejected(e, &[needle], |l, g| unsafe { lossfn_bce_with_logits_f32(x.as_ptr(), t.as_ptr(), null(), null(), s, &o, l, g) });
        let o = lossfn_entropy_options { reduction: r, ..lossfn_entropy_options_default() };
        assert_rejected(e, &[needle], |l, g| unsafe { lossfn_entropy_f32(x.as_ptr(), s, &o, l, g) });
        let o = lossfn_focal_options { reduction: r, ..lossfn_focal_options_default() };
        assert_rejected(e, &[needle], |l, g| unsafe { lossfn_sigmoid_focal_loss_f32(x.as_ptr(), t.as_ptr(), null(), s, &o, l, g) });
        assert_rejected(e, &[needle], |l, g| unsafe { lossfn_softmax_focal_loss_f32(x.as_ptr(), y.as_ptr(), null(), s, &o, l, g) });
    }
    let o = lossfn_kl_div_options { reduction: 9, ..lossfn_kl_div_options_default() };
    assert_rejected(e, &["reduction"], |l, g| unsafe { lossfn_kl_div_f32(x.as_ptr(), t.as_ptr(), s, &o, l, g) });
    let o = lossfn_distillation_options { reduction: 9, ..lossfn_distillation_options_default() };
    assert_rejected(e, &["reduction"], |l, g| unsafe { lossfn_kl_div_logits_f32(x.as_ptr(), t.as_ptr(), s, &o, l, g) });
    let o = lossfn_entropy_options { input: 2, ..lossfn_entropy_options_default() };
    assert_rejected(e, &["input"], |l, g| unsafe { lossfn_entropy_f32(x.as_ptr(), s, &o, l, g) });
    for temperature in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let o = lossfn_distillation_options { temperature, ..lossfn_distillation_options_default() };
        assert_rejected(e, &["temperature"], |l, g| unsafe { lossfn_kl_div_logits_f32(x.as_ptr(), t.as_ptr(), s, &o, l, g) });
    }
    for gamma in [-0.5, f64::NAN, f64::INFINITY] {
        let o = lossfn_focal_options { gamma, ..lossfn_focal_options_default() };
        assert_rejected(e, &["gamma"], |l, g| unsafe { lossfn_sigmoid_focal_loss_f32(x.as_ptr(), t.as_ptr(), null(), s, &o, l, g) });
        assert_rejected(e, &["gamma"], |l, g| unsafe { lossfn_softmax_focal_loss_f32(x.as_ptr(), y.as_ptr(), null(), s, &o, l, g) });
    }
    for alpha in [f64::NAN, f64::INFINITY] {
        let o = lossfn_focal_options { alpha, ..lossfn_focal_options_default() };
        assert_rejected(e, &["alpha"], |l, g| unsafe { lossfn_sigmoid_focal_loss_f32(x.as_ptr(), t.as_ptr(), null(), s, &o, l, g) });
    }
    // A bool field holding 2 (read through a byte buffer: a Rust bool cannot hold it).
    let mut raw = [0u8; std::mem::size_of::<lossfn_kl_div_options>()];
    let off = std::mem::offset_of!(lossfn_kl_div_options, log_target);
    raw[off] = 2;
    let o = lossfn_kl_div_options_default();
    let mut buf = [o; 1];
    unsafe { std::ptr::copy_nonoverlapping(raw.as_ptr(), buf.as_mut_ptr().cast::<u8>(), raw.len()) };
    assert_rejected(e, &["log_target"], |l, g| unsafe { lossfn_kl_div_f32(x.as_ptr(), t.as_ptr(), s, buf.as_ptr(), l, g) });
    // Shapes: unknown layout, zero classes, overflow.
    let bad_layout = lossfn_shape { layout: 2, ..s };
    assert_rejected(e, &["layout"], |l, g| unsafe { lossfn_entropy_f32(x.as_ptr(), bad_layout, null(), l, g) });
    assert_rejected(LOSSFN_ERROR_INVALID_SIZE, &["classes"], |l, g| unsafe { lossfn_entropy_f32(x.as_ptr(), shape(2, 0, 3, 0), null(), l, g) });
    assert_rejected(LOSSFN_ERROR_INVALID_SIZE, &["shape"], |l, g| unsafe { lossfn_entropy_f32(x.as_ptr(), shape(usize::MAX / 2, 4, 3, 0), null(), l, g) });
    assert_rejected(LOSSFN_ERROR_INVALID_SIZE, &["shape"], |l, g| unsafe { lossfn_kl_div_f32(x.as_ptr(), t.as_ptr(), shape(1 << 32, 1 << 20, 1 << 20, 1), null(), l, g) });
    assert_rejected(LOSSFN_ERROR_INVALID_SIZE, &["logits"], |l, g| unsafe { lossfn_cross_entropy_f32(x.as_ptr(), y.as_ptr(), null(), shape(1 << 40, 1 << 22, 1, 1), null(), l, g) });
    // NULL pointers name the argument.
    assert_rejected(LOSSFN_ERROR_NULL_POINTER, &["`logits`"], |l, g| unsafe { lossfn_cross_entropy_f32(null(), y.as_ptr(), null(), s, null(), l, g) });
    assert_rejected(LOSSFN_ERROR_NULL_POINTER, &["`target`"], |l, g| unsafe { lossfn_cross_entropy_f32(x.as_ptr(), null(), null(), s, null(), l, g) });
    assert_rejected(LOSSFN_ERROR_NULL_POINTER, &["`teacher_logits`"], |l, g| unsafe { lossfn_kl_div_logits_f32(x.as_ptr(), null(), s, null(), l, g) });
    assert_rejected(LOSSFN_ERROR_NULL_POINTER, &["`loss`"], |_, g| unsafe { lossfn_bce_with_logits_f32(x.as_ptr(), t.as_ptr(), null(), null(), s, null(), null_mut(), g) });
    // Misaligned target.
    let bytes = [0u8; 128];
    let mis = unsafe { bytes.as_ptr().add(4) } as *const i64;
    assert_rejected(LOSSFN_ERROR_MISALIGNED, &["target", "aligned"], |l, g| unsafe { lossfn_cross_entropy_f32(x.as_ptr(), mis, null(), s, null(), l, g) });
}

#[test]
fn overlapping_outputs_are_rejected() {
    let s = shape(2, 4, 3, LOSSFN_LAYOUT_NSC);
    let y = [0i64; 6];
    let mut buf = [0.5f32; 64];
    let p = buf.as_mut_ptr();
    let before = buf;
    let none = lossfn_cross_entropy_options { reduction: LOSSFN_REDUCTION_NONE, ..lossfn_cross_entropy_options_default() };
    // grad over logits, loss over logits, grad over loss, loss over class_weight.
    let cases: [(&str, Box<dyn Fn() -> u32>); 4] = [
        ("grad_logits", Box::new(|| unsafe { lossfn_cross_entropy_f32(p, y.as_ptr(), null(), s, null(), p.add(30), p.add(8)) })),
        ("loss", Box::new(|| unsafe { lossfn_cross_entropy_f32(p, y.as_ptr(), null(), s, &none, p.add(20), null_mut()) })),
        ("grad_logits", Box::new(|| unsafe { lossfn_cross_entropy_f32(p, y.as_ptr(), null(), s, &none, p.add(30), p.add(33)) })),
        ("loss", Box::new(|| unsafe { lossfn_cross_entropy_f32(p, y.as_ptr(), p.add(40), s, null(), p.add(42), null_mut()) })),
    ];
    for (needle, f) in cases.iter() {
        assert_eq!(f(), LOSSFN_ERROR_OVERLAP, "{needle}: {}", last_error());
        assert!(last_error().contains(needle), "{}", last_error());
    }
    let grad_over_target = unsafe { lossfn_softmax_focal_loss_f32(p, y.as_ptr(), null(), s, null(), p.add(60), y.as_ptr() as *mut f32) };
    assert_eq!(grad_over_target, LOSSFN_ERROR_OVERLAP);
    let t = p.wrapping_add(24);
    let kl = unsafe { lossfn_kl_div_logits_f32(p, t, s, null(), p.add(63), t.add(4)) };
    assert_eq!(kl, LOSSFN_ERROR_OVERLAP);
    assert!(last_error().contains("teacher_logits"), "{}", last_error());
    assert_eq!(buf.map(f32::to_bits), before.map(f32::to_bits), "an output was written");
}

#[test]
fn null_options_mean_defaults_and_success_clears_the_error() {
    let mut rng = Rng(41);
    for call in random_calls(&mut rng, shape(2, 3, 4, LOSSFN_LAYOUT_NCS)) {
        if call.reduction() != LOSSFN_REDUCTION_MEAN {
            continue;
        }
        let mut d = call.clone();
        d.ce = lossfn_cross_entropy_options_default();
        d.bce = lossfn_bce_options_default();
        d.ent = lossfn_entropy_options_default();
        d.kl = lossfn_kl_div_options_default();
        d.kd = lossfn_distillation_options_default();
        d.focal = lossfn_focal_options_default();
        d.qf = lossfn_quality_focal_options_default();
        d.w = None;
        d.pw = None;
        let (st, want, _) = d.run::<f32>(false);
        assert_eq!(st, LOSSFN_OK);
        let x: Vec<f32> = call.x.iter().map(|&v| v as f32).collect();
        let t: Vec<f32> = call.t.clone().unwrap_or_default().iter().map(|&v| v as f32).collect();
        let y = call.y.clone().unwrap_or_default();
        let mut l = [0f32];
        let s = call.shape;
        let (x, t, y, lp) = (x.as_ptr(), t.as_ptr(), y.as_ptr(), l.as_mut_ptr());
        let st = unsafe {
            match call.f {
                "cross_entropy" => lossfn_cross_entropy_f32(x, y, null(), s, null(), lp, null_mut()),
                "cross_entropy_soft" => lossfn_cross_entropy_soft_f32(x, t, null(), s, null(), lp, null_mut()),
                "bce_with_logits" => lossfn_bce_with_logits_f32(x, t, null(), null(), s, null(), lp, null_mut()),
                "entropy" => lossfn_entropy_f32(x, s, null(), lp, null_mut()),
                "kl_div" => lossfn_kl_div_f32(x, t, s, null(), lp, null_mut()),
                "kl_div_logits" => lossfn_kl_div_logits_f32(x, t, s, null(), lp, null_mut()),
                "sigmoid_focal_loss" => lossfn_sigmoid_focal_loss_f32(x, t, null(), s, null(), lp, null_mut()),
                "varifocal_loss" => lossfn_varifocal_loss_f32(x, t, null(), s, null(), lp, null_mut()),
                "quality_focal_loss" => lossfn_quality_focal_loss_f32(x, t, null(), s, null(), lp, null_mut()),
                "softmax_focal_loss" => lossfn_softmax_focal_loss_f32(x, y, null(), s, null(), lp, null_mut()),
                f => unreachable!("{f}"),
            }
        };
        assert_eq!(st, LOSSFN_OK);
        assert_eq!(last_error(), "");
        assert_eq!((l[0] as f64).to_bits(), want[0].to_bits(), "{}: NULL options differ from defaults", call.f);
    }
    let o = lossfn_focal_options_default();
    assert_eq!((o.reduction, o.alpha, o.gamma, o.ignore_index), (LOSSFN_REDUCTION_MEAN, 0.25, 2.0, -100));
    let o = lossfn_distillation_options_default();
    assert_eq!((o.reduction, o.temperature), (LOSSFN_REDUCTION_BATCHMEAN, 1.0));
    let o = lossfn_cross_entropy_options_default();
    assert_eq!((o.reduction, o.ignore_index, o.label_smoothing), (LOSSFN_REDUCTION_MEAN, -100, 0.0));
    let o = lossfn_kl_div_options_default();
    assert_eq!((o.reduction, o.log_target), (LOSSFN_REDUCTION_MEAN, false));
    let o = lossfn_entropy_options_default();
    assert_eq!((o.reduction, o.input), (LOSSFN_REDUCTION_MEAN, LOSSFN_INPUT_LOGITS));
    assert_eq!(lossfn_bce_options_default().reduction, LOSSFN_REDUCTION_MEAN);
}

// ---------------------------------------------------------------------------------------------
// Determinism.

#[test]
fn bitwise_identical_across_thread_counts_and_simd_paths() {
    let mut rng = Rng(43);
    // Several parallel blocks each (8192+ elements go parallel; blocks hold ~16K elements);
    // odd sizes for partial tiles, rows and blocks.
    for s in [shape(3, 21, 1001, LOSSFN_LAYOUT_NCS), shape(1601, 37, 1, LOSSFN_LAYOUT_NSC), shape(5, 3, 4001, LOSSFN_LAYOUT_NSC)] {
        // Per function and reduction, the variant with the most options set (the last one).
        let mut picked = std::collections::BTreeMap::new();
        for call in random_calls(&mut rng, s) {
            if call.reduction() != LOSSFN_REDUCTION_SUM {
                picked.insert((call.f, call.reduction()), call);
            }
        }
        for call in picked.values() {
            let run = |threads: usize, simd: u8| {
                assert_eq!(lossfn_set_num_threads(threads), LOSSFN_OK);
                lossfn::testing::set_simd_max(simd);
                let (st, l, g) = call.run::<f32>(true);
                let (st64, l64, g64) = call.run::<f64>(true);
                assert_eq!((st, st64), (LOSSFN_OK, LOSSFN_OK));
                (bits(&l), bits(&g), bits(&l64), bits(&g64))
            };
            let one = run(1, 2);
            // SIMD levels: 2 = AVX-512 where the CPU and compiler have it, 1 = AVX2, 0 = baseline.
            for (threads, simd) in [(2, 2), (3, 2), (0, 2), (1, 1), (2, 1), (1, 0), (2, 0)] {
                assert!(run(threads, simd) == one, "{} {:?}: {threads} threads (simd level {simd}) differ from 1", call.f, s);
            }
        }
    }
    lossfn::testing::set_simd_enabled(true);
    lossfn_set_num_threads(0);
}
