//! Reusable argon2 working memory. Every hash needs `m_cost` KiB (19 MiB by default); taking
//! it fresh from the system each time costs page faults and zeroing on every login. Buffers
//! are kept for reuse while hashes are running and trimmed to one when none is, so a login
//! burst does not leave the process holding a buffer per core.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use argon2::Block;

/// Buffers of argon2 blocks.
#[derive(Debug, Default)]
pub struct Workspace {
    free: Mutex<Vec<Vec<Block>>>,
    running: AtomicUsize,
}

impl Workspace {
    /// Runs `f` with a buffer of `blocks` argon2 blocks.
    pub fn with<T>(&self, blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
        self.running.fetch_add(1, Ordering::SeqCst);
        let reused = self.lock().pop().filter(|b| b.len() == blocks);
        let mut buffer = reused.unwrap_or_else(|| vec![Block::new(); blocks]);
        let result = f(&mut buffer);
        let still_running = self.running.fetch_sub(1, Ordering::SeqCst) - 1;
        let mut free = self.lock();
        free.push(buffer);
        if still_running == 0 {
            free.truncate(1);
        }
        result
    }

    /// How many buffers are kept.
    pub fn kept(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Vec<Block>>> {
        self.free.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_reused_and_trimmed_when_idle() {
        let ws = Workspace::default();
        let first = ws.with(8, |b| b.as_ptr() as usize);
        let second = ws.with(8, |b| b.as_ptr() as usize);
        assert_eq!(first, second, "the buffer is reused");
        // Nested (concurrent) use needs a second buffer; both are trimmed to one afterwards.
        ws.with(8, |_| ws.with(8, |_| assert_eq!(ws.kept(), 0)));
        assert_eq!(ws.kept(), 1);
        // A different size is not reused.
        ws.with(4, |b| assert_eq!(b.len(), 4));
    }
}
