//! The Lovász losses' own math beyond the fixtures: a second implementation (smp's Alg. 1 with a
//! comparison sort) on inputs large enough for the radix sort's every pass, finite differences
//! away from ties, the value's independence of the order of the positions (ties included), and
//! bad input refused with the argument named and nothing written.
mod common;
use common::*;
use lossfn::capi::*;

fn shape(batch: usize, classes: usize, spatial: usize, layout: u32) -> lossfn_shape {
    lossfn_shape { batch, classes, spatial, layout }
}

fn softmax_call(x: &[f64], t: &[i64], sh: lossfn_shape, o: &lossfn_lovasz_options) -> (Vec<f64>, Vec<f64>) {
    let n = if o.reduction == LOSSFN_REDUCTION_NONE && o.per_image { sh.batch } else { 1 };
    let (mut l, mut g) = (vec![0.0; n], vec![0.0; x.len()]);
    let st = unsafe { lossfn_lovasz_softmax_loss_f64(x.as_ptr(), t.as_ptr(), sh, o, l.as_mut_ptr(), g.as_mut_ptr()) };
    assert_eq!(st, LOSSFN_OK, "{}", last_error());
    (l, g)
}

fn hinge_call(x: &[f64], t: &[f64], sh: lossfn_shape, o: &lossfn_lovasz_options) -> (Vec<f64>, Vec<f64>) {
    let (mut l, mut g) = (vec![0.0; 1], vec![0.0; x.len()]);
    let st = unsafe { lossfn_lovasz_hinge_loss_f64(x.as_ptr(), t.as_ptr(), sh, o, l.as_mut_ptr(), g.as_mut_ptr()) };
    assert_eq!(st, LOSSFN_OK, "{}", last_error());
    (l, g)
}

/// smp's `_lovasz_grad` and the dot with the sorted errors, with a comparison sort (errors
/// decreasing, ties by position): (term, ∂term/∂e per position).
fn reference_term(errors: &[f64], fg: &[bool]) -> (f64, Vec<f64>) {
    let mut order: Vec<usize> = (0..errors.len()).collect();
    order.sort_by(|&a, &b| errors[b].partial_cmp(&errors[a]).unwrap().then(a.cmp(&b)));
    let gts = fg.iter().filter(|&&f| f).count() as f64;
    let (mut cum_fg, mut cum_bg) = (0.0, 0.0);
    let mut jaccard = Vec::with_capacity(order.len());
    for &i in &order {
        if fg[i] {
            cum_fg += 1.0;
        } else {
            cum_bg += 1.0;
        }
        jaccard.push(1.0 - (gts - cum_fg) / (gts + cum_bg));
    }
    let mut grad = vec![0.0; errors.len()];
    let mut term = 0.0;
    for (k, &i) in order.iter().enumerate() {
        let g = if k == 0 { jaccard[0] } else { jaccard[k] - jaccard[k - 1] };
        term += errors[i] * g;
        grad[i] = g;
    }
    (term, grad)
}

/// Lovász-Softmax over one term per class of the whole batch (NCS), classes present: the second
/// implementation gives the same value and gradient, on 3 × 40 000 positions (every radix pass).
#[test]
fn softmax_agrees_with_a_comparison_sort_implementation() {
    let mut rng = Rng(28);
    let (nb, nc, ns) = (3, 4, 40_000);
    let sh = shape(nb, nc, ns, LOSSFN_LAYOUT_NCS);
    let x = rng.vec(nb * nc * ns, -3.0, 3.0);
    // Class 3 absent: not counted.
    let t: Vec<i64> = (0..nb * ns).map(|_| if rng.below(10) == 0 { -100 } else { rng.below(3) as i64 }).collect();
    let (l, g) = softmax_call(&x, &t, sh, &lossfn_lovasz_options_default());
    // softmax per position
    let p = |n: usize, c: usize, s: usize| {
        let z: Vec<f64> = (0..nc).map(|k| x[(n * nc + k) * ns + s]).collect();
        let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
        e[c] / e.iter().sum::<f64>()
    };
    let valid: Vec<(usize, usize)> = (0..nb).flat_map(|n| (0..ns).map(move |s| (n, s))).filter(|&(n, s)| t[n * ns + s] != -100).collect();
    let mut total = 0.0;
    let mut dp = vec![0.0; x.len()];
    for c in 0..3 {
        let fg: Vec<bool> = valid.iter().map(|&(n, s)| t[n * ns + s] == c as i64).collect();
        let pc: Vec<f64> = valid.iter().map(|&(n, s)| p(n, c, s)).collect();
        let e: Vec<f64> = pc.iter().zip(&fg).map(|(&p, &f)| ((f as u8 as f64) - p).abs()).collect();
        let (term, ge) = reference_term(&e, &fg);
        total += term;
        for (k, &(n, s)) in valid.iter().enumerate() {
            let sign = if pc[k] < fg[k] as u8 as f64 { -1.0 } else { 1.0 };
            dp[(n * nc + c) * ns + s] = ge[k] * sign / 3.0;
        }
    }
    let expected = total / 3.0;
    assert!((l[0] - expected).abs() <= 1e-12 * expected.abs(), "loss {} vs {expected}", l[0]);
    // Through the softmax.
    let mut expected_grad = vec![0.0; x.len()];
    for n in 0..nb {
        for s in 0..ns {
            let dot: f64 = (0..nc).map(|k| p(n, k, s) * dp[(n * nc + k) * ns + s]).sum();
            for k in 0..nc {
                expected_grad[(n * nc + k) * ns + s] = p(n, k, s) * (dp[(n * nc + k) * ns + s] - dot);
            }
        }
    }
    // (The reference's g are differences of J ≤ 1: absolute error ~1e-16 each.)
    assert_close("gradient", &g, &expected_grad, 1e-9, 1e-12);
}

/// The hinge over the batch, 100 000 positions with many equal logits (ties by position).
#[test]
fn hinge_agrees_with_a_comparison_sort_implementation() {
    let mut rng = Rng(29);
    let n = 100_000;
    let sh = shape(2, 1, n / 2, LOSSFN_LAYOUT_NCS);
    // Logits on a grid of 0.25: ties everywhere.
    let x: Vec<f64> = (0..n).map(|_| (rng.below(33) as f64 - 16.0) * 0.25).collect();
    let t: Vec<f64> = (0..n).map(|_| rng.below(2) as f64).collect();
    let (l, g) = hinge_call(&x, &t, sh, &lossfn_lovasz_options_default());
    let fg: Vec<bool> = t.iter().map(|&t| t == 1.0).collect();
    let e: Vec<f64> = x.iter().zip(&fg).map(|(&x, &f)| 1.0 - x * if f { 1.0 } else { -1.0 }).collect();
    let relu: Vec<f64> = e.iter().map(|&e| e.max(0.0)).collect();
    // The sort is of the raw errors (smp sorts errors, then takes relu): the same order.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| e[b].partial_cmp(&e[a]).unwrap().then(a.cmp(&b)));
    let (term, ge) = {
        let sorted_relu: Vec<f64> = order.iter().map(|&i| relu[i]).collect();
        let sorted_fg: Vec<bool> = order.iter().map(|&i| fg[i]).collect();
        // reference_term on already-sorted values keeps that order (stable, decreasing).
        let (term, gs) = reference_term(&sorted_relu, &sorted_fg);
        let mut ge = vec![0.0; n];
        for (k, &i) in order.iter().enumerate() {
            ge[i] = if e[i] > 0.0 { gs[k] } else { 0.0 };
        }
        (term, ge)
    };
    assert!((l[0] - term).abs() <= 1e-12 * term.abs(), "loss {} vs {term}", l[0]);
    let expected: Vec<f64> = ge.iter().zip(&fg).map(|(&g, &f)| -g * if f { 1.0 } else { -1.0 }).collect();
    assert_close("gradient", &g, &expected, 1e-9, 1e-11);
}

/// Finite differences (f64) away from ties: continuous random inputs, every option.
#[test]
fn gradients_match_finite_differences() {
    let mut rng = Rng(30);
    for layout in [LOSSFN_LAYOUT_NCS, LOSSFN_LAYOUT_NSC] {
        for case in 0..6 {
            let (nb, nc, ns) = (3, 4, 7);
            let sh = shape(nb, nc, ns, layout);
            let o = lossfn_lovasz_options {
                per_image: case % 2 == 1,
                classes_present: case < 3,
                reduction: [LOSSFN_REDUCTION_MEAN, LOSSFN_REDUCTION_SUM][case % 2],
                activation: if case == 4 { LOSSFN_ACTIVATION_NONE } else { LOSSFN_ACTIVATION_SOFTMAX },
                ignore_index: 3,
                loss_weight: 1.5,
                ..lossfn_lovasz_options_default()
            };
            let x = if case == 4 { rng.vec(nb * nc * ns, 0.0, 1.0) } else { rng.vec(nb * nc * ns, -3.0, 3.0) };
            let t: Vec<i64> = (0..nb * ns).map(|_| rng.below(4) as i64).collect();
            let (_, g) = softmax_call(&x, &t, sh, &o);
            let fd = finite_diff(&x, 1e-6, |x| softmax_call(x, &t, sh, &o).0[0]);
            assert_close(&format!("softmax layout {layout} case {case}"), &g, &fd, 1e-5, 1e-7);

            let hs = shape(nb, 1, 2 * ns, layout);
            let xh = rng.vec(nb * 2 * ns, -2.0, 2.0);
            let th: Vec<f64> = (0..nb * 2 * ns).map(|_| rng.below(2) as f64).collect();
            let (_, g) = hinge_call(&xh, &th, hs, &o);
            let fd = finite_diff(&xh, 1e-6, |x| hinge_call(x, &th, hs, &o).0[0]);
            assert_close(&format!("hinge case {case}"), &g, &fd, 1e-5, 1e-7);
        }
    }
}

/// The Lovász extension of the Jaccard loss is a function of the set of (error, label) pairs:
/// reordering the positions (ties included) leaves the value unchanged, and the gradient moves
/// with its position where there are no ties.
#[test]
fn value_does_not_depend_on_the_order_of_positions() {
    let mut rng = Rng(31);
    let (nc, ns) = (3, 500);
    let sh = shape(1, nc, ns, LOSSFN_LAYOUT_NSC);
    for ties in [false, true] {
        let x: Vec<f64> = (0..nc * ns).map(|_| if ties { rng.below(3) as f64 - 1.0 } else { rng.uniform(-2.0, 2.0) }).collect();
        let t: Vec<i64> = (0..ns).map(|_| rng.below(nc as u64) as i64).collect();
        let perm: Vec<usize> = {
            let mut p: Vec<usize> = (0..ns).collect();
            for i in (1..ns).rev() {
                p.swap(i, rng.below(i as u64 + 1) as usize);
            }
            p
        };
        let xp: Vec<f64> = perm.iter().flat_map(|&s| x[s * nc..(s + 1) * nc].to_vec()).collect();
        let tp: Vec<i64> = perm.iter().map(|&s| t[s]).collect();
        let o = lossfn_lovasz_options_default();
        let (l, g) = softmax_call(&x, &t, sh, &o);
        let (lp, gp) = softmax_call(&xp, &tp, sh, &o);
        assert!((l[0] - lp[0]).abs() <= 1e-14, "ties {ties}: {} vs {}", l[0], lp[0]);
        if !ties {
            let moved: Vec<f64> = perm.iter().flat_map(|&s| g[s * nc..(s + 1) * nc].to_vec()).collect();
            assert_close("permuted gradient", &gp, &moved, 1e-12, 1e-16);
        }
        let th: Vec<f64> = t.iter().map(|&v| (v == 0) as u8 as f64).collect();
        let hs = shape(1, 1, ns, LOSSFN_LAYOUT_NCS);
        let xh: Vec<f64> = (0..ns).map(|s| x[s * nc]).collect();
        let xhp: Vec<f64> = perm.iter().map(|&s| xh[s]).collect();
        let thp: Vec<f64> = perm.iter().map(|&s| th[s]).collect();
        let (lh, _) = hinge_call(&xh, &th, hs, &o);
        let (lhp, _) = hinge_call(&xhp, &thp, hs, &o);
        assert!((lh[0] - lhp[0]).abs() <= 1e-14, "hinge ties {ties}: {} vs {}", lh[0], lhp[0]);
    }
}

/// Bad input: INVALID_TARGET with the position, INVALID_OPTION naming the field or the class
/// count; nothing written.
#[test]
fn bad_input_is_refused_naming_the_argument() {
    let sh = shape(2, 2, 4, LOSSFN_LAYOUT_NCS);
    let x = [0.5f32; 16];
    let t = [0i64, 1, 0, 1, 1, 7, 0, 0];
    let d = lossfn_lovasz_options_default();
    assert_rejected(LOSSFN_ERROR_INVALID_TARGET, "`target`[5] = 7 (sample 1, position 1)", |l, g| unsafe {
        lossfn_lovasz_softmax_loss_f32(x.as_ptr(), t.as_ptr(), sh, &d, l.as_mut_ptr(), g.as_mut_ptr())
    });
    let ok = [0i64, 1, 0, 1, 1, 0, 0, 0];
    let sig = lossfn_lovasz_options { activation: LOSSFN_ACTIVATION_SIGMOID, ..d };
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "options.activation", |l, g| unsafe {
        lossfn_lovasz_softmax_loss_f32(x.as_ptr(), ok.as_ptr(), sh, &sig, l.as_mut_ptr(), g.as_mut_ptr())
    });
    let one = shape(2, 1, 8, LOSSFN_LAYOUT_NCS);
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "options.activation", |l, g| unsafe {
        lossfn_lovasz_softmax_loss_f32(x.as_ptr(), ok.as_ptr(), one, &d, l.as_mut_ptr(), g.as_mut_ptr())
    });
    // The hinge: one class, targets 0 or 1.
    let xt = [0.0f32, 1.0, 1.0, 0.0, 0.5, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0];
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "`shape.classes` = 2", |l, g| unsafe {
        lossfn_lovasz_hinge_loss_f32(x.as_ptr(), xt.as_ptr(), sh, &d, l.as_mut_ptr(), g.as_mut_ptr())
    });
    let hs = shape(2, 1, 8, LOSSFN_LAYOUT_NCS);
    assert_rejected(LOSSFN_ERROR_INVALID_TARGET, "`target`[4] = 0.5 (sample 0, position 4) is not 0 or 1", |l, g| unsafe {
        lossfn_lovasz_hinge_loss_f32(x.as_ptr(), xt.as_ptr(), hs, &d, l.as_mut_ptr(), g.as_mut_ptr())
    });
    // ... unless it is ignore_index (compared as a float).
    let mut loss = [0f32];
    let mut xt2 = xt;
    xt2[4] = 7.0;
    let ign = lossfn_lovasz_options { ignore_index: 7, ..d };
    let st = unsafe { lossfn_lovasz_hinge_loss_f32(x.as_ptr(), xt2.as_ptr(), hs, &ign, loss.as_mut_ptr(), std::ptr::null_mut()) };
    assert_eq!(st, LOSSFN_OK, "{}", last_error());
    // Booleans other than 0/1, NULL arguments.
    let mut bytes = d;
    unsafe { *(std::ptr::addr_of_mut!(bytes.per_image) as *mut u8) = 3 };
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "options.per_image", |l, g| unsafe {
        lossfn_lovasz_softmax_loss_f32(x.as_ptr(), ok.as_ptr(), sh, &bytes, l.as_mut_ptr(), g.as_mut_ptr())
    });
    assert_rejected(LOSSFN_ERROR_NULL_POINTER, "`logits`", |l, g| unsafe {
        lossfn_lovasz_hinge_loss_f32(std::ptr::null(), xt.as_ptr(), hs, &d, l.as_mut_ptr(), g.as_mut_ptr())
    });
}
