//! Writes the sample certificates (`pdf::samples`) as PDFs, for looking at the
//! layout: `cargo run -p certificate --example samples -- [DIR]` (default
//! `target/certificate-samples`), then e.g. `pdftoppm -png -r 110 DIR/land.pdf land`.
//! Each PDF's QR payload is written beside it (`*.qr.txt`) to compare with a scan.

use certificate::pdf::render;
use certificate::pdf::samples::{
    building_register, edge_case, land_register, tax_assessment, tax_payment,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/certificate-samples".into());
    std::fs::create_dir_all(&dir)?;
    let samples = [
        ("land", land_register("1234-5678-9012-3456")),
        ("building", building_register()),
        ("tax-payment", tax_payment()),
        ("tax-assessment", tax_assessment(12)),
        ("long", tax_assessment(80)),
        ("edge", edge_case()),
    ];
    for (name, c) in samples {
        std::fs::write(format!("{dir}/{name}.pdf"), render(&c)?)?;
        std::fs::write(format!("{dir}/{name}.qr.txt"), &c.qr_payload)?;
        println!("{dir}/{name}.pdf");
    }
    Ok(())
}
