//! Durations as people type them (`3s`, `10m`, `24h`, `7d`, `2w`, `1y`): the one parser every
//! flag, file key and form field that takes a duration uses, so they all accept the same forms
//! and refuse bad ones with the same words. A leaf: it imports nothing of the crate.

use std::time::Duration;

/// Parses `N` followed by a unit: `s`, `m` (or `min`), `h`, `d`, `w` or `y` (365 days); a bare
/// number is days. Zero is refused: every duration scimbox takes (a lifetime, an overlap, a
/// window) means nothing at zero. Usable as a clap `value_parser`.
pub fn parse(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("\"{s}\" is not a duration such as 90d, 12h, 30m"))?;
    let secs = match unit.trim() {
        "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" | "" => 86_400,
        "w" => 7 * 86_400,
        "y" => 365 * 86_400,
        other => return Err(format!("unknown duration unit \"{other}\" (use s, m, h, d, w or y)")),
    };
    if n == 0 {
        return Err("a duration must be longer than zero".into());
    }
    n.checked_mul(secs).map(Duration::from_secs).ok_or_else(|| format!("\"{s}\" is too long"))
}

/// `d` in the largest unit that divides it exactly (`86400s` is `1d`, `90s` is `90s`): the form
/// [`parse`] reads back, for showing a setting.
pub fn format(d: Duration) -> String {
    let secs = d.as_secs();
    let units = [("y", 365 * 86_400), ("w", 7 * 86_400), ("d", 86_400), ("h", 3600), ("m", 60)];
    match units.iter().find(|(_, n)| secs > 0 && secs.is_multiple_of(*n)) {
        Some((unit, n)) => format!("{}{unit}", secs / n),
        None => format!("{secs}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(parse("90d"), Ok(Duration::from_secs(90 * 86_400)));
        assert_eq!(parse("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse(" 10m "), Ok(Duration::from_secs(600)));
        assert_eq!(parse("7"), Ok(Duration::from_secs(7 * 86_400)), "a bare number is days");
        assert!(parse("0h").unwrap_err().contains("longer than zero"));
        assert!(parse("soon").unwrap_err().contains("not a duration"));
        assert!(parse("").unwrap_err().contains("not a duration"));
        assert!(parse("-3s").unwrap_err().contains("not a duration"));
        assert!(parse("5x").unwrap_err().contains("unknown duration unit"));
        assert!(parse("99999999999999999999y").is_err());
        assert!(parse("999999999999999999y").unwrap_err().contains("too long"));
    }

    #[test]
    fn formats_back() {
        for s in ["3s", "90s", "10m", "24h", "7d", "2w", "1y"] {
            let d = parse(s).expect(s);
            assert_eq!(parse(&format(d)), Ok(d), "{s}");
        }
        assert_eq!(format(Duration::from_secs(86_400)), "1d");
        assert_eq!(format(Duration::from_secs(90)), "90s");
        assert_eq!(format(Duration::ZERO), "0s");
    }
}
