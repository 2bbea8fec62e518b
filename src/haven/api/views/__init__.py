"""API views, one module per resource. Each view validates input, calls services and selectors."""
