"""Platform adapters. Each one is wired into the core by name (entry points)."""
