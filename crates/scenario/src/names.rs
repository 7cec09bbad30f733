//! Member names: members are m1..mN in files, 0-based indexes in the parsed scenario.

use crate::error::R;
use crate::read::Field;
use crate::MemberRef;

/// The name of member `index` (0-based): `member_name(0)` is "m1".
pub fn member_name(index: usize) -> String {
    format!("m{}", index.saturating_add(1))
}

/// The 0-based index a name like "m3" stands for, whatever the cluster size ("m0", "m01" and
/// anything else not of the form `m<N>` with N >= 1 give None).
pub fn parse_member_name(name: &str) -> Option<usize> {
    let digits = name.strip_prefix('m')?;
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<usize>().ok()?.checked_sub(1)
}

/// The members a scenario's names may refer to: the cluster's `size` members (m1..m<size>),
/// then those `etcdctl member add` adds, up to `slots` in all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Members {
    pub size: usize,
    pub slots: usize,
}

impl Members {
    /// A cluster with no member added.
    pub fn fixed(size: usize) -> Members {
        Members { size, slots: size }
    }

    /// The index of member `name`, or a message saying which names exist.
    pub fn index(self, name: &str) -> Result<usize, String> {
        match parse_member_name(name) {
            Some(i) if i < self.slots => Ok(i),
            Some(_) => Err(format!("{name:?} is not a member: {}", self.describe())),
            None => Err(format!(
                "{name:?} is not a member name: {}",
                self.describe()
            )),
        }
    }

    /// "the cluster has 3 members, m1..m3" (and which members are added).
    pub fn describe(self) -> String {
        let cluster = match self.size {
            1 => "the cluster has 1 member, m1".to_string(),
            n => format!("the cluster has {n} members, m1..{}", member_name(n - 1)),
        };
        match self.slots.saturating_sub(self.size) {
            0 => cluster,
            1 => format!(
                "{cluster}, and `etcdctl member add` adds {}",
                member_name(self.size)
            ),
            _ => format!(
                "{cluster}, and `etcdctl member add` adds {}..{}",
                member_name(self.size),
                member_name(self.slots - 1)
            ),
        }
    }
}

/// The index of member `name` in a cluster of `size`, or a message saying which names exist.
pub fn member_index(name: &str, size: usize) -> Result<usize, String> {
    Members::fixed(size).index(name)
}

/// "leader", "follower" or a member name of a cluster of `size`.
pub fn parse_member_ref(name: &str, size: usize) -> Result<MemberRef, String> {
    member_ref(name, Members::fixed(size))
}

fn member_ref(name: &str, members: Members) -> Result<MemberRef, String> {
    match name {
        "leader" => Ok(MemberRef::Leader),
        "follower" => Ok(MemberRef::Follower),
        _ => match parse_member_name(name) {
            Some(i) if i < members.slots => Ok(MemberRef::Member(i)),
            _ => Err(format!(
                "{name:?} is not \"leader\", \"follower\" or a member: {}",
                members.describe()
            )),
        },
    }
}

/// The peer URL of member `member` (0-based): `peer_url(0)` is "http://127.0.0.1:12380", as
/// in etcd's local multi-member setups (m<N> listens for peers on port <N>2380).
pub fn peer_url(member: usize) -> String {
    format!("http://127.0.0.1:{}2380", member.saturating_add(1))
}

/// The client URL of member `member` (0-based): `client_url(0)` is "http://127.0.0.1:12379".
pub fn client_url(member: usize) -> String {
    format!("http://{}", client_endpoint(member))
}

/// The client endpoint of member `member` (0-based) as etcdctl's `--endpoints` takes it:
/// `client_endpoint(0)` is "127.0.0.1:12379".
pub fn client_endpoint(member: usize) -> String {
    format!("127.0.0.1:{}2379", member.saturating_add(1))
}

/// A list of member names (`["m1", "m2"]`, or one name `"m1"`) as distinct 0-based indexes.
pub(crate) fn read_members(field: &Field<'_>, members: Members) -> R<Vec<usize>> {
    if let Ok(name) = field.str() {
        return Ok(vec![members.index(name).map_err(|e| field.fail(e))?]);
    }
    let names = field.each(|f| {
        let name = f.str()?;
        members.index(name).map_err(|e| f.fail(e))
    })?;
    if names.is_empty() {
        return Err(field.fail("empty member list; name at least one member, e.g. [\"m1\"]"));
    }
    if let Some(dup) = names
        .iter()
        .enumerate()
        .find(|(i, m)| names[..*i].contains(m))
    {
        return Err(field.fail(format!("{} is listed twice", member_name(*dup.1))));
    }
    Ok(names)
}

/// "leader", "follower" or a member name, as a field.
pub(crate) fn read_member_ref(field: &Field<'_>, members: Members) -> R<MemberRef> {
    member_ref(field.str()?, members).map_err(|e| field.fail(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_indexes() {
        assert_eq!(member_name(0), "m1");
        assert_eq!(member_name(6), "m7");
        assert_eq!(parse_member_name("m1"), Some(0));
        assert_eq!(parse_member_name("m12"), Some(11));
        for bad in ["m0", "m01", "m", "x1", "M1", "m-1", "m1a", ""] {
            assert_eq!(parse_member_name(bad), None, "{bad}");
        }
        assert_eq!(parse_member_name("m99999999999999999999999"), None);
    }

    #[test]
    fn index_is_checked_against_size() {
        assert_eq!(member_index("m3", 3), Ok(2));
        let e = member_index("m4", 3).unwrap_err();
        assert!(e.contains("m1..m3"), "{e}");
    }

    #[test]
    fn added_members_are_named_in_messages() {
        let m = Members { size: 3, slots: 5 };
        assert_eq!(m.index("m5"), Ok(4));
        let e = m.index("m6").unwrap_err();
        assert!(
            e.contains("the cluster has 3 members, m1..m3, and `etcdctl member add` adds m4..m5"),
            "{e}"
        );
        let e = Members { size: 1, slots: 2 }.index("x").unwrap_err();
        assert!(
            e.contains("the cluster has 1 member, m1, and `etcdctl member add` adds m2"),
            "{e}"
        );
        assert_eq!(member_ref("m5", m), Ok(MemberRef::Member(4)));
    }

    #[test]
    fn urls() {
        assert_eq!(peer_url(0), "http://127.0.0.1:12380");
        assert_eq!(peer_url(2), "http://127.0.0.1:32380");
        assert_eq!(client_url(1), "http://127.0.0.1:22379");
        assert_eq!(client_endpoint(3), "127.0.0.1:42379");
    }

    #[test]
    fn refs() {
        assert_eq!(parse_member_ref("leader", 3), Ok(MemberRef::Leader));
        assert_eq!(parse_member_ref("follower", 3), Ok(MemberRef::Follower));
        assert_eq!(parse_member_ref("m2", 3), Ok(MemberRef::Member(1)));
        assert!(parse_member_ref("m4", 3).is_err());
    }
}
