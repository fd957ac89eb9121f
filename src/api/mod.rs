//! The safe Rust API: slices in, `Result` out.
//!
//! One module per family; each loss is one function generic over [`Float`] (`f32`, `f64`), with
//! the same arguments as its C entry point, the pointers replaced by slices:
//! inputs `&[T]`, optional inputs `Option<&[T]>`, the loss output `&mut [T]` (one value, or one
//! per term for [`Reduction::None`]), the gradient `Option<&mut [T]>` (`None`: not computed).
//! Lengths and options are validated with the errors and messages of the C API; an error
//! writes nothing. The C API (`lossfn::capi`) is a thin layer over these functions.
use crate::error::{Error, Result};
use crate::reduce::{Controls, Output};

/// An options struct of the safe API: `reduction`, the loss's own fields, then the output
/// controls every loss shares (`loss_weight`, `avg_factor`, `accumulate`); `Default` is the C
/// default.
macro_rules! options {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident: $t:ty = $default:expr,)* } reduction = $red:expr) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub struct $name {
            /// How the terms are reduced.
            pub reduction: $crate::api::Reduction,
            $($(#[$fm])* pub $field: $t,)*
            /// 1.0; finite. Multiplies every loss value and the gradient.
            pub loss_weight: f64,
            /// 0.0 = unused; > 0 (MEAN only): MEAN divides by it instead of its own denominator.
            pub avg_factor: f64,
            /// false: grad = dL; true: grad += dL.
            pub accumulate: bool,
        }
        impl Default for $name {
            fn default() -> Self {
                $name { reduction: $red, $($field: $default,)* loss_weight: 1.0, avg_factor: 0.0, accumulate: false }
            }
        }
        impl $name {
            /// The validated output controls.
            pub(crate) fn controls(&self, batchmean_ok: bool) -> $crate::error::Result<$crate::reduce::Controls> {
                $crate::api::controls(self.reduction, self.loss_weight, self.avg_factor, self.accumulate, batchmean_ok)
            }
        }
    };
}

pub mod boxes;
pub mod classification;
pub mod dfl;
pub mod keypoints;
pub mod overlap;
pub mod regression;

/// The element type of the buffers: `f32` or `f64` (implemented for nothing else).
pub trait Float: crate::kernels::math::Math + crate::kernels::lovasz::Key {}
impl Float for f32 {}
impl Float for f64 {}

/// How the per-term losses are reduced (`lossfn_reduction`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Reduction {
    /// One value per term: `loss_weight · wᵢ · lᵢ` (the loss buffer holds one value per term).
    None,
    /// `loss_weight · Σ wᵢ·lᵢ / Σ wᵢ` (0 when the denominator is 0), or `/ avg_factor`.
    #[default]
    Mean,
    /// `loss_weight · Σ wᵢ·lᵢ`.
    Sum,
    /// `Σ / batch`: accepted only by the KL functions.
    BatchMean,
    /// The loss buffer receives the denominator MEAN would use and nothing else; no gradient
    /// (data-parallel training: all-reduce it, pass the global value as `avg_factor`).
    MeanDenominator,
}

impl Reduction {
    /// The length of the loss buffer for a call of `terms` terms: `terms` for [`Reduction::None`],
    /// else 1.
    pub fn loss_len(self, terms: usize) -> usize {
        if self == Reduction::None {
            terms
        } else {
            1
        }
    }
}

/// The output controls every options struct ends with, validated (docs/api.md §3):
/// `loss_weight` finite; `avg_factor` 0 (unused) or finite > 0 and only with MEAN; BATCHMEAN
/// only where `batchmean_ok`.
#[inline(always)]
pub(crate) fn controls(reduction: Reduction, loss_weight: f64, avg_factor: f64, accumulate: bool, batchmean_ok: bool) -> Result<Controls> {
    use crate::reduce::Reduction as R;
    let output = match reduction {
        Reduction::None => Output::Reduced(R::None),
        Reduction::Mean => Output::Reduced(R::Mean),
        Reduction::Sum => Output::Reduced(R::Sum),
        Reduction::BatchMean if batchmean_ok => Output::Reduced(R::BatchMean),
        Reduction::BatchMean => {
            return Err(Error::option("`options.reduction` = BATCHMEAN is accepted only by the KL functions"))
        }
        Reduction::MeanDenominator => Output::MeanDenominator,
    };
    check_option("options.loss_weight", loss_weight, loss_weight.is_finite(), "finite")?;
    check_option(
        "options.avg_factor",
        avg_factor,
        avg_factor == 0.0 || (avg_factor > 0.0 && avg_factor.is_finite()),
        "0 = unused, or finite, > 0",
    )?;
    if avg_factor > 0.0 && output != Output::Reduced(R::Mean) {
        return Err(Error::option(format!(
            "`options.avg_factor` = {avg_factor} is accepted only with LOSSFN_REDUCTION_MEAN (0 = unused)"
        )));
    }
    Ok(Controls { output, loss_weight, avg_factor, accumulate })
}

/// Checks a `double` option: not NaN and inside the stated domain, else INVALID_OPTION.
///
/// The checks of every call are inlined and their messages built out of line (`#[cold]`): a
/// small call spent about a third of its fixed cost moving `Result`s through the stack.
#[inline]
pub(crate) fn check_option(name: &str, value: f64, ok: bool, domain: &str) -> Result<()> {
    if value.is_nan() || !ok {
        return Err(option_error(name, value, domain));
    }
    Ok(())
}

#[cold]
#[inline(never)]
fn option_error(name: &str, value: f64, domain: &str) -> Error {
    Error::option(format!("`{name}` = {value} is out of domain ({domain})"))
}

/// `a · b`, or INVALID_SIZE naming what overflowed.
#[inline]
pub(crate) fn mul_size(what: &str, a: usize, b: usize) -> Result<usize> {
    a.checked_mul(b).ok_or_else(|| mul_size_error(what, a, b))
}

#[cold]
#[inline(never)]
fn mul_size_error(what: &str, a: usize, b: usize) -> Error {
    Error::size(format!("{what}: {a} x {b} overflows size_t"))
}

/// A buffer's length against the length the call needs, else INVALID_SIZE naming it.
#[inline]
pub(crate) fn check_len(name: &str, len: usize, expected: usize, what: &str) -> Result<()> {
    if len != expected {
        return Err(len_error(name, len, expected, what));
    }
    Ok(())
}

#[cold]
#[inline(never)]
fn len_error(name: &str, len: usize, expected: usize, what: &str) -> Error {
    Error::size(format!("`{name}` has {len} values; {expected} expected ({what})"))
}

/// The lengths of an optional buffer (`None` passes).
#[inline]
pub(crate) fn check_opt_len<T>(name: &str, buf: Option<&[T]>, expected: usize, what: &str) -> Result<()> {
    buf.map_or(Ok(()), |b| check_len(name, b.len(), expected, what))
}

/// The loss buffer (`terms` values for NONE, else 1) and the gradient (`grad_len` values).
#[inline]
pub(crate) fn check_outputs<T>(controls: &Controls, terms: usize, loss: &[T], grad_name: &str, grad: Option<&[T]>, grad_len: usize) -> Result<()> {
    let what = if controls.loss_len(terms) == 1 { "one reduced value" } else { "one value per term for NONE" };
    check_len("loss", loss.len(), controls.loss_len(terms), what)?;
    check_opt_len(grad_name, grad, grad_len, "the input's length")
}

/// Runs one loss under its controls ([`crate::reduce::run_loss`]) after the check that needs the
/// buffers: MEAN_DENOMINATOR takes no gradient.
pub(crate) fn run_loss<T: crate::kernels::Real, V: crate::reduce::Reduced>(
    controls: &Controls,
    loss: &mut [T],
    grad: Option<&mut [T]>,
    grad_name: &str,
    kernel: impl FnOnce(crate::reduce::Reduce, Option<&mut [T]>, Option<&mut [T]>) -> Result<V>,
) -> Result<()> {
    if controls.output == Output::MeanDenominator && grad.is_some() {
        return Err(Error::option(format!("`{grad_name}` must be NULL with LOSSFN_REDUCTION_MEAN_DENOMINATOR")));
    }
    crate::reduce::run_loss(controls, loss, grad, kernel)
}
