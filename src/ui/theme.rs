//! Colours and visual constants: every colour the GUI uses comes from here, so a signal
//! has the same colour in every bar, legend and plot.

use eframe::egui::{self, Color32};

use crate::score::SignalId;

/// The colour of a signal, from its registry entry (Tableau 10, readable on light and
/// dark backgrounds).
pub fn signal_color(signal: SignalId) -> Color32 {
    match crate::score::registry::spec(signal) {
        Some(s) => Color32::from_rgb(s.color[0], s.color[1], s.color[2]),
        None => {
            let i = signal.index().saturating_sub(crate::score::SIGNALS.len()) % EXTERNAL_COLORS.len();
            EXTERNAL_COLORS.get(i).copied().unwrap_or(MUTED)
        }
    }
}

/// Colours of external signals (imported score files), in the order they were named:
/// darker tones, apart from the built-in signals' Tableau 10.
const EXTERNAL_COLORS: [Color32; 4] = [
    Color32::from_rgb(0x1b, 0x9e, 0x77),
    Color32::from_rgb(0x75, 0x70, 0xb3),
    Color32::from_rgb(0xd9, 0x5f, 0x02),
    Color32::from_rgb(0x66, 0x66, 0x33),
];

/// Colour of merchandising-rule contributions.
pub const RULE_COLOR: Color32 = Color32::from_rgb(0x8c, 0x56, 0x4b);
/// Rank moved up.
pub const UP: Color32 = Color32::from_rgb(0x3a, 0x9a, 0x3a);
/// Rank moved down.
pub const DOWN: Color32 = Color32::from_rgb(0xc0, 0x39, 0x2b);
/// Highlight of "only in A" / history items.
pub const ONLY_A: Color32 = Color32::from_rgb(0x4e, 0x79, 0xa7);
/// Highlight of "only in B" / recommended items.
pub const ONLY_B: Color32 = Color32::from_rgb(0xe1, 0x57, 0x59);
/// A shopper's history in the Explore map: a saturated magenta, a hue none of the map's
/// colourings (the categorical palette, the popularity ramp, grey) uses, so it never reads
/// as a category or a popularity bucket.
pub const HISTORY: Color32 = Color32::from_rgb(0xd4, 0x00, 0xd4);
/// A sequential colour scale (low → high): dark purple, teal, yellow (viridis-like).
pub const SCALE: [Color32; 3] =
    [Color32::from_rgb(0x44, 0x01, 0x54), Color32::from_rgb(0x21, 0x90, 0x8d), Color32::from_rgb(0xfd, 0xe7, 0x25)];
/// The colour at `t` in `[0, 1]` on [`SCALE`], interpolated linearly between its colours
/// (as egui_plot's heatmap palette is), so that the heatmap and its colour strip agree.
pub fn scale_colour(t: f32) -> Color32 {
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    let at = t * (SCALE.len() - 1) as f32;
    let i = (at.floor() as usize).min(SCALE.len() - 2);
    let (Some(a), Some(b)) = (SCALE.get(i), SCALE.get(i + 1)) else { return MUTED };
    let f = at - i as f32;
    let lerp = |x: u8, y: u8| (f32::from(x) + (f32::from(y) - f32::from(x)) * f).round() as u8;
    Color32::from_rgb(lerp(a.r(), b.r()), lerp(a.g(), b.g()), lerp(a.b(), b.b()))
}

/// Neutral points in plots.
pub const MUTED: Color32 = Color32::from_gray(150);
/// A file column that loading will read (the *Open dataset* preview's "read as" line).
pub const COLUMN_READ: Color32 = Color32::from_rgb(0x4e, 0x79, 0xa7);
/// Warning text.
pub const WARNING: Color32 = Color32::from_rgb(0xd0, 0x8a, 0x00);
/// Error text.
pub const ERROR: Color32 = Color32::from_rgb(0xd0, 0x30, 0x30);

/// A colour on a light-grey → dark-blue ramp for `t` in `[0, 1]` (popularity).
pub fn ramp(t: f32) -> Color32 {
    let t = t.clamp(0.0, 1.0);
    let lerp = |a: u8, b: u8| (f32::from(a) + (f32::from(b) - f32::from(a)) * t) as u8;
    Color32::from_rgb(lerp(0xc8, 0x1f), lerp(0xcc, 0x3d), lerp(0xd4, 0x8c))
}

/// A categorical colour for index `i` (categories, clusters).
pub fn categorical(i: usize) -> Color32 {
    const PALETTE: [Color32; 10] = [
        Color32::from_rgb(0x4e, 0x79, 0xa7),
        Color32::from_rgb(0xf2, 0x8e, 0x2b),
        Color32::from_rgb(0xe1, 0x57, 0x59),
        Color32::from_rgb(0x76, 0xb7, 0xb2),
        Color32::from_rgb(0x59, 0xa1, 0x4f),
        Color32::from_rgb(0xed, 0xc9, 0x48),
        Color32::from_rgb(0xb0, 0x7a, 0xa1),
        Color32::from_rgb(0xff, 0x9d, 0xa7),
        Color32::from_rgb(0x9c, 0x75, 0x5f),
        Color32::from_rgb(0xba, 0xb0, 0xac),
    ];
    PALETTE.get(i % PALETTE.len()).copied().unwrap_or(MUTED)
}

/// Applies the light or dark theme.
pub fn apply(ctx: &egui::Context, dark: bool) {
    ctx.set_visuals(if dark { egui::Visuals::dark() } else { egui::Visuals::light() });
}

#[cfg(test)]
mod tests {
    use super::{SCALE, scale_colour};
    use eframe::egui::Color32;

    #[test]
    fn the_scale_runs_through_its_colours() {
        assert_eq!(scale_colour(0.0), SCALE[0]);
        assert_eq!(scale_colour(0.5), SCALE[1]);
        assert_eq!(scale_colour(1.0), SCALE[2]);
        // Half-way from 44 01 54 to 21 90 8d: (68 + 33) / 2 = 50.5, (1 + 144) / 2 = 72.5,
        // (84 + 141) / 2 = 112.5, rounded up.
        assert_eq!(scale_colour(0.25), Color32::from_rgb(51, 73, 113));
        assert_eq!(scale_colour(f32::NAN), SCALE[0]);
    }
}
