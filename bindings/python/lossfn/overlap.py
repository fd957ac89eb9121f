"""overlap losses (not implemented yet)."""
__all__ = []
