//! Writes the report of a synthetic run, to look at the charts:
//! `cargo run -p etcdlab-report --example synthetic -- OUT_DIR [MEMBERS] [SECONDS]`.

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().unwrap_or_else(|| "synthetic-report".into()));
    let members = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let seconds = args.next().and_then(|a| a.parse().ok()).unwrap_or(3600);
    let record = etcdlab_report::fixtures::synthetic_record(members, seconds);
    for file in etcdlab_report::write_run(&record, &out)? {
        println!("{}", out.join(file).display());
    }
    Ok(())
}
