//! wal-fsync.png placeholder
use crate::RunRecord;
use std::io;
use std::path::Path;
pub fn wal_fsync(_r: &RunRecord, _p: &Path) -> io::Result<()> {
    Ok(())
}
