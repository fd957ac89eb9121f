//! C entry points of the Lovász losses (segmentation, with the overlap family): Lovász-Softmax
//! and the Lovász hinge, as segmentation_models_pytorch `losses/lovasz.py`.
use super::overlap::activation;
use super::*;
use crate::api::overlap::{self as api, Targets};
use crate::api::Float;
use crate::kernels::overlap::Activation;

/// Options of the Lovász losses (NULL = lossfn_lovasz_options_default()).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct lossfn_lovasz_options {
    /// LOSSFN_REDUCTION_MEAN (default: over the images with per_image, else the one value),
    /// _SUM or _NONE (one value per image with per_image, else 1).
    pub reduction: lossfn_reduction,
    /// Lovász-Softmax only: LOSSFN_ACTIVATION_SOFTMAX (default) or _NONE (the input is
    /// probabilities); SIGMOID is INVALID_OPTION. The hinge takes raw logits.
    pub activation: lossfn_activation,
    /// false (one loss over the whole batch, smp's default); true: one per image.
    pub per_image: bool,
    /// Lovász-Softmax only: true (smp's classes='present': only the classes present in the
    /// target of the batch, or of the image with per_image); false: every class ('all').
    pub classes_present: bool,
    /// -100; positions whose target equals it count nowhere (zero gradient). The hinge compares
    /// its float targets with it.
    pub ignore_index: i64,
    /// 1.0; finite. Multiplies every loss value and the gradient (docs/api.md §3).
    pub loss_weight: f64,
    /// 0.0 = unused; > 0 (MEAN only): MEAN divides by it instead of its own denominator.
    pub avg_factor: f64,
    /// false: grad = dL; true: grad += dL.
    pub accumulate: bool,
}

/// The defaults: MEAN, SOFTMAX, one loss over the batch, classes present, ignore_index -100.
#[no_mangle]
pub extern "C" fn lossfn_lovasz_options_default() -> lossfn_lovasz_options {
    lossfn_lovasz_options {
        reduction: LOSSFN_REDUCTION_MEAN,
        activation: LOSSFN_ACTIVATION_SOFTMAX,
        per_image: false,
        classes_present: true,
        ignore_index: -100,
        loss_weight: 1.0,
        avg_factor: 0.0,
        accumulate: false,
    }
}
c_options!(lossfn_lovasz_options, lossfn_lovasz_options_default, [per_image, classes_present, accumulate]);

/// Index targets (Lovász-Softmax) or binary float targets (hinge).
enum TargetPtr<T> {
    Index(*const i64),
    Binary(*const T),
}

/// The shared body of the four entry points.
unsafe fn entry<T: Float>(
    input: *const T,
    target: TargetPtr<T>,
    shape: lossfn_shape,
    options: *const lossfn_lovasz_options,
    loss: *mut T,
    grad_input: *mut T,
) -> lossfn_status {
    ffi_boundary! {
        let o: lossfn_lovasz_options = unsafe { read_options("options", options)? };
        let hinge = matches!(target, TargetPtr::Binary(_));
        let o = safe_options!(o, api::LovaszOptions {
            // The hinge takes raw logits: its activation is unused, whatever the value.
            activation: if hinge { Activation::None } else { activation(o.activation)? },
            per_image,
            classes_present,
            ignore_index,
        });
        let shape = shape_of(shape)?;
        let p = api::prepare_lovasz(hinge, &o, &shape)?;
        let mut io = Io::new();
        let (input_name, grad_name) = if hinge { ("logits", "grad_logits") } else { ("input", "grad_input") };
        let input = unsafe { io.input(input_name, input, shape.len())? };
        let target = match target {
            TargetPtr::Index(t) => Targets::Index(unsafe { io.input("target", t, shape.positions())? }),
            TargetPtr::Binary(t) => Targets::Soft(unsafe { io.input("target", t, shape.positions())? }),
        };
        let loss = unsafe { io.output("loss", loss, p.controls.loss_len(p.terms(&shape)))? };
        let grad = unsafe { io.optional_output(grad_name, grad_input, shape.len())? };
        api::compute_lovasz(&p, input, target, shape, loss, grad)
    }
}

/// Lovász-Softmax loss (Berman et al. 2018) as segmentation_models_pytorch LovaszLoss
/// ('multiclass'; _lovasz_softmax): p = softmax(input) over the classes (options.activation
/// NONE: input is probabilities); per class c counted (options.classes_present: those present
/// in the target; else every class), over the valid positions of the batch (or of one image,
/// options.per_image), the errors |[y = c] - p_c| sorted in decreasing order (ties broken by
/// position: deterministic) dotted with the Lovász gradient of the Jaccard loss; the loss is the
/// mean over the classes counted (0 without valid positions), and with per_image the mean over
/// the images (MEAN). input: batch*classes*spatial in shape.layout; target: batch*spatial class
/// indices in [0, classes) or options.ignore_index. loss: 1 value, or for NONE with per_image one
/// per image (`[batch]`). grad_input: batch*classes*spatial or NULL, the subgradient of that
/// sorted form (exact away from ties).
///
/// # Safety
/// Pointers must be valid for the stated sizes (see the header's conventions).
#[no_mangle]
pub unsafe extern "C" fn lossfn_lovasz_softmax_loss_f32(input: *const f32, target: *const i64, shape: lossfn_shape, options: *const lossfn_lovasz_options, loss: *mut f32, grad_input: *mut f32) -> lossfn_status {
    unsafe { entry(input, TargetPtr::Index(target), shape, options, loss, grad_input) }
}
/// Lovász-Softmax loss, double precision: see lossfn_lovasz_softmax_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_lovasz_softmax_loss_f64(input: *const f64, target: *const i64, shape: lossfn_shape, options: *const lossfn_lovasz_options, loss: *mut f64, grad_input: *mut f64) -> lossfn_status {
    unsafe { entry(input, TargetPtr::Index(target), shape, options, loss, grad_input) }
}
/// Lovász hinge loss (binary) as segmentation_models_pytorch LovaszLoss ('binary';
/// _lovasz_hinge): raw logits x, targets t in {0, 1} (float, or options.ignore_index),
/// shape.classes = 1 (else INVALID_OPTION); errors 1 - x*(2t - 1) sorted in decreasing order
/// (ties by position), their positive parts dotted with the Lovász gradient of the Jaccard loss;
/// over the batch, or per image and averaged (options.per_image). A target other than 0, 1 or
/// ignore_index is INVALID_TARGET. Sizes and outputs as lossfn_lovasz_softmax_loss_f32
/// (options.activation and classes_present unused).
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_lovasz_hinge_loss_f32(logits: *const f32, target: *const f32, shape: lossfn_shape, options: *const lossfn_lovasz_options, loss: *mut f32, grad_logits: *mut f32) -> lossfn_status {
    unsafe { entry(logits, TargetPtr::Binary(target), shape, options, loss, grad_logits) }
}
/// Lovász hinge loss, double precision: see lossfn_lovasz_hinge_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_lovasz_hinge_loss_f64(logits: *const f64, target: *const f64, shape: lossfn_shape, options: *const lossfn_lovasz_options, loss: *mut f64, grad_logits: *mut f64) -> lossfn_status {
    unsafe { entry(logits, TargetPtr::Binary(target), shape, options, loss, grad_logits) }
}
