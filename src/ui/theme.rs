//! Themes (TOML files) and the terminal's colour depth: true colour, 256, 16, or none.

use std::path::Path;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

/// Built-in themes, compiled in.
pub const BUILTIN: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    ("high-contrast", include_str!("../../themes/high-contrast.toml")),
    ("mono", include_str!("../../themes/mono.toml")),
];

/// How many colours the terminal shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// 24-bit.
    TrueColor,
    /// xterm 256.
    Ansi256,
    /// The 16 ANSI colours.
    Ansi16,
    /// No colour (`NO_COLOR`, or the mono theme).
    None,
}

impl Depth {
    /// From the environment: `NO_COLOR` → none; `COLORTERM` truecolor/24bit → true colour;
    /// `TERM` with 256 → 256; else 16.
    pub fn detect(var: impl Fn(&str) -> Option<String>) -> Self {
        if var("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            return Self::None;
        }
        if var("COLORTERM").is_some_and(|v| v.contains("truecolor") || v.contains("24bit")) {
            return Self::TrueColor;
        }
        if var("TERM").is_some_and(|v| v.contains("256")) {
            return Self::Ansi256;
        }
        Self::Ansi16
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: String,
    #[serde(default)]
    mono: bool,
    colors: ColorsFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ColorsFile {
    fg: String,
    dim: String,
    accent: String,
    good: String,
    warn: String,
    bad: String,
    border: String,
    header_bg: String,
    selected_bg: String,
}

/// A theme resolved for the terminal's depth.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    /// Name.
    pub name: String,
    /// Depth it was resolved for.
    pub depth: Depth,
    fg: Color,
    dim: Color,
    accent: Color,
    good: Color,
    warn: Color,
    bad: Color,
    border: Color,
    header_bg: Color,
    selected_bg: Color,
}

fn parse_color(key: &str, s: &str) -> Result<Color, String> {
    let s = s.trim();
    if s == "reset" {
        return Ok(Color::Reset);
    }
    let hex = s
        .strip_prefix('#')
        .filter(|h| h.len() == 6)
        .ok_or_else(|| format!("colors.{key}: {s:?} is not #rrggbb or \"reset\""))?;
    let v = u32::from_str_radix(hex, 16).map_err(|_| format!("colors.{key}: {s:?} is not #rrggbb"))?;
    Ok(Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8))
}

/// The nearest xterm-256 colour (the 6×6×6 cube or the grey ramp).
pub fn to_256(r: u8, g: u8, b: u8) -> u8 {
    let cube = |v: u8| -> u8 {
        if v < 48 {
            0
        } else if v < 115 {
            1
        } else {
            ((v - 35) / 40).min(5)
        }
    };
    let level = |i: u8| -> i32 { if i == 0 { 0 } else { 55 + 40 * i32::from(i) } };
    let (cr, cg, cb) = (cube(r), cube(g), cube(b));
    let cube_idx = 16 + 36 * cr + 6 * cg + cb;
    let d_cube =
        (i32::from(r) - level(cr)).pow(2) + (i32::from(g) - level(cg)).pow(2) + (i32::from(b) - level(cb)).pow(2);
    let avg = (u32::from(r) + u32::from(g) + u32::from(b)) / 3;
    let gray = if avg < 8 { 0 } else { ((avg - 8) / 10).min(23) as u8 };
    let gv = 8 + 10 * i32::from(gray);
    let d_gray = (i32::from(r) - gv).pow(2) + (i32::from(g) - gv).pow(2) + (i32::from(b) - gv).pow(2);
    if d_gray < d_cube { 232 + gray } else { cube_idx }
}

/// The nearest of the 16 ANSI colours.
pub fn to_16(r: u8, g: u8, b: u8) -> Color {
    const TABLE: &[(Color, (i32, i32, i32))] = &[
        (Color::Black, (0, 0, 0)),
        (Color::Red, (170, 0, 0)),
        (Color::Green, (0, 170, 0)),
        (Color::Yellow, (170, 85, 0)),
        (Color::Blue, (0, 0, 170)),
        (Color::Magenta, (170, 0, 170)),
        (Color::Cyan, (0, 170, 170)),
        (Color::Gray, (170, 170, 170)),
        (Color::DarkGray, (85, 85, 85)),
        (Color::LightRed, (255, 85, 85)),
        (Color::LightGreen, (85, 255, 85)),
        (Color::LightYellow, (255, 255, 85)),
        (Color::LightBlue, (85, 85, 255)),
        (Color::LightMagenta, (255, 85, 255)),
        (Color::LightCyan, (85, 255, 255)),
        (Color::White, (255, 255, 255)),
    ];
    let (r, g, b) = (i32::from(r), i32::from(g), i32::from(b));
    TABLE
        .iter()
        .min_by_key(|(_, (tr, tg, tb))| (r - tr).pow(2) + (g - tg).pow(2) + (b - tb).pow(2))
        .map_or(Color::Reset, |(c, _)| *c)
}

fn at_depth(c: Color, depth: Depth) -> Color {
    match (c, depth) {
        (_, Depth::None) => Color::Reset,
        (Color::Rgb(r, g, b), Depth::Ansi256) => Color::Indexed(to_256(r, g, b)),
        (Color::Rgb(r, g, b), Depth::Ansi16) => to_16(r, g, b),
        (c, _) => c,
    }
}

impl Theme {
    /// Parses a theme file's text; errors name the file and the key.
    pub fn parse(text: &str, origin: &str, depth: Depth) -> Result<Self, String> {
        let f: ThemeFile = toml::from_str(text).map_err(|e| format!("theme {origin}: {e}"))?;
        let c = &f.colors;
        let depth = if f.mono { Depth::None } else { depth };
        let col = |key: &str, v: &str| {
            parse_color(key, v).map(|c| at_depth(c, depth)).map_err(|e| format!("theme {origin}: {e}"))
        };
        Ok(Self {
            name: f.name.clone(),
            depth,
            fg: col("fg", &c.fg)?,
            dim: col("dim", &c.dim)?,
            accent: col("accent", &c.accent)?,
            good: col("good", &c.good)?,
            warn: col("warn", &c.warn)?,
            bad: col("bad", &c.bad)?,
            border: col("border", &c.border)?,
            header_bg: col("header_bg", &c.header_bg)?,
            selected_bg: col("selected_bg", &c.selected_bg)?,
        })
    }

    /// A theme by name (built-in, or `<config dir>/themes/NAME.toml`) or by path.
    pub fn load(name_or_path: &str, config_dir: Option<&Path>, depth: Depth) -> Result<Self, String> {
        if let Some((_, text)) = BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
            return Self::parse(text, name_or_path, depth);
        }
        let user = config_dir.map(|d| d.join("themes").join(format!("{name_or_path}.toml")));
        let path = match user.filter(|p| p.exists()) {
            Some(p) => p,
            None => Path::new(name_or_path).to_path_buf(),
        };
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "theme {name_or_path:?}: not a built-in theme (dark, light, high-contrast, mono) and {}: {e}",
                path.display()
            )
        })?;
        Self::parse(&text, &path.display().to_string(), depth)
    }

    /// Body text.
    pub fn text(&self) -> Style {
        Style::default().fg(self.fg)
    }
    /// Secondary text.
    pub fn dim(&self) -> Style {
        if self.depth == Depth::None { Style::default() } else { Style::default().fg(self.dim) }
    }
    /// Headings and keys.
    pub fn accent(&self) -> Style {
        Style::default().fg(self.accent).add_modifier(Modifier::BOLD)
    }
    /// Healthy.
    pub fn good(&self) -> Style {
        Style::default().fg(self.good)
    }
    /// Needs a look.
    pub fn warn(&self) -> Style {
        Style::default().fg(self.warn).add_modifier(Modifier::BOLD)
    }
    /// Broken, blocked, killed.
    pub fn bad(&self) -> Style {
        Style::default().fg(self.bad).add_modifier(Modifier::BOLD)
    }
    /// Borders.
    pub fn border(&self) -> Style {
        Style::default().fg(self.border)
    }
    /// The header bar.
    pub fn header(&self) -> Style {
        if self.depth == Depth::None {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default().fg(self.fg).bg(self.header_bg)
        }
    }
    /// The selected row: reverse video without colour, so it never relies on colour alone.
    pub fn selected(&self) -> Style {
        if self.depth == Depth::None {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default().bg(self.selected_bg).add_modifier(Modifier::BOLD)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_parses_at_every_depth() {
        for (name, text) in BUILTIN {
            for depth in [Depth::TrueColor, Depth::Ansi256, Depth::Ansi16, Depth::None] {
                let t = Theme::parse(text, name, depth).expect("built-in theme");
                assert_eq!(t.name, *name);
            }
        }
    }

    #[test]
    fn depth_detection() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())
        };
        assert_eq!(Depth::detect(env(&[("NO_COLOR", "1"), ("COLORTERM", "truecolor")])), Depth::None);
        assert_eq!(Depth::detect(env(&[("COLORTERM", "truecolor")])), Depth::TrueColor);
        assert_eq!(Depth::detect(env(&[("TERM", "xterm-256color")])), Depth::Ansi256);
        assert_eq!(Depth::detect(env(&[("TERM", "vt100")])), Depth::Ansi16);
    }

    #[test]
    fn colours_map_down() {
        assert_eq!(to_256(255, 0, 0), 196);
        assert_eq!(to_256(0, 0, 0), 16);
        assert_eq!(to_256(128, 128, 128), 244);
        assert_eq!(to_16(250, 90, 90), Color::LightRed);
        assert_eq!(to_16(190, 10, 10), Color::Red);
        let t = Theme::parse(BUILTIN[0].1, "dark", Depth::Ansi256).expect("theme");
        assert!(matches!(t.bad().fg, Some(Color::Indexed(_))));
        let none = Theme::parse(BUILTIN[0].1, "dark", Depth::None).expect("theme");
        assert_eq!(none.bad().fg, Some(Color::Reset));
    }

    #[test]
    fn a_bad_theme_names_the_file_and_key() {
        let err =
            Theme::parse("name = \"x\"\n[colors]\nfg = \"blue\"\n", "/tmp/x.toml", Depth::TrueColor).expect_err("bad");
        assert!(err.contains("/tmp/x.toml"), "{err}");
        let err = Theme::parse(
            "name='x'\n[colors]\nfg='#ffffff'\ndim='#ffffff'\naccent='nope'\ngood='#ffffff'\nwarn='#ffffff'\nbad='#ffffff'\nborder='#ffffff'\nheader_bg='#ffffff'\nselected_bg='#ffffff'\n",
            "mine.toml",
            Depth::TrueColor,
        )
        .expect_err("bad colour");
        assert!(err.contains("mine.toml") && err.contains("colors.accent"), "{err}");
    }
}
