"""Compact built-in models ("voicesafety/mini") and their architectures."""
