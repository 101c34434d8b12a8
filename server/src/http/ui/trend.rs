//! The overview's trend charts, drawn on the server as inline SVG (no chart library reaches the
//! browser): one bar per hour or day, its failures stacked in the failure colour on its
//! successes, scaled to the busiest period of that chart. This module only works out the
//! geometry and the words; `overview.html` writes the elements, escaped like the rest of the
//! page. Each chart is an image with a `<title>` (its `aria-labelledby`), every bar has its own
//! `<title>` (the numbers on hover), and the figure's caption says the same in text.

use time::OffsetDateTime;

use super::time::Stamp;
use crate::service::status::trends::Series;

/// The drawing's width and height in its own units (`viewBox`); the page scales it to the
/// column, so it reads the same at 390 px and 1280 px.
pub const WIDTH: u32 = 240;
/// See [`WIDTH`].
pub const HEIGHT: u32 = 60;

/// One bar.
pub struct Bar {
    /// Left edge.
    pub x: String,
    /// Width.
    pub w: String,
    /// The successes' rectangle: top.
    pub ok_y: String,
    /// The successes' rectangle: height.
    pub ok_h: String,
    /// The failures' rectangle (on top of the successes): top.
    pub bad_y: String,
    /// The failures' rectangle: height.
    pub bad_h: String,
    /// `2026-12-07 09:00 UTC: 12 requests, 1 failed`.
    pub label: String,
}

/// One chart: a connection over one span.
pub struct Chart {
    /// Unique on the page (element ids).
    pub id: String,
    /// `okta: requests per hour, last 24 hours`.
    pub title: String,
    /// The bars, oldest first.
    pub bars: Vec<Bar>,
    /// Requests over the span.
    pub requests: u64,
    /// Failures over the span.
    pub failures: u64,
    /// The busiest period's start and its requests, when there was any request.
    pub peak: Option<(Stamp, u64)>,
    /// The span's first period's start.
    pub from: Stamp,
    /// `Last 24 hours`, `Last 7 days`.
    pub span: &'static str,
    /// `hour`, `day`.
    pub unit: &'static str,
    /// [`WIDTH`] and [`HEIGHT`], for the template.
    pub width: u32,
    /// See `width`.
    pub height: u32,
}

/// The charts of one connection.
pub struct TrendRow {
    /// The connection's name, or `None` for requests without a valid token.
    pub connection: Option<String>,
    /// Per hour over the last 24 hours, then per day over the last 7 days.
    pub charts: Vec<Chart>,
}

/// `12.5`, `3`: a coordinate without needless digits.
fn num(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// The chart of `series`, per hour over 24 hours (`daily` false) or per day over 7 days; `index`
/// tells the connection's charts apart on the page.
pub fn chart(series: &Series, daily: bool, index: usize, now: OffsetDateTime) -> Chart {
    let (key, span, unit) = if daily { ("d", "Last 7 days", "day") } else { ("h", "Last 24 hours", "hour") };
    let name = series.connection.as_deref().unwrap_or("requests without a valid token");
    let periods = &series.periods;
    let max = periods.iter().map(|p| p.requests).max().unwrap_or(0).max(1);
    let slot = f64::from(WIDTH) / periods.len().max(1) as f64;
    let gap = (slot * 0.15).min(2.0);
    let height = f64::from(HEIGHT);
    let scale = |n: u64| n as f64 / max as f64 * height;
    let bars = periods
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (all, bad) = (scale(p.requests), scale(p.failures));
            let ok = all - bad;
            let when = Stamp::new(&p.start, now).text;
            let when =
                if key == "d" { when.get(..10).unwrap_or(&when).to_owned() } else { when.replace(":00:00 ", ":00 ") };
            Bar {
                x: num(i as f64 * slot + gap / 2.0),
                w: num(slot - gap),
                ok_y: num(height - ok),
                ok_h: num(ok),
                bad_y: num(height - all),
                bad_h: num(bad),
                label: format!(
                    "{when}: {} {}, {} failed",
                    p.requests,
                    if p.requests == 1 { "request" } else { "requests" },
                    p.failures
                ),
            }
        })
        .collect();
    let (requests, failures) = series.totals();
    let peak = periods
        .iter()
        .filter(|p| p.requests > 0)
        .max_by_key(|p| (p.requests, std::cmp::Reverse(p.start.clone())))
        .map(|p| (Stamp::new(&p.start, now), p.requests));
    Chart {
        id: format!("trend-{key}-{index}"),
        title: format!("{name}: requests and failures per {unit}, {}", span.to_lowercase()),
        bars,
        requests,
        failures,
        peak,
        from: Stamp::new(periods.first().map_or("", |p| p.start.as_str()), now),
        span,
        unit,
        width: WIDTH,
        height: HEIGHT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::status::trends::Period;

    #[test]
    fn bars_scale_to_the_busiest_period_and_stack_failures() {
        let p = |start: &str, requests, failures| Period { start: start.into(), requests, failures, limited: 0 };
        let s = Series {
            connection: Some("okta".into()),
            periods: vec![p("2026-12-07T10:00:00.000Z", 4, 1), p("2026-12-07T11:00:00.000Z", 0, 0)],
        };
        let now = time::macros::datetime!(2026-12-07 11:30 UTC);
        let c = chart(&s, false, 0, now);
        assert_eq!((c.requests, c.failures, c.id.as_str()), (4, 1, "trend-h-0"));
        let b = &c.bars[0];
        assert_eq!((b.x.as_str(), b.w.as_str()), ("1", "118"));
        assert_eq!((b.bad_y.as_str(), b.bad_h.as_str(), b.ok_y.as_str(), b.ok_h.as_str()), ("0", "15", "15", "45"));
        assert_eq!(b.label, "2026-12-07 10:00 UTC: 4 requests, 1 failed");
        assert_eq!((c.bars[1].ok_h.as_str(), c.bars[1].bad_h.as_str()), ("0", "0"));
        assert_eq!(c.peak.as_ref().map(|(s, n)| (s.iso.as_str(), *n)), Some(("2026-12-07T10:00:00.000Z", 4)));
        let quiet = Series { connection: None, periods: vec![p("2026-12-07T10:00:00.000Z", 0, 0)] };
        let q = chart(&quiet, true, 1, now);
        assert!(q.peak.is_none() && q.title.starts_with("requests without a valid token"));
        assert_eq!(q.bars[0].label, "2026-12-07: 0 requests, 0 failed");
    }
}
