// AirlockPolicy module: see DESIGN.md.
