//! `[network]` and `[[network.links]]`.

use crate::dist::read_dist;
use crate::error::R;
use crate::names::{read_members, Members};
use crate::read::{Field, Table};
use crate::{Dist, LinkOverride, Network};

const KEYS: &[&str] = &[
    "one_way_latency_ms",
    "bandwidth_bytes_per_s",
    "loss",
    "duplicate",
    "client_latency_ms",
    "links",
];
const LINK_KEYS: &[&str] = &[
    "from",
    "to",
    "symmetric",
    "one_way_latency_ms",
    "loss",
    "bandwidth_bytes_per_s",
];

pub(crate) fn read_network(t: Option<Table<'_>>, members: Members) -> R<Network> {
    let mut net = defaults();
    let Some(t) = t else { return Ok(net) };
    t.check_keys(KEYS)?;
    if let Some(d) = t.opt("one_way_latency_ms", read_dist)? {
        net.one_way_latency_ms = d;
    }
    if let Some(b) = t.opt("bandwidth_bytes_per_s", |f| f.positive())? {
        net.bandwidth_bytes_per_s = b;
    }
    net.loss = t.opt("loss", |f| f.probability())?.unwrap_or(0.0);
    net.duplicate = t.opt("duplicate", |f| f.probability())?.unwrap_or(0.0);
    if let Some(d) = t.opt("client_latency_ms", read_dist)? {
        net.client_latency_ms = d;
    }
    net.links = t
        .opt("links", |f| f.each(|link| read_link(link, members)))?
        .unwrap_or_default();
    Ok(net)
}

fn defaults() -> Network {
    Network {
        // Same-datacenter round trips of about half a millisecond.
        one_way_latency_ms: Dist::Normal {
            mean: 0.25,
            stddev: 0.05,
        },
        // 10 Gbit/s.
        bandwidth_bytes_per_s: 1.25e9,
        loss: 0.0,
        duplicate: 0.0,
        client_latency_ms: Dist::constant(0.1),
        links: Vec::new(),
    }
}

fn read_link(f: Field<'_>, members: Members) -> R<LinkOverride> {
    let t = f.table()?;
    t.check_keys(LINK_KEYS)?;
    let (from, to) = read_from_to(&t, members)?;
    let link = LinkOverride {
        from,
        to,
        symmetric: t.opt("symmetric", |f| f.bool())?.unwrap_or(true),
        one_way_latency_ms: t.opt("one_way_latency_ms", read_dist)?,
        loss: t.opt("loss", |f| f.probability())?,
        bandwidth_bytes_per_s: t.opt("bandwidth_bytes_per_s", |f| f.positive())?,
    };
    let changes_something = link.one_way_latency_ms.is_some()
        || link.loss.is_some()
        || link.bandwidth_bytes_per_s.is_some();
    if !changes_something {
        return Err(t.fail(
            "a link override needs at least one of one_way_latency_ms, loss, bandwidth_bytes_per_s",
        ));
    }
    Ok(link)
}

/// `from` and `to` member lists (both required) that share no member: a member has no link to
/// itself.
pub(crate) fn read_from_to(t: &Table<'_>, members: Members) -> R<(Vec<usize>, Vec<usize>)> {
    let from = t.req("from", |f| read_members(&f, members))?;
    let to = t.req("to", |f| {
        let to = read_members(&f, members)?;
        match to.iter().find(|m| from.contains(m)) {
            Some(m) => Err(f.fail(format!(
                "{} is in both from and to; a member has no link to itself",
                crate::member_name(*m)
            ))),
            None => Ok(to),
        }
    })?;
    Ok((from, to))
}
