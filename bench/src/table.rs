//! A plain-text table: a header, section titles and rows whose first cell is a left-aligned label
//! and the rest right-aligned figures.

use std::fmt::Write as _;

enum Line {
    Section(String),
    Cells(Vec<String>),
}

/// A table under construction.
pub struct Table {
    head: Vec<String>,
    lines: Vec<Line>,
}

impl Table {
    /// A table with these column headings (the first one heads the labels).
    pub fn new(head: Vec<String>) -> Self {
        Self { head, lines: Vec::new() }
    }

    /// Starts a section: a blank line and `title`.
    pub fn section(&mut self, title: impl Into<String>) {
        self.lines.push(Line::Section(title.into()));
    }

    /// Adds a row; missing cells are left blank.
    pub fn row(&mut self, label: impl Into<String>, cells: Vec<String>) {
        let mut line = vec![label.into()];
        line.extend(cells);
        self.lines.push(Line::Cells(line));
    }

    /// The table as text, every line ending in a newline.
    pub fn render(&self) -> String {
        let widths = self.widths();
        let mut out = String::new();
        push_cells(&mut out, &self.head, &widths);
        let rule: usize = widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1);
        out.push_str(&"-".repeat(rule));
        out.push('\n');
        for line in &self.lines {
            match line {
                Line::Section(title) => {
                    let _ = writeln!(out, "{title}");
                }
                Line::Cells(cells) => push_cells(&mut out, cells, &widths),
            }
        }
        out
    }

    fn widths(&self) -> Vec<usize> {
        let rows = self.lines.iter().filter_map(|l| match l {
            Line::Cells(c) => Some(c),
            Line::Section(_) => None,
        });
        let mut widths: Vec<usize> = self.head.iter().map(|h| h.chars().count()).collect();
        for row in rows {
            for (i, cell) in row.iter().enumerate() {
                let w = cell.chars().count();
                match widths.get_mut(i) {
                    Some(max) => *max = (*max).max(w),
                    None => widths.push(w),
                }
            }
        }
        widths
    }
}

fn push_cells(out: &mut String, cells: &[String], widths: &[usize]) {
    let mut line = String::new();
    for (i, width) in widths.iter().enumerate() {
        let cell = cells.get(i).map_or("", String::as_str);
        let _ = match i {
            0 => write!(line, "{cell:<width$}"),
            _ => write!(line, "  {cell:>width$}"),
        };
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

/// `100000` as `100,000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_labels_left_and_figures_right() {
        let mut t = Table::new(vec!["".into(), "10".into(), "100000".into()]);
        t.section("add");
        t.row("median ms", vec!["1.5".into(), "12.25".into()]);
        t.row("samples", vec!["200".into()]);
        let text = t.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "            10  100000");
        assert_eq!(lines[1], "-".repeat(22));
        assert_eq!(lines[2], "add");
        assert_eq!(lines[3], "median ms  1.5   12.25");
        assert_eq!(lines[4], "samples    200");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(10), "10");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(100_000), "100,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
