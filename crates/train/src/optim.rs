//! Optimizers (SGD with Nesterov momentum, AdamW) and learning-rate schedules, on flat
//! parameter vectors.

use std::ops::Range;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum OptimizerKind {
    Sgd,
    Adamw,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Schedule {
    /// Linear warm-up over the first 20% of steps, then cosine decay to lr/1000.
    Onecycle,
    /// Cosine decay from lr to lr/1000 with no warm-up.
    Cosine,
    Constant,
}

impl Schedule {
    /// Learning rate at `step` of `total` for peak `lr`.
    pub fn lr(self, lr: f32, step: usize, total: usize) -> f32 {
        let t = step as f32 / total.max(1) as f32;
        let floor = lr / 1000.0;
        let cosine = |u: f32| floor + (lr - floor) * 0.5 * (1.0 + (std::f32::consts::PI * u).cos());
        match self {
            Schedule::Constant => lr,
            Schedule::Cosine => cosine(t),
            Schedule::Onecycle => {
                const WARM: f32 = 0.2;
                if t < WARM {
                    lr / 25.0 + (lr - lr / 25.0) * t / WARM
                } else {
                    cosine((t - WARM) / (1.0 - WARM))
                }
            }
        }
    }
}

/// Optimizer state for a flat parameter vector.
pub struct Optimizer {
    kind: OptimizerKind,
    weight_decay: f32,
    decay_mask: Vec<bool>,
    m: Vec<f32>,
    v: Vec<f32>,
    t: i32,
}

impl Optimizer {
    pub fn new(kind: OptimizerKind, n: usize, decayed: &[Range<usize>], weight_decay: f32) -> Self {
        let mut decay_mask = vec![false; n];
        for r in decayed {
            decay_mask[r.clone()].fill(true);
        }
        Optimizer {
            kind,
            weight_decay,
            decay_mask,
            m: vec![0.0; n],
            v: if kind == OptimizerKind::Adamw {
                vec![0.0; n]
            } else {
                Vec::new()
            },
            t: 0,
        }
    }

    /// One update of `params` with gradients `grads` at learning rate `lr`.
    pub fn step(&mut self, params: &mut [f32], grads: &[f32], lr: f32) {
        self.t += 1;
        let wd = self.weight_decay;
        match self.kind {
            OptimizerKind::Sgd => {
                const MU: f32 = 0.9;
                for i in 0..params.len() {
                    let mut g = grads[i];
                    if self.decay_mask[i] {
                        g += wd * params[i];
                    }
                    self.m[i] = MU * self.m[i] + g;
                    params[i] -= lr * (g + MU * self.m[i]);
                }
            }
            OptimizerKind::Adamw => {
                const B1: f32 = 0.9;
                const B2: f32 = 0.999;
                const EPS: f32 = 1e-8;
                let c1 = 1.0 - B1.powi(self.t);
                let c2 = 1.0 - B2.powi(self.t);
                for i in 0..params.len() {
                    let g = grads[i];
                    self.m[i] = B1 * self.m[i] + (1.0 - B1) * g;
                    self.v[i] = B2 * self.v[i] + (1.0 - B2) * g * g;
                    let mhat = self.m[i] / c1;
                    let vhat = self.v[i] / c2;
                    if self.decay_mask[i] {
                        params[i] -= lr * wd * params[i];
                    }
                    params[i] -= lr * mhat / (vhat.sqrt() + EPS);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both optimizers minimize a convex quadratic.
    #[test]
    fn minimizes_a_quadratic() {
        for (kind, lr) in [(OptimizerKind::Sgd, 0.05), (OptimizerKind::Adamw, 0.05)] {
            let target = [3.0f32, -2.0, 0.5];
            let mut p = vec![0.0f32; 3];
            let mut opt = Optimizer::new(kind, 3, &[], 0.0);
            for _ in 0..2000 {
                let g: Vec<f32> = p.iter().zip(&target).map(|(a, b)| 2.0 * (a - b)).collect();
                opt.step(&mut p, &g, lr);
            }
            for (a, b) in p.iter().zip(&target) {
                assert!((a - b).abs() < 1e-2, "{kind:?}: {p:?}");
            }
        }
    }

    #[test]
    fn weight_decay_only_on_masked() {
        let mut p = vec![1.0f32, 1.0];
        let mut opt = Optimizer::new(OptimizerKind::Adamw, 2, std::slice::from_ref(&(0..1)), 0.5);
        opt.step(&mut p, &[0.0, 0.0], 0.1);
        assert!((p[0] - 0.95).abs() < 1e-6 && p[1] == 1.0, "{p:?}");
    }

    #[test]
    fn schedules() {
        let s = Schedule::Onecycle;
        assert!((s.lr(1.0, 0, 100) - 0.04).abs() < 1e-6);
        assert!((s.lr(1.0, 20, 100) - 1.0).abs() < 1e-6);
        assert!(s.lr(1.0, 100, 100) < 0.0011);
        assert!(s.lr(1.0, 60, 100) < s.lr(1.0, 40, 100));
        assert_eq!(Schedule::Constant.lr(0.3, 50, 100), 0.3);
        assert!((Schedule::Cosine.lr(1.0, 0, 10) - 1.0).abs() < 1e-6);
    }
}
