//! What differs between the two families' mroute APIs: socket, option numbers and names,
//! the VIF/MIF and MFC structures, kernel addresses, the report groups and the received
//! datagrams. Public in name only (a sealed supertrait of [`super::MrouteFamily`]): the
//! structures it names stay in this crate.

use crate::error::Result;
use crate::io::RecvMsg;
use crate::vif_table::{VifEntry, VifTable};
use mrproxy_types::{IfIndex, SourceGroup, VifIndex};
use socket2::Socket;
use std::io;

pub trait Api: Sized {
    /// What opening the socket is called in errors.
    const OPENING: &'static str;
    /// `setsockopt` level of the MRT options.
    const LEVEL: libc::c_int;
    const DOMAIN: socket2::Domain;
    const PROTOCOL: libc::c_int;
    /// The option numbers (the same for both families) with the names the headers give
    /// them, for messages.
    const TABLE: libc::c_int;
    const INIT: libc::c_int;
    const ADD_VIF: (libc::c_int, &'static str);
    const DEL_VIF: (libc::c_int, &'static str);
    const ADD_MFC: (libc::c_int, &'static str);
    const DEL_MFC: (libc::c_int, &'static str);
    const GET_SG_COUNT: (libc::c_ulong, &'static str);
    /// Joined on every downstream so that reports and leaves reach the socket
    /// (docs/kernel-interface.md §4).
    const REPORT_GROUPS: [Self; 2];

    /// `vifctl` / `mif6ctl` for MRT_ADD_VIF / MRT6_ADD_MIF.
    type AddVif: Copy;
    /// What MRT_DEL_VIF (a `vifctl`) / MRT6_DEL_MIF (a bare `mifi_t`) take.
    type DelVif: Copy;
    /// `mfcctl` / `mf6cctl`.
    type Mfc: Copy;
    /// `in_addr` / `sockaddr_in6`: how the MFC structures and `sioc_sg_req` name an address.
    type KernelAddr: Copy;
    /// Ancillary facts of one received datagram.
    type Meta;
    /// One thing read from the socket.
    type Received;

    /// The receive options the family needs once the socket is the mroute socket.
    fn configure(socket: &Socket) -> Result<()>;
    fn add_vif(
        vif: VifIndex,
        ifindex: IfIndex,
        threshold: u8,
        rate_limit: u32,
    ) -> Result<Self::AddVif>;
    fn del_vif(vif: VifIndex, entry: VifEntry) -> Self::DelVif;
    /// The entry of `sg` arriving on `parent` and copied to each `(vif, threshold)`.
    fn mfc(sg: SourceGroup<Self>, parent: VifIndex, outputs: &[(VifIndex, u8)]) -> Self::Mfc;
    fn kernel_addr(self) -> Self::KernelAddr;

    /// One non-blocking `recvmsg` with the family's ancillary data.
    fn recvmsg(socket: &Socket, buf: &mut [u8]) -> io::Result<RecvMsg<Self::Meta>>;
    /// Classifies one whole received datagram; `None` for those to skip (logged).
    fn decode(meta: Self::Meta, datagram: &[u8], vifs: &VifTable) -> Option<Self::Received>;
}
