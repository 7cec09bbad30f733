//! The simulated world's engine: clock, event queue, random streams, distributions, trace hash.
