//! One of two test binaries with a test of the same path (`chat::smoke`): their
//! scopes must differ, or one would replay the other's recordings.

mod chat {
    #[test]
    fn smoke() {
        assert_eq!(recording_core::test_name!(), "scope_b::chat::smoke");
    }
}
