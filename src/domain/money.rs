//! Money as the billing module takes and shows it: integer cents inside, two-decimal
//! strings on the wire; amounts a client sends are checked strictly (no negative, zero,
//! non-numeric or absurd amount is ever taken).

/// The largest amount one request may move: a million in the account's currency.
pub const MAX_CENTS: i64 = 100_000_000;

/// An amount a client sent ("300", "12.5", "12.50"): positive, at most two decimals, at
/// most [`MAX_CENTS`]. The error says what is wrong, for the client.
pub fn parse_amount(raw: &str) -> Result<i64, String> {
    let s = raw.trim();
    let shown: String = s.chars().take(24).collect();
    let bad = || {
        format!("invalid amount '{shown}', expected a positive number with at most two decimals")
    };
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty()
        || whole.len() > 9
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 2
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || (s.contains('.') && frac.is_empty())
    {
        return Err(bad());
    }
    let frac_cents = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().map_err(|_| bad())? * 10,
        _ => frac.parse::<i64>().map_err(|_| bad())?,
    };
    let cents = whole.parse::<i64>().map_err(|_| bad())? * 100 + frac_cents;
    if cents <= 0 {
        return Err(format!(
            "invalid amount '{shown}', it must be greater than zero"
        ));
    }
    if cents > MAX_CENTS {
        return Err(format!(
            "invalid amount '{shown}', at most {} per request",
            cents_str(MAX_CENTS)
        ));
    }
    Ok(cents)
}

/// 99839 -> "998.39", -500 -> "-5.00".
pub fn cents_str(c: i64) -> String {
    let sign = if c < 0 { "-" } else { "" };
    format!(
        "{sign}{}.{:02}",
        c.unsigned_abs() / 100,
        c.unsigned_abs() % 100
    )
}

/// Months in a billing cycle ("Monthly" 1 ... "Biennially" 24; unknown cycles count as one).
pub fn cycle_months(cycle: &str) -> u32 {
    match cycle.to_ascii_lowercase().as_str() {
        "quarterly" => 3,
        "semi-annually" | "semiannually" => 6,
        "annually" => 12,
        "biennially" => 24,
        "triennially" => 36,
        _ => 1,
    }
}

/// The due date one billing cycle after `due` (calendar months, as WHMCS counts them).
pub fn next_due(due: i64, cycle: &str) -> i64 {
    let months = cycle_months(cycle);
    chrono::DateTime::<chrono::Utc>::from_timestamp(due, 0)
        .and_then(|d| d.checked_add_months(chrono::Months::new(months)))
        .map(|d| d.timestamp())
        .unwrap_or(due + i64::from(months) * 30 * 86_400)
}

/// The due date one billing cycle before `due`.
pub fn previous_due(due: i64, cycle: &str) -> i64 {
    let months = cycle_months(cycle);
    chrono::DateTime::<chrono::Utc>::from_timestamp(due, 0)
        .and_then(|d| d.checked_sub_months(chrono::Months::new(months)))
        .map(|d| d.timestamp())
        .unwrap_or(due - i64::from(months) * 30 * 86_400)
}

/// The part of a period's price that the unused time from `now` to `due` is worth: whole
/// unused days over the period's days, rounded down to the cent, never more than the price.
pub fn pro_rata(recurring: i64, cycle: &str, now: i64, due: i64) -> i64 {
    if recurring <= 0 || now >= due {
        return 0;
    }
    let start = previous_due(due, cycle);
    let period_days = ((due - start) / 86_400).max(1);
    let unused_days = ((due - now) / 86_400).clamp(0, period_days);
    (i128::from(recurring) * i128::from(unused_days) / i128::from(period_days)) as i64
}

/// ISO 3166-1 alpha-2 country codes (billing_country, a contact's country).
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ \
BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET \
FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR \
IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN \
MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY \
QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR \
TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// Is this an ISO 3166-1 alpha-2 country code (upper case)?
pub fn valid_country(code: &str) -> bool {
    code.len() == 2 && COUNTRIES.split(' ').any(|c| c == code)
}

/// A plausible e-mail address: one `@`, a dotted domain, no spaces, at most 128 characters.
pub fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.len() <= 128
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The currency behind billing_currency 1, 2, 3.
pub fn currency_code(id: i64) -> Option<&'static str> {
    match id {
        1 => Some("USD"),
        2 => Some("EUR"),
        3 => Some("RUB"),
        _ => None,
    }
}

/// billing_currency of a currency code (get_client `currency`).
pub fn currency_id(code: &str) -> i64 {
    match code {
        "USD" => 1,
        "RUB" => 3,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact_positive_and_bounded() {
        assert_eq!(parse_amount("300"), Ok(30_000));
        assert_eq!(parse_amount(" 12.5 "), Ok(1_250));
        assert_eq!(parse_amount("0.01"), Ok(1));
        assert_eq!(parse_amount("1000000"), Ok(MAX_CENTS));
        for bad in [
            "",
            "0",
            "0.00",
            "-5",
            "+5",
            "1e3",
            "12.345",
            "12.",
            ".5",
            "abc",
            "1,50",
            "NaN",
            "1000000.01",
            "99999999999999999999",
            "1.€",
            " ",
        ] {
            assert!(parse_amount(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn cents_print_with_two_decimals() {
        assert_eq!(cents_str(99_839), "998.39");
        assert_eq!(cents_str(-500), "-5.00");
        assert_eq!(cents_str(7), "0.07");
        assert!(cents_str(i64::MIN).starts_with("-92233720368547758"));
    }

    #[test]
    fn cycles_move_due_dates_by_calendar_months() {
        let jan31 = crate::clock::parse_date("2025-01-31").expect("date");
        assert_eq!(
            crate::clock::format_date(next_due(jan31, "Monthly")),
            "2025-02-28"
        );
        let d = crate::clock::parse_date("2025-03-15").expect("date");
        assert_eq!(
            crate::clock::format_date(next_due(d, "Quarterly")),
            "2025-06-15"
        );
        assert_eq!(
            crate::clock::format_date(previous_due(d, "Annually")),
            "2024-03-15"
        );
    }

    #[test]
    fn pro_rata_counts_whole_unused_days() {
        let due = crate::clock::parse_date("2025-05-01").expect("date");
        // April has 30 days: 10 unused days of 30.00 are 10.00.
        assert_eq!(pro_rata(3_000, "Monthly", due - 10 * 86_400, due), 1_000);
        assert_eq!(
            pro_rata(3_000, "Monthly", due - 10 * 86_400 - 3_600, due),
            1_000
        );
        assert_eq!(pro_rata(3_000, "Monthly", due, due), 0);
        assert_eq!(
            pro_rata(3_000, "Monthly", due - 90 * 86_400, due),
            3_000,
            "capped"
        );
        assert_eq!(pro_rata(0, "Monthly", 0, due), 0);
    }

    #[test]
    fn countries_emails_and_currencies() {
        assert!(valid_country("NL") && valid_country("FI") && !valid_country("XX"));
        assert!(!valid_country("nl") && !valid_country("NLD"));
        assert!(valid_email("a.b@example.com"));
        for bad in ["", "a", "a@b", "@b.c", "a@@b.c", "a b@c.d", "a@.c", "a@c."] {
            assert!(!valid_email(bad), "{bad}");
        }
        assert_eq!(currency_code(2), Some("EUR"));
        assert_eq!(currency_code(4), None);
        assert_eq!(currency_id("EUR"), 2);
    }
}
