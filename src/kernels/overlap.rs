//! (overlap family: not implemented yet)
