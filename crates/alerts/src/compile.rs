//! PromQL text -> the expression tree the evaluator runs, rejecting what it does not support.

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::{self, Expr, LabelModifier, VectorMatchCardinality};

use crate::AlertRule;

/// A rule whose expression parsed and uses only the supported subset.
#[derive(Clone, Debug)]
pub struct CompiledRule {
    pub rule: AlertRule,
    pub(crate) node: Node,
}

impl CompiledRule {
    /// Metric names the expression selects (`__name__` equality matchers), sorted, deduplicated.
    /// A selector without one makes this None (it may select any series).
    pub fn metric_names(&self) -> Option<Vec<String>> {
        let mut names = Vec::new();
        if !self.node.metric_names(&mut names) {
            return None;
        }
        names.sort();
        names.dedup();
        Some(names)
    }
}

/// A label selector: every matcher must match (a missing label reads as "").
#[derive(Clone, Debug)]
pub(crate) struct Selector {
    pub matchers: Vec<Matcher>,
}

impl Selector {
    pub fn matches(&self, labels: &crate::Labels) -> bool {
        self.matchers.iter().all(|m| {
            let value = labels.get(&m.name).map(String::as_str).unwrap_or("");
            m.is_match(value)
        })
    }

    fn metric_name(&self) -> Option<&str> {
        self.matchers
            .iter()
            .find(|m| m.name == "__name__" && m.op == MatchOp::Equal)
            .map(|m| m.value.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Atan2,
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    And,
    Or,
    Unless,
}

impl BinOp {
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Gt | BinOp::Lt | BinOp::Ge | BinOp::Le
        )
    }

    pub fn is_set(self) -> bool {
        matches!(self, BinOp::And | BinOp::Or | BinOp::Unless)
    }
}

/// How two vectors' samples are matched: `on(...)` (Include) or `ignoring(...)` (Exclude).
#[derive(Clone, Debug)]
pub(crate) struct Matching {
    pub on: bool,
    pub labels: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Func {
    Rate,
    Increase,
    Delta,
    Irate,
    Changes,
    Resets,
    AvgOverTime,
    MinOverTime,
    MaxOverTime,
    SumOverTime,
    CountOverTime,
    LastOverTime,
    HistogramQuantile,
    Abs,
    Absent,
    ClampMin,
    ClampMax,
    Time,
    Vector,
    Scalar,
}

const FUNCS: &[(&str, Func)] = &[
    ("rate", Func::Rate),
    ("increase", Func::Increase),
    ("delta", Func::Delta),
    ("irate", Func::Irate),
    ("changes", Func::Changes),
    ("resets", Func::Resets),
    ("avg_over_time", Func::AvgOverTime),
    ("min_over_time", Func::MinOverTime),
    ("max_over_time", Func::MaxOverTime),
    ("sum_over_time", Func::SumOverTime),
    ("count_over_time", Func::CountOverTime),
    ("last_over_time", Func::LastOverTime),
    ("histogram_quantile", Func::HistogramQuantile),
    ("abs", Func::Abs),
    ("absent", Func::Absent),
    ("clamp_min", Func::ClampMin),
    ("clamp_max", Func::ClampMax),
    ("time", Func::Time),
    ("vector", Func::Vector),
    ("scalar", Func::Scalar),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AggOp {
    Sum,
    Avg,
    Min,
    Max,
    Count,
}

const AGGS: &[(&str, AggOp)] = &[
    ("sum", AggOp::Sum),
    ("avg", AggOp::Avg),
    ("min", AggOp::Min),
    ("max", AggOp::Max),
    ("count", AggOp::Count),
];

#[derive(Clone, Debug)]
pub(crate) enum Node {
    Number(f64),
    /// Instant vector selector.
    Vector(Selector),
    /// Range vector selector; the range in ms.
    Matrix(Selector, i64),
    Neg(Box<Node>),
    Binary {
        op: BinOp,
        lhs: Box<Node>,
        rhs: Box<Node>,
        return_bool: bool,
        matching: Option<Matching>,
    },
    Call(Func, Vec<Node>),
    Aggregate {
        op: AggOp,
        /// None: aggregate everything into one series.
        grouping: Option<Matching>,
        expr: Box<Node>,
    },
}

impl Node {
    /// Collects the metric names of every selector; false if a selector has none.
    fn metric_names(&self, out: &mut Vec<String>) -> bool {
        match self {
            Node::Number(_) => true,
            Node::Vector(s) | Node::Matrix(s, _) => match s.metric_name() {
                Some(n) => {
                    out.push(n.to_string());
                    true
                }
                None => false,
            },
            Node::Neg(e) | Node::Aggregate { expr: e, .. } => e.metric_names(out),
            Node::Binary { lhs, rhs, .. } => lhs.metric_names(out) & rhs.metric_names(out),
            Node::Call(_, args) => args.iter().fold(true, |ok, a| a.metric_names(out) & ok),
        }
    }
}

pub(crate) fn compile(rule: &AlertRule) -> Result<CompiledRule, String> {
    let expr = parser::parse(&rule.expr).map_err(|e| format!("invalid PromQL: {e}"))?;
    let node = node(&expr)?;
    if matches!(node, Node::Number(_)) || contains_only_numbers(&node) {
        return Err(format!(
            "`{}` is a scalar; an alert expression must return an instant vector",
            rule.expr
        ));
    }
    if let Node::Matrix(..) = node {
        return Err(format!(
            "`{}` is a range vector; an alert expression must return an instant vector",
            rule.expr
        ));
    }
    if rule.name.is_empty() {
        return Err("the alert name is empty".into());
    }
    Ok(CompiledRule {
        rule: rule.clone(),
        node,
    })
}

fn contains_only_numbers(node: &Node) -> bool {
    match node {
        Node::Number(_) => true,
        Node::Neg(e) => contains_only_numbers(e),
        Node::Binary { lhs, rhs, .. } => contains_only_numbers(lhs) && contains_only_numbers(rhs),
        Node::Call(Func::Time, _) => true,
        Node::Call(Func::Scalar, _) => true,
        _ => false,
    }
}

fn unsupported(what: &str, expr: &dyn std::fmt::Display) -> String {
    format!(
        "{what} is not supported by etcdlab's PromQL evaluator (in `{expr}`); see docs/alerts.md"
    )
}

fn node(expr: &Expr) -> Result<Node, String> {
    Ok(match expr {
        Expr::NumberLiteral(n) => Node::Number(n.val),
        Expr::Paren(p) => node(&p.expr)?,
        Expr::Unary(u) => Node::Neg(Box::new(node(&u.expr)?)),
        Expr::VectorSelector(vs) => Node::Vector(selector(vs, expr)?),
        Expr::MatrixSelector(ms) => {
            let range_ms = i64::try_from(ms.range.as_millis()).map_err(|_| "range too long")?;
            Node::Matrix(selector(&ms.vs, expr)?, range_ms)
        }
        Expr::Binary(b) => {
            let op = binop(&b.op.to_string()).ok_or_else(|| unsupported("this operator", expr))?;
            let (return_bool, matching) = match &b.modifier {
                None => (false, None),
                Some(m) => {
                    if m.fill_values.lhs.is_some() || m.fill_values.rhs.is_some() {
                        return Err(unsupported("fill()", expr));
                    }
                    match &m.card {
                        VectorMatchCardinality::OneToOne | VectorMatchCardinality::ManyToMany => {}
                        _ => return Err(unsupported("group_left/group_right", expr)),
                    }
                    let matching = m.matching.as_ref().map(|lm| Matching {
                        on: matches!(lm, LabelModifier::Include(_)),
                        labels: lm.labels().labels.clone(),
                    });
                    (m.return_bool, matching)
                }
            };
            Node::Binary {
                op,
                lhs: Box::new(node(&b.lhs)?),
                rhs: Box::new(node(&b.rhs)?),
                return_bool,
                matching,
            }
        }
        Expr::Call(c) => {
            let func = FUNCS
                .iter()
                .find(|(n, _)| *n == c.func.name)
                .map(|(_, f)| *f)
                .ok_or_else(|| unsupported(&format!("function {}()", c.func.name), expr))?;
            let args = c
                .args
                .args
                .iter()
                .map(|a| node(a))
                .collect::<Result<Vec<_>, _>>()?;
            if func == Func::Absent && !matches!(args.first(), Some(Node::Vector(_))) {
                return Err(unsupported("absent() of anything but a selector", expr));
            }
            Node::Call(func, args)
        }
        Expr::Aggregate(a) => {
            let name = a.op.to_string();
            let op = AGGS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, op)| *op)
                .ok_or_else(|| unsupported(&format!("aggregation {name}"), expr))?;
            if a.param.is_some() {
                return Err(unsupported("an aggregation parameter", expr));
            }
            let grouping = a.modifier.as_ref().map(|lm| Matching {
                on: matches!(lm, LabelModifier::Include(_)),
                labels: lm.labels().labels.clone(),
            });
            Node::Aggregate {
                op,
                grouping,
                expr: Box::new(node(&a.expr)?),
            }
        }
        Expr::Subquery(_) => return Err(unsupported("a subquery", expr)),
        Expr::StringLiteral(_) => return Err(unsupported("a string literal", expr)),
        Expr::Extension(_) => return Err(unsupported("an extension", expr)),
    })
}

fn selector(vs: &parser::VectorSelector, expr: &Expr) -> Result<Selector, String> {
    if vs.offset.is_some() {
        return Err(unsupported("offset", expr));
    }
    if vs.at.is_some() {
        return Err(unsupported("the @ modifier", expr));
    }
    if !vs.matchers.or_matchers.is_empty() {
        return Err(unsupported("`or` inside a selector", expr));
    }
    let mut matchers = vs.matchers.matchers.clone();
    if let Some(name) = &vs.name {
        if !matchers
            .iter()
            .any(|m| m.name == "__name__" && m.op == MatchOp::Equal && &m.value == name)
        {
            matchers.insert(0, Matcher::new(MatchOp::Equal, "__name__", name));
        }
    }
    Ok(Selector { matchers })
}

fn binop(op: &str) -> Option<BinOp> {
    Some(match op {
        "+" => BinOp::Add,
        "-" => BinOp::Sub,
        "*" => BinOp::Mul,
        "/" => BinOp::Div,
        "%" => BinOp::Mod,
        "^" => BinOp::Pow,
        "atan2" => BinOp::Atan2,
        "==" => BinOp::Eq,
        "!=" => BinOp::Ne,
        ">" => BinOp::Gt,
        "<" => BinOp::Lt,
        ">=" => BinOp::Ge,
        "<=" => BinOp::Le,
        "and" => BinOp::And,
        "or" => BinOp::Or,
        "unless" => BinOp::Unless,
        _ => return None,
    })
}
