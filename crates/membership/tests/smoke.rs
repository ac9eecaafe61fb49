mod common;
use common::*;
use mrproxy_membership::{Message, Mode, Subscription};

#[test]
fn v2_join_leave_round_trip() {
    let mut lab = Lab::new(mrproxy_membership::PortConfig::rfc_defaults(Mode::V2));
    let out = lab.receive(host(1), Message::ReportV2 { group: group(1) });
    assert_eq!(out.changed, vec![group(1)]);
    assert_eq!(
        lab.port.subscription(&group(1)),
        Some(Subscription::Exclude(Default::default()))
    );
    let out = lab.receive(host(1), Message::Leave { group: group(1) });
    assert_eq!(out.send, vec![v2_specific(group(1))]);
    assert!(out.changed.is_empty());
    let out = lab.advance(secs(1));
    assert_eq!(out.send, vec![v2_specific(group(1))]);
    let out = lab.advance(secs(1));
    assert_eq!(out.changed, vec![group(1)]);
    assert_eq!(lab.port.subscription(&group(1)), None);
    assert!(lab.port.groups().is_empty());
}
