//! Scoping recordings by the current test.

/// The path of the function this macro is called in, such as
/// `my_crate::tests::chat_works`: a scope unique to each test.
///
/// ```
/// use recording_core::{test_name, Recording};
/// # struct Client;
/// fn chat_works() -> String {
///     test_name!()
/// }
/// assert!(chat_works().ends_with("::chat_works"));
/// # let _ = Recording::new(Client).scope(test_name!());
/// ```
///
/// It works in `#[tokio::test] async fn`s too: the closures and async blocks the
/// function body sits in are stripped from the name.
#[macro_export]
macro_rules! test_name {
    () => {{
        fn __recording_scope_marker() {}
        $crate::scope::function_path(::std::any::type_name_of_val(&__recording_scope_marker))
    }};
}

/// Turns the type name of the marker function that [`test_name!`] defines into the
/// path of the function around it. Public for the macro; not meant to be called.
#[doc(hidden)]
pub fn function_path(marker: &str) -> String {
    let mut path = marker
        .strip_suffix("::__recording_scope_marker")
        .unwrap_or(marker);
    while let Some(outer) = path.strip_suffix("::{{closure}}") {
        path = outer;
    }
    path.to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_the_enclosing_test() {
        assert_eq!(
            test_name!(),
            "recording_core::scope::tests::names_the_enclosing_test"
        );
    }

    #[tokio::test]
    async fn names_the_enclosing_async_test() {
        let from_async_block = async { test_name!() }.await;
        assert_eq!(
            test_name!(),
            "recording_core::scope::tests::names_the_enclosing_async_test"
        );
        assert_eq!(from_async_block, test_name!());
    }
}
