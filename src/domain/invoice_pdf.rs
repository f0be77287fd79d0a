//! An invoice as a PDF document (whmcs/download_invoice): A4 pages set in the base-14
//! Helvetica fonts (no font files), written with `pdf-writer`. What goes on it is decided
//! by the billing operations; this module only lays it out.

use pdf_writer::{Content, Name, Pdf, Rect, Ref, Str};

/// What an invoice document shows. Amounts are already formatted ("12.00 EUR").
#[derive(Debug, Clone, Default)]
pub struct InvoiceDoc {
    pub number: i64,
    pub status: String,
    pub invoice_date: String,
    pub due_date: String,
    pub paid_date: Option<String>,
    pub payment_method: String,
    /// The seller's block, one line each (company, address, VAT...).
    pub seller: Vec<String>,
    /// The buyer's block.
    pub buyer: Vec<String>,
    /// Lines: description, amount.
    pub lines: Vec<(String, String)>,
    /// Totals: label, amount ("Sub Total", "Credit", "VAT 0%", "Total", "Balance").
    pub totals: Vec<(String, String)>,
    /// Transactions, one line each.
    pub transactions: Vec<String>,
}

const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const LEFT: f32 = 50.0;
const RIGHT: f32 = WIDTH - 50.0;
const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");
/// Invoice lines a page holds below the header of the first page.
const LINES_FIRST_PAGE: usize = 22;
/// Invoice lines a following page holds.
const LINES_NEXT_PAGE: usize = 40;

/// Text in the fonts' WinAnsi encoding: Latin-1 as is, the euro sign, '?' for the rest.
fn win_ansi(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            '\u{20ac}' => 0x80,
            c if (c as u32) < 0x20 => b' ',
            c if (c as u32) < 0x7f || (0xa0..=0xff).contains(&(c as u32)) => c as u32 as u8,
            _ => b'?',
        })
        .collect()
}

/// Helvetica's advance widths are not at hand; an average of 0.5 em is close enough to
/// right-align amounts (digits are 0.556 em).
fn width_of(s: &str, size: f32) -> f32 {
    s.chars().count() as f32 * size * 0.556
}

/// Cuts a description to what fits a line.
fn fit(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(3)).collect();
        t.push_str("...");
        t
    }
}

struct Page {
    content: Content,
}

impl Page {
    fn new() -> Self {
        Page {
            content: Content::new(),
        }
    }

    fn text(&mut self, font: Name, size: f32, x: f32, y: f32, s: &str) {
        let bytes = win_ansi(s);
        self.content
            .begin_text()
            .set_font(font, size)
            .next_line(x, y)
            .show(Str(&bytes))
            .end_text();
    }

    fn right(&mut self, font: Name, size: f32, y: f32, s: &str) {
        self.text(font, size, RIGHT - width_of(s, size), y, s);
    }

    fn rule(&mut self, y: f32) {
        self.content
            .set_line_width(0.5)
            .move_to(LEFT, y)
            .line_to(RIGHT, y)
            .stroke();
    }
}

/// The document's bytes.
pub fn render(doc: &InvoiceDoc) -> Vec<u8> {
    let mut pages: Vec<Page> = Vec::new();
    let mut page = Page::new();
    let mut y = HEIGHT - 60.0;
    page.text(BOLD, 20.0, LEFT, y, &format!("Invoice #{}", doc.number));
    page.right(BOLD, 16.0, y, &doc.status.to_uppercase());
    y -= 30.0;
    page.text(
        REGULAR,
        10.0,
        LEFT,
        y,
        &format!("Invoice Date: {}", doc.invoice_date),
    );
    page.right(REGULAR, 10.0, y, &format!("Due Date: {}", doc.due_date));
    y -= 14.0;
    if let Some(paid) = &doc.paid_date {
        page.text(REGULAR, 10.0, LEFT, y, &format!("Date Paid: {paid}"));
    }
    page.right(
        REGULAR,
        10.0,
        y,
        &format!("Payment Method: {}", doc.payment_method),
    );
    y -= 30.0;
    page.text(BOLD, 11.0, LEFT, y, "Pay To");
    page.text(BOLD, 11.0, WIDTH / 2.0, y, "Invoiced To");
    let block = doc.seller.len().max(doc.buyer.len());
    for i in 0..block {
        y -= 13.0;
        if let Some(l) = doc.seller.get(i) {
            page.text(REGULAR, 10.0, LEFT, y, &fit(l, 45));
        }
        if let Some(l) = doc.buyer.get(i) {
            page.text(REGULAR, 10.0, WIDTH / 2.0, y, &fit(l, 45));
        }
    }
    y -= 30.0;
    let header = |page: &mut Page, y: f32| {
        page.text(BOLD, 10.0, LEFT, y, "Description");
        page.right(BOLD, 10.0, y, "Amount");
        page.rule(y - 5.0);
    };
    header(&mut page, y);
    y -= 20.0;
    let mut room = LINES_FIRST_PAGE;
    for (description, amount) in &doc.lines {
        if room == 0 {
            pages.push(page);
            page = Page::new();
            y = HEIGHT - 60.0;
            header(&mut page, y);
            y -= 20.0;
            room = LINES_NEXT_PAGE;
        }
        page.text(REGULAR, 10.0, LEFT, y, &fit(description, 80));
        page.right(REGULAR, 10.0, y, amount);
        y -= 15.0;
        room -= 1;
    }
    // Totals and transactions need about 12 lines; a new page when they do not fit.
    let below = 14.0 * (doc.totals.len() + doc.transactions.len() + 6) as f32;
    if y - below < 50.0 {
        pages.push(page);
        page = Page::new();
        y = HEIGHT - 60.0;
    }
    page.rule(y + 8.0);
    y -= 8.0;
    for (label, amount) in &doc.totals {
        let font = if label.starts_with("Total") || label.starts_with("Balance") {
            BOLD
        } else {
            REGULAR
        };
        page.text(font, 10.0, WIDTH / 2.0, y, label);
        page.right(font, 10.0, y, amount);
        y -= 15.0;
    }
    y -= 15.0;
    page.text(BOLD, 11.0, LEFT, y, "Transactions");
    y -= 15.0;
    if doc.transactions.is_empty() {
        page.text(REGULAR, 10.0, LEFT, y, "No related transactions found");
    }
    for t in &doc.transactions {
        page.text(REGULAR, 9.0, LEFT, y, &fit(t, 100));
        y -= 13.0;
    }
    page.text(
        REGULAR,
        8.0,
        LEFT,
        30.0,
        "Issued by the hostkey-emu billing emulator.",
    );
    pages.push(page);

    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let page_ids: Vec<(Ref, Ref)> = (0..pages.len() as i32)
        .map(|i| (Ref::new(5 + 2 * i), Ref::new(6 + 2 * i)))
        .collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().map(|(p, _)| *p))
        .count(pages.len() as i32);
    pdf.type1_font(regular)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    for (p, (page_id, content_id)) in pages.into_iter().zip(&page_ids) {
        let mut pg = pdf.page(*page_id);
        pg.media_box(Rect::new(0.0, 0.0, WIDTH, HEIGHT));
        pg.parent(tree);
        pg.contents(*content_id);
        let mut resources = pg.resources();
        let mut fonts = resources.fonts();
        fonts.pair(REGULAR, regular);
        fonts.pair(BOLD, bold);
        drop(fonts);
        drop(resources);
        drop(pg);
        let data = p.content.finish();
        pdf.stream(*content_id, &data);
    }
    pdf.document_info(Ref::new(5 + 2 * page_ids.len() as i32))
        .title(pdf_writer::TextStr(&format!("Invoice #{}", doc.number)))
        .producer(pdf_writer::TextStr("hostkey-emu"));
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_a_pdf_with_a_page_per_forty_lines() {
        let mut doc = InvoiceDoc {
            number: 24016,
            status: "Unpaid".into(),
            lines: vec![("VM instance (server 40101)".into(), "12.00 EUR".into())],
            ..InvoiceDoc::default()
        };
        let one = render(&doc);
        assert!(one.starts_with(b"%PDF-"));
        assert_eq!(
            count(&one, b"/Type /Page\n") + count(&one, b"/Type /Page "),
            1
        );
        doc.lines = (0..70)
            .map(|i| (format!("line {i}"), "1.00 EUR".into()))
            .collect();
        let many = render(&doc);
        assert!(
            count(&many, b"/Count 3") == 1,
            "22 + 40 + 8 lines on three pages"
        );
    }

    fn count(hay: &[u8], needle: &[u8]) -> usize {
        hay.windows(needle.len()).filter(|w| *w == needle).count()
    }

    #[test]
    fn text_is_encoded_for_the_base_fonts() {
        assert_eq!(win_ansi("12.00 \u{20ac}"), b"12.00 \x80".to_vec());
        assert_eq!(win_ansi("K\u{f6}ln \u{652f}"), b"K\xf6ln ?".to_vec());
        assert_eq!(fit("abcdef", 5), "ab...");
    }
}
