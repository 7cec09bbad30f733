//! `[sweep]`: a parameter grid and seed count declared in the scenario.

use crate::error::R;
use crate::read::Field;

/// A sweep as declared in the scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepSpec {
    pub seeds: u32,
}

pub(crate) fn read_sweep(f: Field<'_>) -> R<SweepSpec> {
    Err(f.fail("[sweep] is not supported yet"))
}
