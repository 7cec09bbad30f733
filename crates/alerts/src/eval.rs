//! Instant evaluation of a compiled expression at one timestamp, with Prometheus 2.42 semantics.
//! Timestamps are integer milliseconds, as in Prometheus.

use std::collections::BTreeMap;

use etcdlab_record::MetricFamily;

use crate::compile::{AggOp, BinOp, CompiledRule, Func, Matching, Node, Selector};
use crate::{Labels, LOOKBACK_NS};

const NS_PER_MS: u64 = 1_000_000;
const LOOKBACK_MS: i64 = (LOOKBACK_NS / NS_PER_MS) as i64;

type Point = (i64, f64);
/// A function of a range: (samples, range start, range end) -> value, if any.
type RangeFn<'a> = &'a dyn Fn(&[Point], i64, i64) -> Option<f64>;
pub(crate) type Vector = Vec<(Labels, f64)>;

/// Every series of the run: labels (with `__name__`) -> samples in time order.
pub(crate) struct Store {
    series: Vec<(Labels, Vec<Point>)>,
}

impl Store {
    pub fn new(families: &[MetricFamily]) -> Store {
        let mut map: BTreeMap<Labels, Vec<Point>> = BTreeMap::new();
        for family in families {
            for s in &family.samples {
                let mut labels: Labels = s.labels.iter().cloned().collect();
                labels.insert("__name__".into(), format!("{}{}", family.name, s.suffix));
                let t_ms = (s.timestamp_ns / NS_PER_MS) as i64;
                map.entry(labels).or_default().push((t_ms, s.value));
            }
        }
        let series = map
            .into_iter()
            .map(|(labels, mut points)| {
                points.sort_by_key(|p| p.0);
                // One sample per timestamp, the first (as the TSDB keeps it).
                points.dedup_by_key(|p| p.0);
                (labels, points)
            })
            .collect();
        Store { series }
    }

    /// Every series, sorted by labels.
    pub fn all(&self) -> &[(Labels, Vec<Point>)] {
        &self.series
    }

    fn select<'s>(&'s self, sel: &'s Selector) -> impl Iterator<Item = &'s (Labels, Vec<Point>)> {
        self.series.iter().filter(move |(l, _)| sel.matches(l))
    }

    /// Instant vector selector: per series, the newest sample in [t - 5m, t].
    fn instant(&self, sel: &Selector, t: i64) -> Vector {
        self.select(sel)
            .filter_map(|(labels, points)| {
                let i = points.partition_point(|p| p.0 <= t);
                let (pt, v) = *points.get(i.checked_sub(1)?)?;
                (pt >= t - LOOKBACK_MS).then(|| (labels.clone(), v))
            })
            .collect()
    }

    /// Range vector selector: per series, the samples in [t - range, t] (non-empty only).
    fn range<'s>(
        &'s self,
        sel: &'s Selector,
        range: i64,
        t: i64,
    ) -> Vec<(&'s Labels, &'s [Point])> {
        self.select(sel)
            .filter_map(|(labels, points)| {
                let from = points.partition_point(|p| p.0 < t - range);
                let to = points.partition_point(|p| p.0 <= t);
                (to > from).then(|| (labels, &points[from..to]))
            })
            .collect()
    }
}

enum Value {
    Scalar(f64),
    Vector(Vector),
}

impl CompiledRule {
    /// The expression's instant vector at `t_ns`.
    pub(crate) fn eval(&self, store: &Store, t_ns: u64) -> Result<Vector, String> {
        match eval(&self.node, store, (t_ns / NS_PER_MS) as i64)? {
            Value::Vector(v) => Ok(v),
            Value::Scalar(_) => Err("the expression returned a scalar".into()),
        }
    }
}

fn without_name(labels: &Labels) -> Labels {
    let mut l = labels.clone();
    l.remove("__name__");
    l
}

fn eval(node: &Node, store: &Store, t: i64) -> Result<Value, String> {
    Ok(match node {
        Node::Number(v) => Value::Scalar(*v),
        Node::Vector(sel) => Value::Vector(store.instant(sel, t)),
        Node::Matrix(..) => return Err("a range vector must be a function argument".into()),
        Node::Neg(e) => match eval(e, store, t)? {
            Value::Scalar(v) => Value::Scalar(-v),
            Value::Vector(v) => {
                Value::Vector(v.into_iter().map(|(l, v)| (without_name(&l), -v)).collect())
            }
        },
        Node::Binary {
            op,
            lhs,
            rhs,
            return_bool,
            matching,
        } => {
            let l = eval(lhs, store, t)?;
            let r = eval(rhs, store, t)?;
            binary(*op, l, r, *return_bool, matching.as_ref())?
        }
        Node::Call(func, args) => call(*func, args, store, t)?,
        Node::Aggregate { op, grouping, expr } => match eval(expr, store, t)? {
            Value::Vector(v) => Value::Vector(aggregate(*op, grouping.as_ref(), v)),
            Value::Scalar(_) => return Err("aggregation over a scalar".into()),
        },
    })
}

/// Prometheus' vectorElemBinop: (value, keep). Comparisons keep the left value.
fn elem(op: BinOp, l: f64, r: f64) -> (f64, bool) {
    match op {
        BinOp::Add => (l + r, true),
        BinOp::Sub => (l - r, true),
        BinOp::Mul => (l * r, true),
        BinOp::Div => (l / r, true),
        BinOp::Mod => (l % r, true),
        BinOp::Pow => (libm::pow(l, r), true),
        BinOp::Atan2 => (libm::atan2(l, r), true),
        BinOp::Eq => (l, l == r),
        BinOp::Ne => (l, l != r),
        BinOp::Gt => (l, l > r),
        BinOp::Lt => (l, l < r),
        BinOp::Ge => (l, l >= r),
        BinOp::Le => (l, l <= r),
        BinOp::And | BinOp::Or | BinOp::Unless => (f64::NAN, false),
    }
}

fn binary(
    op: BinOp,
    l: Value,
    r: Value,
    return_bool: bool,
    matching: Option<&Matching>,
) -> Result<Value, String> {
    let drop_name = !op.is_comparison() || return_bool;
    Ok(match (l, r) {
        (Value::Scalar(l), Value::Scalar(r)) => {
            let (v, keep) = elem(op, l, r);
            if op.is_comparison() {
                Value::Scalar(if keep { 1.0 } else { 0.0 })
            } else {
                Value::Scalar(v)
            }
        }
        (Value::Vector(v), Value::Scalar(s)) => {
            Value::Vector(vector_scalar(op, v, s, false, return_bool, drop_name))
        }
        (Value::Scalar(s), Value::Vector(v)) => {
            Value::Vector(vector_scalar(op, v, s, true, return_bool, drop_name))
        }
        (Value::Vector(l), Value::Vector(r)) => {
            let default = Matching {
                on: false,
                labels: Vec::new(),
            };
            let m = matching.unwrap_or(&default);
            if op.is_set() {
                Value::Vector(set_op(op, l, r, m))
            } else {
                Value::Vector(vector_vector(op, l, r, m, return_bool, drop_name)?)
            }
        }
    })
}

fn vector_scalar(
    op: BinOp,
    v: Vector,
    s: f64,
    swap: bool,
    return_bool: bool,
    drop_name: bool,
) -> Vector {
    v.into_iter()
        .filter_map(|(labels, x)| {
            let (l, r) = if swap { (s, x) } else { (x, s) };
            let (mut value, mut keep) = elem(op, l, r);
            if op.is_comparison() && swap {
                value = x; // the vector's value, even on the right
            }
            if return_bool {
                value = if keep { 1.0 } else { 0.0 };
                keep = true;
            }
            keep.then(|| {
                let labels = if drop_name {
                    without_name(&labels)
                } else {
                    labels
                };
                (labels, value)
            })
        })
        .collect()
}

/// The labels two samples are matched on.
fn signature(labels: &Labels, m: &Matching) -> Labels {
    if m.on {
        labels
            .iter()
            .filter(|(k, _)| m.labels.contains(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    } else {
        labels
            .iter()
            .filter(|(k, _)| *k != "__name__" && !m.labels.contains(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

fn set_op(op: BinOp, l: Vector, r: Vector, m: &Matching) -> Vector {
    let right: BTreeMap<Labels, ()> = r.iter().map(|(l, _)| (signature(l, m), ())).collect();
    match op {
        BinOp::And => l
            .into_iter()
            .filter(|(labels, _)| right.contains_key(&signature(labels, m)))
            .collect(),
        BinOp::Unless => l
            .into_iter()
            .filter(|(labels, _)| !right.contains_key(&signature(labels, m)))
            .collect(),
        _ => {
            let left: BTreeMap<Labels, ()> = l.iter().map(|(l, _)| (signature(l, m), ())).collect();
            let mut out = l;
            out.extend(
                r.into_iter()
                    .filter(|(labels, _)| !left.contains_key(&signature(labels, m))),
            );
            out
        }
    }
}

fn vector_vector(
    op: BinOp,
    l: Vector,
    r: Vector,
    m: &Matching,
    return_bool: bool,
    drop_name: bool,
) -> Result<Vector, String> {
    let mut right: BTreeMap<Labels, f64> = BTreeMap::new();
    for (labels, v) in &r {
        if right.insert(signature(labels, m), *v).is_some() {
            return Err(format!(
                "found duplicate series for the match group {:?} on the right hand-side of the \
                 operation: many-to-many matching not allowed",
                signature(labels, m)
            ));
        }
    }
    let mut matched: BTreeMap<Labels, ()> = BTreeMap::new();
    let mut out = Vec::new();
    for (labels, x) in l {
        let sig = signature(&labels, m);
        let Some(&y) = right.get(&sig) else {
            continue;
        };
        let (mut value, keep) = elem(op, x, y);
        if return_bool {
            value = if keep { 1.0 } else { 0.0 };
        } else if !keep {
            continue;
        }
        if matched.insert(sig, ()).is_some() {
            return Err(
                "multiple matches for labels: many-to-one matching must be explicit \
                        (group_left/group_right)"
                    .into(),
            );
        }
        let mut result = labels;
        if drop_name {
            result.remove("__name__");
        }
        if m.on {
            result.retain(|k, _| m.labels.contains(k));
        } else {
            result.retain(|k, _| !m.labels.contains(k));
        }
        out.push((result, value));
    }
    Ok(out)
}

fn aggregate(op: AggOp, grouping: Option<&Matching>, v: Vector) -> Vector {
    // Groups in order of first appearance: (labels, value, count).
    let mut groups: Vec<(Labels, f64, f64)> = Vec::new();
    let mut index: BTreeMap<Labels, usize> = BTreeMap::new();
    for (labels, x) in v {
        let key: Labels = match grouping {
            None => Labels::new(),
            Some(g) if g.on => labels
                .into_iter()
                .filter(|(k, _)| g.labels.contains(k))
                .collect(),
            Some(g) => labels
                .into_iter()
                .filter(|(k, _)| k != "__name__" && !g.labels.contains(k))
                .collect(),
        };
        match index.get(&key) {
            None => {
                index.insert(key.clone(), groups.len());
                let first = if op == AggOp::Count { 1.0 } else { x };
                groups.push((key, first, 1.0));
            }
            Some(&i) => {
                let g = &mut groups[i];
                g.2 += 1.0;
                match op {
                    AggOp::Sum => g.1 += x,
                    AggOp::Count => g.1 += 1.0,
                    AggOp::Avg => g.1 += x / g.2 - g.1 / g.2,
                    AggOp::Max => {
                        if g.1 < x || g.1.is_nan() {
                            g.1 = x
                        }
                    }
                    AggOp::Min => {
                        if g.1 > x || g.1.is_nan() {
                            g.1 = x
                        }
                    }
                }
            }
        }
    }
    groups.into_iter().map(|(l, v, _)| (l, v)).collect()
}

fn scalar_arg(args: &[Node], i: usize, store: &Store, t: i64) -> Result<f64, String> {
    match args.get(i).map(|a| eval(a, store, t)).transpose()? {
        Some(Value::Scalar(v)) => Ok(v),
        _ => Err(format!("argument {} must be a scalar", i + 1)),
    }
}

fn vector_arg(args: &[Node], i: usize, store: &Store, t: i64) -> Result<Vector, String> {
    match args.get(i).map(|a| eval(a, store, t)).transpose()? {
        Some(Value::Vector(v)) => Ok(v),
        _ => Err(format!("argument {} must be an instant vector", i + 1)),
    }
}

fn call(func: Func, args: &[Node], store: &Store, t: i64) -> Result<Value, String> {
    let range_fn = |f: RangeFn<'_>, keep_name: bool| {
        let Some(Node::Matrix(sel, range)) = args.first() else {
            return Err("expected a range vector argument".to_string());
        };
        Ok(Value::Vector(
            store
                .range(sel, *range, t)
                .into_iter()
                .filter_map(|(labels, points)| {
                    let v = f(points, t - range, t)?;
                    let labels = if keep_name {
                        labels.clone()
                    } else {
                        without_name(labels)
                    };
                    Some((labels, v))
                })
                .collect(),
        ))
    };
    let range_ms = match args.first() {
        Some(Node::Matrix(_, r)) => *r,
        _ => 0,
    };
    match func {
        Func::Rate => range_fn(
            &|p, s, e| extrapolated_rate(p, s, e, true, Some(range_ms)),
            false,
        ),
        Func::Increase => range_fn(&|p, s, e| extrapolated_rate(p, s, e, true, None), false),
        Func::Delta => range_fn(&|p, s, e| extrapolated_rate(p, s, e, false, None), false),
        Func::Irate => range_fn(&|p, _, _| irate(p), false),
        Func::Changes => range_fn(
            &|p, _, _| {
                let n = p
                    .windows(2)
                    .filter(|w| w[1].1 != w[0].1 && !(w[1].1.is_nan() && w[0].1.is_nan()))
                    .count();
                Some(n as f64)
            },
            false,
        ),
        Func::Resets => range_fn(
            &|p, _, _| Some(p.windows(2).filter(|w| w[1].1 < w[0].1).count() as f64),
            false,
        ),
        Func::AvgOverTime => range_fn(
            &|p, _, _| {
                let mut mean = 0.0;
                for (i, (_, v)) in p.iter().enumerate() {
                    let n = (i + 1) as f64;
                    mean += v / n - mean / n;
                }
                Some(mean)
            },
            false,
        ),
        Func::MinOverTime => {
            range_fn(
                &|p, _, _| {
                    Some(p.iter().map(|x| x.1).fold(f64::NAN, |m, v| {
                        if m.is_nan() || v < m {
                            v
                        } else {
                            m
                        }
                    }))
                },
                false,
            )
        }
        Func::MaxOverTime => {
            range_fn(
                &|p, _, _| {
                    Some(p.iter().map(|x| x.1).fold(f64::NAN, |m, v| {
                        if m.is_nan() || v > m {
                            v
                        } else {
                            m
                        }
                    }))
                },
                false,
            )
        }
        Func::SumOverTime => range_fn(&|p, _, _| Some(p.iter().map(|x| x.1).sum()), false),
        Func::CountOverTime => range_fn(&|p, _, _| Some(p.len() as f64), false),
        Func::LastOverTime => range_fn(&|p, _, _| p.last().map(|x| x.1), true),
        Func::HistogramQuantile => {
            let q = scalar_arg(args, 0, store, t)?;
            let v = vector_arg(args, 1, store, t)?;
            Ok(Value::Vector(histogram_quantile(q, v)))
        }
        Func::Abs => {
            let v = vector_arg(args, 0, store, t)?;
            Ok(Value::Vector(
                v.into_iter()
                    .map(|(l, x)| (without_name(&l), x.abs()))
                    .collect(),
            ))
        }
        Func::ClampMin | Func::ClampMax => {
            let v = vector_arg(args, 0, store, t)?;
            let bound = scalar_arg(args, 1, store, t)?;
            let clamp = |x: f64| {
                if func == Func::ClampMin {
                    x.max(bound)
                } else {
                    x.min(bound)
                }
            };
            Ok(Value::Vector(
                v.into_iter()
                    .map(|(l, x)| (without_name(&l), clamp(x)))
                    .collect(),
            ))
        }
        Func::Absent => {
            let Some(Node::Vector(sel)) = args.first() else {
                return Err("absent() needs a selector".into());
            };
            if !store.instant(sel, t).is_empty() {
                return Ok(Value::Vector(Vec::new()));
            }
            let labels: Labels = sel
                .matchers
                .iter()
                .filter(|m| m.name != "__name__" && m.op == promql_parser::label::MatchOp::Equal)
                .map(|m| (m.name.clone(), m.value.clone()))
                .collect();
            Ok(Value::Vector(vec![(labels, 1.0)]))
        }
        Func::Time => Ok(Value::Scalar(t as f64 / 1000.0)),
        Func::Vector => Ok(Value::Vector(vec![(
            Labels::new(),
            scalar_arg(args, 0, store, t)?,
        )])),
        Func::Scalar => {
            let v = vector_arg(args, 0, store, t)?;
            Ok(Value::Scalar(if v.len() == 1 { v[0].1 } else { f64::NAN }))
        }
    }
}

/// Prometheus' extrapolatedRate (promql/functions.go, 2.42) for float samples in
/// [range_start, range_end] (ms). `rate_range_ms`: Some(range) for `rate` (per second).
pub(crate) fn extrapolated_rate(
    points: &[Point],
    range_start: i64,
    range_end: i64,
    is_counter: bool,
    rate_range_ms: Option<i64>,
) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let (first, last) = (points[0], points[points.len() - 1]);
    let mut result = last.1 - first.1;
    if is_counter {
        let mut prev = first.1;
        for p in &points[1..] {
            if p.1 < prev {
                result += prev; // counter reset
            }
            prev = p.1;
        }
    }
    let mut duration_to_start = (first.0 - range_start) as f64 / 1000.0;
    let duration_to_end = (range_end - last.0) as f64 / 1000.0;
    let sampled_interval = (last.0 - first.0) as f64 / 1000.0;
    let average_between = sampled_interval / (points.len() - 1) as f64;
    if is_counter && result > 0.0 && first.1 >= 0.0 {
        // Do not extrapolate below zero: the counter started at most this long ago.
        let duration_to_zero = sampled_interval * (first.1 / result);
        if duration_to_zero < duration_to_start {
            duration_to_start = duration_to_zero;
        }
    }
    let threshold = average_between * 1.1;
    let mut extrapolate_to = sampled_interval;
    extrapolate_to += if duration_to_start < threshold {
        duration_to_start
    } else {
        average_between / 2.0
    };
    extrapolate_to += if duration_to_end < threshold {
        duration_to_end
    } else {
        average_between / 2.0
    };
    let mut factor = extrapolate_to / sampled_interval;
    if let Some(range_ms) = rate_range_ms {
        factor /= range_ms as f64 / 1000.0;
    }
    Some(result * factor)
}

/// Prometheus' instantValue for `irate`.
fn irate(points: &[Point]) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let (prev, last) = (points[points.len() - 2], points[points.len() - 1]);
    let result = if last.1 < prev.1 {
        last.1
    } else {
        last.1 - prev.1
    };
    let interval = last.0 - prev.0;
    if interval == 0 {
        return None;
    }
    Some(result / (interval as f64 / 1000.0))
}

/// `histogram_quantile` over classic buckets: series grouped by all labels but `le` (and the
/// metric name), each group's quantile by Prometheus' bucketQuantile.
fn histogram_quantile(q: f64, v: Vector) -> Vector {
    let mut groups: BTreeMap<Labels, Vec<(f64, f64)>> = BTreeMap::new();
    for (mut labels, count) in v {
        let Some(le) = labels.remove("le") else {
            continue;
        };
        let Ok(upper) = le.trim().parse::<f64>() else {
            continue;
        };
        labels.remove("__name__");
        groups.entry(labels).or_default().push((upper, count));
    }
    groups
        .into_iter()
        .map(|(labels, buckets)| (labels, bucket_quantile(q, buckets)))
        .collect()
}

/// Prometheus' bucketQuantile (promql/quantile.go, 2.42): buckets are (upper bound, cumulative
/// count); linear interpolation inside the bucket holding the rank; the lowest bucket starts at
/// 0 (unless its bound is <= 0); a rank in the +Inf bucket gives the highest finite bound.
pub(crate) fn bucket_quantile(q: f64, mut buckets: Vec<(f64, f64)>) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    match buckets.last() {
        Some(&(upper, _)) if upper == f64::INFINITY => {}
        _ => return f64::NAN,
    }
    // Coalesce buckets with the same bound.
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(buckets.len());
    for (upper, count) in buckets {
        match merged.last_mut() {
            Some(last) if last.0 == upper => last.1 += count,
            _ => merged.push((upper, count)),
        }
    }
    // Ensure monotonic counts.
    let mut max = f64::NEG_INFINITY;
    for b in &mut merged {
        if b.1 > max {
            max = b.1;
        } else if b.1 < max {
            b.1 = max;
        }
    }
    if merged.len() < 2 {
        return f64::NAN;
    }
    let observations = merged[merged.len() - 1].1;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    let n = merged.len() - 1;
    let b = merged[..n].partition_point(|b| b.1 < rank);
    if b == n {
        return merged[n - 1].0;
    }
    if b == 0 && merged[0].0 <= 0.0 {
        return merged[0].0;
    }
    let mut start = 0.0;
    let end = merged[b].0;
    let mut count = merged[b].1;
    if b > 0 {
        start = merged[b - 1].0;
        count -= merged[b - 1].1;
        rank -= merged[b - 1].1;
    }
    start + (end - start) * (rank / count)
}
