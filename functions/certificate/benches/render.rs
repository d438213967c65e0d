//! Render benchmark: `cargo bench -p certificate --bench render`.
//!
//! Renders each of four sample certificates (land register, building register,
//! local-tax payment, local-tax assessment with 12 bills; `pdf::samples`)
//! `BENCH_N` times (default 200) and prints, per type, the median, p90, p99 and
//! max render time and the PDF size in bytes, then the process's peak RSS.

use std::time::Instant;

use certificate::pdf::render;
use certificate::pdf::samples::{building_register, land_register, tax_assessment, tax_payment};
use devstack::runtime_api::{summary, vm_hwm_kib};

fn main() {
    let n: usize = std::env::var("BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
        .max(1);
    let samples = [
        ("land-register", land_register("1234-5678-9012-3456")),
        ("building-register", building_register()),
        ("local-tax-payment", tax_payment()),
        ("local-tax-assessment", tax_assessment(12)),
    ];

    // The first render parses the embedded font (once per process): time it separately.
    let start = Instant::now();
    let first = render(&samples[0].1).expect("render");
    println!(
        "first render (font parsing included): {:.2} ms, {} bytes",
        start.elapsed().as_secs_f64() * 1e3,
        first.len()
    );
    for (name, c) in &samples {
        let mut times = Vec::with_capacity(n);
        let mut size = 0;
        for _ in 0..n {
            let start = Instant::now();
            let pdf = render(c).expect("render");
            times.push(start.elapsed().as_secs_f64() * 1e3);
            size = std::hint::black_box(pdf).len();
        }
        summary(&format!("render {name}"), times);
        println!("{:<38} PDF {size} bytes", "");
    }
    println!(
        "peak RSS (VmHWM): {:.1} MiB",
        vm_hwm_kib(std::process::id()) as f64 / 1024.0
    );
}
