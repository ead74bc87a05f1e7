//! Allocator tuning for a small, steady memory footprint (glibc only).
//!
//! argon2id allocates 19 MiB per hash. glibc raises its mmap threshold dynamically after such
//! blocks are freed, so later hashes come from the heap and the memory is kept after a login
//! burst. A fixed threshold keeps large blocks on mmap (returned to the system on free), and a
//! cap on malloc arenas stops every worker thread from growing its own heap.

/// Blocks at least this large are always mmapped.
const MMAP_THRESHOLD: i32 = 1024 * 1024;
/// At most this many malloc arenas.
const ARENA_MAX: i32 = 2;

/// Applies the settings; call once at start, before threads are spawned.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(
    unsafe_code,
    reason = "mallopt is the only interface to these glibc settings"
)]
pub fn tune_allocator() {
    // SAFETY: mallopt only changes allocator parameters; it is called before other threads
    // exist and takes plain integers.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_ARENA_MAX, ARENA_MAX);
    }
}

/// No tuning needed on other allocators.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune_allocator() {}
