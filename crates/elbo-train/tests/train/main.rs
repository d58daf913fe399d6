//! The trained networks' tests: one binary (each links candle), one module per concern.

mod evidence_trained;
mod numerics;
mod train;
