pub mod parity;
pub mod training;
