//! Training in plain Rust with lossfn's safe API: a linear box regressor trained with CIoU (as
//! YOLOv8 computes it) and a linear classifier trained with the softmax focal loss. The loss
//! functions give each loss and its gradient with respect to the predictions; the chain rule to
//! the weights is one outer product, written here.
//!
//! Run: `cargo run --release --example train` (the test suite runs it too: tests/examples.rs).
use lossfn::boxes::{ciou_loss, CiouVariant, Format, Options};
use lossfn::classification::{softmax_focal_loss, FocalOptions, Layout, Shape};

/// A small deterministic generator (no dependency): uniform in [-1, 1).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

const D: usize = 4;

/// A linear map: `out = W·x + b`, W `rows × D`, trained with Adam.
struct Linear {
    w: Vec<f32>,
    b: Vec<f32>,
    rows: usize,
    /// Adam's moments of (W, b) and its step count.
    m: Vec<f32>,
    v: Vec<f32>,
    t: i32,
}

impl Linear {
    fn forward(&self, x: &[f32], out: &mut [f32]) {
        for (xi, oi) in x.chunks(D).zip(out.chunks_mut(self.rows)) {
            for (r, o) in oi.iter_mut().enumerate() {
                *o = self.b[r] + (0..D).map(|j| self.w[r * D + j] * xi[j]).sum::<f32>();
            }
        }
    }
    fn new(rows: usize, bias: Vec<f32>) -> Self {
        Linear { w: vec![0.0; rows * D], b: bias, rows, m: vec![0.0; rows * (D + 1)], v: vec![0.0; rows * (D + 1)], t: 0 }
    }

    /// One Adam step from ∂L/∂out (the loss function's gradient): ∂L/∂W = Σᵢ ∂L/∂outᵢ · xᵢᵀ,
    /// ∂L/∂b = Σᵢ ∂L/∂outᵢ.
    fn step(&mut self, x: &[f32], grad_out: &[f32], lr: f32) {
        let mut g = vec![0f32; self.rows * (D + 1)];
        for (xi, gi) in x.chunks(D).zip(grad_out.chunks(self.rows)) {
            for (r, &d) in gi.iter().enumerate() {
                for j in 0..D {
                    g[r * D + j] += d * xi[j];
                }
                g[self.rows * D + r] += d;
            }
        }
        let (b1, b2) = (0.9f32, 0.999f32);
        self.t += 1;
        let (c1, c2) = (1.0 - b1.powi(self.t), 1.0 - b2.powi(self.t));
        let rows_d = self.rows * D;
        for (k, gk) in g.into_iter().enumerate() {
            self.m[k] = b1 * self.m[k] + (1.0 - b1) * gk;
            self.v[k] = b2 * self.v[k] + (1.0 - b2) * gk * gk;
            let delta = lr * (self.m[k] / c1) / ((self.v[k] / c2).sqrt() + 1e-8);
            if k < rows_d {
                self.w[k] -= delta;
            } else {
                self.b[k - rows_d] -= delta;
            }
        }
    }
}

/// Trains the box regressor; returns the mean CIoU loss before and after.
pub fn boxes(steps: usize) -> (f32, f32) {
    let n = 256;
    let mut rng = Lcg(1);
    let x: Vec<f32> = (0..n * D).map(|_| rng.next()).collect();
    // The boxes to learn (cx, cy, w, h): a linear function of the features, sides > 0.
    let target: Vec<f32> = x.chunks(D).flat_map(|f| [10.0 + 3.0 * f[0], 10.0 + 3.0 * f[1], 4.0 + 1.5 * f[2], 4.0 + 1.5 * f[3]]).collect();
    let mut model = Linear::new(4, vec![8.0, 8.0, 2.0, 2.0]);
    let options = Options { format: Format::Cxcywh, ciou_variant: CiouVariant::Ultralytics, ..Options::default() };
    let (mut pred, mut grad, mut loss) = (vec![0f32; 4 * n], vec![0f32; 4 * n], [0f32]);
    let mut first = None;
    for _ in 0..steps {
        model.forward(&x, &mut pred);
        ciou_loss(&pred, &target, None, &options, &mut loss, Some(&mut grad)).expect("valid sizes and options");
        first.get_or_insert(loss[0]);
        model.step(&x, &grad, 0.05);
    }
    model.forward(&x, &mut pred);
    ciou_loss(&pred, &target, None, &options, &mut loss, None).expect("valid sizes and options");
    (first.unwrap_or(loss[0]), loss[0])
}

/// Trains the classifier; returns the mean focal loss before and after, and the accuracy.
pub fn classes(steps: usize) -> (f32, f32, f32) {
    let (n, c) = (512, 3);
    let mut rng = Lcg(2);
    let x: Vec<f32> = (0..n * D).map(|_| rng.next()).collect();
    // Three classes: the argmax of three linear scores of the features (linearly separable).
    let labels: Vec<i64> = x
        .chunks(D)
        .map(|f| {
            let s = [f[0] + f[1], f[0] - f[1], 0.5 * f[2] - f[0]];
            (0..3).max_by(|&a, &b| s[a].total_cmp(&s[b])).unwrap_or(0) as i64
        })
        .collect();
    let mut model = Linear::new(c, vec![0.0; c]);
    let shape = Shape { batch: n, classes: c, spatial: 1, layout: Layout::Nsc };
    let options = FocalOptions { gamma: 2.0, ..FocalOptions::default() };
    let (mut logits, mut grad, mut loss) = (vec![0f32; c * n], vec![0f32; c * n], [0f32]);
    let mut first = None;
    for _ in 0..steps {
        model.forward(&x, &mut logits);
        softmax_focal_loss(&logits, &labels, None, shape, &options, &mut loss, Some(&mut grad)).expect("valid sizes, options and labels");
        first.get_or_insert(loss[0]);
        model.step(&x, &grad, 0.05);
    }
    model.forward(&x, &mut logits);
    softmax_focal_loss(&logits, &labels, None, shape, &options, &mut loss, None).expect("valid sizes, options and labels");
    let correct = logits
        .chunks(c)
        .zip(&labels)
        .filter(|(z, &y)| (0..c).max_by(|&a, &b| z[a].total_cmp(&z[b])) == Some(y as usize))
        .count();
    (first.unwrap_or(loss[0]), loss[0], correct as f32 / n as f32)
}

#[allow(dead_code)]
fn main() {
    let (before, after) = boxes(300);
    println!("box regressor, CIoU (ultralytics): mean loss {before:.4} -> {after:.4}");
    let (before, after, accuracy) = classes(300);
    println!("classifier, softmax focal (gamma 2): mean loss {before:.4} -> {after:.4}, accuracy {:.1} %", 100.0 * accuracy);
}
