//! rtnetlink messages (rtnetlink(7), <linux/rtnetlink.h>, <linux/if_link.h>,
//! <linux/if_addr.h>) to [`InterfaceInfo`] states: flags, names and addresses.

use super::message::{Message, attributes, u32_at};
use mrproxy_types::{IfIndex, InterfaceAddress, InterfaceInfo, LinkFlags};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub(super) const RTM_NEWLINK: u16 = 16;
pub(super) const RTM_DELLINK: u16 = 17;
pub(super) const RTM_GETLINK: u16 = 18;
pub(super) const RTM_NEWADDR: u16 = 20;
pub(super) const RTM_DELADDR: u16 = 21;
pub(super) const RTM_GETADDR: u16 = 22;

/// `struct ifinfomsg`: family, pad, type, index, flags, change.
pub(super) const IFINFOMSG_LEN: usize = 16;
/// `struct ifaddrmsg`: family, prefix length, flags, scope, index.
pub(super) const IFADDRMSG_LEN: usize = 8;

const IFLA_IFNAME: u16 = 3;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_FLAGS: u16 = 8;

// <linux/if.h>
const IFF_UP: u32 = 0x1;
const IFF_LOOPBACK: u32 = 0x8;
const IFF_POINTOPOINT: u32 = 0x10;
const IFF_RUNNING: u32 = 0x40;
const IFF_MULTICAST: u32 = 0x1000;

// <linux/if_addr.h>
const IFA_F_SECONDARY: u32 = 0x01;
const IFA_F_DADFAILED: u32 = 0x08;
const IFA_F_TENTATIVE: u32 = 0x40;

/// `struct ifinfomsg` asking for the link `ifindex` (0: all of them, with NLM_F_DUMP).
pub(super) fn link_request(ifindex: u32) -> [u8; IFINFOMSG_LEN] {
    let mut body = [0; IFINFOMSG_LEN];
    body[4..8].copy_from_slice(&ifindex.to_ne_bytes());
    body
}

/// What one notification means to the monitor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Notification {
    /// Re-read this interface.
    Concerns(IfIndex),
    /// Nothing the monitor acts on.
    Other,
}

pub(super) fn classify(msg: &Message<'_>) -> Notification {
    let index = match msg.kind {
        RTM_NEWLINK | RTM_DELLINK if msg.payload.len() >= IFINFOMSG_LEN => u32_at(msg.payload, 4),
        RTM_NEWADDR | RTM_DELADDR if msg.payload.len() >= IFADDRMSG_LEN => u32_at(msg.payload, 4),
        _ => return Notification::Other,
    };
    Notification::Concerns(IfIndex(index))
}

/// The state of the link an RTM_NEWLINK payload describes, without addresses; `None` when the
/// payload is shorter than its fixed header.
pub(super) fn link_from(payload: &[u8]) -> Option<InterfaceInfo> {
    let header = payload.get(..IFINFOMSG_LEN)?;
    let f = u32_at(header, 8);
    let name = attributes(&payload[IFINFOMSG_LEN..])
        .find(|&(kind, _)| kind == IFLA_IFNAME)
        .map(|(_, value)| {
            let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
            String::from_utf8_lossy(&value[..end]).into_owned()
        })
        .unwrap_or_default();
    Some(InterfaceInfo {
        ifindex: IfIndex(u32_at(header, 4)),
        name,
        flags: LinkFlags {
            up: f & IFF_UP != 0,
            running: f & IFF_RUNNING != 0,
            multicast: f & IFF_MULTICAST != 0,
            loopback: f & IFF_LOOPBACK != 0,
            point_to_point: f & IFF_POINTOPOINT != 0,
        },
        ipv4: Vec::new(),
        ipv6: Vec::new(),
    })
}

/// One address as netlink describes it, before it is attached to its link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct NetlinkAddress {
    pub(super) ifindex: IfIndex,
    address: IpAddr,
    prefix_len: u8,
    peer: Option<IpAddr>,
    secondary: bool,
    /// IPv6 DAD not finished or failed: the kernel will not send from it.
    unusable: bool,
}

/// An address attribute of the message's family: 4 octets for AF_INET, 16 for AF_INET6.
fn ip(family: u8, value: &[u8]) -> Option<IpAddr> {
    match family {
        f if i32::from(f) == libc::AF_INET => <[u8; 4]>::try_from(value)
            .ok()
            .map(|a| Ipv4Addr::from(a).into()),
        f if i32::from(f) == libc::AF_INET6 => <[u8; 16]>::try_from(value)
            .ok()
            .map(|a| Ipv6Addr::from(a).into()),
        _ => None,
    }
}

/// An RTM_NEWADDR payload. Local address: IFA_LOCAL when present, else IFA_ADDRESS. Peer:
/// IFA_ADDRESS when it differs from IFA_LOCAL (point-to-point links). `None` for other
/// families, a short header, or no address.
pub(super) fn parse_address(payload: &[u8]) -> Option<NetlinkAddress> {
    let header = payload.get(..IFADDRMSG_LEN)?;
    let family = header[0];
    let mut local = None;
    let mut address = None;
    let mut flags = u32::from(header[2]);
    for (kind, value) in attributes(&payload[IFADDRMSG_LEN..]) {
        match kind {
            IFA_LOCAL => local = ip(family, value).or(local),
            IFA_ADDRESS => address = ip(family, value).or(address),
            // IFA_FLAGS carries all 32 bits; the header only the low 8.
            IFA_FLAGS => {
                if let Ok(f) = <[u8; 4]>::try_from(value) {
                    flags = u32::from_ne_bytes(f);
                }
            }
            _ => {}
        }
    }
    let own = local.or(address)?;
    Some(NetlinkAddress {
        ifindex: IfIndex(u32_at(header, 4)),
        address: own,
        prefix_len: header[1],
        peer: address.filter(|a| local.is_some() && *a != own && a.is_ipv4() == own.is_ipv4()),
        secondary: flags & IFA_F_SECONDARY != 0,
        unusable: flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED) != 0,
    })
}

/// Attaches `addresses` (in kernel order) to their links: IPv4 primaries before secondaries,
/// unusable IPv6 addresses left out.
pub(super) fn attach_addresses(links: &mut [InterfaceInfo], addresses: &[NetlinkAddress]) {
    for secondary_pass in [false, true] {
        for a in addresses
            .iter()
            .filter(|a| a.secondary == secondary_pass && !a.unusable)
        {
            let Some(link) = links.iter_mut().find(|l| l.ifindex == a.ifindex) else {
                continue;
            };
            match (a.address, a.peer) {
                (IpAddr::V4(address), peer) => link.ipv4.push(InterfaceAddress {
                    address,
                    prefix_len: a.prefix_len,
                    peer: match peer {
                        Some(IpAddr::V4(p)) => Some(p),
                        _ => None,
                    },
                }),
                (IpAddr::V6(address), peer) => link.ipv6.push(InterfaceAddress {
                    address,
                    prefix_len: a.prefix_len,
                    peer: match peer {
                        Some(IpAddr::V6(p)) => Some(p),
                        _ => None,
                    },
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::message::messages;
    use super::super::message::tests::{attribute, message};
    use super::*;

    fn ifinfomsg(ifindex: u32, flags: u32) -> Vec<u8> {
        let mut h = link_request(ifindex).to_vec();
        h[8..12].copy_from_slice(&flags.to_ne_bytes());
        h
    }

    fn ifaddrmsg(family: i32, prefix_len: u8, flags: u8, ifindex: u32) -> Vec<u8> {
        let mut h = vec![u8::try_from(family).unwrap(), prefix_len, flags, 0];
        h.extend_from_slice(&ifindex.to_ne_bytes());
        h
    }

    #[test]
    fn a_link_gives_its_index_name_and_flags() {
        let flags = IFF_UP | IFF_RUNNING | IFF_MULTICAST | IFF_POINTOPOINT;
        let mut payload = ifinfomsg(7, flags);
        payload.extend(attribute(4, &1500u32.to_ne_bytes())); // IFLA_MTU, ignored
        payload.extend(attribute(IFLA_IFNAME, b"ppp0\0"));
        let link = link_from(&payload).unwrap();
        assert_eq!(link.ifindex, IfIndex(7));
        assert_eq!(link.name, "ppp0");
        assert_eq!(
            link.flags,
            LinkFlags {
                up: true,
                running: true,
                multicast: true,
                loopback: false,
                point_to_point: true
            }
        );
        assert!(link.ipv4.is_empty() && link.ipv6.is_empty());

        let lo = link_from(&ifinfomsg(1, IFF_UP | IFF_LOOPBACK)).unwrap();
        assert!(lo.flags.loopback && lo.flags.up && !lo.flags.running);
        assert_eq!(lo.name, "");
        assert_eq!(link_from(&payload[..IFINFOMSG_LEN - 1]), None);
    }

    #[test]
    fn a_point_to_point_address_has_its_peer() {
        let mut p = ifaddrmsg(libc::AF_INET, 32, 0, 5);
        p.extend(attribute(IFA_ADDRESS, &[198, 51, 100, 1]));
        p.extend(attribute(IFA_LOCAL, &[198, 51, 100, 2]));
        let a = parse_address(&p).unwrap();
        assert_eq!(a.ifindex, IfIndex(5));
        assert_eq!(a.address, IpAddr::from([198, 51, 100, 2]));
        assert_eq!(a.peer, Some(IpAddr::from([198, 51, 100, 1])));
        assert_eq!(a.prefix_len, 32);
        assert!(!a.secondary && !a.unusable);
    }

    #[test]
    fn an_address_without_local_is_its_own_and_has_no_peer() {
        let mut p = ifaddrmsg(libc::AF_INET, 24, IFA_F_SECONDARY as u8, 3);
        p.extend(attribute(IFA_ADDRESS, &[192, 0, 2, 9]));
        let a = parse_address(&p).unwrap();
        assert_eq!((a.address, a.peer), (IpAddr::from([192, 0, 2, 9]), None));
        assert!(a.secondary);
        // Equal IFA_LOCAL and IFA_ADDRESS (a broadcast link): no peer either.
        let mut p = ifaddrmsg(libc::AF_INET, 24, 0, 3);
        p.extend(attribute(IFA_ADDRESS, &[192, 0, 2, 1]));
        p.extend(attribute(IFA_LOCAL, &[192, 0, 2, 1]));
        assert_eq!(parse_address(&p).unwrap().peer, None);
    }

    #[test]
    fn ifa_flags_override_the_header_and_tentative_v6_is_unusable() {
        let v6 = [0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        let mut p = ifaddrmsg(libc::AF_INET6, 64, 0, 4);
        p.extend(attribute(IFA_ADDRESS, &v6));
        p.extend(attribute(IFA_FLAGS, &IFA_F_TENTATIVE.to_ne_bytes()));
        let a = parse_address(&p).unwrap();
        assert_eq!(a.address, IpAddr::from(v6));
        assert!(a.unusable && !a.secondary);
        let mut p = ifaddrmsg(libc::AF_INET6, 64, IFA_F_DADFAILED as u8, 4);
        p.extend(attribute(IFA_ADDRESS, &v6));
        assert!(parse_address(&p).unwrap().unusable);
    }

    #[test]
    fn addresses_of_the_wrong_size_or_family_are_ignored() {
        let mut p = ifaddrmsg(libc::AF_INET, 24, 0, 3);
        p.extend(attribute(IFA_ADDRESS, &[192, 0, 2]));
        assert_eq!(parse_address(&p), None);
        let mut p = ifaddrmsg(libc::AF_INET6, 64, 0, 3);
        p.extend(attribute(IFA_ADDRESS, &[192, 0, 2, 1]));
        assert_eq!(parse_address(&p), None);
        let mut p = ifaddrmsg(libc::AF_PACKET, 0, 0, 3);
        p.extend(attribute(IFA_ADDRESS, &[1, 2, 3, 4]));
        assert_eq!(parse_address(&p), None);
        assert_eq!(parse_address(&[2, 24, 0, 0, 3, 0, 0]), None);
    }

    #[test]
    fn link_and_address_notifications_name_their_interface() {
        let new_link = message(RTM_NEWLINK, 0, 0, &ifinfomsg(9, IFF_UP));
        let del_addr = message(RTM_DELADDR, 0, 0, &ifaddrmsg(libc::AF_INET, 24, 0, 4));
        let route = message(24, 0, 0, &[0; 12]); // RTM_NEWROUTE
        let short = message(RTM_DELLINK, 0, 0, &[0; 8]);
        let classes: Vec<_> = [new_link, del_addr, route, short]
            .iter()
            .map(|m| classify(&messages(m).next().unwrap().unwrap()))
            .collect();
        assert_eq!(
            classes,
            [
                Notification::Concerns(IfIndex(9)),
                Notification::Concerns(IfIndex(4)),
                Notification::Other,
                Notification::Other
            ]
        );
    }

    #[test]
    fn primaries_come_first_and_unusable_addresses_are_left_out() {
        let mut links = [link_from(&ifinfomsg(3, IFF_UP)).unwrap()];
        let address = |bytes: &[u8], family, flags: u8, ifindex| {
            let mut p = ifaddrmsg(family, 24, flags, ifindex);
            p.extend(attribute(IFA_ADDRESS, bytes));
            parse_address(&p).unwrap()
        };
        let v6 = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        let addresses = [
            address(&[192, 0, 2, 9], libc::AF_INET, IFA_F_SECONDARY as u8, 3),
            address(&[192, 0, 2, 1], libc::AF_INET, 0, 3),
            address(&[198, 51, 100, 1], libc::AF_INET, 0, 4), // another link
            address(&v6, libc::AF_INET6, IFA_F_TENTATIVE as u8, 3),
        ];
        attach_addresses(&mut links, &addresses);
        let v4: Vec<_> = links[0].ipv4.iter().map(|a| a.address.octets()).collect();
        assert_eq!(v4, [[192, 0, 2, 1], [192, 0, 2, 9]]);
        assert!(links[0].ipv6.is_empty());
    }
}
