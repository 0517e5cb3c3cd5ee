//! Locks by key within one process: work on one person (say) runs one at a time while work
//! on others goes on. Across PostgreSQL processes the same is done with advisory locks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OwnedMutexGuard;

/// A lock per key; cheap to clone. Keys nobody holds or waits for are forgotten.
#[derive(Debug, Clone, Default)]
pub struct KeyedLocks {
    locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

impl KeyedLocks {
    /// Waits for `key`'s turn; the turn lasts while the guard lives.
    pub async fn lock(&self, key: &str) -> OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.locks.lock().expect("the keyed lock map is never poisoned");
            // Whoever is alone with an entry (only the map holds it) may drop it.
            locks.retain(|_, lock| Arc::strong_count(lock) > 1);
            locks.entry(key.to_owned()).or_default().clone()
        };
        lock.lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn one_key_waits_for_its_holder_and_another_key_does_not() {
        let locks = KeyedLocks::default();
        let held = locks.lock("+77051234567").await;
        let other = tokio::time::timeout(Duration::from_millis(10), locks.lock("+77059999999")).await;
        assert!(other.is_ok(), "another key is free");
        let same = tokio::time::timeout(Duration::from_millis(10), locks.lock("+77051234567")).await;
        assert!(same.is_err(), "the same key waits");
        drop(held);
        assert!(tokio::time::timeout(Duration::from_millis(10), locks.lock("+77051234567")).await.is_ok());
    }
}
