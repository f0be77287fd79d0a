//! One at a time per subject: attempts that must not overlap (logins of one key or user
//! from one client address, PIN checks of one counter) queue here, so parallel requests
//! cannot race a counter or wait out a delay side by side.
//!
//! A queue also knows how long it is: [`Gate::enter_within`] adds the time an attempt will
//! hold its turn (its throttling delay) to the queue's schedule, and refuses at once an
//! attempt whose turn would come too late, instead of letting it wait and then refusing.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

/// A subject's queue: its lock, and when the turns reserved in it are expected to end.
#[derive(Debug)]
struct Queue {
    lock: Arc<tokio::sync::Mutex<()>>,
    /// The end of the last reserved turn, counting each turn's announced hold.
    tail: Instant,
}

/// Per-subject queues; subjects nobody holds or waits for are forgotten.
#[derive(Debug, Default)]
pub struct Gate(std::sync::Mutex<HashMap<String, Queue>>);

/// A subject's turn; the holder keeps it until its outcome is recorded.
pub type Turn = tokio::sync::OwnedMutexGuard<()>;

/// The turn would come later than the caller is willing to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLate;

impl Gate {
    /// Waits for the subject's turn.
    pub async fn enter(&self, subject: &str) -> Turn {
        match self
            .enter_within(subject, Duration::MAX, |_| Duration::ZERO)
            .await
        {
            Ok(turn) => turn,
            Err(TooLate) => unreachable!("no wait is longer than Duration::MAX"),
        }
    }

    /// Waits for the subject's turn, which the caller will hold for about `hold(ahead)`
    /// (`ahead`: attempts holding or awaiting a turn in front of this one). When the turns
    /// already reserved would keep this one waiting longer than `limit`, nothing is
    /// reserved and the answer is `TooLate` at once.
    pub async fn enter_within(
        &self,
        subject: &str,
        limit: Duration,
        hold: impl FnOnce(usize) -> Duration,
    ) -> Result<Turn, TooLate> {
        let lock = self
            .reserve(subject, |wait| wait <= limit, hold)
            .ok_or(TooLate)?;
        Ok(lock.lock_owned().await)
    }

    /// Reserves a place at the end of the subject's queue if `accept(wait)` agrees with the
    /// wait the queue's schedule predicts; returns the lock to wait on.
    fn reserve(
        &self,
        subject: &str,
        accept: impl FnOnce(Duration) -> bool,
        hold: impl FnOnce(usize) -> Duration,
    ) -> Option<Arc<tokio::sync::Mutex<()>>> {
        let now = Instant::now();
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, q| Arc::strong_count(&q.lock) > 1);
        let queue = map.entry(subject.to_owned()).or_insert_with(|| Queue {
            lock: Default::default(),
            tail: now,
        });
        // Everyone else holding a clone of the lock holds or awaits a turn.
        let ahead = Arc::strong_count(&queue.lock) - 1;
        let start = if ahead == 0 { now } else { queue.tail.max(now) };
        if !accept(start - now) {
            return None;
        }
        queue.tail = start + hold(ahead);
        Some(queue.lock.clone())
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

    #[tokio::test]
    async fn a_turn_that_would_come_too_late_is_refused_at_once() {
        use futures_util::FutureExt;
        let gate = Arc::new(Gate::default());
        let limit = Duration::from_secs(2);
        let hold = |_| Duration::from_secs(1);
        let first = gate
            .enter_within("login:k@a", limit, hold)
            .await
            .expect("an empty queue");
        // Two more fit in the schedule (their turns come after 1 s and 2 s)...
        let mut waiting = Vec::new();
        for _ in 0..2 {
            let g = gate.clone();
            waiting.push(tokio::spawn(async move {
                g.enter_within("login:k@a", limit, hold).await.map(drop)
            }));
            tokio::task::yield_now().await;
        }
        // ...the fourth would wait 3 s: refused at the first poll, without waiting at all.
        let fourth = gate.enter_within("login:k@a", limit, hold).now_or_never();
        assert_eq!(fourth.map(|r| r.err()), Some(Some(TooLate)));
        // Another queue is not affected.
        assert!(gate.enter_within("login:k@b", limit, hold).await.is_ok());
        drop(first);
        for w in waiting {
            assert_eq!(w.await.expect("task"), Ok(()));
        }
        // Once the queue is empty its schedule is forgotten.
        assert!(gate.enter_within("login:k@a", limit, hold).await.is_ok());
    }

    #[tokio::test]
    async fn the_hold_is_told_how_many_are_ahead() {
        let gate = Gate::default();
        let mut seen = Vec::new();
        let first = gate
            .enter_within("s", Duration::from_secs(9), |n| {
                seen.push(n);
                Duration::ZERO
            })
            .await
            .expect("turn");
        let second = gate.reserve(
            "s",
            |_| true,
            |n| {
                seen.push(n);
                Duration::ZERO
            },
        );
        assert!(second.is_some());
        assert_eq!(seen, vec![0, 1]);
        drop(first);
    }
}
