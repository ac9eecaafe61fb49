#!/usr/bin/env python3
"""Golden byte vectors for crates/wire, built with scapy 2.8 as an independent encoder.

Usage:
    gen-wire-vectors.py PROTOCOL        print the vectors of one protocol (igmp, mld, ipv4,
                                        ipv6, codes) as lines "name hex"
    gen-wire-vectors.py --write DIR     write DIR/<protocol>.txt for every protocol

The checked-in files are crates/wire/tests/vectors/*.txt. crates/wire/tests/golden_v4.rs
(IGMP, IPv4, codes) and golden_v6.rs (MLD, IPv6) hold the message each name stands for and
check both directions (decode and encode). Names that start with "bad_" are malformed on
purpose and must be rejected with a given error.

MLD checksums cover the IPv6 pseudo-header, so every MLD vector is built from a fixed source
(fe80::1) to the destination its message type uses; golden_v6.rs uses the same addresses.

scapy pitfalls met here: IGMPv3_MQ's mrcode takes a time in 1/10 s and encodes it (used below
as an oracle for our float-code encoder); IGMP()'s mrcode is raw. ICMPv6MLDMultAddrRec counts
auxdata_len in octets instead of 32-bit words (RFC 9777 §5.2.6), so it is set by hand.
"""

import os
import sys

from scapy.layers.igmp import IGMP, IGMPv3_MQ, IGMPv3_MR, IGMPv3_MR_Group
from scapy.layers.inet import IP
from scapy.layers.inet6 import (
    IPv6,
    ICMPv6MLDone,
    ICMPv6MLDMultAddrRec,
    ICMPv6MLQuery,
    ICMPv6MLQuery2,
    ICMPv6MLReport,
    ICMPv6MLReport2,
    IPv6ExtHdrHopByHop,
    RouterAlert,
)

MLD_SRC = "fe80::1"
# Destinations by message, as in RFC 9777 §5.1 / §5.2.14 and RFC 2710 §3.
ALL_NODES, ALL_ROUTERS, ALL_MLDV2_ROUTERS = "ff02::1", "ff02::2", "ff02::16"


def mld(msg, dst):
    """An ICMPv6 message with its checksum over the pseudo-header for MLD_SRC -> dst."""
    return bytes(IPv6(src=MLD_SRC, dst=dst) / msg)[40:]


def igmp_vectors():
    return [
        ("v1_query", IGMP(type=0x11, mrcode=0, gaddr="0.0.0.0")),
        ("v1_report", IGMP(type=0x12, mrcode=0, gaddr="239.1.2.3")),
        ("v2_general_query", IGMP(type=0x11, mrcode=100, gaddr="0.0.0.0")),
        ("v2_group_query", IGMP(type=0x11, mrcode=10, gaddr="239.1.2.3")),
        ("v2_report", IGMP(type=0x16, gaddr="239.1.2.3")),
        ("v2_leave", IGMP(type=0x17, gaddr="239.1.2.3")),
        ("v3_general_query", IGMPv3_MQ(mrcode=100, qrv=2, qqic=125)),
        # mrcode 1000 (100 s) is encoded by scapy as the float code 0xaf.
        ("v3_group_query", IGMPv3_MQ(mrcode=1000, gaddr="239.1.2.3", s=1, qrv=7, qqic=200)),
        (
            "v3_group_source_query",
            IGMPv3_MQ(mrcode=10, gaddr="232.1.1.1", qrv=2, qqic=125,
                      srcaddrs=["198.51.100.1", "198.51.100.2", "203.0.113.9"]),
        ),
        ("v3_report_empty", IGMPv3_MR(records=[])),
        (
            "v3_report_all_types",
            IGMPv3_MR(records=[
                IGMPv3_MR_Group(rtype=1, maddr="232.1.1.1", srcaddrs=["198.51.100.1"]),
                IGMPv3_MR_Group(rtype=2, maddr="239.1.1.2", srcaddrs=[]),
                IGMPv3_MR_Group(rtype=3, maddr="239.1.1.3", srcaddrs=["198.51.100.1", "198.51.100.2"]),
                IGMPv3_MR_Group(rtype=4, maddr="239.1.1.4"),
                IGMPv3_MR_Group(rtype=5, maddr="232.1.1.5", srcaddrs=["203.0.113.5"]),
                IGMPv3_MR_Group(rtype=6, maddr="232.1.1.6", srcaddrs=["203.0.113.6"]),
            ]),
        ),
        (
            "v3_report_aux_data",
            IGMPv3_MR(records=[IGMPv3_MR_Group(rtype=1, auxdlen=1, maddr="239.1.1.1",
                                               srcaddrs=["198.51.100.1"]) / b"abcd"]),
        ),
        ("bad_checksum", IGMP(type=0x16, gaddr="239.1.2.3", chksum=0x1234)),
        ("bad_unknown_type", IGMP(type=0x1E, gaddr="239.1.2.3")),
        ("bad_query_10_octets", IGMP(type=0x11, mrcode=100) / b"\x02\x7d"),
        ("bad_query_source_overrun", IGMPv3_MQ(numsrc=2, srcaddrs=["198.51.100.1"])),
        ("bad_report_record_overrun", IGMPv3_MR(numgrp=2, records=[IGMPv3_MR_Group(rtype=4, maddr="239.1.1.4")])),
        (
            "bad_report_source_overrun",
            IGMPv3_MR(records=[IGMPv3_MR_Group(rtype=1, maddr="239.1.1.1", numsrc=3,
                                               srcaddrs=["198.51.100.1", "198.51.100.2"])]),
        ),
        ("bad_truncated", bytes(IGMP(type=0x16, gaddr="239.1.2.3"))[:7]),
    ]


def mld_vectors():
    group, ssm = "ff3e::1:2", "ff3e::8000:1"
    rec = ICMPv6MLDMultAddrRec
    return [
        ("v1_general_query", mld(ICMPv6MLQuery(mrd=10000), ALL_NODES)),
        ("v1_group_query", mld(ICMPv6MLQuery(mrd=1000, mladdr=group), group)),
        ("v1_report", mld(ICMPv6MLReport(mladdr=group), group)),
        ("v1_done", mld(ICMPv6MLDone(mladdr=group), ALL_ROUTERS)),
        ("v2_general_query", mld(ICMPv6MLQuery2(mrd=10000, QRV=2, QQIC=125), ALL_NODES)),
        ("v2_group_query", mld(ICMPv6MLQuery2(mrd=0x8123, mladdr=group, S=1, QRV=7, QQIC=0x8a), group)),
        (
            "v2_group_source_query",
            mld(ICMPv6MLQuery2(mrd=1000, mladdr=ssm, QRV=2, QQIC=125,
                               sources=["2001:db8::1", "2001:db8::2"]), ssm),
        ),
        ("v2_report_empty", mld(ICMPv6MLReport2(records=[]), ALL_MLDV2_ROUTERS)),
        (
            "v2_report_all_types",
            mld(ICMPv6MLReport2(records=[
                rec(rtype=1, dst=ssm, sources=["2001:db8::1"]),
                rec(rtype=2, dst=group),
                rec(rtype=3, dst=group, sources=["2001:db8::1", "2001:db8::2"]),
                rec(rtype=4, dst=group),
                rec(rtype=5, dst=ssm, sources=["2001:db8::5"]),
                rec(rtype=6, dst=ssm, sources=["2001:db8::6"]),
            ]), ALL_MLDV2_ROUTERS),
        ),
        (
            "v2_report_aux_data",
            mld(ICMPv6MLReport2(records=[rec(rtype=1, dst=ssm, sources=["2001:db8::1"],
                                             auxdata_len=2, auxdata=b"12345678")]), ALL_MLDV2_ROUTERS),
        ),
        ("bad_checksum", mld(ICMPv6MLReport(mladdr=group, cksum=0x1234), group)),
        ("bad_unknown_type", mld(ICMPv6MLReport(type=135, mladdr=group), group)),
        ("bad_query_26_octets", mld(ICMPv6MLQuery(mladdr=group) / b"\x02\x7d", group)),
        ("bad_query_source_overrun", mld(ICMPv6MLQuery2(sources_number=2, sources=["2001:db8::1"]), ALL_NODES)),
        (
            "bad_report_record_overrun",
            mld(ICMPv6MLReport2(records_number=2, records=[rec(rtype=4, dst=group)]), ALL_MLDV2_ROUTERS),
        ),
        (
            "bad_report_aux_overrun",
            mld(ICMPv6MLReport2(records=[rec(rtype=4, dst=group, auxdata_len=1)]), ALL_MLDV2_ROUTERS),
        ),
        ("bad_truncated_report", mld(ICMPv6MLReport(mladdr=group), group)[:20]),
    ]


def ipv4_vectors():
    """Whole IGMP datagrams: scapy adds TOS 0xC0 and Router Alert for IGMP itself."""
    return [
        ("v2_report", IP(src="192.0.2.2", dst="239.1.2.3", ttl=1) / IGMP(type=0x16, gaddr="239.1.2.3")),
        ("v2_leave", IP(src="192.0.2.2", dst="224.0.0.2", ttl=1) / IGMP(type=0x17, gaddr="239.1.2.3")),
        (
            "v3_report_from_unspecified",
            IP(src="0.0.0.0", dst="224.0.0.22", ttl=1)
            / IGMPv3_MR(records=[IGMPv3_MR_Group(rtype=4, maddr="239.1.2.3")]),
        ),
        (
            "v3_general_query",
            IP(src="192.0.2.1", dst="224.0.0.1", ttl=1, id=0x1234, flags="DF")
            / IGMPv3_MQ(mrcode=100, qrv=2, qqic=125),
        ),
        # IGMPv1 has no Router Alert (RFC 1112): options must be absent, not empty.
        ("v1_query_without_ra", IP(src="192.0.2.1", dst="224.0.0.1", ttl=1, tos=0, options=[], proto=2) / bytes(IGMP(type=0x11, mrcode=0))),
        ("bad_header_checksum", IP(src="192.0.2.2", dst="239.1.2.3", ttl=1, chksum=0x1234) / IGMP(type=0x16, gaddr="239.1.2.3")),
        ("bad_total_length", IP(src="192.0.2.2", dst="239.1.2.3", ttl=1, len=40) / IGMP(type=0x16, gaddr="239.1.2.3")),
    ]


def ipv6_vectors():
    """Whole MLD packets with hop limit 1 and Hop-by-Hop Router Alert 0."""
    hbh = IPv6ExtHdrHopByHop(options=[RouterAlert(value=0)])
    group = "ff3e::1:2"
    return [
        (
            "v2_report",
            IPv6(src=MLD_SRC, dst=ALL_MLDV2_ROUTERS, hlim=1) / hbh
            / ICMPv6MLReport2(records=[ICMPv6MLDMultAddrRec(rtype=4, dst=group)]),
        ),
        ("v2_general_query", IPv6(src=MLD_SRC, dst=ALL_NODES, hlim=1) / hbh / ICMPv6MLQuery2(mrd=10000, QRV=2, QQIC=125)),
        ("v1_done", IPv6(src=MLD_SRC, dst=ALL_ROUTERS, hlim=1) / hbh / ICMPv6MLDone(mladdr=group)),
        ("v1_report_without_hbh", IPv6(src=MLD_SRC, dst=group, hlim=1) / ICMPv6MLReport(mladdr=group)),
        ("bad_payload_length", IPv6(src=MLD_SRC, dst=group, hlim=1, plen=200) / hbh / ICMPv6MLReport(mladdr=group)),
    ]


def code_vectors():
    """scapy's IGMPv3 Max Resp Code encoder, one vector per value (in 1/10 s). Only values up
    to the largest code: above 31744 scapy's exponent overflows into the sign bit (40000
    encodes as 0x83 = 152), where ours saturates at 0xff."""
    values = list(range(0, 300, 7)) + [1000, 3175, 3176, 3200, 10000, 31743, 31744]
    return [(f"mrc_{v}", bytes(IGMPv3_MQ(mrcode=v))[1:2]) for v in values]


PROTOCOLS = {
    "igmp": igmp_vectors,
    "mld": mld_vectors,
    "ipv4": ipv4_vectors,
    "ipv6": ipv6_vectors,
    "codes": code_vectors,
}


def lines(protocol):
    return [f"{name} {bytes(pkt).hex()}" for name, pkt in PROTOCOLS[protocol]()]


def main(argv):
    if len(argv) == 3 and argv[1] == "--write":
        os.makedirs(argv[2], exist_ok=True)
        for protocol in PROTOCOLS:
            with open(os.path.join(argv[2], f"{protocol}.txt"), "w") as out:
                out.write(f"# generated by scripts/gen-wire-vectors.py with scapy 2.8: name hex\n")
                out.write("\n".join(lines(protocol)) + "\n")
        return 0
    if len(argv) == 2 and argv[1] in PROTOCOLS:
        print("\n".join(lines(argv[1])))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
