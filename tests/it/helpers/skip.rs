//! The one place that records a check this run did not make. A test that cannot check
//! anything here (a tool is missing, the check belongs to the other database's pass) calls
//! [`skip`] and returns; libtest still reports it "ok", so at process exit, after libtest's
//! `test result:` line, the run prints how many checks were skipped and why:
//!
//! ```text
//! nyckel tests: 2 checks skipped (these tests passed without making their check):
//!   SKIPPED mail_dkim::…: python3 cannot import dkimpy/PyNaCl (…)
//! ```
//!
//! CI sets `NYCKEL_TEST_REQUIRE_DKIMPY`, `_MOTO` and `_PREVIOUS`, which turn a missing tool
//! into a failure instead. A run that started a test server and skipped nothing prints `nyckel tests: no check
//! skipped`, so the line's absence is itself a sign that something is off.

use std::sync::{Mutex, Once};

/// `(test, reason)` in the order they were recorded.
static SKIPPED: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());
static AT_EXIT: Once = Once::new();

/// Records that the running test skips its check for `reason` (the test is the current
/// thread's name, which libtest sets to the test's path).
pub fn skip(reason: impl std::fmt::Display) {
    let test = std::thread::current()
        .name()
        .unwrap_or("(a test's helper thread)")
        .to_string();
    skip_named(&test, reason);
}

/// Records a skipped check under an explicit name.
pub fn skip_named(name: &str, reason: impl std::fmt::Display) {
    let reason = reason.to_string();
    eprintln!("SKIPPED {name}: {reason}");
    SKIPPED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((name.to_string(), reason));
    report_at_exit();
}

/// Makes sure the closing summary is printed when the test process exits (called by every
/// test database and every skip).
#[expect(
    unsafe_code,
    reason = "libc::atexit is the only hook that runs after libtest's summary"
)]
pub fn report_at_exit() {
    AT_EXIT.call_once(|| {
        // SAFETY: `at_exit` is an `extern "C" fn()` that does not unwind (it catches
        // panics) and only touches statics that live for the whole process.
        let registered = unsafe { libc::atexit(at_exit) };
        assert_eq!(registered, 0, "atexit registers the skip summary");
    });
}

/// The run's exit hooks, after libtest printed its summary: drop the PostgreSQL databases
/// this process still owns, then print the skipped checks.
extern "C" fn at_exit() {
    let _ = std::panic::catch_unwind(|| {
        super::db::drop_remaining();
        print_summary();
    });
}

fn print_summary() {
    use std::io::Write;
    let mut skipped = SKIPPED.lock().unwrap_or_else(|e| e.into_inner()).clone();
    skipped.sort();
    let mut text = String::new();
    if skipped.is_empty() {
        text.push_str("\nnyckel tests: no check skipped\n");
    } else {
        let n = skipped.len();
        text.push_str(&format!(
            "\nnyckel tests: {n} check{} skipped (these tests passed without making their check):\n",
            if n == 1 { "" } else { "s" }
        ));
        for (test, reason) in skipped.iter() {
            text.push_str(&format!("  SKIPPED {test}: {reason}\n"));
        }
    }
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}
