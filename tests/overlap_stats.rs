//! The two-phase batch score across data-parallel ranks (`lossfn_overlap_stats*`,
//! `lossfn_overlap_loss_from_stats*`): with one rank's statistics phase 2 is the one-call loss
//! with `batch = true`, bit for bit; with a batch split into parts (one of them empty) whose
//! statistics are summed, every part's loss is the whole batch's and the concatenated gradients
//! are its gradient (f64 1e-12 relative, f32 the fixtures' tolerance); bad input is refused.
mod common;
mod overlap_common;
use common::*;
use lossfn::capi::*;
use overlap_common::{at, shape, Tgt};
use std::ptr::{null, null_mut};

type StatsIndex<T> = unsafe extern "C" fn(u32, *const T, *const i64, lossfn_shape, *const lossfn_overlap_options, *mut f64, usize) -> lossfn_status;
type StatsSoft<T> = unsafe extern "C" fn(u32, *const T, *const T, lossfn_shape, *const lossfn_overlap_options, *mut f64, usize) -> lossfn_status;
type FromIndex<T> = unsafe extern "C" fn(u32, *const T, *const i64, *const T, lossfn_shape, *const lossfn_overlap_options, *const f64, usize, *mut T, *mut T) -> lossfn_status;
type FromSoft<T> = unsafe extern "C" fn(u32, *const T, *const T, *const T, lossfn_shape, *const lossfn_overlap_options, *const f64, usize, *mut T, *mut T) -> lossfn_status;
type OneIndex<T> = unsafe extern "C" fn(*const T, *const i64, *const T, lossfn_shape, *const lossfn_overlap_options, *mut T, *mut T) -> lossfn_status;
type OneSoft<T> = unsafe extern "C" fn(*const T, *const T, *const T, lossfn_shape, *const lossfn_overlap_options, *mut T, *mut T) -> lossfn_status;
type GdIndex<T> = unsafe extern "C" fn(*const T, *const i64, lossfn_shape, *const lossfn_overlap_options, *mut T, *mut T) -> lossfn_status;
type GdSoft<T> = unsafe extern "C" fn(*const T, *const T, lossfn_shape, *const lossfn_overlap_options, *mut T, *mut T) -> lossfn_status;

trait E: Copy + Default + PartialEq + std::fmt::Debug + 'static {
    const F32: bool;
    fn of(v: f64) -> Self;
    fn back(self) -> f64;
    const STATS: (StatsIndex<Self>, StatsSoft<Self>);
    const FROM: (FromIndex<Self>, FromSoft<Self>);
    const ONE: [(OneIndex<Self>, OneSoft<Self>); 2];
    const GD: (GdIndex<Self>, GdSoft<Self>);
    const JACCARD: (OneIndex<Self>, OneSoft<Self>);
}

impl E for f32 {
    const F32: bool = true;
    fn of(v: f64) -> Self {
        v as f32
    }
    fn back(self) -> f64 {
        self as f64
    }
    const STATS: (StatsIndex<f32>, StatsSoft<f32>) = (lossfn_overlap_stats_f32, lossfn_overlap_stats_soft_f32);
    const FROM: (FromIndex<f32>, FromSoft<f32>) = (lossfn_overlap_loss_from_stats_f32, lossfn_overlap_loss_from_stats_soft_f32);
    const ONE: [(OneIndex<f32>, OneSoft<f32>); 2] =
        [(lossfn_dice_loss_f32, lossfn_dice_loss_soft_f32), (lossfn_tversky_loss_f32, lossfn_tversky_loss_soft_f32)];
    const GD: (GdIndex<f32>, GdSoft<f32>) = (lossfn_generalized_dice_loss_f32, lossfn_generalized_dice_loss_soft_f32);
    const JACCARD: (OneIndex<f32>, OneSoft<f32>) = (lossfn_jaccard_loss_f32, lossfn_jaccard_loss_soft_f32);
}

impl E for f64 {
    const F32: bool = false;
    fn of(v: f64) -> Self {
        v
    }
    fn back(self) -> f64 {
        self
    }
    const STATS: (StatsIndex<f64>, StatsSoft<f64>) = (lossfn_overlap_stats_f64, lossfn_overlap_stats_soft_f64);
    const FROM: (FromIndex<f64>, FromSoft<f64>) = (lossfn_overlap_loss_from_stats_f64, lossfn_overlap_loss_from_stats_soft_f64);
    const ONE: [(OneIndex<f64>, OneSoft<f64>); 2] =
        [(lossfn_dice_loss_f64, lossfn_dice_loss_soft_f64), (lossfn_tversky_loss_f64, lossfn_tversky_loss_soft_f64)];
    const GD: (GdIndex<f64>, GdSoft<f64>) = (lossfn_generalized_dice_loss_f64, lossfn_generalized_dice_loss_soft_f64);
    const JACCARD: (OneIndex<f64>, OneSoft<f64>) = (lossfn_jaccard_loss_f64, lossfn_jaccard_loss_soft_f64);
}

/// A batch in T: input, targets (index or soft), class weights.
struct Batch<T> {
    x: Vec<T>,
    t: Tgt,
    ts: Vec<T>,
    w: Option<Vec<T>>,
    sh: lossfn_shape,
}

impl<T: E> Batch<T> {
    fn new(x: &[f64], t: &Tgt, w: Option<&[f64]>, sh: lossfn_shape) -> Self {
        let ts = match t {
            Tgt::Soft(v) => v.iter().map(|&v| T::of(v)).collect(),
            Tgt::Index(_) => Vec::new(),
        };
        Batch { x: x.iter().map(|&v| T::of(v)).collect(), t: t.clone(), ts, w: w.map(|w| w.iter().map(|&v| T::of(v)).collect()), sh }
    }

    /// Samples lo..hi as a batch of their own.
    fn part(&self, lo: usize, hi: usize) -> Batch<T> {
        let (c, s) = (self.sh.classes, self.sh.spatial);
        let t = match &self.t {
            Tgt::Index(v) => Tgt::Index(v[lo * s..hi * s].to_vec()),
            Tgt::Soft(v) => Tgt::Soft(v[lo * c * s..hi * c * s].to_vec()),
        };
        let ts = if self.ts.is_empty() { Vec::new() } else { self.ts[lo * c * s..hi * c * s].to_vec() };
        Batch { x: self.x[lo * c * s..hi * c * s].to_vec(), t, ts, w: self.w.clone(), sh: lossfn_shape { batch: hi - lo, ..self.sh } }
    }

    fn wp(&self) -> *const T {
        self.w.as_ref().map_or(null(), |w| w.as_ptr())
    }

    /// Phase 1: (status, stats).
    fn phase_one(&self, kind: u32, o: &lossfn_overlap_options, len: usize) -> (u32, Vec<f64>) {
        let mut stats = vec![-7.5; len];
        let st = match &self.t {
            Tgt::Index(t) => unsafe { T::STATS.0(kind, self.x.as_ptr(), t.as_ptr(), self.sh, o, stats.as_mut_ptr(), len) },
            Tgt::Soft(_) => unsafe { T::STATS.1(kind, self.x.as_ptr(), self.ts.as_ptr(), self.sh, o, stats.as_mut_ptr(), len) },
        };
        (st, stats)
    }

    /// Phase 2: (status, loss, grad).
    fn phase_two(&self, kind: u32, o: &lossfn_overlap_options, stats: &[f64], loss_len: usize, grad_init: T) -> (u32, Vec<T>, Vec<T>) {
        let mut loss = vec![T::of(-7.5); loss_len];
        let mut grad = vec![grad_init; self.x.len()];
        let st = match &self.t {
            Tgt::Index(t) => unsafe {
                T::FROM.0(kind, self.x.as_ptr(), t.as_ptr(), self.wp(), self.sh, o, stats.as_ptr(), stats.len(), loss.as_mut_ptr(), grad.as_mut_ptr())
            },
            Tgt::Soft(_) => unsafe {
                T::FROM.1(kind, self.x.as_ptr(), self.ts.as_ptr(), self.wp(), self.sh, o, stats.as_ptr(), stats.len(), loss.as_mut_ptr(), grad.as_mut_ptr())
            },
        };
        (st, loss, grad)
    }

    /// The one-call loss: (status, loss, grad).
    fn one_call(&self, kind: u32, o: &lossfn_overlap_options, loss_len: usize, grad_init: T) -> (u32, Vec<T>, Vec<T>) {
        let mut loss = vec![T::of(-7.5); loss_len];
        let mut grad = vec![grad_init; self.x.len()];
        let (x, lp, gp) = (self.x.as_ptr(), loss.as_mut_ptr(), grad.as_mut_ptr());
        let st = unsafe {
            match (&self.t, kind) {
                (Tgt::Index(t), LOSSFN_OVERLAP_GENERALIZED_DICE) => T::GD.0(x, t.as_ptr(), self.sh, o, lp, gp),
                (Tgt::Soft(_), LOSSFN_OVERLAP_GENERALIZED_DICE) => T::GD.1(x, self.ts.as_ptr(), self.sh, o, lp, gp),
                (Tgt::Index(t), LOSSFN_OVERLAP_JACCARD) => T::JACCARD.0(x, t.as_ptr(), self.wp(), self.sh, o, lp, gp),
                (Tgt::Soft(_), LOSSFN_OVERLAP_JACCARD) => T::JACCARD.1(x, self.ts.as_ptr(), self.wp(), self.sh, o, lp, gp),
                (Tgt::Index(t), k) => T::ONE[k as usize].0(x, t.as_ptr(), self.wp(), self.sh, o, lp, gp),
                (Tgt::Soft(_), k) => T::ONE[k as usize].1(x, self.ts.as_ptr(), self.wp(), self.sh, o, lp, gp),
            }
        };
        (st, loss, grad)
    }
}

fn kept(sh: &lossfn_shape, o: &lossfn_overlap_options) -> usize {
    if o.include_background {
        sh.classes
    } else {
        sh.classes - 1
    }
}

fn loss_len(kind: u32, sh: &lossfn_shape, o: &lossfn_overlap_options) -> usize {
    match (o.reduction, kind) {
        (LOSSFN_REDUCTION_NONE, LOSSFN_OVERLAP_GENERALIZED_DICE) => 1,
        (LOSSFN_REDUCTION_NONE, _) => kept(sh, o),
        _ => 1,
    }
}

/// A random problem of every option combination the two phases read.
struct Case {
    kind: u32,
    x: Vec<f64>,
    t: Tgt,
    w: Option<Vec<f64>>,
    sh: lossfn_shape,
    o: lossfn_overlap_options,
}

fn cases(rng: &mut Rng) -> Vec<Case> {
    let mut out = Vec::new();
    for kind in [LOSSFN_OVERLAP_DICE, LOSSFN_OVERLAP_TVERSKY, LOSSFN_OVERLAP_GENERALIZED_DICE, LOSSFN_OVERLAP_JACCARD] {
        for activation in [LOSSFN_ACTIVATION_NONE, LOSSFN_ACTIVATION_SIGMOID, LOSSFN_ACTIVATION_SOFTMAX] {
            for soft in [false, true] {
                for layout in [LOSSFN_LAYOUT_NCS, LOSSFN_LAYOUT_NSC] {
                    for include_background in [true, false] {
                        // The last case of each kind is large enough for work items that split a
                        // sample (pass 1 partials combined across items and samples).
                        let large = activation == LOSSFN_ACTIVATION_SOFTMAX && soft && layout == LOSSFN_LAYOUT_NSC && !include_background;
                        let (nb, nc, ns) = if large { (5, 4, 40_000) } else { (7, 4, 3 + rng.below(40) as usize) };
                        let sh = shape(nb, nc, ns, layout);
                        let elements = nb * nc * ns;
                        let x = if activation == LOSSFN_ACTIVATION_NONE { rng.vec(elements, 0.0, 1.0) } else { rng.vec(elements, -4.0, 4.0) };
                        let t = if soft {
                            Tgt::Soft(rng.vec(elements, 0.0, 1.0))
                        } else {
                            // Class 2 absent from the batch on some cases (a zero G), 1 in 6 ignored.
                            let absent = rng.below(3) == 0;
                            Tgt::Index(
                                (0..nb * ns)
                                    .map(|_| match rng.below(6) {
                                        0 => -1,
                                        _ => {
                                            let c = rng.below(nc as u64) as i64;
                                            if absent && c == 2 {
                                                3
                                            } else {
                                                c
                                            }
                                        }
                                    })
                                    .collect(),
                            )
                        };
                        let w = (kind != LOSSFN_OVERLAP_GENERALIZED_DICE && rng.below(2) == 0).then(|| rng.vec(nc, 0.2, 2.0));
                        let o = lossfn_overlap_options {
                            reduction: [LOSSFN_REDUCTION_NONE, LOSSFN_REDUCTION_MEAN, LOSSFN_REDUCTION_SUM][rng.below(3) as usize],
                            activation,
                            smooth_nr: [0.0, 1e-5, 1.0][rng.below(3) as usize],
                            smooth_dr: [1e-5, 1.0][rng.below(2) as usize],
                            include_background,
                            batch: true,
                            squared_pred: matches!(kind, LOSSFN_OVERLAP_DICE | LOSSFN_OVERLAP_JACCARD) && rng.below(2) == 0,
                            alpha: rng.uniform(0.1, 1.0),
                            beta: rng.uniform(0.1, 1.0),
                            gamma: [1.0, 0.75, 2.0][rng.below(3) as usize],
                            ignore_index: if soft { -100 } else { -1 },
                            w_type: [LOSSFN_GDICE_SQUARE, LOSSFN_GDICE_SIMPLE, LOSSFN_GDICE_UNIFORM][rng.below(3) as usize],
                            soft_label: soft && rng.below(2) == 0,
                            loss_weight: [1.0, 0.5][rng.below(2) as usize],
                            ..lossfn_overlap_options_default()
                        };
                        let o = lossfn_overlap_options { squared_pred: o.squared_pred && !o.soft_label, ..o };
                        out.push(Case { kind, x, t, w, sh, o });
                        if large {
                            // And its index-target twin, NCS.
                            let t = Tgt::Index((0..nb * ns).map(|_| rng.below(nc as u64) as i64).collect());
                            let sh = shape(nb, nc, ns, LOSSFN_LAYOUT_NCS);
                            let o = lossfn_overlap_options { soft_label: false, ignore_index: -1, ..o };
                            out.push(Case { kind, x: out.last().unwrap().x.clone(), t, w: None, sh, o });
                        }
                    }
                }
            }
        }
    }
    out
}

fn one_rank_is_the_one_call<T: E>() {
    let mut rng = Rng(2911);
    let mut checked = 0;
    for case in cases(&mut rng) {
        let b = Batch::<T>::new(&case.x, &case.t, case.w.as_deref(), case.sh);
        let len = 3 * kept(&case.sh, &case.o);
        let ll = loss_len(case.kind, &case.sh, &case.o);
        let (st, stats) = b.phase_one(case.kind, &case.o, len);
        assert_eq!(st, LOSSFN_OK, "{}", last_error());
        let (st, loss, grad) = b.phase_two(case.kind, &case.o, &stats, ll, T::of(0.0));
        assert_eq!(st, LOSSFN_OK, "{}", last_error());
        let (st, ref_loss, ref_grad) = b.one_call(case.kind, &case.o, ll, T::of(0.0));
        assert_eq!(st, LOSSFN_OK, "{}", last_error());
        let bits = |v: &[T]| v.iter().map(|x| x.back().to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&loss), bits(&ref_loss), "loss, kind {} opts {:?}", case.kind, case.o);
        assert_eq!(bits(&grad), bits(&ref_grad), "grad, kind {} opts {:?}", case.kind, case.o);
        // The statistics are the sums of the formulas (spot check: G of index targets is a count).
        if let Tgt::Index(t) = &case.t {
            let first = if case.o.include_background { 0 } else { 1 };
            for k in first..case.sh.classes {
                let count = t.iter().filter(|&&v| v == k as i64).count() as f64;
                assert_eq!(stats[3 * (k - first) + 2], count, "G of class {k}");
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 100);
}

#[test]
fn one_rank_is_the_one_call_bit_for_bit_f32() {
    one_rank_is_the_one_call::<f32>();
}

#[test]
fn one_rank_is_the_one_call_bit_for_bit_f64() {
    one_rank_is_the_one_call::<f64>();
}

/// Parts of `n` samples for `ranks` ranks: rank 0 none (with several ranks), the others 1 : 2 : 3.
fn split(n: usize, ranks: usize) -> Vec<(usize, usize)> {
    if ranks == 1 {
        return vec![(0, n)];
    }
    let total = (ranks - 1) * ranks / 2;
    let mut acc = 0;
    let mut out = vec![(0, 0)];
    for r in 1..ranks {
        out.push((n * acc / total, n * (acc + r) / total));
        acc += r;
    }
    out
}

fn split_batch_is_the_whole_batch<T: E>() {
    let mut rng = Rng(2912);
    let (rtol, atol) = tolerances(if T::F32 { "float32" } else { "float64" });
    let (rtol, atol) = if T::F32 { (rtol, atol) } else { (1e-12, 1e-15) };
    for case in cases(&mut rng) {
        let whole = Batch::<T>::new(&case.x, &case.t, case.w.as_deref(), case.sh);
        let len = 3 * kept(&case.sh, &case.o);
        let ll = loss_len(case.kind, &case.sh, &case.o);
        let (_, ref_loss, ref_grad) = whole.one_call(case.kind, &case.o, ll, T::of(0.0));
        for ranks in [2, 3, 4] {
            let parts: Vec<Batch<T>> = split(case.sh.batch, ranks).into_iter().map(|(lo, hi)| whole.part(lo, hi)).collect();
            // Phase 1 on every rank, then the all-reduce (a sum in rank order).
            let mut global = vec![0.0; len];
            for p in &parts {
                let (st, stats) = p.phase_one(case.kind, &case.o, len);
                assert_eq!(st, LOSSFN_OK, "{}", last_error());
                for (g, s) in global.iter_mut().zip(stats) {
                    *g += s;
                }
            }
            let mut grad = Vec::new();
            for p in &parts {
                let (st, loss, g) = p.phase_two(case.kind, &case.o, &global, ll, T::of(0.0));
                assert_eq!(st, LOSSFN_OK, "{}", last_error());
                let what = format!("kind {} ranks {ranks} opts {:?}", case.kind, case.o);
                assert_close(&format!("loss, {what}"), &loss.iter().map(|v| v.back()).collect::<Vec<_>>(), &ref_loss.iter().map(|v| v.back()).collect::<Vec<_>>(), rtol, atol);
                grad.extend(g);
            }
            let what = format!("grad, kind {} ranks {ranks} opts {:?}", case.kind, case.o);
            assert_close(&what, &grad.iter().map(|v| v.back()).collect::<Vec<_>>(), &ref_grad.iter().map(|v| v.back()).collect::<Vec<_>>(), rtol, atol);
        }
    }
}

#[test]
fn split_batch_is_the_whole_batch_f32() {
    split_batch_is_the_whole_batch::<f32>();
}

#[test]
fn split_batch_is_the_whole_batch_f64() {
    split_batch_is_the_whole_batch::<f64>();
}

/// The output controls in phase 2: accumulate adds, MEAN_DENOMINATOR is Σ of the class weights
/// kept, NONE is the per-class losses.
#[test]
fn phase_two_takes_the_output_controls() {
    let mut rng = Rng(2913);
    let (nb, nc, ns) = (3, 4, 50);
    let sh = shape(nb, nc, ns, LOSSFN_LAYOUT_NCS);
    let x = rng.vec(nb * nc * ns, -3.0, 3.0);
    let t = Tgt::Index((0..nb * ns).map(|_| rng.below(nc as u64) as i64).collect());
    let w = rng.vec(nc, 0.5, 2.0);
    let b = Batch::<f64>::new(&x, &t, Some(&w), sh);
    let o = lossfn_overlap_options { batch: true, include_background: false, ..lossfn_overlap_options_default() };
    let (_, stats) = b.phase_one(LOSSFN_OVERLAP_DICE, &o, 9);
    let (_, loss, grad) = b.phase_two(LOSSFN_OVERLAP_DICE, &o, &stats, 1, 0.0);
    let acc = lossfn_overlap_options { accumulate: true, ..o };
    let (st, loss2, grad2) = b.phase_two(LOSSFN_OVERLAP_DICE, &acc, &stats, 1, 1.0);
    assert_eq!(st, LOSSFN_OK);
    assert_eq!(loss, loss2);
    for (a, g) in grad2.iter().zip(&grad) {
        assert_eq!(*a, 1.0 + g);
    }
    let den = lossfn_overlap_options { reduction: LOSSFN_REDUCTION_MEAN_DENOMINATOR, ..o };
    let mut out = [0.0f64];
    let Tgt::Index(ti) = &t else { unreachable!() };
    let st = unsafe { lossfn_overlap_loss_from_stats_f64(LOSSFN_OVERLAP_DICE, x.as_ptr(), ti.as_ptr(), w.as_ptr(), sh, &den, stats.as_ptr(), 9, out.as_mut_ptr(), null_mut()) };
    assert_eq!(st, LOSSFN_OK, "{}", last_error());
    assert_eq!(out[0], w[1] + w[2] + w[3]);
    let none = lossfn_overlap_options { reduction: LOSSFN_REDUCTION_NONE, ..o };
    let (_, per_class, _) = b.phase_two(LOSSFN_OVERLAP_DICE, &none, &stats, 3, 0.0);
    // Each per-class value from its own triple: w·(1 − (2TP + 1e-5)/(P + G + 1e-5)).
    for k in 0..3 {
        let (tp, p, g) = (stats[3 * k], stats[3 * k + 1], stats[3 * k + 2]);
        let expect = w[k + 1] * (1.0 - (2.0 * tp + 1e-5) / (p + g + 1e-5));
        assert!((per_class[k] - expect).abs() <= 1e-15, "class {k}: {} vs {expect}", per_class[k]);
    }
    assert!((loss[0] - per_class.iter().sum::<f64>() / (w[1] + w[2] + w[3])).abs() <= 1e-15);
    // The statistics, summed the plain way.
    for k in 1..nc {
        let (mut tp, mut p, mut g) = (0.0, 0.0, 0.0);
        for n in 0..nb {
            for s in 0..ns {
                let m = (0..nc).map(|c| x[at(&sh, n, c, s)]).fold(f64::NEG_INFINITY, f64::max);
                let z: f64 = (0..nc).map(|c| (x[at(&sh, n, c, s)] - m).exp()).sum();
                let pk = (x[at(&sh, n, k, s)] - m).exp() / z;
                let gk = if ti[n * ns + s] == k as i64 { 1.0 } else { 0.0 };
                tp += pk * gk;
                p += pk;
                g += gk;
            }
        }
        let got = &stats[3 * (k - 1)..3 * k];
        for (what, a, e) in [("TP", got[0], tp), ("P", got[1], p), ("G", got[2], g)] {
            assert!((a - e).abs() <= 1e-12 * e.abs().max(1.0), "{what} of class {k}: {a} vs {e}");
        }
    }
}

#[test]
fn bad_input_is_refused_and_nothing_written() {
    let sh = shape(2, 3, 2, LOSSFN_LAYOUT_NCS);
    let x = [0.5f32; 12];
    let o = lossfn_overlap_options { batch: true, ..lossfn_overlap_options_default() };
    let good = [1.0f64; 9];
    let stats1 = |kind: u32, o: lossfn_overlap_options, t: &'static [i64], len: usize| {
        move |l: &mut [f32], _: &mut [f32]| {
            // Statistics written on error would flip a loss canary.
            let mut buf = [7.5f64; 8];
            let st = unsafe { lossfn_overlap_stats_f32(kind, x.as_ptr(), t.as_ptr(), sh, &o, buf.as_mut_ptr(), len) };
            if buf.iter().any(|&v| v != 7.5) {
                l[0] = 0.0;
            }
            st
        }
    };
    static T: [i64; 4] = [0, 1, 2, 1];
    static BAD_T: [i64; 4] = [0, 1, 5, 1];
    // Phase 1 (stats_len 6: the 8-double canary buffer holds 2 triples).
    let o2 = lossfn_overlap_options { include_background: false, ..o };
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "options.batch", stats1(LOSSFN_OVERLAP_DICE, lossfn_overlap_options { batch: false, ..o2 }, &T, 6));
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "stats_len", stats1(LOSSFN_OVERLAP_DICE, o, &T, 6));
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "`kind`", stats1(9, o2, &T, 6));
    assert_rejected(LOSSFN_ERROR_INVALID_TARGET, "`target`[2] = 5", stats1(LOSSFN_OVERLAP_TVERSKY, o2, &BAD_T, 6));
    // Phase 2.
    let from = |kind: u32, o: lossfn_overlap_options, t: &'static [i64], w: bool, stats: Vec<f64>| {
        move |l: &mut [f32], g: &mut [f32]| {
            let mut grad = [7.5f32; 12];
            let st = unsafe {
                lossfn_overlap_loss_from_stats_f32(kind, x.as_ptr(), t.as_ptr(), if w { w_ptr() } else { null() }, sh, &o, stats.as_ptr(), stats.len(), l.as_mut_ptr(), grad.as_mut_ptr())
            };
            g[..12].copy_from_slice(&grad);
            st
        }
    };
    fn w_ptr() -> *const f32 {
        static W: [f32; 3] = [1.0; 3];
        W.as_ptr()
    }
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "options.batch", from(LOSSFN_OVERLAP_DICE, lossfn_overlap_options { batch: false, ..o }, &T, false, good.to_vec()));
    assert_rejected(LOSSFN_ERROR_INVALID_SIZE, "stats_len", from(LOSSFN_OVERLAP_DICE, o, &T, false, good[..6].to_vec()));
    assert_rejected(LOSSFN_ERROR_INVALID_SIZE, "include_background = false", from(LOSSFN_OVERLAP_DICE, o2, &T, false, good.to_vec()));
    let mut nan = good.to_vec();
    nan[4] = f64::NAN;
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "global_stats`[4]", from(LOSSFN_OVERLAP_TVERSKY, o, &T, false, nan));
    let mut neg = good.to_vec();
    neg[8] = -1.0;
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "global_stats`[8] = -1 (G of score 2)", from(LOSSFN_OVERLAP_DICE, o, &T, false, neg));
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "class_weight", from(LOSSFN_OVERLAP_GENERALIZED_DICE, o, &T, true, good.to_vec()));
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "`kind`", from(4, o, &T, false, good.to_vec()));
    assert_rejected(LOSSFN_ERROR_INVALID_TARGET, "`target`[2] = 5", from(LOSSFN_OVERLAP_DICE, o, &BAD_T, false, good.to_vec()));
    // NULL statistics with a non-zero length; NULL output.
    let st = unsafe { lossfn_overlap_loss_from_stats_f32(0, x.as_ptr(), T.as_ptr(), null(), sh, &o, null(), 9, [0f32].as_mut_ptr(), null_mut()) };
    assert_eq!(st, LOSSFN_ERROR_NULL_POINTER);
    assert!(last_error().contains("global_stats"));
    let st = unsafe { lossfn_overlap_stats_f32(0, x.as_ptr(), T.as_ptr(), sh, &o, null_mut(), 9) };
    assert_eq!(st, LOSSFN_ERROR_NULL_POINTER);
    assert!(last_error().contains("stats"));
    // A negative P is accepted where probabilities may be negative (activation NONE): the one-call
    // loss accepts such input too.
    let none = lossfn_overlap_options { activation: LOSSFN_ACTIVATION_NONE, ..o };
    let mut neg_p = good.to_vec();
    neg_p[1] = -0.5;
    let mut l = [0f32];
    let st = unsafe { lossfn_overlap_loss_from_stats_f32(0, x.as_ptr(), T.as_ptr(), null(), sh, &none, neg_p.as_ptr(), 9, l.as_mut_ptr(), null_mut()) };
    assert_eq!(st, LOSSFN_OK, "{}", last_error());
}
