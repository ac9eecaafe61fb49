//! The PPP stand-in: tun devices relayed in-process carry multicast, and can be cut and
//! restored.

use std::net::IpAddr;
use std::time::Duration;

use netlab::{Capture, CaptureFilter, Lab, Netns, Receiver, Source, SourceSpec, TunLink};

const WAIT: Duration = Duration::from_secs(5);
/// UP | POINTOPOINT | RUNNING | NOARP | MULTICAST, as on a PPP link.
const PPP_FLAGS: u32 = 0x10d1;

fn ppp(tag: &str) -> Option<(Lab, Netns, Netns, TunLink)> {
    if !Lab::require_root() {
        return None;
    }
    let lab = Lab::new(tag).expect("lab");
    let isp = lab.ns("isp").unwrap();
    let rtr = lab.ns("rtr").unwrap();
    let link = lab
        .tun_link(
            (&isp, "ppp-isp", "198.51.100.1"),
            (&rtr, "ppp0", "198.51.100.2"),
        )
        .expect("tun link");
    isp.add_route("224.0.0.0/4 dev ppp-isp").unwrap();
    Some((lab, isp, rtr, link))
}

/// Streams 20 datagrams from the ISP side and expects all of them on the router side.
fn assert_multicast_passes(isp: &Netns, rtr: &Netns, group: IpAddr) {
    let rx = Receiver::join(rtr, "ppp0", group, 5002).expect("join over ppp0");
    let source = Source::start(
        isp,
        SourceSpec::new("ppp-isp", group, 5002)
            .interval(Duration::from_millis(2))
            .count(20),
    )
    .expect("source");
    assert!(
        rx.wait_for_packets(20, WAIT),
        "got {} of 20 (source: {:?})",
        rx.count(),
        source.last_error()
    );
    assert!(rx.stats().is_increasing());
}

#[test]
fn tun_link_looks_like_ppp_and_carries_multicast() {
    let Some((_lab, isp, rtr, link)) = ppp("tun") else {
        return;
    };
    assert!(link.is_up());
    assert_eq!(isp.link_flags("ppp-isp").unwrap(), PPP_FLAGS);
    assert_eq!(rtr.link_flags("ppp0").unwrap(), PPP_FLAGS);
    let addr = rtr.ip(&["-4", "addr", "show", "dev", "ppp0"]).unwrap();
    assert!(
        addr.contains("inet 198.51.100.2 peer 198.51.100.1/32"),
        "{addr}"
    );

    // The router's join travels over the link as IGMP, as on a PPP uplink.
    let igmp = Capture::start(&isp, "ppp-isp", CaptureFilter::Igmp).unwrap();
    assert_multicast_passes(&isp, &rtr, "239.2.0.1".parse().unwrap());
    assert!(
        igmp.wait_for(|p| p.message_type() == Some(0x22), WAIT)
            .is_some(),
        "report crossed the link"
    );
}

#[test]
fn cut_removes_the_devices_and_restore_brings_them_back() {
    let Some((_lab, isp, rtr, mut link)) = ppp("tuncut") else {
        return;
    };
    link.cut();
    assert!(!link.is_up());
    assert!(
        !isp.has_interface("ppp-isp") && !rtr.has_interface("ppp0"),
        "devices vanish when PPP goes down"
    );
    link.cut(); // idempotent

    link.restore().expect("restore");
    assert_eq!(rtr.link_flags("ppp0").unwrap(), PPP_FLAGS);
    isp.add_route("224.0.0.0/4 dev ppp-isp").unwrap(); // routes went with the device
    assert_multicast_passes(&isp, &rtr, "239.2.0.2".parse().unwrap());

    link.restore_with(
        "203.0.113.1".parse().unwrap(),
        "203.0.113.2".parse().unwrap(),
    )
    .expect("new addresses");
    let addr = rtr.ip(&["-4", "addr", "show", "dev", "ppp0"]).unwrap();
    assert!(
        addr.contains("inet 203.0.113.2 peer 203.0.113.1/32"),
        "{addr}"
    );
    assert_eq!(link.b().local, "203.0.113.2".parse::<IpAddr>().unwrap());
}

#[test]
fn lab_drop_stops_the_relay() {
    let Some((lab, _isp, _rtr, link)) = ppp("tundrop") else {
        return;
    };
    assert!(link.is_up());
    drop(lab);
    assert!(
        !link.is_up(),
        "the lab stopped the relay before deleting the namespaces"
    );
}
