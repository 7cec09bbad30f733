//! etcd's member and cluster IDs (etcd 3.4 `membership.NewMember` and `RaftCluster.genID`):
//! SHA-1 of the member's peer URLs and the cluster token, and of the member IDs. The same
//! `--initial-cluster` and token give the same IDs, which is how a member started with another
//! cluster's token or URLs ends up in a cluster of its own.

/// etcd's member ID: SHA-1 over the member's peer URLs (sorted, concatenated) followed by the
/// cluster token; the first 8 bytes, big-endian. Same `--initial-cluster` and token, same ID.
/// URLs are used as written: etcd keeps a parsed `http://host:port` URL's text unchanged.
pub fn member_id(peer_urls: &[String], cluster_token: &str) -> u64 {
    let mut sorted: Vec<&str> = peer_urls.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    let mut h = sha1_smol::Sha1::new();
    for u in sorted {
        h.update(u.as_bytes());
    }
    h.update(cluster_token.as_bytes());
    first_u64(&h.digest().bytes())
}

/// The ID etcd gives a member added at run time (`etcdctl member add`): SHA-1 over its peer
/// URLs (sorted, concatenated), no cluster token, then the serving member's wall clock in
/// Unix seconds as decimal text; the first 8 bytes, big-endian (etcd's `NewMember` with the
/// time of the request). The same URL added at another second gets another ID. Measured on
/// 3.4.23 and 3.5.1 (`scripts/fidelity/member_id.py`).
pub fn added_member_id(peer_urls: &[String], unix_s: u64) -> u64 {
    let mut sorted: Vec<&str> = peer_urls.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    let mut h = sha1_smol::Sha1::new();
    for u in sorted {
        h.update(u.as_bytes());
    }
    h.update(unix_s.to_string().as_bytes());
    first_u64(&h.digest().bytes())
}

/// etcd's cluster ID: SHA-1 over the sorted member IDs, 8 bytes big-endian each; the first 8
/// bytes, big-endian.
pub fn cluster_id(member_ids: &[u64]) -> u64 {
    let mut sorted = member_ids.to_vec();
    sorted.sort_unstable();
    let mut h = sha1_smol::Sha1::new();
    for id in sorted {
        h.update(&id.to_be_bytes());
    }
    first_u64(&h.digest().bytes())
}

/// The members of a new cluster as etcd builds them from `--initial-cluster` (its `URLsMap`):
/// `name=peer-url` pairs, a name may repeat for several URLs. Each member's peer URLs sorted,
/// with its [`member_id`]; sorted by ID (the order etcd lists and logs them in).
pub fn initial_cluster_members(
    initial_cluster: &[(&str, &str)],
    cluster_token: &str,
) -> Vec<(u64, Vec<String>)> {
    // name -> peer URLs, in first-seen order.
    let mut members: Vec<(&str, Vec<String>)> = Vec::new();
    for (n, url) in initial_cluster {
        match members.iter_mut().find(|(m, _)| m == n) {
            Some((_, urls)) => urls.push(url.to_string()),
            None => members.push((n, vec![url.to_string()])),
        }
    }
    let mut ids: Vec<(u64, Vec<String>)> = members
        .into_iter()
        .map(|(_, mut urls)| {
            urls.sort();
            (member_id(&urls, cluster_token), urls)
        })
        .collect();
    ids.sort();
    ids
}

fn first_u64(digest: &[u8; 20]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_match_ground_truth_d() {
        let ids: Vec<u64> = [12380, 22380, 32380]
            .iter()
            .map(|port| member_id(&[format!("http://127.0.0.1:{port}")], "truth-tok"))
            .collect();
        assert_eq!(ids[0], 0xa7148b61e8a34f05);
        assert_eq!(ids[1], 0xa605680a58a573b0);
        assert_eq!(cluster_id(&ids), 8913263970712577456);
        // Order does not matter for either.
        assert_eq!(cluster_id(&[ids[2], ids[0], ids[1]]), 8913263970712577456);
        let two = [
            "http://127.0.0.1:22380".to_string(),
            "http://127.0.0.1:12380".to_string(),
        ];
        let mut rev = two.clone();
        rev.reverse();
        assert_eq!(member_id(&two, "t"), member_id(&rev, "t"));
        assert_ne!(member_id(&two, "t"), member_id(&two, "u"));
    }

    #[test]
    fn an_added_members_id_mixes_in_the_second_of_the_add() {
        // Measured: `member add` of http://127.0.0.1:22680 at Unix second 1796442431 on 3.4.23,
        // and at 1796442447 on 3.5.1 (the ID etcdctl printed; scripts/fidelity/member_id.py).
        let url = ["http://127.0.0.1:22680".to_string()];
        assert_eq!(added_member_id(&url, 1796442431), 0xf352b2454ee8b9b3);
        assert_eq!(added_member_id(&url, 1796442447), 0xd972ef94c1309f04);
    }

    #[test]
    fn initial_cluster_members_in_id_order() {
        let ic = [
            ("m1", "http://127.0.0.1:12380"),
            ("m2", "http://127.0.0.1:22380"),
            ("m3", "http://127.0.0.1:32380"),
        ];
        let members = initial_cluster_members(&ic, "truth-tok");
        let ids: Vec<u64> = members.iter().map(|(id, _)| *id).collect();
        assert_eq!(
            ids,
            [0xa605680a58a573b0, 0xa661bd187cb072c4, 0xa7148b61e8a34f05]
        );
        assert_eq!(members[0].1, ["http://127.0.0.1:22380"]);
        assert_eq!(cluster_id(&ids), 0x7bb2465b5b9c65b0);
        // A name given twice is one member with both URLs, sorted.
        let two = initial_cluster_members(
            &[
                ("m1", "http://127.0.0.1:22380"),
                ("m1", "http://127.0.0.1:12380"),
            ],
            "t",
        );
        assert_eq!(
            two,
            [(
                member_id(
                    &[
                        "http://127.0.0.1:12380".to_string(),
                        "http://127.0.0.1:22380".to_string()
                    ],
                    "t"
                ),
                vec![
                    "http://127.0.0.1:12380".to_string(),
                    "http://127.0.0.1:22380".to_string()
                ]
            )]
        );
    }
}
