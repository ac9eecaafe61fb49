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
    config_reload_adds_whitelist,
    downstream_sender_goes_upstream,
    forged_queries_from_hosts_are_rejected,
    forwarding_kept_as_non_querier_when_configured,
    igmpv3_source_lists_end_to_end,
    interface_appearing_later_gets_its_phyint_role,
    interface_down_and_up,
    join_receiver_first,
    join_source_first,
    kernel_refused_attach_retried,
    kernel_refused_intent_withdrawn_not_retried,
    kernel_refused_route_retried_with_current_outputs,
    kernel_refused_then_newer_change_confirmed,
    kernel_refused_upstream_join_retried_with_backoff,
    leave_and_rejoin_within_lmqt,
    leave_queries_only_that_lan_and_stops_at_lmqt,
    limits_bound_a_group_flood,
    link_local_groups_never_proxied,
    mldv1_join_and_leave,
    mldv2_join_and_leave,
    point_to_point_upstream_peer_source,
    querier_election_against_lower_address,
    quickleave_keeps_remaining_v3_viewer,
    quickleave_single_viewer_leaves_upstream_at_once,
    receivers_on_the_router_itself,
    record_sources_must_be_unicast_and_not_ours,
    report_sources_and_receive_interface,
    router_alert_policy_for_queries,
    source_without_listeners_and_idle_expiry,
    ssdp_proxied_by_default_denied_by_blacklist,
    ssm_range_any_source_requests_ignored,
    startup_queries_then_query_interval,
    two_lans_leave_in_turn,
    two_upstreams_join_and_leave_both,
    upcall_flood_bounded_per_interface,
    upstream_rereport_keepalive,
    upcall_state_is_not_a_host,
    upstream_filter_miss_does_not_skip_next_upstream,
    upstream_query_refreshes_opted_in_downstreams,
    upstream_source_outside_networks_needs_altnet,
}
