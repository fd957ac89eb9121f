//! (classification family: not implemented yet)
