import AirlockEngine
import Foundation
import Logging

/// Loads the local model if it is there; a gateway without one still serves remote traffic
/// (and policies that require local answers get 451 until it is installed).
enum LocalEngineLoader {
    static func load(_ config: GatewayConfiguration.Local, logger: Logger) -> LocalEngine? {
        guard config.enabled else { return nil }
        guard FileManager.default.fileExists(atPath: config.modelPath) else {
            logger.notice("no local model found; local answers are unavailable", metadata: ["model_path": .string(config.modelPath)])
            return nil
        }
        do {
            let engine = try LocalEngine(modelPath: config.modelPath, threads: config.threads)
            logger.info("local engine loaded", metadata: ["model": .string(engine.modelName)])
            return engine
        } catch {
            logger.error("local model could not be loaded; local answers are unavailable", metadata: ["error": .string("\(error)")])
            return nil
        }
    }
}
