//! Traffic graphs as PNG images, drawn the way a Cacti graph looks: title, plot area with a
//! grid, labelled axes in bits per second, an inbound area and an outbound line, and a
//! legend with current, average and maximum values. Text uses the public-domain 8x8 font.

use font8x8::UnicodeFonts;

use crate::sim::traffic::Sample;

/// Image size.
pub const WIDTH: u32 = 640;
pub const HEIGHT: u32 = 300;

const PLOT_X0: i64 = 78;
const PLOT_X1: i64 = 620;
const PLOT_Y0: i64 = 36;
const PLOT_Y1: i64 = 216;

type Rgb = [u8; 3];
const CANVAS: Rgb = [0xF0, 0xF0, 0xF0];
const WHITE: Rgb = [0xFF, 0xFF, 0xFF];
const BLACK: Rgb = [0x00, 0x00, 0x00];
const GRID: Rgb = [0xC8, 0xC8, 0xC8];
const INBOUND: Rgb = [0x00, 0xCF, 0x00];
const OUTBOUND: Rgb = [0x00, 0x2A, 0x97];

struct Canvas {
    px: Vec<u8>,
}

impl Canvas {
    fn new() -> Self {
        let mut px = Vec::with_capacity((WIDTH * HEIGHT * 3) as usize);
        for _ in 0..WIDTH * HEIGHT {
            px.extend_from_slice(&CANVAS);
        }
        Canvas { px }
    }

    fn set(&mut self, x: i64, y: i64, c: Rgb) {
        if x < 0 || y < 0 || x >= WIDTH as i64 || y >= HEIGHT as i64 {
            return;
        }
        let i = ((y as u32 * WIDTH + x as u32) * 3) as usize;
        self.px[i..i + 3].copy_from_slice(&c);
    }

    fn fill(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, c: Rgb) {
        for y in y0..=y1 {
            for x in x0..=x1 {
                self.set(x, y, c);
            }
        }
    }

    fn line(&mut self, mut x0: i64, mut y0: i64, x1: i64, y1: i64, c: Rgb) {
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let mut err = dx + dy;
        loop {
            self.set(x0, y0, c);
            if x0 == x1 && y0 == y1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x0 += sx;
            }
            if e2 <= dx {
                err += dx;
                y0 += sy;
            }
        }
    }

    fn text(&mut self, x: i64, y: i64, s: &str, c: Rgb) {
        for (i, ch) in s.chars().enumerate() {
            let glyph = font8x8::BASIC_FONTS.get(ch).unwrap_or([0; 8]);
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..8 {
                    if bits & (1 << col) != 0 {
                        self.set(x + i as i64 * 8 + col, y + row as i64, c);
                    }
                }
            }
        }
    }

    fn text_width(s: &str) -> i64 {
        s.chars().count() as i64 * 8
    }
}

/// `12.3 M` style values with SI prefixes.
pub fn si(v: f64) -> String {
    let (div, unit) = match v {
        v if v >= 1e9 => (1e9, " G"),
        v if v >= 1e6 => (1e6, " M"),
        v if v >= 1e3 => (1e3, " k"),
        _ => (1.0, " "),
    };
    let x = v / div;
    if x >= 100.0 {
        format!("{x:.0}{unit}")
    } else {
        format!("{x:.1}{unit}")
    }
    .trim_end()
    .to_owned()
}

fn nice_ceiling(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|v| *v >= max)
        .unwrap_or(10.0 * mag)
}

/// Draws the graph; `x_labels` are (time, text) ticks along the x axis.
pub fn render(title: &str, samples: &[Sample], x_labels: &[(i64, String)]) -> Vec<u8> {
    let mut c = Canvas::new();
    c.fill(PLOT_X0, PLOT_Y0, PLOT_X1, PLOT_Y1, WHITE);
    let tx = (WIDTH as i64 - Canvas::text_width(title)) / 2;
    c.text(tx, 10, title, BLACK);
    c.text(6, PLOT_Y0 - 14, "bits per second", BLACK);
    let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
        return encode(&c);
    };
    let span = (last.at - first.at).max(1) as f64;
    let max = samples
        .iter()
        .map(|s| s.bps_in.max(s.bps_out))
        .fold(0.0, f64::max);
    let top = nice_ceiling(max * 1.05);
    let h = (PLOT_Y1 - PLOT_Y0) as f64;
    let w = (PLOT_X1 - PLOT_X0) as f64;
    let x_of = |t: i64| PLOT_X0 + ((t - first.at) as f64 / span * w).round() as i64;
    let y_of = |v: f64| PLOT_Y1 - (v / top * h).round() as i64;
    // Horizontal grid and y labels.
    for i in 0..=5 {
        let v = top * i as f64 / 5.0;
        let y = y_of(v);
        for x in (PLOT_X0..=PLOT_X1).step_by(3) {
            c.set(x, y, GRID);
        }
        let label = si(v);
        c.text(
            PLOT_X0 - 6 - Canvas::text_width(&label),
            y - 4,
            &label,
            BLACK,
        );
    }
    // Vertical grid and x labels.
    for (t, label) in x_labels {
        if *t < first.at || *t > last.at {
            continue;
        }
        let x = x_of(*t);
        for y in (PLOT_Y0..=PLOT_Y1).step_by(3) {
            c.set(x, y, GRID);
        }
        c.text(x - Canvas::text_width(label) / 2, PLOT_Y1 + 6, label, BLACK);
    }
    // Inbound as a filled area, outbound as a line.
    for pair in samples.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let (xa, xb) = (x_of(a.at), x_of(b.at));
        for x in xa..=xb {
            let f = if xb == xa {
                0.0
            } else {
                (x - xa) as f64 / (xb - xa) as f64
            };
            let v = a.bps_in + (b.bps_in - a.bps_in) * f;
            c.line(x, PLOT_Y1, x, y_of(v), INBOUND);
        }
    }
    for pair in samples.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        c.line(
            x_of(a.at),
            y_of(a.bps_out),
            x_of(b.at),
            y_of(b.bps_out),
            OUTBOUND,
        );
    }
    // Axes.
    c.line(PLOT_X0, PLOT_Y0, PLOT_X0, PLOT_Y1, BLACK);
    c.line(PLOT_X0, PLOT_Y1, PLOT_X1, PLOT_Y1, BLACK);
    // Legend.
    let stats = |f: fn(&Sample) -> f64| {
        let cur = samples.last().map(f).unwrap_or(0.0);
        let avg = samples.iter().map(f).sum::<f64>() / samples.len() as f64;
        let max = samples.iter().map(f).fold(0.0, f64::max);
        format!(
            "Current:{:>8}  Average:{:>8}  Maximum:{:>8}",
            si(cur),
            si(avg),
            si(max)
        )
    };
    let rows = [
        ("Inbound ", INBOUND, stats(|s| s.bps_in)),
        ("Outbound", OUTBOUND, stats(|s| s.bps_out)),
    ];
    for (i, (name, color, text)) in rows.iter().enumerate() {
        let y = PLOT_Y1 + 28 + i as i64 * 16;
        c.fill(PLOT_X0, y, PLOT_X0 + 8, y + 8, *color);
        c.text(PLOT_X0 + 14, y, name, BLACK);
        c.text(PLOT_X0 + 14 + 10 * 8, y, text, BLACK);
    }
    encode(&c)
}

fn encode(c: &Canvas) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, WIDTH, HEIGHT);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        // Writing into a Vec cannot fail; an error would mean a bug in the sizes above.
        if let Ok(mut w) = enc.write_header() {
            let _ = w.write_image_data(&c.px);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::traffic::series;

    #[test]
    fn renders_a_decodable_png_of_the_expected_size() {
        let s = series(1, 0, 86_400, 300, 2e6, 8e6);
        let png_bytes = render(
            "test - Traffic - eth0",
            &s,
            &[(0, "00:00".into()), (43_200, "12:00".into())],
        );
        let dec = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let reader = dec.read_info().expect("valid png");
        assert_eq!((reader.info().width, reader.info().height), (WIDTH, HEIGHT));
        assert_eq!(si(12_345_678.0), "12.3 M");
        assert_eq!(nice_ceiling(7.3e6), 1e7);
    }
}
