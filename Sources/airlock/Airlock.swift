import ArgumentParser

@main
struct Airlock: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "airlock",
        abstract: "A privacy and data-governance gateway for LLM APIs."
    )
}
