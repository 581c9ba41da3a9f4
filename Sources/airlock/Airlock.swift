import ArgumentParser

struct Airlock: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "airlock",
        abstract: "A privacy and data-governance gateway for LLM APIs.",
        discussion: "Run 'airlock serve' to start the gateway; see README.md for configuration.",
        subcommands: [
            ServeCommand.self,
            MigrateCommand.self,
            DatabaseCommand.self,
            ScanCommand.self,
            ChatCommand.self,
            ModelCommand.self,
            BenchCommand.self,
            TenantCommand.self,
            KeyCommand.self,
            ProviderCommand.self,
            PolicyCommand.self,
            AuditCommand.self,
            RetentionCommand.self,
            OperatorCommand.self,
        ]
    )
}
