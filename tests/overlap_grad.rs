//! Overlap family: the analytic gradient against central finite differences in f64, for every
//! option combination that changes the math (score × activation × squared_pred × batch ×
//! include_background × gamma × layout × index/soft targets × soft_label), with random reductions, class
//! weights and ignored positions.
mod common;
mod overlap_common;
use common::*;
use lossfn::capi::*;
use overlap_common::*;

#[test]
fn gradients_match_finite_differences() {
    let mut rng = Rng(21);
    let mut checked = 0;
    for kind in KINDS {
        let squared_opts: &[bool] = if kind.reads_squared_pred() { &[false, true] } else { &[false] };
        for &squared_pred in squared_opts {
            for activation in [LOSSFN_ACTIVATION_NONE, LOSSFN_ACTIVATION_SIGMOID, LOSSFN_ACTIVATION_SOFTMAX] {
                for batch in [false, true] {
                    for include_background in [true, false] {
                        for gamma in [1.0, 0.75, 2.0] {
                            for layout in [LOSSFN_LAYOUT_NCS, LOSSFN_LAYOUT_NSC] {
                                for soft in [false, true] {
                                    let (nb, nc, ns) = (2, 3, 5);
                                    let sh = shape(nb, nc, ns, layout);
                                    let elements = nb * nc * ns;
                                    let x = if activation == LOSSFN_ACTIVATION_NONE {
                                        rng.vec(elements, 0.05, 0.95)
                                    } else {
                                        rng.vec(elements, -3.0, 3.0)
                                    };
                                    let t = if soft {
                                        Tgt::Soft(rng.vec(elements, 0.0, 1.0))
                                    } else {
                                        // ~1 in 5 positions ignored.
                                        Tgt::Index(
                                            (0..nb * ns)
                                                .map(|_| if rng.below(5) == 0 { 7 } else { rng.below(nc as u64) as i64 })
                                                .collect(),
                                        )
                                    };
                                    let w = (rng.below(2) == 0).then(|| rng.vec(nc, 0.2, 2.0));
                                    let reduction = [LOSSFN_REDUCTION_NONE, LOSSFN_REDUCTION_MEAN, LOSSFN_REDUCTION_SUM][rng.below(3) as usize];
                                    let o = lossfn_overlap_options {
                                        reduction,
                                        activation,
                                        smooth_nr: [1e-5, 1.0][rng.below(2) as usize],
                                        smooth_dr: [1e-5, 1.0][rng.below(2) as usize],
                                        include_background,
                                        batch,
                                        squared_pred,
                                        alpha: rng.uniform(0.1, 1.0),
                                        beta: rng.uniform(0.1, 1.0),
                                        gamma,
                                        // Soft targets take no ignore_index (docs/api.md §1, §7).
                                        ignore_index: if soft { -100 } else { 7 },
                                        // MONAI's soft-label sums on half of the soft cases.
                                        soft_label: soft && rng.below(2) == 0,
                                        ..lossfn_overlap_options_default()
                                    };
                                    let what = format!("{kind:?} soft={soft} layout={layout} {o:?}");
                                    let (st, _, g) = call::<f64>(kind, &x, &t, w.as_deref(), sh, &o, true);
                                    assert_eq!(st, LOSSFN_OK, "{what}: {}", last_error());
                                    let fd = finite_diff(&x, 1e-6, |xs| {
                                        call::<f64>(kind, xs, &t, w.as_deref(), sh, &o, false).1.iter().sum()
                                    });
                                    assert_close(&format!("{what} fd"), &g, &fd, 1e-5, 1e-7);
                                    if let Tgt::Index(t) = &t {
                                        for (pos, _) in t.iter().enumerate().filter(|(_, &v)| v == 7) {
                                            let (n, s) = (pos / ns, pos % ns);
                                            for c in 0..nc {
                                                assert_eq!(g[at(&sh, n, c, s)], 0.0, "{what}: ignored position has gradient");
                                            }
                                        }
                                    }
                                    checked += 1;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    assert_eq!(checked, 5 * 3 * 2 * 2 * 3 * 2 * 2);
}

/// The focal power's kink: at a perfect score the gradient is 0 (not NaN/Inf) for gamma < 1,
/// and just off it the gradient is finite and matches finite differences.
#[test]
fn focal_power_near_a_perfect_score() {
    let sh = shape(1, 2, 4, LOSSFN_LAYOUT_NCS);
    let t = Tgt::Index(vec![0, 1, 1, 0]);
    // One-hot probabilities: a perfect prediction.
    let perfect = vec![1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0];
    for kind in KINDS {
        for gamma in [0.5, 0.75, 2.0] {
            let o = lossfn_overlap_options {
                activation: LOSSFN_ACTIVATION_NONE,
                gamma,
                smooth_nr: 0.0,
                smooth_dr: 0.0,
                ..lossfn_overlap_options_default()
            };
            let (st, l, g) = call::<f64>(kind, &perfect, &t, None, sh, &o, true);
            assert_eq!(st, LOSSFN_OK);
            assert_eq!(l, vec![0.0], "{kind:?} gamma {gamma}");
            assert!(g.iter().all(|&v| v == 0.0), "{kind:?} gamma {gamma}: {g:?}");
            let near: Vec<f64> = perfect.iter().map(|&v| if v == 1.0 { 0.9 } else { 0.1 }).collect();
            let (_, _, g) = call::<f64>(kind, &near, &t, None, sh, &o, true);
            let fd = finite_diff(&near, 1e-7, |xs| call::<f64>(kind, xs, &t, None, sh, &o, false).1[0]);
            assert_close(&format!("{kind:?} gamma {gamma} near perfect"), &g, &fd, 1e-5, 1e-7);
        }
    }
}

/// Generalized Dice (one score per sample or per batch, MONAI's class weights from the target):
/// the analytic gradient against central differences in f64 for every option that changes the
/// math — w_type, activation, batch, background, layout, index (with ignored positions and an
/// absent class) or soft targets (soft_label on half), the focal power, every reduction.
#[test]
fn generalized_dice_gradients_match_finite_differences() {
    let mut rng = Rng(26);
    let mut checked = 0;
    for w_type in [LOSSFN_GDICE_SQUARE, LOSSFN_GDICE_SIMPLE, LOSSFN_GDICE_UNIFORM] {
        for activation in [LOSSFN_ACTIVATION_NONE, LOSSFN_ACTIVATION_SIGMOID, LOSSFN_ACTIVATION_SOFTMAX] {
            for batch in [false, true] {
                for include_background in [true, false] {
                    for layout in [LOSSFN_LAYOUT_NCS, LOSSFN_LAYOUT_NSC] {
                        for soft in [false, true] {
                            let (nb, nc, ns) = (2, 4, 5);
                            let sh = shape(nb, nc, ns, layout);
                            let x = if activation == LOSSFN_ACTIVATION_NONE { rng.vec(nb * nc * ns, 0.05, 0.95) } else { rng.vec(nb * nc * ns, -3.0, 3.0) };
                            // Index targets: class 3 never occurs (an infinite weight, replaced) and
                            // ~1 in 5 positions is ignored.
                            let t: Vec<i64> = (0..nb * ns).map(|_| if rng.below(5) == 0 { 7 } else { rng.below(3) as i64 }).collect();
                            let ts = rng.vec(nb * nc * ns, 0.0, 1.0);
                            let reduction = [LOSSFN_REDUCTION_NONE, LOSSFN_REDUCTION_MEAN, LOSSFN_REDUCTION_SUM][rng.below(3) as usize];
                            let o = lossfn_overlap_options {
                                reduction,
                                activation,
                                w_type,
                                include_background,
                                batch,
                                smooth_nr: [1e-5, 1.0][rng.below(2) as usize],
                                smooth_dr: [1e-5, 1.0][rng.below(2) as usize],
                                gamma: [1.0, 0.75][rng.below(2) as usize],
                                ignore_index: if soft { -100 } else { 7 },
                                soft_label: soft && rng.below(2) == 0,
                                ..lossfn_overlap_options_default()
                            };
                            let len = if reduction != LOSSFN_REDUCTION_NONE { 1 } else if batch { 1 } else { nb };
                            let run = |xs: &[f64], grad: bool| -> (Vec<f64>, Vec<f64>) {
                                let (mut l, mut g) = (vec![0.0; len], vec![0.0; xs.len()]);
                                let gp = if grad { g.as_mut_ptr() } else { std::ptr::null_mut() };
                                let st = unsafe {
                                    if soft {
                                        lossfn_generalized_dice_loss_soft_f64(xs.as_ptr(), ts.as_ptr(), sh, &o, l.as_mut_ptr(), gp)
                                    } else {
                                        lossfn_generalized_dice_loss_f64(xs.as_ptr(), t.as_ptr(), sh, &o, l.as_mut_ptr(), gp)
                                    }
                                };
                                assert_eq!(st, LOSSFN_OK, "{o:?}: {}", last_error());
                                (l, g)
                            };
                            let what = format!("gdice soft={soft} layout={layout} {o:?}");
                            let (_, g) = run(&x, true);
                            let fd = finite_diff(&x, 1e-6, |xs| run(xs, false).0.iter().sum());
                            assert_close(&format!("{what} fd"), &g, &fd, 1e-5, 1e-7);
                            checked += 1;
                        }
                    }
                }
            }
        }
    }
    assert_eq!(checked, 3 * 3 * 2 * 2 * 2 * 2);
}
