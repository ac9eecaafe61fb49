use super::*;
use crate::host_forms::{BACK_TO_SMALL, Hosts, SMALL};
use std::net::Ipv4Addr;

fn a(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, last)
}
fn set(items: &[u8]) -> BTreeSet<Ipv4Addr> {
    items.iter().map(|&i| a(i)).collect()
}
const LIMITS: HostLimits = HostLimits {
    per_host: 10,
    per_group: 10,
    room: usize::MAX,
};
/// A host joined, now holding `entries` (1 + its sources).
fn joined(entries: usize) -> Applied {
    Applied {
        change: HostChange::Joined,
        folded: None,
        entries: (0, entries),
    }
}
/// A member stayed, its entries going `from` → `to`.
fn unchanged(from: usize, to: usize) -> Applied {
    Applied {
        change: HostChange::Unchanged,
        folded: None,
        entries: (from, to),
    }
}

#[test]
fn v3_host_filter_rebuilt_from_records() {
    let mut table = HostTable::default();
    let h = a(10);
    assert_eq!(
        table.apply(h, RecordKind::Allow, &set(&[1]), Timestamp(9), LIMITS),
        joined(2)
    );
    assert!(table.wants_source(&a(1)));
    assert!(!table.any_exclude());
    assert_eq!(
        table.apply(h, RecordKind::ToExclude, &set(&[2]), Timestamp(9), LIMITS),
        unchanged(2, 2)
    );
    assert!(table.any_exclude());
    assert!(table.wants_source(&a(1)) && !table.wants_source(&a(2)));
    assert_eq!(
        table.apply(h, RecordKind::Block, &set(&[1]), Timestamp(9), LIMITS),
        unchanged(2, 3)
    );
    assert!(!table.wants_source(&a(1)));
    assert_eq!(
        table
            .apply(h, RecordKind::ToInclude, &set(&[]), Timestamp(9), LIMITS)
            .change,
        HostChange::Left
    );
    assert!(!table.contains(&h));
    assert_eq!(table.deadline(), None);
}

#[test]
fn anonymous_host_never_narrows() {
    let mut table = HostTable::default();
    let anon = Ipv4Addr::UNSPECIFIED;
    table.apply(
        anon,
        RecordKind::IsInclude,
        &set(&[1]),
        Timestamp(5),
        LIMITS,
    );
    table.apply(anon, RecordKind::Block, &set(&[1]), Timestamp(6), LIMITS);
    assert!(table.wants_source(&a(1)));
    assert_eq!(table.leave(anon).change, HostChange::Unchanged);
    assert_eq!(table.deadline(), Some(Timestamp(5)));
    table.apply(
        anon,
        RecordKind::IsExclude,
        &set(&[1, 2]),
        Timestamp(7),
        LIMITS,
    );
    // INCLUDE{1} ∪ EXCLUDE{1,2} = EXCLUDE{2}
    assert!(table.wants_source(&a(1)) && !table.wants_source(&a(2)) && table.wants_source(&a(3)));
    assert!(
        !table.named_by_a_host(&a(1)),
        "the anonymous host is nobody's name"
    );
    assert_eq!(table.expire(Timestamp(7)), (vec![anon], 0));
}

#[test]
fn group_cap_bounds_host_sources() {
    let mut table = HostTable::default();
    let limits = HostLimits {
        per_host: 10,
        per_group: 2,
        room: usize::MAX,
    };
    table.apply(
        a(10),
        RecordKind::IsInclude,
        &set(&[1, 2, 3]),
        Timestamp(1),
        limits,
    );
    assert!(table.wants_source(&a(1)) && table.wants_source(&a(2)) && !table.wants_source(&a(3)));
}

#[test]
fn a_host_over_its_source_cap_is_folded_into_the_anonymous_host() {
    let mut table = HostTable::default();
    let limits = HostLimits {
        per_host: 2,
        per_group: 10,
        room: usize::MAX,
    };
    table.apply(
        a(10),
        RecordKind::IsInclude,
        &set(&[1, 2]),
        Timestamp(1),
        limits,
    );
    table.apply(
        a(11),
        RecordKind::IsExclude,
        &set(&[]),
        Timestamp(1),
        limits,
    );
    let applied = table.apply(a(10), RecordKind::Allow, &set(&[3]), Timestamp(2), limits);
    assert_eq!(
        applied,
        Applied {
            change: HostChange::Left,
            folded: Some(Limit::SourcesPerHost),
            entries: (3, 0),
        }
    );
    assert_eq!(table.hosts(), vec![Ipv4Addr::UNSPECIFIED, a(11)]);
    // The union {1, 2, 3} is carried, and it blocks no source from a leave of host 11 alone.
    table.leave(a(11));
    assert!((1..=3).all(|i| table.wants_source(&a(i))));
    assert!(!table.named_by_a_host(&a(1)));
    // An untracked host over the cap joins nothing of its own either.
    let applied = table.apply(
        a(12),
        RecordKind::IsExclude,
        &set(&[4, 5, 6]),
        Timestamp(3),
        limits,
    );
    assert_eq!(
        applied,
        Applied {
            change: HostChange::Unchanged,
            folded: Some(Limit::SourcesPerHost),
            entries: (0, 0),
        }
    );
    assert!(table.any_exclude(), "INCLUDE{{1,2,3}} ∪ EXCLUDE{{4,5,6}}");
    assert_eq!(table.deadline(), Some(Timestamp(3)));
}

/// The same sequence of operations on `n` hosts, checked after each against a model: the
/// small form and the index must agree.
fn exercise(n: u8) {
    let mut table = HostTable::default();
    for h in 0..n {
        // Every third host excludes a source of its own, the others include one of 1..=4.
        let (kind, source) = if h % 3 == 0 {
            (RecordKind::IsExclude, 100 + h)
        } else {
            (RecordKind::IsInclude, h % 4 + 1)
        };
        let expires = Timestamp(100 + u64::from(h % 5));
        assert_eq!(
            table.apply(a(h + 1), kind, &set(&[source]), expires, LIMITS),
            joined(2)
        );
    }
    assert_eq!(table.hosts().len(), usize::from(n));
    assert_eq!(
        table.wants_source(&a(1)) && table.wants_source(&a(9)),
        n > 0
    );
    assert_eq!(
        table.wants_source(&a(100)),
        n > 3,
        "excluded by host 0 alone"
    );
    assert_eq!(table.any_exclude(), n > 0);
    assert_eq!(table.deadline(), (n > 0).then_some(Timestamp(100)));
    assert!(table.named_by_a_host(&a(2)) == (n > 1));
    assert!(table.named_sources_within(4, |s| (1..=4).map(a).any(|x| x == *s)));
    assert!(n < 2 || !table.named_sources_within(4, |s| *s != a(2)));
    let (gone, _) = table.expire(Timestamp(101));
    assert_eq!(gone.len(), (0..n).filter(|h| h % 5 <= 1).count());
    for h in (0..n).filter(|h| h % 5 > 1) {
        assert_eq!(table.leave(a(h + 1)).change, HostChange::Left);
    }
    assert!(table.hosts().is_empty() && !table.any_exclude() && table.deadline().is_none());
    assert!(matches!(table.hosts, Hosts::Small(_)));
}

#[test]
fn small_and_indexed_forms_behave_alike() {
    for n in [0, 1, 2, SMALL as u8, SMALL as u8 + 1, 40] {
        exercise(n);
    }
}

#[test]
fn a_large_group_uses_the_index_and_a_shrunk_one_goes_back() {
    let mut table = HostTable::default();
    for h in 0..=SMALL as u8 {
        table.apply(
            a(h + 1),
            RecordKind::IsExclude,
            &set(&[]),
            Timestamp(5),
            LIMITS,
        );
    }
    assert!(matches!(table.hosts, Hosts::Indexed(_)));
    for h in 0..(SMALL - BACK_TO_SMALL) as u8 {
        table.leave(a(h + 1));
        assert!(
            matches!(table.hosts, Hosts::Indexed(_)),
            "not before {BACK_TO_SMALL}"
        );
    }
    table.leave(a(SMALL as u8));
    assert!(matches!(table.hosts, Hosts::Small(_)));
    assert_eq!(table.hosts().len(), BACK_TO_SMALL);
}

/// Keeps the link's sum of host entries the way the port does.
fn ledger(total: &mut usize, applied: Applied) -> Applied {
    let (before, after) = applied.entries;
    *total = *total - before + after;
    applied
}

#[test]
fn entries_count_each_tracked_membership_and_its_sources() {
    let mut table = HostTable::default();
    let mut total = 0;
    let t = &mut total;
    ledger(
        t,
        table.apply(
            a(10),
            RecordKind::IsInclude,
            &set(&[1, 2]),
            Timestamp(5),
            LIMITS,
        ),
    );
    ledger(
        t,
        table.apply(
            a(11),
            RecordKind::IsExclude,
            &set(&[]),
            Timestamp(9),
            LIMITS,
        ),
    );
    // The anonymous host is not counted.
    let anonymous = table.apply(
        Ipv4Addr::UNSPECIFIED,
        RecordKind::IsExclude,
        &set(&[4]),
        Timestamp(9),
        LIMITS,
    );
    assert_eq!(ledger(t, anonymous).entries, (0, 0));
    assert_eq!(*t, 3 + 1);
    ledger(
        t,
        table.apply(a(10), RecordKind::Block, &set(&[1]), Timestamp(5), LIMITS),
    );
    assert_eq!(*t, 2 + 1);
    let (gone, freed) = table.expire(Timestamp(5));
    assert_eq!((gone, freed), (vec![a(10)], 2));
    *t -= freed;
    assert_eq!(ledger(t, table.leave(a(11))).change, HostChange::Left);
    assert_eq!(*t, 0);
    assert_eq!(table.leave(a(11)).entries, (0, 0));
    let (gone, freed) = table.drain();
    assert_eq!((gone, freed), (vec![Ipv4Addr::UNSPECIFIED], 0));
}

#[test]
fn entries_stay_exact_in_the_indexed_form() {
    let mut table = HostTable::default();
    let mut total = 0;
    let hosts = SMALL as u8 * 3;
    for h in 0..hosts {
        let applied = table.apply(
            a(h),
            RecordKind::IsInclude,
            &set(&[200, 201]),
            Timestamp(u64::from(h)),
            LIMITS,
        );
        ledger(&mut total, applied);
    }
    assert!(matches!(table.hosts, Hosts::Indexed(_)));
    assert_eq!(total, usize::from(hosts) * 3);
    let (gone, freed) = table.expire(Timestamp(u64::from(hosts) / 2));
    assert_eq!(freed, gone.len() * 3);
    total -= freed;
    let (rest, freed) = table.drain();
    assert_eq!((rest.len() * 3, freed), (total, total));
}

#[test]
fn a_host_that_would_pass_the_links_budget_is_folded() {
    let mut table = HostTable::default();
    let tight = HostLimits { room: 2, ..LIMITS };
    // 1 + 3 sources = 4 entries, the room is 2: folded, nothing counted.
    let applied = table.apply(
        a(10),
        RecordKind::IsInclude,
        &set(&[1, 2, 3]),
        Timestamp(1),
        tight,
    );
    assert_eq!(applied.folded, Some(Limit::HostEntries));
    assert_eq!(applied.entries, (0, 0));
    assert!(!table.contains(&a(10)));
    assert!(
        table.contains(&Ipv4Addr::UNSPECIFIED),
        "the report still counts"
    );
    // 1 + 1 fits.
    let applied = table.apply(
        a(11),
        RecordKind::IsInclude,
        &set(&[1]),
        Timestamp(1),
        tight,
    );
    assert_eq!(applied, joined(2));
    // With no room left, a refresh of the same size still fits; growing does not, and the
    // host's own entries are freed as its interest goes to the anonymous host.
    let full = HostLimits { room: 0, ..LIMITS };
    let refresh = table.apply(a(11), RecordKind::IsInclude, &set(&[1]), Timestamp(2), full);
    assert_eq!((refresh.folded, refresh.entries), (None, (2, 2)));
    let grow = table.apply(a(11), RecordKind::Allow, &set(&[2]), Timestamp(2), full);
    assert_eq!(
        (grow.folded, grow.entries),
        (Some(Limit::HostEntries), (2, 0))
    );
    assert!(!table.contains(&a(11)));
}
