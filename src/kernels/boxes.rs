//! (boxes family: not implemented yet)
