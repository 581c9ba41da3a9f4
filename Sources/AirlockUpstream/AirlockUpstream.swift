// AirlockUpstream module: see DESIGN.md.
