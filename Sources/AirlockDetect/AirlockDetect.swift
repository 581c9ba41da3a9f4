// AirlockDetect module: see DESIGN.md.
