//! Deterministic synthetic traffic of a port, shaped like real hosting traffic (a daily
//! cycle, weekday/weekend difference, noise), scaled so that its average agrees with the
//! server's traffic counters for the billing period (eq/show trafficPeriodIn/Out).

use crate::store::servers::Server;

/// One sample: inbound and outbound bits per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub at: i64,
    pub bps_in: f64,
    pub bps_out: f64,
}

fn noise(seed: u64, t: i64) -> f64 {
    let mut x = seed ^ (t as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 31;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 29;
    (x % 10_000) as f64 / 10_000.0
}

/// When the server's current traffic period began: traffic is counted per month, from the
/// monthly anniversaries of its due date, so this is the latest such day that is not after
/// `now` (and not before the server was registered).
pub fn period_start(server: &Server, now: i64) -> i64 {
    let Some(due) = chrono::DateTime::<chrono::Utc>::from_timestamp(server.due_date, 0) else {
        return now - 30 * 86_400;
    };
    (0..=36)
        .filter_map(|k| due.checked_sub_months(chrono::Months::new(k)))
        .map(|d| d.timestamp())
        .find(|d| *d <= now)
        .unwrap_or(now - 30 * 86_400)
        .max(server.reg_date)
}

/// Average rates (bps in, bps out) implied by the server's counters: the GB used since the
/// traffic period started, spread over the time elapsed. Secondary ports carry a fraction.
pub fn average_bps(server: &Server, main_port: bool, now: i64) -> (f64, f64) {
    // At least an hour, so that a period that has just begun does not spike.
    let elapsed = (now - period_start(server, now)).clamp(3_600, 31 * 86_400) as f64;
    let share = if main_port { 1.0 } else { 0.03 };
    let bps = |gb: f64| gb * 8e9 / elapsed * share;
    (bps(server.traffic_in_gb), bps(server.traffic_out_gb))
}

/// The rate at one moment: a daily cycle peaking in the evening, quieter weekends, noise.
pub fn rate_at(seed: u64, t: i64, avg_in: f64, avg_out: f64) -> Sample {
    let hour = (t.rem_euclid(86_400)) as f64 / 3600.0;
    let daily = 1.0 + 0.55 * ((hour - 14.0) / 24.0 * std::f64::consts::TAU).cos();
    let weekday = (t.div_euclid(86_400) + 4).rem_euclid(7); // 0 = Monday
    let weekly = if weekday >= 5 { 0.8 } else { 1.08 };
    let n_in = 0.85 + 0.3 * noise(seed, t / 300);
    let n_out = 0.85 + 0.3 * noise(seed ^ 0xABCD, t / 300);
    Sample {
        at: t,
        bps_in: avg_in * daily * weekly * n_in,
        bps_out: avg_out * daily * weekly * n_out,
    }
}

/// The finest resolution of the series (Cacti's 5-minute polling).
pub const RESOLUTION: i64 = 300;

/// Samples from `start` to `end` every `step` seconds; each sample is the average of the
/// 5-minute rates inside its step, as a Cacti RRA consolidates them, so coarse graphs
/// (monthly, yearly) agree with the counters instead of catching one hour of the day.
pub fn series(
    seed: u64,
    start: i64,
    end: i64,
    step: i64,
    avg_in: f64,
    avg_out: f64,
) -> Vec<Sample> {
    let step = step.max(1);
    let fine = RESOLUTION.min(step);
    let per_bucket = (step / fine).max(1);
    let first = start - start.rem_euclid(step);
    (0..)
        .map(|i| first + i * step)
        .take_while(|t| *t <= end)
        .map(|t| {
            let (mut sum_in, mut sum_out) = (0.0, 0.0);
            for k in 0..per_bucket {
                let s = rate_at(seed, t + k * fine, avg_in, avg_out);
                sum_in += s.bps_in;
                sum_out += s.bps_out;
            }
            let n = per_bucket as f64;
            Sample {
                at: t,
                bps_in: sum_in / n,
                bps_out: sum_out / n,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_series_is_deterministic_and_averages_near_the_counters() {
        let a = series(7, 0, 30 * 86_400, 3600, 1e6, 4e6);
        let b = series(7, 0, 30 * 86_400, 3600, 1e6, 4e6);
        assert_eq!(a, b);
        let avg_out = a.iter().map(|s| s.bps_out).sum::<f64>() / a.len() as f64;
        assert!((avg_out / 4e6 - 1.0).abs() < 0.15, "average {avg_out}");
        assert!(a.iter().all(|s| s.bps_in > 0.0));
    }

    #[test]
    fn coarse_series_average_their_buckets_and_agree_with_the_counters() {
        // Day-long buckets starting at midnight would sample the night trough (about half
        // the average) if they took one point instead of averaging.
        for (span, step) in [(86_400, 300), (30 * 86_400, 7_200), (365 * 86_400, 86_400)] {
            let s = series(11, 0, span, step, 2e6, 8e6);
            let avg_out = s.iter().map(|x| x.bps_out).sum::<f64>() / s.len() as f64;
            let avg_in = s.iter().map(|x| x.bps_in).sum::<f64>() / s.len() as f64;
            assert!(
                (avg_out / 8e6 - 1.0).abs() < 0.1,
                "step {step}: out {avg_out}"
            );
            assert!((avg_in / 2e6 - 1.0).abs() < 0.1, "step {step}: in {avg_in}");
        }
    }
}
