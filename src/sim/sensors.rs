//! `ipmitool sensor` style tables for Supermicro and Dell BMCs (001 "eq/sensors"). Readings
//! vary a little with the server and the time of day, and reflect the power state.

use crate::store::servers::Server;

fn row(name: &str, reading: &str, status: &str) -> String {
    format!("{name:<17}| {reading:<18}| {status}\n")
}

/// Small deterministic jitter in `0..span` from the server id and the time (changes every 5 minutes).
fn jitter(server_id: i64, now: i64, salt: i64, span: i64) -> i64 {
    let mut x = (server_id as u64)
        ^ ((now / 300) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (salt as u64) << 17;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    (x % span.max(1) as u64) as i64
}

/// The sensor table of a bare-metal server.
pub fn table(s: &Server, now: i64) -> String {
    let on = s.power == "on";
    let j = |salt, span| jitter(s.id, now, salt, span);
    let mut out = String::new();
    if s.ipmi_model.to_ascii_lowercase().contains("idrac") {
        out += &row("Inlet Temp", &format!("{} degrees C", 21 + j(1, 4)), "ok");
        if on {
            out += &row("Exhaust Temp", &format!("{} degrees C", 33 + j(2, 6)), "ok");
            out += &row("Temp", &format!("{} degrees C", 45 + j(3, 12)), "ok");
            out += &row("Temp", &format!("{} degrees C", 43 + j(4, 12)), "ok");
            for fan in 1..=6 {
                out += &row(
                    &format!("Fan{fan}"),
                    &format!("{} RPM", 5400 + 120 * j(10 + fan, 8)),
                    "ok",
                );
            }
            out += &row(
                "Current 1",
                &format!("{}.{} Amps", j(20, 2), 2 + j(21, 6)),
                "ok",
            );
            out += &row("Voltage 1", &format!("{} Volts", 228 + j(22, 6)), "ok");
            out += &row(
                "Pwr Consumption",
                &format!("{} Watts", 182 + 4 * j(23, 20)),
                "ok",
            );
        } else {
            out += &row("Exhaust Temp", "no reading", "ns");
            out += &row("Temp", "no reading", "ns");
            for fan in 1..=6 {
                out += &row(&format!("Fan{fan}"), "no reading", "ns");
            }
            out += &row("Pwr Consumption", "0 Watts", "ok");
        }
        out += &row("PS Redundancy", "0x01", "ok");
        return out;
    }
    let temp = |base: i64, salt| {
        if on {
            format!("{} degrees C", base + j(salt, 5))
        } else {
            "no reading".into()
        }
    };
    let st = if on { "ok" } else { "ns" };
    out += &row("CPU Temp", &temp(36, 1), st);
    out += &row("PCH Temp", &temp(37, 2), st);
    out += &row("System Temp", &format!("{} degrees C", 24 + j(3, 4)), "ok");
    out += &row("Peripheral Temp", &temp(33, 4), st);
    out += &row("VcpuVRM Temp", &temp(34, 5), st);
    out += &row("VmemABVRM Temp", &temp(31, 6), st);
    out += &row("P1-DIMMA1 Temp", &temp(26, 7), st);
    out += &row("P1-DIMMB1 Temp", &temp(26, 8), st);
    out += &row("P1-DIMMC1 Temp", "no reading", "ns");
    out += &row(
        "FAN1",
        &if on {
            format!("{} RPM", 3000 + 100 * j(9, 4))
        } else {
            "no reading".into()
        },
        st,
    );
    out += &row(
        "FAN2",
        &if on {
            format!("{} RPM", 3000 + 100 * j(10, 4))
        } else {
            "no reading".into()
        },
        st,
    );
    if s.r#type == "GPU" {
        for g in 0..4 {
            out += &row(&format!("GPU{} Temp", g + 1), &temp(48, 30 + g), st);
        }
    }
    let volts = |v: f64, salt| format!("{:.2} Volts", v + (j(salt, 5) as f64 - 2.0) / 100.0);
    out += &row("12V", &volts(12.06, 11), "ok");
    out += &row("5VCC", &volts(5.08, 12), "ok");
    out += &row("3.3VCC", &volts(3.33, 13), "ok");
    out += &row("VBAT", &volts(3.0, 14), "ok");
    out += &row(
        "Vcpu",
        &if on {
            volts(1.84, 15)
        } else {
            "no reading".into()
        },
        st,
    );
    out += &row("5VSB", &volts(5.10, 16), "ok");
    out += &row("3.3VSB", &volts(3.27, 17), "ok");
    out += &row("1.2V BMC", &volts(1.23, 18), "ok");
    out += &row("PS Status", "0x01", "ok");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::power::tests::server;

    #[test]
    fn a_powered_off_board_has_no_cpu_reading() {
        let t = table(&server("bm", "off", "Supermicro"), 1_700_000_000);
        assert!(t.contains("CPU Temp         | no reading        | ns\n"));
        let t = table(&server("bm", "on", "Supermicro"), 1_700_000_000);
        assert!(t.lines().next().unwrap_or("").contains("degrees C"));
        let d = table(&server("bm", "on", "iDRAC9"), 1_700_000_000);
        assert!(d.contains("Inlet Temp") && d.contains("Pwr Consumption"));
    }
}
