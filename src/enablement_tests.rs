//! The cover of contexts that decides the bulk reads, and how a summary entry is read.

use serde_json::json;

use super::*;

fn want(wid: i64, contexts: &[&str]) -> Want<'static> {
    Want {
        wid,
        contexts: contexts.iter().map(|c| c.to_string()).collect(),
        projects: &[],
    }
}

fn cover_of(wants: &[Want]) -> Vec<String> {
    let group: Vec<&Want> = wants.iter().collect();
    cover(&group)
}

#[test]
fn one_shared_context_is_one_read() {
    let wants: Vec<Want> = (1..=40)
        .map(|i| want(i, &["xnat:imageSessionData"]))
        .collect();
    assert_eq!(cover_of(&wants), vec!["xnat:imageSessionData"]);
}

#[test]
fn the_cover_takes_the_most_shared_type_first_and_ties_in_string_order() {
    let wants = vec![
        want(1, &["xnat:mrSessionData", "xnat:petSessionData"]),
        want(2, &["xnat:petSessionData"]),
        want(3, &["xnat:imageScanData"]),
        want(4, &["xnat:imageScanData", "xnat:projectData"]),
        want(5, &["xnat:projectData", "xnat:petSessionData"]),
    ];
    assert_eq!(
        cover_of(&wants),
        vec!["xnat:petSessionData", "xnat:imageScanData"]
    );
}

#[test]
fn no_bulk_read_when_it_saves_no_request() {
    // One wrapper: one read either way.
    assert!(cover_of(&[want(1, &["a"])]).is_empty());
    // Two wrappers with different contexts: two reads either way.
    assert!(cover_of(&[want(1, &["a"]), want(2, &["b"])]).is_empty());
    // Three, two distinct types: bulk saves one.
    assert_eq!(
        cover_of(&[want(1, &["a"]), want(2, &["b"]), want(3, &["a"])]),
        vec!["a", "b"]
    );
}

#[test]
fn wrappers_without_contexts_are_left_to_one_by_one_reads() {
    let wants = vec![want(1, &[]), want(2, &["a"]), want(3, &["a"]), want(4, &[])];
    assert_eq!(cover_of(&wants), vec!["a"]);
}

#[test]
fn a_summary_needs_a_wrapper_id_and_a_boolean() {
    assert_eq!(
        entry(&json!({"wrapper-id": 7, "enabled": true})),
        Some((7, true))
    );
    assert_eq!(
        entry(&json!({"wrapper-id": "7", "enabled": false})),
        Some((7, false))
    );
    assert_eq!(entry(&json!({"wrapper-id": 7, "enabled": "true"})), None);
    assert_eq!(entry(&json!({"wrapper-id": 7})), None);
    assert_eq!(entry(&json!({"enabled": true})), None);
    assert_eq!(entry(&json!([1, 2])), None);
}

#[test]
fn a_contradicted_answer_is_dropped_for_good() {
    let mut map = HashMap::new();
    let mut dropped = HashSet::new();
    keep(&mut map, &mut dropped, 1, true);
    keep(&mut map, &mut dropped, 1, true);
    assert_eq!(map.get(&1), Some(&true));
    keep(&mut map, &mut dropped, 1, false);
    assert_eq!(map.get(&1), None);
    keep(&mut map, &mut dropped, 1, true);
    assert_eq!(map.get(&1), None, "a third answer does not bring it back");
}
