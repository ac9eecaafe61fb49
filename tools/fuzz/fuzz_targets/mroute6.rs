//! What the IPv6 mroute socket runs on every datagram it reads: the Hop-by-Hop header from the
//! IPV6_HOPOPTS ancillary data (`mrproxy_linux::packet::hop_by_hop_has_router_alert`) and the
//! datagram itself (`mrproxy_linux::packet::decode6`: an `mrt6msg` upcall or an MLD message).
//! The first octet says how many of the following octets are the Hop-by-Hop header; the rest
//! is the datagram. Whatever decodes must re-encode to the same message.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mrproxy_linux::packet::{Datagram6, decode6, hop_by_hop_has_router_alert};
use mrproxy_wire::ipv6::HopByHopRepr;
use mrproxy_wire::mld;

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let (hop_by_hop, datagram) = rest.split_at(usize::from(split).min(rest.len()));
    if hop_by_hop_has_router_alert(hop_by_hop) {
        let header = HopByHopRepr::parse_bytes(hop_by_hop);
        assert!(header.is_ok_and(|h| h.router_alert.is_some()));
    }
    match decode6(datagram) {
        // An upcall is recognised by a zero first octet (no ICMPv6 type is 0).
        Datagram6::Upcall(_) => assert!(datagram.len() >= 40 && datagram[0] == 0),
        Datagram6::Mld(Ok(message)) => {
            let (src, dst) = (mld::ALL_NODES, mld::ALL_ROUTERS);
            let bytes = message.to_bytes(&src, &dst);
            assert_eq!(mld::Repr::parse_bytes(&bytes, &src, &dst), Ok(message));
        }
        Datagram6::Mld(Err(_)) => {}
    }
});
