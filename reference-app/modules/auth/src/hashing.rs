//! Password hashing off the async workers: a fixed number of threads run argon2, behind a bounded queue.
//!
//! Argon2 is meant to be slow (tens of milliseconds of CPU and 19 MiB per hash at the standard cost). Run inline on
//! the async workers, a flood of logins would occupy every worker and stall every other request of the process,
//! the dashboard included. Here a login waits for one of `threads` hashing threads, so at most that many cores
//! hash at once and the async workers stay free; and when `queue` hashes are already waiting, a further one is
//! refused at once ([`PoolFull`], answered 503) instead of piling up work that would finish long after its client
//! gave up.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// The queue was full: the hash was not started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolFull;

/// What the pool has done, for tests and health reporting.
#[derive(Debug, Default)]
pub struct HashingStats {
    /// Hashes and verifications finished.
    pub completed: AtomicU64,
    /// Hashes refused because the queue was full.
    pub refused: AtomicU64,
    /// Hashes accepted and not yet started.
    pub waiting: AtomicUsize,
    /// Hashes running right now.
    pub running: AtomicUsize,
    /// The most hashes that ever ran at once.
    pub most_running: AtomicUsize,
}

/// A fixed set of hashing threads behind a bounded queue.
pub struct HashingPool {
    sender: SyncSender<Job>,
    stats: Arc<HashingStats>,
    threads: usize,
}

impl std::fmt::Debug for HashingPool {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("HashingPool").field("threads", &self.threads).finish()
    }
}

impl HashingPool {
    /// Starts `threads` hashing threads (at least one) that take work from a queue of at most `queue` waiting jobs.
    /// The threads end when the pool is dropped.
    pub fn new(threads: usize, queue: usize) -> std::io::Result<HashingPool> {
        let threads = threads.max(1);
        let (sender, receiver) = sync_channel::<Job>(queue);
        let receiver = Arc::new(Mutex::new(receiver));
        for index in 0..threads {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new().name(format!("password-hashing-{index}")).spawn(move || work(&receiver))?;
        }
        Ok(HashingPool { sender, stats: Arc::new(HashingStats::default()), threads })
    }

    /// Runs `job` on a hashing thread and waits for its result without blocking the async worker; refuses at once
    /// when the queue is full.
    pub async fn run<T: Send + 'static>(&self, job: impl FnOnce() -> T + Send + 'static) -> Result<T, PoolFull> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let stats = Arc::clone(&self.stats);
        let wrapped: Job = Box::new(move || {
            stats.waiting.fetch_sub(1, Ordering::SeqCst);
            let now_running = stats.running.fetch_add(1, Ordering::SeqCst) + 1;
            stats.most_running.fetch_max(now_running, Ordering::SeqCst);
            let result = job();
            stats.running.fetch_sub(1, Ordering::SeqCst);
            stats.completed.fetch_add(1, Ordering::SeqCst);
            // The caller may have gone away (its client disconnected); the work is done either way.
            let _ = answer.send(result);
        });
        // Counted before sending, so that a job that starts at once never takes the count below zero.
        self.stats.waiting.fetch_add(1, Ordering::SeqCst);
        match self.sender.try_send(wrapped) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.stats.waiting.fetch_sub(1, Ordering::SeqCst);
                self.stats.refused.fetch_add(1, Ordering::SeqCst);
                return Err(PoolFull);
            }
        }
        answered.await.map_err(|_| PoolFull)
    }

    /// What the pool has done so far.
    pub fn stats(&self) -> &HashingStats {
        &self.stats
    }
}

fn work(receiver: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while taking a job, never while running one.
        let job = match receiver.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_than_the_threads_run_at_once_and_a_full_queue_refuses() {
        let pool = Arc::new(HashingPool::new(2, 3).unwrap());
        // Hold both threads until released, so that the queue fills up behind them deterministically.
        let release = Arc::new(Barrier::new(3));
        let mut held = Vec::new();
        for _ in 0..2 {
            let pool = Arc::clone(&pool);
            let release = Arc::clone(&release);
            held.push(tokio::spawn(async move { pool.run(move || release.wait()).await }));
        }
        while pool.stats().running.load(Ordering::SeqCst) < 2 {
            tokio::task::yield_now().await;
        }
        // Three jobs fit in the queue; the fourth is refused without running.
        let mut queued = Vec::new();
        for value in 0..3 {
            let pool = Arc::clone(&pool);
            queued.push(tokio::spawn(async move { pool.run(move || value).await }));
        }
        while pool.stats().waiting.load(Ordering::SeqCst) < 3 {
            tokio::task::yield_now().await;
        }
        assert_eq!(pool.run(|| 99).await, Err(PoolFull));
        assert_eq!(pool.stats().refused.load(Ordering::SeqCst), 1);
        release.wait();
        for task in held {
            assert!(task.await.unwrap().is_ok());
        }
        for (value, task) in queued.into_iter().enumerate() {
            assert_eq!(task.await.unwrap(), Ok(value));
        }
        assert_eq!(pool.stats().most_running.load(Ordering::SeqCst), 2, "never more than two threads hash at once");
    }
}
