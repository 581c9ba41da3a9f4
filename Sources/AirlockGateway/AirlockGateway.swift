// AirlockGateway module: see DESIGN.md.
