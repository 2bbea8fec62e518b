"""Haven: secure case management for organisations that help people escape danger."""

__version__ = "0.1.0"
