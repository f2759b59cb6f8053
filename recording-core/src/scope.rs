//! Scoping recordings by the current test.

/// The name of the test running now, with the crate it is compiled in, such as
/// `my_app::tests::chat_works` (a unit test) or `chat::smoke::hello` (`hello` in module
/// `smoke` of `tests/chat.rs`): a scope unique to each test of a package, even where
/// two test binaries have a test of the same path.
///
/// The test's path comes from the thread the test harness runs the test on (libtest and
/// cargo-nextest name it after the test, without the crate), so it names the test even
/// when called in a helper function the test calls; the crate is the first segment of
/// `module_path!()` where the macro is written. Neither depends on the compiler
/// version. On
/// a thread the harness did not name (a task spawned onto a runtime's worker threads,
/// a program's main thread) it falls back to the path of the function it is written
/// in, from `std::any::type_name`, whose exact text Rust does not promise to keep
/// between compiler versions: there, pass a name of your own to `Recording::scope`.
///
/// ```
/// use recording_core::{test_name, Recording};
/// # struct Client;
/// // In a test, this is the test's name; here (a doctest's main thread) the path of
/// // the function around it.
/// let scope = test_name!();
/// assert!(!scope.is_empty());
/// # let _ = Recording::new(Client).scope(scope);
/// ```
#[macro_export]
macro_rules! test_name {
    () => {{
        fn __recording_scope_marker() {}
        $crate::scope::test_name_or(
            ::std::module_path!(),
            ::std::any::type_name_of_val(&__recording_scope_marker),
        )
    }};
}

/// The running test's name (see [`current_test`]) after the crate of `module` (a
/// `module_path!()`), or else the path of the function whose marker `marker` names.
/// Public for the macro; not meant to be called.
#[doc(hidden)]
pub fn test_name_or(module: &str, marker: &str) -> String {
    match current_test() {
        Some(test) => {
            let krate = module.split("::").next().unwrap_or(module);
            format!("{krate}::{test}")
        }
        None => function_path(marker),
    }
}

/// The name of the test running on this thread, as the test harness named the thread;
/// `None` on a thread it did not name.
pub fn current_test() -> Option<String> {
    let thread = std::thread::current();
    let name = thread.name()?;
    // A test's name is a Rust path (`module::test_name`); runtimes and pools name
    // their threads otherwise (`tokio-rt-worker`), and a program's first thread is
    // `main`.
    let is_path = name
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == ':');
    (is_path && name != "main").then(|| name.to_owned())
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
    /// A helper shared by tests, as suites have them.
    fn scope_from_a_helper() -> String {
        test_name!()
    }

    #[test]
    fn names_the_test_not_the_helper() {
        assert_eq!(
            test_name!(),
            "recording_core::scope::tests::names_the_test_not_the_helper"
        );
        assert_eq!(
            scope_from_a_helper(),
            "recording_core::scope::tests::names_the_test_not_the_helper"
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

    #[test]
    fn off_a_test_thread_it_falls_back_to_the_function_path() {
        let name = std::thread::Builder::new()
            .name("tokio-rt-worker".into())
            .spawn(|| test_name!())
            .expect("spawn")
            .join()
            .expect("join");
        assert_eq!(
            name,
            "recording_core::scope::tests::off_a_test_thread_it_falls_back_to_the_function_path"
        );
    }
}
