//! PNG charts (placeholder while the real ones are written).
use std::io;
use std::path::Path;

use crate::RunRecord;

pub fn leader_timeline(_r: &RunRecord, _p: &Path) -> io::Result<()> {
    Ok(())
}
pub fn write_latency(_r: &RunRecord, _p: &Path) -> io::Result<()> {
    Ok(())
}
pub fn wal_fsync(_r: &RunRecord, _p: &Path) -> io::Result<()> {
    Ok(())
}
