"""Views of the staff web interface: parse input, call services and selectors, render."""
