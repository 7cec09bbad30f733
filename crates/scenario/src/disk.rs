//! `[disk]` and `[disk.members.mN]`: one disk per member, from a profile plus overrides.

use crate::dist::read_dist;
use crate::error::R;
use crate::names::Members;
use crate::read::{Field, Table};
use crate::{ArraySpec, Disk, Dist, NeighbourSpec};

const NUMBERS: &[&str] = &[
    "fsync_latency_ms",
    "write_latency_ms",
    "write_bandwidth_bytes_per_s",
];
const PROFILES: &[&str] = &["ssd", "hdd", "custom"];

/// The built-in disk profiles ("ssd", "hdd"). "custom" has none: every number must be given.
pub fn disk_profile(name: &str) -> Option<Disk> {
    let (fsync_median_ms, write_ms, bandwidth) = match name {
        // Datacenter NVMe/SATA SSD: sub-millisecond fsync.
        "ssd" => (0.5, 0.01, 500e6),
        // Spinning disk: fsync 2-10 ms in normal operation (etcd hardware guide).
        "hdd" => (5.0, 0.05, 150e6),
        _ => return None,
    };
    Some(Disk {
        profile: name.to_string(),
        write_latency_ms: Dist::constant(write_ms),
        fsync_latency_ms: Dist::LogNormal {
            median: fsync_median_ms,
            sigma: 0.5,
        },
        write_bandwidth_bytes_per_s: bandwidth,
        array: None,
    })
}

/// One disk per member slot (the cluster's members, then those `etcdctl member add` adds):
/// `[disk]` for all, then each `[disk.members.mN]` on top.
pub(crate) fn read_disks(t: Option<Table<'_>>, members: Members) -> R<Vec<Disk>> {
    let ssd = disk_profile("ssd").expect("the ssd profile exists");
    let Some(t) = t else {
        return Ok(vec![ssd; members.slots]);
    };
    let mut keys = vec!["profile", "members", "array"];
    keys.extend_from_slice(NUMBERS);
    t.check_keys(&keys)?;
    let base = read_disk(&t, &ssd)?;
    let mut disks = vec![base.clone(); members.slots];
    if let Some(tables) = t.opt("members", |f| f.table())? {
        tables.each(|name, f| {
            let index = members.index(name).map_err(|e| f.fail(e))?;
            disks[index] = read_member_disk(f, &base)?;
            Ok(())
        })?;
    }
    Ok(disks)
}

fn read_member_disk(f: Field<'_>, base: &Disk) -> R<Disk> {
    let t = f.table()?;
    let mut keys = vec!["profile", "array"];
    keys.extend_from_slice(NUMBERS);
    t.check_keys(&keys)?;
    read_disk(&t, base)
}

/// A table's disk: its `profile` if it names one (else `inherited`), then its own numbers.
fn read_disk(t: &Table<'_>, inherited: &Disk) -> R<Disk> {
    let mut disk = match t.opt("profile", profile)? {
        Some(Some(disk)) => disk,
        Some(None) => return read_custom(t),
        None => inherited.clone(),
    };
    if let Some(d) = t.opt("fsync_latency_ms", read_dist)? {
        disk.fsync_latency_ms = d;
    }
    if let Some(d) = t.opt("write_latency_ms", read_dist)? {
        disk.write_latency_ms = d;
    }
    if let Some(b) = t.opt("write_bandwidth_bytes_per_s", |f| f.positive())? {
        disk.write_bandwidth_bytes_per_s = b;
    }
    if let Some(a) = t.opt("array", read_array)? {
        disk.array = Some(a);
    }
    Ok(disk)
}

const ARRAY_KEYS: &[&str] = &[
    "iops",
    "bandwidth_bytes_per_s",
    "ios_per_fsync",
    "neighbours",
    "shared_by_members",
];

const NEIGHBOUR_KEYS: &[&str] = &[
    "name",
    "count",
    "idle_iops",
    "burst_outstanding_ios",
    "burst_outstanding_sigma",
    "idle_mean_s",
    "burst_mean_s",
];

/// `[disk.array]`: `iops` is required; a volume with no neighbours is a dedicated one.
fn read_array(f: Field<'_>) -> R<ArraySpec> {
    let t = f.table()?;
    t.check_keys(ARRAY_KEYS)?;
    Ok(ArraySpec {
        iops: t.req("iops", |f| f.number_in(1.0, 1e9))?,
        bandwidth_bytes_per_s: t
            .opt("bandwidth_bytes_per_s", |f| f.positive())?
            .unwrap_or(500e6),
        ios_per_fsync: t.opt("ios_per_fsync", |f| f.positive())?.unwrap_or(2.0),
        neighbours: t.opt("neighbours", read_neighbours)?.unwrap_or_default(),
        shared_by_members: t.opt("shared_by_members", |f| f.bool())?.unwrap_or(false),
    })
}

/// `[[disk.array.neighbours]]`, in file order.
fn read_neighbours(f: Field<'_>) -> R<Vec<NeighbourSpec>> {
    if f.array().is_err() {
        return Err(f.expected("an array of tables; write each group as [[disk.array.neighbours]]"));
    }
    f.each(|entry| {
        let t = entry.table()?;
        t.check_keys(NEIGHBOUR_KEYS)?;
        let num = |key: &str| -> R<f64> { Ok(t.opt(key, |f| f.non_negative())?.unwrap_or(0.0)) };
        let mean = |key: &str, default: f64| -> R<f64> {
            Ok(t.opt(key, |f| f.positive())?.unwrap_or(default))
        };
        Ok(NeighbourSpec {
            name: t
                .opt("name", |f| f.str().map(String::from))?
                .unwrap_or_default(),
            count: t.req("count", |f| f.u64_in(0..=1000, "count"))? as u32,
            idle_iops: num("idle_iops")?,
            burst_outstanding_ios: t
                .opt("burst_outstanding_ios", |f| f.number_in(0.0, 1e7))?
                .unwrap_or(0.0),
            burst_outstanding_sigma: t
                .opt("burst_outstanding_sigma", |f| f.number_in(0.0, 5.0))?
                .unwrap_or(0.0),
            idle_mean_s: mean("idle_mean_s", 60.0)?,
            burst_mean_s: mean("burst_mean_s", 10.0)?,
        })
    })
}

/// Some(profile disk), or None for "custom".
fn profile(f: Field<'_>) -> R<Option<Disk>> {
    let name = f.str()?;
    if name == "custom" {
        return Ok(None);
    }
    disk_profile(name).map(Some).ok_or_else(|| {
        f.fail(format!(
            "unknown disk profile {name:?}; use one of: {}",
            PROFILES.join(", ")
        ))
    })
}

fn read_custom(t: &Table<'_>) -> R<Disk> {
    let why = ": profile \"custom\" takes every disk number from the file";
    let need = |key: &str| {
        if t.has(key) {
            Ok(())
        } else {
            Err(t.missing(key, why))
        }
    };
    NUMBERS.iter().try_for_each(|key| need(key))?;
    Ok(Disk {
        profile: "custom".into(),
        write_latency_ms: t.req("write_latency_ms", read_dist)?,
        fsync_latency_ms: t.req("fsync_latency_ms", read_dist)?,
        write_bandwidth_bytes_per_s: t.req("write_bandwidth_bytes_per_s", |f| f.positive())?,
        array: t.opt("array", read_array)?,
    })
}
