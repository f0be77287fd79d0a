//! What orders and installs cost (001 "eq/order_instance", billing plans): the invoice
//! lines of an order (the server for its billing period, a Windows licence per core, paid
//! software, a paid traffic plan, extra IPv4 addresses), the licences a reinstall adds,
//! billing cycles, and the eq/show `licenses` an install leaves. Amounts are EUR cents.

use serde_json::{json, Value};

use super::catalogue::{self, Catalogue, Os, Software, TrafficPlan, PERIODS};
use super::ordering::Target;
use crate::error::{Error, Result};

/// Monthly price (EUR) of each public IPv4 address beyond the first.
pub const EXTRA_IPV4_MONTHLY: f64 = 3.0;

/// EUR to cents, rounded.
pub fn cents(eur: f64) -> i64 {
    (eur * 100.0).round() as i64
}

/// Months of a `deploy_period` (monthly, quarterly, semi-annually, annually).
pub fn months_of(period: &str) -> Result<i64> {
    PERIODS
        .iter()
        .find(|p| p.0 == period)
        .map(|p| p.1)
        .ok_or_else(|| {
            Error::invalid("deploy_period must be monthly, quarterly, semi-annually or annually")
        })
}

/// eq/show `billing_cycle` of a server billed every `months`.
pub fn billing_cycle(months: i64) -> &'static str {
    match months {
        1 => "Monthly",
        3 => "Quarterly",
        6 => "Semi-Annually",
        _ => "Annually",
    }
}

/// When a server ordered at `now` for `months` falls due (30-day months).
pub fn due_date(now: i64, months: i64) -> i64 {
    now + months * 30 * 86_400
}

/// What the server itself costs each billing period (period discount included), in cents.
pub fn recurring_cents(t: &Target, months: i64) -> i64 {
    cents(catalogue::period_price(t.monthly, months))
}

/// One invoice line; the server it is for is added when the invoice is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Hosting, Addon, Traffic
    pub kind: String,
    pub description: String,
    pub cents: i64,
}

impl Line {
    fn new(kind: &str, description: String, cents: i64) -> Line {
        Line {
            kind: kind.to_owned(),
            description,
            cents,
        }
    }

    /// The line as an invoice item of a server: type, server id, description, cents.
    pub fn for_server(self, server_id: i64) -> (String, i64, String, i64) {
        (self.kind, server_id, self.description, self.cents)
    }
}

/// The invoice lines of an order for `months` (`period` names them): the server, a Windows
/// licence per core, paid software, a paid traffic plan, `extra_ips` additional IPv4
/// addresses.
pub fn invoice_lines(
    t: &Target,
    os: Option<&Os>,
    soft: Option<&Software>,
    plan: &TrafficPlan,
    extra_ips: i64,
    period: &str,
    months: i64,
) -> Vec<Line> {
    let m = months as f64;
    let mut lines = vec![Line::new(
        "Hosting",
        format!("{} {} ({period})", t.server_type, t.description),
        recurring_cents(t, months),
    )];
    lines.extend(licence_lines(os, soft, t.hardware.cores(), months));
    if plan.price > 0.0 {
        lines.push(Line::new(
            "Traffic",
            format!("Traffic plan {}", plan.name),
            cents(plan.price * m),
        ));
    }
    if extra_ips > 0 {
        lines.push(Line::new(
            "Addon",
            format!("{extra_ips} additional IPv4 address(es)"),
            cents(EXTRA_IPV4_MONTHLY * extra_ips as f64 * m),
        ));
    }
    lines
}

/// The paid licences of an install on `cores` cores, for `months`: Windows per core, paid
/// software. Free OS and software cost nothing and get no line.
pub fn licence_lines(
    os: Option<&Os>,
    soft: Option<&Software>,
    cores: i64,
    months: i64,
) -> Vec<Line> {
    let m = months as f64;
    let mut lines = Vec::new();
    if let Some(o) = os.filter(|o| o.windows) {
        lines.push(Line::new(
            "Addon",
            format!("{} licence ({cores} cores)", o.name),
            cents(o.monthly(cores) * m),
        ));
    }
    if let Some(s) = soft.filter(|s| s.price > 0.0) {
        lines.push(Line::new(
            "Addon",
            format!("{} licence", s.name),
            cents(s.price * m),
        ));
    }
    lines
}

/// Ids of the licences in eq/show `licenses` (JSON text); none when it does not parse.
pub fn licence_ids(licences: &str) -> Vec<i64> {
    serde_json::from_str::<Vec<Value>>(licences)
        .unwrap_or_default()
        .iter()
        .filter_map(|l| l["id"].as_i64())
        .collect()
}

/// The licences a reinstall adds, a month each, leaving out those the server already holds
/// (`held`: licence ids).
pub fn reinstall_lines(
    held: &[i64],
    cores: i64,
    os: Option<&Os>,
    soft: Option<&Software>,
) -> Vec<Line> {
    let os = os.filter(|o| !held.contains(&o.id));
    let soft = soft.filter(|sw| !held.contains(&sw.id));
    licence_lines(os, soft, cores, 1)
}

/// eq/show `licenses` after an install, from the `current` list (JSON text): licences
/// bought apart from installs (a panel on an address) stay; those of the previous OS and
/// software give way to a Windows licence for the server's cores and one for paid
/// software, as 001 lists them (`id`, `name`, `amount`, `date_buy` = `bought`).
pub fn installed_licences(
    c: &Catalogue,
    current: &str,
    cores: i64,
    install: (Option<&Os>, Option<&Software>),
    bought: &str,
) -> Value {
    let (os, soft) = install;
    let from_an_install = |l: &Value| {
        l["id"]
            .as_i64()
            .is_some_and(|id| c.os(id).is_some() || c.software(id).is_some())
    };
    let mut list: Vec<Value> = serde_json::from_str::<Vec<Value>>(current)
        .unwrap_or_default()
        .into_iter()
        .filter(|l| !from_an_install(l))
        .collect();
    if let Some(o) = os.filter(|o| o.windows) {
        list.push(
            json!({"id": o.id, "name": format!("{} ({cores} cores)", o.name),
                         "amount": cores, "date_buy": bought}),
        );
    }
    if let Some(s) = soft.filter(|s| s.price > 0.0) {
        list.push(json!({"id": s.id, "name": s.name, "amount": 1, "date_buy": bought}));
    }
    Value::Array(list)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ordering::{target, Request};

    fn cat() -> Catalogue {
        Catalogue::builtin().expect("catalogue")
    }

    /// vm.mini in NL: 4 vCores, 9 EUR a month.
    fn mini(c: &Catalogue) -> Target {
        let req = Request {
            preset: "vm.mini".into(),
            location: "NL".into(),
            ..Request::default()
        };
        target(c, &req).expect("vm.mini")
    }

    fn amounts(lines: &[Line]) -> Vec<(&str, i64)> {
        lines.iter().map(|l| (l.kind.as_str(), l.cents)).collect()
    }

    #[test]
    fn billing_periods_have_their_months_cycle_and_due_date() {
        let months: Vec<i64> = ["monthly", "quarterly", "semi-annually", "annually"]
            .iter()
            .map(|p| months_of(p).expect("period"))
            .collect();
        assert_eq!(months, [1, 3, 6, 12]);
        assert_eq!(
            months_of("weekly").expect_err("unknown").to_string(),
            "deploy_period must be monthly, quarterly, semi-annually or annually"
        );
        assert!(months_of("Monthly").is_err(), "the caller lowercases");
        let cycles: Vec<&str> = months.iter().map(|m| billing_cycle(*m)).collect();
        assert_eq!(
            cycles,
            ["Monthly", "Quarterly", "Semi-Annually", "Annually"]
        );
        assert_eq!(due_date(1_000, 3), 1_000 + 90 * 86_400);
        assert_eq!(
            (cents(26.19), cents(0.1 + 0.2), cents(3.0)),
            (2619, 30, 300)
        );
    }

    #[test]
    fn a_plain_order_is_one_hosting_line_at_the_period_price() {
        let c = cat();
        let t = mini(&c);
        let free_plan = c.plan(25).expect("3Tb");
        let lines = invoice_lines(&t, c.os(187), c.software(18), free_plan, 0, "monthly", 1);
        assert_eq!(
            lines,
            [Line {
                kind: "Hosting".into(),
                description: format!("VPS {} (monthly)", t.description),
                cents: 900,
            }]
        );
        // 3% off a quarter, 12% off a year.
        let q = invoice_lines(&t, None, None, free_plan, 0, "quarterly", 3);
        assert_eq!(amounts(&q), [("Hosting", 2619)]);
        assert!(q[0].description.ends_with("(quarterly)"));
        let y = invoice_lines(&t, None, None, free_plan, 0, "annually", 12);
        assert_eq!(amounts(&y), [("Hosting", 9504)]);
        assert_eq!(recurring_cents(&t, 12), 9504);
    }

    #[test]
    fn licences_paid_traffic_and_extra_addresses_are_lines_of_their_own() {
        let c = cat();
        let t = mini(&c);
        let paid_plan = c.plan(26).expect("10Tb");
        let lines = invoice_lines(&t, c.os(202), None, paid_plan, 2, "quarterly", 3);
        assert_eq!(
            amounts(&lines),
            [
                ("Hosting", 2619),
                ("Addon", 2400), // Windows: 2 EUR per core, 4 cores, 3 months
                ("Traffic", 1500),
                ("Addon", 1800), // 2 addresses at 3 EUR, 3 months
            ]
        );
        assert_eq!(
            lines[1].description,
            "Windows Server 2022 licence (4 cores)"
        );
        assert_eq!(lines[2].description, "Traffic plan 10Tb (1Gbps)");
        assert_eq!(lines[3].description, "2 additional IPv4 address(es)");
        let panel = licence_lines(c.os(205), c.software(38), 4, 1);
        assert_eq!(amounts(&panel), [("Addon", 1900)], "cPanel; Rocky is free");
        assert_eq!(panel[0].description, "cPanel licence");
        assert!(licence_lines(c.os(187), c.software(18), 4, 12).is_empty());
        assert_eq!(
            panel[0].clone().for_server(40150),
            ("Addon".to_owned(), 40150, "cPanel licence".to_owned(), 1900)
        );
    }

    #[test]
    fn a_reinstall_pays_a_month_of_the_licences_the_server_lacks() {
        let c = cat();
        let held =
            licence_ids(r#"[{"id": 196, "name": "Windows Server 2022 (8 cores)"}, {"id": "x"}]"#);
        assert_eq!(held, [196]);
        assert!(licence_ids("garbage").is_empty());
        let win_bm = c.os(196);
        assert!(
            reinstall_lines(&held, 8, win_bm, None).is_empty(),
            "already held"
        );
        let lines = reinstall_lines(&[], 8, win_bm, None);
        assert_eq!(amounts(&lines), [("Addon", 1600)]);
        assert_eq!(
            lines[0].description,
            "Windows Server 2022 licence (8 cores)"
        );
        let lines = reinstall_lines(&[205], 2, c.os(205), c.software(38));
        assert_eq!(amounts(&lines), [("Addon", 1900)]);
    }

    #[test]
    fn an_install_replaces_the_licences_of_the_previous_one() {
        let c = cat();
        let current = r#"[{"id": 9001, "name": "ISPmanager on 5.39.218.38", "amount": 1, "date_buy": "2024-01-01"},
                          {"id": 196, "name": "Windows Server 2022 (8 cores)", "amount": 8, "date_buy": "2024-01-01"},
                          {"id": 38, "name": "cPanel", "amount": 1, "date_buy": "2024-01-01"}]"#;
        let after = installed_licences(&c, current, 8, (c.os(187), c.software(18)), "2024-02-14");
        assert_eq!(
            after,
            json!([{"id": 9001, "name": "ISPmanager on 5.39.218.38", "amount": 1, "date_buy": "2024-01-01"}]),
            "free OS and software: only the licence bought apart stays"
        );
        let after = installed_licences(&c, current, 8, (c.os(196), None), "2024-02-14");
        assert_eq!(
            after[1],
            json!({"id": 196, "name": "Windows Server 2022 (8 cores)", "amount": 8, "date_buy": "2024-02-14"})
        );
        assert_eq!(after.as_array().map(Vec::len), Some(2));
        let after = installed_licences(&c, "[]", 2, (c.os(205), c.software(38)), "2024-02-14");
        assert_eq!(
            after,
            json!([{"id": 38, "name": "cPanel", "amount": 1, "date_buy": "2024-02-14"}])
        );
        assert_eq!(
            installed_licences(&c, "not json", 1, (None, None), "d"),
            json!([])
        );
    }
}
