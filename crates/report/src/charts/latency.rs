//! write-latency.png placeholder
use crate::RunRecord;
use std::io;
use std::path::Path;
pub fn write_latency(_r: &RunRecord, _p: &Path) -> io::Result<()> {
    Ok(())
}
