//! Serviceability: whether a connection can be offered between two endpoints, and why not.
use serde::{Deserialize, Serialize};

/// What serviceability needs to know about an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointFacts {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub provider_key: String,
    pub provider_kind: String,
    pub bandwidths_mbps: Vec<i64>,
    pub capacity_mbps: i64,
    pub used_mbps: i64,
    pub active: bool,
}

/// What serviceability needs to know about an offering.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferingFacts {
    pub key: String,
    pub name: String,
    pub kind: String,
    pub a_kinds: Vec<String>,
    pub b_kinds: Vec<String>,
    pub bandwidths_mbps: Vec<i64>,
    pub terms_months: Vec<u32>,
}

pub fn mbps_label(mbps: i64) -> String {
    if mbps >= 1000 && mbps % 1000 == 0 { format!("{} Gbps", mbps / 1000) } else { format!("{mbps} Mbps") }
}

/// Every reason the connection cannot be offered; empty when it can.
pub fn check(o: &OfferingFacts, a: &EndpointFacts, b: &EndpointFacts, bandwidth: i64, term: u32) -> Vec<String> {
    let mut why = Vec::new();
    if a.id == b.id {
        why.push("The A-end and B-end are the same endpoint.".to_string());
    }
    if !o.terms_months.contains(&term) {
        why.push(format!(
            "{} is sold for terms of {} months.",
            o.name,
            o.terms_months.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
        ));
    }
    if !o.bandwidths_mbps.contains(&bandwidth) {
        why.push(format!("{} is not offered at {}.", o.name, mbps_label(bandwidth)));
    }
    let straight = o.a_kinds.contains(&a.kind) && o.b_kinds.contains(&b.kind);
    let swapped = o.a_kinds.contains(&b.kind) && o.b_kinds.contains(&a.kind);
    if !straight && !swapped {
        why.push(format!(
            "{} joins {} to {}; pick endpoints of those kinds.",
            o.name,
            kinds(&o.a_kinds),
            kinds(&o.b_kinds)
        ));
    }
    if o.kind == "cloud_cloud" && a.provider_key == b.provider_key {
        why.push("A cloud-to-cloud connection joins two different clouds.".to_string());
    }
    for e in [a, b] {
        if !e.active {
            why.push(format!("{} is not accepting new connections.", e.name));
            continue;
        }
        if !e.bandwidths_mbps.contains(&bandwidth) {
            why.push(format!(
                "{} does not support {} (it offers {}).",
                e.name,
                mbps_label(bandwidth),
                e.bandwidths_mbps.iter().map(|m| mbps_label(*m)).collect::<Vec<_>>().join(", ")
            ));
        } else if e.used_mbps + bandwidth > e.capacity_mbps {
            why.push(format!(
                "{} has {} free, not enough for {}.",
                e.name,
                mbps_label((e.capacity_mbps - e.used_mbps).max(0)),
                mbps_label(bandwidth)
            ));
        }
    }
    why
}

fn kinds(k: &[String]) -> String {
    k.iter()
        .map(|s| match s.as_str() {
            "cloud_onramp" => "cloud on-ramps",
            "dc_port" => "data-centre ports",
            "exchange_port" => "exchange ports",
            "partner" => "partner endpoints",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(id: &str, kind: &str, provider: &str, bw: &[i64], cap: i64, used: i64) -> EndpointFacts {
        EndpointFacts {
            id: id.into(),
            name: format!("EP {id}"),
            kind: kind.into(),
            provider_key: provider.into(),
            provider_kind: if kind == "cloud_onramp" { "cloud".into() } else { "datacentre".into() },
            bandwidths_mbps: bw.to_vec(),
            capacity_mbps: cap,
            used_mbps: used,
            active: true,
        }
    }

    fn cloud_dc() -> OfferingFacts {
        OfferingFacts {
            key: "cloud-dc".into(),
            name: "Cloud Connect".into(),
            kind: "cloud_dc".into(),
            a_kinds: vec!["dc_port".into()],
            b_kinds: vec!["cloud_onramp".into()],
            bandwidths_mbps: vec![50, 100, 1000, 10000],
            terms_months: vec![1, 12, 36],
        }
    }

    #[test]
    fn a_good_pair_is_serviceable_either_way_round() {
        let port = ep("p", "dc_port", "equinix", &[100, 1000, 10000], 10000, 2000);
        let aws = ep("a", "cloud_onramp", "aws", &[50, 100, 1000], 100000, 0);
        assert!(check(&cloud_dc(), &port, &aws, 1000, 12).is_empty());
        assert!(check(&cloud_dc(), &aws, &port, 1000, 12).is_empty());
    }

    #[test]
    fn reasons_name_what_is_wrong() {
        let o = cloud_dc();
        let port = ep("p", "dc_port", "equinix", &[100, 1000], 1000, 950);
        let aws = ep("a", "cloud_onramp", "aws", &[50, 100, 1000], 100000, 0);
        let why = check(&o, &port, &aws, 100, 12);
        assert_eq!(why, vec!["EP p has 50 Mbps free, not enough for 100 Mbps.".to_string()]);
        let why = check(&o, &port, &aws, 50, 12);
        assert!(why[0].contains("does not support 50 Mbps"), "{why:?}");
        let why = check(&o, &port, &aws, 100, 24);
        assert!(why[0].contains("terms of 1, 12, 36 months"), "{why:?}");
        let why = check(&o, &port, &aws, 200, 12);
        assert!(why.iter().any(|w| w.contains("not offered at 200 Mbps")), "{why:?}");
        let port2 = ep("q", "dc_port", "equinix", &[100], 1000, 0);
        assert!(check(&o, &port, &port2, 100, 12).iter().any(|w| w.contains("pick endpoints of those kinds")));
        assert!(check(&o, &port, &port, 100, 12).iter().any(|w| w.contains("same endpoint")));
        let mut off = aws.clone();
        off.active = false;
        assert!(check(&o, &port, &off, 100, 12).iter().any(|w| w.contains("not accepting")));
    }

    #[test]
    fn cloud_to_cloud_needs_two_clouds() {
        let o = OfferingFacts {
            key: "cloud-cloud".into(),
            name: "Cloud Router".into(),
            kind: "cloud_cloud".into(),
            a_kinds: vec!["cloud_onramp".into()],
            b_kinds: vec!["cloud_onramp".into()],
            bandwidths_mbps: vec![1000],
            terms_months: vec![12],
        };
        let aws1 = ep("a1", "cloud_onramp", "aws", &[1000], 100000, 0);
        let aws2 = ep("a2", "cloud_onramp", "aws", &[1000], 100000, 0);
        let az = ep("z", "cloud_onramp", "azure", &[1000], 100000, 0);
        assert!(check(&o, &aws1, &az, 1000, 12).is_empty());
        assert!(check(&o, &aws1, &aws2, 1000, 12).iter().any(|w| w.contains("two different clouds")));
    }

    #[test]
    fn bandwidths_read_naturally() {
        assert_eq!(mbps_label(50), "50 Mbps");
        assert_eq!(mbps_label(10000), "10 Gbps");
        assert_eq!(mbps_label(1500), "1500 Mbps");
    }
}
