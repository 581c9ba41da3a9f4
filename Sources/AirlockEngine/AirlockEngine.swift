// AirlockEngine module: see DESIGN.md.
