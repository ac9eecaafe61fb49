//! Netlink framing (netlink(7), <linux/netlink.h>): message headers, attributes, requests and
//! the kernel's replies. Every length comes from the kernel and is checked against the buffer
//! before anything is read; a malformed message ends the walk instead of being guessed at.

/// `struct nlmsghdr`: length, type, flags, sequence number, port id.
pub(super) const HEADER_LEN: usize = 16;
/// `struct rtattr` / `struct nlattr`: length, type.
const ATTRIBUTE_HEADER_LEN: usize = 4;

pub(super) const NLMSG_NOOP: u16 = 1;
pub(super) const NLMSG_ERROR: u16 = 2;
pub(super) const NLMSG_DONE: u16 = 3;

pub(super) const NLM_F_REQUEST: u16 = 0x1;
pub(super) const NLM_F_MULTI: u16 = 0x2;
pub(super) const NLM_F_DUMP: u16 = 0x300;

/// Netlink's 4-octet alignment (NLMSG_ALIGN, RTA_ALIGN).
pub(super) const fn align(len: usize) -> usize {
    (len + 3) & !3
}

/// One message of a datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Message<'a> {
    pub kind: u16,
    pub flags: u16,
    pub seq: u32,
    /// What follows the header, `nlmsg_len` bounds it.
    pub payload: &'a [u8],
}

/// A message header whose length does not fit the datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Malformed;

/// The messages of one datagram, in order; a malformed header yields `Err` and ends the walk.
pub(super) fn messages(datagram: &[u8]) -> impl Iterator<Item = Result<Message<'_>, Malformed>> {
    let mut rest = datagram;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let parsed = split_message(rest);
        match parsed {
            Ok((_, next)) => rest = next,
            Err(Malformed) => rest = &[],
        }
        Some(parsed.map(|(message, _)| message))
    })
}

fn split_message(buf: &[u8]) -> Result<(Message<'_>, &[u8]), Malformed> {
    let header = buf.get(..HEADER_LEN).ok_or(Malformed)?;
    let len = usize::try_from(u32_at(header, 0)).map_err(|_| Malformed)?;
    if len < HEADER_LEN || len > buf.len() {
        return Err(Malformed);
    }
    let message = Message {
        kind: u16_at(header, 4),
        flags: u16_at(header, 6),
        seq: u32_at(header, 8),
        payload: &buf[HEADER_LEN..len],
    };
    // The last message of a datagram may lack its padding.
    let next = buf.get(align(len)..).unwrap_or(&[]);
    Ok((message, next))
}

/// The attributes after a fixed header, as (type without the NLA_F_* bits, value); a
/// malformed attribute ends the walk.
pub(super) fn attributes(buf: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut rest = buf;
    std::iter::from_fn(move || {
        let header = rest.get(..ATTRIBUTE_HEADER_LEN)?;
        let len = usize::from(u16_at(header, 0));
        let kind = u16_at(header, 2) & 0x3fff;
        if len < ATTRIBUTE_HEADER_LEN || len > rest.len() {
            rest = &[];
            return None;
        }
        let value = &rest[ATTRIBUTE_HEADER_LEN..len];
        rest = rest.get(align(len)..).unwrap_or(&[]);
        Some((kind, value))
    })
}

/// What a message on the request socket says about the request it answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Reply<'a> {
    /// An answer: its type and payload.
    Data(u16, &'a [u8]),
    /// NLMSG_DONE (the end of a dump) or an acknowledgement (NLMSG_ERROR with error 0).
    Done,
    /// NLMSG_ERROR, or NLMSG_DONE of a failed dump: the positive errno.
    Failed(i32),
    /// NLMSG_NOOP.
    Nothing,
}

pub(super) fn reply<'a>(message: &Message<'a>) -> Reply<'a> {
    // NLMSG_ERROR carries `int error` (0 or -errno); NLMSG_DONE of a dump may carry one too.
    let error = message.payload.get(..4).map(|e| i32_at(e, 0)).unwrap_or(0);
    match message.kind {
        NLMSG_NOOP => Reply::Nothing,
        NLMSG_ERROR | NLMSG_DONE if error < 0 => Reply::Failed(error.saturating_neg()),
        NLMSG_ERROR | NLMSG_DONE => Reply::Done,
        kind => Reply::Data(kind, message.payload),
    }
}

/// One request message: header (`flags` | NLM_F_REQUEST, port id 0: the kernel fills it in)
/// and `body`, the family's fixed header.
pub(super) fn request(kind: u16, flags: u16, seq: u32, body: &[u8]) -> Vec<u8> {
    let len = HEADER_LEN + body.len();
    let mut message = Vec::with_capacity(align(len));
    message.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_ne_bytes());
    message.extend_from_slice(&kind.to_ne_bytes());
    message.extend_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
    message.extend_from_slice(&seq.to_ne_bytes());
    message.extend_from_slice(&0u32.to_ne_bytes());
    message.extend_from_slice(body);
    message.resize(align(len), 0);
    message
}

/// Netlink integers are in host order. The callers checked `at + N <= buf.len()`.
pub(super) fn u16_at(buf: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([buf[at], buf[at + 1]])
}

pub(super) fn u32_at(buf: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
}

pub(super) fn i32_at(buf: &[u8], at: usize) -> i32 {
    i32::from_ne_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// One message as the kernel frames it (padded to 4 octets).
    pub fn message(kind: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let mut m = request(kind, flags, seq, payload);
        m[6..8].copy_from_slice(&flags.to_ne_bytes());
        m
    }

    /// One attribute, padded.
    pub fn attribute(kind: u16, value: &[u8]) -> Vec<u8> {
        let len = ATTRIBUTE_HEADER_LEN + value.len();
        let mut a = Vec::new();
        a.extend_from_slice(&u16::try_from(len).unwrap().to_ne_bytes());
        a.extend_from_slice(&kind.to_ne_bytes());
        a.extend_from_slice(value);
        a.resize(align(len), 0);
        a
    }

    #[test]
    fn a_request_is_a_padded_header_and_body() {
        let r = request(18, NLM_F_DUMP, 7, &[1, 2, 3, 4, 5]);
        assert_eq!(r.len(), 24);
        assert_eq!(u32_at(&r, 0), 21);
        assert_eq!(u16_at(&r, 4), 18);
        assert_eq!(u16_at(&r, 6), NLM_F_DUMP | NLM_F_REQUEST);
        assert_eq!(u32_at(&r, 8), 7);
        assert_eq!(u32_at(&r, 12), 0);
        assert_eq!(&r[16..], [1, 2, 3, 4, 5, 0, 0, 0]);
    }

    #[test]
    fn messages_walk_a_datagram_and_the_last_may_lack_padding() {
        let mut d = message(16, NLM_F_MULTI, 1, &[9; 5]);
        let mut last = message(NLMSG_DONE, NLM_F_MULTI, 1, &[0, 0, 0, 0]);
        d.append(&mut last);
        let m: Vec<_> = messages(&d).collect::<Result<_, _>>().unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].kind, m[0].flags, m[0].seq), (16, NLM_F_MULTI, 1));
        assert_eq!(m[0].payload, [9; 5]);
        assert_eq!(reply(&m[1]), Reply::Done);

        let unpadded = &message(16, 0, 2, &[1])[..HEADER_LEN + 1];
        let m: Vec<_> = messages(unpadded).collect();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].unwrap().payload, [1]);
    }

    #[test]
    fn a_length_outside_the_datagram_ends_the_walk_with_an_error() {
        let good = message(16, 0, 1, &[0; 4]);
        for bad_len in [0u32, 15, 21, u32::MAX] {
            let mut bad = message(16, 0, 2, &[0; 4]);
            bad[..4].copy_from_slice(&bad_len.to_ne_bytes());
            let d = [good.clone(), bad].concat();
            let m: Vec<_> = messages(&d).collect();
            assert_eq!(m.len(), 2, "length {bad_len}");
            assert!(m[0].is_ok());
            assert_eq!(m[1], Err(Malformed), "length {bad_len}");
        }
        // A header cut short.
        assert_eq!(messages(&good[..10]).collect::<Vec<_>>(), [Err(Malformed)]);
    }

    #[test]
    fn attributes_are_bounded_by_their_length_and_the_buffer() {
        let mut b = attribute(3, b"dn1\0");
        b.extend(attribute(0x8000 | 8, &[1, 0, 0, 0]));
        b.extend(attribute(1, &[])); // empty value
        let a: Vec<_> = attributes(&b).collect();
        assert_eq!(
            a,
            [(3, &b"dn1\0"[..]), (8, &[1, 0, 0, 0][..]), (1, &[][..])]
        );

        // A length below the header or past the end stops the walk.
        for bad_len in [0u16, 3, 9] {
            let mut b = attribute(3, b"ab");
            b[..2].copy_from_slice(&bad_len.to_ne_bytes());
            assert_eq!(attributes(&b).count(), 0, "length {bad_len}");
        }
        assert_eq!(attributes(&[4, 0]).count(), 0);
    }

    #[test]
    fn errors_acks_and_done_end_a_request() {
        let error = |code: i32| {
            message(
                NLMSG_ERROR,
                0,
                1,
                &[&code.to_ne_bytes()[..], &[0; 16]].concat(),
            )
        };
        let e = error(-19);
        let m = messages(&e).next().unwrap().unwrap();
        assert_eq!(reply(&m), Reply::Failed(19));
        let ack = error(0);
        assert_eq!(reply(&messages(&ack).next().unwrap().unwrap()), Reply::Done);
        let failed_dump = message(NLMSG_DONE, NLM_F_MULTI, 1, &(-4i32).to_ne_bytes());
        let m = messages(&failed_dump).next().unwrap().unwrap();
        assert_eq!(reply(&m), Reply::Failed(4));
        let bare_done = message(NLMSG_DONE, NLM_F_MULTI, 1, &[]);
        assert_eq!(
            reply(&messages(&bare_done).next().unwrap().unwrap()),
            Reply::Done
        );
        let noop = message(NLMSG_NOOP, 0, 1, &[]);
        assert_eq!(
            reply(&messages(&noop).next().unwrap().unwrap()),
            Reply::Nothing
        );
        let min = message(NLMSG_ERROR, 0, 1, &i32::MIN.to_ne_bytes());
        assert_eq!(
            reply(&messages(&min).next().unwrap().unwrap()),
            Reply::Failed(i32::MAX)
        );
    }
}
