//! Layout policy of the figures: how wide a text is in the embedded font, how a long label wraps, how
//! many panels a page holds, and how many tick labels an axis can show. Figures size themselves from
//! these measurements, so labels never overlap whatever the number of conditions; the tests check it.

use std::ops::Range;

use plotters::style::{FontDesc, FontFamily, FontStyle};

use super::FAMILY;

/// Width and height in pixels of `text` at `size` in the embedded font. Falls back to a generous
/// estimate (0.65 em per character) if the font cannot measure it, so a layout errs on the roomy side.
pub fn text_size(text: &str, size: u32) -> (u32, u32) {
    let _ = super::register_font();
    let font = FontDesc::new(FontFamily::Name(FAMILY), f64::from(size), FontStyle::Normal);
    font.box_size(text).unwrap_or_else(|_| {
        let chars = text.chars().count() as f64;
        ((0.65 * f64::from(size) * chars).ceil() as u32, size)
    })
}

/// Width in pixels of `text` at `size`.
pub fn text_width(text: &str, size: u32) -> u32 {
    text_size(text, size).0
}

/// Height of one line of text at `size`, with its leading.
pub fn line_height(size: u32) -> u32 {
    size + size / 3 + 2
}

/// `text` broken into lines no wider than `max_width`: at `", "` between a label's parts first, then
/// at spaces, then anywhere (a single part wider than the line is cut, never allowed to overflow).
pub fn wrap(text: &str, size: u32, max_width: u32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for part in split_keeping(text) {
        let candidate = format!("{current}{part}");
        if current.is_empty() || text_width(candidate.trim_end(), size) <= max_width {
            current = candidate;
        } else {
            lines.push(current.trim_end().to_string());
            current = part.trim_start().to_string();
        }
        // A part that alone overflows the line is cut at characters.
        while text_width(current.trim_end(), size) > max_width && current.chars().count() > 1 {
            let cut = longest_prefix(&current, size, max_width);
            lines.push(current[..cut].trim_end().to_string());
            current = current[cut..].trim_start().to_string();
        }
    }
    if !current.trim().is_empty() || lines.is_empty() {
        lines.push(current.trim_end().to_string());
    }
    lines
}

/// `text` cut to fit `max_width`, ending in `…` when cut (for names inside a chart, where wrapping
/// would run into the data).
pub fn ellipsised(text: &str, size: u32, max_width: u32) -> String {
    if text_width(text, size) <= max_width {
        return text.to_string();
    }
    let room = max_width.saturating_sub(text_width("…", size));
    let cut = longest_prefix(text, size, room);
    format!("{}…", text[..cut].trim_end())
}

/// The pieces of a label, each ending with its separator (`", "` or a space).
fn split_keeping(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if c == ' ' {
            parts.push(&text[start..=i]);
            start = i + 1;
        }
    }
    if start < text.len() {
        parts.push(&text[start..]);
    }
    parts
}

/// Byte length of the longest prefix of `text` (at least one character) that fits `max_width`.
fn longest_prefix(text: &str, size: u32, max_width: u32) -> usize {
    let mut best = text.chars().next().map_or(0, char::len_utf8);
    for (i, _) in text.char_indices().skip(1) {
        if text_width(&text[..i], size) > max_width {
            break;
        }
        best = i;
    }
    best
}

/// Split `count` items into pages of at most `per_page`, as even as possible (48 in pages of 12 → 4 × 12;
/// 13 → 7 + 6, never 12 + 1).
pub fn pages(count: usize, per_page: usize) -> Vec<Range<usize>> {
    if count == 0 {
        return Vec::new();
    }
    let n = count.div_ceil(per_page.max(1));
    let base = count / n;
    let extra = count % n;
    let mut start = 0;
    (0..n)
        .map(|i| {
            let len = base + usize::from(i < extra);
            let range = start..start + len;
            start += len;
            range
        })
        .collect()
}

/// Columns of a grid of `count` panels at most `max` wide: the fewest rows, then rows as full as
/// possible (4 panels in at most 3 columns → 2 × 2, not 3 + 1).
pub fn columns(count: usize, max: usize) -> usize {
    let rows = count.div_ceil(max.max(1)).max(1);
    count.div_ceil(rows).max(1)
}

/// Every how many positions an axis with `count` positions `pitch` pixels apart can print a label as wide
/// as `widest` pixels, leaving at least `gap` pixels between neighbours.
pub fn label_stride(pitch: f64, widest: u32, gap: u32) -> usize {
    if pitch <= 0.0 {
        return 1;
    }
    (f64::from(widest + gap) / pitch).ceil().max(1.0) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_balanced_and_cover_everything() {
        assert_eq!(pages(48, 12), vec![0..12, 12..24, 24..36, 36..48]);
        assert_eq!(pages(13, 12), vec![0..7, 7..13]);
        assert_eq!(pages(5, 12), vec![0..5]);
        assert!(pages(0, 12).is_empty());
    }

    #[test]
    fn wrapped_lines_fit_their_width() {
        let label = "N=150, n_groups=20, beta1=-0.2, slope_sd=0.5, noise_sd=2";
        let lines = wrap(label, 14, 180);
        assert!(lines.len() >= 2, "{lines:?}");
        for line in &lines {
            assert!(text_width(line, 14) <= 180, "{line:?} in {lines:?}");
        }
        // Nothing is lost but the spaces at the breaks.
        assert_eq!(lines.join(" "), label);
        let long = "a_very_long_parameter_name_without_any_space=1";
        for line in wrap(long, 14, 100) {
            assert!(text_width(&line, 14) <= 100, "{line:?}");
        }
        assert_eq!(wrap("short", 14, 500), vec!["short"]);
        let cut = ellipsised("random_intercept_with_a_long_name (n = 50)", 14, 120);
        assert!(cut.ends_with('…') && text_width(&cut, 14) <= 120, "{cut}");
    }

    #[test]
    fn the_font_measures_text() {
        let (narrow, _) = text_size("ii", 14);
        let (wide, height) = text_size("WWWW", 14);
        assert!(
            wide > 2 * narrow && height >= 10,
            "{narrow} {wide} {height}"
        );
    }

    #[test]
    fn grids_fill_their_rows() {
        let grid = |n| (columns(n, 3), n.div_ceil(columns(n, 3)));
        assert_eq!(grid(1), (1, 1));
        assert_eq!(grid(3), (3, 1));
        assert_eq!(grid(4), (2, 2));
        assert_eq!(grid(5), (3, 2));
        assert_eq!(grid(12), (3, 4));
    }

    #[test]
    fn label_strides_leave_a_gap() {
        assert_eq!(label_stride(40.0, 20, 6), 1);
        assert_eq!(label_stride(10.0, 20, 6), 3);
    }
}
