//! Box family through the C ABI (its fixtures and the IoU matrix's: tests/fixture_replay.rs):
//! finite-difference checks of every loss × format × reduction in f64.
mod boxes_support;
mod common;
use boxes_support::*;
use common::*;
use lossfn::capi::*;

/// The matrix agrees with the losses: kind(p, t) = 1 − loss(p, t) for IoU, GIoU, DIoU, CIoU.
#[test]
fn matrix_is_one_minus_the_losses() {
    let mut rng = Rng(5);
    let (ps, ts) = random_pairs(&mut rng, 40, 1e-3);
    for format in FORMATS {
        let (p, t) = (flat(format, &ps), flat(format, &ts));
        let mut out = vec![0f64; 40 * 40];
        for (kind, name) in ["iou_loss", "giou_loss", "diou_loss", "ciou_loss"].iter().enumerate() {
            let st = unsafe { lossfn_box_iou_matrix_f64(p.as_ptr(), 40, t.as_ptr(), 40, format, kind as u32, 1e-7, out.as_mut_ptr()) };
            assert_eq!(st, LOSSFN_OK);
            let (l, _) = run64(name, &p, &t, None, &opts(format, LOSSFN_REDUCTION_NONE));
            let diag: Vec<f64> = (0..40).map(|i| 1.0 - out[i * 40 + i]).collect();
            assert_close(&format!("{name} format {format}"), &diag, &l, 1e-12, 1e-14);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Finite differences.

/// A loss with its options: the configurations every gradient check runs through.
struct Config {
    name: &'static str,
    label: String,
    tweak: fn(&mut lossfn_box_options, f64),
    param: f64,
}

fn configs() -> Vec<Config> {
    let mut v = Vec::new();
    for mode in [LOSSFN_IOU_LINEAR, LOSSFN_IOU_SQUARE, LOSSFN_IOU_LOG] {
        v.push(Config { name: "iou_loss", label: format!("iou mode {mode}"), tweak: |o, p| o.iou_mode = p as u32, param: mode as f64 });
    }
    for name in ["giou_loss", "diou_loss", "ciou_loss", "siou_loss"] {
        v.push(Config { name, label: name.into(), tweak: |_, _| {}, param: 0.0 });
    }
    for gamma in [0.0, 0.5, 1.3] {
        v.push(Config { name: "eiou_loss", label: format!("eiou gamma {gamma}"), tweak: |o, p| o.gamma = p, param: gamma });
    }
    for lambda in [1.0, 0.25] {
        v.push(Config { name: "cdiou_loss", label: format!("cdiou lambda {lambda}"), tweak: |o, p| o.lambda = p, param: lambda });
    }
    v
}

/// The loss as a function of `pred` with the pieces the gradient treats as constants frozen
/// at `base` (CIoU's alpha, Focal-EIoU's iou^gamma): its finite differences are what the
/// analytic gradient must equal. Returns the `loss` output (n values for NONE, else 1).
/// A loss as a function of the flattened boxes.
type LossOf<'a> = Box<dyn Fn(&[f64]) -> Vec<f64> + 'a>;

fn frozen<'a>(cfg: &'a Config, o: lossfn_box_options, base: &[f64], target: &'a [f64], weight: Option<&'a [f64]>) -> LossOf<'a> {
    let n = base.len() / 4;
    let corners = move |x: &[f64], i: usize| to_xyxy(o.format, &x[4 * i..4 * i + 4]);
    let w = move |i: usize| weight.map_or(1.0, |w| w[i]);
    match cfg.name {
        "ciou_loss" => {
            let alpha: Vec<f64> = (0..n)
                .map(|i| {
                    let (p, t) = (corners(base, i), corners(target, i));
                    let (iou, v) = (ref_iou(p, t, o.eps), ref_v(p, t));
                    v / (1.0 - iou + v + o.eps)
                })
                .collect();
            let wsum: f64 = (0..n).map(w).sum();
            Box::new(move |x: &[f64]| {
                let (mut l, _) = run64("diou_loss", x, target, weight, &o);
                let av: Vec<f64> = (0..n).map(|i| w(i) * alpha[i] * ref_v(corners(x, i), corners(target, i))).collect();
                match o.reduction {
                    LOSSFN_REDUCTION_NONE => l.iter_mut().zip(&av).for_each(|(l, a)| *l += a),
                    LOSSFN_REDUCTION_SUM => l[0] += av.iter().sum::<f64>(),
                    _ => l[0] += av.iter().sum::<f64>() / wsum,
                }
                l
            })
        }
        "eiou_loss" if o.gamma > 0.0 => {
            // Focal-EIoU = EIoU with term weights iou^gamma · w (constants).
            let cw: Vec<f64> = (0..n).map(|i| ref_iou(corners(base, i), corners(target, i), o.eps).powf(o.gamma) * w(i)).collect();
            let plain = lossfn_box_options { gamma: 0.0, ..o };
            Box::new(move |x: &[f64]| run64("eiou_loss", x, target, Some(&cw), &plain).0)
        }
        name => Box::new(move |x: &[f64]| run64(name, x, target, weight, &o).0),
    }
}

const H: f64 = 1e-6;

/// Unreduced losses on hundreds of boxes: each box's loss depends on its own box only, so
/// moving coordinate k of every box at once gives every box's ∂l/∂coordinate k in 2 calls.
#[test]
fn gradients_match_finite_differences_per_box() {
    let mut rng = Rng(17);
    let n = 300;
    for cfg in configs() {
        for format in FORMATS {
            let (ps, ts) = random_pairs(&mut rng, n, 1e-3);
            let (x, t) = (flat(format, &ps), flat(format, &ts));
            let w = rng.vec(n, 0.1, 2.0);
            let mut o = opts(format, LOSSFN_REDUCTION_NONE);
            (cfg.tweak)(&mut o, cfg.param);
            let (_, g) = run64(cfg.name, &x, &t, Some(&w), &o);
            let f = frozen(&cfg, o, &x, &t, Some(&w));
            let mut fd = vec![0.0; 4 * n];
            for k in 0..4 {
                let shifted = |d: f64| {
                    let mut y = x.clone();
                    y.iter_mut().skip(k).step_by(4).for_each(|v| *v += d);
                    f(&y)
                };
                let (up, down) = (shifted(H), shifted(-H));
                for i in 0..n {
                    fd[4 * i + k] = (up[i] - down[i]) / (2.0 * H);
                }
            }
            for i in 0..n {
                let what = format!("{} format {format} box {i} pred {:?} target {:?}", cfg.label, ps[i], ts[i]);
                assert_close(&what, &g[4 * i..4 * i + 4], &fd[4 * i..4 * i + 4], 1e-5, 1e-6);
            }
        }
    }
}

/// Reduced losses (MEAN, SUM; with and without weights): every coordinate on a few dozen
/// boxes, and random directional derivatives on hundreds.
#[test]
fn gradients_match_finite_differences_reduced() {
    let mut rng = Rng(23);
    for cfg in configs() {
        for format in FORMATS {
            for reduction in [LOSSFN_REDUCTION_MEAN, LOSSFN_REDUCTION_SUM] {
                for weighted in [false, true] {
                    let mut o = opts(format, reduction);
                    (cfg.tweak)(&mut o, cfg.param);
                    let what = format!("{} format {format} reduction {reduction} weighted {weighted}", cfg.label);
                    // Every coordinate.
                    let n = 12;
                    let (ps, ts) = random_pairs(&mut rng, n, 1e-3);
                    let (x, t) = (flat(format, &ps), flat(format, &ts));
                    let w = weighted.then(|| rng.vec(n, 0.1, 2.0));
                    let (_, g) = run64(cfg.name, &x, &t, w.as_deref(), &o);
                    let f = frozen(&cfg, o, &x, &t, w.as_deref());
                    let fd = finite_diff(&x, H, |y| f(y)[0]);
                    assert_close(&what, &g, &fd, 1e-5, 1e-6);
                    // Directional derivatives.
                    let n = 200;
                    let (ps, ts) = random_pairs(&mut rng, n, 1e-3);
                    let (x, t) = (flat(format, &ps), flat(format, &ts));
                    let w = weighted.then(|| rng.vec(n, 0.1, 2.0));
                    let (_, g) = run64(cfg.name, &x, &t, w.as_deref(), &o);
                    let f = frozen(&cfg, o, &x, &t, w.as_deref());
                    for _ in 0..3 {
                        let u = rng.vec(4 * n, -1.0, 1.0);
                        let at = |s: f64| f(&x.iter().zip(&u).map(|(a, b)| a + s * b).collect::<Vec<_>>())[0];
                        let fd = (at(H) - at(-H)) / (2.0 * H);
                        let dot: f64 = g.iter().zip(&u).map(|(a, b)| a * b).sum();
                        let scale: f64 = g.iter().zip(&u).map(|(a, b)| (a * b).abs()).sum();
                        assert!((dot - fd).abs() <= 1e-6 * scale + 1e-9, "{what}: directional {dot} vs finite difference {fd}");
                    }
                }
            }
        }
    }
}

/// The per-box values of NONE, the SUM and the (weighted, Focal) MEAN agree.
#[test]
fn reductions_agree() {
    let mut rng = Rng(29);
    let n = 50;
    let (ps, ts) = random_pairs(&mut rng, n, 1e-3);
    for cfg in configs() {
        for format in FORMATS {
            let (x, t) = (flat(format, &ps), flat(format, &ts));
            let w = rng.vec(n, 0.0, 2.0);
            let mut o = opts(format, LOSSFN_REDUCTION_NONE);
            (cfg.tweak)(&mut o, cfg.param);
            let (none, g_none) = run64(cfg.name, &x, &t, Some(&w), &o);
            let (sum, g_sum) = run64(cfg.name, &x, &t, Some(&w), &lossfn_box_options { reduction: LOSSFN_REDUCTION_SUM, ..o });
            let (mean, g_mean) = run64(cfg.name, &x, &t, Some(&w), &lossfn_box_options { reduction: LOSSFN_REDUCTION_MEAN, ..o });
            let focal = |i: usize| if cfg.name == "eiou_loss" { ref_iou(ps[i], ts[i], o.eps).powf(o.gamma) } else { 1.0 };
            let den: f64 = (0..n).map(|i| focal(i) * w[i]).sum();
            let total: f64 = none.iter().sum();
            assert_close(&format!("{} sum", cfg.label), &sum, &[total], 1e-12, 1e-14);
            assert_close(&format!("{} mean", cfg.label), &mean, &[total / den], 1e-12, 1e-14);
            assert_close(&format!("{} grad sum", cfg.label), &g_sum, &g_none, 1e-12, 1e-14);
            let scaled: Vec<f64> = g_none.iter().map(|g| g / den).collect();
            assert_close(&format!("{} grad mean", cfg.label), &g_mean, &scaled, 1e-12, 1e-14);
        }
    }
}
