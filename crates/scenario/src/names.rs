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

/// The index of member `name` in a cluster of `size`, or a message saying which names exist.
pub fn member_index(name: &str, size: usize) -> Result<usize, String> {
    match parse_member_name(name) {
        Some(i) if i < size => Ok(i),
        Some(_) => Err(format!("{name:?} is not a member: {}", members_are(size))),
        None => Err(format!(
            "{name:?} is not a member name: {}",
            members_are(size)
        )),
    }
}

/// "leader", "follower" or a member name of a cluster of `size`.
pub fn parse_member_ref(name: &str, size: usize) -> Result<MemberRef, String> {
    match name {
        "leader" => Ok(MemberRef::Leader),
        "follower" => Ok(MemberRef::Follower),
        _ => match parse_member_name(name) {
            Some(i) if i < size => Ok(MemberRef::Member(i)),
            _ => Err(format!(
                "{name:?} is not \"leader\", \"follower\" or a member: {}",
                members_are(size)
            )),
        },
    }
}

/// A list of member names (`["m1", "m2"]`, or one name `"m1"`) as distinct 0-based indexes.
pub(crate) fn read_members(field: &Field<'_>, size: usize) -> R<Vec<usize>> {
    if let Ok(name) = field.str() {
        return Ok(vec![member_index(name, size).map_err(|e| field.fail(e))?]);
    }
    let names = field.each(|f| {
        let name = f.str()?;
        member_index(name, size).map_err(|e| f.fail(e))
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
pub(crate) fn read_member_ref(field: &Field<'_>, size: usize) -> R<MemberRef> {
    parse_member_ref(field.str()?, size).map_err(|e| field.fail(e))
}

fn members_are(size: usize) -> String {
    match size {
        1 => "the cluster has 1 member, m1".into(),
        _ => format!(
            "the cluster has {size} members, m1..{}",
            member_name(size - 1)
        ),
    }
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
    fn refs() {
        assert_eq!(parse_member_ref("leader", 3), Ok(MemberRef::Leader));
        assert_eq!(parse_member_ref("follower", 3), Ok(MemberRef::Follower));
        assert_eq!(parse_member_ref("m2", 3), Ok(MemberRef::Member(1)));
        assert!(parse_member_ref("m4", 3).is_err());
    }
}
