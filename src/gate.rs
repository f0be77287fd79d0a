//! One at a time per subject: attempts that must not overlap (logins of one key or user,
//! PIN checks of one account) queue here, so parallel requests cannot race a counter or
//! wait out a delay side by side.

use std::collections::HashMap;
use std::sync::Arc;

/// Per-subject queues; subjects nobody waits for are forgotten.
#[derive(Debug, Default)]
pub struct Gate(std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

/// A subject's turn; the holder keeps it until its outcome is recorded.
pub type Turn = tokio::sync::OwnedMutexGuard<()>;

impl Gate {
    /// Waits for the subject's turn.
    pub async fn enter(&self, subject: &str) -> Turn {
        let queue = {
            let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
            map.retain(|_, q| Arc::strong_count(q) > 1);
            map.entry(subject.to_owned()).or_default().clone()
        };
        queue.lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_subject_waits_and_others_do_not() {
        let gate = Gate::default();
        let first = gate.enter("pin:1").await;
        // Another subject gets its turn while pin:1 is held...
        let _other = gate.enter("pin:2").await;
        // ...but pin:1 itself does not, until the first holder is done.
        let waiting =
            tokio::time::timeout(std::time::Duration::from_millis(50), gate.enter("pin:1"));
        assert!(
            waiting.await.is_err(),
            "a second turn while the first is held"
        );
        drop(first);
        let again = tokio::time::timeout(std::time::Duration::from_secs(5), gate.enter("pin:1"));
        assert!(again.await.is_ok());
    }
}
