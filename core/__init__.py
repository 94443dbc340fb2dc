"""What every Custos app shares and no app owns (see docs/api.md and shared DESIGN.md section 2)."""
