use std::sync::Arc;

use super::*;

#[test]
fn stream_keys_are_the_first_four_bytes_of_the_names_sha256() {
    // Python: int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")
    assert_eq!(stream_key("ols"), 2030678870);
    assert_eq!(stream_key("random_slope"), 617148857);
    assert_eq!(stream_key("mean"), 2923385474);
}

#[test]
fn a_methods_stream_is_numpys_seed_sequence_with_the_unit_and_its_key() {
    // numpy 2.4.6: default_rng(SeedSequence(2024, spawn_key=(1, 7, 2923385474))).standard_normal(3)
    let expected = [-0.9661087890170869, 0.5945284231449944, 0.21530890047203863];
    let parameters = [("n".to_string(), 10.0)];
    let mut context = Context::new(&parameters, 1, 7, 2024, stream_key("mean"));
    let drawn: Vec<f64> = (0..3).map(|_| context.rng().standard_normal()).collect();
    // Bit for bit: the draws are numpy's exact numbers, not approximations.
    assert_eq!(drawn, expected);
    assert_eq!(context.parameter("n"), Some(10.0));
    assert_eq!(context.parameter("m"), None);
}

#[test]
fn term_names_are_shared_between_fits_when_they_repeat() {
    let (mut rows, mut names) = (Vec::new(), TermNames::default());
    let mut sink = Estimates::new(&mut rows, &mut names);
    sink.push("x", TermKind::Fixed, 1.0).se = Some(0.5);
    sink.push_named(|s| s.push_str("sigma"), TermKind::Variance, 2.0);
    let first: Vec<Arc<str>> = rows.iter().map(|e| e.term.clone()).collect();
    assert_eq!(rows[0].values()[..2], [Some(1.0), Some(0.5)]);
    rows.clear();
    let mut sink = Estimates::new(&mut rows, &mut names);
    sink.push("x", TermKind::Fixed, 3.0);
    sink.push_named(|s| s.push_str("tau"), TermKind::Variance, 4.0);
    assert!(Arc::ptr_eq(&rows[0].term, &first[0]), "same name: reused");
    assert_eq!(
        &*rows[1].term, "tau",
        "a new name at a slot replaces the old"
    );
}

#[test]
fn statuses_and_kinds_round_trip_their_stored_words() {
    for status in FitStatus::ALL {
        assert_eq!(FitStatus::parse(status.as_str()), Some(status));
    }
    assert_eq!(FitStatus::parse("okay"), None);
    for kind in [TermKind::Fixed, TermKind::Variance] {
        assert_eq!(TermKind::parse(kind.as_str()), Some(kind));
    }
}

#[test]
fn the_registry_names_its_kinds_and_replaces_by_name() {
    let registry = Registry::builtin();
    let all = ["lmm", "ols", "glm", "glmm", "python", "r", "command"];
    assert_eq!(registry.names(), all);
    let registry = registry.with(OlsKind);
    let mut names = registry.names();
    names.sort_unstable();
    assert_eq!(
        names,
        ["command", "glm", "glmm", "lmm", "ols", "python", "r"],
        "replaced, not added"
    );
    assert!(registry.kind("gee").is_none());
}
