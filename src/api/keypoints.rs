//! The keypoint OKS loss of pose heads, as ultralytics `KeypointLoss`.
//!
//! ```
//! use lossfn::keypoints::{keypoint_oks_loss, Options};
//!
//! // One instance of two keypoints, the second unlabelled.
//! let pred = [1.0f32, 1.0, 5.0, 5.0];
//! let target = [1.5f32, 1.0, 0.0, 0.0];
//! let (visible, area, sigmas) = ([1.0f32, 0.0], [16.0f32], [0.079f32, 0.079]);
//! let (mut loss, mut grad) = ([0f32], [0f32; 4]);
//! keypoint_oks_loss(&pred, &target, &visible, &area, &sigmas, &Options::default(), &mut loss, Some(&mut grad))?;
//! assert!(loss[0] > 0.0);
//! assert_eq!(&grad[2..], &[0.0, 0.0]); // no gradient for an unlabelled keypoint
//! # Ok::<(), lossfn::Error>(())
//! ```
use super::{check_len, check_outputs, mul_size, run_loss, Float, Reduction};
use crate::error::Result;
use crate::reduce::Controls;
use crate::kernels::keypoints::{self as k, Args};

options! {
    /// Options of [`keypoint_oks_loss`] (`lossfn_keypoint_options`); MEAN is over the n·k terms,
    /// as ultralytics' `.mean()`.
    Options {} reduction = Reduction::Mean
}

/// Keypoint OKS loss as ultralytics `KeypointLoss`: n = `area.len()` instances of k =
/// `sigmas.len()` keypoints. `pred`, `target`: n·k·2 values (x, y per keypoint); `visible`: n·k
/// (nonzero = labelled); `area`: n; `sigmas`: k; `loss`: 1 value, or n·k for NONE; `grad_pred`:
/// n·k·2 or `None`. l_ij = f_i·(1 − exp(−d_ij / ((2σ_j)²·(area_i + 1e-9)·2)))·[visible_ij ≠ 0],
/// f_i = k / (Σ_j [visible_ij ≠ 0] + 1e-9).
#[allow(clippy::too_many_arguments)]
pub fn keypoint_oks_loss<T: Float>(
    pred: &[T],
    target: &[T],
    visible: &[T],
    area: &[T],
    sigmas: &[T],
    options: &Options,
    loss: &mut [T],
    grad_pred: Option<&mut [T]>,
) -> Result<()> {
    compute(&prepare(options)?, pred, target, visible, area, sigmas, loss, grad_pred)
}

/// Validates the options (the C API does so before its buffers, then calls [`compute`]).
pub(crate) fn prepare(options: &Options) -> Result<Controls> {
    let o = options;
    o.controls(false)
}

/// Checks the lengths and computes.
#[allow(clippy::too_many_arguments)]
pub(crate) fn compute<T: Float>(
    controls: &Controls,
    pred: &[T],
    target: &[T],
    visible: &[T],
    area: &[T],
    sigmas: &[T],
    loss: &mut [T],
    grad_pred: Option<&mut [T]>,
) -> Result<()> {
    let (n, k) = (area.len(), sigmas.len());
    let terms = mul_size("`n` instances x `k` keypoints", n, k)?;
    let len = mul_size("`n` x `k` keypoints x 2", terms, 2)?;
    check_len("pred", pred.len(), len, "n x k x 2: n = area's length, k = sigmas' length")?;
    check_len("target", target.len(), len, "pred's length")?;
    check_len("visible", visible.len(), terms, "n x k")?;
    check_outputs(controls, terms, loss, "grad_pred", grad_pred.as_deref(), len)?;
    let args = Args { pred, target, visible, area, sigmas, k };
    run_loss(controls, loss, grad_pred, "grad_pred", |r, none, grad| Ok(k::keypoint_oks_loss(&args, r, none, grad)))
}
