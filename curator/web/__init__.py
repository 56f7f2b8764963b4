"""The stewards' stats page: server-rendered HTML with inline SVG charts (works offline)."""
