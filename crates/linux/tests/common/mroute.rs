//! What the IPv4 and IPv6 mroute socket tests do alike, written once over the family.

use super::{SECOND, Topology, run_in};
use mrproxy_linux::{Error, Mroute, MrouteFamily, Upcall, UpcallKind};
use mrproxy_types::{IfIndex, SourceGroup};
use netlab::{Lab, Receiver, Source, SourceSpec};
use std::fmt::Debug;
use std::time::Duration;
use tokio::time::{Instant, timeout_at};

/// The (index, interface name) pairs of a VIF/MIF table.
pub fn names(vifs: &[netlab::Vif]) -> Vec<(u32, String)> {
    vifs.iter().map(|v| (v.index, v.name.clone())).collect()
}

/// The family's mroute socket of the calling thread's namespace, with a VIF/MIF (threshold 1)
/// for each interface in order. Must run inside a tokio runtime.
pub fn open_with_vifs<A: MrouteFamily>(interfaces: &[IfIndex]) -> Mroute<A> {
    let mut mr = Mroute::<A>::open(None).unwrap();
    for &i in interfaces {
        mr.add_vif(i, 1, 0).unwrap();
    }
    mr
}

/// Reads until `want` matches or `limit` passes.
pub async fn recv_until<A: MrouteFamily>(
    mr: &Mroute<A>,
    limit: Duration,
    want: impl Fn(&A::Received, &[u8]) -> bool,
) -> Option<(A::Received, Vec<u8>)> {
    let deadline = Instant::now() + limit;
    let mut buf = vec![0u8; 9000];
    loop {
        let got = timeout_at(deadline, mr.recv(&mut buf)).await.ok()?.unwrap();
        if want(&got, &buf) {
            return Some((got, buf));
        }
    }
}

/// In a fresh namespace `tag`, opens the family's mroute socket and then a second one on the
/// same table: the second is refused as [`Error::TableInUse`], and `check` gets its error while
/// the first is still open.
pub fn second_open_is_refused<A: MrouteFamily>(tag: &str, check: impl FnOnce(Error) + Send) {
    let lab = Lab::new(tag).unwrap();
    let rtr = lab.ns("rtr").unwrap();
    run_in(&rtr, || async {
        let _first = Mroute::<A>::open(None).unwrap();
        let second = Mroute::<A>::open(None).unwrap_err();
        assert!(
            matches!(second, Error::TableInUse { family } if family == A::FAMILY),
            "{second:?}"
        );
        check(second);
    });
}

/// Traffic from `src` to `sg.group` reaches the router with VIFs on up0 and dn1 but no entry:
/// the socket reads a NOCACHE upcall naming up0 (`upcall` wraps it as the family's
/// `Received`); once the entry copies it to dn1, h1's receiver gets it and the kernel counts
/// it.
pub fn nocache_upcall_then_route<A: MrouteFamily>(
    tag: &str,
    sg: SourceGroup<A>,
    upcall: fn(Upcall<A>) -> A::Received,
    is_upcall: fn(&A::Received) -> bool,
) where
    A::Received: PartialEq + Debug,
{
    let t = Topology::new(tag);
    let (up0, dn1) = (t.ifindex("up0"), t.ifindex("dn1"));
    let group = sg.group.into_ip();
    let receiver = Receiver::join(&t.h1, "e0", group, 5000).unwrap();
    run_in(&t.rtr, || async {
        let mut mr = open_with_vifs::<A>(&[up0, dn1]);
        let _source = Source::start(&t.src, SourceSpec::new("s0", group, 5000).count(300)).unwrap();
        let (got, _) = recv_until(&mr, 5 * SECOND, |r, _| is_upcall(r))
            .await
            .expect("an upcall");
        let expected = Upcall {
            kind: UpcallKind::NoCache,
            iif: Some(up0),
            source: sg.source,
            group: sg.group,
        };
        assert_eq!(got, upcall(expected));

        mr.set_route(sg, up0, &[dn1]).unwrap();
        assert!(
            receiver.wait_for_packets(5, 5 * SECOND),
            "forwarded datagrams reach the receiver"
        );
        assert!(mr.route_packets(sg).unwrap().unwrap() >= 5);
    });
}
