// AirlockStore module: see DESIGN.md.
