// AirlockAudit module: see DESIGN.md.
