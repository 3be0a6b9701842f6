"""advisor: quoted guidance on splitting work between Sales and Marketing."""

__version__ = "0.1.0"
