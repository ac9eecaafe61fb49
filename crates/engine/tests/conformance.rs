//! Conformance scenarios: `tests/conformance/<name>.jsonl`, one test each (see harness/mod.rs).
//! Regenerate expectations with `MRPROXY_BLESS=1` and review every changed line.

mod harness;

macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        $( #[test] fn $name() { harness::run(stringify!($name)); } )*

        #[test]
        fn every_scenario_file_is_listed() {
            let mut listed = vec![$(stringify!($name).to_owned()),*];
            listed.sort();
            assert_eq!(harness::scenario_files(), listed);
        }
    };
}

scenarios! {
    join_receiver_first,
    join_source_first,
    leave_and_rejoin_within_lmqt,
    leave_queries_only_that_lan_and_stops_at_lmqt,
    quickleave_keeps_remaining_v3_viewer,
    quickleave_single_viewer_leaves_upstream_at_once,
    startup_queries_then_query_interval,
    two_lans_leave_in_turn,
    upcall_state_is_not_a_host,
}
