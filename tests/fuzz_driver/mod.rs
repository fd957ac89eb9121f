//! The fuzz driver: turns a byte string into one call of an exported lossfn function through
//! the C ABI, with arbitrary sizes, shapes, option structs, pointers and values, and checks
//! the boundary's promises (see `docs/hardening.md`):
//!
//! * no crash, no panic escaping, status one of LOSSFN_OK ..= LOSSFN_ERROR_OVERLAP
//!   (LOSSFN_ERROR_INTERNAL is a bug);
//! * the status is explained: with no defect in the call it is LOSSFN_OK, otherwise it is the
//!   status of one of the defects the driver put in (NULL / misaligned pointer, overflowing
//!   size, bad option, bad class index, output overlapping another buffer);
//! * on error every output byte is still canary, and a message is stored;
//! * inputs are never modified, and nothing is written outside the outputs (guard bytes
//!   around every buffer; AddressSanitizer under cargo-fuzz catches what they miss);
//! * on success every output element was written, the loss is bitwise the same with
//!   grad = NULL, and when every input lies in the function's domain with moderate values and
//!   every option is valid, every output is finite.
//!
//! Used by `tests/fuzz_smoke.rs` (fixed-seed stream), `fuzz/fuzz_targets/capi.rs` (libFuzzer,
//! through `#[path]`), and for its call machinery by `tests/determinism.rs` and `tests/finite.rs`.
#![allow(dead_code)]
use lossfn::capi::*;
use std::mem::{align_of, offset_of, size_of};
use std::ptr::null;

// ---------------------------------------------------------------------------------------------
// The exported functions.

/// The catalogue: one line per exported function (each exists as `_f32` and `_f64`): its
/// variant of [`F`], its C name without `lossfn_` and the dtype suffix (also the name of its test
/// in each per-function suite) and its [`Form`] (its parameters: the header's list
/// `LOSSFN_<FORM>_LOSSES`; the form gives the [`Family`], sizes and buffers). The lines are
/// generated from the header (`catalogue.rs`, written by `tests/header.rs` when the header is
/// regenerated): a function of the C API is in every suite without a line written by hand.
/// `catalogue!` makes the enum, [`ALL`], [`F::name`], [`F::family`], [`F::form`],
/// `per_function_tests!` and the call of each C function in [`invoke`] (through `dispatch!`).
macro_rules! catalogue {
    ($d:tt $($variant:ident $name:ident $form:ident;)*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum F {
            $($variant,)*
        }

        /// Every exported loss and the IoU matrix (times two dtypes = every computing entry point).
        pub const ALL: [F; [$(F::$variant),*].len()] = [$(F::$variant),*];

        impl F {
            pub fn name(self) -> &'static str {
                match self {
                    $(F::$variant => stringify!($name),)*
                }
            }
            pub fn family(self) -> Family {
                self.form().family()
            }
            pub fn form(self) -> Form {
                match self {
                    $(F::$variant => Form::$form,)*
                }
            }
        }

        /// In [`invoke`]: `dispatch!(f, call)` expands to a `match f` whose arm for each function
        /// is `call!(FORM, lossfn_<name>_f32, lossfn_<name>_f64)`.
        macro_rules! dispatch {
            ($d f:expr, $d call:ident) => {
                match $d f {
                    $(F::$variant => paste::paste! { $d call!($form, [<lossfn_ $name _f32>], [<lossfn_ $name _f64>]) },)*
                }
            };
        }

        /// `by_name!(f, m)` expands to a `match f` whose arm for each function is `m!(FORM, name)`:
        /// code written once per form that needs the function's name at compile time (the safe
        /// API's `lossfn::<family>::<name>` in `tests/safe_api.rs`).
        #[allow(unused_macros)]
        macro_rules! by_name {
            ($d f:expr, $d m:ident) => {
                match $d f {
                    $(F::$variant => $d m!($form, $name),)*
                }
            };
        }

        /// Expands, in the test file that invokes it, to one `#[test]` per exported function, each
        /// calling that file's `check(F::…)`, and a test that the list covers every function of
        /// [`ALL`]. `$suite` names the suite in the coverage message.
        #[allow(unused_macros)]
        macro_rules! per_function_tests {
            ($d suite:literal) => {
                $(#[test] fn $name() { check(F::$variant); })*
                /// The list above covers every function of the driver.
                #[test]
                fn covers_every_function() {
                    let listed = [$(F::$variant),*];
                    for f in ALL {
                        assert!(listed.contains(&f), "{} has no {} test", f.name(), $d suite);
                    }
                }
            };
        }
    };
}

include!("catalogue.rs");

/// The C signature of a function: the header's `LOSSFN_<FORM>_LOSSES` list it is in (every
/// function of a form has the same parameters; the matrices are not losses: no list).
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    REGRESSION,
    BOX,
    ROTATED_BOX,
    DFL,
    DFL_BOX,
    KEYPOINT,
    MATRIX,
    PROBIOU_MATRIX,
    CROSS_ENTROPY_INDEX,
    CROSS_ENTROPY,
    BCE,
    ENTROPY,
    KL_DIV,
    DISTILLATION,
    FOCAL,
    FOCAL_INDEX,
    QUALITY_FOCAL,
    OVERLAP_INDEX,
    OVERLAP,
    GENERALIZED_DICE_INDEX,
    GENERALIZED_DICE,
    /// Dice + cross entropy: the overlap options, and a cross-entropy struct the driver derives
    /// from them (the same reduction, ignore_index and controls; its own label smoothing).
    DICE_CE,
    /// Dice + softmax focal: likewise, with the focal struct (its own gamma).
    DICE_FOCAL,
    /// Lovász-Softmax: class indices, the Lovász options.
    LOVASZ_INDEX,
    /// Lovász hinge: binary float targets (classes = 1), the Lovász options.
    LOVASZ,
    /// Phase 1 of the batch score across ranks: a kind, class indices, the overlap options,
    /// statistics out (double). The driver keeps the kind after the options struct
    /// ([`STATS_TAIL`]: an option field "kind").
    OVERLAP_STATS_INDEX,
    /// Phase 1 on soft targets.
    OVERLAP_STATS,
    /// Phase 2: a kind, class indices, class weights, the overlap options, the global statistics
    /// (an input, double), loss and gradient.
    OVERLAP_FROM_STATS_INDEX,
    /// Phase 2 on soft targets.
    OVERLAP_FROM_STATS,
}

impl Form {
    /// The family of the form's functions (their sizes and buffers).
    pub fn family(self) -> Family {
        use Form::*;
        match self {
            REGRESSION => Family::Regression,
            BOX | ROTATED_BOX => Family::Boxes,
            DFL | DFL_BOX => Family::Dfl,
            KEYPOINT => Family::Keypoints,
            MATRIX | PROBIOU_MATRIX => Family::Matrix,
            CROSS_ENTROPY_INDEX | CROSS_ENTROPY | BCE | ENTROPY | KL_DIV | DISTILLATION | FOCAL | FOCAL_INDEX | QUALITY_FOCAL => Family::Classification,
            OVERLAP_INDEX | OVERLAP | GENERALIZED_DICE_INDEX | GENERALIZED_DICE | DICE_CE | DICE_FOCAL | LOVASZ_INDEX | LOVASZ | OVERLAP_STATS_INDEX
            | OVERLAP_STATS | OVERLAP_FROM_STATS_INDEX | OVERLAP_FROM_STATS => Family::Overlap,
        }
    }
    /// The header's list of this form's losses (`None` for the matrices).
    pub fn header_list(self) -> Option<String> {
        (!matches!(self, Form::MATRIX | Form::PROBIOU_MATRIX)).then(|| format!("LOSSFN_{self:?}_LOSSES"))
    }
}

impl F {
    /// The function called `name` (its C name without `lossfn_` and the dtype suffix).
    pub fn from_name(name: &str) -> Option<F> {
        ALL.into_iter().find(|f| f.name() == name)
    }
    /// Whether the function takes a `lossfn_shape`.
    pub fn shaped(self) -> bool {
        matches!(self.family(), Family::Classification | Family::Overlap)
    }
    pub fn has_grad(self) -> bool {
        self.family() != Family::Matrix && !self.stats_phase()
    }
    /// The two-phase batch score: phase 1 (statistics) or phase 2 (loss from statistics).
    pub fn two_phase(self) -> bool {
        self.stats_phase() || matches!(self.form(), Form::OVERLAP_FROM_STATS_INDEX | Form::OVERLAP_FROM_STATS)
    }
    /// Phase 1: writes statistics (double), no loss, no gradient.
    pub fn stats_phase(self) -> bool {
        matches!(self.form(), Form::OVERLAP_STATS_INDEX | Form::OVERLAP_STATS)
    }
    /// Values per box: 5 for rotated boxes (cx, cy, w, h, angle), else 4.
    pub fn box_width(self) -> usize {
        if matches!(self.form(), Form::ROTATED_BOX | Form::PROBIOU_MATRIX) {
            5
        } else {
            4
        }
    }
    fn kl(self) -> bool {
        matches!(self.form(), Form::KL_DIV | Form::DISTILLATION)
    }
    fn tversky(self) -> bool {
        matches!(self, F::TverskyLoss | F::TverskyLossSoft)
    }
    pub fn index_target(self) -> bool {
        matches!(
            self.form(),
            Form::CROSS_ENTROPY_INDEX
                | Form::FOCAL_INDEX
                | Form::OVERLAP_INDEX
                | Form::GENERALIZED_DICE_INDEX
                | Form::DICE_CE
                | Form::DICE_FOCAL
                | Form::LOVASZ_INDEX
                | Form::OVERLAP_STATS_INDEX
                | Form::OVERLAP_FROM_STATS_INDEX
        )
    }
    /// The Lovász losses (their own options struct; one value per image or one).
    pub fn lovasz(self) -> bool {
        matches!(self.form(), Form::LOVASZ_INDEX | Form::LOVASZ)
    }
    /// Sizes of the family fitted to the function: the Lovász hinge takes one class.
    pub fn fit(self, mut d: Dims) -> Dims {
        if self.form() == Form::LOVASZ {
            d.shape.classes = 1;
        }
        d
    }
    /// Whether the function accepts LOSSFN_REDUCTION_NONE (the DFL box branch returns two
    /// reduced values and does not).
    pub fn accepts_none(self) -> bool {
        self.form() != Form::DFL_BOX && !self.fused()
    }
    /// Dice fused with a per-position loss (two options structs, three values).
    pub fn fused(self) -> bool {
        matches!(self.form(), Form::DICE_CE | Form::DICE_FOCAL)
    }
    /// Whether the function answers LOSSFN_REDUCTION_MEAN_DENOMINATOR (Dice + cross entropy has
    /// two denominators: it refuses it).
    pub fn accepts_mean_denominator(self) -> bool {
        !self.fused()
    }
    /// The number of values a reduced call writes: 1, or its parts (the DFL box branch's
    /// [L_iou, L_dfl], Dice + cross entropy's [total, dice, ce]).
    pub fn reduced_len(self) -> usize {
        match self.form() {
            Form::DFL_BOX => 2,
            Form::DICE_CE | Form::DICE_FOCAL => 3,
            _ => 1,
        }
    }
    /// Probability targets: their options take no ignore_index but the default (docs/api.md §1, §7).
    pub fn soft_target(self) -> bool {
        matches!(self.form(), Form::CROSS_ENTROPY | Form::OVERLAP | Form::GENERALIZED_DICE | Form::OVERLAP_STATS | Form::OVERLAP_FROM_STATS)
    }
    /// Generalized Dice: one score per sample (or batch), no class_weight, reads w_type.
    pub fn gdice(self) -> bool {
        matches!(self.form(), Form::GENERALIZED_DICE_INDEX | Form::GENERALIZED_DICE)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Regression,
    Boxes,
    /// Distribution focal loss: n boxes × `sides` × `bins` logits.
    Dfl,
    /// Keypoint OKS loss: n instances × k (= `m`) keypoints.
    Keypoints,
    Matrix,
    Classification,
    Overlap,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dt {
    F32,
    F64,
}

impl Dt {
    pub fn size(self) -> usize {
        match self {
            Dt::F32 => 4,
            Dt::F64 => 8,
        }
    }
    /// `v` rounded to this type and back.
    pub fn round(self, v: f64) -> f64 {
        match self {
            Dt::F32 => v as f32 as f64,
            Dt::F64 => v,
        }
    }
}

/// Element type of one buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elt {
    Float(Dt),
    I64,
}

impl Elt {
    pub fn size(self) -> usize {
        match self {
            Elt::Float(d) => d.size(),
            Elt::I64 => 8,
        }
    }
}

/// What a buffer holds, which fixes its domain (the values for which outputs must be finite).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Logits, regression values, log-probability inputs: any moderate finite value.
    Any,
    /// Box coordinates.
    Box,
    /// Probabilities in [0, 1] (tiny ones included).
    Prob,
    /// Probabilities of the overlap losses (they sum into denominators): 0, or [1e-6, 1].
    ProbOverlap,
    /// Log-probability targets: [-1e4, 0].
    LogProb,
    /// Weights: [0, 1e4].
    Weight,
    /// Class indices.
    Index,
    /// Binary float targets: 0 or 1 (anything else but ignore_index is INVALID_TARGET).
    Binary,
    /// Summed overlap statistics `[TP, P, G]` per score (double in both precisions): ≥ 0; NaN,
    /// and a negative sum of terms that are all ≥ 0, are INVALID_OPTION. Moderate: 0 or in
    /// [1e-3, 1e6], each triple consistent ([`stats_moderate`]).
    Stats,
}

/// Largest magnitude of a "moderate" value: logits of ±1e4 (f32 too), coordinates up to 1e4.
pub const MODERATE: f64 = 1e4;

impl Role {
    /// Whether `v` (as stored) lies in the role's domain with a moderate magnitude.
    pub fn moderate(self, v: f64) -> bool {
        match self {
            Role::Any | Role::Box => v.is_finite() && v.abs() <= MODERATE,
            Role::Prob => (0.0..=1.0).contains(&v),
            // (1e-6 as either type stores it: f32 rounds it just below.)
            Role::ProbOverlap => v == 0.0 || ((1e-6f32 as f64)..=1.0).contains(&v),
            Role::LogProb => (-MODERATE..=0.0).contains(&v),
            // A MEAN divides by Σw (of the counted terms): weights spanning more than ~1e10
            // make the true weighted mean overflow f32 (and weights all below ~1e-38 overflow
            // the reciprocal the kernels use: a known limitation, see docs/hardening.md).
            Role::Weight => v == 0.0 || (1e-6..=MODERATE).contains(&v),
            Role::Index => true,
            Role::Binary => v == 0.0 || v == 1.0,
            Role::Stats => v == 0.0 || (1e-3..=1e6).contains(&v),
        }
    }
}

/// Whether summed statistics are moderate: every value moderate and each triple consistent,
/// TP ≤ min(P, G) (sums that some batch has; inconsistent ones can put a score's denominator
/// near 0, where the true gradient overflows).
pub fn stats_moderate(x: &[f64]) -> bool {
    x.iter().all(|&v| Role::Stats.moderate(v)) && x.chunks(3).all(|t| t.len() < 3 || t[0] <= t[1].min(t[2]))
}

/// Makes statistics consistent (TP ≤ min(P, G) in each triple), as [`stats_moderate`] asks.
pub fn make_consistent(x: &mut [f64]) {
    for t in x.chunks_exact_mut(3) {
        t[0] = t[0].min(t[1]).min(t[2]);
    }
}

/// Where [`invoke`] finds the kind of a two-phase call: the u32 after the overlap options struct
/// in the driver's option bytes (the library reads only the struct).
pub const STATS_TAIL: usize = size_of::<lossfn_overlap_options>();

/// The number of statistics triples of a two-phase call: C' = classes, or classes − 1 without
/// the background (read off the options bytes; NULL: the defaults, with the background).
fn stats_triples(classes: usize, opt: *const u8) -> usize {
    // SAFETY: a non-NULL options pointer of the driver points to its whole option bytes (read
    // byte-wise: it may be misaligned).
    let bg = opt.is_null() || unsafe { opt.add(offset_of!(lossfn_overlap_options, include_background)).read() } != 0;
    if bg {
        classes
    } else {
        classes.saturating_sub(1)
    }
}

/// The kind of a two-phase call (NULL options: DICE).
fn stats_kind(opt: *const u8) -> u32 {
    // SAFETY: as stats_triples.
    if opt.is_null() {
        LOSSFN_OVERLAP_DICE
    } else {
        unsafe { std::ptr::read_unaligned(opt.add(STATS_TAIL).cast::<u32>()) }
    }
}

// ---------------------------------------------------------------------------------------------
// Sizes.

/// The size arguments of a call: `n` (regression, boxes, matrix rows), `m` (matrix columns),
/// `shape` (classification, overlap).
#[derive(Clone, Copy, Debug)]
pub struct Dims {
    pub n: usize,
    pub m: usize,
    pub shape: lossfn_shape,
    /// dfl_loss: sides per box (`m` is its bins).
    pub sides: usize,
}

impl Dims {
    pub fn n(n: usize) -> Self {
        Dims { n, m: 0, shape: shape(0, 0, 0, 0), sides: 0 }
    }
    pub fn nm(n: usize, m: usize) -> Self {
        Dims { n, m, shape: shape(0, 0, 0, 0), sides: 0 }
    }
    pub fn shape(batch: usize, classes: usize, spatial: usize, layout: u32) -> Self {
        Dims { n: 0, m: 0, shape: shape(batch, classes, spatial, layout), sides: 0 }
    }
    /// dfl_loss: n boxes, `sides` distributions of `bins` logits each.
    pub fn dfl(n: usize, sides: usize, bins: usize) -> Self {
        Dims { n, m: bins, shape: shape(0, 0, 0, 0), sides }
    }
}

pub fn shape(batch: usize, classes: usize, spatial: usize, layout: u32) -> lossfn_shape {
    lossfn_shape { batch, classes, spatial, layout }
}

/// One buffer argument: its element type, element count (`None` when the byte count overflows
/// `isize`, which the library must reject), role, and whether NULL is allowed.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    pub name: &'static str,
    pub elt: Elt,
    pub len: Option<usize>,
    pub role: Role,
    pub optional: bool,
}

fn bytes_ok(len: Option<usize>, elt: Elt) -> Option<usize> {
    len.and_then(|l| l.checked_mul(elt.size())).filter(|&b| b <= isize::MAX as usize).map(|b| b / elt.size())
}

// ---------------------------------------------------------------------------------------------
// Option structs as bytes.

/// A field of an options struct, and how the function being called treats it.
#[derive(Clone, Copy, Debug)]
enum Ty {
    /// An enum-like u32: the values this function accepts.
    U32(&'static [u32]),
    /// A double: validity, and moderation (the values for which outputs must be finite).
    F64(fn(f64) -> bool, fn(f64) -> bool),
    I64,
    /// A bool: any byte other than 0/1 must be rejected (whether the function uses it or not).
    Bool,
}

#[derive(Clone, Copy, Debug)]
struct Field {
    name: &'static str,
    off: usize,
    ty: Ty,
    /// Read (and so validated) by this function.
    used: bool,
}

fn finite(v: f64) -> bool {
    v.is_finite()
}
/// Sigmoid focal alpha: in [0, 1], or negative (disabled); (1, inf) gives negative terms.
fn focal_alpha(v: f64) -> bool {
    v.is_finite() && v <= 1.0
}
fn finite_ge0(v: f64) -> bool {
    v.is_finite() && v >= 0.0
}
fn finite_gt0(v: f64) -> bool {
    v.is_finite() && v > 0.0
}
fn unit(v: f64) -> bool {
    (0.0..=1.0).contains(&v)
}
fn any_f64(_: f64) -> bool {
    true
}
/// Moderate option values: outside these (but valid) the true value may overflow the type,
/// so outputs may be infinite, but never NaN.
/// Tier B options: beyond these magnitudes a derivative (or a square, like the distillation
/// T²) can overflow f32 inside the computation and leave a NaN (e.g. inf · 0).
fn tame(v: f64) -> bool {
    v == 0.0 || (1e-15..=1e15).contains(&v.abs())
}
fn eps_moderate(v: f64) -> bool {
    (1e-12..=1e3).contains(&v)
}
fn smooth_moderate(v: f64) -> bool {
    v == 0.0 || (1e-8..=1e4).contains(&v)
}
fn small_moderate(v: f64) -> bool {
    (0.0..=10.0).contains(&v)
}
fn gamma_overlap_moderate(v: f64) -> bool {
    (1e-3..=10.0).contains(&v)
}
fn loss_weight_moderate(v: f64) -> bool {
    (-1e3..=1e3).contains(&v)
}
/// 0 (unused) or finite > 0; that it goes only with MEAN is checked in [`decode`].
fn avg_factor_valid(v: f64) -> bool {
    v == 0.0 || (v > 0.0 && v.is_finite())
}
fn avg_factor_moderate(v: f64) -> bool {
    v == 0.0 || (1e-3..=1e12).contains(&v)
}
fn weight_moderate(v: f64) -> bool {
    (0.0..=1e3).contains(&v)
}
fn alpha_focal_moderate(v: f64) -> bool {
    (-10.0..=10.0).contains(&v)
}
fn temperature_moderate(v: f64) -> bool {
    (1e-2..=1e3).contains(&v)
}

const RED3: &[u32] =
    &[LOSSFN_REDUCTION_NONE, LOSSFN_REDUCTION_MEAN, LOSSFN_REDUCTION_SUM, LOSSFN_REDUCTION_MEAN_DENOMINATOR];
const RED4: &[u32] = &[
    LOSSFN_REDUCTION_NONE,
    LOSSFN_REDUCTION_MEAN,
    LOSSFN_REDUCTION_SUM,
    LOSSFN_REDUCTION_BATCHMEAN,
    LOSSFN_REDUCTION_MEAN_DENOMINATOR,
];
/// The DFL box branch: its two values are always reduced.
const RED_REDUCED: &[u32] = &[LOSSFN_REDUCTION_MEAN, LOSSFN_REDUCTION_SUM, LOSSFN_REDUCTION_MEAN_DENOMINATOR];
/// Dice + cross entropy: MEAN or SUM per part.
const RED_PARTS: &[u32] = &[LOSSFN_REDUCTION_MEAN, LOSSFN_REDUCTION_SUM];
const FORMATS: &[u32] = &[LOSSFN_BOX_XYXY, LOSSFN_BOX_XYWH, LOSSFN_BOX_CXCYWH, LOSSFN_BOX_LTRB];
const KINDS: &[u32] = &[LOSSFN_IOU_KIND_IOU, LOSSFN_IOU_KIND_GIOU, LOSSFN_IOU_KIND_DIOU, LOSSFN_IOU_KIND_CIOU];
const IOU_MODES: &[u32] = &[LOSSFN_IOU_LINEAR, LOSSFN_IOU_SQUARE, LOSSFN_IOU_LOG];
const CIOU_VARIANTS: &[u32] = &[LOSSFN_CIOU_TORCHVISION, LOSSFN_CIOU_ULTRALYTICS, LOSSFN_CIOU_MMDET];
const ACTIVATIONS: &[u32] = &[LOSSFN_ACTIVATION_NONE, LOSSFN_ACTIVATION_SIGMOID, LOSSFN_ACTIVATION_SOFTMAX];
const INPUT_KINDS: &[u32] = &[LOSSFN_INPUT_LOGITS, LOSSFN_INPUT_PROBS];
const LAYOUTS: &[u32] = &[LOSSFN_LAYOUT_NCS, LOSSFN_LAYOUT_NSC];

fn as_bytes<O: Copy>(o: &O) -> Vec<u8> {
    // SAFETY: reading the bytes of a plain #[repr(C)] struct (padding included, which is
    // initialised because every default struct is written whole below).
    let mut v = vec![0u8; size_of::<O>()];
    unsafe { std::ptr::copy_nonoverlapping((o as *const O).cast::<u8>(), v.as_mut_ptr(), v.len()) };
    v
}

/// The bytes of an options struct value (for callers that build typed options).
pub fn option_bytes<O: Copy>(o: &O) -> Vec<u8> {
    as_bytes(o)
}

/// The function's default options as bytes (padding zeroed), its alignment, and its fields.
fn options_layout(f: F) -> Option<(Vec<u8>, usize, Vec<Field>)> {
    use Ty::*;
    macro_rules! fld {
        ($s:ty, $name:ident, $ty:expr, $used:expr) => {
            Field { name: stringify!($name), off: offset_of!($s, $name), ty: $ty, used: $used }
        };
    }
    fn zeroed<O: Copy>(d: O) -> Vec<u8> {
        // Copy field by field through a zeroed buffer so padding is 0, not garbage.
        let mut buf = vec![0u8; size_of::<O>()];
        // SAFETY: writes a valid O into a buffer of its size (write_unaligned: Vec<u8> alignment).
        unsafe { std::ptr::write_unaligned(buf.as_mut_ptr().cast::<O>(), d) };
        buf
    }
    let (bytes, align, mut fields) = match f.family() {
        Family::Regression => {
            type O = lossfn_regression_options;
            (zeroed(lossfn_regression_options_default()), align_of::<O>(), vec![
                fld!(O, reduction, U32(RED3), true),
                fld!(O, beta, F64(finite_ge0, any_f64), f == F::SmoothL1Loss),
                fld!(O, delta, F64(finite_gt0, any_f64), f == F::HuberLoss),
            ])
        }
        Family::Boxes if f.form() == Form::ROTATED_BOX => {
            type O = lossfn_rotated_box_options;
            (zeroed(lossfn_rotated_box_options_default()), align_of::<O>(), vec![
                fld!(O, reduction, U32(RED3), true),
                fld!(O, eps, F64(finite_gt0, eps_moderate), true),
                fld!(O, floor, F64(finite_ge0, small_moderate), true),
            ])
        }
        Family::Boxes => {
            type O = lossfn_box_options;
            (zeroed(lossfn_box_options_default()), align_of::<O>(), vec![
                fld!(O, format, U32(FORMATS), true),
                fld!(O, reduction, U32(RED3), true),
                fld!(O, eps, F64(finite_gt0, eps_moderate), true),
                fld!(O, iou_mode, U32(IOU_MODES), f == F::IouLoss),
                fld!(O, gamma, F64(finite_ge0, small_moderate), f == F::EiouLoss),
                fld!(O, lambda, F64(finite_ge0, weight_moderate), f == F::CdiouLoss),
                fld!(O, ciou_variant, U32(CIOU_VARIANTS), f == F::CiouLoss),
            ])
        }
        Family::Matrix => return None,
        Family::Keypoints => {
            type O = lossfn_keypoint_options;
            (zeroed(lossfn_keypoint_options_default()), align_of::<O>(), vec![fld!(O, reduction, U32(RED3), true)])
        }
        Family::Dfl if f.form() == Form::DFL_BOX => {
            type O = lossfn_dfl_box_options;
            (zeroed(lossfn_dfl_box_options_default()), align_of::<O>(), vec![
                fld!(O, reduction, U32(RED_REDUCED), true),
                fld!(O, iou, U32(KINDS), true),
                fld!(O, ciou_variant, U32(CIOU_VARIANTS), true),
                fld!(O, eps, F64(finite_gt0, eps_moderate), true),
                fld!(O, iou_weight, F64(finite_ge0, weight_moderate), true),
                fld!(O, dfl_weight, F64(finite_ge0, weight_moderate), true),
            ])
        }
        Family::Dfl => {
            type O = lossfn_dfl_options;
            (zeroed(lossfn_dfl_options_default()), align_of::<O>(), vec![fld!(O, reduction, U32(RED3), true)])
        }
        Family::Overlap if f.lovasz() => {
            type O = lossfn_lovasz_options;
            (zeroed(lossfn_lovasz_options_default()), align_of::<O>(), vec![
                fld!(O, reduction, U32(RED3), true),
                // Lovász-Softmax only (the hinge takes logits).
                fld!(O, activation, U32(&[LOSSFN_ACTIVATION_SOFTMAX, LOSSFN_ACTIVATION_NONE]), f.form() == Form::LOVASZ_INDEX),
                fld!(O, per_image, Bool, true),
                fld!(O, classes_present, Bool, true),
                fld!(O, ignore_index, I64, true),
            ])
        }
        Family::Overlap => {
            type O = lossfn_overlap_options;
            let t = f.tversky();
            let fused = f.fused();
            // Dice + cross entropy: the cross-entropy struct follows the overlap one in the
            // driver's option bytes (the library reads the overlap struct there; the driver
            // builds the second argument from both, see dice_ce_options); only its
            // label_smoothing is a field of its own.
            // The two phases need batch = true: the driver's defaults have it (NULL options, the
            // library's defaults, do not: decode knows).
            let mut bytes = zeroed(lossfn_overlap_options { batch: f.two_phase(), ..lossfn_overlap_options_default() });
            let mut tail = Vec::new();
            if f.two_phase() {
                bytes.extend([0u8; 8]);
                tail.push(Field { name: "kind", off: STATS_TAIL, ty: U32(&[LOSSFN_OVERLAP_DICE, LOSSFN_OVERLAP_TVERSKY, LOSSFN_OVERLAP_GENERALIZED_DICE, LOSSFN_OVERLAP_JACCARD]), used: true });
            }
            // (focal_gamma: named apart from the overlap struct's own gamma, the Focal Tversky power)
            let own = match f.form() {
                Form::DICE_CE => Some((zeroed(lossfn_cross_entropy_options_default()), "label_smoothing",
                    offset_of!(lossfn_cross_entropy_options, label_smoothing), F64(unit, any_f64))),
                Form::DICE_FOCAL => Some((zeroed(lossfn_focal_options_default()), "focal_gamma",
                    offset_of!(lossfn_focal_options, gamma), F64(finite_ge0, small_moderate))),
                _ => None,
            };
            if let Some((second, name, off, ty)) = own {
                bytes.extend(second);
                tail.push(Field { name, off: DICE_CE_TAIL + off, ty, used: true });
            }
            let fields = vec![
                fld!(O, reduction, U32(if fused { RED_PARTS } else { RED3 }), true),
                // The fused parts share one softmax.
                fld!(O, activation, U32(if fused { &[LOSSFN_ACTIVATION_SOFTMAX] } else { ACTIVATIONS }), true),
                fld!(O, smooth_nr, F64(finite_ge0, smooth_moderate), true),
                fld!(O, smooth_dr, F64(finite_ge0, smooth_moderate), true),
                fld!(O, include_background, Bool, true),
                fld!(O, batch, Bool, true),
                fld!(O, squared_pred, Bool, true),
                // (Two phases: read by the Tversky kind only, see decode.)
                fld!(O, alpha, F64(finite_ge0, weight_moderate), t),
                fld!(O, beta, F64(finite_ge0, weight_moderate), t),
                fld!(O, gamma, F64(finite_gt0, gamma_overlap_moderate), true),
                fld!(O, ignore_index, I64, true),
                // Read by generalized Dice only.
                fld!(O, w_type, U32(&[LOSSFN_GDICE_SQUARE, LOSSFN_GDICE_SIMPLE, LOSSFN_GDICE_UNIFORM]), f.gdice()),
                fld!(O, soft_label, Bool, true),
            ];
            (bytes, align_of::<O>(), fields.into_iter().chain(tail).collect())
        }
        Family::Classification => match f.form() {
            Form::CROSS_ENTROPY_INDEX | Form::CROSS_ENTROPY => {
                type O = lossfn_cross_entropy_options;
                (zeroed(lossfn_cross_entropy_options_default()), align_of::<O>(), vec![
                    fld!(O, reduction, U32(RED3), true),
                    fld!(O, ignore_index, I64, f.index_target()),
                    fld!(O, label_smoothing, F64(unit, any_f64), true),
                ])
            }
            Form::BCE => {
                type O = lossfn_bce_options;
                (zeroed(lossfn_bce_options_default()), align_of::<O>(), vec![fld!(O, reduction, U32(RED3), true)])
            }
            Form::ENTROPY => {
                type O = lossfn_entropy_options;
                (zeroed(lossfn_entropy_options_default()), align_of::<O>(), vec![
                    fld!(O, reduction, U32(RED3), true),
                    fld!(O, input, U32(INPUT_KINDS), true),
                ])
            }
            Form::KL_DIV => {
                type O = lossfn_kl_div_options;
                (zeroed(lossfn_kl_div_options_default()), align_of::<O>(), vec![
                    fld!(O, reduction, U32(RED4), true),
                    fld!(O, log_target, Bool, true),
                ])
            }
            Form::DISTILLATION => {
                type O = lossfn_distillation_options;
                (zeroed(lossfn_distillation_options_default()), align_of::<O>(), vec![
                    fld!(O, reduction, U32(RED4), true),
                    fld!(O, temperature, F64(finite_gt0, temperature_moderate), true),
                ])
            }
            Form::FOCAL | Form::FOCAL_INDEX => {
                type O = lossfn_focal_options;
                let sig = f.form() == Form::FOCAL;
                (zeroed(lossfn_focal_options_default()), align_of::<O>(), vec![
                    fld!(O, reduction, U32(RED3), true),
                    fld!(O, alpha, F64(focal_alpha, alpha_focal_moderate), sig),
                    fld!(O, gamma, F64(finite_ge0, small_moderate), true),
                    fld!(O, ignore_index, I64, !sig),
                ])
            }
            Form::QUALITY_FOCAL => {
                type O = lossfn_quality_focal_options;
                let vfl = f == F::VarifocalLoss;
                (zeroed(lossfn_quality_focal_options_default()), align_of::<O>(), vec![
                    fld!(O, reduction, U32(RED3), true),
                    fld!(O, alpha, F64(finite_ge0, small_moderate), vfl),
                    fld!(O, gamma, F64(finite_ge0, small_moderate), true),
                    fld!(O, iou_weighted, Bool, true),
                    fld!(O, detach_weight, Bool, true),
                ])
            }
            _ => unreachable!(),
        },
    };
    // Every options struct ends with the output controls of docs/api.md §3: loss_weight,
    // avg_factor (f64) and accumulate (bool, padded to 8 bytes). (Dice + cross entropy: those of
    // its overlap struct, which the driver copies into the cross-entropy one.)
    let end = if f.fused() || f.two_phase() { DICE_CE_TAIL } else { bytes.len() };
    fields.extend([
        Field { name: "loss_weight", off: end - 24, ty: F64(finite, loss_weight_moderate), used: true },
        Field { name: "avg_factor", off: end - 16, ty: F64(avg_factor_valid, avg_factor_moderate), used: true },
        Field { name: "accumulate", off: end - 8, ty: Bool, used: true },
    ]);
    Some((bytes, align, fields))
}

fn get_u32(b: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes(b[off..off + 4].try_into().unwrap())
}
fn get_f64(b: &[u8], off: usize) -> f64 {
    f64::from_ne_bytes(b[off..off + 8].try_into().unwrap())
}
fn get_i64(b: &[u8], off: usize) -> i64 {
    i64::from_ne_bytes(b[off..off + 8].try_into().unwrap())
}
fn put(b: &mut [u8], off: usize, v: &[u8]) {
    b[off..off + v.len()].copy_from_slice(v);
}

/// What the driver knows about the options a call will see.
#[derive(Clone, Debug)]
pub struct Decoded {
    /// Statuses the options alone may cause (bit per status).
    pub defects: u32,
    /// Every used double is moderate (tier A).
    pub moderate: bool,
    /// Every used double is 0 or of magnitude in [1e-15, 1e15] (tier B).
    pub tame: bool,
    pub reduction: u32,
    pub ignore_index: i64,
    /// Overlap: activation NONE (input is probabilities); entropy: PROBS.
    pub probs_input: bool,
    pub log_target: bool,
    pub include_background: bool,
    pub batch: bool,
    /// Lovász: one value per image.
    pub per_image: bool,
    /// grad += ∂L: the gradient buffer keeps its content where ∂L is 0.
    pub accumulate: bool,
    /// The two phases: the kind (LOSSFN_OVERLAP_*).
    pub kind: u32,
}

fn bit(status: u32) -> u32 {
    1 << status
}

/// Decodes option bytes (the defaults when `bytes` is `None`) as function `f` reads them.
fn decode(f: F, bytes: Option<&[u8]>, classes: usize) -> Decoded {
    let mut d = Decoded {
        defects: 0,
        moderate: true,
        tame: true,
        reduction: LOSSFN_REDUCTION_MEAN,
        ignore_index: -100,
        probs_input: false,
        log_target: false,
        include_background: true,
        batch: false,
        per_image: false,
        accumulate: false,
        kind: LOSSFN_OVERLAP_DICE,
    };
    if bytes.is_none() && f.two_phase() {
        // NULL options are the library's defaults: batch = false.
        d.defects |= bit(LOSSFN_ERROR_INVALID_OPTION);
    }
    let Some((default, _, fields)) = options_layout(f) else { return d };
    let b = bytes.unwrap_or(&default);
    for fl in &fields {
        match fl.ty {
            Ty::U32(valid) => {
                let v = get_u32(b, fl.off);
                if fl.used && !valid.contains(&v) {
                    d.defects |= bit(LOSSFN_ERROR_INVALID_OPTION);
                }
                match fl.name {
                    "reduction" => d.reduction = v,
                    "activation" => d.probs_input = fl.used && v == LOSSFN_ACTIVATION_NONE,
                    "input" => d.probs_input = v == LOSSFN_INPUT_PROBS,
                    "kind" => d.kind = v,
                    _ => {}
                }
            }
            Ty::F64(valid, moderate) => {
                let v = get_f64(b, fl.off);
                if fl.used && !valid(v) {
                    d.defects |= bit(LOSSFN_ERROR_INVALID_OPTION);
                }
                if fl.used && !moderate(v) {
                    d.moderate = false;
                }
                if fl.used && !tame(v) {
                    d.tame = false;
                }
            }
            Ty::I64 => {
                d.ignore_index = get_i64(b, fl.off);
                if f.soft_target() && d.ignore_index != -100 {
                    d.defects |= bit(LOSSFN_ERROR_INVALID_OPTION);
                }
            }
            Ty::Bool => {
                let v = b[fl.off];
                if v > 1 {
                    d.defects |= bit(LOSSFN_ERROR_INVALID_OPTION);
                }
                // soft_label is for soft targets: index targets refuse it.
                if fl.name == "soft_label" && v == 1 && f.index_target() {
                    d.defects |= bit(LOSSFN_ERROR_INVALID_OPTION);
                }
                // Generalized Dice (MONAI's) has no squared-prediction denominator.
                if fl.name == "squared_pred" && v == 1 && f.gdice() {
                    d.defects |= bit(LOSSFN_ERROR_INVALID_OPTION);
                }
                match fl.name {
                    "log_target" => d.log_target = v != 0,
                    "include_background" => d.include_background = v != 0,
                    "batch" => d.batch = v != 0,
                    "per_image" => d.per_image = v != 0,
                    "accumulate" => d.accumulate = v != 0,
                    _ => {}
                }
            }
        }
    }
    if let Some(fl) = fields.iter().find(|fl| fl.name == "avg_factor") {
        if get_f64(b, fl.off) > 0.0 && d.reduction != LOSSFN_REDUCTION_MEAN {
            d.defects |= bit(LOSSFN_ERROR_INVALID_OPTION);
        }
    }
    if f.lovasz() {
        // The hinge is binary; a softmax over one class is the constant 1.
        let softmax = f.form() == Form::LOVASZ_INDEX && get_u32(b, offset_of!(lossfn_lovasz_options, activation)) == LOSSFN_ACTIVATION_SOFTMAX;
        if (f.form() == Form::LOVASZ && classes != 1) || (softmax && classes == 1) {
            d.defects |= bit(LOSSFN_ERROR_INVALID_OPTION);
        }
        return d;
    }
    if f.family() == Family::Overlap {
        // smooth_dr = 0 with smooth_nr > 0: a score (smooth_nr + ...) / (P + ...) is unbounded
        // as a class's predicted mass P vanishes (softmax of logits 1e4 apart), and so are its
        // derivatives: the true values overflow.
        let nr = get_f64(b, offset_of!(lossfn_overlap_options, smooth_nr));
        let dr = get_f64(b, offset_of!(lossfn_overlap_options, smooth_dr));
        if dr == 0.0 && nr != 0.0 {
            d.moderate = false;
            d.tame = false;
        }
    }
    if f.two_phase() {
        // What the kind reads: Tversky alpha and beta, generalized Dice w_type (and no squared_pred).
        type O = lossfn_overlap_options;
        if !d.batch {
            d.defects |= bit(LOSSFN_ERROR_INVALID_OPTION);
        }
        if d.kind == LOSSFN_OVERLAP_TVERSKY {
            for off in [offset_of!(O, alpha), offset_of!(O, beta)] {
                let v = get_f64(b, off);
                if !finite_ge0(v) {
                    d.defects |= bit(LOSSFN_ERROR_INVALID_OPTION);
                }
                d.moderate &= weight_moderate(v);
                d.tame &= tame(v);
            }
        }
        if d.kind == LOSSFN_OVERLAP_GENERALIZED_DICE {
            let w_type = get_u32(b, offset_of!(O, w_type));
            if w_type > LOSSFN_GDICE_UNIFORM || b[offset_of!(O, squared_pred)] == 1 {
                d.defects |= bit(LOSSFN_ERROR_INVALID_OPTION);
            }
        }
    }
    if f.family() == Family::Overlap && classes == 1 {
        let softmax = get_u32(b, offset_of!(lossfn_overlap_options, activation)) == LOSSFN_ACTIVATION_SOFTMAX;
        if !d.include_background || softmax {
            d.defects |= bit(LOSSFN_ERROR_INVALID_OPTION);
        }
    }
    d
}

/// Where the second struct of a fused Dice call (cross entropy or focal) starts in the driver's
/// option bytes: right after the overlap struct.
const DICE_CE_TAIL: usize = size_of::<lossfn_overlap_options>();

/// What the second struct of a fused Dice call copies from the overlap struct: reduction,
/// ignore_index, loss_weight, avg_factor, accumulate.
struct Mirrored {
    reduction: u32,
    ignore_index: i64,
    loss_weight: f64,
    avg_factor: f64,
    accumulate: bool,
}

/// Reads the mirrored fields (NULL: None) and the second struct's own f64 field at `own` (its
/// offset inside that struct). Byte by byte: the bytes may be misaligned or hold an invalid bool
/// (the library refuses those in the overlap struct first).
fn mirrored(opt: *const u8, own: usize) -> Option<(Mirrored, f64)> {
    if opt.is_null() {
        return None;
    }
    type O = lossfn_overlap_options;
    // SAFETY: a non-NULL options pointer of the driver points to its whole option bytes: the
    // overlap struct and the second struct after it.
    unsafe {
        let at = |off: usize| opt.add(off);
        Some((
            Mirrored {
                reduction: std::ptr::read_unaligned(at(offset_of!(O, reduction)).cast::<u32>()),
                ignore_index: std::ptr::read_unaligned(at(offset_of!(O, ignore_index)).cast::<i64>()),
                loss_weight: std::ptr::read_unaligned(at(offset_of!(O, loss_weight)).cast::<f64>()),
                avg_factor: std::ptr::read_unaligned(at(offset_of!(O, avg_factor)).cast::<f64>()),
                accumulate: at(offset_of!(O, accumulate)).read() == 1,
            },
            std::ptr::read_unaligned(at(DICE_CE_TAIL + own).cast::<f64>()),
        ))
    }
}

/// The cross-entropy struct of a Dice + cross entropy call: the mirrored fields, its own label
/// smoothing.
fn dice_ce_options(opt: *const u8) -> Option<lossfn_cross_entropy_options> {
    let (m, label_smoothing) = mirrored(opt, offset_of!(lossfn_cross_entropy_options, label_smoothing))?;
    Some(lossfn_cross_entropy_options {
        reduction: m.reduction,
        ignore_index: m.ignore_index,
        label_smoothing,
        loss_weight: m.loss_weight,
        avg_factor: m.avg_factor,
        accumulate: m.accumulate,
    })
}

/// The focal struct of a Dice + focal call: the mirrored fields, its own gamma (alpha unused).
fn dice_focal_options(opt: *const u8) -> Option<lossfn_focal_options> {
    let (m, gamma) = mirrored(opt, offset_of!(lossfn_focal_options, gamma))?;
    Some(lossfn_focal_options {
        reduction: m.reduction,
        alpha: 0.25,
        gamma,
        ignore_index: m.ignore_index,
        loss_weight: m.loss_weight,
        avg_factor: m.avg_factor,
        accumulate: m.accumulate,
    })
}

/// The buffers of a call given its sizes and (decoded) options, and the statuses its sizes may
/// cause. `None` as a length: the byte count overflows.
pub fn specs(f: F, dt: Dt, d: &Dims, o: &Decoded) -> (Vec<Spec>, Vec<Spec>, u32) {
    let fl = Elt::Float(dt);
    let sp = |name, len: Option<usize>, role| Spec { name, elt: fl, len, role, optional: false };
    let opt = |name, len: Option<usize>, role| Spec { name, elt: fl, len, role, optional: true };
    let none = o.reduction == LOSSFN_REDUCTION_NONE;
    let reduced = |len: Option<usize>| if none { len } else { Some(1) };
    let (ins, outs, mut defects) = match f.family() {
        Family::Regression => {
            let n = Some(d.n);
            (
                vec![sp("input", n, Role::Any), sp("target", n, Role::Any), opt("weight", n, Role::Weight)],
                vec![sp("loss", reduced(n), Role::Any), opt("grad", n, Role::Any)],
                0,
            )
        }
        Family::Boxes => {
            let n = Some(d.n);
            let n4 = d.n.checked_mul(f.box_width());
            (
                vec![sp("pred", n4, Role::Box), sp("target", n4, Role::Box), opt("weight", n, Role::Weight)],
                vec![sp("loss", reduced(n), Role::Any), opt("grad", n4, Role::Any)],
                0,
            )
        }
        Family::Keypoints => {
            let terms = d.n.checked_mul(d.m);
            let len = terms.and_then(|t| t.checked_mul(2));
            (
                vec![
                    sp("pred", len, Role::Any),
                    sp("target", len, Role::Any),
                    sp("visible", terms, Role::Any),
                    sp("area", Some(d.n), Role::Any),
                    sp("sigmas", Some(d.m), Role::Any),
                ],
                vec![sp("loss", reduced(terms), Role::Any), opt("grad", len, Role::Any)],
                if len.is_none() { bit(LOSSFN_ERROR_INVALID_SIZE) } else { 0 },
            )
        }
        Family::Dfl if f.form() == Form::DFL_BOX => {
            let rows = d.n.checked_mul(4);
            let len = rows.and_then(|r| r.checked_mul(d.m));
            let defects = if d.m < 2 || len.is_none() { bit(LOSSFN_ERROR_INVALID_SIZE) } else { 0 };
            // [L_iou, L_dfl], or the denominator alone
            let loss_len = if o.reduction == LOSSFN_REDUCTION_MEAN_DENOMINATOR { 1 } else { 2 };
            (
                vec![
                    sp("logits", len, Role::Any),
                    sp("anchors", d.n.checked_mul(2), Role::Box),
                    sp("target", rows, Role::Box),
                    opt("weight", Some(d.n), Role::Weight),
                ],
                vec![sp("loss", Some(loss_len), Role::Any), opt("grad", len, Role::Any)],
                defects,
            )
        }
        Family::Dfl => {
            let n = Some(d.n);
            let rows = d.n.checked_mul(d.sides);
            let len = rows.and_then(|r| r.checked_mul(d.m));
            let mut defects = 0;
            if d.m < 2 || (d.sides == 0 && d.n > 0) || len.is_none() {
                defects |= bit(LOSSFN_ERROR_INVALID_SIZE);
            }
            (
                vec![sp("logits", len, Role::Any), sp("target", rows, Role::Any), opt("weight", n, Role::Weight)],
                vec![sp("loss", reduced(n), Role::Any), opt("grad", len, Role::Any)],
                defects,
            )
        }
        Family::Matrix => (
            vec![sp("boxes1", d.n.checked_mul(f.box_width()), Role::Box), sp("boxes2", d.m.checked_mul(f.box_width()), Role::Box)],
            vec![sp("out", d.n.checked_mul(d.m), Role::Any)],
            0,
        ),
        Family::Classification | Family::Overlap => {
            let s = d.shape;
            let mut defects = 0;
            if !LAYOUTS.contains(&s.layout) {
                defects |= bit(LOSSFN_ERROR_INVALID_OPTION);
            }
            if s.classes == 0 {
                defects |= bit(LOSSFN_ERROR_INVALID_SIZE);
            }
            let p = s.batch.checked_mul(s.spatial);
            let n = p.and_then(|p| p.checked_mul(s.classes));
            let c = Some(s.classes);
            let idx = |name, len| Spec { name, elt: Elt::I64, len, role: Role::Index, optional: false };
            let prob_in = if o.probs_input { Role::Prob } else { Role::Any };
            if f.two_phase() {
                let input_role = if o.probs_input { Role::ProbOverlap } else { Role::Any };
                let target = if f.index_target() { idx("target", p) } else { sp("target", n, Role::ProbOverlap) };
                let c1 = if o.include_background { s.classes } else { s.classes.saturating_sub(1) };
                let stats = |name| Spec { name, elt: Elt::Float(Dt::F64), len: c1.checked_mul(3), role: Role::Stats, optional: false };
                if f.stats_phase() {
                    // Statistics out, no loss, no gradient.
                    (vec![sp("input", n, input_role), target], vec![stats("stats")], defects)
                } else {
                    let gdice = o.kind == LOSSFN_OVERLAP_GENERALIZED_DICE;
                    let loss_len = if o.reduction != LOSSFN_REDUCTION_NONE || gdice { 1 } else { c1 };
                    // (Generalized Dice takes no class_weight: the driver passes none.)
                    let mut ins = vec![sp("input", n, input_role), target, stats("global_stats")];
                    if !gdice {
                        ins.push(opt("class_weight", c, Role::Weight));
                    }
                    (ins, vec![sp("loss", Some(loss_len), Role::Any), opt("grad", n, Role::Any)], defects)
                }

            } else {
            let (ins, loss_len) = match f.form() {
                Form::CROSS_ENTROPY_INDEX => (vec![sp("logits", n, Role::Any), idx("target", p), opt("class_weight", c, Role::Weight)], p),
                Form::CROSS_ENTROPY => (vec![sp("logits", n, Role::Any), sp("target", n, Role::Prob), opt("class_weight", c, Role::Weight)], p),
                Form::BCE => (
                    vec![
                        sp("logits", n, Role::Any),
                        sp("target", n, Role::Prob),
                        opt("weight", n, Role::Weight),
                        opt("pos_weight", c, Role::Weight),
                    ],
                    n,
                ),
                Form::ENTROPY => (vec![sp("input", n, prob_in)], p),
                Form::KL_DIV => {
                    let t = if o.log_target { Role::LogProb } else { Role::Prob };
                    (vec![sp("input", n, Role::Any), sp("target", n, t)], n)
                }
                Form::DISTILLATION => (vec![sp("student_logits", n, Role::Any), sp("teacher_logits", n, Role::Any)], p),
                Form::FOCAL | Form::QUALITY_FOCAL => {
                    (vec![sp("logits", n, Role::Any), sp("target", n, Role::Prob), opt("weight", n, Role::Weight)], n)
                }
                Form::FOCAL_INDEX => (vec![sp("logits", n, Role::Any), idx("target", p), opt("class_alpha", c, Role::Weight)], p),
                Form::DICE_CE | Form::DICE_FOCAL => (vec![sp("logits", n, Role::Any), idx("target", p), opt("class_weight", c, Role::Weight)], Some(3)),
                // One value per image, or one.
                Form::LOVASZ_INDEX => (vec![sp("input", n, prob_in), idx("target", p)], Some(if o.per_image { s.batch } else { 1 })),
                Form::LOVASZ => (vec![sp("logits", n, Role::Any), sp("target", p, Role::Binary)], Some(if o.per_image { s.batch } else { 1 })),
                Form::OVERLAP_INDEX | Form::OVERLAP | Form::GENERALIZED_DICE_INDEX | Form::GENERALIZED_DICE => {
                    let input_role = if o.probs_input { Role::ProbOverlap } else { Role::Any };
                    let target = if f.index_target() { idx("target", p) } else { sp("target", n, Role::ProbOverlap) };
                    let c1 = if o.include_background { s.classes } else { s.classes.saturating_sub(1) };
                    if f.gdice() {
                        // One score per sample, or one for the pooled batch.
                        (vec![sp("input", n, input_role), target], Some(if o.batch { 1 } else { s.batch }))
                    } else {
                        let scores = if o.batch { c1 } else { s.batch.saturating_mul(c1) };
                        (vec![sp("input", n, input_role), target, opt("class_weight", c, Role::Weight)], Some(scores))
                    }
                }
                form => unreachable!("{form:?} is not a class-tensor form"),
            };
            // (Dice + cross entropy: always its three values.)
            let loss_len = if f.fused() { loss_len } else { reduced(loss_len) };
            (ins, vec![sp("loss", loss_len, Role::Any), opt("grad", n, Role::Any)], defects)
            }
        }
    };
    let mut ins = ins;
    let mut outs = outs;
    for s in ins.iter_mut().chain(outs.iter_mut()) {
        s.len = bytes_ok(s.len, s.elt);
        if s.len.is_none() {
            defects |= bit(LOSSFN_ERROR_INVALID_SIZE);
        }
    }
    (ins, outs, defects)
}

// ---------------------------------------------------------------------------------------------
// Calling.

/// The scalar arguments of the IoU matrix.
#[derive(Clone, Copy, Debug)]
pub struct MatrixArgs {
    pub format: u32,
    pub kind: u32,
    pub eps: f64,
}

impl Default for MatrixArgs {
    fn default() -> Self {
        MatrixArgs { format: LOSSFN_BOX_XYXY, kind: LOSSFN_IOU_KIND_IOU, eps: 1e-7 }
    }
}

/// Calls `f` in `dt` with raw pointers: `ins` and `outs` in the order of [`specs`] (missing
/// trailing ones are NULL), `opt` the options struct (NULL for defaults).
///
/// # Safety
/// The pointers must be valid for what the sizes claim (or the call must be rejected first).
pub unsafe fn invoke(f: F, dt: Dt, d: &Dims, mx: &MatrixArgs, ins: &[*const u8], outs: &[*mut u8], opt: *const u8) -> u32 {
    let i = |k: usize| ins.get(k).copied().unwrap_or(null());
    let o = |k: usize| outs.get(k).copied().unwrap_or(std::ptr::null_mut());
    let s = d.shape;
    macro_rules! by_dt {
        ($f32:ident, $f64:ident, |$g:ident, $T:ident| $body:expr) => {
            match dt {
                Dt::F32 => {
                    type $T = f32;
                    let $g = $f32;
                    $body
                }
                Dt::F64 => {
                    type $T = f64;
                    let $g = $f64;
                    $body
                }
            }
        };
    }
    macro_rules! regression {
        ($f32:ident, $f64:ident) => {
            by_dt!($f32, $f64, |g, T| unsafe {
                g(i(0) as *const T, i(1) as *const T, i(2) as *const T, d.n, opt.cast(), o(0) as *mut T, o(1) as *mut T)
            })
        };
    }
    macro_rules! three_in_shape {
        ($f32:ident, $f64:ident, $tgt:ty) => {
            by_dt!($f32, $f64, |g, T| unsafe {
                g(i(0) as *const T, i(1) as *const $tgt, i(2) as *const T, s, opt.cast(), o(0) as *mut T, o(1) as *mut T)
            })
        };
    }
    macro_rules! two_in_shape {
        ($f32:ident, $f64:ident) => { two_in_shape!($f32, $f64, T) };
        ($f32:ident, $f64:ident, $tgt:ty) => {
            by_dt!($f32, $f64, |g, T| unsafe { g(i(0) as *const T, i(1) as *const $tgt, s, opt.cast(), o(0) as *mut T, o(1) as *mut T) })
        };
    }
    // The two phases: the kind after the options struct, 3·C' statistics (double).
    macro_rules! stats {
        ($f32:ident, $f64:ident, $tgt:ty) => {{
            let (kind, len) = (stats_kind(opt), stats_triples(s.classes, opt).wrapping_mul(3));
            by_dt!($f32, $f64, |g, T| unsafe { g(kind, i(0) as *const T, i(1) as *const $tgt, s, opt.cast(), o(0) as *mut f64, len) })
        }};
    }
    macro_rules! from_stats {
        ($f32:ident, $f64:ident, $tgt:ty) => {{
            let (kind, len) = (stats_kind(opt), stats_triples(s.classes, opt).wrapping_mul(3));
            by_dt!($f32, $f64, |g, T| unsafe {
                g(kind, i(0) as *const T, i(1) as *const $tgt, i(3) as *const T, s, opt.cast(), i(2) as *const f64, len, o(0) as *mut T, o(1) as *mut T)
            })
        }};
    }
    macro_rules! call {
        (REGRESSION, $f32:ident, $f64:ident) => { regression!($f32, $f64) };
        (BOX, $f32:ident, $f64:ident) => { regression!($f32, $f64) };
        (ROTATED_BOX, $f32:ident, $f64:ident) => { regression!($f32, $f64) };
        (KEYPOINT, $f32:ident, $f64:ident) => {
            by_dt!($f32, $f64, |g, T| unsafe {
                g(i(0) as *const T, i(1) as *const T, i(2) as *const T, i(3) as *const T, i(4) as *const T, d.n, d.m, opt.cast(), o(0) as *mut T, o(1) as *mut T)
            })
        };
        (DFL, $f32:ident, $f64:ident) => {
            by_dt!($f32, $f64, |g, T| unsafe {
                g(i(0) as *const T, i(1) as *const T, i(2) as *const T, d.n, d.sides, d.m, opt.cast(), o(0) as *mut T, o(1) as *mut T)
            })
        };
        (DFL_BOX, $f32:ident, $f64:ident) => {
            by_dt!($f32, $f64, |g, T| unsafe {
                g(i(0) as *const T, i(1) as *const T, i(2) as *const T, i(3) as *const T, d.n, d.m, opt.cast(), o(0) as *mut T, o(1) as *mut T)
            })
        };
        (MATRIX, $f32:ident, $f64:ident) => {
            by_dt!($f32, $f64, |g, T| unsafe { g(i(0) as *const T, d.n, i(1) as *const T, d.m, mx.format, mx.kind, mx.eps, o(0) as *mut T) })
        };
        (PROBIOU_MATRIX, $f32:ident, $f64:ident) => {
            by_dt!($f32, $f64, |g, T| unsafe { g(i(0) as *const T, d.n, i(1) as *const T, d.m, mx.eps, o(0) as *mut T) })
        };
        (BCE, $f32:ident, $f64:ident) => {
            by_dt!($f32, $f64, |g, T| unsafe {
                g(i(0) as *const T, i(1) as *const T, i(2) as *const T, i(3) as *const T, s, opt.cast(), o(0) as *mut T, o(1) as *mut T)
            })
        };
        (ENTROPY, $f32:ident, $f64:ident) => {
            by_dt!($f32, $f64, |g, T| unsafe { g(i(0) as *const T, s, opt.cast(), o(0) as *mut T, o(1) as *mut T) })
        };
        (KL_DIV, $f32:ident, $f64:ident) => { two_in_shape!($f32, $f64) };
        (DISTILLATION, $f32:ident, $f64:ident) => { two_in_shape!($f32, $f64) };
        (CROSS_ENTROPY_INDEX, $f32:ident, $f64:ident) => { three_in_shape!($f32, $f64, i64) };
        (FOCAL_INDEX, $f32:ident, $f64:ident) => { three_in_shape!($f32, $f64, i64) };
        (OVERLAP_INDEX, $f32:ident, $f64:ident) => { three_in_shape!($f32, $f64, i64) };
        (CROSS_ENTROPY, $f32:ident, $f64:ident) => { three_in_shape!($f32, $f64, T) };
        (FOCAL, $f32:ident, $f64:ident) => { three_in_shape!($f32, $f64, T) };
        (QUALITY_FOCAL, $f32:ident, $f64:ident) => { three_in_shape!($f32, $f64, T) };
        (OVERLAP, $f32:ident, $f64:ident) => { three_in_shape!($f32, $f64, T) };
        (GENERALIZED_DICE_INDEX, $f32:ident, $f64:ident) => { two_in_shape!($f32, $f64, i64) };
        (GENERALIZED_DICE, $f32:ident, $f64:ident) => { two_in_shape!($f32, $f64, T) };
        (LOVASZ_INDEX, $f32:ident, $f64:ident) => { two_in_shape!($f32, $f64, i64) };
        (LOVASZ, $f32:ident, $f64:ident) => { two_in_shape!($f32, $f64, T) };
        (DICE_FOCAL, $f32:ident, $f64:ident) => {{
            let focal = dice_focal_options(opt);
            let focal_ptr = focal.as_ref().map_or(null(), |c| c as *const lossfn_focal_options);
            by_dt!($f32, $f64, |g, T| unsafe {
                g(i(0) as *const T, i(1) as *const i64, i(2) as *const T, s, opt.cast(), focal_ptr, o(0) as *mut T, o(1) as *mut T)
            })
        }};
        (OVERLAP_STATS_INDEX, $f32:ident, $f64:ident) => { stats!($f32, $f64, i64) };
        (OVERLAP_STATS, $f32:ident, $f64:ident) => { stats!($f32, $f64, T) };
        (OVERLAP_FROM_STATS_INDEX, $f32:ident, $f64:ident) => { from_stats!($f32, $f64, i64) };
        (OVERLAP_FROM_STATS, $f32:ident, $f64:ident) => { from_stats!($f32, $f64, T) };
        (DICE_CE, $f32:ident, $f64:ident) => {{
            let ce = dice_ce_options(opt);
            let ce_ptr = ce.as_ref().map_or(null(), |c| c as *const lossfn_cross_entropy_options);
            by_dt!($f32, $f64, |g, T| unsafe {
                g(i(0) as *const T, i(1) as *const i64, i(2) as *const T, s, opt.cast(), ce_ptr, o(0) as *mut T, o(1) as *mut T)
            })
        }};
    }
    dispatch!(f, call)
}

// ---------------------------------------------------------------------------------------------
// Buffers with guard bytes.

/// Bytes of guard before and after every buffer.
const GUARD: usize = 32;
/// Canary byte: 0xFF.. is a NaN in f32 and f64 that no arithmetic produces (x86 makes
/// 0xFFC00000 / 0xFFF8.. and NaN inputs here are canonical), so an element still holding it
/// after a successful call was never written.
const CANARY: u8 = 0xFF;

/// One allocation: guard, `misalign` bytes, payload, guard; 8-byte aligned storage.
pub struct Alloc {
    store: Vec<u64>,
    start: usize,
    bytes: usize,
}

impl Alloc {
    fn new(bytes: usize, misalign: usize) -> Self {
        let total = GUARD + 8 + bytes + GUARD;
        let mut a = Alloc { store: vec![0u64; total.div_ceil(8)], start: GUARD + misalign, bytes };
        a.all_mut().fill(CANARY);
        a
    }
    fn all(&self) -> &[u8] {
        // SAFETY: the u64 storage viewed as bytes.
        unsafe { std::slice::from_raw_parts(self.store.as_ptr().cast::<u8>(), self.store.len() * 8) }
    }
    fn all_mut(&mut self) -> &mut [u8] {
        // SAFETY: as `all`.
        unsafe { std::slice::from_raw_parts_mut(self.store.as_mut_ptr().cast::<u8>(), self.store.len() * 8) }
    }
    fn ptr(&mut self) -> *mut u8 {
        // SAFETY: start < the allocation's size.
        unsafe { self.store.as_mut_ptr().cast::<u8>().add(self.start) }
    }
    fn payload(&self) -> &[u8] {
        &self.all()[self.start..self.start + self.bytes]
    }
    fn write_values(&mut self, elt: Elt, v: &Values) {
        let s = self.start;
        let b = self.all_mut();
        match v {
            Values::F(x) => {
                for (k, &x) in x.iter().enumerate() {
                    match elt {
                        Elt::Float(Dt::F32) => b[s + 4 * k..s + 4 * k + 4].copy_from_slice(&(x as f32).to_ne_bytes()),
                        _ => b[s + 8 * k..s + 8 * k + 8].copy_from_slice(&x.to_ne_bytes()),
                    }
                }
            }
            Values::I(x) => {
                for (k, &x) in x.iter().enumerate() {
                    b[s + 8 * k..s + 8 * k + 8].copy_from_slice(&x.to_ne_bytes());
                }
            }
        }
    }
}

/// The float type of a buffer of element type `elt` in a call of `dt` (statistics are double in
/// both).
fn float_dt(elt: Elt, dt: Dt) -> Dt {
    match elt {
        Elt::Float(d) => d,
        Elt::I64 => dt,
    }
}

/// Decodes a float payload.
fn floats(bytes: &[u8], dt: Dt) -> Vec<f64> {
    match dt {
        Dt::F32 => bytes.chunks_exact(4).map(|c| f32::from_ne_bytes(c.try_into().unwrap()) as f64).collect(),
        Dt::F64 => bytes.chunks_exact(8).map(|c| f64::from_ne_bytes(c.try_into().unwrap())).collect(),
    }
}

/// The values of an input buffer.
#[derive(Clone, Debug)]
pub enum Values {
    F(Vec<f64>),
    I(Vec<i64>),
}

impl Values {
    pub fn len(&self) -> usize {
        match self {
            Values::F(v) => v.len(),
            Values::I(v) => v.len(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Clean calls (for the determinism and finite tests).

/// Options of function `f` as bytes, built from its defaults by field name.
#[derive(Clone, Debug)]
pub struct Opts {
    f: F,
    pub bytes: Vec<u8>,
}

impl Opts {
    /// The defaults (`None` for the IoU matrix, which takes scalars).
    pub fn new(f: F) -> Option<Self> {
        options_layout(f).map(|(bytes, _, _)| Opts { f, bytes })
    }
    /// The byte offset of field `name`.
    pub fn field(&self, name: &str) -> usize {
        let (_, _, fields) = options_layout(self.f).unwrap();
        fields.iter().find(|fl| fl.name == name).unwrap_or_else(|| panic!("{}: no option `{name}`", self.f.name())).off
    }
    pub fn u32(mut self, name: &str, v: u32) -> Self {
        let off = self.field(name);
        put(&mut self.bytes, off, &v.to_ne_bytes());
        self
    }
    pub fn f64(mut self, name: &str, v: f64) -> Self {
        let off = self.field(name);
        put(&mut self.bytes, off, &v.to_ne_bytes());
        self
    }
    pub fn i64(mut self, name: &str, v: i64) -> Self {
        let off = self.field(name);
        put(&mut self.bytes, off, &v.to_ne_bytes());
        self
    }
    pub fn bool(mut self, name: &str, v: bool) -> Self {
        let off = self.field(name);
        self.bytes[off] = v as u8;
        self
    }
    pub fn reduction(self, r: u32) -> Self {
        self.u32("reduction", r)
    }
    /// Sets the field `name` from a number (its C type decides how: enum, double, int64, bool),
    /// for callers that read options from data (the fixture replay).
    pub fn set(self, name: &str, v: f64) -> Self {
        let (_, _, fields) = options_layout(self.f).unwrap();
        let ty = fields.iter().find(|fl| fl.name == name).unwrap_or_else(|| panic!("{}: no option `{name}`", self.f.name())).ty;
        match ty {
            Ty::U32(_) => self.u32(name, v as u32),
            Ty::F64(..) => self.f64(name, v),
            Ty::I64 => self.i64(name, v as i64),
            Ty::Bool => self.bool(name, v != 0.0),
        }
    }
    /// Sets the field `name` like [`Opts::set`] where the function's options struct has it, and
    /// does nothing where it has not (for option sets shared by a family).
    pub fn maybe(self, name: &str, v: f64) -> Self {
        let (_, _, fields) = options_layout(self.f).unwrap();
        if fields.iter().any(|fl| fl.name == name) {
            self.set(name, v)
        } else {
            self
        }
    }
    /// The reduction as the function will read it.
    pub fn get_reduction(&self) -> u32 {
        get_u32(&self.bytes, self.field("reduction"))
    }
    pub fn get_i64(&self, name: &str) -> i64 {
        get_i64(&self.bytes, self.field(name))
    }
}

/// The reductions `f` accepts.
pub fn reductions(f: F) -> &'static [u32] {
    match f {
        _ if f.family() == Family::Matrix => &[],
        _ if f.kl() => RED4,
        _ if !f.accepts_mean_denominator() => RED_PARTS,
        _ if !f.accepts_none() => RED_REDUCED,
        _ => RED3,
    }
}

/// The input and output buffers of a call (see [`specs`]), its options given as bytes.
pub fn buffers(f: F, dt: Dt, d: &Dims, opts: Option<&[u8]>) -> (Vec<Spec>, Vec<Spec>) {
    let dec = decode(f, opts, d.shape.classes);
    let (ins, outs, _) = specs(f, dt, d, &dec);
    (ins, outs)
}

/// Moderate in-domain inputs for every buffer of a call (optional ones included), from `seed`:
/// values of each buffer's role (logits up to ±1e4, probabilities with exact 0 and 1, boxes
/// degenerate ones included), class indices in range with some `ignore_index`.
pub fn clean_inputs(f: F, dt: Dt, d: &Dims, opts: Option<&[u8]>, seed: u64) -> Vec<Option<Values>> {
    let (ins, _) = buffers(f, dt, d, opts);
    let ignore = decode(f, opts, d.shape.classes).ignore_index;
    let mut rng = crate::common::Rng(seed);
    ins.iter()
        .map(|s| {
            let len = s.len.expect("sizes fit");
            // Enough random bytes for the generators of `len` values (at most ~13 bytes each).
            let bytes: Vec<u8> = (0..(16 * len + 64).div_ceil(8)).flat_map(|_| rng.next_u64().to_le_bytes()).collect();
            let mut u = Bytes::new(&bytes);
            Some(match s.elt {
                Elt::I64 => {
                    let c = d.shape.classes.max(1);
                    Values::I((0..len).map(|_| if u.chance(16) { ignore } else { u.below(c) as i64 }).collect())
                }
                Elt::Float(_) => {
                    let scale = u.pick(&[1.0, 10.0, MODERATE]);
                    let mut v: Vec<f64> = (0..len).map(|_| dt.round(clean(&mut u, s.role, scale))).collect();
                    if s.role == Role::Stats {
                        make_consistent(&mut v);
                    }
                    Values::F(v)
                }
            })
        })
        .collect()
}

/// The outputs of a successful call: the loss values and the gradient (if asked for).
#[derive(Clone, Debug, PartialEq)]
pub struct Outputs {
    pub loss: Vec<f64>,
    pub grad: Option<Vec<f64>>,
}

/// Calls `f` with well-formed buffers holding `inputs` (in [`specs`] order; `None` = NULL) and
/// options given as bytes (`None` = NULL), allocating the outputs; returns them or the status.
/// Also checks the boundary promises every call must keep (guards, inputs unchanged, every
/// output written).
pub fn call(f: F, dt: Dt, d: &Dims, mx: &MatrixArgs, opts: Option<&[u8]>, inputs: &[Option<Values>], grad: bool) -> std::result::Result<Outputs, u32> {
    call_into(f, dt, d, mx, opts, inputs, grad, None)
}

/// As [`call`], with the gradient buffer holding `grad_init` before the call (for
/// `accumulate`, where the library adds to it; an element may then keep its value).
#[allow(clippy::too_many_arguments)]
pub fn call_into(
    f: F,
    dt: Dt,
    d: &Dims,
    mx: &MatrixArgs,
    opts: Option<&[u8]>,
    inputs: &[Option<Values>],
    grad: bool,
    grad_init: Option<&[f64]>,
) -> std::result::Result<Outputs, u32> {
    let dec = decode(f, opts, d.shape.classes);
    let (ins, outs, _) = specs(f, dt, d, &dec);
    let mut in_allocs: Vec<Option<Alloc>> = Vec::new();
    for (s, v) in ins.iter().zip(inputs) {
        in_allocs.push(v.as_ref().map(|v| {
            assert_eq!(Some(v.len()), s.len, "{}: input `{}` length", f.name(), s.name);
            let mut a = Alloc::new(v.len() * s.elt.size(), 0);
            a.write_values(s.elt, v);
            a
        }));
    }
    let mut out_allocs: Vec<Option<Alloc>> = outs
        .iter()
        .enumerate()
        .map(|(k, s)| (k == 0 || grad).then(|| Alloc::new(s.len.expect("output length") * s.elt.size(), 0)))
        .collect();
    if let (Some(init), Some(Some(a))) = (grad_init, out_allocs.get_mut(1)) {
        a.write_values(outs[1].elt, &Values::F(init.to_vec()));
    }
    let grad_before = out_allocs.get(1).and_then(|a| a.as_ref()).map(|a| a.payload().to_vec());
    let before: Vec<Option<Vec<u8>>> = in_allocs.iter().map(|a| a.as_ref().map(|a| a.all().to_vec())).collect();
    let mut opt_store = vec![0u64; opts.map_or(0, |o| o.len().div_ceil(8))];
    if let Some(o) = opts {
        // SAFETY: the u64 storage holds at least o.len() bytes.
        unsafe { std::ptr::copy_nonoverlapping(o.as_ptr(), opt_store.as_mut_ptr().cast::<u8>(), o.len()) };
    }
    let opt_ptr: *const u8 = if opts.is_some() { opt_store.as_ptr().cast() } else { null() };
    let ip: Vec<*const u8> = in_allocs.iter_mut().map(|a| a.as_mut().map_or(null(), |a| a.ptr() as *const u8)).collect();
    let op: Vec<*mut u8> = out_allocs.iter_mut().map(|a| a.as_mut().map_or(std::ptr::null_mut(), |a| a.ptr())).collect();
    // SAFETY: every buffer holds the length the sizes claim.
    let st = unsafe { invoke(f, dt, d, mx, &ip, &op, opt_ptr) };
    for (a, b) in in_allocs.iter().zip(&before) {
        if let (Some(a), Some(b)) = (a, b) {
            assert!(a.all() == &b[..], "{}: an input was modified", f.name());
        }
    }
    for (k, a) in out_allocs.iter().enumerate().filter_map(|(k, a)| a.as_ref().map(|a| (k, a))) {
        let all = a.all();
        assert!(
            all[..a.start].iter().chain(&all[a.start + a.bytes..]).all(|&b| b == CANARY),
            "{}: write outside an output",
            f.name()
        );
        let initialised = k == 1 && grad_init.is_some();
        if st != LOSSFN_OK && initialised {
            assert!(Some(a.payload()) == grad_before.as_deref(), "{}: gradient changed on error", f.name());
        } else if st != LOSSFN_OK {
            assert!(a.payload().iter().all(|&b| b == CANARY), "{}: output written on error", f.name());
        } else if !initialised {
            assert_all_written(f, float_dt(outs[k].elt, dt), a.payload());
        }
    }
    assert!(st != LOSSFN_ERROR_INTERNAL && st <= LOSSFN_ERROR_MISALIGNED, "{}_{dt:?}: status {st}: {}", f.name(), crate::common::last_error());
    if st != LOSSFN_OK {
        return Err(st);
    }
    let mut it = out_allocs.into_iter();
    let loss = floats(it.next().unwrap().unwrap().payload(), float_dt(outs[0].elt, dt));
    let grad = it.next().flatten().map(|a| floats(a.payload(), dt));
    Ok(Outputs { loss, grad })
}

fn assert_all_written(f: F, dt: Dt, payload: &[u8]) {
    let w = dt.size();
    if let Some(k) = payload.chunks_exact(w).position(|c| c.iter().all(|&b| b == CANARY)) {
        panic!("{}_{dt:?}: output element {k} not written on success", f.name());
    }
}

// ---------------------------------------------------------------------------------------------
// The byte stream.

/// Reads decisions from the fuzz input; zeros once it runs out.
pub struct Bytes<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Bytes<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Bytes { data, pos: 0 }
    }
    fn u8(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    fn u64(&mut self) -> u64 {
        (self.u32() as u64) | ((self.u32() as u64) << 32)
    }
    /// Uniform-ish in 0..n (n > 0).
    fn below(&mut self, n: usize) -> usize {
        if n <= 256 {
            self.u8() as usize % n
        } else {
            self.u32() as usize % n
        }
    }
    /// True with probability about p/256.
    fn chance(&mut self, p: u8) -> bool {
        self.u8() < p
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
    /// Uniform in [lo, hi).
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.u32() as f64 / 4294967296.0)
    }
}

// ---------------------------------------------------------------------------------------------
// Generators.

const HUGE_DIMS: [usize; 7] = [usize::MAX, usize::MAX / 3, 1 << 62, 1 << 61, 1 << 59, 1 << 40, 1 << 33];
/// Largest buffer the driver allocates; calls needing more are skipped (they are valid: the
/// library would read that much).
const LIMIT: usize = 1 << 16;

fn dim(u: &mut Bytes, max: usize) -> usize {
    if u.chance(6) {
        u.pick(&HUGE_DIMS)
    } else {
        u.below(max + 1)
    }
}

fn gen_dims(u: &mut Bytes, f: F) -> Dims {
    match f.family() {
        Family::Regression | Family::Boxes => Dims::n(dim(u, 40)),
        Family::Matrix => Dims::nm(dim(u, 12), dim(u, 12)),
        Family::Keypoints => Dims::nm(dim(u, 8), dim(u, 18)),
        Family::Dfl => Dims::dfl(dim(u, 12), dim(u, 5), if u.chance(8) { u.below(2) as usize } else { 2 + u.below(18) as usize }),
        _ => {
            let layout = if u.chance(8) { u.pick(&[2, 3, 255, u32::MAX, 0x8000_0000]) } else { u.below(2) as u32 };
            // classes 0 is an error; 1 is special for the overlap losses (and the only count
            // the Lovász hinge accepts: mostly 1 there).
            let d = Dims::shape(dim(u, 6), dim(u, 6), dim(u, 6), layout);
            if f.form() == Form::LOVASZ && u.chance(220) {
                f.fit(d)
            } else {
                d
            }
        }
    }
}

/// A double option value: moderate-valid most of the time, or anything.
fn gen_f64(u: &mut Bytes) -> f64 {
    match u.below(24) {
        0..=9 => u.pick(&[0.0, 1.0, 0.5, 0.25, 2.0, 0.75, 1e-7, 1e-5, 3.0, 0.1]),
        10..=13 => u.uniform(0.0, 4.0),
        14 => -u.uniform(0.0, 4.0),
        15 => f64::NAN,
        16 => u.pick(&[f64::INFINITY, f64::NEG_INFINITY]),
        17 => u.pick(&[-0.0, -1.0, -1e-300, f64::MIN]),
        18 => u.pick(&[1e-300, 5e-324, f64::MIN_POSITIVE, 1e-30, 1e-45]),
        19 => u.pick(&[1e300, f64::MAX, 1e30, 1e38, 4e38]),
        20 => u.pick(&[10.0, 100.0, 1e4, 1e6]),
        21 => u.uniform(0.0, 1.0),
        _ => f64::from_bits(u.u64()),
    }
}

fn gen_u32(u: &mut Bytes) -> u32 {
    match u.below(8) {
        0..=5 => u.below(4) as u32,
        6 => u.pick(&[4, 5, 7, 255, 256, u32::MAX, 0x8000_0000]),
        _ => u.u32(),
    }
}

fn gen_i64(u: &mut Bytes, classes: usize) -> i64 {
    let c = classes.min(1 << 20) as i64;
    match u.below(8) {
        0..=2 => -100,
        3 => -1,
        4 => u.below(7) as i64,
        5 => c,
        6 => u.pick(&[i64::MIN, i64::MAX, i64::MIN + 1, 1 << 40]),
        _ => u.u64() as i64,
    }
}

/// Option bytes: `None` (NULL), the defaults, perturbed defaults, or random bytes.
fn gen_options(u: &mut Bytes, f: F, classes: usize) -> Option<Vec<u8>> {
    let (default, _, fields) = options_layout(f)?;
    match u.below(16) {
        0..=2 => None,
        3..=4 => Some(default),
        5 => Some((0..default.len()).map(|_| u.u8()).collect()),
        _ => {
            let mut b = default;
            let rate = u.pick(&[40u8, 80, 160, 255]);
            for fl in &fields {
                if !u.chance(rate) {
                    continue;
                }
                match fl.ty {
                    Ty::U32(valid) => {
                        let v = if u.chance(200) { u.pick(valid) } else { gen_u32(u) };
                        put(&mut b, fl.off, &v.to_ne_bytes());
                    }
                    Ty::F64(..) => put(&mut b, fl.off, &gen_f64(u).to_ne_bytes()),
                    Ty::I64 => put(&mut b, fl.off, &gen_i64(u, classes).to_ne_bytes()),
                    Ty::Bool => {
                        let v = if u.chance(220) { u.below(2) as u8 } else { 2 + u.below(254) as u8 };
                        b[fl.off] = v;
                    }
                }
            }
            // The two phases refuse batch = false: keep it true on most calls.
            if f.two_phase() && u.chance(200) {
                b[offset_of!(lossfn_overlap_options, batch)] = 1;
            }
            // Padding bytes are never read as values; scribble on them too.
            if u.chance(30) {
                let k = u.below(b.len());
                let covered = fields.iter().any(|fl| {
                    let w = match fl.ty {
                        Ty::U32(_) => 4,
                        Ty::Bool => 1,
                        _ => 8,
                    };
                    (fl.off..fl.off + w).contains(&k)
                });
                if !covered {
                    b[k] = u.u8();
                }
            }
            Some(b)
        }
    }
}

/// A special value (extreme, non-finite, tiny), stored as `dt` rounds it.
fn special(u: &mut Bytes) -> f64 {
    u.pick(&[
        0.0,
        -0.0,
        1.0,
        -1.0,
        1e4,
        -1e4,
        1e30,
        -1e30,
        3e38,
        -3e38,
        1e300,
        -1e300,
        f64::MAX,
        1e-30,
        -1e-30,
        1e-45,
        5e-324,
        1e-310,
        f64::MIN_POSITIVE,
        f32::MIN_POSITIVE as f64,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        1e5,
        -1e5,
    ])
}

/// A value of `role` in its domain with a moderate magnitude.
fn clean(u: &mut Bytes, role: Role, scale: f64) -> f64 {
    match role {
        Role::Any | Role::Box => match u.below(16) {
            0 => 0.0,
            1 => u.pick(&[MODERATE, -MODERATE]),
            2 => u.pick(&[1e-30, -1e-30, 1e-40, 5e-324, -0.0]),
            _ => u.uniform(-scale, scale),
        },
        Role::Prob => match u.below(8) {
            0 => 0.0,
            1 => 1.0,
            2 => u.pick(&[1e-30, 1e-45, 1e-300, 1.0 - 1e-7, 0.5]),
            _ => u.uniform(0.0, 1.0),
        },
        Role::ProbOverlap => match u.below(8) {
            0 | 1 => 0.0,
            2 => 1.0,
            3 => 1e-6,
            _ => u.uniform(1e-6, 1.0),
        },
        Role::LogProb => match u.below(8) {
            0 => 0.0,
            1 => -MODERATE,
            _ => u.uniform(0.0, 1.0).max(1e-300).ln() * scale.min(30.0),
        },
        Role::Weight => match u.below(8) {
            0 => 0.0,
            1 => u.pick(&[1.0, MODERATE, 1e-6]),
            _ => u.uniform(0.0, scale.min(10.0)),
        },
        Role::Index => unreachable!(),
        Role::Binary => u.below(2) as f64,
        Role::Stats => match u.below(8) {
            0 => 0.0,
            1 => u.pick(&[1e-3, 1.0, 1e6]),
            _ => u.uniform(1e-3, scale.max(10.0)),
        },
    }
}

/// Values for a float buffer: all clean, a few specials sprinkled in, one repeated value, or
/// random bit patterns.
fn gen_floats(u: &mut Bytes, len: usize, role: Role) -> Vec<f64> {
    let scale = u.pick(&[1.0, 3.0, 10.0, 100.0, MODERATE]);
    match u.below(16) {
        0..=9 => (0..len).map(|_| clean(u, role, scale)).collect(),
        10..=12 => {
            let rate = u.pick(&[4u8, 16, 64]);
            (0..len).map(|_| if u.chance(rate) { special(u) } else { clean(u, role, scale) }).collect()
        }
        13 | 14 => {
            let v = if u.chance(128) { clean(u, role, scale) } else { special(u) };
            vec![v; len]
        }
        // NaNs made canonical: a NaN payload that propagates must not look like the canary.
        _ => (0..len).map(|_| f64::from_bits(u.u64())).map(|x| if x.is_nan() { f64::NAN } else { x }).collect(),
    }
}

fn gen_indices(u: &mut Bytes, len: usize, classes: usize, ignore_index: i64) -> Vec<i64> {
    let c = classes.clamp(1, 1 << 30) as i64;
    let mode = u.below(8);
    (0..len)
        .map(|_| match mode {
            0..=4 => {
                if u.chance(20) {
                    ignore_index
                } else {
                    u.below(c as usize) as i64
                }
            }
            5 => ignore_index,
            6 => {
                if u.chance(16) {
                    u.pick(&[-1, c, c + 1, i64::MIN, i64::MAX, -100])
                } else {
                    u.below(c as usize) as i64
                }
            }
            _ => u.u64() as i64,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// One fuzz case.

/// How a buffer pointer is made.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Ptr {
    Valid,
    Null,
    /// Payload `k` bytes past an aligned address.
    Misaligned(usize),
    /// Inputs: same element type and start as input `i` (read-only aliasing is allowed).
    SameAsInput(usize),
    /// Outputs: into the payload of input `i`, `off` bytes in.
    IntoInput(usize, usize),
    /// Outputs: into the payload of output `j`, `off` bytes in.
    IntoOutput(usize, usize),
}

fn gen_ptr(u: &mut Bytes, elt: Elt) -> Ptr {
    match u.below(32) {
        0 | 1 => Ptr::Null,
        2 => Ptr::Misaligned(1 + u.below(elt.size() - 1)),
        _ => Ptr::Valid,
    }
}

/// What one fuzz case did (for coverage statistics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A valid call needing more memory than the driver allocates: not made.
    Skipped,
    /// The call was rejected with this status.
    Rejected(u32),
    /// Success; `tier` 2 = every output checked finite, 1 = checked for NaN, 0 = unchecked values.
    Ok { tier: u8 },
}

/// Runs one fuzz case; panics (with a description) when an oracle fails.
pub fn run(data: &[u8]) -> (F, Dt, Outcome) {
    let mut u = Bytes::new(data);
    let f = u.pick(&ALL);
    let dt = if u.chance(128) { Dt::F32 } else { Dt::F64 };
    let d = gen_dims(&mut u, f);
    let opts = gen_options(&mut u, f, d.shape.classes);
    // NULL options are the library's defaults, batch = false, which the two phases refuse: mostly
    // the driver's defaults instead.
    let opts = if f.two_phase() && opts.is_none() && u.chance(192) { options_layout(f).map(|(b, _, _)| b) } else { opts };
    let mx = MatrixArgs {
        format: if u.chance(230) { u.below(4) as u32 } else { gen_u32(&mut u) },
        kind: if u.chance(230) { u.below(4) as u32 } else { gen_u32(&mut u) },
        eps: if u.chance(160) { u.pick(&[1e-7, 1e-9, 1e-3, 1.0]) } else { gen_f64(&mut u) },
    };
    let opt_ptr_mode = u.below(32);
    let dec = decode(f, opts.as_deref(), d.shape.classes);
    let (ins, outs, size_defects) = specs(f, dt, &d, &dec);
    let mut defects = dec.defects | size_defects;
    // Tier A (every input and option moderate): outputs finite. Tier B (moderate inputs,
    // valid but extreme options): outputs may overflow to ±Inf, never NaN.
    let mut moderate_options = dec.moderate;
    let mut tame_options = dec.tame;
    let mut moderate_inputs = true;
    if f.family() == Family::Matrix {
        // The IoU matrix reads format, kind and eps; the ProbIoU matrix eps only.
        let reads_format = f.form() == Form::MATRIX;
        if reads_format && (!FORMATS.contains(&mx.format) || !KINDS.contains(&mx.kind)) || !finite_gt0(mx.eps) {
            defects |= bit(LOSSFN_ERROR_INVALID_OPTION);
        }
        moderate_options &= eps_moderate(mx.eps);
        tame_options &= tame(mx.eps);
    }
    // Valid calls that need more memory than the driver allocates are skipped; so are overlap
    // calls with a huge batch × classes: their cost is one score per (sample, class) even when
    // spatial is 0 (docs/hardening.md). Huge dims with an empty tensor are run otherwise.
    let overflow = defects & bit(LOSSFN_ERROR_INVALID_SIZE) != 0;
    let big = ins.iter().chain(&outs).any(|s| s.len.is_some_and(|l| l > LIMIT))
        || (f.family() == Family::Overlap && d.shape.batch.max(1).saturating_mul(d.shape.classes) > LIMIT);
    if big && !overflow {
        return (f, dt, Outcome::Skipped);
    }
    let desc = format!("{}_{dt:?} dims {d:?} opts {opts:?} decoded {dec:?} matrix {mx:?}", f.name());

    // Inputs: values, pointers, allocations.
    let mut in_vals: Vec<Values> = Vec::new();
    let mut in_ptr: Vec<Ptr> = Vec::new();
    for (k, s) in ins.iter().enumerate() {
        // Overflowing sizes are rejected before anything is read: a small buffer will do.
        let len = s.len.unwrap_or(16).min(LIMIT);
        let v = match s.elt {
            Elt::I64 => Values::I(gen_indices(&mut u, len, d.shape.classes, dec.ignore_index)),
            Elt::Float(_) => {
                // Summed statistics: half of the time all clean, and mostly consistent triples (as
                // an all-reduce gives them).
                let clean_stats = s.role == Role::Stats && u.chance(128);
                let v = if clean_stats { (0..len).map(|_| clean(&mut u, Role::Stats, 10.0)).collect() } else { gen_floats(&mut u, len, s.role) };
                let mut v: Vec<f64> = v.into_iter().map(|x| dt.round(x)).collect();
                if s.role == Role::Stats && u.chance(200) {
                    make_consistent(&mut v);
                }
                Values::F(v)
            }
        };
        let mut p = gen_ptr(&mut u, s.elt);
        if p == Ptr::Valid && k > 0 && u.chance(16) {
            let j = u.below(k);
            if ins[j].elt == s.elt && in_ptr[j] == Ptr::Valid && in_vals[j].len() == len {
                p = Ptr::SameAsInput(j);
            }
        }
        in_vals.push(v);
        in_ptr.push(p);
    }
    let mut in_allocs: Vec<Option<Alloc>> = Vec::new();
    for (k, s) in ins.iter().enumerate() {
        in_allocs.push(match in_ptr[k] {
            Ptr::Valid | Ptr::Misaligned(_) => {
                let mis = if let Ptr::Misaligned(m) = in_ptr[k] { m } else { 0 };
                let mut a = Alloc::new(in_vals[k].len() * s.elt.size(), mis);
                a.write_values(s.elt, &in_vals[k]);
                Some(a)
            }
            _ => None,
        });
    }
    // What the call actually reads, and the defects of the inputs.
    for (k, s) in ins.iter().enumerate() {
        let (vals, null) = match in_ptr[k] {
            Ptr::Null => (None, true),
            Ptr::SameAsInput(j) => (Some(&in_vals[j]), false),
            Ptr::Misaligned(_) => {
                defects |= bit(LOSSFN_ERROR_MISALIGNED);
                (Some(&in_vals[k]), false)
            }
            _ => (Some(&in_vals[k]), false),
        };
        if null && !s.optional && s.len != Some(0) {
            defects |= bit(LOSSFN_ERROR_NULL_POINTER);
        }
        match vals {
            Some(Values::I(t)) => {
                let c = d.shape.classes as i64;
                if t.iter().any(|&x| !(0..c).contains(&x) && x != dec.ignore_index) {
                    defects |= bit(LOSSFN_ERROR_INVALID_TARGET);
                }
            }
            Some(Values::F(x)) => {
                if s.role == Role::Binary && x.iter().any(|&v| v != 0.0 && v != 1.0 && v != dec.ignore_index as f64) {
                    defects |= bit(LOSSFN_ERROR_INVALID_TARGET);
                }
                if s.role == Role::Stats {
                    // NaN, or a negative sum of terms ≥ 0: G of index targets (a count), TP and P
                    // of activated probabilities with index targets.
                    let nonneg = |q: usize| f.index_target() && (q == 2 || !dec.probs_input);
                    if x.iter().enumerate().any(|(i, &v)| v.is_nan() || (v < 0.0 && nonneg(i % 3))) {
                        defects |= bit(LOSSFN_ERROR_INVALID_OPTION);
                    }
                    if !stats_moderate(x) {
                        moderate_inputs = false;
                    }
                    continue;
                }
                if !x.iter().all(|&x| s.role.moderate(x)) {
                    moderate_inputs = false;
                }
            }
            None => {}
        }
    }

    // Outputs: pointer modes, then allocations (aliases point into earlier buffers).
    let grad_wanted = f.has_grad() && u.chance(200);
    let mut out_ptr: Vec<Ptr> = Vec::new();
    for (k, s) in outs.iter().enumerate() {
        let mut p = gen_ptr(&mut u, s.elt);
        if k == 1 && !grad_wanted {
            p = Ptr::Null;
        }
        if p == Ptr::Valid && u.chance(20) {
            // Into an input, or into the other output.
            let targets: Vec<usize> =
                (0..ins.len()).filter(|&i| in_allocs[i].as_ref().is_some_and(|a| a.bytes > 0)).collect();
            if k == 1 && out_ptr[0] == Ptr::Valid && outs[0].len.unwrap_or(0) > 0 && u.chance(100) {
                p = Ptr::IntoOutput(0, s.elt.size() * u.below(outs[0].len.unwrap().min(LIMIT)));
            } else if !targets.is_empty() {
                let i = u.pick(&targets);
                let bytes = in_allocs[i].as_ref().unwrap().bytes;
                p = Ptr::IntoInput(i, if u.chance(200) { (u.below(bytes) / 8) * 8 } else { u.below(bytes) });
            }
        }
        out_ptr.push(p);
    }
    let mut out_allocs: Vec<Option<Alloc>> = Vec::new();
    for (k, s) in outs.iter().enumerate() {
        let len = s.len.unwrap_or(16).min(LIMIT);
        out_allocs.push(match out_ptr[k] {
            Ptr::Valid => Some(Alloc::new(len * s.elt.size(), 0)),
            Ptr::Misaligned(m) => Some(Alloc::new(len * s.elt.size(), m)),
            _ => None,
        });
    }
    // With accumulate the library adds to the gradient buffer: it starts at +0.0, not at the
    // canary (a NaN pattern), and must still hold +0.0 after an error.
    let accumulating = |k: usize| k > 0 && dec.accumulate;
    for (k, a) in out_allocs.iter_mut().enumerate() {
        if let Some(a) = a.as_mut().filter(|_| accumulating(k)) {
            let (start, bytes) = (a.start, a.bytes);
            a.all_mut()[start..start + bytes].fill(0);
        }
    }
    for (k, s) in outs.iter().enumerate() {
        let len_bytes = s.len.map(|l| l * s.elt.size());
        match out_ptr[k] {
            Ptr::Null if !s.optional && len_bytes != Some(0) => defects |= bit(LOSSFN_ERROR_NULL_POINTER),
            Ptr::Misaligned(_) => defects |= bit(LOSSFN_ERROR_MISALIGNED),
            Ptr::IntoInput(i, off) | Ptr::IntoOutput(i, off) => {
                if off % s.elt.size() != 0 {
                    defects |= bit(LOSSFN_ERROR_MISALIGNED);
                }
                let other_bytes = match out_ptr[k] {
                    Ptr::IntoInput(..) => ins[i].len.map(|l| l * ins[i].elt.size()),
                    _ => outs[i].len.map(|l| l * outs[i].elt.size()),
                };
                // Overlap exists when both spans are non-empty (the output starts inside).
                if len_bytes != Some(0) && other_bytes != Some(0) {
                    defects |= bit(LOSSFN_ERROR_OVERLAP);
                }
            }
            _ => {}
        }
        // The MEAN_DENOMINATOR query computes no gradient: a gradient buffer is refused.
        if k > 0 && dec.reduction == LOSSFN_REDUCTION_MEAN_DENOMINATOR && !matches!(out_ptr[k], Ptr::Null) {
            defects |= bit(LOSSFN_ERROR_INVALID_OPTION);
        }
    }

    // The options struct.
    let opt_align = options_layout(f).map_or(1, |(_, a, _)| a);
    let mut opt_alloc = opts.as_ref().map(|o| {
        let mis = if opt_ptr_mode == 0 { 1 + (u.below(opt_align.max(2) - 1)) } else { 0 };
        let mut a = Alloc::new(o.len(), mis);
        let s = a.start;
        a.all_mut()[s..s + o.len()].copy_from_slice(o);
        a
    });
    if opt_alloc.as_ref().is_some_and(|a| a.start % opt_align != 0) {
        defects |= bit(LOSSFN_ERROR_MISALIGNED);
    }

    // Pointers.
    let ip: Vec<*const u8> = (0..ins.len())
        .map(|k| match in_ptr[k] {
            Ptr::SameAsInput(j) => in_allocs[j].as_mut().unwrap().ptr() as *const u8,
            _ => in_allocs[k].as_mut().map_or(null(), |a| a.ptr() as *const u8),
        })
        .collect();
    let mut op: Vec<*mut u8> = Vec::new();
    for k in 0..outs.len() {
        op.push(match out_ptr[k] {
            // SAFETY (all three): offsets inside the target's payload.
            Ptr::IntoInput(i, off) => unsafe { in_allocs[i].as_mut().unwrap().ptr().add(off) },
            Ptr::IntoOutput(j, off) => unsafe { out_allocs[j].as_mut().unwrap().ptr().add(off) },
            _ => out_allocs[k].as_mut().map_or(std::ptr::null_mut(), |a| a.ptr()),
        });
    }
    let opt_p: *const u8 = opt_alloc.as_mut().map_or(null(), |a| a.ptr() as *const u8);

    let in_before: Vec<Option<Vec<u8>>> = in_allocs.iter().map(|a| a.as_ref().map(|a| a.all().to_vec())).collect();
    let opt_before = opt_alloc.as_ref().map(|a| a.all().to_vec());
    // SAFETY: every non-NULL pointer covers what the sizes claim, except where a defect makes
    // the library reject the call first (that is what is being tested).
    let st = unsafe { invoke(f, dt, &d, &mx, &ip, &op, opt_p) };
    let msg = crate::common::last_error();

    // Oracles.
    assert!(st != LOSSFN_ERROR_INTERNAL, "{desc}: LOSSFN_ERROR_INTERNAL: {msg}");
    assert!(st <= LOSSFN_ERROR_MISALIGNED, "{desc}: undefined status {st}");
    if defects == 0 {
        assert!(st == LOSSFN_OK, "{desc}: valid call failed with status {st}: {msg}");
    } else {
        assert!(st != LOSSFN_OK, "{desc}: call with defects {defects:#b} succeeded");
        assert!(defects & bit(st) != 0, "{desc}: status {st} ({msg}) is none of the defects {defects:#b}");
    }
    if st != LOSSFN_OK {
        assert!(!msg.is_empty(), "{desc}: status {st} without a message");
    } else {
        assert!(msg.is_empty(), "{desc}: success left an error message: {msg}");
    }
    for (k, (a, b)) in in_allocs.iter().zip(&in_before).enumerate() {
        if let (Some(a), Some(b)) = (a, b) {
            assert!(a.all() == &b[..], "{desc}: input `{}` (or its guards) modified, status {st}", ins[k].name);
        }
    }
    if let (Some(a), Some(b)) = (&opt_alloc, &opt_before) {
        assert!(a.all() == &b[..], "{desc}: options modified");
    }
    for (k, a) in out_allocs.iter().enumerate() {
        let Some(a) = a else { continue };
        let all = a.all();
        let outside = all[..a.start].iter().chain(&all[a.start + a.bytes..]).all(|&b| b == CANARY);
        assert!(outside, "{desc}: write outside output `{}` (status {st})", outs[k].name);
        if st != LOSSFN_OK {
            let untouched = if accumulating(k) { 0 } else { CANARY };
            assert!(a.payload().iter().all(|&b| b == untouched), "{desc}: output `{}` written on error {st}", outs[k].name);
        }
    }
    if st != LOSSFN_OK {
        return (f, dt, Outcome::Rejected(st));
    }

    // Success: every output written; finite when the call was in the domain.
    let payloads: Vec<Option<Vec<f64>>> =
        out_allocs.iter().enumerate().map(|(k, a)| a.as_ref().map(|a| floats(a.payload(), float_dt(outs[k].elt, dt)))).collect();
    for (k, a) in out_allocs.iter().enumerate() {
        if let Some(a) = a.as_ref().filter(|_| !accumulating(k)) {
            let w = float_dt(outs[k].elt, dt).size();
            if let Some(e) = a.payload().chunks_exact(w).position(|c| c.iter().all(|&b| b == CANARY)) {
                panic!("{desc}: output `{}` element {e} not written", outs[k].name);
            }
        }
    }
    // In tier B an overflow (an infinite output somewhere) may leave NaN behind (inf − inf in
    // a chain rule): only NaN without any overflow is a finding there.
    let overflowed = payloads.iter().flatten().flatten().any(|v| v.is_infinite());
    let tier = match (moderate_inputs, moderate_options, tame_options && !overflowed) {
        (true, true, _) => 2,
        (true, false, true) => 1,
        _ => 0,
    };
    if tier > 0 {
        for (k, p) in payloads.iter().enumerate() {
            let Some(p) = p else { continue };
            let bad = |v: &f64| if moderate_options { !v.is_finite() } else { v.is_nan() };
            if let Some(e) = p.iter().position(bad) {
                let tier = if moderate_options { "moderate input and options" } else { "moderate input, valid options" };
                panic!("{desc}: output `{}`[{e}] = {} for {tier}; pointers {in_ptr:?} {out_ptr:?}; inputs {in_vals:?}", outs[k].name, p[e]);
            }
        }
    }
    // The loss does not depend on whether the gradient is computed.
    if f.has_grad() && out_ptr[0] == Ptr::Valid && out_ptr[1] == Ptr::Valid {
        let mut loss2 = Alloc::new(out_allocs[0].as_ref().unwrap().bytes, 0);
        let op2 = [loss2.ptr(), std::ptr::null_mut()];
        // SAFETY: as above; the first call succeeded with the same arguments.
        let st2 = unsafe { invoke(f, dt, &d, &mx, &ip, &op2, opt_p) };
        assert_eq!(st2, LOSSFN_OK, "{desc}: grad = NULL call failed");
        let a = floats(loss2.payload(), dt);
        let b = payloads[0].as_ref().unwrap();
        let same = a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()));
        assert!(same, "{desc}: loss with grad {b:?} != loss without {a:?}");
    }
    (f, dt, Outcome::Ok { tier })
}

// ---------------------------------------------------------------------------------------------
// What each suite runs per function: the one place a new function's sample sizes and option
// sets go (tests/controls.rs, tests/determinism.rs and tests/finite.rs iterate these).

use crate::common::Rng;

pub fn pick<T: Copy>(rng: &mut Rng, xs: &[T]) -> T {
    xs[rng.below(xs.len() as u64) as usize]
}

pub fn chance(rng: &mut Rng, p: f64) -> bool {
    rng.uniform(0.0, 1.0) < p
}

/// tests/controls.rs: a call with no terms (n = 0 boxes / elements / instances, batch = 0).
pub fn empty_dims(f: F) -> Dims {
    f.fit(match f.family() {
        Family::Regression | Family::Boxes => Dims::n(0),
        Family::Keypoints => Dims::nm(0, 17),
        Family::Dfl => Dims::dfl(0, 4, 16),
        Family::Classification | Family::Overlap => Dims::shape(0, 3, 5, LOSSFN_LAYOUT_NCS),
        Family::Matrix => unreachable!("the IoU matrix is not a loss"),
    })
}

/// tests/controls.rs: per function, a small case and one large enough for the parallel path.
pub fn control_dims(f: F) -> Vec<Dims> {
    let dims = match f.family() {
        Family::Regression => vec![Dims::n(37), Dims::n(100_003)],
        Family::Boxes => vec![Dims::n(29), Dims::n(5_003)],
        Family::Keypoints => vec![Dims::nm(5, 17), Dims::nm(6_000, 17)],
        Family::Dfl => vec![Dims::dfl(7, 4, 16), Dims::dfl(3_001, 4, 16)],
        Family::Classification => vec![
            Dims::shape(3, 5, 7, LOSSFN_LAYOUT_NCS),
            Dims::shape(4, 3, 5, LOSSFN_LAYOUT_NSC),
            Dims::shape(40, 7, 150, LOSSFN_LAYOUT_NSC),
        ],
        Family::Overlap => vec![
            Dims::shape(2, 3, 11, LOSSFN_LAYOUT_NCS),
            Dims::shape(3, 4, 20_000, LOSSFN_LAYOUT_NCS),
            Dims::shape(1_000, 3, 50, LOSSFN_LAYOUT_NSC),
        ],
        Family::Matrix => unreachable!("the IoU matrix is not a loss"),
    };
    dims.into_iter().map(|d| f.fit(d)).collect()
}

pub struct Config {
    pub dims: Dims,
    pub opts: Option<Opts>,
    pub matrix: MatrixArgs,
    /// Pass the optional weight buffers (else NULL).
    pub weights: bool,
}

fn cfg(dims: Dims, opts: Option<Opts>, weights: bool) -> Config {
    Config { dims, opts, matrix: MatrixArgs::default(), weights }
}

/// The Lovász losses' option sets (the hinge reads neither activation nor classes_present; its
/// one term over the batch runs on one thread, so its inputs are large enough for the parallel
/// gradient pass).
fn lovasz_configs(f: F, seg_ncs: Dims, seg_nsc: Dims) -> Vec<Config> {
    let o = || Opts::new(f).unwrap();
    let hinge = |d: Dims| if f.form() == Form::LOVASZ { Dims::shape(4, 1, 40_000, d.shape.layout) } else { d };
    let (seg_ncs, seg_nsc) = (hinge(seg_ncs), hinge(seg_nsc));
    vec![
        cfg(f.fit(seg_ncs), Some(o()), false),
        cfg(f.fit(seg_nsc), Some(o().bool("per_image", true).bool("classes_present", false).i64("ignore_index", 0)), false),
        cfg(
            f.fit(seg_ncs),
            Some(o().reduction(LOSSFN_REDUCTION_NONE).bool("per_image", true).u32("activation", LOSSFN_ACTIVATION_NONE)),
            false,
        ),
    ]
}

/// tests/determinism.rs: per family, a few option sets on inputs large enough for the parallel
/// path (the sizes are explained there). Each set gives the options of every loss of the family
/// at once: a loss reads only its own fields (docs/api.md §1), and [`Opts::maybe`] skips those its
/// struct lacks, so a new loss of a family is covered without an edit here.
pub fn determinism_configs(f: F) -> Vec<Config> {
    let o = || Opts::new(f).unwrap();
    let (nsc, ncs) = (Dims::shape(40, 7, 150, LOSSFN_LAYOUT_NSC), Dims::shape(40, 7, 150, LOSSFN_LAYOUT_NCS));
    let (seg_ncs, seg_nsc) = (Dims::shape(3, 4, 20_000, LOSSFN_LAYOUT_NCS), Dims::shape(1000, 3, 50, LOSSFN_LAYOUT_NSC));
    let boxes = Dims::n(5003);
    match f.family() {
        Family::Regression => vec![
            cfg(Dims::n(100_003), Some(o()), true),
            cfg(Dims::n(100_003), Some(o().reduction(LOSSFN_REDUCTION_NONE).f64("beta", 0.5).f64("delta", 0.5)), false),
        ],
        Family::Boxes => vec![
            // Weighted MEAN; Focal-EIoU's MEAN rescales the gradient after the pass (the "late" path).
            cfg(boxes, Some(o().maybe("gamma", 0.5).maybe("lambda", 0.3).maybe("ciou_variant", LOSSFN_CIOU_ULTRALYTICS as f64)), true),
            cfg(
                boxes,
                Some(
                    o().maybe("format", LOSSFN_BOX_XYWH as f64)
                        .reduction(LOSSFN_REDUCTION_NONE)
                        .maybe("ciou_variant", LOSSFN_CIOU_MMDET as f64)
                        .maybe("iou_mode", LOSSFN_IOU_SQUARE as f64),
                ),
                false,
            ),
            cfg(
                boxes,
                Some(o().maybe("format", LOSSFN_BOX_CXCYWH as f64).reduction(LOSSFN_REDUCTION_SUM).maybe("iou_mode", LOSSFN_IOU_LOG as f64)),
                false,
            ),
            cfg(boxes, Some(o().maybe("format", LOSSFN_BOX_LTRB as f64).reduction(LOSSFN_REDUCTION_NONE).maybe("floor", 0.01)), false),
        ],
        Family::Keypoints => vec![
            cfg(Dims::nm(6_007, 17), Some(o()), true),
            cfg(Dims::nm(3_001, 5), Some(o().reduction(LOSSFN_REDUCTION_NONE)), false),
        ],
        Family::Dfl => vec![
            cfg(Dims::dfl(5_003, 4, 16), Some(o()), true),
            cfg(
                Dims::dfl(3_001, 2, 7),
                Some(
                    o().reduction(if f.accepts_none() { LOSSFN_REDUCTION_NONE } else { LOSSFN_REDUCTION_SUM })
                        .maybe("iou", LOSSFN_IOU_KIND_GIOU as f64)
                        .maybe("iou_weight", 7.5)
                        .maybe("dfl_weight", 1.5),
                ),
                false,
            ),
        ],
        Family::Matrix => vec![
            Config { dims: Dims::nm(97, 101), opts: None, matrix: MatrixArgs { kind: LOSSFN_IOU_KIND_GIOU, ..MatrixArgs::default() }, weights: false },
            Config {
                dims: Dims::nm(97, 101),
                opts: None,
                matrix: MatrixArgs { format: LOSSFN_BOX_CXCYWH, kind: LOSSFN_IOU_KIND_CIOU, eps: 1e-7 },
                weights: false,
            },
        ],
        Family::Classification => {
            // ignore_index: index targets only (soft targets take the default, docs/api.md §1).
            let ignore = |o: Opts| if f.index_target() { o.i64("ignore_index", 2) } else { o };
            // alpha < 0 disables the sigmoid focal loss's α; Varifocal's α must be ≥ 0.
            let alpha = |o: Opts| if f.form() == Form::FOCAL { o.f64("alpha", -1.0) } else { o.maybe("alpha", 0.5) };
            vec![
                cfg(nsc, Some(o().maybe("temperature", 2.0)), true),
                cfg(
                    ncs,
                    Some(ignore(
                        o().reduction(LOSSFN_REDUCTION_NONE)
                            .maybe("label_smoothing", 0.1)
                            .maybe("gamma", 1.5)
                            .maybe("detach_weight", 1.0)
                            .maybe("log_target", 1.0)
                            .maybe("input", LOSSFN_INPUT_PROBS as f64)
                            .maybe("temperature", 0.5),
                    )),
                    false,
                ),
                cfg(
                    nsc,
                    Some(alpha(
                        o().reduction(if f.kl() { LOSSFN_REDUCTION_BATCHMEAN } else { LOSSFN_REDUCTION_SUM })
                            .maybe("label_smoothing", 0.2)
                            .maybe("gamma", 0.0)
                            .maybe("iou_weighted", 0.0),
                    )),
                    false,
                ),
            ]
        }
        Family::Overlap if f.lovasz() => lovasz_configs(f, seg_ncs, seg_nsc),
        Family::Overlap if f.fused() => vec![
            cfg(seg_ncs, Some(o()), true),
            cfg(seg_nsc, Some(o().reduction(LOSSFN_REDUCTION_SUM).bool("batch", true).bool("squared_pred", true)), true),
            cfg(seg_ncs, Some(o().f64("gamma", 0.75).bool("include_background", false).i64("ignore_index", 0)), false),
        ],
        // (The two phases: batch = true in their defaults; the kinds in turn.)
        Family::Overlap => vec![
            cfg(seg_ncs, Some(o()), true),
            // (soft targets: MONAI's soft-label sums)
            cfg(seg_nsc, Some(o().bool("soft_label", f.soft_target()).maybe("kind", LOSSFN_OVERLAP_TVERSKY as f64)), true),
            cfg(
                seg_nsc,
                Some(
                    o().reduction(LOSSFN_REDUCTION_NONE)
                        .u32("activation", LOSSFN_ACTIVATION_SIGMOID)
                        .bool("batch", true)
                        .bool("squared_pred", !f.gdice())
                        .u32("w_type", LOSSFN_GDICE_SIMPLE),
                ),
                false,
            ),
            cfg(
                seg_ncs,
                Some(
                    o().reduction(LOSSFN_REDUCTION_SUM)
                        .u32("activation", LOSSFN_ACTIVATION_SIGMOID)
                        .f64("gamma", 0.75)
                        .bool("include_background", false)
                        .u32("w_type", LOSSFN_GDICE_UNIFORM)
                        .maybe("kind", LOSSFN_OVERLAP_GENERALIZED_DICE as f64),
                ),
                false,
            ),
        ],
    }
}

/// tests/finite.rs: valid options of `f` across their domain (moderate magnitudes).
pub fn random_options(rng: &mut Rng, f: F, classes: usize) -> Option<Opts> {
    let o = Opts::new(f)?;
    let o = o.reduction(pick(rng, reductions(f)));
    Some(match f.family() {
        Family::Regression => o.f64("beta", pick(rng, &[0.0, 1e-3, 0.5, 1.0, 100.0])).f64("delta", pick(rng, &[1e-3, 0.5, 1.0, 1e3])),
        // (Rotated boxes have no format, iou_mode, gamma or lambda: `maybe` skips them.)
        Family::Boxes => o
            .maybe("format", rng.below(4) as f64)
            .f64("eps", pick(rng, &[1e-7, 1e-9, 1e-3, 1.0]))
            .maybe("iou_mode", rng.below(3) as f64)
            .maybe("gamma", pick(rng, &[0.0, 0.5, 1.0, 2.5, 8.0]))
            .maybe("lambda", pick(rng, &[0.0, 1e-3, 1.0, 10.0]))
            .maybe("floor", pick(rng, &[0.0, 0.01, 1.0])),
        Family::Overlap if f.lovasz() => {
            let act = if classes == 1 { LOSSFN_ACTIVATION_NONE } else { pick(rng, &[LOSSFN_ACTIVATION_SOFTMAX, LOSSFN_ACTIVATION_NONE]) };
            o.u32("activation", act)
                .bool("per_image", chance(rng, 0.5))
                .bool("classes_present", chance(rng, 0.5))
                .i64("ignore_index", pick(rng, &[-100, 0, classes as i64 - 1]))
        }
        Family::Overlap => {
            // (Dice + cross entropy: softmax only.)
            let mut act = if f.fused() { LOSSFN_ACTIVATION_SOFTMAX } else { rng.below(3) as u32 };
            let mut bg = chance(rng, 0.6);
            if classes == 1 {
                act = pick(rng, &[LOSSFN_ACTIVATION_NONE, LOSSFN_ACTIVATION_SIGMOID]);
                bg = true;
            }
            let (nr, dr) = pick(rng, &[(1e-5, 1e-5), (0.0, 0.0), (1.0, 1.0), (0.0, 1e-5), (1e-5, 1.0)]);
            // The two phases: batch = true, any kind.
            let kind = rng.below(3) as u32;
            let gdice = f.gdice() || (f.two_phase() && kind == LOSSFN_OVERLAP_GENERALIZED_DICE);
            o.u32("activation", act)
                .f64("smooth_nr", nr)
                .f64("smooth_dr", dr)
                .bool("include_background", bg)
                .bool("batch", f.two_phase() || chance(rng, 0.5))
                .maybe("kind", kind as f64)
                // (Generalized Dice has no squared_pred.)
                .bool("squared_pred", !gdice && chance(rng, 0.5))
                .u32("w_type", rng.below(3) as u32)
                .f64("alpha", pick(rng, &[0.0, 0.3, 0.5, 1.0, 5.0]))
                .f64("beta", pick(rng, &[0.0, 0.7, 0.5, 1.0]))
                .f64("gamma", pick(rng, &[1.0, 0.75, 0.5, 2.0, 1e-3]))
                // Soft targets take no ignore_index (docs/api.md §1, §7).
                .i64("ignore_index", if f.soft_target() { -100 } else { pick(rng, &[-100, 0, classes as i64 - 1]) })
                .bool("soft_label", f.soft_target() && chance(rng, 0.5))
                .maybe("focal_gamma", pick(rng, &[0.0, 0.5, 2.0, 5.0]))
                .maybe("label_smoothing", pick(rng, &[0.0, 0.1, 1.0]))
        }
        Family::Classification => match f.form() {
            Form::CROSS_ENTROPY_INDEX | Form::CROSS_ENTROPY => {
                let ignore = if f.soft_target() { -100 } else { pick(rng, &[-100, 0, classes as i64 - 1]) };
                o.f64("label_smoothing", pick(rng, &[0.0, 0.1, 0.5, 1.0])).i64("ignore_index", ignore)
            }
            Form::ENTROPY => o.u32("input", rng.below(2) as u32),
            Form::KL_DIV => o.bool("log_target", chance(rng, 0.5)),
            Form::DISTILLATION => o.f64("temperature", pick(rng, &[0.05, 0.5, 1.0, 4.0, 20.0])),
            Form::QUALITY_FOCAL => o
                .f64("alpha", pick(rng, &[0.0, 0.25, 0.75, 2.0]))
                .f64("gamma", pick(rng, &[0.0, 0.5, 1.0, 2.0, 5.0]))
                .bool("iou_weighted", chance(rng, 0.5))
                .bool("detach_weight", chance(rng, 0.5)),
            Form::FOCAL | Form::FOCAL_INDEX => o
                .f64("alpha", pick(rng, &[-1.0, 0.0, 0.25, 1.0]))
                .f64("gamma", pick(rng, &[0.0, 0.5, 1.0, 2.0, 5.0]))
                .i64("ignore_index", pick(rng, &[-100, 0, classes as i64 - 1])),
            _ => o,
        },
        Family::Dfl => o
            .maybe("iou", rng.below(4) as f64)
            .maybe("ciou_variant", rng.below(3) as f64)
            .maybe("eps", pick(rng, &[1e-7, 1e-9, 1e-3, 1.0]))
            .maybe("iou_weight", pick(rng, &[0.0, 1.0, 7.5]))
            .maybe("dfl_weight", pick(rng, &[0.0, 1.0, 1.5])),
        Family::Keypoints => o,
        Family::Matrix => unreachable!(),
    })
}

/// tests/finite.rs: random sizes of `f`'s family, empty ones included.
pub fn random_dims(rng: &mut Rng, f: F) -> Dims {
    match f.family() {
        Family::Regression => Dims::n(rng.below(300) as usize),
        Family::Boxes => Dims::n(rng.below(150) as usize),
        Family::Matrix => Dims::nm(rng.below(25) as usize, rng.below(25) as usize),
        Family::Keypoints => Dims::nm(rng.below(30) as usize, rng.below(18) as usize),
        Family::Dfl => Dims::dfl(rng.below(40) as usize, 1 + rng.below(4) as usize, 2 + rng.below(20) as usize),
        // (Dice + cross entropy: a softmax over one class is refused.)
        _ if f.fused() => Dims::shape(rng.below(5) as usize, 2 + rng.below(6) as usize, rng.below(40) as usize, rng.below(2) as u32),
        _ => f.fit(Dims::shape(rng.below(5) as usize, 1 + rng.below(7) as usize, rng.below(40) as usize, rng.below(2) as u32)),
    }
}

