//! The allocator's settings (glibc malloc on Linux; elsewhere these do nothing): large
//! blocks mapped on their own, at most two arenas per core, and freed memory given back to
//! the system once a burst of traffic is over.

use std::time::Duration;

/// Makes the allocator give argon2's memory back to the system as soon as it is freed.
/// Each computation takes `memory_kib` (19 MiB by default) in one block, on a blocking
/// thread. glibc maps blocks over its mmap threshold directly (and unmaps them on free), but
/// it raises that threshold to the size of the first such block freed, after which these
/// blocks are carved from per-thread arenas and stay there: hundreds of MB after a burst of
/// password and PIN checks. A fixed threshold of 1 MiB keeps every large block mapped.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn map_large_blocks() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: `mallopt` takes two integers and only changes the allocator's own
        // settings, under its lock; any thread may call it at any time.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        }
    });
}

/// Other platforms' allocators give large blocks back on their own.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn map_large_blocks() {}

/// Caps glibc's malloc arenas at two per core; the binary calls it first thing, before any
/// thread starts. glibc's own cap is eight per core, and each thread that allocates while
/// another holds an arena's lock gets an arena of its own, which then keeps the memory
/// freed in it: after a burst of requests, megabytes that no one uses. Two per core (the
/// runtime runs one worker per core) measured 19.4 MB resident after the benchmark's
/// traffic instead of 20.9, with throughput unchanged; one per core cost throughput.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn limit_arenas() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let arenas = i32::try_from(cores.saturating_mul(2).max(2)).unwrap_or(i32::MAX);
    // SAFETY: as in `map_large_blocks`: two integers, the allocator's own settings.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, arenas);
    }
}

/// Other platforms' allocators are left as they are.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn limit_arenas() {}

/// Gives the memory freed in the allocator's arenas back to the system (`malloc_trim`):
/// whole free pages inside the arenas, not only at their ends. Returns whether any was.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn give_back() -> bool {
    // SAFETY: `malloc_trim` takes an integer and works under the arenas' own locks; any
    // thread may call it at any time.
    unsafe { libc::malloc_trim(0) == 1 }
}

/// Other platforms' allocators give memory back on their own.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn give_back() -> bool {
    false
}

/// How often [`give_back_when_quiet`] looks at the process's CPU time.
pub const LOOK_EVERY: Duration = Duration::from_secs(2);

/// When a burst is over: the CPU time of each look's interval, in clock ticks (1/100 s).
#[derive(Debug, Default)]
pub struct Quiet {
    busy: bool,
}

impl Quiet {
    /// More than this in one interval (5% of a core over 2 s) is a burst.
    const BUSY: u64 = 10;
    /// At most this (one tick) is quiet: the worker's and the pruner's own rounds.
    const QUIET: u64 = 1;

    /// Takes the CPU time the process used in the last interval; true once, on the first
    /// quiet interval after a busy one: the moment to give freed memory back.
    pub fn step(&mut self, ticks: u64) -> bool {
        if ticks > Self::BUSY {
            self.busy = true;
            false
        } else if self.busy && ticks <= Self::QUIET {
            self.busy = false;
            true
        } else {
            false
        }
    }
}

/// The process's CPU time so far (user + system, every thread), in clock ticks, from
/// `/proc/self/stat`; None where there is no such file.
pub fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // utime and stime are the 14th and 15th fields; `rest` starts at the 3rd.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Runs for the process: after a burst of traffic, once the process is quiet, gives the
/// memory freed in the allocator's arenas back to the system. glibc keeps what a burst
/// freed for the next one; an emulator sits idle between test runs, so holding it only
/// inflates its resident set. Costs one read of `/proc/self/stat` every two seconds.
pub async fn give_back_when_quiet() {
    let Some(mut last) = cpu_ticks() else {
        return;
    };
    let mut quiet = Quiet::default();
    let mut every = tokio::time::interval(LOOK_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let Some(now) = cpu_ticks() else {
            return;
        };
        if quiet.step(now.saturating_sub(last)) {
            let gave = give_back();
            tracing::debug!(gave, "the burst is over: freed memory given back");
        }
        last = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_given_back_once_on_the_first_quiet_interval_after_a_burst() {
        let mut q = Quiet::default();
        // Quiet from the start: nothing to give back.
        assert!(!q.step(0));
        assert!(!q.step(1));
        // Light work (the worker's rounds) is no burst.
        assert!(!q.step(5));
        assert!(!q.step(0));
        // A burst, still running, then over: once.
        assert!(!q.step(150));
        assert!(!q.step(40));
        assert!(!q.step(4), "winding down is not quiet yet");
        assert!(q.step(1));
        assert!(!q.step(0));
        assert!(!q.step(0));
        // The next burst: once more.
        assert!(!q.step(11));
        assert!(q.step(0));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_process_cpu_time_is_read_and_grows_with_work() {
        let before = cpu_ticks().expect("/proc/self/stat");
        let start = std::time::Instant::now();
        let mut x = 0u64;
        // Busy for 100 ms of CPU (the tick is 10 ms); counted from the clock, not a guess.
        while start.elapsed() < Duration::from_millis(100) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let after = cpu_ticks().expect("/proc/self/stat");
        assert!(after > before, "{before} -> {after}");
    }
}
