"""pytest hooks and fixtures (placeholder while the plugin is wired)."""
