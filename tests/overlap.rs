//! Overlap family (Dice, Tversky) through the C ABI (its fixtures: tests/fixture_replay.rs):
//! agreement with a plain f64 reference on shapes that cross blocks and
//! work items, layout equivalence, and bitwise determinism across thread counts.
mod common;
mod overlap_common;
use common::*;
use lossfn::capi::*;
use overlap_common::*;

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Random logits, index targets (some ignored) or soft targets, for a shape.
fn random_case(rng: &mut Rng, sh: &lossfn_shape, soft: bool, ignore: i64) -> (Vec<f64>, Tgt) {
    let elements = sh.batch * sh.classes * sh.spatial;
    let x = rng.vec(elements, -4.0, 4.0);
    let t = if soft {
        Tgt::Soft(rng.vec(elements, 0.0, 1.0))
    } else {
        Tgt::Index(
            (0..sh.batch * sh.spatial)
                .map(|_| if rng.below(7) == 0 { ignore } else { rng.below(sh.classes as u64) as i64 })
                .collect(),
        )
    };
    (x, t)
}

/// Directional derivative of the f64 loss along `v` by central differences.
#[allow(clippy::too_many_arguments)]
fn directional(kind: Kind, x: &[f64], v: &[f64], t: &Tgt, w: Option<&[f64]>, sh: lossfn_shape, o: &lossfn_overlap_options, h: f64) -> f64 {
    let at = |sign: f64| {
        let xs: Vec<f64> = x.iter().zip(v).map(|(a, b)| a + sign * h * b).collect();
        let (st, l, _) = call::<f64>(kind, &xs, t, w, sh, o, false);
        assert_eq!(st, LOSSFN_OK);
        l.iter().sum::<f64>()
    };
    (at(1.0) - at(-1.0)) / (2.0 * h)
}

/// Shapes large enough to cross block (W) and work-item boundaries, with ragged ends, in both
/// layouts: the loss equals the plain reference and the gradient matches directional finite
/// differences along random directions.
#[test]
fn large_shapes_match_reference() {
    let mut rng = Rng(5);
    let shapes = [(2, 3, 23_000), (3, 21, 5_000), (37, 4, 300), (5, 2, 1)];
    for (nb, nc, ns) in shapes {
        for layout in [LOSSFN_LAYOUT_NCS, LOSSFN_LAYOUT_NSC] {
            for soft in [false, true] {
                {
                    let kind = KINDS[rng.below(KINDS.len() as u64) as usize];
                    let sh = shape(nb, nc, ns, layout);
                    let (x, t) = random_case(&mut rng, &sh, soft, 255);
                    let w: Vec<f64> = rng.vec(nc, 0.2, 2.0);
                    let activation = [LOSSFN_ACTIVATION_SOFTMAX, LOSSFN_ACTIVATION_SIGMOID][rng.below(2) as usize];
                    let o = lossfn_overlap_options {
                        reduction: LOSSFN_REDUCTION_NONE,
                        activation,
                        // Soft targets take no ignore_index (docs/api.md §1, §7).
                        ignore_index: if soft { -100 } else { 255 },
                        squared_pred: rng.below(2) == 0,
                        batch: rng.below(2) == 0,
                        include_background: rng.below(2) == 0,
                        gamma: [1.0, 0.75, 2.0][rng.below(3) as usize],
                        soft_label: soft && rng.below(2) == 0,
                        ..lossfn_overlap_options_default()
                    };
                    let what = format!("{kind:?} soft={soft} {nb}x{nc}x{ns} layout {layout} {o:?}");
                    let (st, l, g) = call::<f64>(kind, &x, &t, Some(&w), sh, &o, true);
                    assert_eq!(st, LOSSFN_OK, "{what}: {}", last_error());
                    let r = reference(kind, &x, &t, Some(&w), sh, &o);
                    assert_close(&format!("{what} loss"), &l, &r, 1e-10, 1e-12);
                    for _ in 0..2 {
                        let v = rng.vec(x.len(), -1.0, 1.0);
                        let fd = directional(kind, &x, &v, &t, Some(&w), sh, &o, 1e-5);
                        let an: f64 = g.iter().zip(&v).map(|(a, b)| a * b).sum();
                        assert!((fd - an).abs() <= 1e-6 * (1.0 + an.abs()), "{what}: directional fd {fd} vs analytic {an}");
                    }
                    // f32 agrees with the f64 reference to f32 accuracy.
                    let (st, l32, _) = call::<f32>(kind, &x, &t, Some(&w), sh, &o, false);
                    assert_eq!(st, LOSSFN_OK);
                    assert_close(&format!("{what} f32 loss"), &l32, &r, 2e-4, 2e-5);
                }
            }
        }
    }
}

/// NSC is handled by transposing each block into the NCS scratch layout, so the two layouts
/// give bitwise the same loss and (transposed) gradient. With a gradient, NCS blocks of a whole
/// number of lanes are worked on in the gradient buffer itself and the others in the scratch:
/// the shapes have both, in work items of whole samples (4 099 positions) and of pieces of one
/// sample (70 007: blocks of 4 096 and a last one of 375).
#[test]
fn layouts_agree_bitwise() {
    let mut rng = Rng(9);
    for (nb, nc, ns, soft) in [(3, 5, 4_099, false), (3, 5, 4_099, true), (2, 3, 70_007, false), (2, 3, 70_007, true)] {
        let ncs = shape(nb, nc, ns, LOSSFN_LAYOUT_NCS);
        let nsc = shape(nb, nc, ns, LOSSFN_LAYOUT_NSC);
        let (x, t) = random_case(&mut rng, &ncs, soft, -100);
        let to_nsc = |v: &[f64]| {
            let mut out = vec![0.0; v.len()];
            for n in 0..nb {
                for c in 0..nc {
                    for s in 0..ns {
                        out[at(&nsc, n, c, s)] = v[at(&ncs, n, c, s)];
                    }
                }
            }
            out
        };
        let t2 = match &t {
            Tgt::Soft(v) => Tgt::Soft(to_nsc(v)),
            Tgt::Index(v) => Tgt::Index(v.clone()),
        };
        for activation in [LOSSFN_ACTIVATION_NONE, LOSSFN_ACTIVATION_SIGMOID, LOSSFN_ACTIVATION_SOFTMAX] {
            let o = lossfn_overlap_options { activation, reduction: LOSSFN_REDUCTION_NONE, ..lossfn_overlap_options_default() };
            let xin = if activation == LOSSFN_ACTIVATION_NONE { x.iter().map(|v| (v + 4.0) / 8.0).collect() } else { x.clone() };
            for kind in KINDS {
                let (s1, l1, g1) = call::<f32>(kind, &xin, &t, None, ncs, &o, true);
                let (s2, l2, g2) = call::<f32>(kind, &to_nsc(&xin), &t2, None, nsc, &o, true);
                assert_eq!((s1, s2), (LOSSFN_OK, LOSSFN_OK));
                assert_eq!(bits(&l1), bits(&l2), "{kind:?} soft={soft} act={activation}: loss");
                assert_eq!(bits(&to_nsc(&g1)), bits(&g2), "{kind:?} soft={soft} act={activation}: grad");
            }
        }
    }
}

#[test]
fn bitwise_identical_across_thread_counts() {
    let mut rng = Rng(13);
    // Several work items per sample (NCS row pieces, NSC ranges), and runs of whole samples.
    let cases = [(2, 6, 25_001, LOSSFN_LAYOUT_NCS), (2, 5, 30_000, LOSSFN_LAYOUT_NSC), (5_000, 3, 7, LOSSFN_LAYOUT_NCS)];
    for (nb, nc, ns, layout) in cases {
        let sh = shape(nb, nc, ns, layout);
        for soft in [false, true] {
            let (x, t) = random_case(&mut rng, &sh, soft, -100);
            let xs: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            let (ti, tsoft): (Vec<i64>, Vec<f32>) = match &t {
                Tgt::Index(v) => (v.clone(), Vec::new()),
                Tgt::Soft(v) => (Vec::new(), v.iter().map(|&v| v as f32).collect()),
            };
            for (kind, batch, reduction) in [
                (Kind::Dice, false, LOSSFN_REDUCTION_MEAN),
                (Kind::Tversky, true, LOSSFN_REDUCTION_NONE),
                (Kind::Dice, true, LOSSFN_REDUCTION_SUM),
            ] {
                let o = lossfn_overlap_options { batch, reduction, ..lossfn_overlap_options_default() };
                let run = |threads: usize| {
                    assert_eq!(lossfn_set_num_threads(threads), LOSSFN_OK);
                    let mut loss = vec![0f32; loss_len(&sh, &o)];
                    let mut grad = vec![0f32; xs.len()];
                    let st = unsafe {
                        if soft {
                            f32::soft_fn(kind)(xs.as_ptr(), tsoft.as_ptr(), std::ptr::null(), sh, &o, loss.as_mut_ptr(), grad.as_mut_ptr())
                        } else {
                            f32::index_fn(kind)(xs.as_ptr(), ti.as_ptr(), std::ptr::null(), sh, &o, loss.as_mut_ptr(), grad.as_mut_ptr())
                        }
                    };
                    assert_eq!(st, LOSSFN_OK, "{}", last_error());
                    (loss.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), grad.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
                };
                let one = run(1);
                for threads in [2, 3, 0] {
                    assert!(run(threads) == one, "{kind:?} {nb}x{nc}x{ns}: {threads} threads differ from 1");
                }
            }
        }
    }
    lossfn_set_num_threads(0);
}

/// The kernel compiled for SSE2 (baseline), AVX2 and AVX-512 gives bitwise the same loss and
/// gradient (no FMA, no reassociation): results do not depend on the CPU's vector width. (On a
/// CPU without AVX2 / AVX-512 the capped levels fall back to the same copy.)
#[test]
fn simd_variants_agree_bitwise() {
    use lossfn::overlap::{dice_loss, dice_loss_soft, tversky_loss_soft, Activation, Layout, OverlapOptions, Shape};
    use lossfn::testing::set_simd_max;
    use lossfn::Reduction;
    let mut rng = Rng(17);
    for (nb, nc, ns, layout) in [(2, 21, 3_001, Layout::Ncs), (3, 4, 777, Layout::Nsc), (40, 3, 5, Layout::Ncs)] {
        let elements = nb * nc * ns;
        let x: Vec<f32> = rng.vec(elements, -5.0, 5.0).into_iter().map(|v| v as f32).collect();
        let soft: Vec<f32> = rng.vec(elements, 0.0, 1.0).into_iter().map(|v| v as f32).collect();
        let idx: Vec<i64> = (0..nb * ns).map(|_| if rng.below(9) == 0 { -100 } else { rng.below(nc as u64) as i64 }).collect();
        let shape = Shape { batch: nb, classes: nc, spatial: ns, layout };
        for activation in [Activation::None, Activation::Sigmoid, Activation::Softmax] {
            let o = OverlapOptions { activation, include_background: false, gamma: 0.75, reduction: Reduction::None, ..Default::default() };
            type Call<'a> = Box<dyn Fn(&mut [f32], Option<&mut [f32]>) -> lossfn::Result<()> + 'a>;
            let calls: [(&str, Call); 3] = [
                ("dice, squared_pred, index targets", Box::new(|l, g| dice_loss(&x, &idx, None, shape, &OverlapOptions { squared_pred: true, ..o }, l, g))),
                ("tversky, soft targets", Box::new(|l, g| tversky_loss_soft(&x, &soft, None, shape, &OverlapOptions { alpha: 0.3, beta: 0.7, ..o }, l, g))),
                ("dice, soft_label", Box::new(|l, g| dice_loss_soft(&x, &soft, None, shape, &OverlapOptions { soft_label: true, ..o }, l, g))),
            ];
            let n_loss = nb * (nc - 1);
            for (what, call) in &calls {
                let run = |level: u8| {
                    set_simd_max(level);
                    let mut loss = vec![0f32; n_loss];
                    let mut grad = vec![0f32; elements];
                    call(&mut loss, Some(&mut grad)).unwrap();
                    (loss.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), grad.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
                };
                let base = run(0);
                assert!(run(1) == base, "AVX2 differs: {what} {activation:?} {layout:?}");
                assert!(run(2) == base, "AVX-512 differs: {what} {activation:?} {layout:?}");
            }
        }
    }
    set_simd_max(2);
}
