//! Box regression losses — IoU (UnitBox), GIoU, DIoU, CIoU, EIoU / Focal-EIoU, CDIoU — and the
//! pairwise IoU matrix, with fused analytic gradients.
//!
//! Every format is converted to corners (x1, y1, x2, y2) once; the loss and its gradient with
//! respect to the corners are computed by one implementation per loss; the gradient is mapped
//! back through the format's Jacobian. For pred (x1,y1,x2,y2) and target (X1,Y1,X2,Y2)
//! (the formulas and their derivations: `docs/boxes.md`):
//!
//! ```text
//! w = x2 − x1, h = y2 − y1                          (w_gt, h_gt for the target)
//! inter = max(0, min(x2,X2) − max(x1,X1)) · max(0, min(y2,Y2) − max(y1,Y1))
//! union = w·h + w_gt·h_gt − inter,   iou = inter / (max(union, 0) + eps)
//! cw = max(x2,X2) − min(x1,X1), ch likewise;  c2 = cw² + ch² + eps
//! rho2 = squared distance between the centres
//!
//! IoU    linear 1 − iou | square 1 − iou² | log −ln(max(iou, eps))          (UnitBox)
//! GIoU   1 − iou + (cw·ch − union) / (max(cw·ch, 0) + eps)                   (torchvision)
//! DIoU   1 − iou + rho2 / c2                                                 (torchvision)
//! CIoU   DIoU + alpha·v,  v = 4/π²·(atan2(w_gt,h_gt) − atan2(w,h))²,
//!        alpha = v / (1 − iou + v + eps), a constant (no gradient)           (torchvision)
//! EIoU   1 − iou + rho2/c2 + (w − w_gt)²/(cw² + eps) + (h − h_gt)²/(ch² + eps)
//!        Focal-EIoU: term weight iou^gamma (a constant)                    (arXiv 2101.08158)
//! CDIoU  1 − iou + lambda · Σₖ‖pₖ − tₖ‖ / (4·√(cw² + ch²) + eps), k over the 4 corners
//!                                                                          (arXiv 2103.11696)
//! ```
//!
//! At a tie of a min/max (and of max(·, 0)) the subgradient is split evenly, as torch does;
//! a corner distance of exactly 0 contributes gradient 0.
//!
//! Speed: the work is cut into fixed chunks (deterministic, see [`crate::reduce`]) and each
//! chunk into blocks of `BLOCK` boxes, converted to corner arrays (structure of arrays) so
//! that the per-box formulas — branch-free selects, and a polynomial [`atan2`] instead of a
//! libm call — vectorise.
use super::math::sign0;
use super::simd::{self, SimdTask};
use super::Real;
use crate::reduce::{self, Reduce};

/// How four numbers describe a box (the C `lossfn_box_format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// x1, y1, x2, y2.
    Xyxy,
    /// x1, y1, w, h (COCO).
    Xywh,
    /// cx, cy, w, h (YOLO, DETR).
    Cxcywh,
    /// l, t, r, b: distances from one shared point (FCOS, UnitBox): corners (−l, −t, r, b).
    Ltrb,
}

/// The UnitBox IoU loss variants (the C `lossfn_iou_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IouMode {
    /// 1 − iou.
    Linear,
    /// 1 − iou².
    Square,
    /// −ln(max(iou, eps)).
    Log,
}

/// Which CIoU formula (the C `lossfn_ciou_variant`): the frameworks differ in where eps goes
/// and in alpha.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CiouVariant {
    /// torchvision.ops.complete_box_iou_loss (the 0.1 behaviour).
    Torchvision,
    /// ultralytics/utils/metrics.py `bbox_iou(..., xywh=False, CIoU=True)` as `BboxLoss` calls it:
    /// heights h + eps in the areas and the aspect ratios.
    Ultralytics,
    /// mmdet/models/losses/iou_loss.py `ciou_loss`: h + eps in the aspect ratios only,
    /// alpha = [iou > 0.5]·v/(1 − iou + v), CIoU clamped to [−1, 1].
    Mmdet,
}

/// Which box loss, with its parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BoxLoss {
    Iou(IouMode),
    Giou,
    Diou,
    Ciou(CiouVariant),
    /// SIoU as mmdet's `siou_loss` (neg_gamma = False, its default).
    Siou,
    /// gamma = 0: EIoU; gamma > 0: Focal-EIoU.
    Eiou { gamma: f64 },
    Cdiou { lambda: f64 },
}

/// Which similarity the pairwise matrix holds (the C `lossfn_iou_kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IouKind {
    /// iou = inter / (max(union, 0) + eps).
    Iou,
    /// iou − (cw·ch − union) / (cw·ch + eps).
    Giou,
    /// iou − rho2 / c2.
    Diou,
    /// iou − rho2 / c2 − alpha·v.
    Ciou,
}

/// Inputs of one box-loss call (validated: `pred`, `target` hold 4·n values, `weight` n).
pub struct Args<'a, T> {
    pub pred: &'a [T],
    pub target: &'a [T],
    pub weight: Option<&'a [T]>,
}

/// Boxes per block: the unit the vectorised per-box loops run over.
pub(crate) const BLOCK: usize = 64;

/// Rough cost of one box in elementary operations (sizes the parallel chunks).
const WORK_PER_BOX: usize = 16;

// ---------------------------------------------------------------------------------------------
// Branch-free helpers (they compile to vector selects).

#[inline(always)]
fn min<T: Real>(a: T, b: T) -> T {
    if b < a { b } else { a }
}

#[inline(always)]
fn max<T: Real>(a: T, b: T) -> T {
    if b > a { b } else { a }
}

/// ∂min(a, b)/∂a, which is also ∂max(b, a)/∂b: 1 where a < b, ½ at a tie, 0 where a > b.
#[inline(always)]
fn pick<T: Real>(a: T, b: T) -> T {
    if a < b {
        T::one()
    } else if a == b {
        T::of(0.5)
    } else {
        T::zero()
    }
}

/// a / b, or 0 where b = 0 (used where b = 0 implies a = 0: a derivative that vanishes).
#[inline(always)]
fn div_or_zero<T: Real>(a: T, b: T) -> T {
    let zero = b == T::zero();
    let q = a / if zero { T::one() } else { b };
    if zero { T::zero() } else { q }
}

/// atan2(y, x), branch-free so that it vectorises (libm's is a call per element).
///
/// The octant is folded onto z = min(|x|,|y|) / max(|x|,|y|) ∈ [0, 1], reduced once more with
/// atan(z) = π/4 + atan((z − 1)/(z + 1)) above a threshold (one division: (min − max)/(min + max)),
/// and evaluated with Cephes' atanf polynomial (f32, ~1 ulp) or atan rational function (f64,
/// ~1 ulp); then unfolded: π/2 − r where |y| > |x|, π − r where x < 0, the sign of y.
/// atan2(0, 0) = 0.
#[inline(always)]
pub fn atan2<T: Real>(y: T, x: T) -> T {
    let (ax, ay) = (x.abs(), y.abs());
    let (lo, hi) = (min(ax, ay), max(ax, ay));
    let single = std::mem::size_of::<T>() == 4;
    // tan(π/8) for the f32 polynomial, 0.66 for Cephes' f64 rational function.
    let split = if single { T::of(0.414_213_562_373_095_05) } else { T::of(0.66) };
    let high = lo > split * hi;
    let num = if high { lo - hi } else { lo };
    let den = if high { lo + hi } else { hi };
    let z = num / if den == T::zero() { T::one() } else { den };
    let z2 = z * z;
    let r = if single {
        let p = ((T::of(8.053_744_495_38e-2) * z2 - T::of(1.387_768_560_32e-1)) * z2 + T::of(1.997_771_064_78e-1)) * z2
            - T::of(3.333_294_915_39e-1);
        z + z * z2 * p
    } else {
        let p = (((T::of(-8.750_608_600_031_904e-1) * z2 - T::of(1.615_753_718_733_365e1)) * z2
            - T::of(7.500_855_792_314_705e1))
            * z2
            - T::of(1.228_866_684_490_136e2))
            * z2
            - T::of(6.485_021_904_942_025e1);
        let q = ((((z2 + T::of(2.485_846_490_142_306e1)) * z2 + T::of(1.650_270_098_316_988_5e2)) * z2
            + T::of(4.328_810_604_912_903e2))
            * z2
            + T::of(4.853_903_996_359_137e2))
            * z2
            + T::of(1.945_506_571_482_614e2);
        z + z * (z2 * p / q)
    };
    let r = if high { T::FRAC_PI_4() + r } else { r };
    let r = if ay > ax { T::FRAC_PI_2() - r } else { r };
    let r = if x < T::zero() { T::PI() - r } else { r };
    r.copysign(y)
}

// ---------------------------------------------------------------------------------------------
// The shared geometry and its pull-back to the corners.

/// The quantities every loss of the family is built from, for one (pred, target) pair.
#[derive(Clone, Copy)]
struct Pair<T> {
    p: [T; 4],
    t: [T; 4],
    w: T,
    h: T,
    w_gt: T,
    h_gt: T,
    /// Overlap extents before clamping at 0.
    ix: T,
    iy: T,
    union: T,
    /// 1 / (max(union, 0) + eps).
    inv_union: T,
    iou: T,
    /// Enclosing box.
    cw: T,
    ch: T,
    /// Centre offsets (pred − target).
    dx: T,
    dy: T,
}

#[inline(always)]
fn pair<T: Real>(p: [T; 4], t: [T; 4], eps: T) -> Pair<T> {
    pair_with(p, t, eps, false)
}

/// [`pair`]; with `h_eps` (a constant where it is inlined) the heights are h + eps and h_gt + eps (in the areas, hence the union,
/// and wherever `h` is used), as ultralytics' `bbox_iou` does for corner boxes. ∂h/∂y is ±1
/// either way, so [`pull_back`] holds for both.
#[inline(always)]
fn pair_with<T: Real>(p: [T; 4], t: [T; 4], eps: T, h_eps: bool) -> Pair<T> {
    let [x1, y1, x2, y2] = p;
    let [tx1, ty1, tx2, ty2] = t;
    let (w, h) = (x2 - x1, y2 - y1);
    let (w_gt, h_gt) = (tx2 - tx1, ty2 - ty1);
    let (h, h_gt) = if h_eps { (h + eps, h_gt + eps) } else { (h, h_gt) };
    let ix = min(x2, tx2) - max(x1, tx1);
    let iy = min(y2, ty2) - max(y1, ty1);
    let inter = max(ix, T::zero()) * max(iy, T::zero());
    let union = w * h + w_gt * h_gt - inter;
    let inv_union = (max(union, T::zero()) + eps).recip();
    let half = T::of(0.5);
    Pair {
        p,
        t,
        w,
        h,
        w_gt,
        h_gt,
        ix,
        iy,
        union,
        inv_union,
        iou: inter * inv_union,
        cw: max(x2, tx2) - min(x1, tx1),
        ch: max(y2, ty2) - min(y1, ty1),
        dx: half * (x1 + x2) - half * (tx1 + tx2),
        dy: half * (y1 + y2) - half * (ty1 + ty2),
    }
}

/// ∂L/∂ of the shared quantities, as each loss sets them; [`pull_back`] turns them into
/// ∂L/∂(x1, y1, x2, y2). `union` and `w`, `h` are direct dependencies besides the ones through
/// `iou`.
#[derive(Clone, Copy)]
struct Adjoint<T> {
    iou: T,
    union: T,
    cw: T,
    ch: T,
    dx: T,
    dy: T,
    w: T,
    h: T,
}

impl<T: Real> Adjoint<T> {
    fn iou(g: T) -> Self {
        let z = T::zero();
        Adjoint { iou: g, union: z, cw: z, ch: z, dx: z, dy: z, w: z, h: z }
    }
}

/// The chain rule through the shared geometry (docs/boxes.md, "Pull-back").
#[inline(always)]
fn pull_back<T: Real>(q: &Pair<T>, g: Adjoint<T>) -> [T; 4] {
    let [x1, y1, x2, y2] = q.p;
    let [tx1, ty1, tx2, ty2] = q.t;
    let zero = T::zero();
    // iou = inter / (max(union, 0) + eps)
    let g_union = g.union - g.iou * q.iou * q.inv_union * pick(zero, q.union);
    // union = w·h + w_gt·h_gt − inter
    let g_inter = g.iou * q.inv_union - g_union;
    let g_w = g.w + g_union * q.h;
    let g_h = g.h + g_union * q.w;
    // inter = max(ix, 0) · max(iy, 0)
    let g_ix = g_inter * max(q.iy, zero) * pick(zero, q.ix);
    let g_iy = g_inter * max(q.ix, zero) * pick(zero, q.iy);
    // ix = min(x2, X2) − max(x1, X1); cw = max(x2, X2) − min(x1, X1); dx = (x1 + x2)/2 − …
    let half = T::of(0.5);
    let (gdx, gdy) = (half * g.dx, half * g.dy);
    [
        gdx - g_w - g_ix * pick(tx1, x1) - g.cw * pick(x1, tx1),
        gdy - g_h - g_iy * pick(ty1, y1) - g.ch * pick(y1, ty1),
        gdx + g_w + g_ix * pick(x2, tx2) + g.cw * pick(tx2, x2),
        gdy + g_h + g_iy * pick(y2, ty2) + g.ch * pick(ty2, y2),
    ]
}

// ---------------------------------------------------------------------------------------------
// The losses.

/// What one loss gives for one box: its value, ∂l/∂corners (when asked), and the factor of its
/// term weight (iou^gamma for Focal-EIoU, else 1).
#[derive(Clone, Copy)]
pub(crate) struct Term<T> {
    pub loss: T,
    pub grad: [T; 4],
    pub factor: T,
}

/// One loss of the family on corner boxes.
pub(crate) trait Loss<T: Real>: Sync {
    /// Whether the term weight depends on the box (Focal-EIoU): then the MEAN denominator is
    /// only known after the pass.
    const BOX_FACTOR: bool = false;
    /// The widest SIMD copy to run (see [`SimdTask::WIDEST`]): AVX-512 was up to 20% slower than
    /// AVX2 for IoU, GIoU, DIoU and EIoU, and 10-15% faster for CIoU and CDIoU (BENCHMARKS.md).
    const WIDEST: u8 = 1;
    fn eval<const GRAD: bool>(&self, p: [T; 4], t: [T; 4]) -> Term<T>;
}

#[inline(always)]
fn term<T: Real>(loss: T, grad: [T; 4]) -> Term<T> {
    Term { loss, grad, factor: T::one() }
}

/// UnitBox IoU loss; `MODE` is 0 linear, 1 square, 2 log.
struct Iou<T, const MODE: u8> {
    eps: T,
}

impl<T: Real, const MODE: u8> Loss<T> for Iou<T, MODE> {
    #[inline(always)]
    fn eval<const GRAD: bool>(&self, p: [T; 4], t: [T; 4]) -> Term<T> {
        let q = pair(p, t, self.eps);
        let one = T::one();
        let iou = q.iou;
        let (loss, g_iou) = match MODE {
            0 => (one - iou, -one),
            1 => (one - iou * iou, -(iou + iou)),
            _ => {
                let clamped = max(iou, self.eps);
                (-clamped.ln(), -pick(self.eps, iou) / clamped)
            }
        };
        let grad = if GRAD { pull_back(&q, Adjoint::iou(g_iou)) } else { [T::zero(); 4] };
        term(loss, grad)
    }
}

/// GIoU loss (torchvision.ops.generalized_box_iou_loss).
struct Giou<T> {
    eps: T,
}

impl<T: Real> Loss<T> for Giou<T> {
    #[inline(always)]
    fn eval<const GRAD: bool>(&self, p: [T; 4], t: [T; 4]) -> Term<T> {
        let q = pair(p, t, self.eps);
        let area_c = q.cw * q.ch;
        // As for the union, max(C, 0): an enclosing box inverted on one axis (both boxes
        // inverted there) must not bring the denominator to 0.
        let inv_c = (max(area_c, T::zero()) + self.eps).recip();
        let loss = T::one() - q.iou + (area_c - q.union) * inv_c;
        let grad = if GRAD {
            // ∂/∂C (C − U)/(C + eps) = (U + eps)/(C + eps)² (1/eps where C < 0),  ∂/∂U = −1/(C + eps)
            let g_area_c = if area_c < T::zero() { inv_c } else { (q.union + self.eps) * inv_c * inv_c };
            let g = Adjoint { union: -inv_c, cw: g_area_c * q.ch, ch: g_area_c * q.cw, ..Adjoint::iou(-T::one()) };
            pull_back(&q, g)
        } else {
            [T::zero(); 4]
        };
        term(loss, grad)
    }
}

/// rho2 / c2 and its adjoint, shared by DIoU, CIoU and EIoU.
#[inline(always)]
fn distance_term<T: Real>(q: &Pair<T>, eps: T) -> (T, Adjoint<T>) {
    let inv_c2 = (q.cw * q.cw + q.ch * q.ch + eps).recip();
    let rho2 = q.dx * q.dx + q.dy * q.dy;
    let d = rho2 * inv_c2;
    let two = T::of(2.0);
    // ∂/∂rho2 = 1/c2, ∂/∂c2 = −rho2/c2²
    let g_c2 = -d * inv_c2;
    let g = Adjoint {
        dx: two * q.dx * inv_c2,
        dy: two * q.dy * inv_c2,
        cw: two * q.cw * g_c2,
        ch: two * q.ch * g_c2,
        ..Adjoint::iou(-T::one())
    };
    (d, g)
}

/// DIoU loss (torchvision.ops.distance_box_iou_loss).
struct Diou<T> {
    eps: T,
}

impl<T: Real> Loss<T> for Diou<T> {
    #[inline(always)]
    fn eval<const GRAD: bool>(&self, p: [T; 4], t: [T; 4]) -> Term<T> {
        let q = pair(p, t, self.eps);
        let (d, g) = distance_term(&q, self.eps);
        let grad = if GRAD { pull_back(&q, g) } else { [T::zero(); 4] };
        term(T::one() - q.iou + d, grad)
    }
}

/// 4/π².
#[inline(always)]
fn four_over_pi2<T: Real>() -> T {
    T::of(4.0 / (std::f64::consts::PI * std::f64::consts::PI))
}

/// CIoU loss, alpha a constant (no gradient) in every variant; `V` is the [`CiouVariant`]:
///
/// ```text
/// loss  = 1 − iou + rho2/c2 + alpha·v,   v = 4/π²·(atan2(w_gt, h_gt) − atan2(w, h))²
/// 0 TORCHVISION  alpha = v/(1 − iou + v + eps)                      (ops/ciou_loss.py)
/// 1 ULTRALYTICS  as 0 with h + eps, h_gt + eps everywhere           (utils/metrics.py bbox_iou)
/// 2 MMDET        h + eps in v only; alpha = [iou > 0.5]·v/(1 − iou + v);
///                loss = 1 − clamp(ciou, −1, 1): 2 and no gradient where ciou < −1
///                                                                    (models/losses/iou_loss.py)
/// ```
///
/// atan2(w, h) is atan(w/h) for h > 0, as the sources write it; it stays continuous for
/// inverted boxes (the 0.1 choice).
struct Ciou<T, const V: u8> {
    eps: T,
}

impl<T: Real, const V: u8> Loss<T> for Ciou<T, V> {
    const WIDEST: u8 = 2;
    #[inline(always)]
    fn eval<const GRAD: bool>(&self, p: [T; 4], t: [T; 4]) -> Term<T> {
        let eps = self.eps;
        let q = pair_with(p, t, eps, V == 1);
        let (d, g) = distance_term(&q, eps);
        // The heights of the aspect ratios: mmdet adds eps there only.
        let (h, h_gt) = if V == 2 { (q.h + eps, q.h_gt + eps) } else { (q.h, q.h_gt) };
        let k = four_over_pi2::<T>();
        let delta = atan2(q.w_gt, h_gt) - atan2(q.w, h);
        let v = k * delta * delta;
        let alpha = if V == 2 {
            // 0/0 at iou = 1, v = 0 in mmdet; alpha·v = 0 there.
            let a = div_or_zero(v, T::one() - q.iou + v);
            if q.iou > T::of(0.5) { a } else { T::zero() }
        } else {
            v / (T::one() - q.iou + v + eps)
        };
        let loss = T::one() - q.iou + d + alpha * v;
        // mmdet: 1 − clamp(ciou, −1, 1); ciou ≤ iou < 1, so only the lower clamp can act.
        let clamped = V == 2 && loss > T::of(2.0);
        let loss = if clamped { T::of(2.0) } else { loss };
        let grad = if GRAD && !clamped {
            // ∂atan2(w, h)/∂w = h/(w² + h²), ∂/∂h = −w/(w² + h²); 0 where w² + h² underflows to 0
            // (a degenerate box). Numerators first: with a subnormal w² + h², s = c/(w² + h²)
            // alone overflows and s·w was ∞·0 = NaN at w = 0, while c·h/(w² + h²) is finite.
            let c = alpha * T::of(2.0) * k * delta;
            let r2 = q.w * q.w + h * h;
            let g = Adjoint { w: g.w - div_or_zero(c * h, r2), h: g.h + div_or_zero(c * q.w, r2), ..g };
            pull_back(&q, g)
        } else {
            [T::zero(); 4]
        };
        term(loss, grad)
    }
}

/// SIoU loss (arXiv 2205.12740) as mmdet's `siou_loss` with its default neg_gamma = False
/// (mmdet/models/losses/iou_loss.py):
///
/// ```text
/// a, b   = centre offsets target − pred, each + eps;  σ = √(a² + b²)
/// Λ      = cos(2·asin(sin α) − π/2) = 2·|a|·|b|/σ²       (angle cost; either branch of mmdet's
///                                                           sin α choice gives this value)
/// ρx, ρy = (a/cw)², (b/ch)²,   cw, ch = the enclosing box's sides clamped to ≥ eps
/// γ      = 2 − Λ;   Δ = 2 − e^{γ·ρx} − e^{γ·ρy}          (distance cost; ≤ 0 with this sign of γ)
/// ω_w    = |w − w_gt| / max(w, w_gt, eps), ω_h likewise with h + eps, h_gt + eps
/// Ω      = (1 − e^{−ω_w})⁴ + (1 − e^{−ω_h})⁴             (shape cost)
/// loss   = 1 − clamp(iou − (Δ + Ω)/2, −1, 1)             (no gradient where clamped)
/// ```
///
/// Departures, all outside valid targets' domain: e^{γρ} is capped at e^80 where it would
/// overflow (such a loss is clamped to 0 either way), and the shape term's denominator has the
/// floor eps (see [`siou_shape`]), which keeps the loss and gradient finite where both boxes
/// are degenerate or inverted (mmdet gives ±inf or NaN there).
struct Siou<T> {
    eps: T,
}

/// SIoU's shape term of one side: (1 − e^{−ω})⁴ with ω = |s − s_gt|/m, m = max(s, s_gt, eps),
/// and its derivative in s: ∂ω/∂s = (sgn(s − s_gt) − ω·∂m/∂s)/m.
///
/// mmdet divides by max(s, s_gt); the floor eps changes the value only where both sides are
/// below eps (a degenerate or inverted target), and keeps ω ≥ 0 and the derivative bounded
/// (≲ 5/eps): ω is scale-free, so without it the derivative grows as 1/m and overflows for
/// boxes at the bottom of the type's range.
#[inline(always)]
fn siou_shape<T: Real>(s: T, s_gt: T, eps: T) -> (T, T) {
    let m0 = max(s, s_gt);
    let m = max(m0, eps);
    let d = s - s_gt;
    let omega = d.abs() / m;
    let e = (-omega).exp();
    let base = T::one() - e;
    let base2 = base * base;
    // ∂m/∂s: through max(s, s_gt) where that is above eps (ties split evenly, as torch).
    let dm = pick(eps, m0) * pick(s_gt, s);
    // e^{−ω} in the numerator; where ω is so large that e = 0 the derivative is 0.
    let g = if e == T::zero() { T::zero() } else { T::of(4.0) * base2 * base * (e * (sign0(d) - omega * dm)) / m };
    (base2 * base2, g)
}

impl<T: Real> Loss<T> for Siou<T> {
    #[inline(always)]
    fn eval<const GRAD: bool>(&self, p: [T; 4], t: [T; 4]) -> Term<T> {
        let eps = self.eps;
        let q = pair(p, t, eps);
        let (one, two, half) = (T::one(), T::of(2.0), T::of(0.5));
        let (cw, ch) = (max(q.cw, eps), max(q.ch, eps));
        let (a, b) = (eps - q.dx, eps - q.dy);
        let sigma = (a * a + b * b).sqrt();
        let (u, w) = (div_or_zero(a.abs(), sigma), div_or_zero(b.abs(), sigma));
        let angle = two * u * w;
        let (ax, by) = (a / cw, b / ch);
        let (rho_x, rho_y) = (ax * ax, by * by);
        let gamma = two - angle;
        // Exponents capped at 80 (e^80 ≈ 5.5e34: the sums below stay finite even in f32). A
        // capped term makes the loss far below 0, clamped to 0 with no gradient, as the uncapped
        // one would; only where both boxes are inverted could two capped terms meet, and there
        // mmdet's own value is ±inf or NaN while this one stays finite.
        let cap = T::of(80.0);
        let (ex, ey) = (min(gamma * rho_x, cap).exp(), min(gamma * rho_y, cap).exp());
        let distance = two - ex - ey;
        let (shape_w, g_shape_w) = siou_shape(q.w, q.w_gt, eps);
        let (shape_h, g_shape_h) = siou_shape(q.h + eps, q.h_gt + eps, eps);
        let loss = one - q.iou + half * (distance + shape_w + shape_h);
        // 1 − clamp(siou, −1, 1): the loss in [0, 2], no gradient outside (torch's clamp passes
        // the gradient at the bounds themselves).
        let inside = loss >= T::zero() && loss <= two;
        let loss = if loss < T::zero() { T::zero() } else if loss > two { two } else { loss };
        let grad = if GRAD && inside {
            // ∂loss/∂ρx = −γ·e^{γρx}/2, ∂loss/∂Λ = (ρx·e^{γρx} + ρy·e^{γρy})/2
            let (g_rho_x, g_rho_y) = (-half * gamma * ex, -half * gamma * ey);
            let g_angle = half * (rho_x * ex + rho_y * ey);
            // ∂Λ/∂a = 2·sgn(a)·w·(w² − u²)/σ with u = |a|/σ, w = |b|/σ (0 at σ = 0)
            let g_a = g_rho_x * two * ax / cw + g_angle * div_or_zero(two * sign0(a) * w * (w * w - u * u), sigma);
            let g_b = g_rho_y * two * by / ch + g_angle * div_or_zero(two * sign0(b) * u * (u * u - w * w), sigma);
            // ∂ρx/∂cw = −2ρx/cw where the clamp at eps passes it
            let g_cw = if q.cw >= eps { -g_rho_x * two * rho_x / cw } else { T::zero() };
            let g_ch = if q.ch >= eps { -g_rho_y * two * rho_y / ch } else { T::zero() };
            let g = Adjoint {
                iou: -one,
                union: T::zero(),
                cw: g_cw,
                ch: g_ch,
                // a = eps − dx
                dx: -g_a,
                dy: -g_b,
                w: half * g_shape_w,
                h: half * g_shape_h,
            };
            pull_back(&q, g)
        } else {
            [T::zero(); 4]
        };
        term(loss, grad)
    }
}

/// EIoU / Focal-EIoU loss; the box's term weight is iou^gamma. `FOCAL` picks how it is
/// computed: 0 gamma = 0 (EIoU, weight 1), 1 sqrt (gamma = 0.5, the paper's), 2 gamma = 1,
/// 3 powf — a constant per call, so the per-box loop stays branch-free (and vectorises, powf aside).
struct Eiou<T, const FOCAL: u8> {
    eps: T,
    gamma: T,
}

impl<T: Real, const FOCAL: u8> Eiou<T, FOCAL> {
    #[inline(always)]
    fn focal(&self, iou: T) -> T {
        match FOCAL {
            0 => T::one(),
            1 => iou.sqrt(),
            2 => iou,
            _ => iou.powf(self.gamma),
        }
    }
}

impl<T: Real, const FOCAL: u8> Loss<T> for Eiou<T, FOCAL> {
    const BOX_FACTOR: bool = FOCAL != 0;

    #[inline(always)]
    fn eval<const GRAD: bool>(&self, p: [T; 4], t: [T; 4]) -> Term<T> {
        let q = pair(p, t, self.eps);
        let (d, g) = distance_term(&q, self.eps);
        let inv_cw2 = (q.cw * q.cw + self.eps).recip();
        let inv_ch2 = (q.ch * q.ch + self.eps).recip();
        let (ew, eh) = (q.w - q.w_gt, q.h - q.h_gt);
        let (ew2, eh2) = (ew * ew * inv_cw2, eh * eh * inv_ch2);
        let loss = T::one() - q.iou + d + ew2 + eh2;
        let grad = if GRAD {
            let two = T::of(2.0);
            let g = Adjoint {
                w: two * ew * inv_cw2,
                h: two * eh * inv_ch2,
                cw: g.cw - two * q.cw * ew2 * inv_cw2,
                ch: g.ch - two * q.ch * eh2 * inv_ch2,
                ..g
            };
            pull_back(&q, g)
        } else {
            [T::zero(); 4]
        };
        Term { loss, grad, factor: self.focal(q.iou) }
    }
}

/// CDIoU loss: corner distances normalised by the enclosing diagonal.
struct Cdiou<T> {
    eps: T,
    lambda: T,
}

impl<T: Real> Loss<T> for Cdiou<T> {
    const WIDEST: u8 = 2;
    #[inline(always)]
    fn eval<const GRAD: bool>(&self, p: [T; 4], t: [T; 4]) -> Term<T> {
        let q = pair(p, t, self.eps);
        let [x1, y1, x2, y2] = p;
        let [tx1, ty1, tx2, ty2] = t;
        let (ex1, ey1, ex2, ey2) = (x1 - tx1, y1 - ty1, x2 - tx2, y2 - ty2);
        // Corners (x1,y1), (x2,y1), (x1,y2), (x2,y2) against the target's.
        let d = [
            (ex1 * ex1 + ey1 * ey1).sqrt(),
            (ex2 * ex2 + ey1 * ey1).sqrt(),
            (ex1 * ex1 + ey2 * ey2).sqrt(),
            (ex2 * ex2 + ey2 * ey2).sqrt(),
        ];
        let sum_d = d[0] + d[1] + d[2] + d[3];
        let diag = (q.cw * q.cw + q.ch * q.ch).sqrt();
        let inv_den = (T::of(4.0) * diag + self.eps).recip();
        let g_sum = self.lambda * inv_den;
        let loss = T::one() - q.iou + g_sum * sum_d;
        let grad = if GRAD {
            // ∂/∂Σd = λ/den, ∂/∂diag = −4λ·Σd/den², ∂diag/∂cw = cw/diag (0 at diag = 0). The
            // ratio cw/diag ≤ 1 is taken on its own, so that a tiny diag (inverted boxes) cannot
            // overflow the product on the way; a zero ratio gives 0 even if −4λ·Σd/den² overflowed.
            let g_diag = g_sum * (sum_d * inv_den) * T::of(-4.0);
            let (dw, dh) = (div_or_zero(q.cw, diag), div_or_zero(q.ch, diag));
            let zero_or = |r: T| if r == T::zero() { T::zero() } else { g_diag * r };
            let g = Adjoint { cw: zero_or(dw), ch: zero_or(dh), ..Adjoint::iou(-T::one()) };
            let [gx1, gy1, gx2, gy2] = pull_back(&q, g);
            // ∂‖e‖/∂e = e/‖e‖, 0 at a zero distance
            let u = [div_or_zero(g_sum, d[0]), div_or_zero(g_sum, d[1]), div_or_zero(g_sum, d[2]), div_or_zero(g_sum, d[3])];
            [
                gx1 + ex1 * (u[0] + u[2]),
                gy1 + ey1 * (u[0] + u[1]),
                gx2 + ex2 * (u[1] + u[3]),
                gy2 + ey2 * (u[2] + u[3]),
            ]
        } else {
            [T::zero(); 4]
        };
        term(loss, grad)
    }
}

// ---------------------------------------------------------------------------------------------
// Formats.

/// A block of boxes as corner arrays (structure of arrays, so the per-box loops vectorise).
struct Corners<T> {
    c: [[T; BLOCK]; 4],
}

impl<T: Real> Corners<T> {
    fn new() -> Self {
        Corners { c: [[T::zero(); BLOCK]; 4] }
    }

    #[inline(always)]
    fn get(&self, i: usize) -> [T; 4] {
        [self.c[0][i], self.c[1][i], self.c[2][i], self.c[3][i]]
    }

    /// Loads `src` (4 values per box, in `format`) as corners.
    #[inline(always)]
    fn load(&mut self, format: Format, src: &[T]) {
        let half = T::of(0.5);
        let [c0, c1, c2, c3] = &mut self.c;
        let it = src.chunks_exact(4).zip(c0.iter_mut().zip(c1.iter_mut().zip(c2.iter_mut().zip(c3.iter_mut()))));
        match format {
            Format::Xyxy => it.for_each(|(b, (x1, (y1, (x2, y2))))| (*x1, *y1, *x2, *y2) = (b[0], b[1], b[2], b[3])),
            Format::Xywh => it.for_each(|(b, (x1, (y1, (x2, y2))))| (*x1, *y1, *x2, *y2) = (b[0], b[1], b[0] + b[2], b[1] + b[3])),
            Format::Cxcywh => it.for_each(|(b, (x1, (y1, (x2, y2))))| {
                (*x1, *y1, *x2, *y2) = (b[0] - half * b[2], b[1] - half * b[3], b[0] + half * b[2], b[1] + half * b[3])
            }),
            Format::Ltrb => it.for_each(|(b, (x1, (y1, (x2, y2))))| (*x1, *y1, *x2, *y2) = (-b[0], -b[1], b[2], b[3])),
        }
    }
}

/// Writes ∂L/∂(the format's four numbers) = (transposed Jacobian of the format) · ∂L/∂corners,
/// times `scale[i]·gs`, for the boxes of one block: XYWH (gx1 + gx2, gy1 + gy2, gx2, gy2);
/// CXCYWH (gx1 + gx2, gy1 + gy2, (gx2 − gx1)/2, (gy2 − gy1)/2); LTRB (−gx1, −gy1, gx2, gy2).
/// The format is matched once per block, so each loop is straight-line and vectorises.
#[inline(always)]
fn store_grad<T: Real>(format: Format, g: &Corners<T>, scale: &[T; BLOCK], gs: T, out: &mut [T]) {
    #[inline(always)]
    fn each<T: Real>(g: &Corners<T>, scale: &[T; BLOCK], gs: T, out: &mut [T], jt: impl Fn([T; 4]) -> [T; 4]) {
        for (i, o) in out.chunks_exact_mut(4).enumerate() {
            let gi = jt(g.get(i));
            for k in 0..4 {
                o[k] = gi[k] * scale[i] * gs;
            }
        }
    }
    let half = T::of(0.5);
    match format {
        Format::Xyxy => each(g, scale, gs, out, |g| g),
        Format::Xywh => each(g, scale, gs, out, |[gx1, gy1, gx2, gy2]| [gx1 + gx2, gy1 + gy2, gx2, gy2]),
        Format::Cxcywh => each(g, scale, gs, out, |[gx1, gy1, gx2, gy2]| [gx1 + gx2, gy1 + gy2, half * (gx2 - gx1), half * (gy2 - gy1)]),
        Format::Ltrb => each(g, scale, gs, out, |[gx1, gy1, gx2, gy2]| [-gx1, -gy1, gx2, gy2]),
    }
}

// ---------------------------------------------------------------------------------------------
// The driver.

/// `eps` in `T`, raised to the smallest normal number: a smaller (valid) eps would round to 0
/// in f32, or have an infinite reciprocal, and empty boxes would give 0/0.
#[inline]
pub(crate) fn eps_of<T: Real>(eps: f64) -> T {
    T::of(eps).max(T::min_positive_value())
}

/// Computes the box loss (returned, reduced; for NONE the values wᵢ·lᵢ go to `loss_none`) and
/// the gradient with respect to `pred`, in pred's format, into `grad`, in one pass.
///
/// The term weight is `weight[i]` (1 without weights), times iou^gamma for Focal-EIoU.
pub fn box_loss<T: Real>(
    kind: BoxLoss,
    format: Format,
    eps: f64,
    args: &Args<'_, T>,
    reduction: Reduce,
    loss_none: Option<&mut [T]>,
    grad: Option<&mut [T]>,
) -> f64 {
    with_loss(kind, eps, Driver { format, args, reduction, loss_none, grad })
}

/// A computation over the boxes that is generic over the loss: [`with_loss`] hands it the
/// loss `kind` as a concrete [`Loss`] (so that the per-box formulas inline into its loops).
pub(crate) trait WithLoss<T: Real> {
    type Output;
    fn run<L: Loss<T>>(self, loss: L) -> Self::Output;
}

/// Runs `user` with the [`Loss`] of `kind`, eps raised by [`eps_of`].
pub(crate) fn with_loss<T: Real, U: WithLoss<T>>(kind: BoxLoss, eps: f64, user: U) -> U::Output {
    let e = eps_of::<T>(eps);
    match kind {
        BoxLoss::Iou(IouMode::Linear) => user.run(Iou::<T, 0> { eps: e }),
        BoxLoss::Iou(IouMode::Square) => user.run(Iou::<T, 1> { eps: e }),
        BoxLoss::Iou(IouMode::Log) => user.run(Iou::<T, 2> { eps: e }),
        BoxLoss::Giou => user.run(Giou { eps: e }),
        BoxLoss::Diou => user.run(Diou { eps: e }),
        BoxLoss::Ciou(CiouVariant::Torchvision) => user.run(Ciou::<T, 0> { eps: e }),
        BoxLoss::Ciou(CiouVariant::Ultralytics) => user.run(Ciou::<T, 1> { eps: e }),
        BoxLoss::Ciou(CiouVariant::Mmdet) => user.run(Ciou::<T, 2> { eps: e }),
        BoxLoss::Siou => user.run(Siou { eps: e }),
        BoxLoss::Eiou { gamma } if gamma == 0.0 => user.run(Eiou::<T, 0> { eps: e, gamma: T::zero() }),
        BoxLoss::Eiou { gamma } if gamma == 0.5 => user.run(Eiou::<T, 1> { eps: e, gamma: T::of(gamma) }),
        BoxLoss::Eiou { gamma } if gamma == 1.0 => user.run(Eiou::<T, 2> { eps: e, gamma: T::of(gamma) }),
        BoxLoss::Eiou { gamma } => user.run(Eiou::<T, 3> { eps: e, gamma: T::of(gamma) }),
        BoxLoss::Cdiou { lambda } => user.run(Cdiou { eps: e, lambda: T::of(lambda) }),
    }
}

struct Driver<'a, 'b, 'o, T> {
    format: Format,
    args: &'b Args<'a, T>,
    reduction: Reduce,
    loss_none: Option<&'o mut [T]>,
    grad: Option<&'o mut [T]>,
}

impl<T: Real> WithLoss<T> for Driver<'_, '_, '_, T> {
    type Output = f64;
    fn run<L: Loss<T>>(mut self, loss: L) -> f64 {
        let (l, g) = (self.loss_none.take(), self.grad.take());
        self.run_loss(loss, l, g)
    }
}

/// Coordinates above which a pair of boxes is computed at a smaller scale: 2^56 in f32, 2^504 in
/// f64 — below, areas, squared diagonals and their sums stay well inside the type.
fn huge_coordinate<T: Real>() -> T {
    T::of(2f64.powi(if std::mem::size_of::<T>() < 8 { 56 } else { 504 }))
}

/// Whether a coordinate of the block's pairs is above [`huge_coordinate`] (a max per lane over
/// the eight corner rows, in L1, which vectorizes; rows past the block's `m` boxes may hold an
/// earlier block's values, which at worst sends a block to the rare path for nothing).
#[inline(always)]
fn any_huge<T: Real>(p: &Corners<T>, t: &Corners<T>) -> bool {
    let mut acc = [T::zero(); 16];
    for row in p.c.iter().chain(t.c.iter()) {
        for ch in row.chunks_exact(16) {
            for j in 0..16 {
                acc[j] = max(acc[j], ch[j].abs());
            }
        }
    }
    let huge = huge_coordinate::<T>();
    acc.iter().any(|&a| a > huge)
}

/// Brings each pair of boxes whose largest finite coordinate is above [`huge_coordinate`] to
/// just below it by a power of two s (exact), and leaves s in `shrink` (1 for the others).
/// Every box loss here is scale-invariant but for its `eps`, which is negligible at that size,
/// so the loss is the pair's and the gradient is s times the scaled pair's (issue 32: boxes near
/// 1e30 in f32 overflowed areas and squared diagonals: NaN).
///
/// Returns whether any pair was scaled. Kept out of line, as [`unscale`]: the hot loop's code is
/// then the same as without the guard.
#[cold]
#[inline(never)]
fn rescale<T: Real>(p: &mut Corners<T>, t: &mut Corners<T>, m: usize, shrink: &mut [T; BLOCK]) -> bool {
    let huge = huge_coordinate::<T>().f64();
    let mut any = false;
    for (i, s) in shrink.iter_mut().enumerate().take(m) {
        let a = p.get(i).into_iter().chain(t.get(i)).fold(0f64, |acc, v| acc.max(v.f64().abs()));
        *s = if a > huge && a.is_finite() { T::of(2f64.powi(-((a / huge).log2().floor() as i32 + 1))) } else { T::one() };
        any |= *s != T::one();
        for k in 0..4 {
            p.c[k][i] *= *s;
            t.c[k][i] *= *s;
        }
    }
    any
}

/// ∂L/∂x = s·∂L/∂(s·x) for the pairs [`rescale`] scaled (the loss of the scaled pair is the loss
/// of the pair).
#[cold]
#[inline(never)]
fn unscale<T: Real>(g: &mut Corners<T>, shrink: &[T; BLOCK], m: usize) {
    for row in g.c.iter_mut() {
        for (v, &s) in row[..m].iter_mut().zip(&shrink[..m]) {
            *v *= s;
        }
    }
}

/// Per-chunk sums: Σ term weight · loss and Σ term weight.
#[derive(Clone, Copy, Default)]
struct Sums {
    loss: f64,
    weight: f64,
}

impl<T: Real> Driver<'_, '_, '_, T> {
    /// Runs `loss` over the boxes, a chunk at a time on the widest SIMD copy, and reduces.
    fn run_loss<L: Loss<T>>(&self, loss: L, loss_none: Option<&mut [T]>, mut grad: Option<&mut [T]>) -> f64 {
        let n = self.args.pred.len() / 4;
        // Focal-EIoU's MEAN denominator Σ iou^γ·w is known only after the pass: the gradient is
        // written with scale 1 and rescaled afterwards. Otherwise the scale is known up front.
        let late = L::BOX_FACTOR && self.reduction.own_mean();
        // The weights of a MEAN far from 1 (subnormal, or near the type's largest) are scaled
        // by a power of two c first: MEAN is unchanged, and Σ c·w and c·w·l stay in range.
        let reduce::WeightScale { c: wc, s } = self.reduction.weight_scale(n, self.args.weight);
        let s = if late { 1.0 } else { s };
        let (gs, wc_t) = (T::of(s), T::of(wc));
        let partials = reduce::for_chunks(n, 4, WORK_PER_BOX, loss_none, grad.as_deref_mut(), |c| {
            simd::dispatch(ChunkTask { driver: self, loss: &loss, c, gs, wc: wc_t })
        });
        let total = partials.iter().fold(Sums::default(), |a, s| Sums { loss: a.loss + s.loss, weight: a.weight + s.weight });
        if !late {
            return total.loss * s;
        }
        // Divide by the scaled weights' Σ; MEAN_DENOMINATOR records the caller's.
        let s = self.reduction.scale_scaled(total.weight, wc, 1);
        let gs = T::of(s);
        if !gs.is_finite() {
            // Σ iou^γ·w so small (near-disjoint boxes, large γ) that its reciprocal overflows T:
            // divide instead (each |g| ≤ its term weight · |∂l|, so g / Σ stays finite).
            let (den, lw) = (total.weight, self.reduction.loss_weight);
            if let Some(g) = grad {
                reduce::for_chunks(n, 4, 1, None, Some(g), |c| c.grad.into_iter().flatten().for_each(|v| *v = T::of(v.f64() / den * lw)));
            }
            return total.loss / den * lw;
        }
        if let Some(g) = grad {
            reduce::for_chunks(n, 4, 1, None, Some(g), |c| c.grad.into_iter().flatten().for_each(|v| *v *= gs));
        }
        total.loss * s
    }

    /// One chunk of boxes, a block at a time.
    #[inline(always)]
    fn chunk<L: Loss<T>, const GRAD: bool>(&self, loss: &L, c: reduce::Chunk<'_, T>, gs: T, wc: T) -> Sums {
        let (mut loss_out, mut grad_out) = (c.loss, c.grad);
        let mut p = Corners::new();
        let mut t = Corners::new();
        let mut value = [T::zero(); BLOCK];
        let mut factor = [T::zero(); BLOCK];
        let mut g = Corners::new();
        let mut shrink = [T::one(); BLOCK];
        let mut acc = [0f64; 8];
        let mut acc_w = [0f64; 8];
        let items = c.items;
        for start in (items.start..items.end).step_by(BLOCK) {
            let m = BLOCK.min(items.end - start);
            let boxes = 4 * start..4 * (start + m);
            p.load(self.format, &self.args.pred[boxes.clone()]);
            t.load(self.format, &self.args.target[boxes]);
            let huge = any_huge(&p, &t) && rescale(&mut p, &mut t, m, &mut shrink);
            for i in 0..m {
                let r = loss.eval::<GRAD>(p.get(i), t.get(i));
                value[i] = r.loss;
                factor[i] = r.factor;
                if GRAD {
                    for k in 0..4 {
                        g.c[k][i] = r.grad[k];
                    }
                }
            }
            if GRAD && huge {
                unscale(&mut g, &shrink, m);
            }
            if let Some(w) = self.args.weight {
                if wc == T::one() {
                    for (f, w) in factor.iter_mut().zip(&w[start..start + m]) {
                        *f *= *w;
                    }
                } else {
                    for (f, w) in factor.iter_mut().zip(&w[start..start + m]) {
                        *f *= *w * wc;
                    }
                }
            }
            // Past the block's boxes: zero, so that whole blocks can be summed.
            for i in m..BLOCK {
                (value[i], factor[i]) = (T::zero(), T::zero());
            }
            let mut wl = [T::zero(); BLOCK];
            for i in 0..BLOCK {
                wl[i] = factor[i] * value[i];
            }
            reduce::add_lanes::<1, _>(&mut acc, &wl);
            if L::BOX_FACTOR {
                reduce::add_lanes::<1, _>(&mut acc_w, &factor);
            }
            let local = start - items.start;
            if let Some(out) = loss_out.as_deref_mut() {
                out[local..local + m].copy_from_slice(&wl[..m]);
            }
            if GRAD {
                if let Some(out) = grad_out.as_deref_mut() {
                    store_grad(self.format, &g, &factor, gs, &mut out[4 * local..4 * (local + m)]);
                }
            }
        }
        Sums { loss: reduce::sum_lanes(acc), weight: if L::BOX_FACTOR { reduce::sum_lanes(acc_w) } else { 0.0 } }
    }
}

/// One chunk of [`Driver::run`], for [`simd::dispatch`]; the gradient-free variant is a separate
/// instantiation that skips the gradient's arithmetic.
struct ChunkTask<'d, 'a, 'b, 'o, 'c, L, T> {
    driver: &'d Driver<'a, 'b, 'o, T>,
    loss: &'d L,
    c: reduce::Chunk<'c, T>,
    gs: T,
    /// The weights' power-of-two factor ([`reduce::Reduce::weight_scale`]).
    wc: T,
}

impl<T: Real, L: Loss<T>> SimdTask for ChunkTask<'_, '_, '_, '_, '_, L, T> {
    type Output = Sums;
    const WIDEST: u8 = L::WIDEST;
    #[inline(always)]
    fn run(self) -> Sums {
        if self.c.grad.is_some() {
            self.driver.chunk::<L, true>(self.loss, self.c, self.gs, self.wc)
        } else {
            self.driver.chunk::<L, false>(self.loss, self.c, self.gs, self.wc)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Pairwise matrix.

/// `out[i·m + j] = kind(boxes1[i], boxes2[j])` for n = boxes1.len()/4, m = boxes2.len()/4. Chunks
/// run over the flattened n×m output, so one long row or many short ones both spread over the
/// threads.
pub fn box_iou_matrix<T: Real>(boxes1: &[T], boxes2: &[T], format: Format, kind: IouKind, eps: f64, out: &mut [T]) {
    let (rows, cols) = (corner_columns(boxes1, format), corner_columns(boxes2, format));
    let (rows, cols, eps) = (&rows, &cols, eps_of::<T>(eps));
    reduce::for_chunks(out.len(), 1, 8, Some(out), None, |c| simd::dispatch(MatrixTask { rows, cols, kind, eps, c }));
}

/// Boxes as corner columns with atan2(w, h) (for CIoU) as a fifth.
fn corner_columns<T: Real>(boxes: &[T], format: Format) -> [Vec<T>; 5] {
    let mut cols: [Vec<T>; 5] = Default::default();
    let mut c = Corners::new();
    for block in boxes.chunks(4 * BLOCK) {
        c.load(format, block);
        for i in 0..block.len() / 4 {
            let b = c.get(i);
            for k in 0..4 {
                cols[k].push(b[k]);
            }
            cols[4].push(atan2(b[2] - b[0], b[3] - b[1]));
        }
    }
    cols
}

/// One chunk of [`box_iou_matrix`], for [`simd::dispatch`]: `rows`/`cols` are the two box sets'
/// [`corner_columns`].
struct MatrixTask<'a, 'c, T> {
    rows: &'a [Vec<T>; 5],
    cols: &'a [Vec<T>; 5],
    kind: IouKind,
    eps: T,
    c: reduce::Chunk<'c, T>,
}

impl<T: Real> SimdTask for MatrixTask<'_, '_, T> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let Self { rows, cols, kind, eps, c } = self;
        let m = cols[0].len();
        let out = c.loss.unwrap_or_default();
        let mut k = c.items.start;
        while k < c.items.end {
            let (i, j0) = (k / m, k % m);
            let j1 = m.min(j0 + (c.items.end - k));
            let a = [rows[0][i], rows[1][i], rows[2][i], rows[3][i]];
            let o = &mut out[k - c.items.start..k - c.items.start + (j1 - j0)];
            for (j, o) in (j0..j1).zip(o.iter_mut()) {
                let b = [cols[0][j], cols[1][j], cols[2][j], cols[3][j]];
                *o = similarity(kind, a, rows[4][i], b, cols[4][j], eps);
            }
            k += j1 - j0;
        }
    }
}

/// kind(a, b): the similarity that is 1 − the matching loss (without the loss's eps in atan).
#[inline(always)]
fn similarity<T: Real>(kind: IouKind, a: [T; 4], atan_a: T, b: [T; 4], atan_b: T, eps: T) -> T {
    let q = pair(a, b, eps);
    match kind {
        IouKind::Iou => q.iou,
        IouKind::Giou => {
            let area_c = q.cw * q.ch;
            q.iou - (area_c - q.union) / (max(area_c, T::zero()) + eps)
        }
        IouKind::Diou | IouKind::Ciou => {
            let (d, _) = distance_term(&q, eps);
            let diou = q.iou - d;
            if kind == IouKind::Diou {
                return diou;
            }
            let delta = atan_b - atan_a;
            let v = four_over_pi2::<T>() * delta * delta;
            let alpha = v / (T::one() - q.iou + v + eps);
            diou - alpha * v
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atan2_matches_libm() {
        let mut s = 12345u64;
        let mut next = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        };
        let mut worst = (0f64, 0f64);
        for i in 0..200_000 {
            let scale = [1e-3, 1.0, 1e3][i % 3];
            let (y, x) = (next() * scale, next() * scale);
            let e64 = (atan2(y, x) - y.atan2(x)).abs();
            let e32 = (atan2(y as f32, x as f32) as f64 - (y as f32 as f64).atan2(x as f32 as f64)).abs();
            worst = (worst.0.max(e64), worst.1.max(e32));
        }
        assert!(worst.0 < 2e-15, "f64 atan2 error {}", worst.0);
        assert!(worst.1 < 6e-7, "f32 atan2 error {}", worst.1);
        for (y, x) in [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (0.0, -1.0), (-1.0, 0.0), (-0.0, -1.0), (1.0, 1.0), (-1.0, -1.0)] {
            assert!((atan2(y, x) - f64::atan2(y, x)).abs() < 1e-15, "atan2({y}, {x})");
            assert!((atan2(y as f32, x as f32) - f32::atan2(y as f32, x as f32)).abs() < 1e-6, "atan2({y}, {x}) f32");
        }
    }
}
