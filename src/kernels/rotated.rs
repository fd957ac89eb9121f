//! ProbIoU of rotated boxes (arXiv 2106.06072) exactly as ultralytics computes it
//! (ultralytics/utils/metrics.py `_get_covariance_matrix`, `probiou` with `CIoU=False`,
//! `batch_probiou`). A box is (x, y, w, h, r): centre, sides, angle in radians; its Gaussian has
//! the covariance
//!
//! ```text
//! A = w²/12 + floor, B = h²/12 + floor;
//! a = A·cos²r + B·sin²r,   b = A·sin²r + B·cos²r,   c = (A − B)·cos r·sin r
//! ```
//!
//! (`floor`: 0 in ultralytics' `probiou` and `batch_probiou` by default; its `RotatedBboxLoss`
//! passes 0.01, "to bound gradients for sub-stride boxes".)
//!
//! and for a pair (1 = pred, 2 = target), with sa = a₁ + a₂, sb = b₁ + b₂, sc = c₁ + c₂,
//! D = sa·sb − sc², dx = x₁ − x₂, dy = y₁ − y₂, det_k = a_k·b_k − c_k²:
//!
//! ```text
//! t1 = (sa·dy² + sb·dx²) / (D + eps) · 0.25
//! t2 = sc·(x₂ − x₁)·(y₁ − y₂) / (D + eps) · 0.5
//! t3 = ln(D / (4·√(max(det₁, 0)·max(det₂, 0)) + eps) + eps) · 0.5
//! bd = clamp(t1 + t2 + t3, eps, 100)            (the Bhattacharyya distance)
//! hd = √(1 − e^(−bd) + eps)                     (the Hellinger distance)
//! probiou = 1 − hd,   loss = 1 − probiou
//! ```
//!
//! Two departures, both where ultralytics' result is decided by rounding:
//! * det_k is computed as A_k·B_k, its exact value (a·b − c² = A·B·(cos² + sin²)²): ultralytics'
//!   a·b − c² cancels, so for a thin box (w ≪ h) it keeps only rounding residue, and for a zero
//!   side with floor 0 (det = 0) that residue, ±1e-16·A², decides √det against eps and moves t3
//!   by up to ~0.2. For the boxes of the fixtures (sides within a factor 13) the two agree to 1e-14.
//! * D, the determinant of the summed covariance (≥ 0 in exact arithmetic), is taken as
//!   max(D, 0), so that rounding cannot make the logarithm's argument negative (NaN).
//! * The loss forms 1 − e^(−bd) as −expm1(−bd): the same in f64, and in f32 it keeps identical
//!   boxes at 4.47e-4 instead of 4.68e-4 (the matrix, whose 1 − hd does not feel it, keeps
//!   ultralytics' form).
//!
//! The gradient is the derivative of these formulas (ultralytics' autograd gradient), with
//! √det_k = √(A_k·B_k) and ∂√det/∂A = B/(2√det) (with floor 0 that is ∂√det/∂w = sgn(w)·|h|/12,
//! finite for any w ≠ 0); where det = 0 (a zero side with floor 0) that term is 0
//! (the subgradient of |w|; ultralytics' gradient is NaN or rounding noise there). Where the
//! clamp of bd holds the gradient is 0 (as torch's clamp). A square's angle has no effect
//! (A = B), and its angle gradient is exactly 0.
use super::boxes::eps_of;
use super::math::{self, Math};
use super::simd::{self, SimdTask};
use crate::reduce::{self, Reduce};

/// Inputs of one ProbIoU loss call (validated: `pred` and `target` n·5, `weight` n).
pub struct Args<'a, T> {
    pub pred: &'a [T],
    pub target: &'a [T],
    pub weight: Option<&'a [T]>,
}

/// A rotated box's Gaussian, as ultralytics `_get_covariance_matrix` computes it, with what the
/// gradient needs.
#[derive(Clone, Copy)]
struct Gauss<T> {
    x: T,
    y: T,
    /// w²/12 + floor, h²/12 + floor.
    big_a: T,
    big_b: T,
    cos: T,
    sin: T,
    /// The covariance [[a, c], [c, b]].
    a: T,
    b: T,
    c: T,
    /// √(a·b − c²), with a·b − c² computed as A·B (its exact value).
    sdet: T,
}

/// The Gaussian of box `i` of a block (its sine and cosine already taken).
#[inline(always)]
fn gauss<T: Math>(k: &Block<T>, i: usize, floor: T) -> Gauss<T> {
    let twelve = T::of(12.0);
    let (x, y, w, h, sin, cos) = (k.x[i], k.y[i], k.w[i], k.h[i], k.sin[i], k.cos[i]);
    let (big_a, big_b) = (w * w / twelve + floor, h * h / twelve + floor);
    let (cos2, sin2) = (cos * cos, sin * sin);
    let (a, b, c) = (big_a * cos2 + big_b * sin2, big_a * sin2 + big_b * cos2, (big_a - big_b) * cos * sin);
    Gauss { x, y, big_a, big_b, cos, sin, a, b, c, sdet: (big_a * big_b).sqrt() }
}

/// The pair's distances (pred `p`, target `t`) and what the gradient needs.
struct Pair<T> {
    /// 1 − probiou = hd.
    loss: T,
    /// t1 + t2 + t3 before the clamp.
    raw: T,
    bd: T,
    hd: T,
    dx: T,
    dy: T,
    sa: T,
    sb: T,
    sc: T,
    /// max(D, 0).
    d: T,
    /// 1 / (D + eps): one division for the quotients by D + eps.
    inv_de: T,
    /// t1 + t2.
    t12: T,
    /// 4·√det₁·√det₂ + eps and D / r + eps (t3 = ln(q)/2).
    r: T,
    q: T,
}

/// What [`pair`] and [`cell`] share: the summed covariance, D = max(det(Σ₁ + Σ₂), 0), 1/(D + eps),
/// the centre offsets, t1 + t2 and r = 4·√det₁·√det₂ + eps.
struct Core<T> {
    sa: T,
    sb: T,
    sc: T,
    d: T,
    inv_de: T,
    dx: T,
    dy: T,
    t12: T,
    r: T,
}

#[inline(always)]
fn core<T: Math>(p: &Gauss<T>, t: &Gauss<T>, eps: T) -> Core<T> {
    let (half, quarter, four, one) = (T::of(0.5), T::of(0.25), T::of(4.0), T::one());
    let (sa, sb, sc) = (p.a + t.a, p.b + t.b, p.c + t.c);
    let d = math::max(sa * sb - sc * sc, T::zero());
    let inv_de = one / (d + eps);
    let (dx, dy) = (p.x - t.x, p.y - t.y);
    let t1 = (sa * (dy * dy) + sb * (dx * dx)) * inv_de * quarter;
    let t2 = sc * (t.x - p.x) * dy * inv_de * half;
    // ultralytics' √(det₁·det₂) as √det₁·√det₂: each box's root is taken once (the matrix's
    // n + m roots instead of n·m), and the product cannot overflow where the roots do not.
    let r = four * (p.sdet * t.sdet) + eps;
    Core { sa, sb, sc, d, inv_de, dx, dy, t12: t1 + t2, r }
}

/// `expm1`: form 1 − e^(−bd) as −expm1(−bd) (the loss) rather than as ultralytics writes it.
#[inline(always)]
fn pair<T: Math>(p: &Gauss<T>, t: &Gauss<T>, eps: T, expm1: bool) -> Pair<T> {
    let (half, one) = (T::of(0.5), T::one());
    let Core { sa, sb, sc, d, inv_de, dx, dy, t12, r } = core(p, t, eps);
    let q = d / r + eps;
    let t3 = math::ln(q) * half;
    let raw = t12 + t3;
    // clamp(raw, eps, 100) as torch: a NaN stays NaN.
    let bd = if raw < eps { eps } else if raw > T::of(100.0) { T::of(100.0) } else { raw };
    // 1 − e^(−bd) as −expm1(−bd): the same value in f64 to rounding, and in f32 without the
    // cancellation that leaves nothing of bd ≈ eps (identical boxes: 4.7e-4 instead of 4.5e-4).
    let one_minus_e = if expm1 { -math::expm1(-bd) } else { one - math::exp(-bd) };
    let hd = (one_minus_e + eps).sqrt();
    let iou = one - hd;
    Pair { loss: one - iou, raw, bd, hd, dx, dy, sa, sb, sc, d, inv_de, t12, r, q }
}

/// The matrix's cell as ultralytics `batch_probiou`: 1 − √(1 − e^(−bd) + eps), with e^(−bd)
/// formed without the logarithm, e^(−raw) = e^(−(t1 + t2))·q^(−1/2) (t3 = ln(q)/2, and
/// 1/q = r/(D + eps·r)), and the clamp of raw to [eps, 100] as the clamp of e^(−raw) to
/// [`e_lo`, `e_hi`] = [e^(−100), e^(−eps)] (a NaN stays NaN). [`pair`]'s value to rounding; a
/// square root instead of the logarithm's polynomial per cell.
#[inline(always)]
fn cell<T: Math>(p: &Gauss<T>, t: &Gauss<T>, eps: T, e_lo: T, e_hi: T) -> T {
    let one = T::one();
    let Core { d, t12, r, .. } = core(p, t, eps);
    let e = math::exp(-t12) * (r / (d + eps * r)).sqrt();
    let e = if e > e_hi { e_hi } else if e < e_lo { e_lo } else { e };
    one - (one - e + eps).sqrt()
}

/// ∂(1 − probiou)/∂(x, y, w, h, r) of the pred box `p` (`w`, `h` its sides), times `scale`.
/// Branch-free (selects), so that the block loops vectorize.
#[inline(always)]
fn grad_pred<T: Math>(q: &Pair<T>, p: &Gauss<T>, w: T, h: T, t: &Gauss<T>, eps: T, scale: T) -> [T; 5] {
    let zero = T::zero();
    let (half, quarter, two) = (T::of(0.5), T::of(0.25), T::of(2.0));
    // dl/dbd = e^(−bd) / (2·hd)
    let g = scale * math::exp(-q.bd) / (two * q.hd);
    let (dx, dy, sa, sb, sc, inv_de) = (q.dx, q.dy, q.sa, q.sb, q.sc, q.inv_de);
    // t3 = ln(q)/2, q = D/r + eps: ∂t3/∂D = 1/(2·q·r), ∂t3/∂r = −(D/r)/(2·q·r).
    let t3_d = half / (q.q * q.r);
    // ∂(t1 + t2)/∂D = −(t1 + t2)/(D + eps); D is max(·, 0): no gradient where it clamps.
    let g_d = if q.d > zero { t3_d - q.t12 * inv_de } else { zero };
    let g_sa = quarter * dy * dy * inv_de + g_d * sb;
    let g_sb = quarter * dx * dx * inv_de + g_d * sa;
    let g_sc = -(half * dx * dy * inv_de) - two * g_d * sc;
    let g_dx = half * (sb * dx - sc * dy) * inv_de;
    let g_dy = half * (sa * dy - sc * dx) * inv_de;
    // r = 4·√det₂·√A·√B + eps (√det₁ = √(A·B)): ∂r/∂w = 2·√det₂·√B·u_w with u_w = w/(6·√A) (∂√A/∂w
    // = u_w/2), likewise for h. |u_w| ≤ 1/√3 (A ≥ w²/12), and it is formed first: a zero side with
    // a subnormal floor makes A subnormal, and 1/√A times the other factors would overflow to an
    // infinity that the side's 0 then turns into NaN. 0 where A = 0.
    let g_r = -(t3_d * (q.d / q.r)) * two * t.sdet;
    let (ra, rb) = (p.big_a.sqrt(), p.big_b.sqrt());
    let six = T::of(6.0);
    let u_w = if ra > zero { w / (six * ra) } else { zero };
    let u_h = if rb > zero { h / (six * rb) } else { zero };
    // (a, b, c) of pred → (A, B, angle).
    let (cos, sin) = (p.cos, p.sin);
    let (cos2, sin2, cs) = (cos * cos, sin * sin, cos * sin);
    let g_big_a = g_sa * cos2 + g_sb * sin2 + g_sc * cs;
    let g_big_b = g_sa * sin2 + g_sb * cos2 - g_sc * cs;
    let g_angle = (p.big_a - p.big_b) * ((g_sb - g_sa) * two * cs + g_sc * (cos2 - sin2));
    // A = w²/12 + floor: ∂A/∂w = w/6.
    let g_w = g_big_a * w / six + g_r * rb * u_w;
    let g_h = g_big_b * h / six + g_r * ra * u_h;
    let out = [g * g_dx, g * g_dy, g * g_w, g * g_h, g * g_angle];
    // torch's clamp passes the gradient on [eps, 100] (a NaN raw passes too, and stays NaN);
    // a select, not a product: the terms may be infinite where the clamp holds.
    let clamped = q.raw < eps || q.raw > T::of(100.0);
    out.map(|v| if clamped { zero } else { v })
}

/// Boxes per block: loaded into columns, their sines and cosines taken in one vectorized loop.
const BLOCK: usize = 64;

/// A block of boxes as columns (x, y, w, h, angle) with sin and cos of the angle.
struct Block<T> {
    x: [T; BLOCK],
    y: [T; BLOCK],
    w: [T; BLOCK],
    h: [T; BLOCK],
    angle: [T; BLOCK],
    sin: [T; BLOCK],
    cos: [T; BLOCK],
}

impl<T: Math> Block<T> {
    fn new() -> Self {
        let z = [T::zero(); BLOCK];
        Block { x: z, y: z, w: z, h: z, angle: z, sin: z, cos: z }
    }

    /// Loads boxes `start .. start + len` of the n·5 values `boxes`.
    #[inline(always)]
    fn load(&mut self, boxes: &[T], start: usize, len: usize) {
        let rows = &boxes[5 * start..5 * (start + len)];
        for (b, r) in rows.chunks_exact(5).enumerate() {
            (self.x[b], self.y[b], self.w[b], self.h[b], self.angle[b]) = (r[0], r[1], r[2], r[3], r[4]);
        }
        // A short last block: the lanes past `len` hold the previous block's boxes (or zeros),
        // computed and discarded; the loops run over whole blocks, which vectorizes best.
        for b in 0..BLOCK {
            (self.sin[b], self.cos[b]) = math::sin_cos(self.angle[b]);
        }
        math::sin_cos_fixup(&self.angle[..len], &mut self.sin[..len], &mut self.cos[..len]);
    }
}

/// Computes the ProbIoU loss (returned, reduced; for NONE the values wᵢ·lᵢ go to `loss_none`)
/// and the gradient with respect to `pred` into `grad`, in one pass. The term weight is
/// `weight[i]` (1 without weights): ultralytics' `((1 − iou)·weight).sum() / target_scores_sum`
/// is MEAN with avg_factor = target_scores_sum, or SUM.
pub fn probiou_loss<T: Math>(a: &Args<'_, T>, eps: f64, floor: f64, reduction: Reduce, loss_none: Option<&mut [T]>, grad: Option<&mut [T]>) -> f64 {
    let n = a.pred.len() / 5;
    // Weights of a MEAN far from 1 are scaled by a power of two wc first (MEAN is unchanged).
    let reduce::WeightScale { c: wc, s } = reduction.weight_scale(n, a.weight);
    let (eps, floor) = (eps_of::<T>(eps), T::of(floor));
    let partials = reduce::for_chunks(n, 5, 64, loss_none, grad, |c| simd::dispatch(Chunk { a, eps, floor, s: T::of(s), wc: T::of(wc), c }));
    reduce::total(partials) * s
}

/// One chunk of boxes of [`probiou_loss`], for [`simd::dispatch`].
struct Chunk<'a, 'c, T> {
    a: &'a Args<'a, T>,
    eps: T,
    floor: T,
    s: T,
    /// The weights' power-of-two factor ([`reduce::Reduce::weight_scale`]).
    wc: T,
    c: reduce::Chunk<'c, T>,
}

impl<T: Math> SimdTask for Chunk<'_, '_, T> {
    type Output = f64;
    #[inline(always)]
    fn run(self) -> f64 {
        let Chunk { a, eps, floor, s, wc, c } = self;
        let (mut loss, mut grad) = (c.loss, c.grad);
        let (mut pb, mut tb) = (Block::new(), Block::new());
        let z = [T::zero(); BLOCK];
        let (mut wt, mut wl) = ([T::one(); BLOCK], z);
        // The gradient as columns (x, y, w, h, angle), written back as rows after each block.
        let mut g = [z; 5];
        let mut acc = [0f64; 8];
        let mut start = c.items.start;
        while start < c.items.end {
            let len = BLOCK.min(c.items.end - start);
            pb.load(a.pred, start, len);
            tb.load(a.target, start, len);
            if let Some(w) = a.weight {
                wt[..len].copy_from_slice(&w[start..start + len]);
                if wc != T::one() {
                    wt[..len].iter_mut().for_each(|v| *v *= wc);
                }
            }
            if grad.is_some() {
                for b in 0..BLOCK {
                    let (p, t) = (gauss(&pb, b, floor), gauss(&tb, b, floor));
                    let q = pair(&p, &t, eps, true);
                    wl[b] = wt[b] * q.loss;
                    let d = grad_pred(&q, &p, pb.w[b], pb.h[b], &t, eps, s * wt[b]);
                    (g[0][b], g[1][b], g[2][b], g[3][b], g[4][b]) = (d[0], d[1], d[2], d[3], d[4]);
                }
            } else {
                for b in 0..BLOCK {
                    let (p, t) = (gauss(&pb, b, floor), gauss(&tb, b, floor));
                    wl[b] = wt[b] * pair(&p, &t, eps, true).loss;
                }
            }
            let j = start - c.items.start;
            if let Some(l) = loss.as_deref_mut() {
                l[j..j + len].copy_from_slice(&wl[..len]);
            }
            if let Some(gr) = grad.as_deref_mut() {
                for (b, o) in gr[5 * j..5 * (j + len)].chunks_exact_mut(5).enumerate() {
                    o.copy_from_slice(&[g[0][b], g[1][b], g[2][b], g[3][b], g[4][b]]);
                }
            }
            for (b, v) in wl[..len].iter().enumerate() {
                acc[(j + b) % 8] += v.f64();
            }
            start += len;
        }
        reduce::sum_lanes(acc)
    }
}

/// `out[i·m + j] = probiou(boxes1[i], boxes2[j])` as ultralytics `batch_probiou`, for n =
/// boxes1.len()/5, m = boxes2.len()/5. Each box's Gaussian is formed once (boxes2's as columns);
/// chunks of 2048 cells (a few rows: the scheduling cost per chunk stays small) run over the
/// flattened n×m output.
pub fn probiou_matrix<T: Math>(boxes1: &[T], boxes2: &[T], eps: f64, out: &mut [T]) {
    // batch_probiou calls _get_covariance_matrix without a floor.
    let rows = gaussians(boxes1);
    let cols = Columns::of(&gaussians(boxes2));
    let (rows, cols, eps) = (&rows, &cols, eps_of::<T>(eps));
    reduce::for_chunks(out.len(), 1, 8, Some(out), None, |c| simd::dispatch(MatrixTask { rows, cols, eps, c }));
}

/// The Gaussians of n·5 values, a block at a time.
fn gaussians<T: Math>(boxes: &[T]) -> Vec<Gauss<T>> {
    let n = boxes.len() / 5;
    let mut out = Vec::with_capacity(n);
    let mut k = Block::new();
    let mut start = 0;
    while start < n {
        let len = BLOCK.min(n - start);
        k.load(boxes, start, len);
        out.extend((0..len).map(|b| gauss(&k, b, T::zero())));
        start += len;
    }
    out
}

/// What [`pair`]'s value needs of the Gaussians, as columns (the matrix's inner loop vectorizes
/// over them).
struct Columns<T> {
    x: Vec<T>,
    y: Vec<T>,
    a: Vec<T>,
    b: Vec<T>,
    c: Vec<T>,
    sdet: Vec<T>,
}

impl<T: Math> Columns<T> {
    fn of(g: &[Gauss<T>]) -> Self {
        let col = |f: fn(&Gauss<T>) -> T| g.iter().map(f).collect::<Vec<T>>();
        Columns { x: col(|g| g.x), y: col(|g| g.y), a: col(|g| g.a), b: col(|g| g.b), c: col(|g| g.c), sdet: col(|g| g.sdet) }
    }
}

/// One chunk of [`probiou_matrix`], for [`simd::dispatch`].
struct MatrixTask<'a, 'c, T> {
    rows: &'a [Gauss<T>],
    cols: &'a Columns<T>,
    eps: T,
    c: reduce::Chunk<'c, T>,
}

impl<T: Math> SimdTask for MatrixTask<'_, '_, T> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let Self { rows, cols, eps, c } = self;
        let m = cols.x.len();
        let out = c.loss.unwrap_or_default();
        let zero = T::zero();
        let (e_lo, e_hi) = (math::exp(T::of(-100.0)), math::exp(-eps));
        let mut k = c.items.start;
        // Row by row: the inner loop runs over contiguous columns.
        while k < c.items.end {
            let (i, j0) = (k / m, k % m);
            let j1 = m.min(j0 + (c.items.end - k));
            let row = &rows[i];
            let o = &mut out[k - c.items.start..k - c.items.start + (j1 - j0)];
            let (x, y, a, b, cc, sdet) =
                (&cols.x[j0..j1], &cols.y[j0..j1], &cols.a[j0..j1], &cols.b[j0..j1], &cols.c[j0..j1], &cols.sdet[j0..j1]);
            for j in 0..o.len() {
                let col = Gauss { x: x[j], y: y[j], big_a: zero, big_b: zero, cos: zero, sin: zero, a: a[j], b: b[j], c: cc[j], sdet: sdet[j] };
                o[j] = cell(row, &col, eps, e_lo, e_hi);
            }
            k += j1 - j0;
        }
    }
}
