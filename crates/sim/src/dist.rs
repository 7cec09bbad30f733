//! Distributions for latencies and sizes. Written here rather than taken from a crate so the
//! sampling algorithm (and so every trace) can never change under us with a dependency update.

use crate::rng::{unit_f64, Rng};

/// A distribution of non-negative values, in the unit named by the field that holds it.
#[derive(Clone, Debug, PartialEq)]
pub enum Dist {
    Constant {
        value: f64,
    },
    Uniform {
        min: f64,
        max: f64,
    },
    /// Truncated at zero.
    Normal {
        mean: f64,
        stddev: f64,
    },
    LogNormal {
        median: f64,
        sigma: f64,
    },
    /// `base` plus, with probability `tail_prob`, a Pareto draw with scale `tail_scale` and
    /// shape `tail_alpha`: the rare long stall on top of normal service.
    ParetoTail {
        base: Box<Dist>,
        tail_prob: f64,
        tail_scale: f64,
        tail_alpha: f64,
        /// Cap on the tail draw: real stalls have a ceiling (TCP's maximum backoff, a timeout).
        tail_max: Option<f64>,
    },
}

impl Dist {
    pub fn constant(value: f64) -> Dist {
        Dist::Constant { value }
    }

    pub fn sample(&self, rng: &mut Rng) -> f64 {
        let v = match self {
            Dist::Constant { value } => *value,
            Dist::Uniform { min, max } => min + (max - min) * unit_f64(rng),
            Dist::Normal { mean, stddev } => mean + stddev * standard_normal(rng),
            Dist::LogNormal { median, sigma } => median * libm::exp(sigma * standard_normal(rng)),
            Dist::ParetoTail {
                base,
                tail_prob,
                tail_scale,
                tail_alpha,
                tail_max,
            } => {
                let b = base.sample(rng);
                if unit_f64(rng) < *tail_prob {
                    // Inverse CDF of Pareto(scale, alpha); 1-u keeps the argument in (0, 1].
                    let tail = tail_scale / libm::pow(1.0 - unit_f64(rng), 1.0 / tail_alpha);
                    b + tail_max.map_or(tail, |max| tail.min(max))
                } else {
                    b
                }
            }
        };
        v.max(0.0)
    }

    /// The median, where it has a closed form (used in reports and validation).
    pub fn median(&self) -> f64 {
        match self {
            Dist::Constant { value } => *value,
            Dist::Uniform { min, max } => (min + max) / 2.0,
            Dist::Normal { mean, .. } => mean.max(0.0),
            Dist::LogNormal { median, .. } => *median,
            Dist::ParetoTail { base, .. } => base.median(),
        }
    }

    /// One line for humans, e.g. "lognormal(median 0.8, sigma 0.5)".
    pub fn describe(&self) -> String {
        match self {
            Dist::Constant { value } => format!("{value}"),
            Dist::Uniform { min, max } => format!("uniform({min}..{max})"),
            Dist::Normal { mean, stddev } => format!("normal(mean {mean}, stddev {stddev})"),
            Dist::LogNormal { median, sigma } => {
                format!("lognormal(median {median}, sigma {sigma})")
            }
            Dist::ParetoTail {
                base,
                tail_prob,
                tail_scale,
                tail_alpha,
                tail_max,
            } => format!(
                "{} + pareto tail(p {tail_prob}, scale {tail_scale}, alpha {tail_alpha}{})",
                base.describe(),
                tail_max.map_or(String::new(), |m| format!(", max {m}"))
            ),
        }
    }
}

/// Box-Muller; one draw per call (the second value is discarded to keep the stream simple).
fn standard_normal(rng: &mut Rng) -> f64 {
    let u1 = 1.0 - unit_f64(rng); // (0, 1]
    let u2 = unit_f64(rng);
    // sqrt is correctly rounded by IEEE 754 on every platform: the hardware instruction.
    (-2.0 * libm::log(u1)).sqrt() * libm::cos(std::f64::consts::TAU * u2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    fn median_of(d: &Dist) -> f64 {
        let mut r = stream(3, "dist");
        let mut v: Vec<f64> = (0..20001).map(|_| d.sample(&mut r)).collect();
        v.sort_by(f64::total_cmp);
        v[10000]
    }

    #[test]
    fn sample_medians_match_closed_form() {
        for d in [
            Dist::constant(2.0),
            Dist::Uniform { min: 1.0, max: 3.0 },
            Dist::Normal {
                mean: 5.0,
                stddev: 1.0,
            },
            Dist::LogNormal {
                median: 0.8,
                sigma: 0.6,
            },
        ] {
            let m = median_of(&d);
            assert!((m - d.median()).abs() < 0.05 * d.median(), "{d:?}: {m}");
        }
    }

    #[test]
    fn pareto_tail_adds_rare_large_values() {
        let d = Dist::ParetoTail {
            base: Box::new(Dist::constant(1.0)),
            tail_prob: 0.01,
            tail_scale: 100.0,
            tail_alpha: 1.5,
            tail_max: None,
        };
        let mut r = stream(3, "dist");
        let big = (0..100_000).filter(|_| d.sample(&mut r) > 50.0).count();
        assert!((700..1300).contains(&big), "{big}");
    }

    #[test]
    fn pareto_tail_respects_its_cap() {
        let d = Dist::ParetoTail {
            base: Box::new(Dist::constant(1.0)),
            tail_prob: 0.5,
            tail_scale: 100.0,
            tail_alpha: 0.5,
            tail_max: Some(400.0),
        };
        let mut r = stream(3, "dist");
        assert!((0..10_000).all(|_| d.sample(&mut r) <= 401.0));
    }
}
