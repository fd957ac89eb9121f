//! Classification losses over a class tensor `[batch, classes, spatial]` in the NCS (NCHW) or
//! NSC (NHWC, `[N, C]` rows) layout. Formulas, gradients and the torch conventions they follow
//! are derived in `docs/classification.md`; in short, with z the logits of one position, p =
//! softmax(z), y its index target, w the class weights, ε the label smoothing, C the classes:
//!
//! | loss | per position (or element) | ∂/∂z_k |
//! |------|---------------------------|--------|
//! | cross entropy | (1−ε)·w_y·(−ln p_y) + (ε/C)·Σ_c w_c·(−ln p_c) | p_k·((1−ε)w_y + (ε/C)Σw) − (1−ε)w_y·[k=y] − (ε/C)w_k |
//! | soft cross entropy | Σ_c w_c·t′_c·(−ln p_c), t′ = (1−ε)t + ε/C | p_k·Σ_c w_c t′_c − w_k t′_k |
//! | BCE with logits | (1−t)·x + (1+(pw−1)t)·softplus(−x) | (1−t) − (1+(pw−1)t)·σ(−x) |
//! | entropy (logits) | −Σ p_c ln p_c | −p_k·(ln p_k + H) |
//! | entropy (probs) | −Σ p_c ln p_c (0·ln 0 = 0) | −(ln max(p_k, tiny) + 1) |
//! | KL div | t·(ln t − x) (log_target: eᵗ·(t − x)) | −t (−eᵗ) |
//! | distillation | T²·Σ_c q_c·(ln q_c − ln p_c), q, p softmax of teacher/T, student/T | T·(p_k − q_k) |
//! | sigmoid focal | α_t·(1−p_t)^γ·BCE | see [`SigmoidFocal`] |
//! | softmax focal | −α_y·(1−p_y)^γ·ln p_y | α_y·(p_k − [k=y])·F, see [`SoftmaxFocal`] |
//!
//! Every softmax is computed once per position from the max-shifted logits (log-sum-exp), the
//! loss and the gradient in the same pass. NSC positions are processed row by row (the class
//! row is contiguous); NCS positions in tiles of positions of one sample, so that every inner
//! loop runs contiguously over the spatial axis. Work is split into blocks of positions whose
//! size depends only on the shape; per-block f64 partial sums are combined in block order.
use super::math::{self, max, sign0, Math};
use super::simd::{self, SimdTask};
use super::Real;
use crate::reduce::{self, Reduce, Reduction};
use ndarray::{s, ArrayView2, ArrayView3, ArrayViewMut2, ArrayViewMut3, Axis};
use std::ops::Range;

/// Memory layout of a class tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Element (n, c, s) at (n·C + c)·S + s.
    Ncs,
    /// Element (n, c, s) at (n·S + s)·C + c.
    Nsc,
}

/// A class tensor's shape (validated by the caller: no product overflows, classes > 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// N, the number of samples.
    pub batch: usize,
    /// C, the number of classes (> 0).
    pub classes: usize,
    /// S, the positions per sample (H·W·…; 1 for [N, C] rows).
    pub spatial: usize,
    /// Where element (n, c, s) lives.
    pub layout: Layout,
}

impl Shape {
    /// batch·spatial: the number of positions (index targets, per-position outputs).
    pub fn positions(&self) -> usize {
        self.batch * self.spatial
    }
    /// batch·classes·spatial: the number of elements.
    pub fn len(&self) -> usize {
        self.positions() * self.classes
    }
    /// No elements (an empty batch, or no positions).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// With one position per sample the two layouts are the same memory: use rows (NSC);
    /// with one class, use columns (NCS). Pure speed: the results do not change.
    fn canonical(self) -> Self {
        let layout = if self.classes == 1 {
            Layout::Ncs
        } else if self.spatial == 1 {
            Layout::Nsc
        } else {
            self.layout
        };
        Shape { layout, ..self }
    }
}

/// An index target that is neither a class nor `ignore_index`: its flat position n·S + s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidTarget {
    pub position: usize,
    pub value: i64,
}

/// Elementary operations per element, to decide when to go parallel.
const WORK_PER_ELEMENT: usize = 8;

/// Positions per NCS tile (a multiple of 8): long enough rows for the prefetchers (each class
/// row of a tile is its own stream), short enough for the tile scratch to stay in L1/L2.
fn tile_width(classes: usize) -> usize {
    (4096 / classes / 8 * 8).clamp(8, 512)
}

/// Positions per parallel block, from the shape only (never the thread count). NCS blocks
/// never cross a sample and hold whole tiles.
fn block_positions(shape: &Shape) -> usize {
    let c = shape.classes;
    match shape.layout {
        Layout::Nsc => (reduce::CHUNK / c).max(1),
        Layout::Ncs => {
            let w = tile_width(c);
            w * (reduce::CHUNK / (c * w)).max(1)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Views of class tensors.

/// A class tensor as rows `[positions][classes]` (NSC) or `[batch][classes][spatial]` (NCS).
#[derive(Clone, Copy)]
enum Classes<'a, T> {
    Rows(ArrayView2<'a, T>),
    Cols(ArrayView3<'a, T>),
}

impl<'a, T> Classes<'a, T> {
    fn new(shape: &Shape, data: &'a [T]) -> Self {
        let (n, c, s) = (shape.batch, shape.classes, shape.spatial);
        // An empty tensor can have dims whose non-zero ones multiply past isize::MAX (a huge
        // batch with spatial 0), which ndarray rejects; nothing is read from it: view it as empty.
        let (n, c, s) = if data.is_empty() { (0, 0, 0) } else { (n, c, s) };
        match shape.layout {
            Layout::Nsc => Classes::Rows(ArrayView2::from_shape((n * s, c), data).expect("buffer sized by the caller")),
            Layout::Ncs => Classes::Cols(ArrayView3::from_shape((n, c, s), data).expect("buffer sized by the caller")),
        }
    }

    /// The number of classes.
    #[inline(always)]
    fn classes(&self) -> usize {
        match self {
            Classes::Rows(v) => v.ncols(),
            Classes::Cols(v) => v.shape()[1],
        }
    }

    /// NSC: the rows of positions `p`, `[len][classes]`, as one contiguous slice.
    #[inline(always)]
    fn rows(&self, p: Range<usize>) -> &'a [T] {
        match *self {
            Classes::Rows(v) => v.slice_move(s![p, ..]).to_slice().expect("contiguous rows"),
            Classes::Cols(_) => unreachable!("rows of an NCS tensor"),
        }
    }

    /// NCS: `[classes][len]` for positions `s` of sample `n` (rows contiguous).
    #[inline(always)]
    fn tile(&self, n: usize, s: Range<usize>) -> ArrayView2<'a, T> {
        match *self {
            Classes::Cols(v) => v.slice_move(s![n, .., s]),
            Classes::Rows(_) => unreachable!("tile of an NSC tensor"),
        }
    }
}

/// A contiguous row of a view (every row of a standard-layout view is).
#[inline(always)]
fn slice_of<T>(v: ndarray::ArrayView1<'_, T>) -> &[T] {
    v.to_slice().expect("contiguous row")
}

#[inline(always)]
fn slice_of_mut<T>(v: ndarray::ArrayViewMut1<'_, T>) -> &mut [T] {
    v.into_slice().expect("contiguous row")
}

/// Scratch buffers of one block: per-element tiles `e`, `f`, `h` (classes × tile width, or one
/// row for NSC), per-position columns, and `block`, grown on demand to hold a whole block.
struct Scratch<T> {
    e: Vec<T>,
    f: Vec<T>,
    h: Vec<T>,
    cols: [Vec<T>; 8],
    block: Vec<T>,
}

thread_local! {
    /// The calling thread's scratch of its last block, one per element type, reused by its next
    /// block: allocating the twelve buffers afresh (calloc + free) was a quarter of the time of a
    /// small call (cross entropy on [8, 80]), which runs on the caller's thread. Not on the pool's
    /// workers (large calls, where one allocation per block is amortised): they live until the
    /// process exits, and what they kept would show as leaked under valgrind.
    static SCRATCH: std::cell::RefCell<Vec<Box<dyn std::any::Any>>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl<T: Real> Scratch<T> {
    /// Zeroed buffers of these sizes (`block` left as it was: it is grown on demand and written
    /// before it is read), from the thread's cache when it holds a `Scratch<T>`.
    fn new(elements: usize, positions: usize) -> Box<Self> {
        let cached = (rayon::current_thread_index().is_none())
            .then(|| SCRATCH.try_with(|c| {
                let mut c = c.try_borrow_mut().ok()?;
                let i = c.iter().position(|s| s.is::<Self>())?;
                c.swap_remove(i).downcast::<Self>().ok()
            }))
            .and_then(|r| r.ok().flatten());
        let mut scr = cached.unwrap_or_else(|| {
            Box::new(Scratch { e: Vec::new(), f: Vec::new(), h: Vec::new(), cols: Default::default(), block: Vec::new() })
        });
        let zero = |v: &mut Vec<T>, n: usize| {
            v.clear();
            v.resize(n, T::zero());
        };
        zero(&mut scr.e, elements);
        zero(&mut scr.f, elements);
        zero(&mut scr.h, elements);
        for col in &mut scr.cols {
            zero(col, positions);
        }
        scr
    }

    /// Hands the buffers back to the thread's cache.
    fn recycle(self: Box<Self>) {
        if rayon::current_thread_index().is_some() {
            return;
        }
        let _ = SCRATCH.try_with(|c| {
            if let Ok(mut c) = c.try_borrow_mut() {
                c.push(self);
            }
        });
    }
}

/// A loss over the class axis, per position.
trait ClassLoss<T: Math>: Sync {
    /// NSC: positions `p0 .. p0 + loss.len()`. Writes each position's (term-weighted) loss into
    /// `loss` and, when given, its gradient rows (`[len][classes]`, contiguous) already scaled.
    fn rows(&self, p0: usize, loss: &mut [T], grad: Option<&mut [T]>, scr: &mut Scratch<T>);
    /// NCS: positions `s0 .. s0 + loss.len()` of sample `n` (at most one tile);
    /// `grad` is `[classes][len]`.
    fn tile(&self, n: usize, s0: usize, loss: &mut [T], grad: Option<ArrayViewMut2<'_, T>>, scr: &mut Scratch<T>);
}

/// One block of positions and the matching pieces of the outputs.
struct Block<'b, T> {
    /// NCS: the sample and first spatial index; NSC: `s0` is the first flat position.
    n: usize,
    s0: usize,
    len: usize,
    /// `[classes][len]` (NCS) or `[len][classes]` (NSC).
    grad: Option<ArrayViewMut2<'b, T>>,
    loss: Option<&'b mut [T]>,
}

struct BlockTask<'l, 'b, L, T> {
    loss: &'l L,
    shape: Shape,
    block: Block<'b, T>,
}

impl<T: Math, L: ClassLoss<T>> SimdTask for BlockTask<'_, '_, L, T> {
    type Output = f64;
    /// Runs the loss over the block and returns Σ of its per-position losses (f64, in order).
    #[inline(always)]
    fn run(self) -> f64 {
        let BlockTask { loss: l, shape, block } = self;
        let Block { n, s0, len, grad, loss } = block;
        let c = shape.classes;
        let mut own = Vec::new();
        let values: &mut [T] = match loss {
            Some(v) => v,
            None => {
                own.resize(len, T::zero());
                &mut own
            }
        };
        match shape.layout {
            Layout::Nsc => {
                let mut scr = Scratch::new(c, len);
                l.rows(s0, values, grad.map(|g| g.into_slice().expect("contiguous block")), &mut scr);
                scr.recycle();
            }
            Layout::Ncs => {
                let w = tile_width(c).min(len);
                let mut scr = Scratch::new(c * w, w);
                let mut grad = grad;
                for (i, v) in values.chunks_mut(w).enumerate() {
                    let t0 = i * w;
                    let g = grad.as_mut().map(|g| g.slice_mut(s![.., t0..t0 + v.len()]));
                    l.tile(n, s0 + t0, v, g, &mut scr);
                }
                scr.recycle();
            }
        }
        sum_f64(values)
    }
}

/// Σ in f64 with 4 partial sums in a fixed order.
#[inline(always)]
fn sum_f64<T: Real>(v: &[T]) -> f64 {
    let mut acc = [0f64; 4];
    let mut it = v.chunks_exact(4);
    for ch in &mut it {
        for j in 0..4 {
            acc[j] += ch[j].f64();
        }
    }
    for (j, x) in it.remainder().iter().enumerate() {
        acc[j] += x.f64();
    }
    (acc[0] + acc[2]) + (acc[1] + acc[3])
}

/// Runs a class-axis loss over every position: per-position values go to `loss_none` when
/// given, the gradient to `grad`; returns Σ of the per-position values (block order).
fn run_classes<T: Math, L: ClassLoss<T>>(l: &L, shape: &Shape, loss_none: Option<&mut [T]>, grad: Option<&mut [T]>) -> f64 {
    let np = shape.positions();
    if np == 0 {
        return 0.0;
    }
    let (nb, c, sp) = (shape.batch, shape.classes, shape.spatial);
    let bs = block_positions(shape);
    let mut blocks = Vec::new();
    match shape.layout {
        Layout::Nsc => {
            let mut gi = grad.map(|g| {
                ArrayViewMut2::from_shape((np, c), g).expect("grad sized by the caller").into_axis_chunks_iter_mut(Axis(0), bs)
            });
            let mut li = loss_none.map(|l| l.chunks_mut(bs));
            for p0 in (0..np).step_by(bs) {
                let len = bs.min(np - p0);
                let grad = gi.as_mut().and_then(Iterator::next);
                let loss = li.as_mut().and_then(Iterator::next);
                blocks.push(Block { n: 0, s0: p0, len, grad, loss });
            }
        }
        Layout::Ncs => {
            let mut gi = grad.map(|g| {
                ArrayViewMut3::from_shape((nb, c, sp), g).expect("grad sized by the caller").into_outer_iter_mut()
            });
            let mut li = loss_none.map(|l| l.chunks_mut(sp));
            for n in 0..nb {
                let mut gs = gi.as_mut().and_then(Iterator::next).map(|g| g.into_axis_chunks_iter_mut(Axis(1), bs));
                let mut ls = li.as_mut().and_then(Iterator::next).map(|l| l.chunks_mut(bs));
                for s0 in (0..sp).step_by(bs) {
                    let len = bs.min(sp - s0);
                    let grad = gs.as_mut().and_then(Iterator::next);
                    let loss = ls.as_mut().and_then(Iterator::next);
                    blocks.push(Block { n, s0, len, grad, loss });
                }
            }
        }
    }
    let work = shape.len().saturating_mul(WORK_PER_ELEMENT);
    let shape = *shape;
    reduce::total(reduce::map_in_order(blocks, work, |block| simd::dispatch(BlockTask { loss: l, shape, block })))
}

/// Validates index targets (each in [0, classes) or equal to `ignore`) and returns
/// Σ weight[y] over the non-ignored positions (their count without weights). The first invalid
/// position in memory order is reported, whatever the thread count.
fn check_targets<T: Real>(target: &[i64], classes: usize, ignore: i64, weight: Option<&[T]>) -> Result<f64, InvalidTarget> {
    let parts = reduce::map_in_order(reduce::chunks(target.len(), reduce::CHUNK).collect(), target.len(), |r: Range<usize>| {
        let mut den = 0f64;
        for (i, &y) in target[r.clone()].iter().enumerate() {
            if y == ignore {
                continue;
            }
            if y < 0 || y as u64 >= classes as u64 {
                return Err(InvalidTarget { position: r.start + i, value: y });
            }
            den += weight.map_or(1.0, |w| w[y as usize].f64());
        }
        Ok(den)
    });
    parts.into_iter().try_fold(0.0, |acc, p| p.map(|d| acc + d))
}

// ---------------------------------------------------------------------------------------------
// Cross entropy with index targets.

/// Inputs of [`cross_entropy`] (sizes validated by the caller).
pub struct CrossEntropy<'a, T> {
    pub logits: &'a [T],
    pub target: &'a [i64],
    pub class_weight: Option<&'a [T]>,
    pub ignore_index: i64,
    /// ε ∈ [0, 1].
    pub label_smoothing: f64,
}

/// Softmax cross entropy with index targets, as `torch.nn.functional.cross_entropy`:
/// per position l = (1−ε)·w_y·(−ln p_y) + (ε/C)·Σ_c w_c·(−ln p_c) (0 where y = ignore_index),
/// MEAN = Σ l / Σ w_y over the non-ignored positions (0 when that is 0).
/// Returns the reduced loss; per-position values go to `loss_none` (NONE).
pub fn cross_entropy<T: Math>(
    shape: Shape,
    args: &CrossEntropy<'_, T>,
    reduction: Reduce,
    loss_none: Option<&mut [T]>,
    grad: Option<&mut [T]>,
) -> Result<f64, InvalidTarget> {
    let shape = shape.canonical();
    // Class weights of a MEAN far from 1 are scaled by a power of two first (MEAN unchanged).
    let scaled = reduction.class_weight_scale(args.class_weight);
    let (class_weight, wc) = scaled.as_ref().map_or((args.class_weight, 1.0), |(w, wc)| (Some(&w[..]), *wc));
    let den = check_targets(args.target, shape.classes, args.ignore_index, class_weight)?;
    let scale = reduction.scale_scaled(den, wc, shape.batch);
    let c = shape.classes;
    let eps = args.label_smoothing;
    let wsum = class_weight.map_or(c as f64, |w| w.iter().map(|v| v.f64()).sum());
    let k = Ce {
        z: Classes::new(&shape, args.logits),
        target: args.target,
        spatial: shape.spatial,
        w: class_weight,
        ignore: args.ignore_index,
        smoothing: eps > 0.0,
        keep: T::of(1.0 - eps),
        eps_c: T::of(eps / c as f64),
        wsum: T::of(wsum),
        gs: T::of(scale),
    };
    Ok(run_classes(&k, &shape, loss_none, grad) * scale)
}

struct Ce<'a, T> {
    z: Classes<'a, T>,
    target: &'a [i64],
    spatial: usize,
    w: Option<&'a [T]>,
    ignore: i64,
    smoothing: bool,
    /// 1 − ε.
    keep: T,
    /// ε / C.
    eps_c: T,
    /// Σ_c w_c.
    wsum: T,
    /// The reduction's factor.
    gs: T,
}

impl<T: Math> Ce<'_, T> {
    #[inline(always)]
    fn weight(&self, c: usize) -> T {
        self.w.map_or(T::one(), |w| w[c])
    }
}

impl<T: Math> ClassLoss<T> for Ce<'_, T> {
    #[inline(always)]
    fn rows(&self, p0: usize, loss: &mut [T], grad: Option<&mut [T]>, scr: &mut Scratch<T>) {
        let (c, len) = (self.z.classes(), loss.len());
        let z = self.z.rows(p0..p0 + len);
        let target = &self.target[p0..p0 + len];
        let [sum, dy, wd, a, coef, ..] = &mut scr.cols;
        let (sum, dy, wd, a, coef) = (&mut sum[..len], &mut dy[..len], &mut wd[..len], &mut a[..len], &mut coef[..len]);
        // Pass 1, per row: the exps (into the gradient rows when there are some) and their sums.
        let mut grad = grad;
        {
            let mut rows = grad.as_deref_mut().map(|g| g.chunks_exact_mut(c));
            let f = &mut scr.f[..c];
            for (i, (z, &y)) in z.chunks_exact(c).zip(target).enumerate() {
                let e = match rows.as_mut().and_then(Iterator::next) {
                    Some(g) => g,
                    None => &mut scr.e[..c],
                };
                if y == self.ignore {
                    (sum[i], dy[i], wd[i], a[i]) = (T::one(), T::zero(), T::zero(), T::zero());
                    continue;
                }
                let y = y as usize;
                let m = math::row_max(z);
                sum[i] = math::row_exp(z, m, T::one(), e);
                dy[i] = z[y] - m;
                a[i] = self.keep * self.weight(y);
                if self.smoothing {
                    // Σ_c w_c·(−ln p_c) = W·ln s − Σ_c w_c·(z_c − m).
                    match self.w {
                        Some(w) => f.iter_mut().zip(z).zip(w).for_each(|((o, &zc), &wc)| *o = wc * (zc - m)),
                        None => f.iter_mut().zip(z).for_each(|(o, &zc)| *o = zc - m),
                    }
                    wd[i] = math::row_sum(f);
                }
            }
        }
        // Pass 2, per position (vectorized).
        let (eps_c, wsum, gs) = (self.eps_c, self.wsum, self.gs);
        for ((lv, cv), ((&s, &d), (&av, (&w, &y)))) in
            loss.iter_mut().zip(coef.iter_mut()).zip(sum.iter().zip(&*dy).zip(a.iter().zip(wd.iter().zip(target))))
        {
            let ls = math::ln(s);
            let l = av * (ls - d);
            let l = if self.smoothing { l + eps_c * (wsum * ls - w) } else { l };
            let valid = y != self.ignore;
            *lv = if valid { l } else { T::zero() };
            *cv = if valid { gs * (av + eps_c * wsum) / s } else { T::zero() };
        }
        // Pass 3, per row: the gradient from the exps.
        if let Some(g) = grad {
            let k = gs * eps_c;
            for (i, (g, &y)) in g.chunks_exact_mut(c).zip(target).enumerate() {
                if y == self.ignore {
                    g.fill(T::zero());
                    continue;
                }
                let cf = coef[i];
                match self.w {
                    Some(w) => g.iter_mut().zip(w).for_each(|(g, &wc)| *g = cf * *g - k * wc),
                    None => g.iter_mut().for_each(|g| *g = cf * *g - k),
                }
                g[y as usize] -= gs * a[i];
            }
        }
    }

    #[inline(always)]
    fn tile(&self, n: usize, s0: usize, loss: &mut [T], grad: Option<ArrayViewMut2<'_, T>>, scr: &mut Scratch<T>) {
        let len = loss.len();
        let z = self.z.tile(n, s0..s0 + len);
        let target = &self.target[n * self.spatial + s0..][..len];
        let c = z.nrows();
        let [m, sum, wd, zy, a, coef, v, _] = &mut scr.cols;
        let (m, sum, wd, zy, a, coef, v) = (&mut m[..len], &mut sum[..len], &mut wd[..len], &mut zy[..len], &mut a[..len], &mut coef[..len], &mut v[..len]);
        let mut e = ArrayViewMut2::from_shape((c, len), &mut scr.e[..c * len]).expect("scratch");
        math::cols_max(z, m);
        math::cols_exp(z, m, T::one(), e.view_mut(), sum);
        if self.smoothing {
            wd.fill(T::zero());
            for (ci, zr) in z.outer_iter().enumerate() {
                let wc = self.weight(ci);
                wd.iter_mut().zip(slice_of(zr)).zip(&*m).for_each(|((o, &zc), &mc)| *o += wc * (zc - mc));
            }
        }
        // Gathers per position (scalar), then the per-position math as map loops.
        for (s, &y) in target.iter().enumerate() {
            let valid = y != self.ignore;
            let yc = if valid { y as usize } else { 0 };
            zy[s] = z[[yc, s]];
            a[s] = if valid { self.keep * self.weight(yc) } else { T::zero() };
            v[s] = if valid { self.gs } else { T::zero() };
        }
        let (eps_c, wsum, gs) = (self.eps_c, self.wsum, self.gs);
        for ((lv, cv), ((((&sv, &mv), &zv), &av), (&vv, &wdv))) in
            loss.iter_mut().zip(coef.iter_mut()).zip(sum.iter().zip(&*m).zip(&*zy).zip(&*a).zip(v.iter().zip(&*wd)))
        {
            let ls = math::ln(sv);
            let l = av * (ls - (zv - mv));
            let l = if self.smoothing { l + eps_c * (wsum * ls - wdv) } else { l };
            let valid = vv != T::zero();
            *lv = if valid { l } else { T::zero() };
            *cv = if valid { gs * (av + eps_c * wsum) / sv } else { T::zero() };
        }
        if let Some(mut g) = grad {
            for (ci, (mut gr, er)) in g.outer_iter_mut().zip(e.outer_iter()).enumerate() {
                let k = self.eps_c * self.weight(ci);
                let gr = gr.as_slice_mut().expect("contiguous tile row");
                gr.iter_mut().zip(slice_of(er)).zip(&*coef).zip(&*v).for_each(|(((g, &ec), &cf), &vs)| *g = cf * ec - k * vs);
            }
            for (s, &y) in target.iter().enumerate() {
                if y != self.ignore {
                    g[[y as usize, s]] -= v[s] * a[s];
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Cross entropy with class-probability targets.

/// Inputs of [`cross_entropy_soft`]: `target` holds class probabilities in the logits' layout.
pub struct CrossEntropySoft<'a, T> {
    pub logits: &'a [T],
    pub target: &'a [T],
    pub class_weight: Option<&'a [T]>,
    pub label_smoothing: f64,
}

/// Softmax cross entropy with probability targets, as `torch.nn.functional.cross_entropy`
/// with a float target: per position l = Σ_c w_c·t′_c·(−ln p_c), t′ = (1−ε)·t + ε/C.
/// The term weight is 1 per position (torch divides MEAN by batch·spatial, weights or not).
pub fn cross_entropy_soft<T: Math>(
    shape: Shape,
    args: &CrossEntropySoft<'_, T>,
    reduction: Reduce,
    loss_none: Option<&mut [T]>,
    grad: Option<&mut [T]>,
) -> f64 {
    let shape = shape.canonical();
    let scale = reduction.scale(shape.positions() as f64, shape.batch);
    let eps = args.label_smoothing;
    let k = SoftCe {
        z: Classes::new(&shape, args.logits),
        t: Classes::new(&shape, args.target),
        w: args.class_weight,
        keep: T::of(1.0 - eps),
        eps_c: T::of(eps / shape.classes as f64),
        gs: T::of(scale),
    };
    run_classes(&k, &shape, loss_none, grad) * scale
}

struct SoftCe<'a, T> {
    z: Classes<'a, T>,
    t: Classes<'a, T>,
    w: Option<&'a [T]>,
    keep: T,
    eps_c: T,
    gs: T,
}

impl<T: Math> SoftCe<'_, T> {
    /// w_c·t′_c for a row of targets `t`.
    #[inline(always)]
    fn weighted_targets(&self, t: &[T], out: &mut [T]) {
        let (keep, eps_c) = (self.keep, self.eps_c);
        match self.w {
            Some(w) => out.iter_mut().zip(t).zip(w).for_each(|((o, &tc), &wc)| *o = wc * (keep * tc + eps_c)),
            None => out.iter_mut().zip(t).for_each(|(o, &tc)| *o = keep * tc + eps_c),
        }
    }
}

impl<T: Math> ClassLoss<T> for SoftCe<'_, T> {
    #[inline(always)]
    fn rows(&self, p0: usize, loss: &mut [T], grad: Option<&mut [T]>, scr: &mut Scratch<T>) {
        let range = p0..p0 + loss.len();
        let (z, t) = (self.z.rows(range.clone()), self.t.rows(range));
        let c = self.z.classes();
        let (e, wt, wtd) = (&mut scr.e[..c], &mut scr.f[..c], &mut scr.h[..c]);
        let mut grad = grad.map(|g| g.chunks_exact_mut(c));
        for (i, (z, tr)) in z.chunks_exact(c).zip(t.chunks_exact(c)).enumerate() {
            let m = math::row_max(z);
            let s = math::row_exp(z, m, T::one(), e);
            self.weighted_targets(tr, wt);
            wtd.iter_mut().zip(&*wt).zip(z).for_each(|((o, &a), &zc)| *o = a * (zc - m));
            let a = math::row_sum(wt);
            loss[i] = a * math::ln(s) - math::row_sum(wtd);
            if let Some(g) = grad.as_mut().and_then(Iterator::next) {
                let coef = self.gs * a / s;
                g.iter_mut().zip(&*e).zip(&*wt).for_each(|((g, &ec), &a)| *g = coef * ec - self.gs * a);
            }
        }
    }

    #[inline(always)]
    fn tile(&self, n: usize, s0: usize, loss: &mut [T], grad: Option<ArrayViewMut2<'_, T>>, scr: &mut Scratch<T>) {
        let len = loss.len();
        let (z, t) = (self.z.tile(n, s0..s0 + len), self.t.tile(n, s0..s0 + len));
        let c = z.nrows();
        let [m, sum, a, b, coef, ..] = &mut scr.cols;
        let (m, sum, a, b, coef) = (&mut m[..len], &mut sum[..len], &mut a[..len], &mut b[..len], &mut coef[..len]);
        let mut e = ArrayViewMut2::from_shape((c, len), &mut scr.e[..c * len]).expect("scratch");
        let mut wt = ArrayViewMut2::from_shape((c, len), &mut scr.f[..c * len]).expect("scratch");
        math::cols_max(z, m);
        math::cols_exp(z, m, T::one(), e.view_mut(), sum);
        a.fill(T::zero());
        b.fill(T::zero());
        for (ci, ((zr, tr), mut wr)) in z.outer_iter().zip(t.outer_iter()).zip(wt.outer_iter_mut()).enumerate() {
            let wr = wr.as_slice_mut().expect("contiguous tile row");
            let wc = self.w.map_or(T::one(), |w| w[ci]);
            let (keep, eps_c) = (self.keep, self.eps_c);
            wr.iter_mut().zip(slice_of(tr)).for_each(|(o, &tc)| *o = wc * (keep * tc + eps_c));
            for (((av, bv), &w), (&zv, &mv)) in a.iter_mut().zip(b.iter_mut()).zip(&*wr).zip(slice_of(zr).iter().zip(&*m)) {
                *av += w;
                *bv += w * (zv - mv);
            }
        }
        for ((lv, cv), ((&av, &bv), &sv)) in loss.iter_mut().zip(coef.iter_mut()).zip(a.iter().zip(&*b).zip(&*sum)) {
            *lv = av * math::ln(sv) - bv;
            *cv = self.gs * av / sv;
        }
        if let Some(mut g) = grad {
            for ((mut gr, er), wr) in g.outer_iter_mut().zip(e.outer_iter()).zip(wt.outer_iter()) {
                let gr = gr.as_slice_mut().expect("contiguous tile row");
                gr.iter_mut().zip(slice_of(er)).zip(slice_of(wr)).zip(&*coef).for_each(|(((g, &ec), &w), &cf)| *g = cf * ec - self.gs * w);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Entropy.

/// What the entropy input holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntropyInput {
    /// Logits: p = softmax over the class axis.
    Logits,
    /// Probabilities already (0·ln 0 = 0).
    Probs,
}

/// Shannon entropy in nats per position, H = −Σ_c p_c·ln p_c; term weight 1 per position.
/// Logits: H = ln Σe − Σ e_c·d_c / Σe with d = z − max, ∂H/∂z_k = −p_k·(d_k − Σ e·d / Σe).
/// Probabilities: ∂H/∂p_k = −(ln max(p_k, smallest normal) + 1), finite at p = 0.
pub fn entropy<T: Math>(
    shape: Shape,
    input: &[T],
    kind: EntropyInput,
    reduction: Reduce,
    loss_none: Option<&mut [T]>,
    grad: Option<&mut [T]>,
) -> f64 {
    let shape = shape.canonical();
    let scale = reduction.scale(shape.positions() as f64, shape.batch);
    let x = Classes::new(&shape, input);
    let gs = T::of(scale);
    let total = match kind {
        EntropyInput::Logits => run_classes(&EntropyLogits { z: x, gs }, &shape, loss_none, grad),
        EntropyInput::Probs => run_classes(&EntropyProbs { p: x, gs }, &shape, loss_none, grad),
    };
    total * scale
}

/// d = z − max held at the type's lowest finite value: it is −∞ only where z − max overflows,
/// and there exp(d) = 0 multiplies it (0·∞ = NaN otherwise). μ = Σ p·d ≤ 0, so d − μ stays finite.
#[inline(always)]
fn finite_d<T: Real>(d: T) -> T {
    math::max(d, T::min_value())
}

struct EntropyLogits<'a, T> {
    z: Classes<'a, T>,
    gs: T,
}

impl<T: Math> ClassLoss<T> for EntropyLogits<'_, T> {
    #[inline(always)]
    fn rows(&self, p0: usize, loss: &mut [T], grad: Option<&mut [T]>, scr: &mut Scratch<T>) {
        let (c, len) = (self.z.classes(), loss.len());
        let z = self.z.rows(p0..p0 + len);
        let [m, sum, mu, coef, ..] = &mut scr.cols;
        let (m, sum, mu, coef) = (&mut m[..len], &mut sum[..len], &mut mu[..len], &mut coef[..len]);
        // Pass 1, per row: the exps (into the gradient rows when there are some), Σe and Σe·d.
        let mut grad = grad;
        {
            let mut rows = grad.as_deref_mut().map(|g| g.chunks_exact_mut(c));
            let ed = &mut scr.f[..c];
            for (i, z) in z.chunks_exact(c).enumerate() {
                let e = match rows.as_mut().and_then(Iterator::next) {
                    Some(g) => g,
                    None => &mut scr.e[..c],
                };
                m[i] = math::row_max(z);
                sum[i] = math::row_exp(z, m[i], T::one(), e);
                // d = z − max overflows (−3e38 against 3e38 in f32) to −∞ exactly where e
                // underflows to 0, and 0·∞ would be NaN: d is held at the type's lowest finite
                // value (a no-op for every finite d; branch-free, so the loop stays vectorized).
                ed.iter_mut().zip(&*e).zip(z).for_each(|((o, &ec), &zc)| *o = ec * finite_d(zc - m[i]));
                mu[i] = math::row_sum(ed);
            }
        }
        // Pass 2, per position (vectorized): μ = Σe·d / Σe, H = ln Σe − μ.
        for ((lv, cv), (u, &sv)) in loss.iter_mut().zip(coef.iter_mut()).zip(mu.iter_mut().zip(&*sum)) {
            *u = *u / sv;
            *lv = math::ln(sv) - *u;
            *cv = -self.gs / sv;
        }
        // Pass 3, per row: ∂H/∂z = −p·(d − μ), from the exps in place.
        if let Some(g) = grad {
            for (i, (g, z)) in g.chunks_exact_mut(c).zip(z.chunks_exact(c)).enumerate() {
                let (cf, mi, u) = (coef[i], m[i], mu[i]);
                // (g holds e; d held finite as above)
                g.iter_mut().zip(z).for_each(|(g, &zc)| *g = cf * *g * (finite_d(zc - mi) - u));
            }
        }
    }

    #[inline(always)]
    fn tile(&self, n: usize, s0: usize, loss: &mut [T], grad: Option<ArrayViewMut2<'_, T>>, scr: &mut Scratch<T>) {
        let len = loss.len();
        let z = self.z.tile(n, s0..s0 + len);
        let c = z.nrows();
        let [m, sum, mu, coef, ..] = &mut scr.cols;
        let (m, sum, mu, coef) = (&mut m[..len], &mut sum[..len], &mut mu[..len], &mut coef[..len]);
        let mut e = ArrayViewMut2::from_shape((c, len), &mut scr.e[..c * len]).expect("scratch");
        math::cols_max(z, m);
        math::cols_exp(z, m, T::one(), e.view_mut(), sum);
        mu.fill(T::zero());
        for (zr, er) in z.outer_iter().zip(e.outer_iter()) {
            for ((u, &ev), (&zv, &mv)) in mu.iter_mut().zip(slice_of(er)).zip(slice_of(zr).iter().zip(&*m)) {
                // (d held finite: see rows)
                *u += ev * finite_d(zv - mv);
            }
        }
        for ((lv, cv), (u, &sv)) in loss.iter_mut().zip(coef.iter_mut()).zip(mu.iter_mut().zip(&*sum)) {
            *u = *u / sv;
            *lv = math::ln(sv) - *u;
            *cv = -self.gs / sv;
        }
        if let Some(mut g) = grad {
            for ((mut gr, er), zr) in g.outer_iter_mut().zip(e.outer_iter()).zip(z.outer_iter()) {
                let (gr, er, zr) = (gr.as_slice_mut().expect("contiguous tile row"), slice_of(er), slice_of(zr));
                for ((g, (&cv, &ev)), ((&zv, &mv), &u)) in gr.iter_mut().zip(coef.iter().zip(er)).zip(zr.iter().zip(&*m).zip(&*mu)) {
                    *g = cv * ev * (finite_d(zv - mv) - u);
                }
            }
        }
    }
}

struct EntropyProbs<'a, T> {
    p: Classes<'a, T>,
    gs: T,
}

/// ln max(p, smallest normal): the NaN of a NaN p is kept.
#[inline(always)]
fn ln_floor<T: Math>(p: T) -> T {
    math::ln(if p < T::min_positive_value() { T::min_positive_value() } else { p })
}

impl<T: Math> ClassLoss<T> for EntropyProbs<'_, T> {
    #[inline(always)]
    fn rows(&self, p0: usize, loss: &mut [T], grad: Option<&mut [T]>, scr: &mut Scratch<T>) {
        let c = self.p.classes();
        let p = self.p.rows(p0..p0 + loss.len());
        let (lp, h) = (&mut scr.e[..c], &mut scr.f[..c]);
        let mut grad = grad.map(|g| g.chunks_exact_mut(c));
        for (i, p) in p.chunks_exact(c).enumerate() {
            lp.iter_mut().zip(p).for_each(|(o, &pc)| *o = ln_floor(pc));
            h.iter_mut().zip(p).zip(&*lp).for_each(|((o, &pc), &l)| *o = -(pc * l));
            loss[i] = math::row_sum(h);
            if let Some(g) = grad.as_mut().and_then(Iterator::next) {
                g.iter_mut().zip(&*lp).for_each(|(g, &l)| *g = -self.gs * (l + T::one()));
            }
        }
    }

    #[inline(always)]
    fn tile(&self, n: usize, s0: usize, loss: &mut [T], mut grad: Option<ArrayViewMut2<'_, T>>, _scr: &mut Scratch<T>) {
        let len = loss.len();
        let p = self.p.tile(n, s0..s0 + len);
        loss.fill(T::zero());
        for (ci, pr) in p.outer_iter().enumerate() {
            let pr = slice_of(pr);
            match grad.as_mut() {
                Some(g) => {
                    let gr = slice_of_mut(g.row_mut(ci));
                    for ((lv, g), &pv) in loss.iter_mut().zip(gr.iter_mut()).zip(pr) {
                        let l = ln_floor(pv);
                        *lv += -(pv * l);
                        *g = -self.gs * (l + T::one());
                    }
                }
                None => {
                    for (lv, &pv) in loss.iter_mut().zip(pr) {
                        *lv += -(pv * ln_floor(pv));
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Distillation: KL between temperature-softened teacher and student distributions.

/// Inputs of [`kl_div_logits`].
pub struct Distillation<'a, T> {
    pub student: &'a [T],
    pub teacher: &'a [T],
    /// T > 0.
    pub temperature: f64,
}

/// Knowledge distillation (Hinton et al. 2015): per position
/// l = T²·KL(q ‖ p) = T²·Σ_c q_c·(ln q_c − ln p_c), q = softmax(teacher/T), p = softmax(student/T),
/// as `T*T * kl_div(log_softmax(s/T), softmax(t/T), reduction="sum")` per position;
/// ∂l/∂s_k = T·(p_k − q_k). MEAN divides by batch·spatial, BATCHMEAN by batch.
pub fn kl_div_logits<T: Math>(
    shape: Shape,
    args: &Distillation<'_, T>,
    reduction: Reduce,
    loss_none: Option<&mut [T]>,
    grad: Option<&mut [T]>,
) -> f64 {
    let shape = shape.canonical();
    let scale = reduction.scale(shape.positions() as f64, shape.batch);
    let t = args.temperature;
    let k = Kd {
        zs: Classes::new(&shape, args.student),
        zt: Classes::new(&shape, args.teacher),
        k: T::of(1.0 / t),
        t2: T::of(t * t),
        gt: T::of(scale * t),
    };
    run_classes(&k, &shape, loss_none, grad) * scale
}

struct Kd<'a, T> {
    zs: Classes<'a, T>,
    zt: Classes<'a, T>,
    /// 1/T.
    k: T,
    /// T².
    t2: T,
    /// The reduction's factor times T.
    gt: T,
}

impl<T: Math> ClassLoss<T> for Kd<'_, T> {
    #[inline(always)]
    fn rows(&self, p0: usize, loss: &mut [T], grad: Option<&mut [T]>, scr: &mut Scratch<T>) {
        let len = loss.len();
        let (zs, zt) = (self.zs.rows(p0..p0 + len), self.zt.rows(p0..p0 + len));
        let c = self.zs.classes();
        let [ss, st, d, a, b, ..] = &mut scr.cols;
        let (ss, st, d, a, b) = (&mut ss[..len], &mut st[..len], &mut d[..len], &mut a[..len], &mut b[..len]);
        // Pass 1, per row: student exps (into the gradient rows when there are some), teacher
        // exps (kept for the whole block when the gradient is wanted), their sums and Σq·(a − b).
        let mut grad = grad;
        let want_grad = grad.is_some();
        if want_grad && scr.block.len() < len * c {
            scr.block.resize(len * c, T::zero());
        }
        {
            let mut rows = grad.as_deref_mut().map(|g| g.chunks_exact_mut(c));
            let mut teacher = want_grad.then(|| scr.block[..len * c].chunks_exact_mut(c));
            let h = &mut scr.h[..c];
            for (i, (zs, zt)) in zs.chunks_exact(c).zip(zt.chunks_exact(c)).enumerate() {
                let es = match rows.as_mut().and_then(Iterator::next) {
                    Some(g) => g,
                    None => &mut scr.e[..c],
                };
                let et = match teacher.as_mut().and_then(Iterator::next) {
                    Some(t) => t,
                    None => &mut scr.f[..c],
                };
                let (ms, mt) = (math::row_max(zs), math::row_max(zt));
                ss[i] = math::row_exp(zs, ms, self.k, es);
                st[i] = math::row_exp(zt, mt, self.k, et);
                h.iter_mut().zip(&*et).zip(zt.iter().zip(zs)).for_each(|((o, &q), (&t, &s))| *o = q * (((t - mt) - (s - ms)) * self.k));
                d[i] = math::row_sum(h);
            }
        }
        // Pass 2, per position (vectorized).
        for ((lv, (av, bv)), (&dv, (&sv, &tv))) in loss.iter_mut().zip(a.iter_mut().zip(b.iter_mut())).zip(d.iter().zip(ss.iter().zip(&*st))) {
            *lv = self.t2 * (dv / tv - math::ln(tv) + math::ln(sv));
            *av = self.gt / sv;
            *bv = self.gt / tv;
        }
        // Pass 3, per row: T·(p − q) from the exps.
        if let Some(g) = grad {
            for (i, (g, et)) in g.chunks_exact_mut(c).zip(scr.block.chunks_exact(c)).enumerate() {
                let (ai, bi) = (a[i], b[i]);
                g.iter_mut().zip(et).for_each(|(g, &q)| *g = ai * *g - bi * q);
            }
        }
    }

    #[inline(always)]
    fn tile(&self, n: usize, s0: usize, loss: &mut [T], grad: Option<ArrayViewMut2<'_, T>>, scr: &mut Scratch<T>) {
        let len = loss.len();
        let (zs, zt) = (self.zs.tile(n, s0..s0 + len), self.zt.tile(n, s0..s0 + len));
        let c = zs.nrows();
        let [ms, mt, ss, st, d, a, b, _] = &mut scr.cols;
        let (ms, mt, ss, st, d, a, b) = (&mut ms[..len], &mut mt[..len], &mut ss[..len], &mut st[..len], &mut d[..len], &mut a[..len], &mut b[..len]);
        let mut es = ArrayViewMut2::from_shape((c, len), &mut scr.e[..c * len]).expect("scratch");
        let mut et = ArrayViewMut2::from_shape((c, len), &mut scr.f[..c * len]).expect("scratch");
        math::cols_max(zs, ms);
        math::cols_max(zt, mt);
        math::cols_exp(zs, ms, self.k, es.view_mut(), ss);
        math::cols_exp(zt, mt, self.k, et.view_mut(), st);
        d.fill(T::zero());
        for ((sr, tr), qr) in zs.outer_iter().zip(zt.outer_iter()).zip(et.outer_iter()) {
            let (sr, tr, qr) = (slice_of(sr), slice_of(tr), slice_of(qr));
            for ((dv, &q), ((&sv, &msv), (&tv, &mtv))) in d.iter_mut().zip(qr).zip(sr.iter().zip(&*ms).zip(tr.iter().zip(&*mt))) {
                *dv += q * (((tv - mtv) - (sv - msv)) * self.k);
            }
        }
        for ((lv, (av, bv)), (&dv, (&sv, &tv))) in loss.iter_mut().zip(a.iter_mut().zip(b.iter_mut())).zip(d.iter().zip(ss.iter().zip(&*st))) {
            *lv = self.t2 * (dv / tv - math::ln(tv) + math::ln(sv));
            *av = self.gt / sv;
            *bv = self.gt / tv;
        }
        if let Some(mut g) = grad {
            for ((mut gr, pr), qr) in g.outer_iter_mut().zip(es.outer_iter()).zip(et.outer_iter()) {
                let (gr, pr, qr) = (gr.as_slice_mut().expect("contiguous tile row"), slice_of(pr), slice_of(qr));
                for ((g, (&av, &p)), (&bv, &q)) in gr.iter_mut().zip(a.iter().zip(pr)).zip(b.iter().zip(qr)) {
                    *g = av * p - bv * q;
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Softmax (multi-class) focal loss.

/// Inputs of [`softmax_focal_loss`].
pub struct SoftmaxFocal<'a, T> {
    pub logits: &'a [T],
    pub target: &'a [i64],
    /// α per class (NULL: all 1).
    pub class_alpha: Option<&'a [T]>,
    /// γ ≥ 0.
    pub gamma: f64,
    pub ignore_index: i64,
}

/// Multi-class focal loss (Lin et al. 2017, softmax form): l = −α_y·(1 − p_y)^γ·ln p_y per
/// non-ignored position (term weight 1). With u = 1 − p_y = Σ_{c≠y} p_c (summed, not
/// subtracted) and r = −ln p_y / u (its series 1 + u/2 + u²/3 + … for small u):
/// ∂l/∂z_k = α_y·(p_k − [k=y])·F, F = u^γ·(1 + γ·p_y·r) — finite for every γ ≥ 0, also at u = 0.
pub fn softmax_focal_loss<T: Math>(
    shape: Shape,
    args: &SoftmaxFocal<'_, T>,
    reduction: Reduce,
    loss_none: Option<&mut [T]>,
    grad: Option<&mut [T]>,
) -> Result<f64, InvalidTarget> {
    let shape = shape.canonical();
    let den = check_targets::<T>(args.target, shape.classes, args.ignore_index, None)?;
    let scale = reduction.scale(den, shape.batch);
    let k = FocalSm {
        z: Classes::new(&shape, args.logits),
        target: args.target,
        spatial: shape.spatial,
        alpha: args.class_alpha,
        gamma: T::of(args.gamma),
        ignore: args.ignore_index,
        gs: T::of(scale),
    };
    Ok(run_classes(&k, &shape, loss_none, grad) * scale)
}

struct FocalSm<'a, T> {
    z: Classes<'a, T>,
    target: &'a [i64],
    spatial: usize,
    alpha: Option<&'a [T]>,
    gamma: T,
    ignore: i64,
    gs: T,
}

impl<T: Math> FocalSm<'_, T> {
    /// α of target class `y`.
    #[inline(always)]
    fn alpha(&self, y: usize) -> T {
        self.alpha.map_or(T::one(), |a| a[y])
    }

    /// Per position, as map loops over positions (vectorizable): from Σe, Σ_{c≠y} e, e_y,
    /// z_y − max, α_y and a validity flag, the loss, the gradient factor for the non-target
    /// classes (times e_c) and the gradient at the target.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn positions(&self, sum: &[T], so: &[T], ey: &[T], dy: &[T], alpha: &[T], loss: &mut [T], coef: &mut [T], gy: &mut [T]) {
        let (one, gamma, gs) = (T::one(), self.gamma, self.gs);
        let ins = sum.iter().zip(so).zip(ey.iter().zip(dy)).zip(alpha);
        for ((((&s, &so), (&ey, &dy)), &alpha), (lv, (cv, gv))) in ins.zip(loss.iter_mut().zip(coef.iter_mut().zip(gy.iter_mut()))) {
            let nlq = math::ln(s) - dy;
            let u = so / s;
            let q = ey / s;
            let b = math::pow_nonneg(u, gamma);
            // r = −ln(1 − u)/u.
            let r = math::neg_ln1m_over(u, nlq);
            let f = b * (one + gamma * q * r);
            // α = 0 marks an ignored position (its loss and gradient are 0).
            let valid = alpha != T::zero();
            *lv = if valid { alpha * b * nlq } else { T::zero() };
            *cv = if valid { gs * alpha * f / s } else { T::zero() };
            *gv = if valid { -(gs * alpha * f * u) } else { T::zero() };
        }
    }
}

impl<T: Math> ClassLoss<T> for FocalSm<'_, T> {
    #[inline(always)]
    fn rows(&self, p0: usize, loss: &mut [T], grad: Option<&mut [T]>, scr: &mut Scratch<T>) {
        let (c, len) = (self.z.classes(), loss.len());
        let z = self.z.rows(p0..p0 + len);
        let target = &self.target[p0..p0 + len];
        let [sum, so, ey, dy, alpha, coef, gy, _] = &mut scr.cols;
        let (sum, so, ey, dy, alpha, coef, gy) = (&mut sum[..len], &mut so[..len], &mut ey[..len], &mut dy[..len], &mut alpha[..len], &mut coef[..len], &mut gy[..len]);
        // Pass 1, per row: the exps (into the gradient rows when there are some) and their sums.
        let mut grad = grad;
        {
            let mut rows = grad.as_deref_mut().map(|g| g.chunks_exact_mut(c));
            for (i, (z, &y)) in z.chunks_exact(c).zip(target).enumerate() {
                let e = match rows.as_mut().and_then(Iterator::next) {
                    Some(g) => g,
                    None => &mut scr.e[..c],
                };
                if y == self.ignore {
                    (sum[i], so[i], ey[i], dy[i], alpha[i]) = (T::one(), T::zero(), T::one(), T::zero(), T::zero());
                    continue;
                }
                let y = y as usize;
                let m = math::row_max(z);
                sum[i] = math::row_exp(z, m, T::one(), e);
                so[i] = math::row_sum(&e[..y]) + math::row_sum(&e[y + 1..]);
                ey[i] = e[y];
                dy[i] = z[y] - m;
                alpha[i] = self.alpha(y);
            }
        }
        // Pass 2, per position (vectorized): loss and gradient factors.
        self.positions(sum, so, ey, dy, alpha, loss, coef, gy);
        // Pass 3, per row: scale the exps into the gradient.
        if let Some(g) = grad {
            for (i, (g, &y)) in g.chunks_exact_mut(c).zip(target).enumerate() {
                // Pass 1 skipped an ignored row: it still holds the caller's bytes.
                if y == self.ignore {
                    g.fill(T::zero());
                    continue;
                }
                let k = coef[i];
                g.iter_mut().for_each(|v| *v *= k);
                g[y as usize] = gy[i];
            }
        }
    }

    #[inline(always)]
    fn tile(&self, n: usize, s0: usize, loss: &mut [T], grad: Option<ArrayViewMut2<'_, T>>, scr: &mut Scratch<T>) {
        let len = loss.len();
        let z = self.z.tile(n, s0..s0 + len);
        let target = &self.target[n * self.spatial + s0..][..len];
        let c = z.nrows();
        let [m, sum, so, yf, coef, gy, ey, dy] = &mut scr.cols;
        let (m, sum, so, yf, coef, gy) = (&mut m[..len], &mut sum[..len], &mut so[..len], &mut yf[..len], &mut coef[..len], &mut gy[..len]);
        let mut e = ArrayViewMut2::from_shape((c, len), &mut scr.e[..c * len]).expect("scratch");
        math::cols_max(z, m);
        math::cols_exp(z, m, T::one(), e.view_mut(), sum);
        // Σ_{c≠y} e_c per position: the class index compared as a float (exact for any C here).
        for (o, &y) in yf.iter_mut().zip(target) {
            *o = if y == self.ignore { -T::one() } else { T::of(y as f64) };
        }
        so.fill(T::zero());
        for (ci, er) in e.outer_iter().enumerate() {
            let cf = T::of(ci as f64);
            for ((o, &ev), &y) in so.iter_mut().zip(slice_of(er)).zip(&*yf) {
                *o += if y == cf { T::zero() } else { ev };
            }
        }
        let (ey, dy) = (&mut ey[..len], &mut dy[..len]);
        let alpha = &mut yf[..]; // the class indices are no longer needed: reuse for α_y
        for (s, &y) in target.iter().enumerate() {
            let valid = y != self.ignore;
            let yc = if valid { y as usize } else { 0 };
            ey[s] = e[[yc, s]];
            dy[s] = z[[yc, s]] - m[s];
            alpha[s] = if valid { self.alpha(yc) } else { T::zero() };
        }
        self.positions(sum, so, ey, dy, alpha, loss, coef, gy);
        if let Some(mut g) = grad {
            for (mut gr, er) in g.outer_iter_mut().zip(e.outer_iter()) {
                let (gr, er) = (gr.as_slice_mut().expect("contiguous tile row"), slice_of(er));
                for ((g, &cv), &ev) in gr.iter_mut().zip(&*coef).zip(er) {
                    *g = cv * ev;
                }
            }
            for s in 0..len {
                if target[s] != self.ignore {
                    g[[target[s] as usize, s]] = gy[s];
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Elementwise losses: BCE with logits, sigmoid focal, KL divergence.

/// A per-element loss: `(l, ∂l/∂x)` at input x, target t and class parameter `pc`.
trait Elementwise<T>: Sync {
    fn term(&self, x: T, t: T, pc: T) -> (T, T);
}

/// The class parameter of a run of elements: one per element (NSC rows) or one for the run.
#[derive(Clone, Copy)]
enum ClassParam<'a, T> {
    Each(&'a [T]),
    Same(T),
}

/// `loss[i] = w_i·l_i`, `grad[i] = gs·w_i·∂l_i` over one run of elements. Plain map loops only
/// (what LLVM vectorizes reliably): the terms first, then the weights.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn elem_run<T: Math, E: Elementwise<T>>(
    k: &E,
    x: &[T],
    t: &[T],
    w: Option<&[T]>,
    pc: ClassParam<'_, T>,
    gs: T,
    loss: &mut [T],
    grad: Option<&mut [T]>,
) {
    match (grad, pc) {
        (Some(g), ClassParam::Same(pc)) => {
            for ((lv, gv), (&xv, &tv)) in loss.iter_mut().zip(g.iter_mut()).zip(x.iter().zip(t)) {
                let (l, d) = k.term(xv, tv, pc);
                *lv = l;
                *gv = gs * d;
            }
            if let Some(w) = w {
                for ((lv, gv), &wv) in loss.iter_mut().zip(g.iter_mut()).zip(w) {
                    *lv *= wv;
                    *gv *= wv;
                }
            }
        }
        (Some(g), ClassParam::Each(pc)) => {
            for ((lv, gv), ((&xv, &tv), &pv)) in loss.iter_mut().zip(g.iter_mut()).zip(x.iter().zip(t).zip(pc)) {
                let (l, d) = k.term(xv, tv, pv);
                *lv = l;
                *gv = gs * d;
            }
            if let Some(w) = w {
                for ((lv, gv), &wv) in loss.iter_mut().zip(g.iter_mut()).zip(w) {
                    *lv *= wv;
                    *gv *= wv;
                }
            }
        }
        (None, ClassParam::Same(pc)) => {
            for (lv, (&xv, &tv)) in loss.iter_mut().zip(x.iter().zip(t)) {
                *lv = k.term(xv, tv, pc).0;
            }
            if let Some(w) = w {
                loss.iter_mut().zip(w).for_each(|(lv, &wv)| *lv *= wv);
            }
        }
        (None, ClassParam::Each(pc)) => {
            for (lv, ((&xv, &tv), &pv)) in loss.iter_mut().zip(x.iter().zip(t).zip(pc)) {
                *lv = k.term(xv, tv, pv).0;
            }
            if let Some(w) = w {
                loss.iter_mut().zip(w).for_each(|(lv, &wv)| *lv *= wv);
            }
        }
    }
}

/// Inputs of an elementwise loss.
struct ElemArgs<'a, T> {
    x: &'a [T],
    t: &'a [T],
    w: Option<&'a [T]>,
    /// The weights' power-of-two factor ([`Reduce::weight_scale`]; 1 but at the ends of the type).
    wc: T,
    /// One value per class (BCE's pos_weight).
    pc: Option<&'a [T]>,
    shape: Shape,
    gs: T,
}

struct ElemTask<'l, 'b, E, T> {
    k: &'l E,
    a: &'l ElemArgs<'l, T>,
    range: Range<usize>,
    loss: Option<&'b mut [T]>,
    grad: Option<&'b mut [T]>,
}

impl<T: Math, E: Elementwise<T>> SimdTask for ElemTask<'_, '_, E, T> {
    type Output = f64;
    #[inline(always)]
    fn run(self) -> f64 {
        let ElemTask { k, a, range, loss, mut grad } = self;
        let mut own = Vec::new();
        let values: &mut [T] = match loss {
            Some(v) => v,
            None => {
                own.resize(range.len(), T::zero());
                &mut own
            }
        };
        let (x, t) = (&a.x[range.clone()], &a.t[range.clone()]);
        let scaled: Vec<T>;
        let w = match a.w.map(|w| &w[range.clone()]) {
            // The rare path (weights far from 1): a scaled copy of the chunk's weights.
            Some(w) if a.wc != T::one() => {
                scaled = w.iter().map(|&v| v * a.wc).collect();
                Some(&scaled[..])
            }
            w => w,
        };
        match a.pc {
            None => elem_run(k, x, t, w, ClassParam::Same(T::one()), a.gs, values, grad),
            Some(pc) => {
                // Runs of one row: a class row (NSC, pc per element) or a spatial row of one
                // class (NCS, pc constant). Blocks start on row boundaries.
                let (c, sp) = (a.shape.classes, a.shape.spatial);
                let nsc = a.shape.layout == Layout::Nsc;
                let row = if nsc { c } else { sp };
                for (j, v) in values.chunks_mut(row).enumerate() {
                    let r = j * row..j * row + v.len();
                    let g = grad.as_mut().map(|g| &mut g[r.clone()]);
                    let p = if nsc { ClassParam::Each(pc) } else { ClassParam::Same(pc[((range.start + r.start) / sp) % c]) };
                    elem_run(k, &x[r.clone()], &t[r.clone()], w.map(|w| &w[r.clone()]), p, a.gs, v, g);
                }
            }
        }
        sum_f64(values)
    }
}

/// Runs an elementwise loss over every element; returns Σ of the term-weighted values.
fn run_elementwise<T: Math, E: Elementwise<T>>(k: &E, a: &ElemArgs<'_, T>, loss_none: Option<&mut [T]>, grad: Option<&mut [T]>) -> f64 {
    let n = a.shape.len();
    if n == 0 {
        return 0.0;
    }
    let chunk = match a.pc {
        None => reduce::CHUNK,
        Some(_) => {
            let row = if a.shape.layout == Layout::Nsc { a.shape.classes } else { a.shape.spatial };
            row * (reduce::CHUNK / row).max(1)
        }
    };
    let mut li = loss_none.map(|l| l.chunks_mut(chunk));
    let mut gi = grad.map(|g| g.chunks_mut(chunk));
    let tasks: Vec<_> = reduce::chunks(n, chunk)
        .map(|range| ElemTask { k, a, range, loss: li.as_mut().and_then(Iterator::next), grad: gi.as_mut().and_then(Iterator::next) })
        .collect();
    reduce::total(reduce::map_in_order(tasks, n.saturating_mul(WORK_PER_ELEMENT), simd::dispatch))
}

/// The reduction's factors of an elementwise loss over `shape` ([`Reduce::weight_scale`]): MEAN
/// divides by Σ weight (or the element count); weights far from 1 are scaled by a power of two
/// c first (MEAN unchanged; the ends of the type stay in range).
fn elem_scale<T: Real>(shape: &Shape, weight: Option<&[T]>, reduction: Reduce) -> reduce::WeightScale {
    if reduction.kind == Reduction::BatchMean {
        return reduce::WeightScale { c: 1.0, s: reduction.scale(shape.len() as f64, shape.batch) };
    }
    reduction.weight_scale(shape.len(), weight)
}

/// Inputs of [`bce_with_logits`] (all in the shape's layout; `pos_weight` per class).
pub struct Bce<'a, T> {
    pub logits: &'a [T],
    pub target: &'a [T],
    pub weight: Option<&'a [T]>,
    pub pos_weight: Option<&'a [T]>,
}

/// Binary cross entropy on logits, as `torch.nn.functional.binary_cross_entropy_with_logits`:
/// l = (1 − t)·x + (1 + (pw − 1)·t)·softplus(−x), softplus(−x) = max(−x, 0) + ln(1 + e^−|x|);
/// ∂l/∂x = (1 − t) − (1 + (pw − 1)·t)·σ(−x). Term weight `weight[i]`: MEAN = Σ w·l / Σ w
/// (torch divides by the element count; the two agree without weights).
pub fn bce_with_logits<T: Math>(
    shape: Shape,
    args: &Bce<'_, T>,
    reduction: Reduce,
    loss_none: Option<&mut [T]>,
    grad: Option<&mut [T]>,
) -> f64 {
    let shape = shape.canonical();
    let reduce::WeightScale { c, s: scale } = elem_scale(&shape, args.weight, reduction);
    let a = ElemArgs { x: args.logits, t: args.target, w: args.weight, wc: T::of(c), pc: args.pos_weight, shape, gs: T::of(scale) };
    run_elementwise(&BceTerm, &a, loss_none, grad) * scale
}

struct BceTerm;

impl<T: Math> Elementwise<T> for BceTerm {
    #[inline(always)]
    fn term(&self, x: T, t: T, pw: T) -> (T, T) {
        let one = T::one();
        let (_, q, lse) = math::logistic(x);
        let lw = one + (pw - one) * t;
        let l = (one - t) * x + lw * (max(-x, T::zero()) + lse);
        (l, (one - t) - lw * q)
    }
}

/// Inputs of [`sigmoid_focal_loss`].
pub struct SigmoidFocal<'a, T> {
    pub logits: &'a [T],
    pub target: &'a [T],
    pub weight: Option<&'a [T]>,
    /// α ∈ any; negative disables the α_t factor (torchvision).
    pub alpha: f64,
    /// γ ≥ 0.
    pub gamma: f64,
}

/// `torchvision.ops.sigmoid_focal_loss` (Lin et al. 2017): with p = σ(x), ce the BCE on logits,
/// B = 1 − p_t = p·(1 − t) + σ(−x)·t (no cancellation), α_t = α·t + (1 − α)·(1 − t) (1 when
/// α < 0): l = α_t·ce·B^γ and, from ∂B/∂x = p·(1−p)·(1 − 2t),
/// ∂l/∂x = α_t·((p − t)·B^γ + γ·ce·B^γ·(p·(1−p)/B)·(1 − 2t)) — B^(γ−1) never formed, so γ = 0
/// and γ < 1 stay finite (the ratio p(1−p)/B ≤ 1 is 0 where B = 0). Term weight `weight[i]`.
pub fn sigmoid_focal_loss<T: Math>(
    shape: Shape,
    args: &SigmoidFocal<'_, T>,
    reduction: Reduce,
    loss_none: Option<&mut [T]>,
    grad: Option<&mut [T]>,
) -> f64 {
    let (a, scale) = elem_args(shape, args.logits, args.target, args.weight, reduction);
    let (alpha, use_alpha) = (T::of(args.alpha), args.alpha >= 0.0);
    with_power!(args.gamma, |pow| run_elementwise(&FocalTerm { alpha, use_alpha, pow }, &a, loss_none, grad)) * scale
}

/// Evaluates `$body` with `$pow` the [`Power`] for `$gamma`: B^γ specialised for the common γ
/// (exact and cheaper than exp(γ·ln B)), [`PowAny`] otherwise. Each arm monomorphises the loss.
macro_rules! with_power {
    ($gamma:expr, |$pow:ident| $body:expr) => {
        match $gamma {
            0.0 => {
                let $pow = PowZero;
                $body
            }
            1.0 => {
                let $pow = PowOne;
                $body
            }
            2.0 => {
                let $pow = PowTwo;
                $body
            }
            g => {
                let $pow = PowAny(T::of(g));
                $body
            }
        }
    };
}
use with_power;

/// The elementwise driver's arguments for a loss over `shape` with optional term weights, and
/// the reduction's scale.
fn elem_args<'a, T: Math>(shape: Shape, x: &'a [T], t: &'a [T], w: Option<&'a [T]>, reduction: Reduce) -> (ElemArgs<'a, T>, f64) {
    let shape = shape.canonical();
    let reduce::WeightScale { c, s: scale } = elem_scale(&shape, w, reduction);
    (ElemArgs { x, t, w, wc: T::of(c), pc: None, shape, gs: T::of(scale) }, scale)
}

/// B ↦ B^γ for B ≥ 0.
trait Power<T>: Sync {
    fn gamma(&self) -> T;
    fn pow(&self, b: T) -> T;
}

struct PowZero;
struct PowOne;
struct PowTwo;
struct PowAny<T>(T);

impl<T: Math> Power<T> for PowZero {
    #[inline(always)]
    fn gamma(&self) -> T {
        T::zero()
    }
    #[inline(always)]
    fn pow(&self, _: T) -> T {
        T::one()
    }
}

impl<T: Math> Power<T> for PowOne {
    #[inline(always)]
    fn gamma(&self) -> T {
        T::one()
    }
    #[inline(always)]
    fn pow(&self, b: T) -> T {
        b
    }
}

impl<T: Math> Power<T> for PowTwo {
    #[inline(always)]
    fn gamma(&self) -> T {
        T::of(2.0)
    }
    #[inline(always)]
    fn pow(&self, b: T) -> T {
        b * b
    }
}

impl<T: Math> Power<T> for PowAny<T> {
    #[inline(always)]
    fn gamma(&self) -> T {
        self.0
    }
    #[inline(always)]
    fn pow(&self, b: T) -> T {
        math::pow_nonneg(b, self.0)
    }
}

struct FocalTerm<T, P> {
    alpha: T,
    use_alpha: bool,
    pow: P,
}

impl<T: Math, P: Power<T>> Elementwise<T> for FocalTerm<T, P> {
    #[inline(always)]
    fn term(&self, x: T, t: T, _: T) -> (T, T) {
        let one = T::one();
        let (ce, dce, p, q) = bce_parts(x, t);
        let b = p * (one - t) + q * t;
        let bg = self.pow.pow(b);
        let ratio = if b > T::zero() { p * q / b } else { T::zero() };
        // A select, not a branch: a branch here keeps LLVM from vectorizing the loop.
        let at = self.alpha * t + (one - self.alpha) * (one - t);
        let at = if self.use_alpha { at } else { one };
        let l = ce * bg;
        let d = dce * bg + self.pow.gamma() * l * ratio * (one - t - t);
        (at * l, at * d)
    }
}

/// Inputs of [`varifocal_loss`] and [`quality_focal_loss`]: quality targets q (IoU of the
/// assigned class for a positive, 0 elsewhere) and term weights, elementwise.
pub struct QualityFocal<'a, T> {
    pub logits: &'a [T],
    pub target: &'a [T],
    pub weight: Option<&'a [T]>,
    /// Varifocal: weight of the negatives (≥ 0). Quality focal: unused.
    pub alpha: f64,
    /// Varifocal γ, quality focal β (≥ 0).
    pub gamma: f64,
    /// Varifocal: positives weighted by q (else by 1).
    pub iou_weighted: bool,
    /// Varifocal: no gradient through the modulating weight (RT-DETR's `.detach()`).
    pub detach_weight: bool,
}

/// Varifocal loss (arXiv 2008.13367) as mmdet `varifocal_loss` (models/losses/varifocal_loss.py;
/// ultralytics `VarifocalLoss` and RT-DETR `loss_vfl` are the same formula):
/// l = BCE(x, q)·f, f = q (iou_weighted) or 1 where q > 0, else α·|σ(x) − q|^γ.
/// ∂l/∂x = (σ − q)·f + BCE·∂f/∂x, with ∂f/∂x = α·γ·|σ − q|^γ·σ(1 − σ)/|σ − q|·sgn(σ − q) for the
/// negatives (mmdet and ultralytics keep it; `detach_weight` drops it, as RT-DETR).
/// Term weight `weight[i]`; MEAN = Σ w·l / Σ w over elements (mmdet's mean over elements too).
pub fn varifocal_loss<T: Math>(shape: Shape, args: &QualityFocal<'_, T>, reduction: Reduce, loss_none: Option<&mut [T]>, grad: Option<&mut [T]>) -> f64 {
    let (a, scale) = elem_args(shape, args.logits, args.target, args.weight, reduction);
    let (alpha, iou, detach) = (T::of(args.alpha), args.iou_weighted, args.detach_weight);
    with_power!(args.gamma, |pow| run_elementwise(&Varifocal { alpha, iou, detach, pow }, &a, loss_none, grad)) * scale
}

/// Quality Focal Loss (GFL, arXiv 2006.04388) as mmdet `quality_focal_loss_tensor_target`
/// (models/losses/gfocal_loss.py) with dense scores: l = BCE(x, q)·|q − σ(x)|^β (negatives: q = 0,
/// the modulator σ^β), gradient through the modulator:
/// ∂l/∂x = (σ − q)·|q − σ|^β + β·BCE·|q − σ|^β·σ(1 − σ)/|q − σ|·sgn(σ − q).
/// mmdet sums over classes and averages over anchors (or divides by avg_factor): here every
/// element is a term, so SUM, or MEAN with avg_factor, is mmdet's value with avg_factor.
pub fn quality_focal_loss<T: Math>(shape: Shape, args: &QualityFocal<'_, T>, reduction: Reduce, loss_none: Option<&mut [T]>, grad: Option<&mut [T]>) -> f64 {
    let (a, scale) = elem_args(shape, args.logits, args.target, args.weight, reduction);
    with_power!(args.gamma, |pow| run_elementwise(&QualityFocalTerm { pow }, &a, loss_none, grad)) * scale
}

/// BCE(x, q) on logits and its derivative σ(x) − q, with σ(x) and σ(−x).
#[inline(always)]
fn bce_parts<T: Math>(x: T, q: T) -> (T, T, T, T) {
    let one = T::one();
    let (p, n, lse) = math::logistic(x);
    let ce = (one - q) * x + (max(-x, T::zero()) + lse);
    (ce, p - q, p, n)
}

struct Varifocal<T, P> {
    alpha: T,
    iou: bool,
    detach: bool,
    pow: P,
}

impl<T: Math, P: Power<T>> Elementwise<T> for Varifocal<T, P> {
    #[inline(always)]
    fn term(&self, x: T, q: T, _: T) -> (T, T) {
        let (ce, dce, p, n) = bce_parts(x, q);
        let positive = q > T::zero();
        let base = (p - q).abs();
        let bg = self.pow.pow(base);
        // σ(1 − σ)/|σ − q|·|σ − q|^γ = σ(1 − σ)·|σ − q|^(γ−1), never formed with γ − 1 < 0.
        let ratio = if base > T::zero() { p * n / base } else { T::zero() };
        let f_pos = if self.iou { q } else { T::one() };
        let f_neg = self.alpha * bg;
        let df_neg = if self.detach { T::zero() } else { self.alpha * self.pow.gamma() * bg * ratio * sign0(p - q) };
        let (f, df) = if positive { (f_pos, T::zero()) } else { (f_neg, df_neg) };
        (ce * f, dce * f + ce * df)
    }
}

struct QualityFocalTerm<P> {
    pow: P,
}

impl<T: Math, P: Power<T>> Elementwise<T> for QualityFocalTerm<P> {
    #[inline(always)]
    fn term(&self, x: T, q: T, _: T) -> (T, T) {
        let (ce, dce, p, n) = bce_parts(x, q);
        let base = (q - p).abs();
        let bg = self.pow.pow(base);
        let ratio = if base > T::zero() { p * n / base } else { T::zero() };
        (ce * bg, dce * bg + self.pow.gamma() * ce * bg * ratio * sign0(p - q))
    }
}

/// Inputs of [`kl_div`].
pub struct KlDiv<'a, T> {
    /// Log-probabilities.
    pub input: &'a [T],
    pub target: &'a [T],
    pub log_target: bool,
}

/// `torch.nn.functional.kl_div`: l = xlogy(t, t) − t·x (0 where t = 0), ∂l/∂x = −t; with
/// `log_target`, l = eᵗ·(t − x), ∂l/∂x = −eᵗ. MEAN divides by every element, BATCHMEAN by batch.
pub fn kl_div<T: Math>(shape: Shape, args: &KlDiv<'_, T>, reduction: Reduce, loss_none: Option<&mut [T]>, grad: Option<&mut [T]>) -> f64 {
    let shape = shape.canonical();
    let scale = reduction.scale(shape.len() as f64, shape.batch);
    let a = ElemArgs { x: args.input, t: args.target, w: None, wc: T::one(), pc: None, shape, gs: T::of(scale) };
    let total = if args.log_target {
        run_elementwise(&KlLogTarget, &a, loss_none, grad)
    } else {
        run_elementwise(&KlTerm, &a, loss_none, grad)
    };
    total * scale
}

struct KlTerm;

impl<T: Math> Elementwise<T> for KlTerm {
    #[inline(always)]
    fn term(&self, x: T, t: T, _: T) -> (T, T) {
        let tlt = t * math::ln(t);
        let xlogy = if t == T::zero() { T::zero() } else { tlt };
        (xlogy - t * x, -t)
    }
}

struct KlLogTarget;

impl<T: Math> Elementwise<T> for KlLogTarget {
    #[inline(always)]
    fn term(&self, x: T, t: T, _: T) -> (T, T) {
        let et = math::exp(t);
        (et * (t - x), -et)
    }
}
